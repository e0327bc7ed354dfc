//! Walks through every supporter and registration, a page at a time, for
//! audiences. Pages follow the primary keys (keyset pagination): each one
//! is an index range read, however far the walk has gone.

use super::rows::{from_name, time};
use super::{Failure, Outcome};
use crate::store::{Member, Page, Seat};
use estrade_domain::supporter::EmailStatus;
use jiff::Timestamp;
use rusqlite::{Connection, params};
use std::collections::BTreeSet;

/// Splits the two keys of a seat's cursor; nothing a normalised address
/// or an event id holds.
const SEPARATOR: char = '\u{1f}';

/// The `limit` supporters after the address `after`, by address, leaving
/// out pending ones whose wait ended before `now` (the purge's business).
pub(super) fn members(
    tx: &Connection,
    after: Option<&str>,
    limit: usize,
    now: Timestamp,
) -> Outcome<Page<Member>> {
    let mut statement = tx.prepare_cached(
        "SELECT email, status, interests, created_at, postcode, country, tags FROM supporters \
         WHERE email > ?1 AND (expires_at IS NULL OR expires_at > ?2) \
         ORDER BY email LIMIT ?3",
    )?;
    let mut rows = statement.query(params![
        after.unwrap_or(""),
        now.as_second(),
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    let mut items = Vec::with_capacity(limit.min(10_000));
    while let Some(row) = rows.next()? {
        let status = text(row, 1)?;
        let interests = text(row, 2)?;
        let created_at = text(row, 3)?;
        items.push(Member {
            email: row.get(0)?,
            status: EmailStatus::parse(status)
                .ok_or(Failure::Data("a stored status is unknown to this estrade"))?,
            interests: set_from(interests)?,
            tags: set_from(text(row, 6)?)?,
            created_at: time(created_at)?,
            postcode: row.get(4)?,
            country: row.get(5)?,
        });
    }
    let next = (items.len() == limit)
        .then(|| items.last().map(|m| m.email.clone()))
        .flatten();
    Ok(Page { items, next })
}

/// A text column read in place, without a copy.
fn text<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> Outcome<&'r str> {
    row.get_ref(column)?
        .as_str()
        .map_err(|_| Failure::Data("a stored text column holds something else"))
}

/// A stored JSON array of interests or tags. The empty array, by far the
/// most common value after a handful of interests, costs no parse.
fn set_from(text: &str) -> Outcome<BTreeSet<String>> {
    if text == "[]" {
        return Ok(BTreeSet::new());
    }
    serde_json::from_str(text).map_err(|_| Failure::Data("a stored set is not a JSON array"))
}

/// The `limit` registrations after the cursor `after`, by event then
/// address.
pub(super) fn seats(tx: &Connection, after: Option<&str>, limit: usize) -> Outcome<Page<Seat>> {
    let (event, email) = after
        .and_then(|cursor| cursor.split_once(SEPARATOR))
        .unwrap_or(("", ""));
    let mut statement = tx.prepare_cached(
        "SELECT event, email, status FROM rsvps WHERE (event, email) > (?1, ?2) \
         ORDER BY event, email LIMIT ?3",
    )?;
    let mut rows = statement.query(params![
        event,
        email,
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(Seat {
            event: row.get(0)?,
            email: row.get(1)?,
            status: from_name(row.get(2)?)?,
        });
    }
    let next = (items.len() == limit)
        .then(|| {
            items
                .last()
                .map(|s| format!("{}{SEPARATOR}{}", s.event, s.email))
        })
        .flatten();
    Ok(Page { items, next })
}
