//! The send queue: queueing once, claiming what is due, leases that end,
//! sends that stall, retries.

use super::{Must, all_at_once, holds, minute, same};
use crate::queue::{Outgoing, SendState, Settle, Source};
use crate::store::Store;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashSet;
use std::sync::Arc;

fn item(id: &str, due_at: Timestamp) -> Outgoing {
    Outgoing::new(
        id.to_owned(),
        &format!("{id}@example.fr"),
        "invitation",
        due_at,
        Source::Automation {
            automation: "bienvenue".to_owned(),
            step: "invite".to_owned(),
        },
        minute(200),
    )
}

fn ids(items: &[Outgoing]) -> Vec<String> {
    items.iter().map(|item| item.id.clone()).collect()
}

fn settle(id: &str, token: &str, from: SendState, to: SendState, at: Timestamp) -> Settle {
    Settle {
        id: id.to_owned(),
        token: token.to_owned(),
        from,
        to,
        due_at: None,
        message_id: None,
        broadcast: None,
        at,
    }
}

async fn state<S: Store>(store: &S, id: &str) -> SendState {
    match store.outgoing(id).await.must("outgoing") {
        Some(item) => item.state,
        None => panic!("store contract: queue item {id} is missing"),
    }
}

pub(super) async fn claims_settle_and_stalls<S: Store>(store: &S) {
    let start = minute(200);
    let two_days = SignedDuration::from_hours(48);
    let lease = SignedDuration::from_mins(5);
    let added = store
        .enqueue(vec![
            item("q-now", start),
            item("q-later", start + two_days),
            item("q-now", start),
        ])
        .await
        .must("enqueue");
    same(added, 2, "the same id queued twice is queued once");
    let again = store.enqueue(vec![item("q-now", start)]).await;
    same(
        again.must("enqueue"),
        0,
        "queueing a known id again adds nothing",
    );

    let first = store.claim_due(start, start + lease, "t1", 10).await;
    let first = first.must("claim_due");
    same(
        ids(&first),
        vec!["q-now".to_owned()],
        "only what is due is claimed",
    );
    same(first[0].state, SendState::Claimed, "a claimed item says so");
    let rival = store.claim_due(start, start + lease, "t2", 10).await;
    same(
        rival.must("claim_due"),
        Vec::new(),
        "a held item is not claimed twice",
    );

    let stolen = store.settle(settle(
        "q-now",
        "t2",
        SendState::Claimed,
        SendState::Sending,
        start,
    ));
    holds(
        !stolen.await.must("settle"),
        "another token cannot move an item",
    );
    let sending = store.settle(settle(
        "q-now",
        "t1",
        SendState::Claimed,
        SendState::Sending,
        start,
    ));
    holds(sending.await.must("settle"), "the holder moves its item");
    let sent = Settle {
        message_id: Some("<m1@example.fr>".to_owned()),
        ..settle("q-now", "t1", SendState::Sending, SendState::Sent, start)
    };
    holds(
        store.settle(sent.clone()).await.must("settle"),
        "sending then sent",
    );
    holds(
        !store.settle(sent).await.must("settle"),
        "sent once: a repeat changes nothing",
    );
    let done = store.outgoing("q-now").await.must("outgoing");
    same(
        done.and_then(|item| item.message_id),
        Some("<m1@example.fr>".to_owned()),
        "the message id is kept",
    );

    let early = start + two_days - SignedDuration::from_mins(1);
    let nothing = store.claim_due(early, early + lease, "t3", 10).await;
    same(
        nothing.must("claim_due"),
        Vec::new(),
        "47h59m later nothing is due",
    );
    let due = start + two_days;
    let later = store
        .claim_due(due, due + lease, "t3", 10)
        .await
        .must("claim_due");
    same(
        ids(&later),
        vec!["q-later".to_owned()],
        "48h later it is due",
    );

    // The sender holding it stops before the mailer: after its lease,
    // another sender claims it. Nothing lost.
    let after = due + lease + SignedDuration::from_secs(1);
    let reclaimed = store.claim_due(after, after + lease, "t4", 10).await;
    same(
        ids(&reclaimed.must("claim_due")),
        vec!["q-later".to_owned()],
        "an item whose lease ended before the mailer had it is claimed again",
    );
    let old = store.settle(settle(
        "q-later",
        "t3",
        SendState::Claimed,
        SendState::Sending,
        after,
    ));
    holds(
        !old.await.must("settle"),
        "the stopped sender's token no longer counts",
    );
    let handed = store.settle(settle(
        "q-later",
        "t4",
        SendState::Claimed,
        SendState::Sending,
        after,
    ));
    holds(
        handed.await.must("settle"),
        "the new holder hands it to the mailer",
    );
    // This one stops while the mailer has it: never sent again.
    let quiet = after + lease + SignedDuration::from_secs(1);
    let none = store.claim_due(quiet, quiet + lease, "t5", 10).await;
    same(
        none.must("claim_due"),
        Vec::new(),
        "a sending item is never claimed",
    );
    let stalled = store.stalled(quiet).await.must("stalled");
    same(
        ids(&stalled),
        vec!["q-later".to_owned()],
        "a stalled send is found",
    );
    same(
        state(store, "q-later").await,
        SendState::Unknown,
        "and marked unknown",
    );
    same(
        store.stalled(quiet).await.must("stalled"),
        Vec::new(),
        "once",
    );

    // "Try later" from the mailer: queued again for the time it says.
    store
        .enqueue(vec![item("q-retry", start)])
        .await
        .must("enqueue");
    let retry_at = quiet + SignedDuration::from_mins(30);
    store
        .claim_due(quiet, quiet + lease, "t6", 10)
        .await
        .must("claim_due");
    store
        .settle(settle(
            "q-retry",
            "t6",
            SendState::Claimed,
            SendState::Sending,
            quiet,
        ))
        .await
        .must("settle");
    let back = Settle {
        due_at: Some(retry_at),
        ..settle(
            "q-retry",
            "t6",
            SendState::Sending,
            SendState::Queued,
            quiet,
        )
    };
    holds(
        store.settle(back).await.must("settle"),
        "a send can be queued again",
    );
    let waiting = store.outgoing("q-retry").await.must("outgoing");
    same(
        waiting.map(|item| (item.state, item.attempts, item.due_at)),
        Some((SendState::Queued, 1, retry_at)),
        "queued again, for later, with the attempt counted",
    );
    let soon = store.claim_due(quiet + SignedDuration::from_mins(29), retry_at, "t7", 10);
    same(
        soon.await.must("claim_due"),
        Vec::new(),
        "not before its new time",
    );
    let then = store.claim_due(retry_at, retry_at + lease, "t7", 10).await;
    same(
        ids(&then.must("claim_due")),
        vec!["q-retry".to_owned()],
        "then due",
    );

    // Handed back unsent (a paused broadcast, a throttled run): queued
    // again in its place, with no attempt counted, and claimable at once.
    let release = Settle {
        due_at: Some(retry_at),
        ..settle(
            "q-retry",
            "t7",
            SendState::Claimed,
            SendState::Queued,
            retry_at,
        )
    };
    holds(
        store.settle(release).await.must("settle"),
        "a claimed item can be handed back",
    );
    let released = store.outgoing("q-retry").await.must("outgoing");
    same(
        released.map(|item| (item.state, item.attempts, item.due_at)),
        Some((SendState::Queued, 1, retry_at)),
        "handed back unsent: queued, in its place, no attempt counted",
    );
    let again = store.claim_due(retry_at, retry_at + lease, "t8", 10).await;
    same(
        ids(&again.must("claim_due")),
        vec!["q-retry".to_owned()],
        "a handed-back item is claimed again at once",
    );
}

pub(super) async fn concurrent_senders_share_without_overlap<S: Store>(store: &Arc<S>) {
    let at = minute(300);
    let items: Vec<Outgoing> = (0..60).map(|n| item(&format!("c-{n:02}"), at)).collect();
    store.enqueue(items).await.must("enqueue");
    let rounds = all_at_once(4, |sender| {
        let store = Arc::clone(store);
        async move {
            let token = format!("sender-{sender}");
            let mut mine = Vec::new();
            loop {
                let until = at + SignedDuration::from_mins(5);
                let claimed = store.claim_due(at, until, &token, 7).await?;
                if claimed.is_empty() {
                    return Ok::<_, crate::store::StoreError>(mine);
                }
                mine.extend(claimed.into_iter().map(|item| item.id));
            }
        }
    })
    .await;
    let mut seen = HashSet::new();
    let mut total = 0;
    for round in rounds {
        for id in round.must("claim_due") {
            total += 1;
            holds(
                seen.insert(id.clone()),
                &format!("{id} was claimed by two senders"),
            );
        }
    }
    same(
        total,
        60,
        "four senders at once claim every item, each once",
    );
}
