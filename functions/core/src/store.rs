//! Where supporters, consent and RSVPs live. Two implementations pass the
//! same contract suite ([`contract`]): the embedded SQLite store and
//! DynamoDB (in `estrade-aws`).
//!
//! Every write that two requests could race on is atomic in the store
//! itself: a supporter is one record per normalised email, capacity is
//! checked in the same write that takes the seat, a rate-limit counter is
//! incremented and read in one step.

use crate::broadcasts::BroadcastControl;
use crate::gifts::{Gift, Recorded};
use crate::people::Erased;
use crate::queue::{Outgoing, Settle};
use estrade_domain::donation::Donor;
use estrade_domain::import::{Absorbed, ImportRun, Person};
use estrade_domain::supporter::{
    ConsentRecord, EmailStatus, Rsvp, RsvpStatus, Supporter, SupporterUpdate,
};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

/// Infrastructure trouble (the database is unreachable, a timeout): the
/// client is told to try again, nothing was half-written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// How long a handled payment event is remembered, in days.
pub const PAYMENT_EVENT_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// A supporter as an audience sees them: only what
/// [`estrade_domain::audience::Facts`] reads from a record, so that going
/// through a million of them reads and copies little.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub email: String,
    pub status: EmailStatus,
    pub interests: BTreeSet<String>,
    /// Labels from an imported file ([`Supporter::tags`]).
    pub tags: BTreeSet<String>,
    pub created_at: Timestamp,
    pub postcode: Option<String>,
    pub country: Option<String>,
}

/// A registration as an audience sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub event: String,
    pub email: String,
    pub status: RsvpStatus,
}

/// One page of a walk through every record of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, for the next call; `None` after the
    /// last page. Opaque: only the store that gave it reads it.
    pub next: Option<String>,
}

pub trait Store: Send + Sync + 'static {
    /// Creates the supporter of `update.email`, or merges `update` into
    /// them ([`Supporter::merge`]: never a second record, never a
    /// downgrade), and appends `consents` (email, text messages) to their
    /// history, all in one atomic write.
    ///
    /// A supporter left pending is deleted with their history once
    /// [`Supporter::expires_at`] has passed (DynamoDB's TTL, the SQLite
    /// store's purge), and may be read until then. Signing up after it
    /// passed creates the supporter anew, with a new history.
    fn upsert_supporter(
        &self,
        update: SupporterUpdate,
        status: EmailStatus,
        consents: Vec<ConsentRecord>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<(Upserted, Supporter)>> + Send;

    fn supporter(&self, email: &str)
    -> impl Future<Output = StoreResult<Option<Supporter>>> + Send;

    /// Sets a supporter's email status (confirmed, unsubscribed, bounced)
    /// and appends `consent`. `false` when there is no such supporter. A
    /// status other than pending ends the supporter's expiry.
    fn set_status(
        &self,
        email: &str,
        status: EmailStatus,
        consent: Option<ConsentRecord>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Removes some interests (a topic unsubscribe). `false` when there is
    /// no such supporter.
    fn remove_interests(
        &self,
        email: &str,
        interests: &BTreeSet<String>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The supporter's consent history, oldest first. Recording the same
    /// record twice (a retried request) keeps one.
    fn consents(&self, email: &str)
    -> impl Future<Output = StoreResult<Vec<ConsentRecord>>> + Send;

    /// Registers `email` for `event`: `Confirmed` while fewer than
    /// `capacity` are confirmed, `Waitlisted` after, checked atomically.
    /// Registering again returns the existing registration unchanged
    /// (a cancelled one is registered anew).
    fn rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Rsvp>> + Send;

    /// Cancels a registration. When it held a seat and the event is not
    /// over `capacity` (lowered since), the first waitlisted registration
    /// (lowest `position`) is promoted in the same step. Returns the
    /// cancelled registration (`None` if there was none or it was already
    /// cancelled) and the promoted one.
    fn cancel_rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<(Option<Rsvp>, Option<Rsvp>)>> + Send;

    /// Gives free seats to the waitlist, first in line first, while fewer
    /// than `capacity` are confirmed (all of it without a capacity): what
    /// a raised capacity owes to the people waiting. Returns the promoted
    /// registrations, in order.
    fn promote_waitlist(
        &self,
        event: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<Rsvp>>> + Send;

    /// Every registration of an event, by `position`.
    fn rsvps(&self, event: &str) -> impl Future<Output = StoreResult<Vec<Rsvp>>> + Send;

    /// Counts one request under `key` in the fixed window of
    /// `window_seconds` that contains `at`; `true` while the count is at
    /// most `limit`. Old windows expire on their own (TTL).
    fn allow(
        &self,
        key: &str,
        limit: u32,
        window_seconds: u32,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Queues `items` ([`crate::queue`]); an id already known, in any
    /// state, is left as it is, so queueing again is harmless. Returns
    /// how many were new.
    fn enqueue(&self, items: Vec<Outgoing>) -> impl Future<Output = StoreResult<usize>> + Send;

    /// Claims for `token`, until `until`, up to `limit` items due at
    /// `now`, earliest first: queued ones whose `due_at` has come, and
    /// claimed ones whose lease ended (their sender stopped before handing
    /// them to the mailer). Two senders never hold the same item. Items of
    /// a paused broadcast ([`Store::set_broadcast_paused`]) are left
    /// where they are, and do not keep the others waiting.
    fn claim_due(
        &self,
        now: Timestamp,
        until: Timestamp,
        token: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Outgoing>>> + Send;

    /// Moves an item from `settle.from` to `settle.to` if it is still in
    /// `from` under `settle.token`; `false` (and nothing changed) if not.
    fn settle(&self, settle: Settle) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Marks `unknown` the items left `sending` by a sender whose lease
    /// ended before `now`, and returns them: they may have been sent, so
    /// they are never sent again.
    fn stalled(&self, now: Timestamp) -> impl Future<Output = StoreResult<Vec<Outgoing>>> + Send;

    /// One item of the queue.
    fn outgoing(&self, id: &str) -> impl Future<Output = StoreResult<Option<Outgoing>>> + Send;

    /// Every item of the queue addressed to `email`, in any state, by due
    /// time (for a subject access request).
    fn queued_to(&self, email: &str) -> impl Future<Output = StoreResult<Vec<Outgoing>>> + Send;

    /// Every supporter, a page of about `limit` at a time (the store may
    /// give fewer, even none, before the last page), starting where `after`
    /// says (`None`: at the beginning). In no promised order; a supporter
    /// written during the walk may be seen or not, never twice. Pending
    /// supporters past their expiry are left out.
    fn members(
        &self,
        after: Option<String>,
        limit: usize,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Page<Member>>> + Send;

    /// Every registration of every event, by pages as [`Store::members`].
    fn seats(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Seat>>> + Send;

    /// The control record of broadcast `name`; `None` if nothing was
    /// ever recorded about it (it runs).
    fn broadcast(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<BroadcastControl>>> + Send;

    /// Pauses broadcast `name` for `reason` (`Some`), or resumes it
    /// (`None`), which also notes its counts as they are then (the
    /// complaint rule judges what comes after). Returns the record.
    fn set_broadcast_paused(
        &self,
        name: &str,
        reason: Option<String>,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<BroadcastControl>> + Send;

    /// Counts one sent email of broadcast `name`, atomically; the record
    /// after it. (The sender counts through [`Settle::broadcast`]
    /// instead, in the write that marks the email sent.)
    fn count_broadcast_sent(
        &self,
        name: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<BroadcastControl>> + Send;

    /// Counts a complaint about message `message_id` of broadcast `name`,
    /// once: the record after it, or `None` when that message's
    /// complaint was counted already.
    fn count_broadcast_complaint(
        &self,
        name: &str,
        message_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<BroadcastControl>>> + Send;

    /// Keeps what a donor wrote on the donation form under
    /// [`Donor::key`], replacing what was kept before (the latest
    /// address is the one receipts go to).
    fn save_donor(
        &self,
        donor: &Donor,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The donor kept under `key`.
    fn donor(&self, key: &str) -> impl Future<Output = StoreResult<Option<Donor>>> + Send;

    /// What `donor` has given in `period`, in cents: their counted gifts
    /// less refunds ([`crate::gifts`]).
    fn donor_total(
        &self,
        period: &str,
        donor: &str,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// Records a payment ([`crate::gifts`]): `Known` (and the record as it
    /// was) when its `payment` is recorded already; else counted with the
    /// election's next receipt number if the donor's total in its period
    /// stays within `cap` cents, or kept as over the cap. `gift.status`,
    /// `refunded` and `receipt` are the store's to set.
    fn record_gift(
        &self,
        gift: Gift,
        cap: i64,
    ) -> impl Future<Output = StoreResult<(Recorded, Gift)>> + Send;

    /// Notes that `amount_refunded` cents (cumulative) of the gift paid
    /// by `payment_intent` went back, and takes them off its donor's
    /// total. The gift after it; `None` when no gift has that
    /// PaymentIntent.
    fn refund_gift(
        &self,
        payment_intent: &str,
        amount_refunded: i64,
    ) -> impl Future<Output = StoreResult<Option<Gift>>> + Send;

    /// Whether the payment processor's event `id` was handled to the end
    /// before ([`Store::note_payment_event`]).
    fn payment_event_seen(&self, id: &str) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Notes that event `id` was handled, so that the same event
    /// delivered again is acknowledged without acting twice. Kept at
    /// least [`PAYMENT_EVENT_DAYS`] days (Stripe retries for three).
    fn note_payment_event(
        &self,
        id: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes everything held under `email` ([`crate::people`]): the
    /// supporter, their consent history, their registrations (cancelled
    /// first by [`crate::people::forget`]) and every queue item addressed
    /// to them; and adds the address's salted hash, with `at`, to the
    /// suppression list (the salt is the store's own, made once). Erasing
    /// an address again removes nothing more.
    fn erase_supporter(
        &self,
        email: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<Erased>> + Send;

    /// When `email` was erased, if it was.
    fn forgotten(&self, email: &str)
    -> impl Future<Output = StoreResult<Option<Timestamp>>> + Send;

    /// Merges each of `people` (distinct addresses) into the supporter
    /// held under their address ([`estrade_domain::import::absorb`]), in one go: an address on
    /// the suppression list is left out ([`Absorbed::forgotten`]), a
    /// pending supporter past their expiry counts as absent. With
    /// `write`, the merged supporters and their imported-consent records
    /// are stored (each person whole or not at all; a person whose record
    /// changed meanwhile is merged again); without, nothing is, and the
    /// answer says what an import would do.
    fn import_people(
        &self,
        people: Vec<Person>,
        run: ImportRun,
        write: bool,
    ) -> impl Future<Output = StoreResult<Vec<Absorbed>>> + Send;

    /// Every gift, by pages as [`Store::members`].
    fn gifts(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Gift>>> + Send;
}
