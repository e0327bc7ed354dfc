//! Importing people ([`estrade_domain::import`]): each batch merged in one
//! operation of the writer, so that no signup slips in between the read
//! and the write of a person.

use super::rows::{append_consent, delete_supporter, load_supporter, save_supporter};
use super::{Outcome, erase};
use estrade_domain::import::{Absorbed, ImportRun, Person, absorb};
use rusqlite::Connection;

pub(super) fn import(
    tx: &Connection,
    people: &[Person],
    run: &ImportRun,
    write: bool,
) -> Outcome<Vec<Absorbed>> {
    let mut done = Vec::with_capacity(people.len());
    for person in people {
        if let Some(at) = erase::forgotten(tx, &person.email)? {
            done.push(Absorbed::forgotten(at));
            continue;
        }
        let stored = match load_supporter(tx, &person.email)? {
            Some(expired) if expired.expired(run.at) => {
                if write {
                    delete_supporter(tx, &person.email)?;
                }
                None
            }
            stored => stored,
        };
        let absorbed = absorb(stored, person, run);
        if write {
            if let Some(supporter) = &absorbed.supporter {
                save_supporter(tx, supporter)?;
            }
            for record in &absorbed.consents {
                append_consent(tx, &person.email, record)?;
            }
        }
        done.push(absorbed);
    }
    Ok(done)
}
