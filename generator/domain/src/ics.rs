//! iCalendar (RFC 5545) for events: one file per event, and the agenda's
//! calendar feed. Times are written in UTC so no VTIMEZONE is needed.

use crate::event::Event;
use jiff::Timestamp;

/// A calendar holding `events`. `host` makes each UID globally unique;
/// `stamp` is the DTSTAMP (the build time) so builds are reproducible.
pub fn calendar(name: &str, host: &str, events: &[&Event], stamp: Timestamp) -> String {
    let mut out = String::with_capacity(512 + events.len() * 512);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Estrade//Campaign site//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for event in events {
        write_event(&mut out, host, event, stamp);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn write_event(out: &mut String, host: &str, event: &Event, stamp: Timestamp) {
    line(out, "BEGIN:VEVENT");
    let uid = crate::text::slugify(&event.id);
    line(out, &format!("UID:{uid}@{host}"));
    line(out, &format!("DTSTAMP:{}", utc(stamp)));
    line(out, &format!("DTSTART:{}", utc(event.start)));
    line(out, &format!("DTEND:{}", utc(event.end)));
    line(out, &format!("SUMMARY:{}", escape(&event.title)));
    let place = event.place();
    if !place.is_empty() {
        line(out, &format!("LOCATION:{}", escape(&place)));
    }
    if let Some(c) = event.coordinates {
        line(out, &format!("GEO:{:.6};{:.6}", c.lat, c.lon));
    }
    if !event.summary.is_empty() {
        line(out, &format!("DESCRIPTION:{}", escape(&event.summary)));
    }
    line(out, &format!("URL:{}", event.url));
    line(out, "END:VEVENT");
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping of RFC 5545 section 3.3.11.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Writes a content line folded at 75 octets, never inside a UTF-8
/// character, ended by CRLF.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            id: "/agenda/reunion-valenciennes/".to_owned(),
            title: "Réunion publique, place d'Armes; ouverte à tous".to_owned(),
            url: "https://example.org/agenda/reunion-valenciennes/".to_owned(),
            start: "2027-03-14T17:30:00Z".parse().unwrap(),
            end: "2027-03-14T19:30:00Z".parse().unwrap(),
            timezone: "Europe/Paris".to_owned(),
            venue: Some("Salle des fêtes".to_owned()),
            address: None,
            postcode: Some("59300".to_owned()),
            city: Some("Valenciennes".to_owned()),
            country: "FR".to_owned(),
            coordinates: None,
            capacity: None,
            rsvp: false,
            online_url: None,
            summary: "Venez nombreux.\nEntrée libre.".to_owned(),
        }
    }

    #[test]
    fn calendar_escapes_text_and_uses_utc() {
        let stamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let ics = calendar("Agenda", "example.org", &[&event()], stamp);
        assert!(ics.contains("UID:agenda-reunion-valenciennes@example.org\r\n"));
        assert!(ics.contains("DTSTART:20270314T173000Z\r\n"));
        assert!(ics.contains("SUMMARY:Réunion publique\\, place d'Armes\\; ouverte à tous\r\n"));
        assert!(ics.contains("DESCRIPTION:Venez nombreux.\\nEntrée libre.\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        let mut out = String::new();
        line(&mut out, &"é".repeat(60));
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        assert_eq!(out.replace("\r\n ", "").trim_end(), "é".repeat(60));
    }
}
