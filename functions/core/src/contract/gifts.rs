//! Gifts: once per payment, within the cap, receipts without gaps.

use super::{Must, all_at_once, holds, minute, same};
use crate::gifts::{Gift, GiftStatus, Recorded};
use crate::store::Store;
use estrade_domain::donation::{Donor, Frequency};
use std::collections::BTreeSet;
use std::sync::Arc;

/// 4,600 EUR in cents.
const CAP: i64 = 460_000;

fn gift(payment: &str, donor: &str, amount: i64) -> Gift {
    Gift {
        payment: payment.to_owned(),
        payment_intent: Some(format!("pi_{payment}")),
        event: format!("evt_{payment}"),
        election: "contract-2027".to_owned(),
        period: "contract-2027".to_owned(),
        donor: donor.to_owned(),
        amount,
        refunded: 0,
        currency: "eur".to_owned(),
        frequency: Frequency::Once,
        at: minute(400),
        status: GiftStatus::Counted,
        receipt: None,
    }
}

pub(super) async fn donors_are_kept_by_key<S: Store>(store: &S) {
    let donor = Donor {
        first_name: "Élise".into(),
        last_name: "Marie-Dupont".into(),
        birth_date: "1980-04-02".into(),
        address: "12 rue des Lilas".into(),
        postcode: "59300".into(),
        city: "Valenciennes".into(),
        country: "FR".into(),
        email: "elise@example.org".into(),
        phone: Some("+33612345678".into()),
    };
    same(
        store.donor(&donor.key()).await.must("donor"),
        None,
        "an unknown donor is None",
    );
    store
        .save_donor(&donor, minute(400))
        .await
        .must("save_donor");
    let moved = Donor {
        address: "3 place d'Armes".into(),
        email: "elise@example.net".into(),
        ..donor.clone()
    };
    store
        .save_donor(&moved, minute(401))
        .await
        .must("save_donor");
    same(
        store.donor(&donor.key()).await.must("donor"),
        Some(moved),
        "saving a donor again keeps the latest form",
    );
}

pub(super) async fn gifts_count_once_within_the_cap<S: Store>(store: &S) {
    let donor = "donor-a";
    let (how, first) = store
        .record_gift(gift("g1", donor, 100_000), CAP)
        .await
        .must("record_gift");
    same(how, Recorded::Counted, "a first gift is counted");
    same(first.status, GiftStatus::Counted, "a counted gift says so");
    same(first.receipt, Some(1), "the election's first receipt is 1");
    let (how, again) = store
        .record_gift(gift("g1", donor, 100_000), CAP)
        .await
        .must("record_gift");
    same(how, Recorded::Known, "the same payment again is known");
    same(
        again,
        first.clone(),
        "a known payment comes back as recorded",
    );
    let (_, second) = store
        .record_gift(gift("g2", donor, 300_000), CAP)
        .await
        .must("record_gift");
    same(second.receipt, Some(2), "receipts follow each other");
    same(
        store
            .donor_total("contract-2027", donor)
            .await
            .must("total"),
        400_000,
        "the total sums counted gifts, each once",
    );
    // 400,000 + 60,001 > 460,000.
    let (how, over) = store
        .record_gift(gift("g3", donor, 60_001), CAP)
        .await
        .must("record_gift");
    same(how, Recorded::OverCap, "a gift past the cap is not counted");
    same(
        over.status,
        GiftStatus::OverCap,
        "it is kept as over the cap",
    );
    same(over.receipt, None, "a gift over the cap gets no receipt");
    let (how, _) = store
        .record_gift(gift("g3", donor, 60_001), CAP)
        .await
        .must("record_gift");
    same(how, Recorded::Known, "a gift over the cap is known after");
    let (how, last) = store
        .record_gift(gift("g4", donor, 60_000), CAP)
        .await
        .must("record_gift");
    same(how, Recorded::Counted, "up to the cap exactly is counted");
    same(last.receipt, Some(3), "an over-cap gift took no number");
    same(
        store
            .donor_total("contract-2027", donor)
            .await
            .must("total"),
        CAP,
        "the total is at the cap",
    );
    // Another period (a party's next year) starts a new total; another
    // election numbers its own receipts.
    let next_year = Gift {
        period: "contract-2027-2028".into(),
        ..gift("g5", donor, 1_000)
    };
    let (how, _) = store.record_gift(next_year, CAP).await.must("record_gift");
    same(how, Recorded::Counted, "each period has its own total");
    let other = Gift {
        election: "contract-2032".into(),
        period: "contract-2032".into(),
        ..gift("g6", donor, 1_000)
    };
    let (_, other) = store.record_gift(other, CAP).await.must("record_gift");
    same(other.receipt, Some(1), "each election numbers its receipts");
    same(
        store
            .donor_total("contract-2027", "donor-b")
            .await
            .must("total"),
        0,
        "a donor who gave nothing has a total of 0",
    );
}

pub(super) async fn refunds_come_off_the_total<S: Store>(store: &S) {
    let donor = "donor-r";
    let total = || store.donor_total("contract-2027", donor);
    store
        .record_gift(gift("r1", donor, 50_000), CAP)
        .await
        .must("record_gift");
    let partly = store.refund_gift("pi_r1", 20_000).await.must("refund_gift");
    let partly = partly.unwrap_or_else(|| panic!("store contract: a refund finds its gift"));
    same(partly.refunded, 20_000, "a partial refund is noted");
    same(
        partly.status,
        GiftStatus::Counted,
        "a partly refunded gift still counts",
    );
    same(
        total().await.must("total"),
        30_000,
        "a refund comes off the total",
    );
    // Stripe's amounts are cumulative: the same again changes nothing,
    // a smaller one (an older event, late) neither.
    store.refund_gift("pi_r1", 20_000).await.must("refund_gift");
    store.refund_gift("pi_r1", 10_000).await.must("refund_gift");
    same(
        total().await.must("total"),
        30_000,
        "refunds are not taken twice",
    );
    let whole = store.refund_gift("pi_r1", 50_000).await.must("refund_gift");
    same(
        whole.map(|g| g.status),
        Some(GiftStatus::Refunded),
        "a gift paid back in full is refunded",
    );
    same(
        total().await.must("total"),
        0,
        "a refunded gift counts nothing",
    );
    same(
        store
            .refund_gift("pi_unknown", 100)
            .await
            .must("refund_gift"),
        None,
        "a refund of no known gift finds none",
    );
    // Refunding a gift over the cap changes no total.
    store
        .record_gift(gift("r2", donor, CAP + 1), CAP)
        .await
        .must("record_gift");
    let back = store
        .refund_gift("pi_r2", CAP + 1)
        .await
        .must("refund_gift");
    same(
        back.map(|g| g.status),
        Some(GiftStatus::Refunded),
        "a gift over the cap is refunded",
    );
    same(total().await.must("total"), 0, "and counted nothing");
}

/// The twenty gifts of 300 EUR of one donor, recorded at once.
async fn race<S: Store>(store: &Arc<S>) -> Vec<(Recorded, Gift)> {
    all_at_once(20, |i| {
        let store = Arc::clone(store);
        async move {
            store
                .record_gift(gift(&format!("race{i}"), "donor-race", 30_000), CAP)
                .await
        }
    })
    .await
    .into_iter()
    .map(|answer| answer.must("record_gift"))
    .collect()
}

pub(super) async fn gifts_racing_for_the_cap<S: Store>(store: &Arc<S>) {
    // Twenty gifts of 300 EUR at once: fifteen fit in 4,600 EUR (4,500).
    let gifts = race(store).await;
    let counted: Vec<&Gift> = gifts
        .iter()
        .filter(|(how, _)| *how == Recorded::Counted)
        .map(|(_, g)| g)
        .collect();
    same(
        counted.len(),
        15,
        "of 20 racing gifts, those within the cap count",
    );
    same(
        store
            .donor_total("contract-2027", "donor-race")
            .await
            .must("total"),
        450_000,
        "racing gifts never break the cap",
    );
    let numbers: BTreeSet<u64> = counted.iter().filter_map(|g| g.receipt).collect();
    holds(
        numbers.len() == 15,
        "racing gifts get distinct receipt numbers",
    );
    // Racing again with the same payments counts nothing more.
    holds(
        race(store)
            .await
            .into_iter()
            .all(|(how, _)| how == Recorded::Known),
        "payments redelivered at once are all known",
    );
    // Every gift is walked once, whatever the page size.
    let walked = every_gift(&**store, 7).await;
    let mut seen = BTreeSet::new();
    for g in &walked {
        holds(seen.insert(g.payment.clone()), "a gift is walked once");
    }
    same(
        every_gift(&**store, 50).await.len(),
        walked.len(),
        "pages of any size walk the same gifts",
    );
    let raced = seen.iter().filter(|p| p.starts_with("race")).count();
    same(raced, 20, "the walk finds every gift");
    // The receipts of the election, all together, have no gap.
    let mut receipts: Vec<u64> = walked
        .iter()
        .filter(|g| g.election == "contract-2027")
        .filter_map(|g| g.receipt)
        .collect();
    receipts.sort_unstable();
    let wanted: Vec<u64> = (1..=receipts.len() as u64).collect();
    same(
        receipts,
        wanted,
        "receipt numbers have no gap and no repeat",
    );
}

/// Every gift, walked a page of `limit` at a time.
async fn every_gift<S: Store>(store: &S, limit: usize) -> Vec<Gift> {
    let mut gifts = Vec::new();
    let mut after = None;
    loop {
        let page = store.gifts(after, limit).await.must("gifts");
        gifts.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return gifts,
        }
    }
}

pub(super) async fn payment_events_are_noted<S: Store>(store: &S) {
    let seen = |id: &'static str| store.payment_event_seen(id);
    holds(
        !seen("evt_contract_1").await.must("payment_event_seen"),
        "an event is new until noted",
    );
    store
        .note_payment_event("evt_contract_1", minute(500))
        .await
        .must("note_payment_event");
    store
        .note_payment_event("evt_contract_1", minute(501))
        .await
        .must("note_payment_event");
    holds(
        seen("evt_contract_1").await.must("payment_event_seen"),
        "a noted event is seen",
    );
    holds(
        !seen("evt_contract_2").await.must("payment_event_seen"),
        "events are told apart",
    );
}
