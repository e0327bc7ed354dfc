//! Registrations to events: seats, waitlist, promotion.

use super::rows::{from_name, name_of, time, time_text};
use super::{Failure, Outcome};
use estrade_domain::supporter::{Rsvp, RsvpStatus};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// An `rsvps` row as stored: event, email, status, position, at.
type RsvpRow = (String, String, String, i64, String);

fn rsvp_from(row: RsvpRow) -> Outcome<Rsvp> {
    let (event, email, status, position, at) = row;
    Ok(Rsvp {
        event,
        email,
        status: from_name(status)?,
        position: u64::try_from(position).map_err(|_| Failure::Data("a negative position"))?,
        at: time(&at)?,
    })
}

fn rsvp_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<RsvpRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn load_rsvp(tx: &Connection, event: &str, email: &str) -> Outcome<Option<Rsvp>> {
    let row = tx
        .query_row(
            "SELECT event, email, status, position, at FROM rsvps \
             WHERE event = ?1 AND email = ?2",
            [event, email],
            rsvp_columns,
        )
        .optional()?;
    row.map(rsvp_from).transpose()
}

/// Writes `rsvp` over the row of its event and email.
fn save_rsvp(tx: &Connection, rsvp: &Rsvp) -> Outcome<()> {
    let position =
        i64::try_from(rsvp.position).map_err(|_| Failure::Data("a position out of range"))?;
    tx.prepare_cached(
        "REPLACE INTO rsvps (event, email, status, position, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        rsvp.event,
        rsvp.email,
        name_of(rsvp.status)?,
        position,
        time_text(rsvp.at)
    ])?;
    Ok(())
}

pub(super) fn register(
    tx: &Connection,
    event: &str,
    email: &str,
    capacity: Option<u32>,
    at: Timestamp,
) -> Outcome<Rsvp> {
    if let Some(existing) = load_rsvp(tx, event, email)?
        && existing.status != RsvpStatus::Cancelled
    {
        return Ok(existing);
    }
    let last: i64 = tx.query_row(
        "SELECT COALESCE(MAX(position), 0) FROM rsvps WHERE event = ?1",
        [event],
        |row| row.get(0),
    )?;
    let confirmed: i64 = tx.query_row(
        "SELECT COUNT(*) FROM rsvps WHERE event = ?1 AND status = ?2",
        params![event, name_of(RsvpStatus::Confirmed)?],
        |row| row.get(0),
    )?;
    let status = match capacity {
        Some(seats) if confirmed >= i64::from(seats) => RsvpStatus::Waitlisted,
        _ => RsvpStatus::Confirmed,
    };
    let rsvp = Rsvp {
        event: event.to_owned(),
        email: email.to_owned(),
        status,
        position: u64::try_from(last + 1).map_err(|_| Failure::Data("a negative position"))?,
        at,
    };
    save_rsvp(tx, &rsvp)?;
    Ok(rsvp)
}

pub(super) fn cancel(
    tx: &Connection,
    event: &str,
    email: &str,
    capacity: Option<u32>,
    at: Timestamp,
) -> Outcome<(Option<Rsvp>, Option<Rsvp>)> {
    let existing = match load_rsvp(tx, event, email)? {
        Some(rsvp) if rsvp.status != RsvpStatus::Cancelled => rsvp,
        _ => return Ok((None, None)),
    };
    let held_a_seat = existing.status == RsvpStatus::Confirmed;
    let cancelled = Rsvp {
        status: RsvpStatus::Cancelled,
        at,
        ..existing
    };
    save_rsvp(tx, &cancelled)?;
    if !held_a_seat || !seat_free(tx, event, capacity)? {
        return Ok((Some(cancelled), None));
    }
    let promoted = promote_first(tx, event, at)?;
    Ok((Some(cancelled), promoted))
}

/// Whether fewer than `capacity` registrations hold a seat.
fn seat_free(tx: &Connection, event: &str, capacity: Option<u32>) -> Outcome<bool> {
    let Some(seats) = capacity else {
        return Ok(true);
    };
    let confirmed: i64 = tx.query_row(
        "SELECT COUNT(*) FROM rsvps WHERE event = ?1 AND status = ?2",
        params![event, name_of(RsvpStatus::Confirmed)?],
        |row| row.get(0),
    )?;
    Ok(confirmed < i64::from(seats))
}

/// Seats the first in line, if anyone waits.
fn promote_first(tx: &Connection, event: &str, at: Timestamp) -> Outcome<Option<Rsvp>> {
    let next = tx
        .query_row(
            "SELECT event, email, status, position, at FROM rsvps \
             WHERE event = ?1 AND status = ?2 ORDER BY position LIMIT 1",
            params![event, name_of(RsvpStatus::Waitlisted)?],
            rsvp_columns,
        )
        .optional()?;
    let Some(next) = next.map(rsvp_from).transpose()? else {
        return Ok(None);
    };
    let promoted = Rsvp {
        status: RsvpStatus::Confirmed,
        at,
        ..next
    };
    save_rsvp(tx, &promoted)?;
    Ok(Some(promoted))
}

pub(super) fn promote(
    tx: &Connection,
    event: &str,
    capacity: Option<u32>,
    at: Timestamp,
) -> Outcome<Vec<Rsvp>> {
    let mut promoted = Vec::new();
    while seat_free(tx, event, capacity)? {
        match promote_first(tx, event, at)? {
            Some(rsvp) => promoted.push(rsvp),
            None => break,
        }
    }
    Ok(promoted)
}

pub(super) fn load_rsvps(tx: &Connection, event: &str) -> Outcome<Vec<Rsvp>> {
    let mut statement = tx.prepare_cached(
        "SELECT event, email, status, position, at FROM rsvps \
         WHERE event = ?1 ORDER BY position",
    )?;
    let rows = statement.query_map([event], rsvp_columns)?;
    let mut listing = Vec::new();
    for row in rows {
        listing.push(rsvp_from(row?)?);
    }
    Ok(listing)
}
