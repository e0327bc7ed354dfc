//! What the generator hands the form functions: the campaign's settings,
//! its events, the consent texts its forms show, its emails rendered and
//! its automations resolved. The functions never read Markdown, templates
//! or the gazetteer's names.

use crate::audience::Audience;
use crate::automation::Automation;
use crate::config::CampaignConfig;
use crate::event::Event;
use crate::text::escape_html;
use jiff::Timestamp;
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
    /// Every email by its file's name: the [`REQUIRED_EMAILS`] the forms
    /// send, then the campaign's own (sent by automations, or broadcast to
    /// an audience).
    pub emails: BTreeMap<String, EmailTemplate>,
    /// The theme's stylesheet, for the few pages the functions answer with.
    pub stylesheet: Option<String>,
    /// `content/automations/*.yaml`, checked, places resolved.
    #[serde(default)]
    pub automations: Vec<Automation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentText {
    pub text: String,
    /// SHA-256 of `text`, hex.
    pub hash: String,
}

/// An email with `{name}` places filled at send time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailTemplate {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The line mail apps show after the subject (already in `html`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// Replaces `email.from_name` of `campaign.yaml` for this email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// Replaces `email.reply_to` of `campaign.yaml` for this email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Makes the email a broadcast to these supporters (resolved: see
    /// [`crate::audience::AudienceFilter::compile`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// When a broadcast goes out; a broadcast without one is a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<Timestamp>,
}

/// The transactional emails every campaign must write.
pub const REQUIRED_EMAILS: [&str; 7] = [
    "confirm",
    "welcome",
    "volunteer",
    "rsvp-confirmed",
    "rsvp-waitlisted",
    "rsvp-promoted",
    "donation-receipt",
];

/// Whether email `name` is marketing: it must carry an unsubscribe link
/// (and `List-Unsubscribe`) and goes only to addresses that may receive
/// marketing. Everything but the confirmation and the RSVP emails is.
pub fn is_marketing(name: &str) -> bool {
    !matches!(
        name,
        "confirm" | "rsvp-confirmed" | "rsvp-waitlisted" | "rsvp-promoted" | "donation-receipt"
    )
}

/// Places every email may hold.
pub const COMMON_PLACES: [&str; 8] = [
    "hello",
    "first_name",
    "site_title",
    "site_url",
    "signature",
    "confirm_url",
    "unsubscribe_url",
    "share_url",
];

/// Places filled only in the RSVP emails, which are about one event.
pub const EVENT_PLACES: [&str; 6] = [
    "event_title",
    "event_date",
    "event_place",
    "event_online_url",
    "event_url",
    "cancel_url",
];

/// Places filled only in the receipt of a gift.
pub const GIFT_PLACES: [&str; 8] = [
    "receipt_number",
    "gift_amount",
    "gift_date",
    "gift_frequency",
    "donor_name",
    "donor_address",
    "donor_birth_date",
    "agent",
];

/// Places filled only in the campaign's own emails (automations and
/// broadcasts): the supporter's nearest upcoming events, a short list.
pub const CAMPAIGN_PLACES: [&str; 1] = ["nearest_events"];

/// The places the sender fills in email `name`.
pub fn places_of(name: &str) -> Vec<&'static str> {
    let mut places = COMMON_PLACES.to_vec();
    if name.starts_with("rsvp-") {
        places.extend(EVENT_PLACES);
    } else if name == "donation-receipt" {
        places.extend(GIFT_PLACES);
    } else if !REQUIRED_EMAILS.contains(&name) {
        places.extend(CAMPAIGN_PLACES);
    }
    places
}

/// The events `{nearest_events}` lists for a supporter living at `home`:
/// up to `count` events not yet over, the nearest first (events with no
/// known place, such as online ones, after those with one, soonest first);
/// soonest first when the supporter's place is unknown.
pub fn nearest_events(
    events: &[Event],
    home: Option<crate::geo::Point>,
    now: Timestamp,
    count: usize,
) -> Vec<&Event> {
    let mut upcoming: Vec<(f64, &Event)> = events
        .iter()
        .filter(|event| event.end > now)
        .map(|event| {
            let distance = home
                .zip(event_point(event))
                .map_or(f64::INFINITY, |(a, b)| crate::geo::distance_km(a, b));
            (distance, event)
        })
        .collect();
    upcoming.sort_by(|(da, a), (db, b)| da.total_cmp(db).then(a.start.cmp(&b.start)));
    upcoming.into_iter().take(count).map(|(_, e)| e).collect()
}

/// Where an event takes place: its coordinates, else its postcode's point.
fn event_point(event: &Event) -> Option<crate::geo::Point> {
    match &event.coordinates {
        Some(c) => crate::geo::Point::checked(c.lat, c.lon),
        None => crate::audience::Location::of(Some(&event.country), event.postcode.as_deref())
            .map(|l| l.point),
    }
}

/// What `{nearest_events}` shows: one event a line, its title, local date
/// and place, then its address on a line of its own (links in the HTML part
/// are left to mail apps, which make them clickable).
pub fn list_events(events: &[&Event], lang: &str) -> String {
    let mut list = String::new();
    for event in events {
        let local = event.local_start().datetime();
        let when =
            crate::dates::format(local, "datetime", lang).unwrap_or_else(|| local.to_string());
        list.push_str(&format!("- {}, {when}", event.title));
        let place = event.place();
        if !place.is_empty() {
            list.push_str(&format!(", {place}"));
        }
        list.push_str(&format!("\n  {}\n", event.url));
    }
    list.trim_end().to_owned()
}

/// A filled email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl EmailTemplate {
    /// Fills `{name}` places: escaped in the HTML (a value's line breaks
    /// kept as `<br>`), as they are in the text. Markdown may have
    /// percent-encoded the braces inside links.
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
                    let escaped = escape_html(value);
                    filled.push_str(&escaped.replace('\n', "<br>\n"));
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
            ..EmailTemplate::default()
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
    fn line_breaks_of_a_value_are_kept_in_html() {
        let template = EmailTemplate {
            subject: "{nearest_events}".into(),
            html: "<p>{nearest_events}</p>".into(),
            text: "{nearest_events}".into(),
            ..EmailTemplate::default()
        };
        let values = BTreeMap::from([("nearest_events", "- A & B\n  https://x.fr/a/".to_owned())]);
        let filled = template.fill(&values);
        assert_eq!(filled.html, "<p>- A &amp; B<br>\n  https://x.fr/a/</p>");
        assert_eq!(filled.text, "- A & B\n  https://x.fr/a/");
    }

    #[test]
    fn places_and_marketing_follow_the_kind_of_email() {
        assert!(!is_marketing("confirm") && !is_marketing("rsvp-promoted"));
        assert!(is_marketing("welcome") && is_marketing("lettre-ecologie"));
        assert!(places_of("rsvp-confirmed").contains(&"cancel_url"));
        assert!(!places_of("welcome").contains(&"nearest_events"));
        assert!(places_of("lettre-ecologie").contains(&"nearest_events"));
        assert!(!places_of("lettre-ecologie").contains(&"event_title"));
    }

    #[test]
    fn nearest_events_are_listed_one_a_line() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "id": "/agenda/anzin/", "title": "Réunion à Anzin",
            "url": "https://claire.example/agenda/anzin/",
            "start": "2027-02-06T09:00:00Z", "end": "2027-02-06T11:00:00Z",
            "timezone": "Europe/Paris", "venue": "Salle des fêtes", "address": null,
            "postcode": "59410", "city": "Anzin", "country": "FR", "coordinates": null,
            "capacity": null, "rsvp": true, "online_url": null, "summary": "",
        }))
        .unwrap();
        let line = "- Réunion à Anzin, samedi 6\u{a0}février 2027 à\u{a0}10\u{a0}h, Salle des \
                    fêtes, 59410 Anzin\n  https://claire.example/agenda/anzin/";
        assert_eq!(
            list_events(&[&event, &event], "fr"),
            format!("{line}\n{line}")
        );
        assert_eq!(list_events(&[], "fr"), "");
    }

    #[test]
    fn the_nearest_events_come_first_then_placeless_ones_then_none_over() {
        let event = |id: &str, postcode: Option<&str>, start: &str, end: &str| -> Event {
            serde_json::from_value(serde_json::json!({
                "id": id, "title": id, "url": format!("https://claire.example{id}"),
                "start": start, "end": end, "timezone": "Europe/Paris", "venue": null,
                "address": null, "postcode": postcode, "city": null, "country": "FR",
                "coordinates": null, "capacity": null, "rsvp": true, "online_url": null,
                "summary": "",
            }))
            .unwrap()
        };
        let events = [
            event(
                "/marseille/",
                Some("13001"),
                "2027-01-10T09:00:00Z",
                "2027-01-10T11:00:00Z",
            ),
            event(
                "/en-ligne/",
                None,
                "2027-01-05T18:00:00Z",
                "2027-01-05T19:00:00Z",
            ),
            event(
                "/lille/",
                Some("59000"),
                "2027-03-01T09:00:00Z",
                "2027-03-01T11:00:00Z",
            ),
            event(
                "/passe/",
                Some("59000"),
                "2026-11-01T09:00:00Z",
                "2026-11-01T11:00:00Z",
            ),
            event(
                "/anzin/",
                Some("59410"),
                "2027-02-06T09:00:00Z",
                "2027-02-06T11:00:00Z",
            ),
        ];
        let now: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let ids = |home, count| -> Vec<String> {
            nearest_events(&events, home, now, count)
                .iter()
                .map(|e| e.id.clone())
                .collect()
        };
        let roubaix = crate::audience::Location::of(Some("FR"), Some("59100")).map(|l| l.point);
        assert!(roubaix.is_some());
        assert_eq!(ids(roubaix, 3), ["/lille/", "/anzin/", "/marseille/"]);
        assert_eq!(
            ids(roubaix, 9).last().map(String::as_str),
            Some("/en-ligne/")
        );
        assert_eq!(ids(None, 2), ["/en-ligne/", "/marseille/"]);
    }

    #[test]
    fn a_value_is_never_filled_again_and_unknown_places_stay() {
        let template = EmailTemplate {
            subject: "{first_name} {unknown} { 100% {".into(),
            html: "<p>{first_name} %7Bnope%7D 50%</p>".into(),
            text: "{first_name}{".into(),
            ..EmailTemplate::default()
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
