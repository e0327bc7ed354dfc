//! The one place YAML is parsed, so every YAML mistake is reported the
//! same way: where it is, in words, and how to fix it.

use serde::de::DeserializeOwned;

/// A YAML mistake, located within the YAML text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|error| {
        let location = error.location();
        let message = without_location(&error.to_string());
        YamlError {
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            hint: hint_for(&message),
            message,
        }
    })
}

/// serde_yaml appends " at line L column C"; we report the location
/// ourselves, relative to the whole file.
fn without_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn hint_for(message: &str) -> Option<String> {
    let hint = if message.contains("unknown field") {
        "check the spelling; keys of your own go under `extra:`"
    } else if message.contains("expected a sequence") {
        "write a list, like `tags: [ecologie, logement]`"
    } else if message.contains("missing field") {
        "add the missing key"
    } else if message.contains("mapping values are not allowed")
        || message.contains("did not find expected")
    {
        "a value containing `: ` or starting with a quote needs quotes around it, \
         like `title: \"Réunion : Lille\"`"
    } else if message.contains("found character that cannot start any token")
        || message.contains("tab")
    {
        "YAML indents with spaces, not tabs"
    } else if message.contains("invalid type") && message.contains("expected a string") {
        "put the value in quotes"
    } else {
        return None;
    };
    Some(hint.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Front {
        title: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn errors_are_located_and_explained() {
        let error = parse::<Front>("title: Hello\ntitel: oops\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert_eq!(error.column, Some(1));
        assert_eq!(
            error.message,
            "unknown field `titel`, expected `title` or `tags`"
        );
        assert_eq!(
            error.hint.as_deref(),
            Some("check the spelling; keys of your own go under `extra:`")
        );
    }

    #[test]
    fn a_single_tag_gets_a_list_hint() {
        let error = parse::<Front>("title: Hello\ntags: ecologie\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.hint.unwrap().contains("tags: [ecologie, logement]"));
    }
}
