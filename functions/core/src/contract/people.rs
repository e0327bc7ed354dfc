//! Erasure: everything under the address goes, a seat goes to the next
//! in line, other people keep theirs, the address stays known as erased.

use super::{Must, holds, minute, same};
use crate::people::{Erased, forget};
use crate::queue::{Outgoing, Source};
use crate::store::Store;
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, RsvpStatus, SupporterUpdate,
};
use std::collections::BTreeMap;

pub(super) async fn an_erased_address_leaves_nothing_but_its_hash<S: Store>(store: &S) {
    let (gone, stays) = ("erase-me@example.fr", "erase-neighbour@example.fr");
    let event = "2027-06-01-erase-contract";
    for email in [gone, stays] {
        let consent = ConsentRecord {
            email: email.to_owned(),
            action: ConsentAction::Given,
            channel: Channel::Email,
            form: "signup".to_owned(),
            page: "/".to_owned(),
            text_hash: "ef".repeat(32),
            build: "contract".to_owned(),
            at: minute(600),
        };
        let update = SupporterUpdate {
            email: email.to_owned(),
            ..SupporterUpdate::default()
        };
        store
            .upsert_supporter(update, EmailStatus::Confirmed, vec![consent], minute(600))
            .await
            .must("upsert_supporter");
        let item = |id: &str| {
            Outgoing::new(
                format!("erase-contract:{id}:{email}"),
                email,
                "lettre",
                minute(700),
                Source::Broadcast {
                    broadcast: "erase-contract".to_owned(),
                },
                minute(600),
            )
        };
        store
            .enqueue(vec![item("a"), item("b")])
            .await
            .must("enqueue");
    }
    // One seat: the one erased holds it, the other waits.
    store
        .rsvp(event, gone, Some(1), minute(601))
        .await
        .must("rsvp");
    store
        .rsvp(event, stays, Some(1), minute(602))
        .await
        .must("rsvp");
    same(
        store.forgotten(gone).await.must("forgotten"),
        None,
        "nobody erased yet",
    );
    let queued: Vec<String> = store
        .queued_to(gone)
        .await
        .must("queued_to")
        .into_iter()
        .map(|item| item.id)
        .collect();
    same(
        queued,
        vec![
            format!("erase-contract:a:{gone}"),
            format!("erase-contract:b:{gone}"),
        ],
        "a subject access finds the emails queued to them, and only theirs",
    );

    let capacities = BTreeMap::from([(event.to_owned(), Some(1))]);
    let erased = forget(store, gone, &capacities, minute(610))
        .await
        .must("forget");
    same(
        erased,
        Erased {
            supporter: true,
            consents: 1,
            rsvps: 1,
            queued: 2,
        },
        "erasure counts what it removed",
    );
    same(
        store.supporter(gone).await.must("supporter"),
        None,
        "the supporter is gone",
    );
    holds(
        store.consents(gone).await.must("consents").is_empty(),
        "their consents are gone",
    );
    holds(
        store
            .outgoing(&format!("erase-contract:a:{gone}"))
            .await
            .must("outgoing")
            .is_none(),
        "their queued emails are gone",
    );
    holds(
        store.queued_to(gone).await.must("queued_to").is_empty(),
        "nothing is queued to them any more",
    );
    let rsvps = store.rsvps(event).await.must("rsvps");
    same(rsvps.len(), 1, "only the neighbour's registration is left");
    same(
        rsvps[0].status,
        RsvpStatus::Confirmed,
        "the freed seat went to the next in line",
    );
    same(
        store.forgotten(gone).await.must("forgotten"),
        Some(minute(610)),
        "the address is known as erased, and when",
    );
    holds(
        store.supporter(stays).await.must("supporter").is_some()
            && store
                .outgoing(&format!("erase-contract:a:{stays}"))
                .await
                .must("outgoing")
                .is_some(),
        "other people keep everything",
    );
    same(
        store.forgotten(stays).await.must("forgotten"),
        None,
        "others are not erased",
    );
    let again = forget(store, gone, &capacities, minute(620))
        .await
        .must("forget");
    same(
        again,
        Erased::default(),
        "erasing again removes nothing more",
    );
    same(
        store.forgotten(gone).await.must("forgotten"),
        Some(minute(610)),
        "the first erasure's date stays",
    );
}
