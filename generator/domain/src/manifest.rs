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
        let mut subject = self.subject.clone();
        let mut html = self.html.clone();
        let mut text = self.text.clone();
        for (name, value) in values {
            let place = format!("{{{name}}}");
            let encoded = format!("%7B{name}%7D");
            let escaped = escape_html(value);
            subject = subject.replace(&place, value);
            html = html.replace(&place, &escaped).replace(&encoded, &escaped);
            text = text.replace(&place, value);
        }
        FilledEmail {
            subject,
            html,
            text,
        }
    }
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
}
