//! The donate function against a stand-in for Stripe's API on 127.0.0.1,
//! and Stripe's webhook fed events signed as Stripe signs them.

mod harness;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use estrade_domain::audience::{Audience, AudienceFilter};
use estrade_domain::automation::{Automation, AutomationFile};
use estrade_domain::donation::{Donor, META_DONOR, META_ELECTION, stripe_signature};
use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_functions::automations::item_id;
use estrade_functions::broadcast;
use estrade_functions::gifts::GiftStatus;
use estrade_functions::payments::{Payments, StripeCheckout};
use estrade_functions::store::Store;
use harness::{Harness, JSON, ORIGIN, encode};
use serde_json::json;
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec_test_donations";
/// 2027-03-01T10:00:00Z.
const NOW: i64 = 1_803_895_200;

/// What the stand-in received, and how it answers.
#[derive(Default)]
struct Stripe {
    requests: Mutex<Vec<(HeaderMap, String)>>,
    /// 200 with a session, or this status.
    answer: AtomicU16,
    /// The subscriptions cancelled.
    cancelled: Mutex<Vec<String>>,
}

async fn cancel(
    State(stripe): State<Arc<Stripe>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    assert_eq!(headers["authorization"], "Bearer sk_test_estrade");
    stripe.cancelled.lock().unwrap().push(id.clone());
    (
        StatusCode::OK,
        json!({"id": id, "object": "subscription", "status": "canceled"}).to_string(),
    )
}

async fn sessions(
    State(stripe): State<Arc<Stripe>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let n = {
        let mut requests = stripe.requests.lock().unwrap();
        requests.push((headers, String::from_utf8_lossy(&body).into_owned()));
        requests.len()
    };
    match stripe.answer.load(Ordering::SeqCst) {
        200 => (
            StatusCode::OK,
            json!({"id": format!("cs_test_{n}"), "object": "checkout.session",
                   "url": format!("https://checkout.stripe.test/c/pay/cs_test_{n}")})
            .to_string(),
        ),
        status => (
            StatusCode::from_u16(status).unwrap(),
            json!({"error": {"type": "invalid_request_error", "code": "parameter_invalid",
                             "message": "the stand-in refuses"}})
            .to_string(),
        ),
    }
}

struct Setup {
    h: Harness,
    stripe: Arc<Stripe>,
    clock: Arc<AtomicI64>,
}

async fn setup() -> Setup {
    let stripe = Arc::new(Stripe::default());
    stripe.answer.store(200, Ordering::SeqCst);
    let app = Router::new()
        .route("/v1/checkout/sessions", post(sessions))
        .route("/v1/subscriptions/{id}", axum::routing::delete(cancel))
        .with_state(stripe.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let checkout =
        StripeCheckout::new(&format!("http://127.0.0.1:{port}"), "sk_test_estrade").unwrap();
    let payments = Payments {
        checkout: Arc::new(checkout),
        webhook_secrets: vec!["whsec_newer".to_owned(), SECRET.to_owned()],
    };
    let clock = Arc::new(AtomicI64::new(NOW));
    // A thank-you automation for donors.
    let thanks: AutomationFile = serde_json::from_value(json!({
        "trigger": {"form": "donation"},
        "steps": [{"id": "merci", "send": "merci-don"}],
    }))
    .unwrap();
    let h = Harness::with_payments(payments, clock.clone(), |manifest| {
        manifest
            .automations
            .push(Automation::new("merci-don", thanks));
    })
    .await;
    Setup { h, stripe, clock }
}

fn donor() -> Donor {
    Donor {
        first_name: "Élise".into(),
        last_name: "Dupont".into(),
        birth_date: "1980-04-02".into(),
        address: "12 rue des Lilas".into(),
        postcode: "59300".into(),
        city: "Valenciennes".into(),
        country: "FR".into(),
        email: "elise@example.org".into(),
        phone: None,
    }
}

/// The donation form as the theme renders it, filled.
fn form(amount: &str, frequency: &str, email: &str) -> String {
    let d = donor();
    // `other=40`: the "another amount" choice, typed.
    let (amount, other) = match amount.strip_prefix("other=") {
        Some(typed) => ("other", typed),
        None => (amount, ""),
    };
    [
        ("amount", amount),
        ("amount_other", other),
        ("frequency", frequency),
        ("first_name", &d.first_name),
        ("last_name", &d.last_name),
        ("birth_date", &d.birth_date),
        ("email", email),
        ("address", &d.address),
        ("postcode", &d.postcode),
        ("city", &d.city),
        ("country", &d.country),
        ("declare_natural_person", "on"),
        ("declare_nationality", "on"),
        ("declare_cap", "on"),
        ("source", "/give/"),
        ("thanks", "/thanks/"),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

/// A field of the form posted to Stripe, decoded enough for the values
/// checked here.
fn field(body: &str, name: &str) -> Option<String> {
    let wanted = format!("{}=", encode(name));
    body.split('&')
        .find(|pair| pair.starts_with(&wanted))
        .map(|pair| pair[wanted.len()..].replace('+', " "))
        .map(|v| {
            // Enough decoding for the values checked here.
            v.replace("%40", "@")
                .replace("%3A", ":")
                .replace("%2F", "/")
        })
}

/// A Stripe event, signed at the harness's clock.
fn signed(s: &Setup, kind: &str, object: serde_json::Value) -> (Vec<u8>, String) {
    let at = s.clock.load(Ordering::SeqCst);
    let body = json!({"id": format!("evt_{kind}_{}", object["id"].as_str().unwrap_or("x")),
                      "object": "event", "type": kind, "created": at,
                      "data": {"object": object}})
    .to_string()
    .into_bytes();
    let signature = stripe_signature(SECRET, at, &body);
    (body, signature)
}

async fn deliver(s: &Setup, body: Vec<u8>, signature: &str) -> harness::Answer {
    s.h.post_bytes(
        "/api/stripe/webhook",
        body,
        &[
            ("content-type", "application/json"),
            ("stripe-signature", signature),
        ],
    )
    .await
}

fn paid_session(payment_intent: &str, amount: i64, donor: &str) -> serde_json::Value {
    json!({"id": format!("cs_{payment_intent}"), "object": "checkout.session",
           "mode": "payment", "payment_status": "paid", "payment_intent": payment_intent,
           "amount_total": amount, "currency": "eur",
           "metadata": {META_DONOR: donor, META_ELECTION: "election", "estrade_frequency": "once"}})
}

#[tokio::test]
async fn a_donation_goes_to_stripe_checkout_with_what_the_webhook_needs() {
    let s = setup().await;
    let answer =
        s.h.post(
            "/api/donate",
            &form("50", "once", "Elise@Example.org"),
            &[ORIGIN],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.header("location"),
        "https://checkout.stripe.test/c/pay/cs_test_1"
    );
    let (headers, body) = s.stripe.requests.lock().unwrap()[0].clone();
    assert_eq!(headers["authorization"], "Bearer sk_test_estrade");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert!(!headers["idempotency-key"].is_empty());
    let key = donor().key();
    for (name, wanted) in [
        ("mode", "payment"),
        ("submit_type", "donate"),
        ("line_items[0][price_data][unit_amount]", "5000"),
        ("line_items[0][price_data][currency]", "eur"),
        ("customer_email", "elise@example.org"),
        ("success_url", "https://jane.example/thanks/"),
        ("cancel_url", "https://jane.example/give/"),
        ("metadata[estrade_donor]", key.as_str()),
        ("metadata[estrade_election]", "election"),
        ("payment_intent_data[metadata][estrade_donor]", key.as_str()),
    ] {
        assert_eq!(
            field(&body, name).as_deref(),
            Some(wanted),
            "{name} in {body}"
        );
    }
    assert!(field(&body, "line_items[0][price_data][recurring][interval]").is_none());
    // What the receipt will need is kept, under the donor's key.
    let kept = s.h.functions.store.donor(&key).await.unwrap().unwrap();
    assert_eq!(kept.email, "elise@example.org");
    // No money is counted before Stripe says it arrived.
    assert_eq!(
        s.h.functions
            .store
            .donor_total("election", &key)
            .await
            .unwrap(),
        0
    );

    // The same form sent twice (a double click) makes one session at
    // Stripe: the same idempotency key; another page, another key.
    s.h.post(
        "/api/donate",
        &form("50", "once", "Elise@Example.org"),
        &[ORIGIN],
    )
    .await;
    let other_page = form("50", "once", "Elise@Example.org").replace("%2Fgive%2F", "%2Fdon%2F");
    s.h.post("/api/donate", &other_page, &[ORIGIN]).await;
    let keys: Vec<String> = s.stripe.requests.lock().unwrap()[..3]
        .iter()
        .map(|(headers, _)| headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
    s.stripe.requests.lock().unwrap().drain(1..);

    // Monthly, with script: JSON, and a subscription.
    let answer =
        s.h.post(
            "/api/donate",
            &form("20", "monthly", "elise@example.org"),
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        answer["redirect"],
        "https://checkout.stripe.test/c/pay/cs_test_2"
    );
    assert_eq!(
        answer["result"]["checkout"], "cs_test_2",
        "the script may leave the site"
    );
    let (_, body) = s.stripe.requests.lock().unwrap()[1].clone();
    assert_eq!(field(&body, "mode").as_deref(), Some("subscription"));
    assert_eq!(
        field(&body, "line_items[0][price_data][recurring][interval]").as_deref(),
        Some("month")
    );
    assert_eq!(
        field(&body, "subscription_data[metadata][estrade_donor]").as_deref(),
        Some(key.as_str())
    );
    assert!(field(&body, "submit_type").is_none());
}

#[tokio::test]
async fn the_law_and_the_cap_are_checked_before_any_payment() {
    let s = setup().await;
    // A declaration not ticked.
    let body = form("50", "once", "elise@example.org").replace("&declare_cap=on", "");
    let answer = s.h.post("/api/donate", &body, &[ORIGIN, JSON]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("declare_cap"), "{}", answer.body);
    // More than the cap in one gift, a birth date that is not one, a
    // frequency not offered.
    for (amount, frequency, birth, wrong) in [
        ("other=4601", "once", "1980-04-02", "amount"),
        ("50", "once", "1980-02-31", "birth_date"),
        ("50", "weekly", "1980-04-02", "frequency"),
    ] {
        let body = form(amount, frequency, "elise@example.org").replace("1980-04-02", birth);
        let answer = s.h.post("/api/donate", &body, &[ORIGIN, JSON]).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
        assert!(answer.body.contains(wrong), "{wrong}: {}", answer.body);
    }
    // A campaign that takes gifts from residents of some countries only.
    let residents = Harness::with_payments(
        Payments {
            checkout: Arc::new(StripeCheckout::new("http://127.0.0.1:9", "sk_test_x").unwrap()),
            webhook_secrets: vec![SECRET.to_owned()],
        },
        Arc::new(AtomicI64::new(NOW)),
        |m| m.config.donations.countries = vec!["BE".to_owned()],
    )
    .await;
    let answer = residents
        .post(
            "/api/donate",
            &form("50", "once", "elise@example.org"),
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("\"country\""), "{}", answer.body);
    // A donor who gave 4,560 EUR may give 40 more, not 50: under another
    // email, a name written otherwise, it is the same person.
    let key = donor().key();
    let (body, signature) = signed(
        &s,
        "checkout.session.completed",
        paid_session("pi_big", 456_000, &key),
    );
    assert_eq!(deliver(&s, body, &signature).await.status, StatusCode::OK);
    let other_spelling = form("50", "once", "e.dupont@example.net").replace("Dupont", "DUPONT");
    let answer =
        s.h.post("/api/donate", &other_spelling, &[ORIGIN, JSON])
            .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("legal cap"), "{}", answer.body);
    let answer =
        s.h.post(
            "/api/donate",
            &form("other=40", "once", "x@example.net"),
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Only that last one reached Stripe; a foreign origin reaches nothing.
    assert_eq!(s.stripe.requests.lock().unwrap().len(), 1);
    let answer =
        s.h.post(
            "/api/donate",
            &form("50", "once", "x@example.net"),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(s.stripe.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn trouble_at_stripe_asks_the_donor_to_try_again() {
    let s = setup().await;
    for status in [500, 429, 400, 401] {
        s.stripe.answer.store(status, Ordering::SeqCst);
        let answer =
            s.h.post(
                "/api/donate",
                &form("50", "once", "elise@example.org"),
                &[ORIGIN],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "Stripe answered {status}"
        );
        assert_eq!(answer.header("retry-after"), "30");
    }
    // Without a processor, donations are closed, and said to be.
    let h = Harness::new().await;
    let answer = h
        .post(
            "/api/donate",
            &form("50", "once", "elise@example.org"),
            &[ORIGIN, JSON],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.body.contains("not open"), "{}", answer.body);
}

#[tokio::test]
async fn a_paid_gift_is_counted_once_and_receipted() {
    let s = setup().await;
    s.h.post(
        "/api/donate",
        &form("50", "once", "elise@example.org"),
        &[ORIGIN],
    )
    .await;
    let key = donor().key();
    let (body, signature) = signed(
        &s,
        "checkout.session.completed",
        paid_session("pi_1", 5_000, &key),
    );
    let answer = deliver(&s, body.clone(), &signature).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("\"counted\""), "{}", answer.body);
    let receipt = s.h.only_email();
    assert_eq!(receipt.to, "elise@example.org");
    assert_eq!(receipt.subject, "Your donation receipt no. election-000001");
    assert!(receipt.text.contains("€50.00"), "{}", receipt.text);
    assert!(
        receipt.text.contains("Élise Dupont, born 1980-04-02"),
        "{}",
        receipt.text
    );
    assert!(
        receipt
            .text
            .contains("12 rue des Lilas, 59300 Valenciennes, FR"),
        "{}",
        receipt.text
    );
    assert!(
        receipt.list_unsubscribe.is_none(),
        "a receipt is not marketing"
    );
    let store = &s.h.functions.store;
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 5_000);
    // Delivered again (Stripe does, now and then): acknowledged, and
    // nothing done twice.
    let answer = deliver(&s, body, &signature).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("already-handled"), "{}", answer.body);
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 5_000);
    assert_eq!(s.h.emails().len(), 1, "one receipt");
    // Another event about the same payment counts nothing either (its
    // receipt, the same number, goes again: the first may have failed).
    let (body, signature) = signed(
        &s,
        "checkout.session.async_payment_succeeded",
        paid_session("pi_1", 5_000, &key),
    );
    let answer = deliver(&s, body, &signature).await;
    assert!(
        answer.body.contains("known-receipt-sent-again"),
        "{}",
        answer.body
    );
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 5_000);
    assert!(
        s.h.emails()
            .iter()
            .all(|m| m.subject.ends_with("election-000001"))
    );
    // A SEPA debit: completed unpaid counts nothing; its success does.
    let mut unpaid = paid_session("pi_sepa", 10_000, &key);
    unpaid["payment_status"] = json!("unpaid");
    let (body, signature) = signed(&s, "checkout.session.completed", unpaid);
    assert!(
        deliver(&s, body, &signature)
            .await
            .body
            .contains("awaiting-payment")
    );
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 5_000);
    let (body, signature) = signed(
        &s,
        "checkout.session.async_payment_succeeded",
        paid_session("pi_sepa", 10_000, &key),
    );
    assert!(
        deliver(&s, body, &signature)
            .await
            .body
            .contains("\"counted\"")
    );
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 15_000);
    // A monthly gift counts each month's invoice.
    for month in ["in_1", "in_2"] {
        let invoice = json!({"id": month, "object": "invoice", "amount_paid": 2_000, "currency": "eur",
            "parent": {"subscription_details": {"metadata": {META_DONOR: key, META_ELECTION: "election"}}}});
        let (body, signature) = signed(&s, "invoice.paid", invoice);
        assert!(
            deliver(&s, body, &signature)
                .await
                .body
                .contains("\"counted\"")
        );
    }
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 19_000);
    let gifts = store.gifts(None, 100).await.unwrap().items;
    let mut numbers: Vec<u64> = gifts.iter().filter_map(|g| g.receipt).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4]);
}

#[tokio::test]
async fn only_events_signed_by_stripe_recently_count() {
    let s = setup().await;
    let key = donor().key();
    let (body, good) = signed(
        &s,
        "checkout.session.completed",
        paid_session("pi_1", 5_000, &key),
    );
    let forged = stripe_signature("whsec_not_ours", NOW, &body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'5').unwrap();
    tampered[at] = b'9';
    for (body, signature, outcome) in [
        (body.clone(), forged.as_str(), "signature-mismatch"),
        (tampered, good.as_str(), "signature-mismatch"),
        (body.clone(), "", "signature-missing"),
        (body.clone(), "t=abc,v1=00", "signature-missing"),
    ] {
        let answer = deliver(&s, body, signature).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.body.contains(outcome), "{}", answer.body);
    }
    // The right signature, replayed ten minutes later.
    s.clock.store(NOW + 600, Ordering::SeqCst);
    let answer = deliver(&s, body.clone(), &good).await;
    assert!(answer.body.contains("signature-stale"), "{}", answer.body);
    assert_eq!(
        s.h.functions
            .store
            .donor_total("election", &key)
            .await
            .unwrap(),
        0
    );
    assert!(s.h.emails().is_empty());
    // Signed, but not an event.
    let signature = stripe_signature(SECRET, NOW + 600, b"{}");
    let answer = deliver(&s, b"{}".to_vec(), &signature).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refunds_come_off_the_total_in_whatever_order_they_arrive() {
    let s = setup().await;
    let key = donor().key();
    let store = &s.h.functions.store;
    let refund = json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                        "amount_refunded": 5_000, "metadata": {META_DONOR: key}});
    // The refund first: Stripe is asked to send it again later.
    let (body, signature) = signed(&s, "charge.refunded", refund.clone());
    let answer = deliver(&s, body.clone(), &signature).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    let (paid, paid_signature) = signed(
        &s,
        "checkout.session.completed",
        paid_session("pi_1", 5_000, &key),
    );
    deliver(&s, paid, &paid_signature).await;
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 5_000);
    let answer = deliver(&s, body.clone(), &signature).await;
    assert!(answer.body.contains("\"refunded\""), "{}", answer.body);
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 0);
    let again = deliver(&s, body, &signature).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(store.donor_total("election", &key).await.unwrap(), 0);
    let gift = store.gifts(None, 10).await.unwrap().items.remove(0);
    assert_eq!(gift.status, GiftStatus::Refunded);
    // A refund of some other sale of the account is none of ours.
    let other = json!({"id": "ch_2", "object": "charge", "payment_intent": "pi_shop",
                       "amount_refunded": 900, "metadata": {}});
    let (body, signature) = signed(&s, "charge.refunded", other);
    assert!(
        deliver(&s, body, &signature)
            .await
            .body
            .contains("refund-not-a-gift")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gifts_racing_through_the_webhook_never_break_the_cap() {
    let s = Arc::new(setup().await);
    let key = donor().key();
    s.h.post(
        "/api/donate",
        &form("50", "once", "elise@example.org"),
        &[ORIGIN],
    )
    .await;
    // Ten gifts of 1,000 EUR paid at once: four fit under 4,600 EUR.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let s = Arc::clone(&s);
        let key = key.clone();
        tasks.spawn(async move {
            let (body, signature) = signed(
                &s,
                "checkout.session.completed",
                paid_session(&format!("pi_race{i}"), 100_000, &key),
            );
            deliver(&s, body, &signature).await.body
        });
    }
    let mut outcomes = Vec::new();
    while let Some(body) = tasks.join_next().await {
        outcomes.push(body.unwrap());
    }
    let counted = outcomes
        .iter()
        .filter(|b| b.contains("\"counted\""))
        .count();
    let over = outcomes.iter().filter(|b| b.contains("over-cap")).count();
    assert_eq!((counted, over), (4, 6), "{outcomes:?}");
    assert_eq!(
        s.h.functions
            .store
            .donor_total("election", &key)
            .await
            .unwrap(),
        400_000
    );
    // Over-cap gifts get no receipt; the export shows them as owed back.
    assert_eq!(s.h.emails().len(), 4);
}

#[tokio::test]
async fn donors_are_an_audience_and_start_the_thank_you_automation() {
    let s = setup().await;
    let store = &s.h.functions.store;
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    for email in ["elise@example.org", "other@example.org"] {
        let update = SupporterUpdate {
            email: email.to_owned(),
            ..SupporterUpdate::default()
        };
        store
            .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), now)
            .await
            .unwrap();
    }
    let manifest = s.h.manifest();
    let audience: Audience = serde_json::from_value(json!({"gave": true})).unwrap();
    let gave = AudienceFilter::compile(&audience, &manifest.config, &manifest.events).unwrap();
    let givers = async || {
        broadcast::resolve(store, &gave, &manifest.events, now)
            .await
            .unwrap()
            .recipients
    };
    assert!(givers().await.is_empty(), "nobody gave yet");
    s.h.post(
        "/api/donate",
        &form("50", "once", "elise@example.org"),
        &[ORIGIN],
    )
    .await;
    assert!(givers().await.is_empty(), "a gift not paid is no gift");
    let key = donor().key();
    let (body, signature) = signed(
        &s,
        "checkout.session.completed",
        paid_session("pi_1", 5_000, &key),
    );
    deliver(&s, body, &signature).await;
    assert_eq!(givers().await, ["elise@example.org"]);
    let started = store
        .outgoing(&item_id("merci-don", "merci", "elise@example.org", NOW))
        .await
        .unwrap();
    assert!(
        started.is_some(),
        "the gift did not start the donors' automation"
    );
    // Paid back in full, she gave nothing.
    let refund = json!({"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 5_000,
                        "metadata": {META_DONOR: key}});
    let (body, signature) = signed(&s, "charge.refunded", refund);
    deliver(&s, body, &signature).await;
    assert!(givers().await.is_empty());
}

#[tokio::test]
async fn a_monthly_gift_that_reaches_the_cap_is_stopped() {
    let s = setup().await;
    s.h.post(
        "/api/donate",
        &form("other=2000", "monthly", "elise@example.org"),
        &[ORIGIN],
    )
    .await;
    let key = donor().key();
    let month = |n: i64| {
        json!({"id": format!("in_{n}"), "object": "invoice", "amount_paid": 200_000,
               "currency": "eur", "parent": {"subscription_details": {
                   "subscription": "sub_big", "metadata": {META_DONOR: key, META_ELECTION: "election"}}}})
    };
    for (n, wanted) in [
        (1, "\"counted\""),
        (2, "\"counted\""),
        (3, "over-cap-subscription-cancelled"),
    ] {
        let (body, signature) = signed(&s, "invoice.paid", month(n));
        let answer = deliver(&s, body, &signature).await;
        assert!(answer.body.contains(wanted), "month {n}: {}", answer.body);
    }
    assert_eq!(*s.stripe.cancelled.lock().unwrap(), ["sub_big"]);
    assert_eq!(
        s.h.functions
            .store
            .donor_total("election", &key)
            .await
            .unwrap(),
        400_000
    );
}
