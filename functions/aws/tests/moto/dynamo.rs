use crate::support::{aws, unique_name};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use estrade_aws::{DynamoStore, create_table};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, RsvpStatus, SupporterUpdate,
};
use estrade_functions::store::Store;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

async fn new_store(what: &str) -> (DynamoStore, Client) {
    let client = Client::new(&aws().await);
    let table = unique_name(what);
    create_table(&client, &table).await.unwrap();
    (DynamoStore::new(client.clone(), table), client)
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

async fn raw_item(
    client: &Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no item {pk} / {sk}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_store_keeps_the_store_contract() {
    let (store, _) = new_store("contract").await;
    estrade_functions::contract::check_store(Arc::new(store)).await;
}

#[tokio::test]
async fn the_table_has_its_keys_waitlist_index_and_ttl() {
    let (store, client) = new_store("shape").await;
    let described = client
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let table = described.table.unwrap();
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(keys, [("pk", &KeyType::Hash), ("sk", &KeyType::Range)]);
    let index = &table.local_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some("waitlist"));
    let index_keys: Vec<&str> = index
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(index_keys, ["pk", "waitlist_position"]);
    let projection = index.projection().and_then(|p| p.projection_type());
    assert_eq!(projection, Some(&ProjectionType::All));

    let ttl = client
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn items_are_plain_attributes_that_people_can_read() {
    let (store, client) = new_store("items").await;
    let email = "lea.martin@example.fr";
    let update = SupporterUpdate {
        email: email.into(),
        first_name: Some("Léa".into()),
        interests: ["climat".to_owned(), "sante".to_owned()].into(),
        until_confirmed: true,
        ..Default::default()
    };
    let consent = ConsentRecord {
        email: email.into(),
        action: ConsentAction::Given,
        channel: Channel::Email,
        form: "signup".into(),
        page: "/agir/".into(),
        text_hash: "ab".repeat(32),
        build: "b1".into(),
        at: at("2027-03-01T10:00:00.25Z"),
    };
    let when = at("2027-03-01T10:00:00.25Z");
    store
        .upsert_supporter(update, EmailStatus::Pending, vec![consent.clone()], when)
        .await
        .unwrap();

    let item = raw_item(
        &client,
        store.table(),
        &format!("SUPPORTER#{email}"),
        "PROFILE",
    )
    .await;
    assert_eq!(item["kind"], AttributeValue::S("supporter".into()));
    assert_eq!(item["status"], AttributeValue::S("pending".into()));
    assert_eq!(item["first_name"], AttributeValue::S("Léa".into()));
    let AttributeValue::Ss(interests) = &item["interests"] else {
        panic!("interests are a string set: {:?}", item["interests"]);
    };
    assert_eq!(interests.len(), 2);
    assert_eq!(
        item["created_at"],
        AttributeValue::S("2027-03-01T10:00:00.25Z".into())
    );
    assert!(
        !item.contains_key("phone"),
        "what nobody gave is absent, not empty"
    );

    let consents = client
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :consent)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("SUPPORTER#{email}")))
        .expression_attribute_values(":consent", AttributeValue::S("CONSENT#".into()))
        .send()
        .await
        .unwrap();
    let consent_item = &consents.items()[0];
    let AttributeValue::S(sort_key) = &consent_item["sk"] else {
        panic!("a string sort key");
    };
    assert!(
        sort_key.starts_with("CONSENT#001803895200.250000000#"),
        "the consent key starts with its time: {sort_key}"
    );
    assert_eq!(consent_item["action"], AttributeValue::S("given".into()));

    // Unconfirmed, the supporter and the record expire together a week
    // later (epoch seconds, for the TTL); confirming ends it for both.
    let week_later = AttributeValue::N((1_803_895_200 + 7 * 24 * 3600).to_string());
    assert_eq!(item["expires_at"], week_later);
    assert_eq!(consent_item["expires_at"], week_later);
    store
        .set_status(email, EmailStatus::Confirmed, None, when)
        .await
        .unwrap();
    let profile = raw_item(
        &client,
        store.table(),
        &format!("SUPPORTER#{email}"),
        "PROFILE",
    )
    .await;
    assert!(!profile.contains_key("expires_at"), "{profile:?}");
    let record = raw_item(
        &client,
        store.table(),
        &format!("SUPPORTER#{email}"),
        sort_key,
    )
    .await;
    assert!(!record.contains_key("expires_at"), "{record:?}");

    // A rate-limit window expires at its end (epoch seconds, for TTL).
    let window_start = at("2027-03-01T10:00:00Z");
    assert!(
        store
            .allow(
                "signup:192.0.2.9",
                5,
                60,
                window_start + jiff::SignedDuration::from_secs(7)
            )
            .await
            .unwrap()
    );
    let item = raw_item(
        &client,
        store.table(),
        "RATE#signup:192.0.2.9",
        "WINDOW#60#1803895200",
    )
    .await;
    assert_eq!(item["expires_at"], AttributeValue::N("1803895260".into()));
    assert_eq!(item["hits"], AttributeValue::N("1".into()));
}

/// A pending signup the import keeps for good (a file that opts them
/// in): their signup's consent record stops expiring with the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_that_keeps_a_pending_signup_keeps_its_consent() {
    let (store, client) = new_store("import-pending").await;
    let email = "nour@example.fr";
    let when = at("2027-03-01T10:00:00Z");
    let update = SupporterUpdate {
        email: email.into(),
        until_confirmed: true,
        ..Default::default()
    };
    let consent = ConsentRecord {
        email: email.into(),
        action: ConsentAction::Given,
        channel: Channel::Email,
        form: "signup".into(),
        page: "/agir/".into(),
        text_hash: "ab".repeat(32),
        build: "b1".into(),
        at: when,
    };
    store
        .upsert_supporter(update, EmailStatus::Pending, vec![consent], when)
        .await
        .unwrap();
    let person = estrade_domain::import::Person {
        lines: vec![2],
        email: email.into(),
        last_name: Some("Haddad".into()),
        email_opt_in: Some(true),
        ..Default::default()
    };
    let run = estrade_domain::import::ImportRun {
        source: "adherents.csv".into(),
        file_sha256: "cd".repeat(32),
        build: "test".into(),
        prefer: estrade_domain::import::Prefer::Store,
        default_opt_in: false,
        at: when + jiff::SignedDuration::from_hours(1),
    };
    store.import_people(vec![person], run, true).await.unwrap();
    let pk = format!("SUPPORTER#{email}");
    let profile = raw_item(&client, store.table(), &pk, "PROFILE").await;
    assert_eq!(profile["status"], AttributeValue::S("confirmed".into()));
    assert!(!profile.contains_key("expires_at"), "{profile:?}");
    let consents = client
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :consent)")
        .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
        .expression_attribute_values(":consent", AttributeValue::S("CONSENT#".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(consents.items().len(), 2, "the signup's and the import's");
    for record in consents.items() {
        assert!(!record.contains_key("expires_at"), "{record:?}");
    }
}

/// Registrations and cancellations all at once, then the invariants: no
/// more seats than capacity, nobody waiting while a seat is free, the
/// counters agreeing with the registrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancellations_never_leave_a_seat_free_while_people_wait() {
    let (store, client) = new_store("waitlist").await;
    let store = Arc::new(store);
    let event = "2027-06-01-meeting-lille";
    let capacity = Some(3);
    let when = at("2027-05-01T09:00:00Z");
    let mut tasks = tokio::task::JoinSet::new();
    for guest in 0..12 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let email = format!("g{guest}@example.fr");
            store.rsvp(event, &email, capacity, when).await.map(|_| ())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    for guest in 0..12 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            if guest % 2 == 0 {
                store
                    .cancel_rsvp(event, &format!("g{guest}@example.fr"), capacity, when)
                    .await
                    .map(|_| ())
            } else {
                store
                    .rsvp(event, &format!("late{guest}@example.fr"), capacity, when)
                    .await
                    .map(|_| ())
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }

    let listing = store.rsvps(event).await.unwrap();
    let confirmed = listing
        .iter()
        .filter(|r| r.status == RsvpStatus::Confirmed)
        .count();
    let waiting = listing
        .iter()
        .filter(|r| r.status == RsvpStatus::Waitlisted)
        .count();
    let cancelled = listing
        .iter()
        .filter(|r| r.status == RsvpStatus::Cancelled)
        .count();
    assert_eq!((listing.len(), cancelled), (18, 6));
    assert_eq!(confirmed, 3, "12 live registrations fill the 3 seats");
    assert_eq!(waiting, 9);
    let counter = raw_item(&client, store.table(), &format!("EVENT#{event}"), "COUNTER").await;
    assert_eq!(counter["seats_taken"], AttributeValue::N("3".into()));
    assert_eq!(counter["waitlisted"], AttributeValue::N("9".into()));
    assert_eq!(counter["next_position"], AttributeValue::N("18".into()));
}

#[tokio::test]
async fn errors_name_the_operation_and_never_the_supporter() {
    let client = Client::new(&aws().await);
    let store = DynamoStore::new(client, unique_name("missing"));
    let update = SupporterUpdate {
        email: "private.person@example.fr".into(),
        ..Default::default()
    };
    let error = store
        .upsert_supporter(
            update,
            EmailStatus::Pending,
            Vec::new(),
            at("2027-01-01T00:00:00Z"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("ResourceNotFoundException"), "{error}");
    assert!(!error.contains("private.person"), "{error}");
}

/// The race the waitlist count guards against: a cancellation finds nobody
/// waiting and frees its seat while a registration, finding the event
/// full, joins the waitlist. Played on many events at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seat_freed_while_someone_joins_the_waitlist_goes_to_them() {
    let (store, _) = new_store("race").await;
    let store = Arc::new(store);
    let when = at("2027-05-01T09:00:00Z");
    let events: Vec<String> = (0..12)
        .map(|n| format!("2027-06-{:02}-porte-a-porte", n + 1))
        .collect();
    for event in &events {
        for seated in ["a@example.fr", "b@example.fr"] {
            store.rsvp(event, seated, Some(2), when).await.unwrap();
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for event in &events {
        for who in ["a", "b", "c", "d", "e"] {
            let store = Arc::clone(&store);
            let event = event.clone();
            tasks.spawn(async move {
                let email = format!("{who}@example.fr");
                if who == "a" || who == "b" {
                    store
                        .cancel_rsvp(&event, &email, Some(2), when)
                        .await
                        .map(|_| ())
                } else {
                    store.rsvp(&event, &email, Some(2), when).await.map(|_| ())
                }
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    for event in &events {
        let listing = store.rsvps(event).await.unwrap();
        let confirmed = listing
            .iter()
            .filter(|r| r.status == RsvpStatus::Confirmed)
            .count();
        let waiting = listing
            .iter()
            .filter(|r| r.status == RsvpStatus::Waitlisted)
            .count();
        assert_eq!(
            (confirmed, waiting),
            (2, 1),
            "{event}: three live registrations for two seats: {listing:#?}"
        );
    }
}
