//! Small text helpers shared by the generator and the functions.

/// A URL-safe slug: lower case, accents folded (`Écologie` → `ecologie`),
/// anything else that is not a letter or a digit becomes a single `-`.
/// Letters outside the Latin alphabets are kept as they are.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if !c.is_alphanumeric() {
            pending_dash = true;
            continue;
        }
        if pending_dash && !slug.is_empty() {
            slug.push('-');
        }
        pending_dash = false;
        match fold_accent(c) {
            Some(folded) => slug.push_str(folded),
            None => slug.push(c),
        }
    }
    slug
}

/// The unaccented spelling of a lower-case accented Latin letter.
fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
        'œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => "u",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'ł' => "l",
        'ś' | 'š' => "s",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Escapes text for an HTML text node or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_french_accents_and_collapse_punctuation() {
        assert_eq!(slugify("Écologie & Énergie"), "ecologie-energie");
        assert_eq!(
            slugify("  Cœur de ville — l'été 2027 "),
            "coeur-de-ville-l-ete-2027"
        );
        assert_eq!(slugify("Logement"), "logement");
        assert_eq!(slugify("---"), "");
    }

    #[test]
    fn slugs_keep_letters_of_other_scripts() {
        assert_eq!(slugify("Ελλάδα 1"), "ελλάδα-1");
    }

    #[test]
    fn html_escaping_covers_attribute_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
