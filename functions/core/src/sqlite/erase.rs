//! Erasure ([`crate::people`]): everything under an address removed in
//! one transaction, its salted hash kept.

use super::rows::{time, time_text};
use super::{Failure, Outcome};
use crate::people::{Erased, forgotten_hash, new_salt};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// The store's salt, made on first use.
fn salt(tx: &Connection) -> Outcome<String> {
    let known: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = 'salt'")?
        .query_row([], |row| row.get(0))
        .optional()?;
    if let Some(salt) = known {
        return Ok(salt);
    }
    let salt = new_salt().map_err(|_| Failure::Data("no randomness for the salt"))?;
    tx.prepare_cached("INSERT INTO meta (key, value) VALUES ('salt', ?1)")?
        .execute([&salt])?;
    Ok(salt)
}

pub(super) fn erase(tx: &Connection, email: &str, at: Timestamp) -> Outcome<Erased> {
    let count = |sql: &str| -> Outcome<usize> { Ok(tx.prepare_cached(sql)?.execute([email])?) };
    let consents = count("DELETE FROM consents WHERE supporter = ?1")?;
    let supporter = count("DELETE FROM supporters WHERE email = ?1")? > 0;
    let rsvps = count("DELETE FROM rsvps WHERE email = ?1")?;
    let queued = count("DELETE FROM outgoing WHERE email = ?1")?;
    let hash = forgotten_hash(&salt(tx)?, email);
    tx.prepare_cached("INSERT OR IGNORE INTO forgotten (hash, at) VALUES (?1, ?2)")?
        .execute(params![hash, time_text(at)])?;
    Ok(Erased {
        supporter,
        consents,
        rsvps,
        queued,
    })
}

pub(super) fn forgotten(tx: &Connection, email: &str) -> Outcome<Option<Timestamp>> {
    let hash = forgotten_hash(&salt(tx)?, email);
    let at: Option<String> = tx
        .prepare_cached("SELECT at FROM forgotten WHERE hash = ?1")?
        .query_row([hash], |row| row.get(0))
        .optional()?;
    at.as_deref().map(time).transpose()
}
