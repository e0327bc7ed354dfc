//! Audiences: who a broadcast email goes to, written in its front matter.
//!
//! ```yaml
//! audience:
//!   tags: [ecologie, logement]          # any of these declared interests
//!   imported_tags: [adherent]           # any of these labels of an imported file
//!   within: { km: 100, of: Valenciennes }
//! ```
//!
//! Every key given narrows the audience; a list matches any of its
//! entries. With no key at all, an audience is every supporter who may
//! receive marketing email. The generator checks and resolves an audience
//! once ([`Audience::resolve`]: place names become coordinates, commune
//! names INSEE codes, event names their ids), so the sender only compiles
//! it ([`AudienceFilter::compile`]) and tests each supporter's [`Facts`],
//! which allocates nothing.

use crate::config::{CampaignConfig, Choice};
use crate::event::Event;
use crate::geo::{Circle, Gazetteer, Point};
use crate::supporter::EmailStatus;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An audience as written. See the module's documentation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Declared interests: a supporter with any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Declared interests: a supporter with every one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_tags: Vec<String>,
    /// Labels an imported file gave (NationBuilder's tags, `estrade
    /// people import`): a supporter with any of them. Not declared
    /// anywhere, so not checked beyond their spelling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported_tags: Vec<String>,
    /// `confirmed` (what an empty list means) or `pending`, one or a list.
    /// Only statuses that may receive marketing email are accepted:
    /// `pending` only when the campaign does not ask for confirmation.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_status_or_many"
    )]
    pub status: Vec<EmailStatus>,
    /// Signed up at or after this date: `2027-01-15`, `2027-01-15 18:00`
    /// (the campaign's time zone) or RFC 3339. Resolved to RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_up_since: Option<String>,
    /// `true`: attended any event; an event's id or file name: that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attended: Option<EventChoice>,
    /// `true`: has given to the campaign.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gave: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Within>,
    /// Communes by INSEE code (`59606`) or name (`Valenciennes`,
    /// `Saint-Denis (93)`). Resolved to INSEE codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communes: Vec<String>,
    /// Département codes: `59`, `2A`, `974`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departements: Vec<String>,
    /// Postcode beginnings: `59` or `593` or a whole `59300`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postcodes: Vec<String>,
}

/// `within: { km: 100, of: Valenciennes }` or `of: { lat: 50.36, lon: 3.52 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Within {
    pub km: f64,
    pub of: PlaceRef,
}

/// A place named as a French commune, or given by its coordinates. The
/// generator turns names into coordinates and keeps the name beside them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PlaceRef {
    Named(String),
    At(NamedPoint),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPoint {
    pub lat: f64,
    pub lon: f64,
    /// The name it was resolved from, for people reading the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Any event (`true` or `any`), or one event by its id (`/agenda/x/`) or
/// file name (`x`), which the generator turns into the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventChoice {
    Any,
    Event(String),
}

impl PlaceRef {
    /// The coordinates, looking a name up in the French gazetteer. A name
    /// several communes share is refused with the ways to tell them apart.
    pub fn point(&self) -> Result<Point, String> {
        match self {
            PlaceRef::At(at) => Point::checked(at.lat, at.lon).ok_or_else(|| {
                format!(
                    "`lat: {}, lon: {}` are not coordinates: latitude goes from -90 to 90, \
                     longitude from -180 to 180",
                    at.lat, at.lon
                )
            }),
            PlaceRef::Named(name) => {
                let found = Gazetteer::france().place(name);
                match found.as_slice() {
                    [] => Err(format!(
                        "no French commune is called `{name}`; check the spelling, or give \
                         coordinates: `of: {{ lat: 50.36, lon: 3.52 }}`"
                    )),
                    [one] => Ok(one.commune.point),
                    many => {
                        let choices: Vec<String> = many
                            .iter()
                            .take(6)
                            .map(|p| format!("`{} ({})`", p.commune.name, p.commune.departement))
                            .collect();
                        Err(format!(
                            "{} communes are called `{name}`: write which, like {}",
                            many.len(),
                            choices.join(", ")
                        ))
                    }
                }
            }
        }
    }

    /// Replaces a name by its coordinates, keeping the name.
    pub fn resolve(&mut self) -> Result<(), String> {
        let point = self.point()?;
        if let PlaceRef::Named(name) = self {
            *self = PlaceRef::At(NamedPoint {
                lat: point.lat,
                lon: point.lon,
                name: Some(std::mem::take(name)),
            });
        }
        Ok(())
    }

    /// How to show it: the name, else the coordinates.
    pub fn label(&self) -> String {
        match self {
            PlaceRef::Named(name) => name.clone(),
            PlaceRef::At(NamedPoint {
                name: Some(name), ..
            }) => name.clone(),
            PlaceRef::At(at) => format!("{}, {}", at.lat, at.lon),
        }
    }
}

impl Within {
    /// Checks the distance and resolves the place.
    pub fn resolve(&mut self) -> Result<(), String> {
        if !(self.km.is_finite() && self.km > 0.0 && self.km <= 20_000.0) {
            return Err(format!(
                "`km: {}` is not a distance: write a number of kilometres above 0",
                self.km
            ));
        }
        self.of.resolve()
    }

    /// The circle to test points with; `None` when the place is unknown.
    pub fn circle(&self) -> Option<Circle> {
        Some(Circle::new(self.of.point().ok()?, self.km))
    }
}

/// The id of the event `written` names: its id (`/agenda/x/`, slashes
/// optional) or, when only one event has it, the last part of its id (the
/// file's name, `x`).
pub fn resolve_event(written: &str, events: &[Event]) -> Result<String, String> {
    let bare = written.trim().trim_matches('/');
    if let Some(event) = events.iter().find(|e| e.id.trim_matches('/') == bare) {
        return Ok(event.id.clone());
    }
    let by_name: Vec<&Event> = events
        .iter()
        .filter(|e| !bare.is_empty() && e.id.trim_matches('/').rsplit('/').next() == Some(bare))
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => {
            let mut known: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
            known.truncate(8);
            let known = if known.is_empty() {
                "the site has no event".to_owned()
            } else {
                format!("its events include {}", known.join(", "))
            };
            Err(format!("there is no event `{written}`: {known}"))
        }
        many => Err(format!(
            "`{written}` names {} events: write the whole id, like `{}`",
            many.len(),
            many[0].id
        )),
    }
}

/// The problem with an interest id that `campaign.yaml` does not declare.
pub fn check_interest(id: &str, interests: &[Choice]) -> Result<(), String> {
    if interests.iter().any(|c| c.id == id) {
        return Ok(());
    }
    let declared: Vec<&str> = interests.iter().map(|c| c.id.as_str()).collect();
    Err(if declared.is_empty() {
        format!("`{id}` is not an interest: campaign.yaml declares none under `interests:`")
    } else {
        format!(
            "`{id}` is not an interest declared in campaign.yaml; declared: {}",
            declared.join(", ")
        )
    })
}

/// An instant from `2027-01-15`, `2027-01-15 18:00` in `zone`, or RFC 3339.
pub fn parse_instant(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| {
            format!("`{text}` is not a date; write it like `2027-01-15` or `2027-01-15 18:00`")
        })?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("`{text}` does not exist in the campaign's time zone ({e})"))
}

impl Audience {
    /// Checks every key against the campaign and resolves names in place
    /// (places to coordinates, communes to INSEE codes, events to ids,
    /// dates to RFC 3339). Returns the problems, each naming its key.
    pub fn resolve(&mut self, config: &CampaignConfig, events: &[Event]) -> Vec<String> {
        let mut problems = Vec::new();
        for tag in self.tags.iter().chain(&self.all_tags) {
            if let Err(e) = check_interest(tag, &config.interests) {
                problems.push(format!("audience: {e}"));
            }
        }
        for tag in &self.imported_tags {
            if tag.trim().is_empty() || tag.trim() != tag || tag.chars().any(char::is_control) {
                problems.push(format!(
                    "audience: imported_tags: `{}` is not a label as an import keeps them \
                     (no spaces around it, no control characters)",
                    tag.escape_debug()
                ));
            }
        }
        for status in &self.status {
            if !status.can_receive_marketing(config.forms.double_opt_in) {
                let why = if *status == EmailStatus::Pending {
                    "the campaign asks new supporters to confirm their address \
                     (`forms.double_opt_in`), so unconfirmed ones receive no marketing email"
                } else {
                    "these addresses must never receive marketing email"
                };
                problems.push(format!(
                    "audience: status `{}` cannot be written to: {why}",
                    status.as_str()
                ));
            }
        }
        if let Some(since) = &mut self.signed_up_since {
            let zone = TimeZone::get(&config.timezone).unwrap_or(TimeZone::UTC);
            match parse_instant(since, &zone) {
                Ok(instant) => *since = instant.to_string(),
                Err(e) => problems.push(format!("audience: signed_up_since: {e}")),
            }
        }
        if let Some(EventChoice::Event(id)) = &mut self.attended {
            match resolve_event(id, events) {
                Ok(found) => *id = found,
                Err(e) => problems.push(format!("audience: attended: {e}")),
            }
        }
        if let Some(within) = &mut self.within
            && let Err(e) = within.resolve()
        {
            problems.push(format!("audience: within: {e}"));
        }
        for commune in &mut self.communes {
            match resolve_commune(commune) {
                Ok(insee) => *commune = insee,
                Err(e) => problems.push(format!("audience: communes: {e}")),
            }
        }
        let gazetteer = Gazetteer::france();
        for code in &mut self.departements {
            let upper = code.trim().to_ascii_uppercase();
            let probe = match upper.as_str() {
                "2A" => "20000",
                "2B" => "20200",
                other if other.len() == 3 => &format!("{other}00"),
                other => &format!("{other:0>2}000"),
            };
            if upper.is_empty() || gazetteer.departement_of(probe) != Some(upper.as_str()) {
                problems.push(format!(
                    "audience: departements: `{code}` is not a département code; write it \
                     like `\"59\"`, `\"2A\"` or `\"974\"`"
                ));
            } else {
                *code = upper;
            }
        }
        for prefix in &self.postcodes {
            let digits = prefix.trim();
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                problems.push(format!(
                    "audience: postcodes: `{prefix}` is not the beginning of a postcode; write \
                     one to five digits, like `\"59\"` or `\"59300\"`"
                ));
            }
        }
        problems
    }

    /// One line for people: `tags ecologie · within 100 km of Valenciennes`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let statuses: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
        parts.push(if statuses.is_empty() {
            "confirmed".to_owned()
        } else {
            statuses.join(" or ")
        });
        if !self.tags.is_empty() {
            parts.push(format!("tags {}", self.tags.join(" or ")));
        }
        if !self.all_tags.is_empty() {
            parts.push(format!("all tags {}", self.all_tags.join(" and ")));
        }
        if !self.imported_tags.is_empty() {
            parts.push(format!("imported tags {}", self.imported_tags.join(" or ")));
        }
        if let Some(since) = &self.signed_up_since {
            parts.push(format!("signed up since {since}"));
        }
        match &self.attended {
            Some(EventChoice::Any) => parts.push("attended an event".to_owned()),
            Some(EventChoice::Event(id)) => parts.push(format!("attended {id}")),
            None => {}
        }
        if self.gave {
            parts.push("gave".to_owned());
        }
        if let Some(within) = &self.within {
            parts.push(format!("within {} km of {}", within.km, within.of.label()));
        }
        if !self.communes.is_empty() {
            parts.push(format!("communes {}", self.communes.join(", ")));
        }
        if !self.departements.is_empty() {
            parts.push(format!("départements {}", self.departements.join(", ")));
        }
        if !self.postcodes.is_empty() {
            parts.push(format!("postcodes {}…", self.postcodes.join("…, ")));
        }
        parts.join(" · ")
    }
}

/// An INSEE code as it is, or a commune's name to its INSEE code.
fn resolve_commune(written: &str) -> Result<String, String> {
    let gazetteer = Gazetteer::france();
    if let Some(place) = gazetteer.commune(written) {
        return Ok(place.commune.insee.to_owned());
    }
    match PlaceRef::Named(written.to_owned()).point() {
        Ok(_) => {
            let found = gazetteer.place(written);
            found
                .first()
                .map(|p| p.commune.insee.to_owned())
                .ok_or_else(|| format!("no French commune is called `{written}`"))
        }
        Err(e) => Err(e),
    }
}

mod filter;

pub use filter::{AudienceFilter, Facts, Location};

impl Serialize for EventChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EventChoice::Any => serializer.serialize_str("any"),
            EventChoice::Event(id) => serializer.serialize_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for EventChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;
        impl Visitor<'_> for ChoiceVisitor {
            type Value = EventChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true`, `any` or an event's id")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<EventChoice, E> {
                if value {
                    Ok(EventChoice::Any)
                } else {
                    Err(E::custom(
                        "`false` is not accepted: write `true`, `any` or an event's id, or leave \
                         the key out",
                    ))
                }
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<EventChoice, E> {
                match value.trim() {
                    "" => Err(E::custom("write `true`, `any` or an event's id")),
                    "any" => Ok(EventChoice::Any),
                    id => Ok(EventChoice::Event(id.to_owned())),
                }
            }
        }
        deserializer.deserialize_any(ChoiceVisitor)
    }
}

impl<'de> Deserialize<'de> for PlaceRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlaceVisitor;
        impl<'de> Visitor<'de> for PlaceVisitor {
            type Value = PlaceRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a commune's name or `{ lat: ..., lon: ... }`")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<PlaceRef, E> {
                Ok(PlaceRef::Named(value.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PlaceRef, A::Error> {
                NamedPoint::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PlaceRef::At)
            }
        }
        deserializer.deserialize_any(PlaceVisitor)
    }
}

/// `status: confirmed` or `status: [confirmed, pending]`.
fn one_status_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<EmailStatus>, D::Error> {
    struct StatusVisitor;
    fn parse<E: de::Error>(text: &str) -> Result<EmailStatus, E> {
        EmailStatus::parse(text.trim()).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not a status; write `confirmed` or `pending`"
            ))
        })
    }
    impl<'de> Visitor<'de> for StatusVisitor {
        type Value = Vec<EmailStatus>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`confirmed`, `pending`, or a list of them")
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<EmailStatus>, E> {
            Ok(vec![parse(value)?])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<EmailStatus>, A::Error> {
            let mut statuses = Vec::new();
            while let Some(text) = seq.next_element::<String>()? {
                statuses.push(parse(&text)?);
            }
            Ok(statuses)
        }
    }
    deserializer.deserialize_any(StatusVisitor)
}

#[cfg(test)]
mod tests;
