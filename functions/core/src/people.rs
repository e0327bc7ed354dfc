//! Erasure on request (GDPR article 17): a person's supporter record,
//! consent history, registrations and queued emails go; a salted hash of
//! their address stays on a suppression list, so that an import of an old
//! file cannot bring them back, and says when it happened. Gifts and the
//! identity given with them stay: the law requires the campaign's
//! accounts to keep them.

use crate::store::{Store, StoreResult};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Whether there was a supporter record.
    pub supporter: bool,
    pub consents: usize,
    pub rsvps: usize,
    /// Emails queued for them (broadcasts, automation steps), sent or not.
    pub queued: usize,
}

/// Erases `email`. Their seats first go to the next in line, as a
/// cancellation would (under the `capacities` of the build's events; an
/// event the build no longer has is taken as without one), then the
/// store removes everything held under the address and keeps its salted
/// hash ([`Store::erase_supporter`]).
pub async fn forget<S: Store>(
    store: &S,
    email: &str,
    capacities: &BTreeMap<String, Option<u32>>,
    at: Timestamp,
) -> StoreResult<Erased> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = store.seats(after, 1_000).await?;
        events.extend(
            page.items
                .into_iter()
                .filter(|seat| seat.email == email)
                .map(|seat| seat.event),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for event in events {
        let capacity = capacities.get(&event).copied().flatten();
        store.cancel_rsvp(&event, email, capacity, at).await?;
    }
    store.erase_supporter(email, at).await
}

/// The suppression list's entry for `email` under the store's `salt`.
pub fn forgotten_hash(salt: &str, email: &str) -> String {
    Sha256::digest(format!("{salt}\n{email}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new salt: 16 random bytes, in hex.
pub fn new_salt() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "no randomness for the salt".to_owned())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
