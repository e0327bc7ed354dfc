//! Broadcasts over the embedded store: an audience by interests and
//! distance resolved exactly, queued twice but once, then sent, one email
//! to each recipient.

mod harness;

use estrade_domain::audience::{Audience, AudienceFilter, EventChoice, PlaceRef, Within};
use estrade_domain::manifest::EmailTemplate;
use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_functions::broadcast::{self, item_id};
use estrade_functions::queue::{SendState, Source};
use estrade_functions::sender::send_due;
use estrade_functions::store::Store;
use harness::Harness;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const START: i64 = 1_803_895_200; // 2027-03-01T10:00:00Z

/// (address, postcode, interests, status): who lives where and wants what.
const PEOPLE: [(&str, &str, &[&str], EmailStatus); 10] = [
    (
        "ana@example.org",
        "59300",
        &["ecology"],
        EmailStatus::Confirmed,
    ), // Valenciennes
    (
        "ben@example.org",
        "59410",
        &["ecology", "housing"],
        EmailStatus::Confirmed,
    ), // Anzin
    (
        "chloe@example.org",
        "59220",
        &["ecology"],
        EmailStatus::Confirmed,
    ), // Denain
    (
        "dan@example.org",
        "59000",
        &["ecology"],
        EmailStatus::Confirmed,
    ), // Lille, 45 km
    (
        "eve@example.org",
        "75001",
        &["ecology"],
        EmailStatus::Confirmed,
    ), // Paris
    (
        "fred@example.org",
        "59300",
        &["housing"],
        EmailStatus::Confirmed,
    ), // wrong tag
    (
        "gael@example.org",
        "59300",
        &["ecology"],
        EmailStatus::Unsubscribed,
    ),
    (
        "hana@example.org",
        "59300",
        &["ecology"],
        EmailStatus::Pending,
    ),
    (
        "ines@example.org",
        "59300",
        &["ecology"],
        EmailStatus::Bounced,
    ),
    ("jo@example.org", "", &["ecology"], EmailStatus::Confirmed), // no postcode
];

fn letter() -> EmailTemplate {
    EmailTemplate {
        subject: "Ecology near {site_title}".to_owned(),
        html: "<p>{hello}</p><p><a href=\"%7Bunsubscribe_url%7D\">stop</a></p>".to_owned(),
        text: "{hello} Our plans.\n{unsubscribe_url}".to_owned(),
        audience: Some(ecology_near_valenciennes()),
        ..Default::default()
    }
}

fn ecology_near_valenciennes() -> Audience {
    Audience {
        tags: vec!["ecology".to_owned()],
        within: Some(Within {
            km: 20.0,
            of: PlaceRef::Named("Valenciennes".to_owned()),
        }),
        ..Default::default()
    }
}

async fn harness() -> (Harness, Arc<AtomicI64>) {
    let seconds = Arc::new(AtomicI64::new(START));
    let h = Harness::with_clock(seconds.clone(), |manifest| {
        manifest.emails.insert("lettre".to_owned(), letter());
    })
    .await;
    let at = Timestamp::from_second(START).unwrap();
    for (email, postcode, interests, status) in PEOPLE {
        let update = SupporterUpdate {
            email: email.to_owned(),
            first_name: Some(email.split('@').next().unwrap().to_owned()),
            postcode: (!postcode.is_empty()).then(|| postcode.to_owned()),
            interests: interests.iter().map(|i| (*i).to_owned()).collect(),
            ..Default::default()
        };
        h.functions
            .store
            .upsert_supporter(update, status, Vec::new(), at)
            .await
            .unwrap();
    }
    (h, seconds)
}

fn filter(h: &Harness, audience: &Audience) -> AudienceFilter {
    let manifest = h.manifest();
    AudienceFilter::compile(audience, &manifest.config, &manifest.events).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn members_come_once_each_whatever_the_page_size() {
    let (h, _) = harness().await;
    let now = Timestamp::from_second(START).unwrap();
    for limit in [1, 3, 10, 11, 5_000] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = h.functions.store.members(after, limit, now).await.unwrap();
            assert!(page.items.len() <= limit);
            seen.extend(page.items.into_iter().map(|m| m.email));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(seen.len(), PEOPLE.len(), "page size {limit}");
        assert_eq!(unique.len(), PEOPLE.len(), "page size {limit}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audience_by_interest_and_distance_is_counted_exactly() {
    let (h, _) = harness().await;
    let now = Timestamp::from_second(START).unwrap();
    let resolved = broadcast::resolve(
        &h.functions.store,
        &filter(&h, &ecology_near_valenciennes()),
        &h.manifest().events,
        now,
    )
    .await
    .unwrap();
    let recipients: BTreeSet<&str> = resolved.recipients.iter().map(String::as_str).collect();
    assert_eq!(
        recipients,
        BTreeSet::from(["ana@example.org", "ben@example.org", "chloe@example.org"])
    );
    assert_eq!(resolved.supporters, 10);
    assert_eq!(
        resolved.excluded_by_status,
        vec![
            (EmailStatus::Bounced, 1),
            (EmailStatus::Pending, 1),
            (EmailStatus::Unsubscribed, 1)
        ]
    );
    // Dan (Lille), Eve (Paris), Fred (housing), Jo (nowhere).
    assert_eq!(resolved.outside, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn attended_means_a_seat_at_an_event_now_over() {
    let (h, _) = harness().await;
    let now = Timestamp::from_second(START).unwrap();
    let events = h.manifest().events;
    let past = events.iter().find(|e| e.end <= now).unwrap().id.clone();
    let future = events.iter().find(|e| e.end > now).unwrap().id.clone();
    let store = &h.functions.store;
    store
        .rsvp(&past, "ana@example.org", None, now)
        .await
        .unwrap();
    store
        .rsvp(&past, "gael@example.org", None, now)
        .await
        .unwrap();
    store
        .rsvp(&future, "ben@example.org", None, now)
        .await
        .unwrap();
    store
        .rsvp(&past, "fred@example.org", None, now)
        .await
        .unwrap();
    store
        .cancel_rsvp(&past, "fred@example.org", None, now)
        .await
        .unwrap();
    let audience = Audience {
        attended: Some(EventChoice::Any),
        ..Default::default()
    };
    let resolved = broadcast::resolve(store, &filter(&h, &audience), &events, now)
        .await
        .unwrap();
    // Gael unsubscribed, Ben's event is to come, Fred cancelled.
    assert_eq!(resolved.recipients, vec!["ana@example.org".to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sending_twice_queues_once_and_each_recipient_gets_one_email() {
    let (h, seconds) = harness().await;
    let now = Timestamp::from_second(START).unwrap();
    let store = &h.functions.store;
    let audience = filter(&h, &ecology_near_valenciennes());
    let events = h.manifest().events;
    let due = now + SignedDuration::from_hours(2);

    let resolved = broadcast::resolve(store, &audience, &events, now)
        .await
        .unwrap();
    let first = broadcast::enqueue(store, "lettre", &resolved.recipients, due, now)
        .await
        .unwrap();
    assert_eq!((first.new, first.already), (3, 0));
    let again = broadcast::resolve(store, &audience, &events, now)
        .await
        .unwrap();
    let second = broadcast::enqueue(store, "lettre", &again.recipients, due, now)
        .await
        .unwrap();
    assert_eq!((second.new, second.already), (0, 3));

    let item = store
        .outgoing(&item_id("lettre", "ana@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, SendState::Queued);
    assert_eq!(item.due_at, due);
    assert_eq!(
        item.source,
        Source::Broadcast {
            broadcast: "lettre".to_owned()
        }
    );

    // Nothing before its time.
    let early = send_due(&h.functions, "early", 100).await.unwrap();
    assert_eq!(early.claimed, 0);
    assert!(h.emails().is_empty());

    seconds.store(START + 2 * 3600, Ordering::SeqCst);
    let report = send_due(&h.functions, "on-time", 100).await.unwrap();
    assert_eq!(report.sent, 3);
    let later = send_due(&h.functions, "later", 100).await.unwrap();
    assert_eq!(later.claimed, 0);

    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for mail in h.emails() {
        assert_eq!(mail.subject, "Ecology near Jane Doe for Council");
        assert!(mail.list_unsubscribe.is_some());
        *per_recipient.entry(mail.to).or_default() += 1;
    }
    assert_eq!(
        per_recipient,
        BTreeMap::from([
            ("ana@example.org".to_owned(), 1),
            ("ben@example.org".to_owned(), 1),
            ("chloe@example.org".to_owned(), 1),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sample_is_filled_for_its_recipient() {
    let (h, _) = harness().await;
    let now = Timestamp::from_second(START).unwrap();
    let ana = h
        .functions
        .store
        .supporter("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    let email = broadcast::sample(&h.functions.settings(), "lettre", &ana, now).unwrap();
    assert_eq!(email.to, "ana@example.org");
    assert_eq!(email.subject, "Ecology near Jane Doe for Council");
    assert!(email.text.contains("ana"), "{}", email.text);
    assert!(email.text.contains("/unsubscribe?token="), "{}", email.text);
    assert!(broadcast::sample(&h.functions.settings(), "nothing", &ana, now).is_none());
}
