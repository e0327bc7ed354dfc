//! The scheduled sender over the embedded store and the outbox, with the
//! clock in the test's hands: nothing early, everything once, and a sender
//! killed at each step of a send.

mod harness;

use estrade_domain::manifest::EmailTemplate;
use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_functions::queue::{Outgoing, SendState, Source};
use estrade_functions::sender::{LEASE, SendReport, StopAt, send_due, send_due_until};
use estrade_functions::store::Store;
use harness::Harness;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const START: i64 = 1_803_895_200; // 2027-03-01T10:00:00Z

struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now(&self) -> Timestamp {
        Timestamp::from_second(self.0.load(Ordering::SeqCst)).unwrap()
    }
    fn set(&self, after: SignedDuration) {
        self.0.store(START + after.as_secs(), Ordering::SeqCst);
    }
}

/// A harness at START whose build has the campaign's invitation email,
/// and a confirmed supporter, Ana.
async fn harness() -> (Harness, Clock) {
    let seconds = Arc::new(AtomicI64::new(START));
    let h = Harness::with_clock(seconds.clone(), |manifest| {
        manifest.emails.insert(
            "invitation".to_owned(),
            EmailTemplate {
                subject: "Réunion près de chez vous".to_owned(),
                html: "<p>{hello} Venez !</p><p><a href=\"%7Bunsubscribe_url%7D\">stop</a></p>"
                    .to_owned(),
                text: "{hello} Venez !\n{unsubscribe_url}".to_owned(),
                ..Default::default()
            },
        );
        manifest.automations.push(invite_automation());
    })
    .await;
    let ana = SupporterUpdate {
        email: "ana@example.org".to_owned(),
        first_name: Some("Ana".to_owned()),
        ..Default::default()
    };
    let at = Timestamp::from_second(START).unwrap();
    h.functions
        .store
        .upsert_supporter(ana, EmailStatus::Confirmed, Vec::new(), at)
        .await
        .unwrap();
    (h, Clock(seconds))
}

fn invitation(email: &str, due_at: Timestamp) -> Outgoing {
    Outgoing::new(
        format!("auto:bienvenue:invite:{email}:1"),
        email,
        "invitation",
        due_at,
        Source::Automation {
            automation: "bienvenue".to_owned(),
            step: "invite".to_owned(),
        },
        due_at,
    )
}

async fn run(h: &Harness, token: &str) -> SendReport {
    send_due(&h.functions, token, 100).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invitation_goes_out_48_hours_later_once() {
    let (h, clock) = harness().await;
    let due = clock.now() + SignedDuration::from_hours(48);
    let queued = h
        .functions
        .store
        .enqueue(vec![invitation("ana@example.org", due)]);
    assert_eq!(queued.await.unwrap(), 1);

    clock.set(SignedDuration::from_hours(48) - SignedDuration::from_mins(1));
    assert_eq!(
        run(&h, "run-1").await,
        SendReport::default(),
        "47h59m: nothing"
    );
    assert!(h.emails().is_empty());

    clock.set(SignedDuration::from_hours(48));
    let report = run(&h, "run-2").await;
    assert_eq!((report.claimed, report.sent), (1, 1));
    let mail = h.only_email();
    assert_eq!(mail.to, "ana@example.org");
    assert_eq!(mail.subject, "Réunion près de chez vous");
    assert!(mail.text.starts_with("Hello Ana"), "{}", mail.text);
    assert!(mail.list_unsubscribe.is_some() && mail.list_unsubscribe_post);

    clock.set(SignedDuration::from_hours(49));
    assert_eq!(run(&h, "run-3").await, SendReport::default(), "sent once");
    assert_eq!(h.emails().len(), 1);
    let item = h
        .functions
        .store
        .outgoing("auto:bienvenue:invite:ana@example.org:1");
    let item = item.await.unwrap().unwrap();
    assert_eq!(item.state, SendState::Sent);
    assert!(item.message_id.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_at_each_step_neither_loses_nor_doubles() {
    let (h, clock) = harness().await;
    let now = clock.now();
    let store = &h.functions.store;
    store
        .enqueue(vec![invitation("ana@example.org", now)])
        .await
        .unwrap();
    let after_lease = LEASE + SignedDuration::from_secs(1);

    // Killed with the item claimed: after the lease, the next run sends it.
    let report = send_due_until(&h.functions, "killed", 10, StopAt::AfterClaim).await;
    assert_eq!(report.unwrap().claimed, 1);
    assert_eq!(run(&h, "too-soon").await.claimed, 0, "the lease holds it");
    clock.set(after_lease);
    assert_eq!(run(&h, "next").await.sent, 1);
    assert_eq!(h.emails().len(), 1, "sent once, nothing lost");

    // Killed after the mailer accepted it, before it was marked sent: the
    // next run finds it stalled and does not send it again.
    let bruno = SupporterUpdate {
        email: "bruno@example.org".to_owned(),
        ..Default::default()
    };
    store
        .upsert_supporter(bruno, EmailStatus::Confirmed, Vec::new(), clock.now())
        .await
        .unwrap();
    store
        .enqueue(vec![invitation("bruno@example.org", clock.now())])
        .await
        .unwrap();
    let report = send_due_until(&h.functions, "killed-2", 10, StopAt::AfterMailer).await;
    assert_eq!(report.unwrap().claimed, 1);
    assert_eq!(h.emails().len(), 2, "the mailer had sent it");
    clock.set(after_lease * 2);
    let report = run(&h, "next-2").await;
    assert_eq!(
        (report.unknown, report.sent),
        (1, 0),
        "stalled: never resent"
    );
    assert_eq!(h.emails().len(), 2, "nothing doubled");
    let item = store.outgoing("auto:bienvenue:invite:bruno@example.org:1");
    assert_eq!(item.await.unwrap().unwrap().state, SendState::Unknown);

    // Killed after marking it sending, before the mailer: the same rule
    // (the store cannot tell this case from the one above).
    let chloe = SupporterUpdate {
        email: "chloe@example.org".to_owned(),
        ..Default::default()
    };
    store
        .upsert_supporter(chloe, EmailStatus::Confirmed, Vec::new(), clock.now())
        .await
        .unwrap();
    store
        .enqueue(vec![invitation("chloe@example.org", clock.now())])
        .await
        .unwrap();
    send_due_until(&h.functions, "killed-3", 10, StopAt::AfterSending)
        .await
        .unwrap();
    clock.set(after_lease * 3);
    assert_eq!(run(&h, "next-3").await.unknown, 1);
    assert_eq!(h.emails().len(), 2, "reported unknown, not sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsubscribed_bounced_and_unknown_people_are_skipped() {
    let (h, clock) = harness().await;
    let store = &h.functions.store;
    let now = clock.now();
    for (email, status) in [
        ("gone@example.org", EmailStatus::Unsubscribed),
        ("bounced@example.org", EmailStatus::Bounced),
        ("waiting@example.org", EmailStatus::Pending),
    ] {
        let update = SupporterUpdate {
            email: email.to_owned(),
            ..Default::default()
        };
        store
            .upsert_supporter(update, status, Vec::new(), now)
            .await
            .unwrap();
    }
    let items = [
        "gone@example.org",
        "bounced@example.org",
        "waiting@example.org",
        "nobody@example.org",
    ]
    .map(|email| invitation(email, now));
    store.enqueue(items.to_vec()).await.unwrap();
    let report = run(&h, "run").await;
    assert_eq!((report.claimed, report.skipped, report.sent), (4, 4, 0));
    assert!(h.emails().is_empty());
    for item in items {
        let state = store.outgoing(&item.id).await.unwrap().unwrap().state;
        assert_eq!(state, SendState::Skipped, "{}", item.email);
    }
}

/// The campaign's welcome automation, as `content/automations/*.yaml`
/// describes it (JSON here, the same shape).
/// The one-step automation the queue items of the first tests belong to.
fn invite_automation() -> estrade_domain::automation::Automation {
    let file: estrade_domain::automation::AutomationFile = serde_json::from_str(
        r#"{ "trigger": "confirmed", "steps": [{ "id": "invite", "send": "invitation" }] }"#,
    )
    .unwrap();
    estrade_domain::automation::Automation::new("bienvenue", file)
}

fn welcome_automation() -> estrade_domain::automation::Automation {
    let file: estrade_domain::automation::AutomationFile = serde_json::from_str(
        r#"{
            "trigger": "confirmed",
            "steps": [
                { "id": "merci", "send": "merci" },
                { "id": "pause", "wait": "48h" },
                { "id": "deja-inscrite", "if": { "has_rsvp": true }, "then": "fin" },
                { "id": "invitation", "send": "invitation" },
                { "id": "fin", "stop": true }
            ]
        }"#,
    )
    .unwrap();
    estrade_domain::automation::Automation::new("bienvenue", file)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supporter_who_confirms_is_thanked_then_invited_48_hours_later() {
    let seconds = Arc::new(AtomicI64::new(START));
    let h = Harness::with_clock(seconds.clone(), |manifest| {
        for (name, subject) in [("merci", "Merci !"), ("invitation", "Une réunion")] {
            manifest.emails.insert(
                name.to_owned(),
                EmailTemplate {
                    subject: subject.to_owned(),
                    html: "<p>{hello}</p><a href=\"%7Bunsubscribe_url%7D\">x</a>".to_owned(),
                    text: "{hello}\n{nearest_events}\n{unsubscribe_url}".to_owned(),
                    ..Default::default()
                },
            );
        }
        manifest.automations.push(welcome_automation());
    })
    .await;
    let clock = Clock(seconds);
    h.post(
        "/api/signup",
        "email=ana%40example.org&first_name=Ana",
        &[harness::ORIGIN],
    )
    .await;
    assert_eq!(
        run(&h, "before-confirming").await.sent,
        0,
        "not confirmed yet"
    );
    let confirm = h.only_email().link("/api/confirm?token=");
    h.get(&confirm).await;
    let subjects = |h: &Harness| -> Vec<String> {
        let mut subjects: Vec<String> = h.emails().into_iter().map(|m| m.subject).collect();
        subjects.reverse();
        subjects
    };
    assert_eq!(run(&h, "at-once").await.sent, 1);
    assert_eq!(subjects(&h).last().map(String::as_str), Some("Merci !"));
    let before = h.emails().len();

    clock.set(SignedDuration::from_hours(48) - SignedDuration::from_mins(1));
    assert_eq!(run(&h, "47h59").await.claimed, 0, "nothing before 48 hours");
    clock.set(SignedDuration::from_hours(48));
    let report = run(&h, "48h").await;
    assert_eq!((report.continued, report.sent), (1, 1), "{report:?}");
    assert_eq!(subjects(&h).last().map(String::as_str), Some("Une réunion"));
    let invitation = h.emails().into_iter().find(|m| m.subject == "Une réunion");
    let text = invitation.map(|m| m.text).unwrap_or_default();
    assert!(
        text.contains("- Future rally; with, punctuation, ")
            && text.contains("/events/future-rally/"),
        "the upcoming event is listed: {text}"
    );
    clock.set(SignedDuration::from_hours(72));
    assert_eq!(run(&h, "later").await, SendReport::default(), "once");
    assert_eq!(h.emails().len(), before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interest_added_by_a_form_starts_its_automation_once() {
    let seconds = Arc::new(AtomicI64::new(START));
    let h = Harness::with_clock(seconds.clone(), |manifest| {
        manifest.emails.insert(
            "ecologie".to_owned(),
            EmailTemplate {
                subject: "Notre plan climat".to_owned(),
                html: "<p>{hello}</p><a href=\"%7Bunsubscribe_url%7D\">x</a>".to_owned(),
                text: "{hello}\n{unsubscribe_url}".to_owned(),
                ..Default::default()
            },
        );
        let file: estrade_domain::automation::AutomationFile = serde_json::from_str(
            r#"{ "trigger": { "tag_added": "ecology" },
                 "steps": [{ "id": "plan", "send": "ecologie" }] }"#,
        )
        .unwrap();
        let automation = estrade_domain::automation::Automation::new("climat", file);
        manifest.automations.push(automation);
    })
    .await;
    let clock = Clock(seconds);
    let signup = |body: &'static str| h.post("/api/signup", body, &[harness::ORIGIN]);
    signup("email=ana%40example.org&interests=housing").await;
    let confirm = h.only_email().link("/api/confirm?token=");
    h.get(&confirm).await;
    assert_eq!(run(&h, "housing").await.claimed, 0, "not the interest");

    clock.set(SignedDuration::from_mins(1));
    signup("email=ana%40example.org&interests=ecology").await;
    assert_eq!(run(&h, "ecology").await.sent, 1);
    let subjects: Vec<String> = h.emails().into_iter().map(|m| m.subject).collect();
    assert!(
        subjects.contains(&"Notre plan climat".to_owned()),
        "{subjects:?}"
    );

    clock.set(SignedDuration::from_mins(2));
    signup("email=ana%40example.org&interests=ecology&interests=housing").await;
    assert_eq!(run(&h, "again").await.claimed, 0, "already had it");
}
