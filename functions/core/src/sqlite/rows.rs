//! Rows of supporters and consents, and the text forms of the values
//! stored in them.

use super::{Failure, Outcome};
use estrade_domain::supporter::{ConsentRecord, Supporter};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;

pub(super) fn time_text(at: Timestamp) -> String {
    at.to_string()
}

pub(super) fn time(text: &str) -> Outcome<Timestamp> {
    text.parse()
        .map_err(|_| Failure::Data("a stored timestamp is not RFC 3339"))
}

/// The serde name of a unit variant: `EmailStatus::Pending` is `pending`.
pub(super) fn name_of<T: Serialize>(value: T) -> Outcome<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(Failure::Data("a status has no name")),
    }
}

pub(super) fn from_name<T: DeserializeOwned>(name: String) -> Outcome<T> {
    serde_json::from_value(serde_json::Value::String(name))
        .map_err(|_| Failure::Data("a stored status is unknown to this estrade"))
}

fn set_text(items: &BTreeSet<String>) -> Outcome<String> {
    serde_json::to_string(items).map_err(|_| Failure::Data("a set cannot be written"))
}

fn set_from(text: &str) -> Outcome<BTreeSet<String>> {
    serde_json::from_str(text).map_err(|_| Failure::Data("a stored set is not a JSON array"))
}

fn json_text<T: Serialize>(value: &T) -> Outcome<String> {
    serde_json::to_string(value).map_err(|_| Failure::Data("a value cannot be written"))
}

fn json_from<T: DeserializeOwned>(text: &str) -> Outcome<T> {
    serde_json::from_str(text).map_err(|_| Failure::Data("a stored value is not the JSON expected"))
}

const SUPPORTER_COLUMNS: &str = "email, first_name, last_name, phone, postcode, country, \
     interests, skills, availability, volunteer, status, recruiter, created_at, updated_at, sms, \
     expires_at, address, other_phones, tags, external_ids";

/// A `supporters` row as stored, before its text is parsed.
struct SupporterRow {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    postcode: Option<String>,
    country: Option<String>,
    interests: String,
    skills: String,
    availability: Option<String>,
    volunteer: bool,
    status: String,
    recruiter: Option<String>,
    created_at: String,
    updated_at: String,
    sms: bool,
    expires_at: Option<i64>,
    address: Option<String>,
    other_phones: String,
    tags: String,
    external_ids: String,
}

impl SupporterRow {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<SupporterRow> {
        Ok(SupporterRow {
            email: row.get(0)?,
            first_name: row.get(1)?,
            last_name: row.get(2)?,
            phone: row.get(3)?,
            postcode: row.get(4)?,
            country: row.get(5)?,
            interests: row.get(6)?,
            skills: row.get(7)?,
            availability: row.get(8)?,
            volunteer: row.get(9)?,
            status: row.get(10)?,
            recruiter: row.get(11)?,
            created_at: row.get(12)?,
            updated_at: row.get(13)?,
            sms: row.get(14)?,
            expires_at: row.get(15)?,
            address: row.get(16)?,
            other_phones: row.get(17)?,
            tags: row.get(18)?,
            external_ids: row.get(19)?,
        })
    }

    fn supporter(self) -> Outcome<Supporter> {
        Ok(Supporter {
            interests: set_from(&self.interests)?,
            skills: set_from(&self.skills)?,
            status: from_name(self.status)?,
            created_at: time(&self.created_at)?,
            updated_at: time(&self.updated_at)?,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            postcode: self.postcode,
            country: self.country,
            availability: self.availability,
            volunteer: self.volunteer,
            sms: self.sms,
            expires_at: self
                .expires_at
                .map(Timestamp::from_second)
                .transpose()
                .map_err(|_| Failure::Data("a stored expiry is out of range"))?,
            recruiter: self.recruiter,
            address: self.address.as_deref().map(json_from).transpose()?,
            other_phones: set_from(&self.other_phones)?,
            tags: set_from(&self.tags)?,
            external_ids: json_from(&self.external_ids)?,
        })
    }
}

pub(super) fn load_supporter(tx: &Connection, email: &str) -> Outcome<Option<Supporter>> {
    let sql = format!("SELECT {SUPPORTER_COLUMNS} FROM supporters WHERE email = ?1");
    let row = tx
        .prepare_cached(&sql)?
        .query_row([email], SupporterRow::read)
        .optional()?;
    row.map(SupporterRow::supporter).transpose()
}

pub(super) fn save_supporter(tx: &Connection, supporter: &Supporter) -> Outcome<()> {
    let sql = format!(
        "REPLACE INTO supporters ({SUPPORTER_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    );
    tx.prepare_cached(&sql)?.execute(params![
        supporter.email,
        supporter.first_name,
        supporter.last_name,
        supporter.phone,
        supporter.postcode,
        supporter.country,
        set_text(&supporter.interests)?,
        set_text(&supporter.skills)?,
        supporter.availability,
        supporter.volunteer,
        name_of(supporter.status)?,
        supporter.recruiter,
        time_text(supporter.created_at),
        time_text(supporter.updated_at),
        supporter.sms,
        supporter.expires_at.map(Timestamp::as_second),
        supporter.address.as_ref().map(json_text).transpose()?,
        set_text(&supporter.other_phones)?,
        set_text(&supporter.tags)?,
        json_text(&supporter.external_ids)?,
    ])?;
    Ok(())
}

/// Removes a supporter and their consent history.
pub(super) fn delete_supporter(tx: &Connection, email: &str) -> Outcome<()> {
    tx.prepare_cached("DELETE FROM consents WHERE supporter = ?1")?
        .execute([email])?;
    tx.prepare_cached("DELETE FROM supporters WHERE email = ?1")?
        .execute([email])?;
    Ok(())
}

/// Removes every supporter still pending at the end of their wait, with
/// their consent history; how many.
pub(super) fn purge_expired(tx: &Connection, at: Timestamp) -> Outcome<usize> {
    tx.prepare_cached(
        "DELETE FROM consents WHERE supporter IN \
         (SELECT email FROM supporters WHERE expires_at <= ?1)",
    )?
    .execute([at.as_second()])?;
    let purged = tx
        .prepare_cached("DELETE FROM supporters WHERE expires_at <= ?1")?
        .execute([at.as_second()])?;
    Ok(purged)
}

/// Appends `record` to the history of `supporter`, unless the very same
/// record is already there.
pub(super) fn append_consent(
    tx: &Connection,
    supporter: &str,
    record: &ConsentRecord,
) -> Outcome<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO consents \
         (supporter, email, action, channel, form, page, text_hash, build, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        supporter,
        record.email,
        name_of(record.action)?,
        name_of(record.channel)?,
        record.form,
        record.page,
        record.text_hash,
        record.build,
        time_text(record.at),
    ])?;
    Ok(())
}

pub(super) fn load_consents(tx: &Connection, supporter: &str) -> Outcome<Vec<ConsentRecord>> {
    let mut statement = tx.prepare_cached(
        "SELECT email, action, channel, form, page, text_hash, build, at \
         FROM consents WHERE supporter = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([supporter], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, String>(6)?,
            row.get::<_, String>(7)?,
        ))
    })?;
    let mut history = Vec::new();
    for row in rows {
        let (email, action, channel, form, page, text_hash, build, at) = row?;
        history.push(ConsentRecord {
            email,
            action: from_name(action)?,
            channel: from_name(channel)?,
            form,
            page,
            text_hash,
            build,
            at: time(&at)?,
        });
    }
    Ok(history)
}
