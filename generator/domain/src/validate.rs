//! Checks and normalises a submitted form against its definition: every
//! field the form defines, nothing else, each in the shape the campaign
//! expects. Mistakes come back per field, in the site's language.

use crate::config::CampaignConfig;
use crate::forms::{COUNTRIES, FieldKind, FormDefinition, OTHER_AMOUNT_FIELD, SMS_FIELD};
use crate::submission::Submission;
use std::collections::{BTreeMap, BTreeSet};
use unicode_normalization::UnicodeNormalization;

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Required,
    TooLong,
    Email,
    Postcode,
    Phone,
    Date,
    Choice,
    Amount,
    /// Control characters (a line break in a name could forge headers).
    Characters,
    /// Text messages asked for, and no number to send them to.
    PhoneForSms,
}

impl Problem {
    /// What the supporter reads next to the field.
    pub fn message(self, lang: &str) -> &'static str {
        let fr = lang == "fr";
        match self {
            Problem::Required => {
                if fr {
                    "Ce champ est obligatoire."
                } else {
                    "This field is required."
                }
            }
            Problem::TooLong => {
                if fr {
                    "Ce texte est trop long."
                } else {
                    "This text is too long."
                }
            }
            Problem::Email => {
                if fr {
                    "Cette adresse e-mail n’est pas valide."
                } else {
                    "This email address is not valid."
                }
            }
            Problem::Postcode => {
                if fr {
                    "Ce code postal n’est pas valide pour ce pays."
                } else {
                    "This postcode is not valid for this country."
                }
            }
            Problem::Phone => {
                if fr {
                    "Ce numéro de téléphone n’est pas valide."
                } else {
                    "This phone number is not valid."
                }
            }
            Problem::Date => {
                if fr {
                    "Cette date n’est pas valide."
                } else {
                    "This date is not valid."
                }
            }
            Problem::Choice => {
                if fr {
                    "Ce choix n’est pas proposé."
                } else {
                    "This choice is not offered."
                }
            }
            Problem::Amount => {
                if fr {
                    "Ce montant n’est pas valide."
                } else {
                    "This amount is not valid."
                }
            }
            Problem::Characters => {
                if fr {
                    "Ce texte contient des caractères non autorisés."
                } else {
                    "This text contains characters that are not allowed."
                }
            }
            Problem::PhoneForSms => {
                if fr {
                    "Indiquez un numéro de mobile pour recevoir nos SMS."
                } else {
                    "Give a mobile number to receive our text messages."
                }
            }
        }
    }
}

/// A valid form: each field's normalised values (several for a checkbox
/// group; a ticked box is `"yes"`). Absent optional fields are absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cleaned {
    pub values: BTreeMap<&'static str, Vec<String>>,
}

impl Cleaned {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.text(name).map(str::to_owned)
    }

    pub fn set(&self, name: &str) -> BTreeSet<String> {
        self.values
            .get(name)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn ticked(&self, name: &str) -> bool {
        self.text(name) == Some("yes")
    }
}

pub type FieldProblems = BTreeMap<&'static str, Problem>;

pub fn validate(
    form: &FormDefinition,
    submission: &Submission,
    config: &CampaignConfig,
) -> Result<Cleaned, FieldProblems> {
    let mut cleaned = Cleaned::default();
    let mut problems = FieldProblems::new();
    let country = submission
        .get("country")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("FR")
        .to_owned();
    for field in form.fields {
        let raw: Vec<&str> = submission.all(field.name).collect();
        let first = raw.first().map(|v| v.trim()).unwrap_or("");
        let result: Result<Vec<String>, Problem> = match field.kind {
            FieldKind::Interests | FieldKind::Skills => {
                let offered = if field.kind == FieldKind::Interests {
                    &config.interests
                } else {
                    &config.skills
                };
                let mut chosen = BTreeSet::new();
                let mut bad = false;
                for value in &raw {
                    if offered.iter().any(|c| c.id == value.trim()) {
                        chosen.insert(value.trim().to_owned());
                    } else {
                        bad = true;
                    }
                }
                if bad {
                    Err(Problem::Choice)
                } else {
                    Ok(chosen.into_iter().collect())
                }
            }
            FieldKind::Checkbox => Ok(if matches!(first, "on" | "yes" | "true" | "1") {
                vec!["yes".to_owned()]
            } else {
                Vec::new()
            }),
            _ if first.is_empty() => Ok(Vec::new()),
            FieldKind::Email => email(first).map(|e| vec![e]).ok_or(Problem::Email),
            FieldKind::Postcode => postcode(first, &country)
                .map(|p| vec![p])
                .ok_or(Problem::Postcode),
            FieldKind::Tel => phone(first, &country)
                .map(|p| vec![p])
                .ok_or(Problem::Phone),
            FieldKind::Country => {
                if COUNTRIES.contains(&first) {
                    Ok(vec![first.to_owned()])
                } else {
                    Err(Problem::Choice)
                }
            }
            FieldKind::Date => date(first).map(|d| vec![d]).ok_or(Problem::Date),
            FieldKind::Frequency => {
                if matches!(first, "once" | "monthly") {
                    Ok(vec![first.to_owned()])
                } else {
                    Err(Problem::Choice)
                }
            }
            FieldKind::Amount => amount(first, submission.get(OTHER_AMOUNT_FIELD), config)
                .map(|a| vec![a.to_string()]),
            FieldKind::Textarea => text(first, field.max_len, true).map(|t| vec![t]),
            FieldKind::Text | FieldKind::Hidden => {
                text(first, field.max_len, false).map(|t| vec![t])
            }
        };
        match result {
            Ok(values) if values.is_empty() && field.required => {
                problems.insert(field.name, Problem::Required);
            }
            Ok(values) if values.is_empty() => {}
            Ok(values) => {
                cleaned.values.insert(field.name, values);
            }
            Err(problem) => {
                problems.insert(field.name, problem);
            }
        }
    }
    // Consent to text messages needs a number to send them to.
    if cleaned.values.contains_key(SMS_FIELD)
        && !cleaned.values.contains_key("phone")
        && !problems.contains_key("phone")
    {
        problems.insert("phone", Problem::PhoneForSms);
    }
    if problems.is_empty() {
        Ok(cleaned)
    } else {
        Err(problems)
    }
}

/// Trimmed, NFC, inner runs of spaces collapsed; no control characters
/// (line breaks only where `multiline`).
pub fn text(value: &str, max_len: usize, multiline: bool) -> Result<String, Problem> {
    let normal: String = value.trim().nfc().collect();
    if normal
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(Problem::Characters);
    }
    let normal = if multiline {
        normal.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        normal.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    if normal.chars().count() > max_len {
        return Err(Problem::TooLong);
    }
    Ok(normal)
}

/// A normalised email address (NFC, lower case), or `None` when it cannot
/// be one. Deliberately simple: one `@`, no spaces or controls, a dotted
/// domain; the confirmation email proves the rest.
pub fn email(value: &str) -> Option<String> {
    // Lower case first: lower-casing can undo a composition (a capital
    // J with a combining caron becomes `ǰ` only once composed again).
    let normal: String = value.trim().to_lowercase().nfc().collect();
    if normal.len() > 254
        || normal
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
    {
        return None;
    }
    let (local, domain) = normal.split_once('@')?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return None;
    }
    Some(normal)
}

/// A postcode checked for the country: five digits in France (and its
/// overseas départements), four in Belgium, Switzerland and Luxembourg,
/// five in Germany, Spain and Italy; letters, digits and one space
/// elsewhere.
pub fn postcode(value: &str, country: &str) -> Option<String> {
    let compact: String = value.trim().to_uppercase();
    let digits = |n: usize| compact.len() == n && compact.chars().all(|c| c.is_ascii_digit());
    let valid = match country {
        "FR" | "DE" | "ES" | "IT" => digits(5),
        "BE" | "CH" | "LU" => digits(4),
        "PT" => {
            let d = compact.replace('-', "");
            d.len() == 7 && d.chars().all(|c| c.is_ascii_digit())
        }
        _ => {
            (2..=10).contains(&compact.len())
                && compact
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        }
    };
    valid.then_some(compact)
}

/// A phone number in international form: `+33612345678`. French national
/// numbers (`06 12 34 56 78`) gain their country code.
pub fn phone(value: &str, country: &str) -> Option<String> {
    let trimmed = value.trim();
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " .-()+/".contains(c)))
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let international = if trimmed.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if country == "FR" && digits.len() == 10 && digits.starts_with('0') {
        format!("+33{}", &digits[1..])
    } else {
        return None;
    };
    (8..=16)
        .contains(&(international.len() - 1))
        .then_some(international)
}

fn date(value: &str) -> Option<String> {
    let day: jiff::civil::Date = value.parse().ok()?;
    (1900..=2100).contains(&day.year()).then(|| day.to_string())
}

/// A donation amount in whole units: one of the suggested ones, or
/// another one typed, between 1 and the cap.
fn amount(value: &str, other: Option<&str>, config: &CampaignConfig) -> Result<u32, Problem> {
    let text = if value == "other" {
        other.unwrap_or("").trim()
    } else {
        value
    };
    if text.is_empty() {
        return Err(Problem::Required);
    }
    let whole = text
        .trim_end_matches(['€', ' ', '\u{a0}'])
        .replace(',', ".");
    let amount: f64 = whole.parse().map_err(|_| Problem::Amount)?;
    if !(1.0..=f64::from(config.donations.cap_per_donor)).contains(&amount) || amount.fract() != 0.0
    {
        return Err(Problem::Amount);
    }
    Ok(amount as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::FormName;

    fn config() -> CampaignConfig {
        let mut c: CampaignConfig =
            serde_json::from_str(r#"{"title":"T","base_url":"https://t.fr","language":"fr"}"#)
                .unwrap();
        c.interests = vec![crate::config::Choice {
            id: "logement".into(),
            label: "Logement".into(),
        }];
        c
    }

    #[test]
    fn email_normalisation_is_stable() {
        // Found by the fuzz target: NFC before lower case left `j` and a
        // combining caron apart, and a second pass changed the address.
        let once = email("J\u{30c}osef@exemple.cz").unwrap();
        assert_eq!(once, "\u{1f0}osef@exemple.cz");
        assert_eq!(email(&once), Some(once.clone()));
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            email("  Ana.Lopez@Example.FR "),
            Some("ana.lopez@example.fr".into())
        );
        assert_eq!(
            email("e\u{301}lise@exemple.fr"),
            Some("élise@exemple.fr".into()),
            "NFC"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.fr",
            "ana@localhost",
            "a b@x.fr",
            "a@x..fr",
            "a@-x.fr",
            "a\r\nbcc:x@y.fr",
            "<a@x.fr>",
            "a@@x.fr",
        ] {
            assert_eq!(email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn postcodes_and_phones_follow_the_country() {
        assert_eq!(postcode("59300", "FR"), Some("59300".into()));
        assert_eq!(postcode("5930", "FR"), None);
        assert_eq!(postcode("1000", "BE"), Some("1000".into()));
        assert_eq!(postcode("sw1a 1aa", "GB"), Some("SW1A 1AA".into()));
        assert_eq!(phone("06 12 34 56 78", "FR"), Some("+33612345678".into()));
        assert_eq!(phone("+32 470 12 34 56", "BE"), Some("+32470123456".into()));
        assert_eq!(phone("0612", "FR"), None);
        assert_eq!(phone("call me", "FR"), None);
    }

    #[test]
    fn a_signup_is_cleaned_and_mistakes_reported_per_field() {
        let form = FormName::Signup.definition();
        let ok = Submission::from_pairs([
            ("email", " Ana@Example.fr"),
            ("first_name", "  Ana   Maria "),
            ("interests", "logement"),
            ("postcode", "59300"),
        ]);
        let cleaned = validate(form, &ok, &config()).unwrap();
        assert_eq!(cleaned.text("email"), Some("ana@example.fr"));
        assert_eq!(cleaned.text("first_name"), Some("Ana Maria"));
        assert_eq!(cleaned.set("interests").len(), 1);

        let bad = Submission::from_pairs([
            ("first_name", "Eve\r\nBcc: x@y.fr"),
            ("interests", "chasse"),
            ("postcode", "ABC"),
        ]);
        let problems = validate(form, &bad, &config()).unwrap_err();
        assert_eq!(problems.get("email"), Some(&Problem::Required));
        assert_eq!(problems.get("first_name"), Some(&Problem::Characters));
        assert_eq!(problems.get("interests"), Some(&Problem::Choice));
        assert_eq!(problems.get("postcode"), Some(&Problem::Postcode));
        assert_eq!(Problem::Required.message("fr"), "Ce champ est obligatoire.");
    }

    #[test]
    fn script_tags_are_kept_as_text_and_lengths_enforced() {
        assert_eq!(
            text("<script>alert(1)</script>", 100, false),
            Ok("<script>alert(1)</script>".into())
        );
        assert_eq!(text(&"é".repeat(101), 100, false), Err(Problem::TooLong));
        assert_eq!(text("line\r\nline", 100, true), Ok("line\nline".into()));
    }

    #[test]
    fn donation_amounts() {
        let c = config();
        assert_eq!(amount("50", None, &c), Ok(50));
        assert_eq!(amount("other", Some("35 €"), &c), Ok(35));
        assert_eq!(amount("other", Some("4601"), &c), Err(Problem::Amount));
        assert_eq!(amount("other", Some("12,5"), &c), Err(Problem::Amount));
        assert_eq!(amount("other", None, &c), Err(Problem::Required));
    }
}
