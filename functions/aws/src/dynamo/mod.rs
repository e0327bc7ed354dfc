//! [`Store`] over one DynamoDB table.
//!
//! # Single-table design
//!
//! Every item has a string partition key `pk` and a string sort key `sk`;
//! `kind` names the item type for exports and the console.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | supporter | `SUPPORTER#<email>` | `PROFILE` |
//! | consent record | `SUPPORTER#<email>` | `CONSENT#<seconds>.<nanos>#<digest>` |
//! | RSVP | `EVENT#<event>` | `RSVP#<email>` |
//! | event counters | `EVENT#<event>` | `COUNTER` |
//! | rate-limit window | `RATE#<key>` | `WINDOW#<seconds>#<start>` |
//! | send-queue item | `OUTGOING#<id>` | `ITEM` |
//! | broadcast control | `BROADCASTS` | `BROADCAST#<name>` |
//! | counted complaint | `BROADCAST#<name>` | `COMPLAINT#<message id>` |
//! | donor, donor's total, gift, receipt numbers | see `gifts.rs` | |
//! | the salt, an erased address | see `erase.rs` | |
//!
//! A supporter item holds the [`Supporter`] fields (sets as string sets,
//! times as RFC 3339), a consent item the [`ConsentRecord`] fields, an RSVP
//! its `status`, `position`, `at` and, while waitlisted, a copy of its
//! position as `waitlist_position`. The counters item holds
//! `next_position`, `seats_taken` and `waitlisted`; a rate-limit window
//! `hits` and `expires_at` (epoch seconds, the table's TTL attribute).
//! The send queue's items are described in `queue.rs`. A broadcast
//! control record holds `name`, `paused`, `reason`, `changed_at` and the
//! counters `sent`, `complained`, `sent_at_resume`,
//! `complained_at_resume`; every control record shares one partition so
//! that one query lists the paused broadcasts (see `broadcasts.rs`).
//!
//! A supporter and their consent history share a partition, so one query
//! reads (or, on an erasure request, finds) all of it. An event's RSVPs and
//! its counters share a partition too, and the local secondary index
//! `waitlist` (sort key `waitlist_position`, set only on waitlisted RSVPs)
//! finds the first in line with a strongly consistent read.
//!
//! # Which writes are conditional or transactional, and why
//!
//! - **Signup.** A `TransactWriteItems` of the supporter write and the
//!   consent put. The supporter write first tries a put conditioned on
//!   `attribute_not_exists(pk)`, which only one of many simultaneous
//!   signups wins: that one reports `Created`. The others fall back to an
//!   update whose expression is the merge itself (set what the form gave,
//!   `ADD` to the sets, `if_not_exists` for the recruiter and creation
//!   time), applied by DynamoDB to whatever is stored at that instant, so
//!   concurrent forms cannot overwrite each other and no read-modify-write
//!   loop is needed. Only the status rule (a pending signup does not
//!   downgrade a confirmed address) needs a condition on the current value.
//! - **Consent records** have a key derived from their content (time and a
//!   digest of every field), so a retried request writes the same item
//!   again instead of a second one; the put is unconditional for that.
//! - **RSVP.** A transaction of the counter update `seats_taken + 1`,
//!   conditioned on `seats_taken < capacity`, and the RSVP put, conditioned
//!   on the guest having no live registration. When the event is full, a
//!   second transaction puts the RSVP as waitlisted and adds one to
//!   `waitlisted`, conditioned on the event still being full (a seat freed
//!   in between sends the request round again). Positions come from an
//!   atomic `ADD next_position 1`, so they follow arrival order.
//! - **Cancellation** is one transaction of the RSVP's new status and,
//!   when it held a seat, either the promotion of the first waitlisted
//!   RSVP or (nobody waits, or the event is over a lowered capacity) the
//!   release of the seat, both conditioned on the `seats_taken` and
//!   `waitlisted` counts read just before: a registration joining the
//!   waitlist meanwhile makes it fail and start over, so nobody waits
//!   while a seat is free.
//! - **Promotion** after a raised capacity: one transaction per seat, the
//!   counter moving one from `waitlisted` to `seats_taken` under the same
//!   condition on both counts, with the first in line's new status.
//! - **Unconfirmed supporters** (double opt-in) carry `expires_at` on the
//!   profile and on the consent records written with it; the TTL deletes
//!   them a week after their last signup unless they confirm, which
//!   removes the attribute from all of them. A signup after the expiry
//!   replaces the profile (the put's condition allows an expired one);
//!   records left from before it are not read back.
//! - Transactions cancelled by a conflict with another one, or by a
//!   condition that another request changed, are retried with a short
//!   randomised pause.
//! - **Broadcast counts** are `ADD`ed in place; a complaint is counted in
//!   a transaction with the put of a marker item keyed by the message
//!   id, conditioned on its absence, so a redelivered event counts
//!   nothing. Pausing and resuming are plain updates of the record.
//! - **Gifts**: one transaction counts a gift within the cap with the
//!   next receipt number and its refund pointer (see `gifts.rs`).
//! - **Rate limits**: one `UpdateItem` of `ADD hits 1` returning the new
//!   count, on an item per key and fixed window. The window's start is in
//!   the key, so an expired window is never read again: DynamoDB's TTL
//!   deletes it within days (and moto never does), which changes nothing.
//!
//! The table (with the index and TTL) is made by [`create_table`], whose
//! documentation says what an infrastructure template must declare.

mod broadcasts;
mod erase;
mod expr;
mod gifts;
mod import;
mod item;
mod limits;
mod queue;
mod rsvps;
mod supporters;
mod table;
mod walk;

pub use table::create_table;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use estrade_domain::donation::Donor;
use estrade_domain::import::{Absorbed, ImportRun, Person};
use estrade_domain::supporter::{ConsentRecord, EmailStatus, Rsvp, Supporter, SupporterUpdate};
use estrade_functions::broadcasts::BroadcastControl;
use estrade_functions::gifts::{Gift, Recorded};
use estrade_functions::people::Erased;
use estrade_functions::queue::{Outgoing, SendState, Settle};
use estrade_functions::store::{Member, Page, Seat, Store, StoreError, StoreResult, Upserted};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::time::Duration;

/// How many times a write that lost a race is tried again before the
/// request is answered with a [`StoreError`] (and retried by its client).
const MAX_ATTEMPTS: u32 = 60;

/// The store of one campaign: a client and the name of its table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store over `table`, which [`create_table`] (or the infrastructure
    /// template) made. In a function, the name comes from `ESTRADE_TABLE`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// A store with the environment's AWS settings and the table named by
    /// `ESTRADE_TABLE`.
    pub async fn from_env() -> StoreResult<DynamoStore> {
        let table = std::env::var("ESTRADE_TABLE")
            .ok()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                StoreError("ESTRADE_TABLE is not set: name the DynamoDB table".into())
            })?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(DynamoStore::new(Client::new(&config), table))
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The item under `key`, read consistently.
    async fn get(&self, key: table::Item, operation: &str) -> StoreResult<Option<table::Item>> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error(operation, err))?
            .item)
    }

    /// Puts `item`, on `condition` when given: `false` when the condition
    /// did not hold (and nothing was written).
    async fn put(
        &self,
        item: table::Item,
        condition: Option<&str>,
        operation: &str,
    ) -> StoreResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(operation, err)),
        }
    }

    /// Runs one transaction: `Ok(None)` when it committed, the cancellation
    /// reasons when DynamoDB refused it as a whole.
    async fn transact(
        &self,
        operation: &str,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Option<Cancelled>> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let codes = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| reason.code().unwrap_or("None").to_owned())
                        .collect();
                    Ok(Some(Cancelled { codes }))
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Ok(Some(Cancelled {
                        codes: vec!["TransactionConflict".into()],
                    }))
                }
                _ => Err(store_error(operation, err)),
            },
        }
    }
}

/// Why DynamoDB cancelled a transaction: one code per item, in order
/// (`None` for the items that were fine).
#[derive(Debug)]
struct Cancelled {
    codes: Vec<String>,
}

impl Cancelled {
    /// The condition of item `index` did not hold.
    fn failed(&self, index: usize) -> bool {
        self.codes
            .get(index)
            .is_some_and(|code| code == "ConditionalCheckFailed")
    }

    /// Another request got in the way: trying again will do.
    fn is_contention(&self) -> bool {
        self.codes.iter().any(|code| {
            matches!(
                code.as_str(),
                "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
            )
        })
    }

    fn into_error(self, operation: &str) -> StoreError {
        StoreError(format!(
            "DynamoDB {operation}: transaction cancelled ({})",
            self.codes.join(", ")
        ))
    }
}

/// An SDK error as a [`StoreError`]: the operation and the error code or
/// kind, never the message, which may quote keys (emails).
impl DynamoStore {
    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// read consistently, across pages.
    async fn partition_items(
        &self,
        pk: String,
        prefix: &str,
        operation: &str,
    ) -> StoreResult<Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>>
    {
        let mut expr = expr::Expr::new();
        let mut condition = format!(
            "{} = {}",
            expr.name(table::PK),
            expr.value("pk", expr::s(pk))
        );
        // DynamoDB refuses an empty string: no prefix reads it all.
        if !prefix.is_empty() {
            condition.push_str(&format!(
                " AND begins_with({}, {})",
                expr.name("sk"),
                expr.value("prefix", expr::s(prefix))
            ));
        }
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| store_error(operation, err))
    }
}

fn store_error<E: ProvideErrorMetadata, R>(operation: &str, err: SdkError<E, R>) -> StoreError {
    let what = match &err {
        SdkError::ConstructionFailure(_) => "the request could not be built",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "unreachable",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(service) => service.err().code().unwrap_or("unknown error"),
        _ => "unknown error",
    };
    StoreError(format!("DynamoDB {operation}: {what}"))
}

/// A pause before trying a contended write again: growing with the
/// attempt, randomised so that the losers of one race do not meet again.
async fn pause(attempt: u32) {
    let ceiling_ms = 4u64 << attempt.min(6);
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| u64::from(since.subsec_nanos()))
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(1 + noise % ceiling_ms)).await;
}

fn too_contended(operation: &str) -> StoreError {
    StoreError(format!(
        "DynamoDB {operation}: still contended after {MAX_ATTEMPTS} attempts"
    ))
}

impl Store for DynamoStore {
    async fn upsert_supporter(
        &self,
        update: SupporterUpdate,
        status: EmailStatus,
        consents: Vec<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<(Upserted, Supporter)> {
        self.upsert(update, status, consents, at).await
    }

    async fn supporter(&self, email: &str) -> StoreResult<Option<Supporter>> {
        self.read_supporter(email).await
    }

    async fn set_status(
        &self,
        email: &str,
        status: EmailStatus,
        consent: Option<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.write_status(email, status, consent, at).await
    }

    async fn remove_interests(
        &self,
        email: &str,
        interests: &BTreeSet<String>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.drop_interests(email, interests, at).await
    }

    async fn consents(&self, email: &str) -> StoreResult<Vec<ConsentRecord>> {
        self.consent_history(email).await
    }

    async fn rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Rsvp> {
        self.register(event, email, capacity, at).await
    }

    async fn cancel_rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<(Option<Rsvp>, Option<Rsvp>)> {
        self.cancel(event, email, capacity, at).await
    }

    async fn promote_waitlist(
        &self,
        event: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Vec<Rsvp>> {
        self.promote(event, capacity, at).await
    }

    async fn rsvps(&self, event: &str) -> StoreResult<Vec<Rsvp>> {
        self.registrations(event).await
    }

    async fn allow(
        &self,
        key: &str,
        limit: u32,
        window_seconds: u32,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.count_request(key, limit, window_seconds, at).await
    }

    async fn enqueue(&self, items: Vec<Outgoing>) -> StoreResult<usize> {
        self.queue_items(items).await
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        until: Timestamp,
        token: &str,
        limit: usize,
    ) -> StoreResult<Vec<Outgoing>> {
        self.claim(now, until, token, limit).await
    }

    async fn settle(&self, settle: Settle) -> StoreResult<bool> {
        let counted = (settle.to == SendState::Sent)
            .then(|| settle.broadcast.clone())
            .flatten();
        let changed = self.settle_item(settle).await?;
        // Two requests, not a transaction (which would cost twice the
        // writes): the count only feeds the complaint rate, and a count
        // lost to a crash between them makes the rate look higher, so a
        // broadcast is paused sooner, never later.
        if let Some(name) = counted
            && changed
        {
            self.count_sent(&name).await?;
        }
        Ok(changed)
    }

    async fn stalled(&self, now: Timestamp) -> StoreResult<Vec<Outgoing>> {
        self.stalled_items(now).await
    }

    async fn outgoing(&self, id: &str) -> StoreResult<Option<Outgoing>> {
        self.queue_item(id).await
    }

    async fn queued_to(&self, email: &str) -> StoreResult<Vec<Outgoing>> {
        self.addressed_to(email).await
    }

    async fn members(
        &self,
        after: Option<String>,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Page<Member>> {
        self.members_page(after, limit, now).await
    }

    async fn seats(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Seat>> {
        self.seats_page(after, limit).await
    }

    async fn broadcast(&self, name: &str) -> StoreResult<Option<BroadcastControl>> {
        self.broadcast_control(name).await
    }

    async fn set_broadcast_paused(
        &self,
        name: &str,
        reason: Option<String>,
        at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        self.pause_broadcast(name, reason, at).await
    }

    async fn count_broadcast_sent(
        &self,
        name: &str,
        _at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        self.count_sent(name).await
    }

    async fn count_broadcast_complaint(
        &self,
        name: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<BroadcastControl>> {
        self.count_complaint(name, message_id, at).await
    }

    async fn save_donor(&self, donor: &Donor, at: Timestamp) -> StoreResult<()> {
        self.put_donor(donor, at).await
    }

    async fn donor(&self, key: &str) -> StoreResult<Option<Donor>> {
        self.donor_item(key).await
    }

    async fn donor_total(&self, period: &str, donor: &str) -> StoreResult<i64> {
        self.total(period, donor).await
    }

    async fn record_gift(&self, gift: Gift, cap: i64) -> StoreResult<(Recorded, Gift)> {
        self.record(gift, cap).await
    }

    async fn refund_gift(
        &self,
        payment_intent: &str,
        amount_refunded: i64,
    ) -> StoreResult<Option<Gift>> {
        self.refund(payment_intent, amount_refunded).await
    }

    async fn gifts(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Gift>> {
        self.gifts_page(after, limit).await
    }

    async fn payment_event_seen(&self, id: &str) -> StoreResult<bool> {
        self.event_seen(id).await
    }

    async fn note_payment_event(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        self.note_event(id, at).await
    }

    async fn erase_supporter(&self, email: &str, at: Timestamp) -> StoreResult<Erased> {
        self.erase(email, at).await
    }

    async fn forgotten(&self, email: &str) -> StoreResult<Option<Timestamp>> {
        self.forgotten_at(email).await
    }

    async fn import_people(
        &self,
        people: Vec<Person>,
        run: ImportRun,
        write: bool,
    ) -> StoreResult<Vec<Absorbed>> {
        self.import(people, run, write).await
    }
}
