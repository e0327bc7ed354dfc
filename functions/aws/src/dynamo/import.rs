//! Importing people ([`estrade_domain::import`]) in batches.
//!
//! A batch of people is read with BatchGetItem, 100 keys a request: each
//! person's profile and their entry on the suppression list (see
//! `erase.rs`). Each person is merged in memory, then written in three
//! steps, several requests in flight at once:
//!
//! 1. the imported-consent records, by BatchWriteItem (25 items a
//!    request): their keys come from their content (see `item.rs`), so
//!    writing one again changes nothing;
//! 2. the profiles of people the table did not hold, by BatchWriteItem;
//!    then, for a pending supporter the import keeps for good, the end of
//!    their signup's consent records' expiry (they expired with the
//!    profile);
//! 3. the profiles of people it held, each by a PutItem conditioned on
//!    `updated_at` still being what was read: a form that changed them
//!    meanwhile makes the condition fail, and they are read and merged
//!    again.
//!
//! Consent goes first so that an import cut off half-way and run again
//! finds no profile written without its consent: a person whose profile
//! was not written is merged again and writes the same records.
//!
//! DynamoDB has no conditional batch write, and a transaction per person
//! would cost a request each (moto, besides, copies the whole table for
//! every transaction): the new people's puts are unconditional. A person
//! who signs up on a form in the instant between the read of their
//! batch and its write loses what the form said to the file's values;
//! the consent record of their signup stays.

use super::erase::{forgotten_from, forgotten_key};
use super::expr::Expr;
use super::item::{consent_item, supporter_from, supporter_item, time};
use super::supporters::ITEMS_PER_BATCH;
use super::table::{Item, PK, PROFILE, key, supporter_pk};
use super::{DynamoStore, MAX_ATTEMPTS, pause, store_error, too_contended};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use estrade_domain::import::{Absorbed, ImportRun, Person, absorb};
use estrade_domain::supporter::Supporter;
use estrade_functions::people::forgotten_hash;
use estrade_functions::store::{StoreError, StoreResult};
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use tokio::task::JoinSet;

/// The most keys DynamoDB takes in one BatchGetItem.
const KEYS_PER_GET: usize = 100;

/// Requests of one step in flight at once.
const REQUESTS_AT_ONCE: usize = 16;

/// What the table holds for one person.
enum Held {
    Forgotten(Timestamp),
    /// Their profile, if any (pending past their expiry included).
    Stored(Option<Box<Supporter>>),
}

/// Runs `jobs`, [`REQUESTS_AT_ONCE`] at a time; their answers in order.
async fn at_most<T, F>(jobs: Vec<F>) -> StoreResult<Vec<T>>
where
    T: Send + 'static,
    F: Future<Output = StoreResult<T>> + Send + 'static,
{
    let mut answers: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    let mut waiting = jobs.into_iter().enumerate();
    let mut running = JoinSet::new();
    loop {
        while running.len() < REQUESTS_AT_ONCE {
            let Some((index, job)) = waiting.next() else {
                break;
            };
            running.spawn(async move { (index, job.await) });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, answer) =
            joined.map_err(|_| StoreError("import: a request's task failed".into()))?;
        if let Some(slot) = answers.get_mut(index) {
            *slot = Some(answer?);
        }
    }
    answers
        .into_iter()
        .map(|answer| answer.ok_or_else(|| StoreError("import: a request went missing".into())))
        .collect()
}

impl DynamoStore {
    pub(super) async fn import(
        &self,
        people: Vec<Person>,
        run: ImportRun,
        write: bool,
    ) -> StoreResult<Vec<Absorbed>> {
        let mut distinct = HashSet::new();
        if !people.iter().all(|person| distinct.insert(&person.email)) {
            return Err(StoreError(
                "import: the same address twice in one batch".into(),
            ));
        }
        let salt = self.salt().await?;
        let mut held: Vec<Option<Held>> = self
            .held(&people, &salt)
            .await?
            .into_iter()
            .map(Some)
            .collect();
        let mut done: Vec<Option<Absorbed>> = people.iter().map(|_| None).collect();
        let mut todo: Vec<usize> = (0..people.len()).collect();
        for attempt in 0..MAX_ATTEMPTS {
            let mut consents = Vec::new();
            let mut created = Vec::new();
            let mut updated = Vec::new();
            // Pending supporters kept for good now: their signup's consent
            // records expire with them until told otherwise.
            let mut unexpire = Vec::new();
            for &index in &todo {
                let (Some(person), Some(slot)) = (people.get(index), done.get_mut(index)) else {
                    continue;
                };
                let absorbed = match held.get_mut(index).and_then(Option::take) {
                    Some(Held::Forgotten(at)) => Absorbed::forgotten(at),
                    Some(Held::Stored(stored)) => {
                        let live = stored.map(|s| *s).filter(|s| !s.expired(run.at));
                        let seen = live.as_ref().map(|s| s.updated_at);
                        let expiring = live.as_ref().is_some_and(|s| s.expires_at.is_some());
                        let absorbed = absorb(live, person, &run);
                        for record in &absorbed.consents {
                            consents.push(consent_item(record, None)?);
                        }
                        if let Some(supporter) = &absorbed.supporter {
                            match seen {
                                None => created.push(supporter_item(supporter)),
                                Some(seen) => {
                                    if expiring && supporter.expires_at.is_none() {
                                        unexpire.push(supporter.email.clone());
                                    }
                                    updated.push((index, supporter_item(supporter), seen));
                                }
                            }
                        }
                        absorbed
                    }
                    None => continue,
                };
                *slot = Some(absorbed);
            }
            if !write {
                break;
            }
            self.put_all(consents, "BatchWriteItem (import consents)")
                .await?;
            self.put_all(created, "BatchWriteItem (import supporters)")
                .await?;
            // Before the profile: an import cut off in between leaves
            // records that outlive a profile that expires, which erasure
            // still finds, rather than a profile kept without them.
            for email in &unexpire {
                self.keep_consents(email).await?;
            }
            let changed = self.put_unless_changed(updated).await?;
            if changed.is_empty() {
                return finished(done);
            }
            // Changed by someone else since read: read and merge again.
            let again: Vec<Person> = changed
                .iter()
                .filter_map(|&index| people.get(index).cloned())
                .collect();
            for (&index, fresh) in changed.iter().zip(self.held(&again, &salt).await?) {
                if let Some(slot) = held.get_mut(index) {
                    *slot = Some(fresh);
                }
            }
            todo = changed;
            pause(attempt).await;
        }
        if write {
            return Err(too_contended("PutItem (import)"));
        }
        finished(done)
    }

    /// Each person's profile and suppression-list entry, in order.
    async fn held(&self, people: &[Person], salt: &str) -> StoreResult<Vec<Held>> {
        let keys: Vec<(Item, Item)> = people
            .iter()
            .map(|person| {
                (
                    key(supporter_pk(&person.email), PROFILE),
                    forgotten_key(&forgotten_hash(salt, &person.email)),
                )
            })
            .collect();
        let jobs = keys
            .chunks(KEYS_PER_GET / 2)
            .map(|pairs| {
                let wanted = pairs
                    .iter()
                    .flat_map(|(profile, forgotten)| [profile.clone(), forgotten.clone()])
                    .collect();
                let store = self.clone();
                async move { store.batch_get(wanted).await }
            })
            .collect();
        let mut found: HashMap<String, Item> = HashMap::new();
        for item in at_most(jobs).await?.into_iter().flatten() {
            if let Some(AttributeValue::S(pk)) = item.get(PK) {
                found.insert(pk.clone(), item);
            }
        }
        let pk_of = |key: &Item| match key.get(PK) {
            Some(AttributeValue::S(pk)) => pk.clone(),
            _ => String::new(),
        };
        keys.iter()
            .map(|(profile, forgotten)| {
                if let Some(item) = found.get(&pk_of(forgotten)) {
                    return forgotten_from(item).map(Held::Forgotten);
                }
                found
                    .get(&pk_of(profile))
                    .map(|item| supporter_from(item).map(Box::new))
                    .transpose()
                    .map(Held::Stored)
            })
            .collect()
    }

    /// The items under `keys` (at most [`KEYS_PER_GET`]) that exist, read
    /// consistently; what DynamoDB leaves unread is asked for again.
    async fn batch_get(&self, mut keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        const OPERATION: &str = "BatchGetItem (import)";
        let mut found = Vec::new();
        let mut attempt = 0;
        while !keys.is_empty() {
            if attempt == MAX_ATTEMPTS {
                return Err(too_contended(OPERATION));
            }
            if attempt > 0 {
                pause(attempt).await;
            }
            attempt += 1;
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|_| StoreError(format!("DynamoDB {OPERATION}: no keys")))?;
            let read = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .await
                .map_err(|err| store_error(OPERATION, err))?;
            if let Some(mut responses) = read.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            keys = read
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.table))
                .map(|left| left.keys)
                .unwrap_or_default();
        }
        Ok(found)
    }

    /// Puts `items` unconditionally, 25 to a request, several at once.
    async fn put_all(&self, items: Vec<Item>, operation: &'static str) -> StoreResult<()> {
        let jobs = items
            .chunks(ITEMS_PER_BATCH)
            .map(|chunk| {
                let store = self.clone();
                let chunk = chunk.to_vec();
                async move { store.batch_put(chunk, operation).await }
            })
            .collect();
        at_most(jobs).await.map(|_| ())
    }

    /// Puts each profile on the condition that its `updated_at` is still
    /// the one read; the indexes of those whose condition failed.
    async fn put_unless_changed(
        &self,
        updates: Vec<(usize, Item, Timestamp)>,
    ) -> StoreResult<Vec<usize>> {
        let jobs = updates
            .into_iter()
            .map(|(index, item, seen)| {
                let store = self.clone();
                async move {
                    let mut expr = Expr::new();
                    let condition = format!(
                        "{} = {}",
                        expr.name("updated_at"),
                        expr.value("seen", time(seen))
                    );
                    let put = store
                        .client
                        .put_item()
                        .table_name(&store.table)
                        .set_item(Some(item))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .send()
                        .await;
                    match put {
                        Ok(_) => Ok(None),
                        Err(err)
                            if err
                                .as_service_error()
                                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                        {
                            Ok(Some(index))
                        }
                        Err(err) => Err(store_error("PutItem (import)", err)),
                    }
                }
            })
            .collect();
        Ok(at_most(jobs).await?.into_iter().flatten().collect())
    }
}

fn finished(done: Vec<Option<Absorbed>>) -> StoreResult<Vec<Absorbed>> {
    done.into_iter()
        .map(|absorbed| absorbed.ok_or_else(|| StoreError("import: a person was skipped".into())))
        .collect()
}
