//! Campaign events: what a page's `event:` front matter says, and the
//! resolved event the agenda, the `.ics` files and the RSVP function use.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

/// The `event:` block of a page's front matter, as written.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventFrontMatter {
    /// Local start time, e.g. `2027-03-14 18:30`.
    pub start: String,
    /// Local end time; two hours after `start` when left out.
    #[serde(default)]
    pub end: Option<String>,
    /// IANA time zone; the campaign's `timezone` when left out.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub venue: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// ISO 3166 country code; `FR` when left out.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    /// Seats available; unlimited when left out.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Whether supporters can register through the RSVP form.
    #[serde(default)]
    pub rsvp: bool,
    /// A video-call or streaming link for online events.
    #[serde(default)]
    pub online_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    pub lat: f64,
    pub lon: f64,
}

/// An event with its times resolved, as published in the site's event
/// manifest for the functions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Event {
    /// The event page's path (`/agenda/reunion-lille/`): stable and unique.
    pub id: String,
    pub title: String,
    /// Absolute URL of the event page.
    pub url: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub timezone: String,
    pub venue: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub coordinates: Option<Coordinates>,
    pub capacity: Option<u32>,
    pub rsvp: bool,
    pub online_url: Option<String>,
    pub summary: String,
}

/// What the page around an event provides.
pub struct EventPage<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub url: &'a str,
    pub summary: &'a str,
}

impl Event {
    /// Resolves front matter into an event, or says what is wrong with it.
    pub fn resolve(
        front: &EventFrontMatter,
        page: EventPage<'_>,
        default_timezone: &str,
    ) -> Result<Event, String> {
        let timezone = front.timezone.as_deref().unwrap_or(default_timezone);
        let zone = TimeZone::get(timezone).map_err(|_| {
            format!("`{timezone}` is not an IANA time zone; write it like `Europe/Paris`")
        })?;
        let start = local_time(&front.start, "start", &zone)?;
        let end = match &front.end {
            Some(end) => local_time(end, "end", &zone)?,
            None => start + SignedDuration::from_hours(2),
        };
        if end < start {
            return Err(format!(
                "`end` ({}) is before `start` ({})",
                front.end.as_deref().unwrap_or_default(),
                front.start
            ));
        }
        if front.capacity == Some(0) {
            return Err("`capacity` is 0: leave it out for no limit".to_owned());
        }
        if let Some(Coordinates { lat, lon }) = front.coordinates
            && (!(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon))
        {
            return Err(format!(
                "coordinates ({lat}, {lon}) are off the globe: `lat` is -90..90, `lon` -180..180"
            ));
        }
        Ok(Event {
            id: page.id.to_owned(),
            title: page.title.to_owned(),
            url: page.url.to_owned(),
            start,
            end,
            timezone: timezone.to_owned(),
            venue: front.venue.clone(),
            address: front.address.clone(),
            postcode: front.postcode.clone(),
            city: front.city.clone(),
            country: front.country.clone().unwrap_or_else(|| "FR".to_owned()),
            coordinates: front.coordinates,
            capacity: front.capacity,
            rsvp: front.rsvp,
            online_url: front.online_url.clone(),
            summary: page.summary.to_owned(),
        })
    }

    /// An event is past once it has ended.
    pub fn is_past(&self, now: Timestamp) -> bool {
        self.end < now
    }

    pub fn zone(&self) -> TimeZone {
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }

    pub fn local_start(&self) -> ZonedDateTime {
        self.start.to_zoned_datetime(self.zone())
    }

    pub fn local_end(&self) -> ZonedDateTime {
        self.end.to_zoned_datetime(self.zone())
    }

    /// One line for the place: venue, address, postcode and city.
    pub fn place(&self) -> String {
        let town = match (&self.postcode, &self.city) {
            (Some(p), Some(c)) => Some(format!("{p} {c}")),
            (None, Some(c)) => Some(c.clone()),
            (Some(p), None) => Some(p.clone()),
            (None, None) => None,
        };
        [self.venue.clone(), self.address.clone(), town]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn local_time(text: &str, key: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let civil: DateTime = text.trim().parse().map_err(|_| {
        format!("`{key}: {text}` is not a date and time; write it like `2027-03-14 18:30`")
    })?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("`{key}: {text}` does not exist in this time zone ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front(start: &str, end: Option<&str>) -> EventFrontMatter {
        EventFrontMatter {
            start: start.to_owned(),
            end: end.map(str::to_owned),
            timezone: None,
            venue: Some("Salle des fêtes".to_owned()),
            address: None,
            postcode: Some("59300".to_owned()),
            city: Some("Valenciennes".to_owned()),
            country: None,
            coordinates: None,
            capacity: Some(80),
            rsvp: true,
            online_url: None,
        }
    }

    fn page() -> EventPage<'static> {
        EventPage {
            id: "/agenda/reunion/",
            title: "Réunion",
            url: "https://example.org/agenda/reunion/",
            summary: "",
        }
    }

    #[test]
    fn local_times_resolve_in_the_campaign_time_zone() {
        let event =
            Event::resolve(&front("2027-03-14 18:30", None), page(), "Europe/Paris").unwrap();
        assert_eq!(event.start.to_string(), "2027-03-14T17:30:00Z");
        assert_eq!(event.end.to_string(), "2027-03-14T19:30:00Z");
        assert_eq!(event.place(), "Salle des fêtes, 59300 Valenciennes");
        // Summer time: UTC+2.
        let summer =
            Event::resolve(&front("2027-06-01T09:00", None), page(), "Europe/Paris").unwrap();
        assert_eq!(summer.start.to_string(), "2027-06-01T07:00:00Z");
    }

    #[test]
    fn mistakes_are_explained() {
        let bad = Event::resolve(&front("14/03/2027", None), page(), "Europe/Paris");
        assert_eq!(
            bad.unwrap_err(),
            "`start: 14/03/2027` is not a date and time; write it like `2027-03-14 18:30`"
        );
        let reversed = Event::resolve(
            &front("2027-03-14 18:30", Some("2027-03-14 17:00")),
            page(),
            "Europe/Paris",
        );
        assert_eq!(
            reversed.unwrap_err(),
            "`end` (2027-03-14 17:00) is before `start` (2027-03-14 18:30)"
        );
        let zone = Event::resolve(&front("2027-03-14 18:30", None), page(), "Europe/Pari");
        assert!(
            zone.unwrap_err()
                .contains("`Europe/Pari` is not an IANA time zone")
        );
    }
}
