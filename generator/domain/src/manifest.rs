//! What the generator hands the form functions: the campaign's settings,
//! its events, the consent texts its forms show and its transactional
//! emails, rendered. The functions never read Markdown or templates.

use crate::config::CampaignConfig;
use crate::event::Event;
use crate::text::escape_html;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Identifies the build that showed a consent text.
    pub build: String,
    pub config: CampaignConfig,
    pub events: Vec<Event>,
    /// Form name → the consent text it shows.
    pub consent: BTreeMap<String, ConsentText>,
    /// `confirm`, `welcome`, `volunteer`, `rsvp-confirmed`,
    /// `rsvp-waitlisted`, `rsvp-promoted`.
    pub emails: BTreeMap<String, EmailTemplate>,
    /// The theme's stylesheet, for the few pages the functions answer with.
    pub stylesheet: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentText {
    pub text: String,
    /// SHA-256 of `text`, hex.
    pub hash: String,
}

/// An email with `{name}` places filled at send time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplate {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The transactional emails every campaign must write.
pub const REQUIRED_EMAILS: [&str; 6] = [
    "confirm",
    "welcome",
    "volunteer",
    "rsvp-confirmed",
    "rsvp-waitlisted",
    "rsvp-promoted",
];

/// A filled email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl EmailTemplate {
    /// Fills `{name}` places: escaped in the HTML, as they are in the
    /// text. Markdown may have percent-encoded the braces inside links.
    pub fn fill(&self, values: &BTreeMap<&str, String>) -> FilledEmail {
        FilledEmail {
            subject: fill_places(&self.subject, values, false),
            html: fill_places(&self.html, values, true),
            text: fill_places(&self.text, values, false),
        }
    }
}

/// `template` with each `{name}` of `values` replaced by its value, HTML
/// escaped when `html`; there, `%7Bname%7D` too (a place inside a link,
/// percent-encoded by the Markdown renderer). Other braces stay as they
/// are. One pass, whatever the number of values.
fn fill_places(template: &str, values: &BTreeMap<&str, String>, html: bool) -> String {
    let mut filled = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find(['{', '%']) {
        filled.push_str(&rest[..start]);
        let after = &rest[start..];
        let (open, close) = if after.starts_with('{') {
            ("{", "}")
        } else if html && after.starts_with("%7B") {
            ("%7B", "%7D")
        } else {
            filled.push_str(&after[..1]);
            rest = &after[1..];
            continue;
        };
        let inner = &after[open.len()..];
        let value = inner
            .find(close)
            .and_then(|end| values.get(&inner[..end]).map(|value| (end, value)));
        match value {
            Some((end, value)) => {
                if html {
                    filled.push_str(&escape_html(value));
                } else {
                    filled.push_str(value);
                }
                rest = &inner[end + close.len()..];
            }
            None => {
                filled.push_str(open);
                rest = inner;
            }
        }
    }
    filled.push_str(rest);
    filled
}

impl Manifest {
    pub fn event(&self, id: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_filled_and_escaped_in_html() {
        let template = EmailTemplate {
            subject: "Bienvenue {first_name}".into(),
            html: "<p>Bonjour {first_name}</p><a href=\"%7Bconfirm_url%7D\">ok</a>".into(),
            text: "Bonjour {first_name}\n{confirm_url}".into(),
        };
        let values = BTreeMap::from([
            ("first_name", "<Ana & Co>".to_owned()),
            (
                "confirm_url",
                "https://x.fr/api/confirm?token=a.b&x=1".to_owned(),
            ),
        ]);
        let filled = template.fill(&values);
        assert_eq!(filled.subject, "Bienvenue <Ana & Co>");
        assert!(filled.html.contains("Bonjour &lt;Ana &amp; Co&gt;"));
        assert!(
            filled
                .html
                .contains("href=\"https://x.fr/api/confirm?token=a.b&amp;x=1\"")
        );
        assert_eq!(
            filled.text,
            "Bonjour <Ana & Co>\nhttps://x.fr/api/confirm?token=a.b&x=1"
        );
    }

    #[test]
    fn a_value_is_never_filled_again_and_unknown_places_stay() {
        let template = EmailTemplate {
            subject: "{first_name} {unknown} { 100% {".into(),
            html: "<p>{first_name} %7Bnope%7D 50%</p>".into(),
            text: "{first_name}{".into(),
        };
        let values = BTreeMap::from([
            ("first_name", "{confirm_url}".to_owned()),
            ("confirm_url", "https://x.fr/secret".to_owned()),
        ]);
        let filled = template.fill(&values);
        assert_eq!(filled.subject, "{confirm_url} {unknown} { 100% {");
        assert_eq!(filled.html, "<p>{confirm_url} %7Bnope%7D 50%</p>");
        assert_eq!(filled.text, "{confirm_url}{");
    }
}
