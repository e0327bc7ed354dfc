//! Supporters: creating, merging, concurrent signups, consent history,
//! status changes and topic unsubscribes.

use super::{Must, all_at_once, holds, minute, same, set};
use crate::store::{Store, Upserted};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, PENDING_TTL, Supporter, SupporterUpdate,
};
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeSet;
use std::sync::Arc;

fn form(email: &str) -> SupporterUpdate {
    SupporterUpdate {
        email: email.to_owned(),
        ..Default::default()
    }
}

/// The stored supporter of `email`, who must exist.
async fn stored<S: Store>(store: &S, email: &str) -> Supporter {
    match store.supporter(email).await.must("supporter") {
        Some(supporter) => supporter,
        None => panic!("store contract: the supporter {email} is missing"),
    }
}

fn consent(email: &str, action: ConsentAction, form: &str, at: Timestamp) -> ConsentRecord {
    ConsentRecord {
        email: email.to_owned(),
        action,
        channel: Channel::Email,
        form: form.to_owned(),
        page: "/agir/".to_owned(),
        text_hash: "5d41402abc4b2a76b9719d911017c592".repeat(2),
        build: "build-2027-03-01".to_owned(),
        at,
    }
}

pub(super) async fn upsert_creates_then_merges<S: Store>(store: &S) {
    let email = "ana.diallo@example.fr";
    let unknown = store.supporter(email).await.must("supporter");
    same(unknown, None, "an empty store has no supporter");

    let first = SupporterUpdate {
        first_name: Some("Ana".to_owned()),
        last_name: Some("Diallo".to_owned()),
        postcode: Some("59300".to_owned()),
        interests: set(["logement"]),
        recruiter: Some("claire@example.fr".to_owned()),
        ..form(email)
    };
    let (how, created) = store
        .upsert_supporter(first.clone(), EmailStatus::Pending, Vec::new(), minute(0))
        .await
        .must("upsert_supporter");
    same(how, Upserted::Created, "a first signup creates");
    let wanted = Supporter::new(first, EmailStatus::Pending, minute(0));
    same(&created, &wanted, "a new supporter is the form as sent");
    same(
        stored(store, email).await,
        created,
        "upsert returns what it stored",
    );

    // A later form leaves the names empty, adds a topic and confirms.
    let second = SupporterUpdate {
        phone: Some("+33612345678".to_owned()),
        interests: set(["sante"]),
        skills: set(["tractage"]),
        volunteer: true,
        recruiter: Some("someone-else@example.fr".to_owned()),
        ..form(email)
    };
    let (how, merged) = store
        .upsert_supporter(second, EmailStatus::Confirmed, Vec::new(), minute(1))
        .await
        .must("upsert_supporter");
    same(how, Upserted::Updated, "a second signup updates");
    let kept = "a field a later form leaves empty keeps its value";
    same(merged.first_name.as_deref(), Some("Ana"), kept);
    same(merged.last_name.as_deref(), Some("Diallo"), kept);
    same(merged.postcode.as_deref(), Some("59300"), kept);
    same(
        merged.phone.as_deref(),
        Some("+33612345678"),
        "a new value is stored",
    );
    same(
        &merged.interests,
        &set(["logement", "sante"]),
        "interests are united",
    );
    same(&merged.skills, &set(["tractage"]), "skills are united");
    holds(merged.volunteer, "volunteering is kept");
    let recruiter = merged.recruiter.as_deref();
    same(
        recruiter,
        Some("claire@example.fr"),
        "the first recruiter stays",
    );
    same(
        merged.status,
        EmailStatus::Confirmed,
        "pending then confirmed is confirmed",
    );
    same(merged.created_at, minute(0), "created_at never changes");
    same(merged.updated_at, minute(1), "updated_at is the last write");
    same(
        stored(store, email).await,
        merged,
        "upsert returns what it stored",
    );

    let again = SupporterUpdate {
        first_name: Some("Anaïs".to_owned()),
        ..form(email)
    };
    let (_, merged) = store
        .upsert_supporter(again.clone(), EmailStatus::Pending, Vec::new(), minute(2))
        .await
        .must("upsert_supporter");
    same(
        merged.first_name.as_deref(),
        Some("Anaïs"),
        "a new value replaces the old",
    );
    let status = merged.status;
    same(
        status,
        EmailStatus::Confirmed,
        "confirmed + a pending signup stays confirmed",
    );

    let unsubscribed = store.set_status(email, EmailStatus::Unsubscribed, None, minute(3));
    holds(
        unsubscribed.await.must("set_status"),
        "set_status finds a known supporter",
    );
    let (_, merged) = store
        .upsert_supporter(again, EmailStatus::Pending, Vec::new(), minute(4))
        .await
        .must("upsert_supporter");
    let status = merged.status;
    same(
        status,
        EmailStatus::Pending,
        "unsubscribed + a new signup becomes pending",
    );
}

pub(super) async fn concurrent_identical_signups<S: Store>(store: &Arc<S>) {
    let email = "retry.storm@example.fr";
    let update = SupporterUpdate {
        first_name: Some("Bruno".to_owned()),
        interests: set(["transports"]),
        ..form(email)
    };
    let answers = all_at_once(200, |_| {
        let store = Arc::clone(store);
        let update = update.clone();
        async move {
            let status = EmailStatus::Pending;
            store
                .upsert_supporter(update, status, Vec::new(), minute(10))
                .await
        }
    })
    .await;
    let created = answers
        .into_iter()
        .map(|answer| answer.must("upsert_supporter").0)
        .filter(|how| *how == Upserted::Created)
        .count();
    same(
        created,
        1,
        "200 identical signups at once report one Created",
    );
    let wanted = Supporter::new(update, EmailStatus::Pending, minute(10));
    same(
        stored(&**store, email).await,
        wanted,
        "200 identical signups make one supporter",
    );
}

pub(super) async fn concurrent_forms_all_merge<S: Store>(store: &Arc<S>) {
    let email = "many.forms@example.fr";
    // Twenty forms each add one topic; three more fill other fields.
    let answers = all_at_once(23, |index| {
        let store = Arc::clone(store);
        let mut update = form(email);
        match index {
            20 => update.phone = Some("+33600000000".to_owned()),
            21 => update.postcode = Some("59000".to_owned()),
            22 => update.skills = set(["porte-a-porte"]),
            _ => update.interests = [format!("sujet-{index:02}")].into(),
        }
        async move {
            let at = minute(20) + (index as i64).seconds();
            store
                .upsert_supporter(update, EmailStatus::Pending, Vec::new(), at)
                .await
        }
    })
    .await;
    let created = answers
        .into_iter()
        .map(|answer| answer.must("upsert_supporter").0)
        .filter(|how| *how == Upserted::Created)
        .count();
    same(created, 1, "concurrent forms create one supporter");
    let merged = stored(&**store, email).await;
    let topics: BTreeSet<String> = (0..20).map(|i| format!("sujet-{i:02}")).collect();
    same(
        &merged.interests,
        &topics,
        "concurrent forms keep every interest",
    );
    let lost = "concurrent forms keep every field";
    same(merged.phone.as_deref(), Some("+33600000000"), lost);
    same(merged.postcode.as_deref(), Some("59000"), lost);
    same(&merged.skills, &set(["porte-a-porte"]), lost);
}

pub(super) async fn consent_history_is_appended_once<S: Store>(store: &S) {
    let email = "consent@example.fr";
    let given = consent(email, ConsentAction::Given, "signup", minute(30));
    let confirmed = consent(
        email,
        ConsentAction::Confirmed,
        "confirmation-link",
        minute(31),
    );
    let withdrawn = consent(
        email,
        ConsentAction::Withdrawn,
        "unsubscribe-link",
        minute(32),
    );
    // Each request is sent twice, as a retry would: one record each stays.
    for _ in 0..2 {
        let consent = vec![given.clone()];
        store
            .upsert_supporter(form(email), EmailStatus::Pending, consent, minute(30))
            .await
            .must("upsert_supporter");
    }
    for _ in 0..2 {
        let consent = Some(confirmed.clone());
        let found = store.set_status(email, EmailStatus::Confirmed, consent, minute(31));
        holds(
            found.await.must("set_status"),
            "set_status finds a known supporter",
        );
    }
    let consent_withdrawn = Some(withdrawn.clone());
    let found = store.set_status(
        email,
        EmailStatus::Unsubscribed,
        consent_withdrawn,
        minute(32),
    );
    holds(
        found.await.must("set_status"),
        "set_status finds a known supporter",
    );
    let history = store.consents(email).await.must("consents");
    let wanted = vec![given, confirmed, withdrawn];
    same(
        history,
        wanted,
        "consent history is each distinct record once, oldest first",
    );

    let stranger = "nobody@example.fr";
    let record = consent(
        stranger,
        ConsentAction::Withdrawn,
        "unsubscribe-link",
        minute(33),
    );
    let status = EmailStatus::Unsubscribed;
    let found = store.set_status(stranger, status, Some(record), minute(33));
    holds(
        !found.await.must("set_status"),
        "set_status of an unknown email is false",
    );
    let history = store.consents(stranger).await.must("consents");
    holds(
        history.is_empty(),
        "set_status of an unknown email records no consent",
    );
}

pub(super) async fn status_and_interests<S: Store>(store: &S) {
    let email = "topics@example.fr";
    let update = SupporterUpdate {
        interests: set(["climat", "ecoles", "sante"]),
        ..form(email)
    };
    store
        .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), minute(40))
        .await
        .must("upsert_supporter");

    let found = store.set_status(email, EmailStatus::Bounced, None, minute(41));
    holds(
        found.await.must("set_status"),
        "set_status finds a known supporter",
    );
    let bounced = stored(store, email).await;
    same(
        bounced.status,
        EmailStatus::Bounced,
        "set_status sets the status",
    );
    same(bounced.updated_at, minute(41), "set_status sets updated_at");
    let again = SupporterUpdate {
        first_name: Some("Rebond".to_owned()),
        until_confirmed: true,
        ..form(email)
    };
    store
        .upsert_supporter(again, EmailStatus::Pending, Vec::new(), minute(41))
        .await
        .must("upsert_supporter (a bounced address signs up again)");
    let still = stored(store, email).await;
    same(
        still.status,
        EmailStatus::Bounced,
        "a bounced address stays suppressed when it signs up again",
    );
    same(
        still.first_name.as_deref(),
        Some("Rebond"),
        "what the form gave is kept",
    );
    same(still.expires_at, None, "and it does not expire");

    let unknown = "ghost@example.fr";
    let found = store.set_status(unknown, EmailStatus::Confirmed, None, minute(41));
    holds(
        !found.await.must("set_status"),
        "set_status of an unknown email is false",
    );
    let ghost = store.supporter(unknown).await.must("supporter");
    same(ghost, None, "set_status never creates a supporter");

    let topics = set(["climat", "not-there"]);
    let found = store.remove_interests(email, &topics, minute(42));
    holds(
        found.await.must("remove_interests"),
        "remove_interests finds a known supporter",
    );
    let left = stored(store, email).await.interests;
    same(
        left,
        set(["ecoles", "sante"]),
        "remove_interests removes only those named",
    );
    let found = store.remove_interests(unknown, &topics, minute(42));
    let found = found.await.must("remove_interests");
    holds(!found, "remove_interests of an unknown email is false");
}

pub(super) async fn unconfirmed_signups_expire<S: Store>(store: &S) {
    let waiting = |email: &str| SupporterUpdate {
        until_confirmed: true,
        ..form(email)
    };
    let week = PENDING_TTL;
    let later = minute(100) + week + 1.hours();

    let email = "never.confirmed@example.fr";
    let first = consent(email, ConsentAction::Given, "signup", minute(100));
    let (_, made) = store
        .upsert_supporter(
            waiting(email),
            EmailStatus::Pending,
            vec![first],
            minute(100),
        )
        .await
        .must("upsert_supporter");
    same(
        made.expires_at,
        Some(minute(100) + week),
        "an unconfirmed signup expires after the wait",
    );
    same(
        stored(store, email).await.expires_at,
        Some(minute(100) + week),
        "the expiry is stored",
    );
    let second = consent(email, ConsentAction::Given, "signup", later);
    let (how, anew) = store
        .upsert_supporter(
            waiting(email),
            EmailStatus::Pending,
            vec![second.clone()],
            later,
        )
        .await
        .must("upsert_supporter");
    same(
        how,
        Upserted::Created,
        "a signup after the expiry starts anew",
    );
    same(
        anew.created_at,
        later,
        "the expired supporter is not merged into",
    );
    same(
        store.consents(email).await.must("consents"),
        vec![second],
        "an expired supporter's history is gone",
    );

    let email = "confirmed.in.time@example.fr";
    store
        .upsert_supporter(
            waiting(email),
            EmailStatus::Pending,
            Vec::new(),
            minute(100),
        )
        .await
        .must("upsert_supporter");
    let confirm = consent(email, ConsentAction::Confirmed, "signup", minute(101));
    let found = store.set_status(email, EmailStatus::Confirmed, Some(confirm), minute(101));
    holds(found.await.must("set_status"), "the supporter is found");
    same(
        stored(store, email).await.expires_at,
        None,
        "confirming ends the expiry",
    );
    let (how, kept) = store
        .upsert_supporter(waiting(email), EmailStatus::Pending, Vec::new(), later)
        .await
        .must("upsert_supporter");
    same(
        how,
        Upserted::Updated,
        "a confirmed supporter never expires",
    );
    same(kept.status, EmailStatus::Confirmed, "and is not downgraded");
    same(kept.expires_at, None, "nor given an expiry again");
    same(
        store.consents(email).await.must("consents").len(),
        1,
        "a confirmed supporter's history stays",
    );

    let email = "registered@example.fr";
    let (_, guest) = store
        .upsert_supporter(form(email), EmailStatus::Pending, Vec::new(), minute(100))
        .await
        .must("upsert_supporter");
    same(
        guest.expires_at,
        None,
        "a form needed for itself (an RSVP) does not expire",
    );
}
