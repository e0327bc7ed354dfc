//! Donors, gifts, donors' totals and receipt numbers ([`crate::gifts`]).
//! Every write runs on the writer thread, so checking a total and
//! counting a gift, or reading the last receipt number and taking the
//! next, happen with nothing in between.

use super::rows::{time, time_text};
use super::{Failure, Outcome};
use crate::gifts::{Gift, GiftStatus, Recorded};
use crate::store::{PAYMENT_EVENT_DAYS, Page};
use estrade_domain::donation::{Donor, Frequency};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS donors (
    key TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS donor_totals (
    period TEXT NOT NULL,
    donor TEXT NOT NULL,
    counted INTEGER NOT NULL,
    PRIMARY KEY (period, donor)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gifts (
    payment TEXT PRIMARY KEY,
    payment_intent TEXT,
    event TEXT NOT NULL,
    election TEXT NOT NULL,
    period TEXT NOT NULL,
    donor TEXT NOT NULL,
    amount INTEGER NOT NULL,
    refunded INTEGER NOT NULL,
    currency TEXT NOT NULL,
    frequency TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    receipt INTEGER,
    UNIQUE (election, receipt)
) STRICT;
CREATE INDEX IF NOT EXISTS gifts_by_payment_intent ON gifts (payment_intent)
    WHERE payment_intent IS NOT NULL;
CREATE TABLE IF NOT EXISTS receipts (
    election TEXT PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS forgotten (
    hash TEXT PRIMARY KEY,
    at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

pub(super) fn save_donor(tx: &Connection, donor: &Donor, at: Timestamp) -> Outcome<()> {
    let identity =
        serde_json::to_string(donor).map_err(|_| Failure::Data("a donor cannot be written"))?;
    tx.prepare_cached(
        "INSERT INTO donors (key, identity, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET identity = ?2, updated_at = ?3",
    )?
    .execute(params![donor.key(), identity, time_text(at)])?;
    Ok(())
}

pub(super) fn donor(tx: &Connection, key: &str) -> Outcome<Option<Donor>> {
    let identity: Option<String> = tx
        .prepare_cached("SELECT identity FROM donors WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    identity
        .map(|text| {
            serde_json::from_str(&text).map_err(|_| Failure::Data("a stored donor is unreadable"))
        })
        .transpose()
}

pub(super) fn total(tx: &Connection, period: &str, donor: &str) -> Outcome<i64> {
    Ok(tx
        .prepare_cached("SELECT counted FROM donor_totals WHERE period = ?1 AND donor = ?2")?
        .query_row([period, donor], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

fn add_to_total(tx: &Connection, period: &str, donor: &str, cents: i64) -> Outcome<()> {
    tx.prepare_cached(
        "INSERT INTO donor_totals (period, donor, counted) VALUES (?1, ?2, ?3) \
         ON CONFLICT (period, donor) DO UPDATE SET counted = counted + ?3",
    )?
    .execute(params![period, donor, cents])?;
    Ok(())
}

const COLUMNS: &str = "payment, payment_intent, event, election, period, donor, amount, \
     refunded, currency, frequency, at, status, receipt";

fn gift_of(row: &Row) -> rusqlite::Result<Outcome<Gift>> {
    let frequency: String = row.get(9)?;
    let at: String = row.get(10)?;
    let status: String = row.get(11)?;
    let receipt: Option<i64> = row.get(12)?;
    let (payment, payment_intent, event, election, period, donor) = (
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    );
    let (amount, refunded, currency) = (row.get(6)?, row.get(7)?, row.get(8)?);
    Ok((|| {
        Ok(Gift {
            payment,
            payment_intent,
            event,
            election,
            period,
            donor,
            amount,
            refunded,
            currency,
            frequency: Frequency::parse(&frequency)
                .ok_or(Failure::Data("a stored frequency is unknown"))?,
            at: time(&at)?,
            status: GiftStatus::parse(&status)
                .ok_or(Failure::Data("a stored gift status is unknown"))?,
            receipt: receipt.map(|n| u64::try_from(n).unwrap_or(0)),
        })
    })())
}

fn gift_where(tx: &Connection, column: &str, value: &str) -> Outcome<Option<Gift>> {
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM gifts WHERE {column} = ?1 LIMIT 1"
    ))?
    .query_row([value], gift_of)
    .optional()?
    .transpose()
}

fn save_gift(tx: &Connection, gift: &Gift) -> Outcome<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO gifts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (payment) DO UPDATE SET refunded = ?8, status = ?12"
    ))?
    .execute(params![
        gift.payment,
        gift.payment_intent,
        gift.event,
        gift.election,
        gift.period,
        gift.donor,
        gift.amount,
        gift.refunded,
        gift.currency,
        gift.frequency.as_str(),
        time_text(gift.at),
        gift.status.as_str(),
        gift.receipt
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
    ])?;
    Ok(())
}

pub(super) fn record(tx: &Connection, gift: Gift, cap: i64) -> Outcome<(Recorded, Gift)> {
    if let Some(known) = gift_where(tx, "payment", &gift.payment)? {
        return Ok((Recorded::Known, known));
    }
    let fits = gift.amount <= cap && total(tx, &gift.period, &gift.donor)? + gift.amount <= cap;
    let gift = if fits {
        let receipt: i64 = tx
            .prepare_cached(
                "INSERT INTO receipts (election, last) VALUES (?1, 1) \
                 ON CONFLICT (election) DO UPDATE SET last = last + 1 RETURNING last",
            )?
            .query_row([&gift.election], |row| row.get(0))?;
        add_to_total(tx, &gift.period, &gift.donor, gift.amount)?;
        Gift {
            status: GiftStatus::Counted,
            refunded: 0,
            receipt: u64::try_from(receipt).ok(),
            ..gift
        }
    } else {
        Gift {
            status: GiftStatus::OverCap,
            refunded: 0,
            receipt: None,
            ..gift
        }
    };
    save_gift(tx, &gift)?;
    let recorded = if fits {
        Recorded::Counted
    } else {
        Recorded::OverCap
    };
    Ok((recorded, gift))
}

pub(super) fn refund(
    tx: &Connection,
    payment_intent: &str,
    amount_refunded: i64,
) -> Outcome<Option<Gift>> {
    let Some(before) = gift_where(tx, "payment_intent", payment_intent)? else {
        return Ok(None);
    };
    let after = before.after_refund(amount_refunded);
    if after != before {
        add_to_total(
            tx,
            &after.period,
            &after.donor,
            after.counted() - before.counted(),
        )?;
        save_gift(tx, &after)?;
    }
    Ok(Some(after))
}

pub(super) fn walk(tx: &Connection, after: Option<&str>, limit: usize) -> Outcome<Page<Gift>> {
    let mut statement = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM gifts WHERE payment > ?1 ORDER BY payment LIMIT ?2"
    ))?;
    let rows = statement.query_map(
        params![
            after.unwrap_or(""),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        gift_of,
    )?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row??);
    }
    let next = (items.len() == limit)
        .then(|| items.last().map(|g| g.payment.clone()))
        .flatten();
    Ok(Page { items, next })
}

pub(super) fn event_seen(tx: &Connection, id: &str) -> Outcome<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM payment_events WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Notes event `id`, and forgets those older than the days kept.
pub(super) fn note_event(tx: &Connection, id: &str, at: Timestamp) -> Outcome<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO payment_events (id, at) VALUES (?1, ?2)")?
        .execute(params![id, at.as_second()])?;
    let kept_from = at.as_second() - PAYMENT_EVENT_DAYS * 86_400;
    tx.prepare_cached("DELETE FROM payment_events WHERE at < ?1")?
        .execute([kept_from])?;
    Ok(())
}
