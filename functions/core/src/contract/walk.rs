//! Walking every supporter and registration, for audiences: each one
//! once, whatever the page size, with the facts an audience reads, and a
//! broadcast queued twice queued once.

use super::{Must, holds, minute, same, set};
use crate::broadcast;
use crate::store::{Member, Seat, Store};
use estrade_domain::supporter::{EmailStatus, PENDING_TTL, RsvpStatus, SupporterUpdate};
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeMap;

/// Every address of this part ends so; other parts' supporters share the
/// store and are walked too.
const DOMAIN: &str = "@walk.example.fr";

async fn every_member<S: Store>(store: &S, limit: usize, now: Timestamp) -> Vec<Member> {
    let mut found = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = store
            .members(after.take(), limit, now)
            .await
            .must("members");
        holds(page.items.len() <= limit, "a page holds at most its limit");
        found.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return found,
        }
    }
    panic!("store contract: the walk through supporters never ends");
}

async fn every_seat<S: Store>(store: &S, limit: usize) -> Vec<Seat> {
    let mut found = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = store.seats(after.take(), limit).await.must("seats");
        found.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return found,
        }
    }
    panic!("store contract: the walk through registrations never ends");
}

pub(super) async fn members_and_seats_are_walked_once<S: Store>(store: &S) {
    let at = minute(300);
    let people = [
        ("ana", EmailStatus::Confirmed, "59300", &["ecologie"][..]),
        (
            "ben",
            EmailStatus::Confirmed,
            "59000",
            &["ecologie", "logement"][..],
        ),
        ("chloe", EmailStatus::Unsubscribed, "75011", &[][..]),
        ("dan", EmailStatus::Pending, "59300", &["emploi"][..]),
    ];
    for (name, status, postcode, interests) in people {
        let update = SupporterUpdate {
            email: format!("{name}{DOMAIN}"),
            postcode: Some(postcode.to_owned()),
            interests: interests.iter().map(|i| (*i).to_owned()).collect(),
            ..Default::default()
        };
        store
            .upsert_supporter(update, status, Vec::new(), at)
            .await
            .must("upsert_supporter");
    }
    // Pending until confirmed: gone from the walk once the wait is over.
    let waiting = SupporterUpdate {
        email: format!("eve{DOMAIN}"),
        until_confirmed: true,
        ..Default::default()
    };
    store
        .upsert_supporter(waiting, EmailStatus::Pending, Vec::new(), at)
        .await
        .must("upsert_supporter");

    let ours = |members: Vec<Member>| -> Vec<Member> {
        members
            .into_iter()
            .filter(|m| m.email.ends_with(DOMAIN))
            .collect()
    };
    for limit in [1, 2, 3, 1_000] {
        let mut found = ours(every_member(store, limit, at).await);
        found.sort_by(|a, b| a.email.cmp(&b.email));
        let emails: Vec<&str> = found.iter().map(|m| m.email.as_str()).collect();
        same(
            emails,
            vec![
                "ana@walk.example.fr",
                "ben@walk.example.fr",
                "chloe@walk.example.fr",
                "dan@walk.example.fr",
                "eve@walk.example.fr",
            ],
            &format!("every supporter walked once, pages of {limit}"),
        );
        let ben = &found[1];
        same(ben.status, EmailStatus::Confirmed, "a member's status");
        same(
            ben.interests.clone(),
            set(["ecologie", "logement"]),
            "a member's interests",
        );
        same(
            ben.postcode.as_deref(),
            Some("59000"),
            "a member's postcode",
        );
        same(ben.created_at, at, "a member's signup time");
        same(found[2].status, EmailStatus::Unsubscribed, "a status");
    }
    let later = at + PENDING_TTL + 1.hours();
    let after_wait = ours(every_member(store, 1_000, later).await);
    holds(
        !after_wait.iter().any(|m| m.email == format!("eve{DOMAIN}")),
        "a pending supporter past their wait is not walked",
    );
    same(after_wait.len(), 4, "the others are still walked");

    let event = "/agenda/walk-rally/";
    for name in ["ana", "ben", "chloe"] {
        store
            .rsvp(event, &format!("{name}{DOMAIN}"), Some(2), at)
            .await
            .must("rsvp");
    }
    store
        .cancel_rsvp(event, &format!("ana{DOMAIN}"), Some(2), at)
        .await
        .must("cancel_rsvp");
    for limit in [1, 2, 1_000] {
        let seats: BTreeMap<String, RsvpStatus> = every_seat(store, limit)
            .await
            .into_iter()
            .filter(|s| s.event == event)
            .map(|s| (s.email, s.status))
            .collect();
        same(
            seats,
            BTreeMap::from([
                (format!("ana{DOMAIN}"), RsvpStatus::Cancelled),
                (format!("ben{DOMAIN}"), RsvpStatus::Confirmed),
                // Promoted when Ana cancelled.
                (format!("chloe{DOMAIN}"), RsvpStatus::Confirmed),
            ]),
            &format!("every registration walked once, pages of {limit}"),
        );
    }
}

pub(super) async fn a_broadcast_is_queued_once<S: Store>(store: &S) {
    let recipients: Vec<String> = (0..3).map(|i| format!("r{i}{DOMAIN}")).collect();
    let due = minute(400);
    let first = broadcast::enqueue(store, "lettre-walk", &recipients, due, minute(300))
        .await
        .must("enqueue");
    same(
        (first.new, first.already),
        (3, 0),
        "a broadcast queued anew",
    );
    let again = broadcast::enqueue(store, "lettre-walk", &recipients, due, minute(301))
        .await
        .must("enqueue");
    same(
        (again.new, again.already),
        (0, 3),
        "a broadcast queued again adds nothing",
    );
    let item = store
        .outgoing(&broadcast::item_id("lettre-walk", &recipients[0]))
        .await
        .must("outgoing");
    holds(
        item.is_some_and(|i| i.due_at == due && i.updated_at == minute(300)),
        "the first queueing stands",
    );
}
