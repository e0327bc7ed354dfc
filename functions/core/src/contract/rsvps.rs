//! Registrations to events: capacity, waitlist, promotion on
//! cancellation, registering again.

use super::{Must, all_at_once, holds, minute, same};
use crate::store::Store;
use estrade_domain::supporter::{Rsvp, RsvpStatus};
use std::collections::HashSet;
use std::sync::Arc;

fn count(rsvps: &[Rsvp], status: RsvpStatus) -> usize {
    rsvps.iter().filter(|rsvp| rsvp.status == status).count()
}

#[track_caller]
fn by_position(listing: &[Rsvp], when: &str) {
    let increasing = listing
        .windows(2)
        .all(|pair| pair[0].position < pair[1].position);
    holds(
        increasing,
        &format!("{when}: rsvps are by strictly increasing position"),
    );
}

async fn cancel<S: Store>(
    store: &S,
    event: &str,
    email: &str,
    capacity: Option<u32>,
    minutes: i64,
) -> Option<Rsvp> {
    let (cancelled, promoted) = store
        .cancel_rsvp(event, email, capacity, minute(minutes))
        .await
        .must("cancel_rsvp");
    let Some(cancelled) = cancelled else {
        panic!("store contract: cancel_rsvp of {email} found no registration");
    };
    same(
        cancelled.email.as_str(),
        email,
        "cancel_rsvp returns the cancelled one",
    );
    same(
        cancelled.status,
        RsvpStatus::Cancelled,
        "cancel_rsvp returns it cancelled",
    );
    promoted
}

pub(super) async fn capacity_and_waitlist<S: Store>(store: &Arc<S>) {
    let event = "2027-04-12-reunion-valenciennes";
    let answers = all_at_once(10, |index| {
        let store = Arc::clone(store);
        async move {
            let email = format!("guest-{index}@example.fr");
            store.rsvp(event, &email, Some(3), minute(50)).await
        }
    })
    .await;
    let mut answers: Vec<Rsvp> = answers.into_iter().map(|a| a.must("rsvp")).collect();
    let confirmed = count(&answers, RsvpStatus::Confirmed);
    same(
        confirmed,
        3,
        "capacity 3 confirms 3 of 10 registering at once",
    );
    let waitlisted = count(&answers, RsvpStatus::Waitlisted);
    same(
        waitlisted,
        7,
        "capacity 3 waitlists 7 of 10 registering at once",
    );
    let positions: HashSet<u64> = answers.iter().map(|rsvp| rsvp.position).collect();
    same(
        positions.len(),
        10,
        "every registration has its own position",
    );

    let listing = store.rsvps(event).await.must("rsvps");
    by_position(&listing, "after 10 registrations");
    answers.sort_by_key(|rsvp| rsvp.position);
    same(&listing, &answers, "rsvps lists what rsvp answered");

    let seated: Vec<&Rsvp> = answers
        .iter()
        .filter(|r| r.status == RsvpStatus::Confirmed)
        .collect();
    let queue: Vec<&Rsvp> = answers
        .iter()
        .filter(|r| r.status == RsvpStatus::Waitlisted)
        .collect();
    for existing in [seated[0], queue[0]] {
        let again = store.rsvp(event, &existing.email, Some(3), minute(51));
        same(
            &again.await.must("rsvp"),
            existing,
            "registering again changes nothing",
        );
    }

    let promoted = cancel(&**store, event, &queue[0].email, Some(3), 52).await;
    same(
        promoted,
        None,
        "cancelling a waitlisted registration promotes nobody",
    );

    let promoted = cancel(&**store, event, &seated[1].email, Some(3), 53).await;
    let Some(promoted) = promoted else {
        panic!("store contract: cancelling a confirmed registration promoted nobody");
    };
    let next = queue[1];
    same(
        &promoted.email,
        &next.email,
        "the lowest waitlisted position is promoted",
    );
    same(
        promoted.status,
        RsvpStatus::Confirmed,
        "the promoted registration is confirmed",
    );
    same(
        promoted.position,
        next.position,
        "a promotion keeps the position",
    );

    let listing = store.rsvps(event).await.must("rsvps");
    by_position(&listing, "after cancellations");
    let seen = listing.iter().find(|rsvp| rsvp.email == promoted.email);
    same(seen, Some(&promoted), "the promotion is visible in rsvps");
    same(
        count(&listing, RsvpStatus::Confirmed),
        3,
        "a promotion refills the seat",
    );
    same(
        count(&listing, RsvpStatus::Waitlisted),
        5,
        "two left the waitlist",
    );

    let twice = store.cancel_rsvp(event, &seated[1].email, Some(3), minute(54));
    same(
        twice.await.must("cancel_rsvp"),
        (None, None),
        "cancelling twice cancels nothing",
    );
    let unknown = store.cancel_rsvp(event, "not-registered@example.fr", Some(3), minute(54));
    let nothing = unknown.await.must("cancel_rsvp");
    same(
        nothing,
        (None, None),
        "cancelling no registration cancels nothing",
    );

    let last = listing.iter().map(|rsvp| rsvp.position).max().unwrap_or(0);
    let back = store.rsvp(event, &seated[1].email, Some(3), minute(55));
    let back = back.await.must("rsvp");
    same(
        back.status,
        RsvpStatus::Waitlisted,
        "a full event waitlists a returning guest",
    );
    holds(
        back.position > last,
        "a cancelled guest registers anew at the end",
    );
    same(back.at, minute(55), "a new registration has its own time");
}

pub(super) async fn without_capacity<S: Store>(store: &Arc<S>) {
    let event = "2027-05-01-porte-a-porte";
    let answers = all_at_once(5, |index| {
        let store = Arc::clone(store);
        async move {
            let email = format!("walker-{index}@example.fr");
            store.rsvp(event, &email, None, minute(60)).await
        }
    })
    .await;
    let answers: Vec<Rsvp> = answers.into_iter().map(|a| a.must("rsvp")).collect();
    same(
        count(&answers, RsvpStatus::Confirmed),
        5,
        "no capacity confirms everyone",
    );
    let listing = store.rsvps(event).await.must("rsvps");
    same(listing.len(), 5, "rsvps lists every registration");
    by_position(&listing, "without capacity");
    let other = store.rsvps("no-such-event").await.must("rsvps");
    holds(other.is_empty(), "an unknown event has no registrations");
}

/// A campaign raises an event's capacity while people wait, then lowers
/// it again.
pub(super) async fn capacity_changes<S: Store>(store: &S) {
    let event = "2027-06-01-salle-plus-grande";
    let guest = |n: usize| format!("seat-{n}@example.fr");
    for n in 0..5 {
        store
            .rsvp(event, &guest(n), Some(2), minute(90 + n as i64))
            .await
            .must("rsvp");
    }
    let raised = store.promote_waitlist(event, Some(4), minute(96));
    let promoted = raised.await.must("promote_waitlist");
    same(
        promoted.iter().map(|r| r.email.clone()).collect::<Vec<_>>(),
        vec![guest(2), guest(3)],
        "a raised capacity seats the first in line, in order",
    );
    holds(
        promoted.iter().all(|r| r.status == RsvpStatus::Confirmed),
        "the promoted are confirmed",
    );
    let again = store.promote_waitlist(event, Some(4), minute(97));
    same(
        again.await.must("promote_waitlist"),
        Vec::new(),
        "nothing more while full",
    );
    // Lowered to 2 with 4 seated: a seat given back goes to nobody...
    let none = cancel(store, event, &guest(0), Some(2), 98).await;
    same(
        none,
        None,
        "a lowered capacity promotes nobody while over it",
    );
    // ...until fewer than 2 hold one.
    cancel(store, event, &guest(1), Some(2), 99).await;
    let next = cancel(store, event, &guest(2), Some(2), 100).await;
    same(
        next.map(|r| r.email),
        Some(guest(4)),
        "under the capacity again, a cancellation promotes",
    );
    let listing = store.rsvps(event).await.must("rsvps");
    same(count(&listing, RsvpStatus::Confirmed), 2, "two seats taken");
    same(count(&listing, RsvpStatus::Waitlisted), 0, "nobody waits");
}
