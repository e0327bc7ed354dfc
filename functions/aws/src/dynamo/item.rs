//! Domain values as DynamoDB items and back.
//!
//! Items are plain attributes rather than one JSON blob, so the console,
//! exports and future filters (status, interests, postcode) can read them.
//! A malformed item is reported by attribute name, never by value.

use super::expr::{n, s};
use super::table::{
    CONSENT_PREFIX, EXPIRES_AT, Item, PROFILE, WAITLIST_POSITION, event_pk, key, rsvp_sk,
    supporter_pk,
};
use aws_sdk_dynamodb::types::AttributeValue;
use estrade_domain::supporter::{
    ConsentRecord, EmailStatus, PostalAddress, Rsvp, RsvpStatus, Supporter,
};
use estrade_functions::store::{Member, StoreError, StoreResult};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(crate) const KIND: &str = "kind";

/// A string set, or nothing: DynamoDB has no empty sets (and no empty
/// strings inside one), so an empty set is an absent attribute.
pub(crate) fn string_set(values: &BTreeSet<String>) -> Option<AttributeValue> {
    let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
    (!values.is_empty()).then_some(AttributeValue::Ss(values))
}

pub(crate) fn time(at: Timestamp) -> AttributeValue {
    s(at.to_string())
}

pub(crate) fn supporter_item(supporter: &Supporter) -> Item {
    let mut item = key(supporter_pk(&supporter.email), PROFILE);
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    put(KIND, s("supporter"));
    put("email", s(&supporter.email));
    let optional = [
        ("first_name", &supporter.first_name),
        ("last_name", &supporter.last_name),
        ("phone", &supporter.phone),
        ("postcode", &supporter.postcode),
        ("country", &supporter.country),
        ("availability", &supporter.availability),
        ("recruiter", &supporter.recruiter),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            put(name, s(value));
        }
    }
    if let Some(set) = string_set(&supporter.interests) {
        put("interests", set);
    }
    if let Some(set) = string_set(&supporter.skills) {
        put("skills", set);
    }
    put("volunteer", AttributeValue::Bool(supporter.volunteer));
    if supporter.sms {
        put("sms", AttributeValue::Bool(true));
    }
    put("status", s(supporter.status.as_str()));
    put("created_at", time(supporter.created_at));
    put("updated_at", time(supporter.updated_at));
    if let Some(end) = supporter.expires_at {
        put(EXPIRES_AT, n(end.as_second()));
    }
    if let Some(address) = &supporter.address {
        put("address", address_value(address));
    }
    if let Some(set) = string_set(&supporter.other_phones) {
        put("other_phones", set);
    }
    if let Some(set) = string_set(&supporter.tags) {
        put("tags", set);
    }
    if !supporter.external_ids.is_empty() {
        let ids = supporter
            .external_ids
            .iter()
            .map(|(system, id)| (system.clone(), s(id)))
            .collect();
        put("external_ids", AttributeValue::M(ids));
    }
    item
}

/// A street address as a map: `lines` (a list), `city`, `region`.
fn address_value(address: &PostalAddress) -> AttributeValue {
    let mut map = HashMap::new();
    if !address.lines.is_empty() {
        let lines = address.lines.iter().map(s).collect();
        map.insert("lines".to_owned(), AttributeValue::L(lines));
    }
    for (name, value) in [("city", &address.city), ("region", &address.region)] {
        if let Some(value) = value {
            map.insert(name.to_owned(), s(value));
        }
    }
    AttributeValue::M(map)
}

fn address_from(read: &Fields<'_>) -> StoreResult<Option<PostalAddress>> {
    let map = match read.item.get("address") {
        None => return Ok(None),
        Some(AttributeValue::M(map)) => map,
        Some(_) => return Err(read.malformed("address")),
    };
    let text = |name: &str| match map.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
        Some(_) => Err(read.malformed("address")),
    };
    let lines = match map.get("lines") {
        None => Vec::new(),
        Some(AttributeValue::L(lines)) => lines
            .iter()
            .map(|line| match line {
                AttributeValue::S(text) => Ok(text.clone()),
                _ => Err(read.malformed("address")),
            })
            .collect::<StoreResult<_>>()?,
        Some(_) => return Err(read.malformed("address")),
    };
    Ok(Some(PostalAddress {
        lines,
        city: text("city")?,
        region: text("region")?,
    }))
}

fn ids_from(read: &Fields<'_>) -> StoreResult<BTreeMap<String, String>> {
    match read.item.get("external_ids") {
        None => Ok(BTreeMap::new()),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(system, id)| match id {
                AttributeValue::S(id) => Ok((system.clone(), id.clone())),
                _ => Err(read.malformed("external_ids")),
            })
            .collect(),
        Some(_) => Err(read.malformed("external_ids")),
    }
}

pub(crate) fn supporter_from(item: &Item) -> StoreResult<Supporter> {
    let read = Fields::new(item, "supporter");
    let status = read.text("status")?;
    Ok(Supporter {
        email: read.text("email")?.to_owned(),
        first_name: read.optional_text("first_name")?,
        last_name: read.optional_text("last_name")?,
        phone: read.optional_text("phone")?,
        postcode: read.optional_text("postcode")?,
        country: read.optional_text("country")?,
        interests: read.set("interests")?,
        skills: read.set("skills")?,
        availability: read.optional_text("availability")?,
        volunteer: read.flag("volunteer")?,
        status: EmailStatus::parse(status).ok_or_else(|| read.malformed("status"))?,
        recruiter: read.optional_text("recruiter")?,
        created_at: read.time("created_at")?,
        updated_at: read.time("updated_at")?,
        sms: read.flag("sms")?,
        expires_at: read.expiry()?,
        address: address_from(&read)?,
        other_phones: read.set("other_phones")?,
        tags: read.set("tags")?,
        external_ids: ids_from(&read)?,
    })
}

/// An audience's view of a supporter item, read from the attributes
/// [`MEMBER_ATTRIBUTES`] projects; `None` for a pending supporter whose
/// wait ended before `now` (the TTL deletes them some time after).
pub(crate) fn member_from(item: &Item, now: Timestamp) -> StoreResult<Option<Member>> {
    let read = Fields::new(item, "supporter");
    if read.expiry()?.is_some_and(|end| end <= now) {
        return Ok(None);
    }
    let status = read.text("status")?;
    Ok(Some(Member {
        email: read.text("email")?.to_owned(),
        status: EmailStatus::parse(status).ok_or_else(|| read.malformed("status"))?,
        interests: read.set("interests")?,
        tags: read.set("tags")?,
        created_at: read.time("created_at")?,
        postcode: read.optional_text("postcode")?,
        country: read.optional_text("country")?,
    }))
}

/// What [`member_from`] reads, and the expiry to leave out expired ones.
pub(crate) const MEMBER_ATTRIBUTES: [&str; 8] = [
    "email",
    "status",
    "interests",
    "tags",
    "created_at",
    "postcode",
    "country",
    EXPIRES_AT,
];

/// `CONSENT#<seconds>.<nanos>#<digest>`: in time order, and the same for
/// the same record, so a retried request overwrites rather than appends.
pub(crate) fn consent_sk(record: &ConsentRecord) -> StoreResult<String> {
    let canonical = serde_json::to_vec(record)
        .map_err(|_| StoreError("a consent record could not be serialised".into()))?;
    let digest = Sha256::digest(&canonical);
    let digest: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(format!(
        "{CONSENT_PREFIX}{:012}.{:09}#{digest}",
        record.at.as_second(),
        record.at.subsec_nanosecond()
    ))
}

/// A consent record's item; `expires_at` when it goes with an unconfirmed
/// supporter (deleted with them by the TTL unless they confirm).
pub(crate) fn consent_item(
    record: &ConsentRecord,
    expires_at: Option<Timestamp>,
) -> StoreResult<Item> {
    let mut item = key(supporter_pk(&record.email), consent_sk(record)?);
    if let Some(end) = expires_at {
        item.insert(EXPIRES_AT.to_owned(), n(end.as_second()));
    }
    item.extend([
        (KIND.to_owned(), s("consent")),
        ("email".to_owned(), s(&record.email)),
        ("action".to_owned(), s(serde_name(&record.action)?)),
        ("channel".to_owned(), s(serde_name(&record.channel)?)),
        ("form".to_owned(), s(&record.form)),
        ("page".to_owned(), s(&record.page)),
        ("text_hash".to_owned(), s(&record.text_hash)),
        ("build".to_owned(), s(&record.build)),
        ("at".to_owned(), time(record.at)),
    ]);
    Ok(item)
}

/// An enum's serde name (`given`, `email`...), as the domain spells it.
fn serde_name<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(StoreError(
            "a consent record could not be serialised".into(),
        )),
    }
}

pub(crate) fn consent_from(item: &Item) -> StoreResult<ConsentRecord> {
    let read = Fields::new(item, "consent record");
    Ok(ConsentRecord {
        email: read.text("email")?.to_owned(),
        action: read.serde_enum("action")?,
        channel: read.serde_enum("channel")?,
        form: read.text("form")?.to_owned(),
        page: read.text("page")?.to_owned(),
        text_hash: read.text("text_hash")?.to_owned(),
        build: read.text("build")?.to_owned(),
        at: read.time("at")?,
    })
}

pub(crate) fn rsvp_status(status: RsvpStatus) -> &'static str {
    match status {
        RsvpStatus::Confirmed => "confirmed",
        RsvpStatus::Waitlisted => "waitlisted",
        RsvpStatus::Cancelled => "cancelled",
    }
}

pub(crate) fn rsvp_item(rsvp: &Rsvp) -> Item {
    let mut item = key(event_pk(&rsvp.event), rsvp_sk(&rsvp.email));
    item.extend([
        (KIND.to_owned(), s("rsvp")),
        ("event".to_owned(), s(&rsvp.event)),
        ("email".to_owned(), s(&rsvp.email)),
        ("status".to_owned(), s(rsvp_status(rsvp.status))),
        ("position".to_owned(), n(rsvp.position)),
        ("at".to_owned(), time(rsvp.at)),
    ]);
    if rsvp.status == RsvpStatus::Waitlisted {
        item.insert(WAITLIST_POSITION.to_owned(), n(rsvp.position));
    }
    item
}

pub(crate) fn rsvp_from(item: &Item) -> StoreResult<Rsvp> {
    let read = Fields::new(item, "RSVP");
    let status = match read.text("status")? {
        "confirmed" => RsvpStatus::Confirmed,
        "waitlisted" => RsvpStatus::Waitlisted,
        "cancelled" => RsvpStatus::Cancelled,
        _ => return Err(read.malformed("status")),
    };
    Ok(Rsvp {
        event: read.text("event")?.to_owned(),
        email: read.text("email")?.to_owned(),
        status,
        position: read.number("position")?,
        at: read.time("at")?,
    })
}

/// Typed reads of one item's attributes.
pub(crate) struct Fields<'a> {
    item: &'a Item,
    kind: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(item: &'a Item, kind: &'static str) -> Fields<'a> {
        Fields { item, kind }
    }

    pub(crate) fn malformed(&self, attribute: &str) -> StoreError {
        StoreError(format!(
            "DynamoDB {} item has a missing or malformed `{attribute}`",
            self.kind
        ))
    }

    pub(crate) fn text(&self, attribute: &str) -> StoreResult<&'a str> {
        match self.item.get(attribute) {
            Some(AttributeValue::S(text)) => Ok(text),
            _ => Err(self.malformed(attribute)),
        }
    }

    pub(crate) fn optional_text(&self, attribute: &str) -> StoreResult<Option<String>> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
            Some(_) => Err(self.malformed(attribute)),
        }
    }

    fn set(&self, attribute: &str) -> StoreResult<BTreeSet<String>> {
        match self.item.get(attribute) {
            None => Ok(BTreeSet::new()),
            Some(AttributeValue::Ss(values)) => Ok(values.iter().cloned().collect()),
            Some(_) => Err(self.malformed(attribute)),
        }
    }

    pub(crate) fn flag(&self, attribute: &str) -> StoreResult<bool> {
        match self.item.get(attribute) {
            None => Ok(false),
            Some(AttributeValue::Bool(flag)) => Ok(*flag),
            Some(_) => Err(self.malformed(attribute)),
        }
    }

    /// A whole number; absent counts as zero (a counter never added to).
    pub(crate) fn number(&self, attribute: &str) -> StoreResult<u64> {
        match self.item.get(attribute) {
            None => Ok(0),
            Some(AttributeValue::N(number)) => {
                number.parse().map_err(|_| self.malformed(attribute))
            }
            Some(_) => Err(self.malformed(attribute)),
        }
    }

    /// The TTL attribute (epoch seconds), when there is one.
    pub(crate) fn expiry(&self) -> StoreResult<Option<Timestamp>> {
        match self.item.get(EXPIRES_AT) {
            None => Ok(None),
            Some(AttributeValue::N(number)) => number
                .parse::<i64>()
                .ok()
                .and_then(|second| Timestamp::from_second(second).ok())
                .map(Some)
                .ok_or_else(|| self.malformed(EXPIRES_AT)),
            Some(_) => Err(self.malformed(EXPIRES_AT)),
        }
    }

    fn time(&self, attribute: &str) -> StoreResult<Timestamp> {
        self.text(attribute)?
            .parse()
            .map_err(|_| self.malformed(attribute))
    }

    /// An enum stored as its serde name (`given`, `email`...).
    fn serde_enum<T: serde::de::DeserializeOwned>(&self, attribute: &str) -> StoreResult<T> {
        let text = self.text(attribute)?;
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|_| self.malformed(attribute))
    }
}
