//! Broadcasts' control records ([`crate::broadcasts`]) and the message
//! ids whose complaint was counted.

use super::Outcome;
use super::rows::{time, time_text};
use crate::broadcasts::BroadcastControl;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS broadcasts (
    name TEXT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    changed_at TEXT,
    sent INTEGER NOT NULL DEFAULT 0,
    complained INTEGER NOT NULL DEFAULT 0,
    sent_at_resume INTEGER NOT NULL DEFAULT 0,
    complained_at_resume INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE IF NOT EXISTS broadcast_complaints (
    broadcast TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (broadcast, message_id)
) STRICT, WITHOUT ROWID;
";

/// For the queue's claim: an item whose broadcast is paused is not due.
pub(super) const NOT_PAUSED: &str = "NOT EXISTS (SELECT 1 FROM broadcasts \
     WHERE broadcasts.paused = 1 \
     AND broadcasts.name = json_extract(outgoing.source, '$.broadcast'))";

const COLUMNS: &str = "name, paused, reason, changed_at, sent, complained, \
     sent_at_resume, complained_at_resume";

pub(super) fn load(tx: &Connection, name: &str) -> Outcome<Option<BroadcastControl>> {
    let row = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM broadcasts WHERE name = ?1"))?
        .query_row([name], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                [
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, i64>(7)?,
                ],
            ))
        })
        .optional()?;
    let Some((name, paused, reason, changed_at, counts)) = row else {
        return Ok(None);
    };
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Some(BroadcastControl {
        name,
        paused,
        reason,
        changed_at: changed_at.as_deref().map(time).transpose()?,
        sent: count(counts[0]),
        complained: count(counts[1]),
        sent_at_resume: count(counts[2]),
        complained_at_resume: count(counts[3]),
    }))
}

/// The record of `name`, made if there was none.
fn ensure(tx: &Connection, name: &str) -> Outcome<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO broadcasts (name) VALUES (?1)")?
        .execute([name])?;
    Ok(())
}

fn reload(tx: &Connection, name: &str) -> Outcome<BroadcastControl> {
    Ok(load(tx, name)?.unwrap_or_else(|| BroadcastControl::new(name)))
}

pub(super) fn set_paused(
    tx: &Connection,
    name: &str,
    reason: Option<&str>,
    at: Timestamp,
) -> Outcome<BroadcastControl> {
    ensure(tx, name)?;
    let sql = if reason.is_some() {
        "UPDATE broadcasts SET paused = 1, reason = ?2, changed_at = ?3 WHERE name = ?1"
    } else {
        "UPDATE broadcasts SET paused = 0, reason = ?2, changed_at = ?3, \
         sent_at_resume = sent, complained_at_resume = complained WHERE name = ?1"
    };
    tx.prepare_cached(sql)?
        .execute(params![name, reason, time_text(at)])?;
    reload(tx, name)
}

pub(super) fn count_sent(tx: &Connection, name: &str) -> Outcome<BroadcastControl> {
    ensure(tx, name)?;
    tx.prepare_cached("UPDATE broadcasts SET sent = sent + 1 WHERE name = ?1")?
        .execute([name])?;
    reload(tx, name)
}

pub(super) fn count_complaint(
    tx: &Connection,
    name: &str,
    message_id: &str,
    at: Timestamp,
) -> Outcome<Option<BroadcastControl>> {
    let new = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO broadcast_complaints (broadcast, message_id, at) \
             VALUES (?1, ?2, ?3)",
        )?
        .execute(params![name, message_id, time_text(at)])?;
    if new == 0 {
        return Ok(None);
    }
    ensure(tx, name)?;
    tx.prepare_cached("UPDATE broadcasts SET complained = complained + 1 WHERE name = ?1")?
        .execute([name])?;
    reload(tx, name).map(Some)
}
