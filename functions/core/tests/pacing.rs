//! The sender's pace, its answer to throttling, and paused broadcasts,
//! over the embedded store and a mailer that notes when it was called,
//! with a clock in nanoseconds that only the sender's (fake) sleep moves.

mod harness;

use estrade_domain::manifest::EmailTemplate;
use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings};
use estrade_functions::mailer::{Email, MailError, Mailer};
use estrade_functions::queue::{Outgoing, SendState, Source};
use estrade_functions::sender::{RunOptions, SendReport, StopAt, send_due_with};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use harness::{Harness, KEYS};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const START_NS: i64 = 1_803_895_200_000_000_000; // 2027-03-01T10:00:00Z

/// A clock in nanoseconds that the test (and the fake sleep) moves.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn now(&self) -> Timestamp {
        Timestamp::from_nanosecond(i128::from(self.0.load(Ordering::SeqCst))).unwrap()
    }
    pub fn advance(&self, by: SignedDuration) {
        let nanos = i64::try_from(by.as_nanos()).unwrap();
        self.0.fetch_add(nanos, Ordering::SeqCst);
    }
}

/// Accepts every message, noting its recipient and the clock's time,
/// except the calls numbered in `throttle` (from 1), which it answers as
/// SES does when sent to too fast.
pub struct TestMailer {
    clock: TestClock,
    calls: AtomicUsize,
    pub throttle: Mutex<BTreeSet<usize>>,
    pub accepted: Mutex<Vec<(Timestamp, String)>>,
    /// After accepting call `n`, pauses `lettre` in this store (the
    /// campaign pausing it while a run is under way).
    pub pause_after: Mutex<Option<(usize, SqliteStore)>>,
}

impl Mailer for TestMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.throttle.lock().unwrap().contains(&call) {
            return Err(MailError::Transient("SES TooManyRequestsException".into()));
        }
        self.accepted
            .lock()
            .unwrap()
            .push((self.clock.now(), email.to.clone()));
        let pause = self.pause_after.lock().unwrap().clone();
        if let Some((after, store)) = pause
            && after == call
        {
            let reason = Some("by hand".to_owned());
            store
                .set_broadcast_paused("lettre", reason, self.clock.now())
                .await
                .unwrap();
        }
        Ok(format!("message-{call}"))
    }
}

pub type TestFunctions = Functions<SqliteStore, TestMailer>;

/// Functions over an empty store at START, whose build has the broadcast
/// `lettre` and sends `per_second` a second at most, and `people`
/// confirmed supporters, each with an item of `lettre` due at START.
pub async fn setup(per_second: u32, people: usize) -> (Arc<TestFunctions>, TestClock) {
    let clock = TestClock(Arc::new(AtomicI64::new(START_NS)));
    let mut manifest = Harness::new().await.manifest();
    manifest.config.email.max_per_second = per_second;
    manifest.emails.insert(
        "lettre".to_owned(),
        EmailTemplate {
            subject: "La lettre".to_owned(),
            html: "<p>{hello}</p><p><a href=\"%7Bunsubscribe_url%7D\">stop</a></p>".to_owned(),
            text: "{hello}\n{unsubscribe_url}".to_owned(),
            ..Default::default()
        },
    );
    let mailer = TestMailer {
        clock: clock.clone(),
        calls: AtomicUsize::new(0),
        throttle: Mutex::new(BTreeSet::new()),
        accepted: Mutex::new(Vec::new()),
        pause_after: Mutex::new(None),
    };
    let settings = Settings {
        manifest,
        keys: Keys::parse(KEYS).unwrap(),
        site_url: "https://jane.example".to_owned(),
    };
    let mut functions = Functions::new(SqliteStore::in_memory().unwrap(), mailer, settings);
    let read = clock.clone();
    functions.clock = Arc::new(move || read.now());
    let start = clock.now();
    let mut items = Vec::new();
    for n in 0..people {
        let email = format!("p{n:03}@example.org");
        let update = SupporterUpdate {
            email: email.clone(),
            ..Default::default()
        };
        let store = &functions.store;
        store
            .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), start)
            .await
            .unwrap();
        items.push(letter(&email, start));
    }
    functions.store.enqueue(items).await.unwrap();
    (Arc::new(functions), clock)
}

pub fn letter(email: &str, due_at: Timestamp) -> Outgoing {
    Outgoing::new(
        format!("cast:lettre:{email}"),
        email,
        "lettre",
        due_at,
        Source::Broadcast {
            broadcast: "lettre".to_owned(),
        },
        due_at,
    )
}

/// Run options whose sleep moves `clock` instead of waiting.
pub fn fake_sleep(clock: &TestClock, limit: usize) -> RunOptions {
    let clock = clock.clone();
    RunOptions {
        limit,
        stop: StopAt::Never,
        sleep: Arc::new(move |duration| {
            clock.advance(SignedDuration::try_from(duration).unwrap());
            Box::pin(async {})
        }),
    }
}

pub async fn run(f: &TestFunctions, clock: &TestClock, token: &str) -> SendReport {
    send_due_with(f, token, &fake_sleep(clock, 500))
        .await
        .unwrap()
}

/// Recipients the mailer accepted, each with how many times.
pub fn accepted(f: &TestFunctions) -> Vec<String> {
    let accepted = f.mailer.accepted.lock().unwrap();
    accepted.iter().map(|(_, to)| to.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_never_hands_over_more_than_the_rate_in_any_second() {
    let (f, clock) = setup(5, 60).await;
    let report = run(&f, &clock, "run-1").await;
    assert_eq!((report.claimed, report.sent), (60, 60));
    let times: Vec<Timestamp> = f
        .mailer
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.0)
        .collect();
    for (i, start) in times.iter().enumerate() {
        let end = *start + SignedDuration::from_secs(1);
        let in_window = times[i..].iter().take_while(|t| **t < end).count();
        assert!(
            in_window <= 5,
            "{in_window} emails in the second from {start}"
        );
    }
    // Evenly spaced at 200 ms: 60 emails take 59 intervals, no more.
    let took = times[59].duration_since(times[0]);
    assert_eq!(took, SignedDuration::from_millis(59 * 200));
    let mut unique = accepted(&f);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 60, "everyone once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_sends_at_most_forty_seconds_of_its_rate() {
    let (f, clock) = setup(1, 50).await;
    let first = run(&f, &clock, "run-1").await;
    assert_eq!(
        (first.claimed, first.sent),
        (40, 40),
        "1 a second, 40 s a run"
    );
    let took = clock
        .now()
        .duration_since(Timestamp::from_nanosecond(START_NS.into()).unwrap());
    assert!(took <= SignedDuration::from_secs(40), "the run took {took}");
    clock.advance(SignedDuration::from_secs(20));
    let second = run(&f, &clock, "run-2").await;
    assert_eq!(
        (second.claimed, second.sent),
        (10, 10),
        "the rest, next run"
    );
    assert_eq!(accepted(&f).len(), 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_run_stops_and_every_item_goes_out_later_once() {
    let (f, clock) = setup(14, 5).await;
    f.mailer.throttle.lock().unwrap().insert(3);

    let first = run(&f, &clock, "run-1").await;
    assert_eq!(
        (first.sent, first.retried, first.released, first.throttled),
        (2, 1, 2, true),
        "two sent, the third throttled, the run stops and hands back the rest"
    );
    let throttled = f.store.outgoing("cast:lettre:p002@example.org").await;
    let throttled = throttled.unwrap().unwrap();
    assert_eq!(throttled.state, SendState::Queued);
    assert_eq!(
        throttled.attempts, 1,
        "the throttled send counts as an attempt"
    );
    let backoff = throttled.due_at.duration_since(clock.now());
    assert!(
        backoff > SignedDuration::from_secs(50) && backoff <= SignedDuration::from_mins(1),
        "queued again a minute later, not {backoff}"
    );
    let handed_back = f.store.outgoing("cast:lettre:p004@example.org").await;
    let handed_back = handed_back.unwrap().unwrap();
    assert_eq!(
        (handed_back.state, handed_back.attempts),
        (SendState::Queued, 0),
        "handed back unsent, in its place"
    );

    // The next run (a minute on) takes the two handed back, not yet the
    // throttled one's retry, which is due a minute after the throttle.
    clock.advance(SignedDuration::from_secs(30));
    let second = run(&f, &clock, "run-2").await;
    assert_eq!((second.claimed, second.sent), (2, 2));
    clock.advance(SignedDuration::from_secs(60));
    let third = run(&f, &clock, "run-3").await;
    assert_eq!((third.claimed, third.sent), (1, 1));
    clock.advance(SignedDuration::from_mins(10));
    assert_eq!(run(&f, &clock, "run-4").await, SendReport::default());

    let mut sent = accepted(&f);
    sent.sort();
    let everyone: Vec<String> = (0..5).map(|n| format!("p{n:03}@example.org")).collect();
    assert_eq!(sent, everyone, "each recipient exactly once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_broadcast_sends_nothing_and_resumed_sends_the_rest_once() {
    let (f, clock) = setup(14, 6).await;
    let store = &f.store;
    *f.mailer.pause_after.lock().unwrap() = Some((2, store.clone()));

    // Paused by hand while the run is under way, after the second email.
    let first = run(&f, &clock, "run-1").await;
    assert_eq!(
        (first.claimed, first.sent, first.held),
        (6, 2, 4),
        "the rest of the batch is handed back unsent"
    );
    let held = store.outgoing("cast:lettre:p005@example.org").await;
    let held = held.unwrap().unwrap();
    assert_eq!((held.state, held.attempts), (SendState::Queued, 0));

    // While paused, runs claim none of it.
    clock.advance(SignedDuration::from_mins(10));
    assert_eq!(run(&f, &clock, "run-2").await, SendReport::default());
    assert_eq!(accepted(&f).len(), 2, "nothing sent while paused");

    store
        .set_broadcast_paused("lettre", None, clock.now())
        .await
        .unwrap();
    let resumed = run(&f, &clock, "run-3").await;
    assert_eq!((resumed.claimed, resumed.sent), (4, 4));
    clock.advance(SignedDuration::from_hours(1));
    assert_eq!(run(&f, &clock, "run-4").await, SendReport::default());

    let mut sent = accepted(&f);
    sent.sort();
    let everyone: Vec<String> = (0..6).map(|n| format!("p{n:03}@example.org")).collect();
    assert_eq!(sent, everyone, "each recipient exactly once");
    let control = store.broadcast("lettre").await.unwrap().unwrap();
    assert_eq!(
        control.sent, 6,
        "every sent email counted for its broadcast"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_paused_before_its_time_sends_nothing() {
    let (f, clock) = setup(14, 3).await;
    let reason = Some("relecture".to_owned());
    f.store
        .set_broadcast_paused("lettre", reason, clock.now())
        .await
        .unwrap();
    let report = run(&f, &clock, "run-1").await;
    assert_eq!(report, SendReport::default());
    assert!(accepted(&f).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sender_pauses_a_broadcast_whose_complaints_pass_the_rate() {
    // 999 sent and 2 complaints already: the 1,000th send crosses the
    // minimum, and 2 in 1,000 is above 0.1%.
    let (f, clock) = setup(14, 5).await;
    let store = &f.store;
    for _ in 0..999 {
        store
            .count_broadcast_sent("lettre", clock.now())
            .await
            .unwrap();
    }
    for id in ["m-1", "m-2"] {
        store
            .count_broadcast_complaint("lettre", id, clock.now())
            .await
            .unwrap();
    }
    let report = run(&f, &clock, "run-1").await;
    assert_eq!((report.sent, report.held), (1, 4), "paused after one");
    let control = store.broadcast("lettre").await.unwrap().unwrap();
    assert!(control.paused);
    assert_eq!((control.sent, control.complained), (1_000, 2));
}
