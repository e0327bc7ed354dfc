//! Broadcast control: pausing leaves a broadcast's items queued without
//! holding up the rest, resuming releases them, counts are exact and a
//! complaint counts once.

use super::{Must, holds, minute, same};
use crate::queue::{Outgoing, SendState, Settle, Source};
use crate::store::Store;
use jiff::SignedDuration;

fn cast(broadcast: &str, n: usize) -> Outgoing {
    let email = format!("cast{n:02}@example.fr");
    Outgoing::new(
        format!("cast:{broadcast}:{email}"),
        &email,
        broadcast,
        minute(100),
        Source::Broadcast {
            broadcast: broadcast.to_owned(),
        },
        minute(100),
    )
}

/// Runs before the queue's parts, and leaves nothing due behind it.
pub(super) async fn pause_resume_and_counts<S: Store>(store: &S) {
    let name = "contract-letter";
    same(
        store.broadcast(name).await.must("broadcast"),
        None,
        "a broadcast nothing was recorded about has no record",
    );
    let mut items: Vec<Outgoing> = (0..6).map(|n| cast(name, n)).collect();
    let mut other = cast("contract-other", 9);
    other.due_at = minute(101);
    items.push(other);
    store.enqueue(items).await.must("enqueue");

    let paused = store
        .set_broadcast_paused(name, Some("by hand".to_owned()), minute(101))
        .await
        .must("set_broadcast_paused");
    holds(
        paused.paused && paused.reason.as_deref() == Some("by hand"),
        "a paused broadcast says so, and why",
    );
    same(paused.changed_at, Some(minute(101)), "and since when");
    let now = minute(102);
    let lease = now + SignedDuration::from_mins(5);
    let claimed = store.claim_due(now, lease, "b1", 3).await.must("claim_due");
    same(
        claimed.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        vec!["cast:contract-other:cast09@example.fr".to_owned()],
        "a paused broadcast's items are not claimed, nor keep a later item waiting",
    );
    let left = store.outgoing(&cast(name, 0).id).await.must("outgoing");
    same(
        left.map(|i| i.state),
        Some(SendState::Queued),
        "a paused broadcast's items stay queued",
    );

    let resumed = store
        .set_broadcast_paused(name, None, minute(103))
        .await
        .must("set_broadcast_paused");
    holds(
        !resumed.paused && resumed.reason.is_none(),
        "resumed: running again",
    );
    let later = minute(104);
    let claimed = store
        .claim_due(later, later + SignedDuration::from_mins(5), "b2", 10)
        .await
        .must("claim_due");
    same(claimed.len(), 6, "resumed: every item claimable, once");
    for item in &claimed {
        for (from, to) in [
            (SendState::Claimed, SendState::Sending),
            (SendState::Sending, SendState::Sent),
        ] {
            let step = Settle {
                id: item.id.clone(),
                token: "b2".to_owned(),
                from,
                to,
                due_at: None,
                message_id: None,
                broadcast: Some(name.to_owned()),
                at: later,
            };
            holds(store.settle(step).await.must("settle"), "sent");
        }
    }
    let twice = Settle {
        id: claimed[0].id.clone(),
        token: "b2".to_owned(),
        from: SendState::Sending,
        to: SendState::Sent,
        due_at: None,
        message_id: None,
        broadcast: Some(name.to_owned()),
        at: later,
    };
    holds(
        !store.settle(twice).await.must("settle"),
        "a settle that changes nothing is refused",
    );
    same(
        store
            .broadcast(name)
            .await
            .must("broadcast")
            .map(|c| c.sent),
        Some(6),
        "each email settled as sent counts once for its broadcast",
    );
    let rest = Settle {
        id: "cast:contract-other:cast09@example.fr".to_owned(),
        token: "b1".to_owned(),
        from: SendState::Claimed,
        to: SendState::Skipped,
        due_at: None,
        message_id: None,
        broadcast: Some("contract-other".to_owned()),
        at: later,
    };
    holds(store.settle(rest).await.must("settle"), "skipped");
    same(
        store.broadcast("contract-other").await.must("broadcast"),
        None,
        "an email skipped counts for nothing",
    );

    for _ in 0..3 {
        store
            .count_broadcast_sent(name, later)
            .await
            .must("count_broadcast_sent");
    }
    let first = store
        .count_broadcast_complaint(name, "m-1", later)
        .await
        .must("count_broadcast_complaint");
    same(
        first.map(|c| (c.sent, c.complained)),
        Some((9, 1)),
        "sent and complaints are counted",
    );
    let again = store
        .count_broadcast_complaint(name, "m-1", later)
        .await
        .must("count_broadcast_complaint");
    same(again, None, "a message's complaint counts once");
    let elsewhere = store
        .count_broadcast_complaint("contract-other", "m-1", later)
        .await
        .must("count_broadcast_complaint");
    same(
        elsewhere.map(|c| (c.name, c.complained)),
        Some(("contract-other".to_owned(), 1)),
        "broadcasts are counted apart",
    );

    store
        .set_broadcast_paused(name, Some("again".to_owned()), later)
        .await
        .must("set_broadcast_paused");
    let resumed = store
        .set_broadcast_paused(name, None, later)
        .await
        .must("set_broadcast_paused");
    same(
        (
            resumed.sent,
            resumed.complained,
            resumed.sent_at_resume,
            resumed.complained_at_resume,
        ),
        (9, 1, 9, 1),
        "a resume notes the counts as they are",
    );
    same(
        store.broadcast(name).await.must("broadcast"),
        Some(resumed),
        "the record reads back as written",
    );
}
