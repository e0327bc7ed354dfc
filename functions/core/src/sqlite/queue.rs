//! The send queue's rows: one per [`Outgoing`], `due_at` and `lease_until`
//! in Unix milliseconds so that "due" is a comparison of integers.

use super::broadcasts::NOT_PAUSED;
use super::rows::{time, time_text};
use super::{Failure, Outcome};
use crate::queue::{Outgoing, SendState, Settle, Source};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outgoing (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    template TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    token TEXT,
    lease_until INTEGER,
    attempts INTEGER NOT NULL,
    message_id TEXT,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outgoing_due ON outgoing (due_at)
    WHERE state IN ('queued', 'claimed');
CREATE INDEX IF NOT EXISTS outgoing_sending ON outgoing (lease_until)
    WHERE state = 'sending';
";

const COLUMNS: &str =
    "id, email, template, due_at, source, state, attempts, message_id, updated_at";

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutgoingRow> {
    Ok(OutgoingRow {
        id: row.get(0)?,
        email: row.get(1)?,
        template: row.get(2)?,
        due_at: row.get(3)?,
        source: row.get(4)?,
        state: row.get(5)?,
        attempts: row.get(6)?,
        message_id: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

struct OutgoingRow {
    id: String,
    email: String,
    template: String,
    due_at: i64,
    source: String,
    state: String,
    attempts: i64,
    message_id: Option<String>,
    updated_at: String,
}

impl OutgoingRow {
    fn outgoing(self) -> Outcome<Outgoing> {
        Ok(Outgoing {
            due_at: Timestamp::from_millisecond(self.due_at)
                .map_err(|_| Failure::Data("a stored due time is out of range"))?,
            source: serde_json::from_str::<Source>(&self.source)
                .map_err(|_| Failure::Data("a stored queue source is unreadable"))?,
            state: SendState::parse(&self.state).ok_or(Failure::Data(
                "a stored queue state is unknown to this estrade",
            ))?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| Failure::Data("a stored attempt count is out of range"))?,
            updated_at: time(&self.updated_at)?,
            id: self.id,
            email: self.email,
            template: self.template,
            message_id: self.message_id,
        })
    }
}

fn collect(rows: Vec<OutgoingRow>) -> Outcome<Vec<Outgoing>> {
    rows.into_iter().map(OutgoingRow::outgoing).collect()
}

pub(super) fn enqueue(tx: &Connection, items: &[Outgoing]) -> Outcome<usize> {
    let mut insert = tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO outgoing ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    let mut added = 0;
    for item in items {
        let source = serde_json::to_string(&item.source)
            .map_err(|_| Failure::Data("a queue source cannot be written"))?;
        added += insert.execute(params![
            item.id,
            item.email,
            item.template,
            millis(item.due_at),
            source,
            item.state.as_str(),
            item.attempts,
            item.message_id,
            time_text(item.updated_at),
        ])?;
    }
    Ok(added)
}

pub(super) fn claim_due(
    tx: &Connection,
    now: Timestamp,
    until: Timestamp,
    token: &str,
    limit: usize,
) -> Outcome<Vec<Outgoing>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outgoing \
             WHERE state IN ('queued', 'claimed') AND due_at <= ?1 \
             AND (state = 'queued' OR lease_until <= ?1) \
             AND {NOT_PAUSED} \
             ORDER BY due_at, id LIMIT ?2"
        ))?
        .query_map(params![millis(now), limit], read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut claim = tx.prepare_cached(
        "UPDATE outgoing SET state = 'claimed', token = ?2, lease_until = ?3, updated_at = ?4 \
         WHERE id = ?1",
    )?;
    let mut claimed = collect(rows)?;
    for item in &mut claimed {
        claim.execute(params![item.id, token, millis(until), time_text(now)])?;
        item.state = SendState::Claimed;
        item.updated_at = now;
    }
    Ok(claimed)
}

pub(super) fn settle(tx: &Connection, settle: &Settle) -> Outcome<bool> {
    // An attempt is the mailer's answer: an item handed back before the
    // mailer had it (claimed, then queued) was not tried.
    let tried = settle.to == SendState::Sent
        || (settle.to == SendState::Queued && settle.from == SendState::Sending);
    let changed = tx
        .prepare_cached(
            "UPDATE outgoing SET state = ?4, updated_at = ?5, \
             message_id = COALESCE(?6, message_id), \
             due_at = COALESCE(?7, due_at), \
             attempts = attempts + ?8, \
             token = CASE WHEN ?4 IN ('claimed', 'sending') THEN token END, \
             lease_until = CASE WHEN ?4 IN ('claimed', 'sending') THEN lease_until END \
             WHERE id = ?1 AND token = ?2 AND state = ?3",
        )?
        .execute(params![
            settle.id,
            settle.token,
            settle.from.as_str(),
            settle.to.as_str(),
            time_text(settle.at),
            settle.message_id,
            settle.due_at.map(millis),
            i64::from(tried),
        ])?;
    Ok(changed == 1)
}

pub(super) fn stalled(tx: &Connection, now: Timestamp) -> Outcome<Vec<Outgoing>> {
    let rows = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outgoing WHERE state = 'sending' AND lease_until <= ?1 \
             ORDER BY due_at, id"
        ))?
        .query_map([millis(now)], read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut mark = tx.prepare_cached(
        "UPDATE outgoing SET state = 'unknown', token = NULL, lease_until = NULL, \
         updated_at = ?2 WHERE id = ?1",
    )?;
    let mut stalled = collect(rows)?;
    for item in &mut stalled {
        mark.execute(params![item.id, time_text(now)])?;
        item.state = SendState::Unknown;
        item.updated_at = now;
    }
    Ok(stalled)
}

pub(super) fn addressed_to(tx: &Connection, email: &str) -> Outcome<Vec<Outgoing>> {
    let rows = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outgoing WHERE email = ?1 ORDER BY due_at, id"
        ))?
        .query_map([email], read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    collect(rows)
}

pub(super) fn load(tx: &Connection, id: &str) -> Outcome<Option<Outgoing>> {
    let row = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outgoing WHERE id = ?1"))?
        .query_row([id], read)
        .optional()?;
    row.map(OutgoingRow::outgoing).transpose()
}
