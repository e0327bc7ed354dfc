//! A store with a hook called before each of its operations, with the
//! operation's name: the way to count what a piece of code asks of the
//! store (the sender's benchmark), or to make the store fail from some
//! call on (the tests of a database that goes away mid-request).

use crate::broadcasts::BroadcastControl;
use crate::gifts::{Gift, Recorded};
use crate::people::Erased;
use crate::queue::{Outgoing, Settle};
use crate::store::{Member, Page, Seat, Store, StoreResult, Upserted};
use estrade_domain::donation::Donor;
use estrade_domain::import::{Absorbed, ImportRun, Person};
use estrade_domain::supporter::{ConsentRecord, EmailStatus, Rsvp, Supporter, SupporterUpdate};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// Called with the operation's name before it runs; an error stops it
/// there, as the store's own error would.
pub type Before = Box<dyn Fn(&'static str) -> StoreResult<()> + Send + Sync>;

/// `inner`, with `before` called ahead of every operation.
pub struct Watched<S> {
    pub inner: S,
    before: Before,
}

impl<S: Store> Watched<S> {
    pub fn new(
        inner: S,
        before: impl Fn(&'static str) -> StoreResult<()> + Send + Sync + 'static,
    ) -> Watched<S> {
        Watched {
            inner,
            before: Box::new(before),
        }
    }
}

impl<S: Store> Store for Watched<S> {
    async fn upsert_supporter(
        &self,
        update: SupporterUpdate,
        status: EmailStatus,
        consent: Vec<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<(Upserted, Supporter)> {
        (self.before)("upsert_supporter")?;
        self.inner
            .upsert_supporter(update, status, consent, at)
            .await
    }
    async fn supporter(&self, email: &str) -> StoreResult<Option<Supporter>> {
        (self.before)("supporter")?;
        self.inner.supporter(email).await
    }
    async fn set_status(
        &self,
        email: &str,
        status: EmailStatus,
        consent: Option<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        (self.before)("set_status")?;
        self.inner.set_status(email, status, consent, at).await
    }
    async fn remove_interests(
        &self,
        email: &str,
        interests: &BTreeSet<String>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        (self.before)("remove_interests")?;
        self.inner.remove_interests(email, interests, at).await
    }
    async fn consents(&self, email: &str) -> StoreResult<Vec<ConsentRecord>> {
        (self.before)("consents")?;
        self.inner.consents(email).await
    }
    async fn rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Rsvp> {
        (self.before)("rsvp")?;
        self.inner.rsvp(event, email, capacity, at).await
    }
    async fn cancel_rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<(Option<Rsvp>, Option<Rsvp>)> {
        (self.before)("cancel_rsvp")?;
        self.inner.cancel_rsvp(event, email, capacity, at).await
    }
    async fn promote_waitlist(
        &self,
        event: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Vec<Rsvp>> {
        (self.before)("promote_waitlist")?;
        self.inner.promote_waitlist(event, capacity, at).await
    }
    async fn rsvps(&self, event: &str) -> StoreResult<Vec<Rsvp>> {
        (self.before)("rsvps")?;
        self.inner.rsvps(event).await
    }
    async fn allow(
        &self,
        key: &str,
        limit: u32,
        window_seconds: u32,
        at: Timestamp,
    ) -> StoreResult<bool> {
        (self.before)("allow")?;
        self.inner.allow(key, limit, window_seconds, at).await
    }
    async fn enqueue(&self, items: Vec<Outgoing>) -> StoreResult<usize> {
        (self.before)("enqueue")?;
        self.inner.enqueue(items).await
    }
    async fn claim_due(
        &self,
        now: Timestamp,
        until: Timestamp,
        token: &str,
        limit: usize,
    ) -> StoreResult<Vec<Outgoing>> {
        (self.before)("claim_due")?;
        self.inner.claim_due(now, until, token, limit).await
    }
    async fn settle(&self, settle: Settle) -> StoreResult<bool> {
        (self.before)("settle")?;
        self.inner.settle(settle).await
    }
    async fn stalled(&self, now: Timestamp) -> StoreResult<Vec<Outgoing>> {
        (self.before)("stalled")?;
        self.inner.stalled(now).await
    }
    async fn outgoing(&self, id: &str) -> StoreResult<Option<Outgoing>> {
        (self.before)("outgoing")?;
        self.inner.outgoing(id).await
    }
    async fn queued_to(&self, email: &str) -> StoreResult<Vec<Outgoing>> {
        (self.before)("queued_to")?;
        self.inner.queued_to(email).await
    }
    async fn members(
        &self,
        after: Option<String>,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Page<Member>> {
        (self.before)("members")?;
        self.inner.members(after, limit, now).await
    }
    async fn seats(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Seat>> {
        (self.before)("seats")?;
        self.inner.seats(after, limit).await
    }
    async fn broadcast(&self, name: &str) -> StoreResult<Option<BroadcastControl>> {
        (self.before)("broadcast")?;
        self.inner.broadcast(name).await
    }
    async fn set_broadcast_paused(
        &self,
        name: &str,
        reason: Option<String>,
        at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        (self.before)("set_broadcast_paused")?;
        self.inner.set_broadcast_paused(name, reason, at).await
    }
    async fn count_broadcast_sent(
        &self,
        name: &str,
        at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        (self.before)("count_broadcast_sent")?;
        self.inner.count_broadcast_sent(name, at).await
    }
    async fn count_broadcast_complaint(
        &self,
        name: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<BroadcastControl>> {
        (self.before)("count_broadcast_complaint")?;
        self.inner
            .count_broadcast_complaint(name, message_id, at)
            .await
    }
    async fn save_donor(&self, donor: &Donor, at: Timestamp) -> StoreResult<()> {
        (self.before)("save_donor")?;
        self.inner.save_donor(donor, at).await
    }
    async fn donor(&self, key: &str) -> StoreResult<Option<Donor>> {
        (self.before)("donor")?;
        self.inner.donor(key).await
    }
    async fn donor_total(&self, period: &str, donor: &str) -> StoreResult<i64> {
        (self.before)("donor_total")?;
        self.inner.donor_total(period, donor).await
    }
    async fn record_gift(&self, gift: Gift, cap: i64) -> StoreResult<(Recorded, Gift)> {
        (self.before)("record_gift")?;
        self.inner.record_gift(gift, cap).await
    }
    async fn refund_gift(
        &self,
        payment_intent: &str,
        amount_refunded: i64,
    ) -> StoreResult<Option<Gift>> {
        (self.before)("refund_gift")?;
        self.inner
            .refund_gift(payment_intent, amount_refunded)
            .await
    }
    async fn gifts(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Gift>> {
        (self.before)("gifts")?;
        self.inner.gifts(after, limit).await
    }
    async fn payment_event_seen(&self, id: &str) -> StoreResult<bool> {
        (self.before)("payment_event_seen")?;
        self.inner.payment_event_seen(id).await
    }
    async fn note_payment_event(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        (self.before)("note_payment_event")?;
        self.inner.note_payment_event(id, at).await
    }
    async fn erase_supporter(&self, email: &str, at: Timestamp) -> StoreResult<Erased> {
        (self.before)("erase_supporter")?;
        self.inner.erase_supporter(email, at).await
    }
    async fn forgotten(&self, email: &str) -> StoreResult<Option<Timestamp>> {
        (self.before)("forgotten")?;
        self.inner.forgotten(email).await
    }
    async fn import_people(
        &self,
        people: Vec<Person>,
        run: ImportRun,
        write: bool,
    ) -> StoreResult<Vec<Absorbed>> {
        (self.before)("import_people")?;
        self.inner.import_people(people, run, write).await
    }
}
