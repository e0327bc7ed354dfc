//! The behaviour every [`Store`] promises, written once and run by each
//! implementation's tests: the embedded SQLite store here, DynamoDB on the
//! emulator in `estrade-aws`. It is test support, compiled normally so
//! that other crates' tests can call it.
//!
//! The suite is given an empty store and panics with a message naming the
//! broken promise. Each part uses its own emails, events and keys, so the
//! parts do not see each other. Every timestamp is fixed: the wall clock is
//! never read.
#![doc(hidden)]

mod broadcasts;
mod gifts;
mod import;
mod people;
mod queue;
mod rsvps;
mod supporters;
mod walk;

use crate::store::{Store, StoreResult};
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Runs the whole contract against `store`, which must start empty.
pub async fn check_store<S: Store>(store: Arc<S>) {
    supporters::upsert_creates_then_merges(&*store).await;
    supporters::concurrent_identical_signups(&store).await;
    supporters::concurrent_forms_all_merge(&store).await;
    supporters::consent_history_is_appended_once(&*store).await;
    supporters::status_and_interests(&*store).await;
    supporters::unconfirmed_signups_expire(&*store).await;
    rsvps::capacity_and_waitlist(&store).await;
    rsvps::without_capacity(&store).await;
    rsvps::capacity_changes(&*store).await;
    rate_limits_count_exactly(&store).await;
    broadcasts::pause_resume_and_counts(&*store).await;
    queue::claims_settle_and_stalls(&*store).await;
    queue::concurrent_senders_share_without_overlap(&store).await;
    walk::members_and_seats_are_walked_once(&*store).await;
    walk::a_broadcast_is_queued_once(&*store).await;
    gifts::donors_are_kept_by_key(&*store).await;
    gifts::gifts_count_once_within_the_cap(&*store).await;
    gifts::refunds_come_off_the_total(&*store).await;
    gifts::gifts_racing_for_the_cap(&store).await;
    gifts::payment_events_are_noted(&*store).await;
    people::an_erased_address_leaves_nothing_but_its_hash(&*store).await;
    import::people_are_imported_and_merged(&*store).await;
}

/// 2027-03-01T10:00:00Z plus `minutes`: a whole minute, so rate-limit
/// windows of 60 s start on it.
fn minute(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_803_895_200).expect("a valid fixed timestamp") + minutes.minutes()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

/// Fails the contract with `promise` when `found` is not `wanted`.
#[track_caller]
fn same<T: PartialEq + Debug>(found: T, wanted: T, promise: &str) {
    if found != wanted {
        panic!("store contract: {promise}\n  found: {found:?}\n wanted: {wanted:?}");
    }
}

/// Fails the contract with `promise` unless `condition` holds.
#[track_caller]
fn holds(condition: bool, promise: &str) {
    if !condition {
        panic!("store contract: {promise}");
    }
}

trait Must<T> {
    fn must(self, operation: &str) -> T;
}

impl<T> Must<T> for StoreResult<T> {
    #[track_caller]
    fn must(self, operation: &str) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("store contract: {operation} failed: {error}"),
        }
    }
}

/// Runs `count` tasks at once, on the runtime's threads, and collects
/// their answers.
async fn all_at_once<T, F>(count: usize, task: impl Fn(usize) -> F) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for index in 0..count {
        tasks.spawn(task(index));
    }
    let mut answers = Vec::with_capacity(count);
    while let Some(answer) = tasks.join_next().await {
        match answer {
            Ok(answer) => answers.push(answer),
            Err(error) => panic!("store contract: a concurrent task failed: {error}"),
        }
    }
    answers
}

async fn rate_limits_count_exactly<S: Store>(store: &Arc<S>) {
    let key = "signup:203.0.113.7";
    let window = minute(70);
    let requests = [(0, true), (10, true), (59, true), (59, false), (30, false)];
    for (second, wanted) in requests {
        let at = window + (second as i64).seconds();
        let allowed = store.allow(key, 3, 60, at).await.must("allow");
        same(
            allowed,
            wanted,
            &format!("limit 3 per 60 s, request at +{second} s"),
        );
    }
    let other = store.allow("signup:198.51.100.4", 3, 60, window);
    holds(other.await.must("allow"), "keys are counted apart");
    let next = store.allow(key, 3, 60, window + 60.seconds());
    holds(next.await.must("allow"), "a new window starts a new count");

    let answers = all_at_once(10, |_| {
        let store = Arc::clone(store);
        async move { store.allow("rsvp:192.0.2.1", 5, 60, minute(80)).await }
    })
    .await;
    let allowed = answers
        .into_iter()
        .map(|answer| answer.must("allow"))
        .filter(|allowed| *allowed)
        .count();
    same(
        allowed,
        5,
        "10 requests at once with limit 5 allow exactly 5",
    );
}
