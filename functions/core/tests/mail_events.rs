//! The mail-events function end to end over the embedded store: SES
//! events wrapped in SNS messages signed with the test key
//! (tests/fixtures/sns, test-only), posted as SNS posts them.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use estrade_domain::supporter::{ConsentAction, EmailStatus, SupporterUpdate};
use estrade_functions::mail_events::{
    BounceType, MailEventSink, MailEvents, SesEvent, SesEventKind, mail_events_routes,
    parse_ses_event,
};
use estrade_functions::sns::{Fetch, FetchError};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::{Store, StoreError};
use estrade_functions::watched::Watched;
use jiff::Timestamp;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const KEY: &[u8] = include_bytes!("fixtures/sns/signing-key.pem");
const CERT: &[u8] = include_bytes!("fixtures/sns/signing-cert.pem");
const CERT_URL: &str = "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-test.pem";
const TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:estrade-mail-events";
const SUBSCRIBE_URL: &str = "https://sns.eu-west-3.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-3:123456789012:estrade-mail-events&Token=51b2ff3edb";
const NOW: &str = "2027-03-01T10:00:00Z";

/// Serves the test certificate; records every URL asked.
#[derive(Default)]
struct FakeFetcher {
    asked: Mutex<Vec<String>>,
}

impl Fetch for FakeFetcher {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.asked.lock().unwrap().push(url.to_owned());
        if url == CERT_URL {
            Ok(CERT.to_vec())
        } else if url == SUBSCRIBE_URL {
            Ok(b"<ConfirmSubscriptionResponse/>".to_vec())
        } else {
            Err(FetchError::Status(404))
        }
    }
}

/// Remembers the events it was told of.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<SesEvent>>>);

impl MailEventSink for Recorder {
    async fn record(&self, event: &SesEvent) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

fn sign(text: &str) -> String {
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let pair = RsaKeyPair::from_pkcs8(key.secret_der()).unwrap();
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        text.as_bytes(),
        &mut signature,
    )
    .unwrap();
    BASE64.encode(signature)
}

/// An SNS notification carrying `message`, signed.
fn notification(id: &str, message: &str) -> String {
    let timestamp = "2027-03-01T09:58:30.123Z";
    let signed = format!(
        "Message\n{message}\nMessageId\n{id}\nTimestamp\n{timestamp}\n\
         TopicArn\n{TOPIC}\nType\nNotification\n"
    );
    json!({
        "Type": "Notification",
        "MessageId": id,
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": sign(&signed),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.eu-west-3.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    })
    .to_string()
}

fn confirmation(kind: &str, subscribe_url: &str) -> String {
    let (id, timestamp, token) = ("c-1", "2027-03-01T09:59:00.000Z", "51b2ff3edb");
    let message = "You have chosen to subscribe to the topic.";
    let signed = format!(
        "Message\n{message}\nMessageId\n{id}\nSubscribeURL\n{subscribe_url}\n\
         Timestamp\n{timestamp}\nToken\n{token}\nTopicArn\n{TOPIC}\nType\n{kind}\n"
    );
    json!({
        "Type": kind,
        "MessageId": id,
        "Token": token,
        "TopicArn": TOPIC,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": sign(&signed),
        "SigningCertURL": CERT_URL,
    })
    .to_string()
}

fn bounce(bounce_type: &str, recipients: &[&str]) -> String {
    let bounced: Vec<Value> = recipients
        .iter()
        .map(|r| json!({ "emailAddress": r, "action": "failed", "status": "5.1.1" }))
        .collect();
    json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": bounced,
            "timestamp": "2027-03-01T09:58:00.000Z",
            "feedbackId": "0102-bounce-feedback",
            "reportingMTA": "dsn; a.example"
        },
        "mail": {
            "timestamp": "2027-03-01T09:57:59.000Z",
            "source": "Claire Martin <equipe@claire-martin-2027.fr>",
            "sourceArn": "arn:aws:ses:eu-west-3:123456789012:identity/claire-martin-2027.fr",
            "sendingAccountId": "123456789012",
            "messageId": "0102-ses-bounce",
            "destination": recipients,
            "headersTruncated": false,
            "tags": {
                "ses:configuration-set": ["estrade"],
                "broadcast": ["2027-03-newsletter"]
            }
        }
    })
    .to_string()
}

fn complaint(recipient: &str) -> String {
    json!({
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{ "emailAddress": recipient }],
            "timestamp": "2027-03-01T09:58:10.000Z",
            "feedbackId": "0102-complaint-feedback",
            "complaintFeedbackType": "abuse"
        },
        "mail": {
            "timestamp": "2027-03-01T09:50:00.000Z",
            "messageId": "0102-ses-complaint",
            "destination": [recipient],
            "tags": { "broadcast": ["2027-03-newsletter"] }
        }
    })
    .to_string()
}

struct Harness {
    events: Arc<MailEvents<SqliteStore, FakeFetcher, Recorder>>,
    recorder: Recorder,
}

impl Harness {
    async fn new() -> Harness {
        let store = SqliteStore::in_memory().unwrap();
        let at: Timestamp = "2027-02-01T00:00:00Z".parse().unwrap();
        for email in ["ana@example.org", "bruno@example.org"] {
            let update = SupporterUpdate {
                email: email.to_owned(),
                ..Default::default()
            };
            store
                .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), at)
                .await
                .unwrap();
        }
        let recorder = Recorder::default();
        let mut events =
            MailEvents::new(store, FakeFetcher::default(), TOPIC).with_sink(recorder.clone());
        events.clock = Arc::new(|| NOW.parse().unwrap());
        Harness {
            events: Arc::new(events),
            recorder,
        }
    }

    async fn post(&self, body: &str) -> (StatusCode, String) {
        post(
            self.events.clone(),
            body.as_bytes().to_vec(),
            "text/plain; charset=UTF-8",
        )
        .await
    }

    async fn status(&self, email: &str) -> EmailStatus {
        let store = &self.events.store;
        store.supporter(email).await.unwrap().unwrap().status
    }

    fn asked(&self) -> Vec<String> {
        self.events.verifier.fetcher.asked.lock().unwrap().clone()
    }
}

async fn post<S: Store, K: MailEventSink>(
    events: Arc<MailEvents<S, FakeFetcher, K>>,
    body: Vec<u8>,
    content_type: &str,
) -> (StatusCode, String) {
    let request = Request::post("/api/mail-events")
        .header("content-type", content_type)
        .header("x-amz-sns-message-type", "Notification")
        .body(Body::from(body))
        .unwrap();
    let response = mail_events_routes(events).oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_permanent_bounce_marks_the_supporter_bounced() {
    let h = Harness::new().await;
    let message = bounce("Permanent", &["Ana@Example.org"]);
    let (status, body) = h.post(&notification("n-1", &message)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.status("ana@example.org").await, EmailStatus::Bounced);
    assert_eq!(h.status("bruno@example.org").await, EmailStatus::Confirmed);
    assert!(
        h.events
            .store
            .consents("ana@example.org")
            .await
            .unwrap()
            .is_empty(),
        "a bounce is no consent decision"
    );
}

#[tokio::test]
async fn a_transient_bounce_changes_nothing() {
    let h = Harness::new().await;
    for kind in ["Transient", "Undetermined"] {
        let message = bounce(kind, &["ana@example.org"]);
        let (status, _) = h.post(&notification("n-2", &message)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h.status("ana@example.org").await, EmailStatus::Confirmed);
    }
}

#[tokio::test]
async fn a_complaint_marks_the_supporter_and_withdraws_consent() {
    let h = Harness::new().await;
    let message = complaint("Bruno <bruno@example.org>");
    let (status, body) = h.post(&notification("n-3", &message)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.status("bruno@example.org").await, EmailStatus::Complained);
    let consents = h.events.store.consents("bruno@example.org").await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].action, ConsentAction::Withdrawn);
    assert_eq!(consents[0].form, "ses-complaint");
    assert_eq!(
        consents[0].at,
        "2027-03-01T09:58:10Z".parse::<Timestamp>().unwrap()
    );

    // A later bounce does not hide the complaint.
    let message = bounce("Permanent", &["bruno@example.org"]);
    h.post(&notification("n-4", &message)).await;
    assert_eq!(h.status("bruno@example.org").await, EmailStatus::Complained);
}

#[tokio::test]
async fn a_redelivered_message_is_harmless() {
    let h = Harness::new().await;
    let body = notification("n-5", &complaint("ana@example.org"));
    for _ in 0..3 {
        let (status, _) = h.post(&body).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(h.status("ana@example.org").await, EmailStatus::Complained);
    let consents = h.events.store.consents("ana@example.org").await.unwrap();
    assert_eq!(consents.len(), 1, "one withdrawal, however often told");
    assert_eq!(h.asked(), vec![CERT_URL.to_owned()], "certificate cached");
}

#[tokio::test]
async fn the_sink_sees_each_event_with_its_tags_and_message_id() {
    let h = Harness::new().await;
    let message = bounce("Permanent", &["ana@example.org", "nobody@example.org"]);
    h.post(&notification("n-6", &message)).await;
    let events = h.recorder.0.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].message_id, "0102-ses-bounce");
    assert_eq!(events[0].tag("broadcast"), Some("2027-03-newsletter"));
    assert!(matches!(
        events[0].kind,
        SesEventKind::Bounce {
            bounce_type: BounceType::Permanent,
            ..
        }
    ));
}

#[tokio::test]
async fn unknown_event_types_and_unknown_addresses_are_acknowledged() {
    let h = Harness::new().await;
    let messages = [
        json!({ "eventType": "Open", "mail": { "messageId": "m" }, "open": {} }).to_string(),
        json!({ "eventType": "Delivery", "mail": { "messageId": "m" }, "delivery": {} })
            .to_string(),
        json!({ "notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok" })
            .to_string(),
        bounce("Permanent", &["nobody@example.org", "not an address"]),
        complaint("nobody@example.org"),
    ];
    for (n, message) in messages.iter().enumerate() {
        let (status, body) = h.post(&notification(&format!("u-{n}"), message)).await;
        assert_eq!(status, StatusCode::OK, "{message}: {body}");
    }
    assert_eq!(h.status("ana@example.org").await, EmailStatus::Confirmed);
}

#[tokio::test]
async fn a_subscription_is_confirmed_through_its_subscribe_url() {
    let h = Harness::new().await;
    let body = confirmation("SubscriptionConfirmation", SUBSCRIBE_URL);
    let (status, answer) = h.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        h.asked(),
        vec![CERT_URL.to_owned(), SUBSCRIBE_URL.to_owned()]
    );

    // An unsubscribe confirmation is only acknowledged.
    let body = confirmation("UnsubscribeConfirmation", SUBSCRIBE_URL);
    assert_eq!(h.post(&body).await.0, StatusCode::OK);
    assert_eq!(h.asked().len(), 2);
}

#[tokio::test]
async fn a_confirmation_pointing_elsewhere_is_never_followed() {
    let h = Harness::new().await;
    let body = confirmation(
        "SubscriptionConfirmation",
        "https://evil.example/?Action=ConfirmSubscription",
    );
    assert_eq!(h.post(&body).await.0, StatusCode::FORBIDDEN);
    assert!(h.asked().is_empty());
}

#[tokio::test]
async fn forged_stale_or_foreign_messages_are_forbidden() {
    let h = Harness::new().await;
    let good = notification("n-7", &bounce("Permanent", &["ana@example.org"]));
    let mut forged: Value = serde_json::from_str(&good).unwrap();
    forged["Message"] = json!(bounce("Permanent", &["bruno@example.org"]));
    let mut foreign = forged.clone();
    foreign["Message"] = json!(bounce("Permanent", &["ana@example.org"]));
    foreign["TopicArn"] = json!("arn:aws:sns:eu-west-3:123456789012:other");
    let mut elsewhere: Value = serde_json::from_str(&good).unwrap();
    elsewhere["SigningCertURL"] = json!("https://evil.example/cert.pem");
    let mut unsigned: Value = serde_json::from_str(&good).unwrap();
    unsigned["SignatureVersion"] = json!("0");
    for body in [forged, foreign, elsewhere, unsigned] {
        assert_eq!(h.post(&body.to_string()).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(h.status("ana@example.org").await, EmailStatus::Confirmed);
    assert_eq!(h.status("bruno@example.org").await, EmailStatus::Confirmed);

    let store = SqliteStore::in_memory().unwrap();
    let mut events = MailEvents::new(store, FakeFetcher::default(), TOPIC);
    events.clock = Arc::new(|| "2027-03-01T12:00:00Z".parse().unwrap());
    let (status, _) = post(Arc::new(events), good.into_bytes(), "text/plain").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a replay two hours later");
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests_never_errors() {
    let h = Harness::new().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[1,2]".to_vec(),
        b"\"Notification\"".to_vec(),
        b"{\"Type\":\"Notification\"}".to_vec(),
        b"\xff\xfe\x00garbage".to_vec(),
        "[".repeat(100_000).into_bytes(),
        // Signed by SNS, yet not an SES event.
        notification("m-1", "not json").into_bytes(),
        notification("m-2", "{\"mail\":{}}").into_bytes(),
        notification("m-3", "{\"eventType\":\"Bounce\"}").into_bytes(),
        notification(
            "m-4",
            "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":7}}",
        )
        .into_bytes(),
    ];
    for body in bodies {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, _) = post(h.events.clone(), body, "text/plain").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{shown}");
    }
}

#[tokio::test]
async fn content_type_and_size_are_checked_first() {
    let h = Harness::new().await;
    let good = notification("n-8", &bounce("Permanent", &["ana@example.org"]));
    let (status, _) = post(
        h.events.clone(),
        good.clone().into_bytes(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = post(h.events.clone(), good.into_bytes(), "application/json").await;
    assert_eq!(status, StatusCode::OK);
    let huge = vec![b' '; 257 * 1024];
    let (status, _) = post(h.events.clone(), huge, "text/plain").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A store whose database is down: every call fails.
fn down_store() -> Watched<SqliteStore> {
    Watched::new(SqliteStore::in_memory().unwrap(), |_| {
        Err(StoreError("connection refused".to_owned()))
    })
}

#[tokio::test]
async fn a_store_failure_asks_sns_to_retry() {
    let mut events = MailEvents::new(down_store(), FakeFetcher::default(), TOPIC);
    events.clock = Arc::new(|| NOW.parse().unwrap());
    let events = Arc::new(events);
    let body = notification("n-9", &complaint("ana@example.org"));
    let (status, _) = post(events.clone(), body.into_bytes(), "text/plain").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // An event that touches no supporter needs no store.
    let body = notification("n-10", &bounce("Transient", &["ana@example.org"]));
    let (status, _) = post(events, body.into_bytes(), "text/plain").await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn an_ses_event_reads_its_kind_recipients_tags_and_time() {
    let event = parse_ses_event(&bounce("Permanent", &["ana@example.org"])).unwrap();
    assert_eq!(event.message_id, "0102-ses-bounce");
    assert_eq!(event.tags["ses:configuration-set"], vec!["estrade"]);
    assert_eq!(event.at, Some("2027-03-01T09:58:00Z".parse().unwrap()));
    assert_eq!(
        event.kind,
        SesEventKind::Bounce {
            bounce_type: BounceType::Permanent,
            recipients: vec!["ana@example.org".to_owned()],
        }
    );
    // Identity notifications say notificationType; no time but the mail's.
    let identity = json!({
        "notificationType": "Complaint",
        "complaint": { "complainedRecipients": [{ "emailAddress": "a@b.fr" }] },
        "mail": { "messageId": "x", "timestamp": "2027-03-01T09:00:00Z" }
    });
    let event = parse_ses_event(&identity.to_string()).unwrap();
    assert_eq!(event.kind_name(), "complaint");
    assert_eq!(event.at, Some("2027-03-01T09:00:00Z".parse().unwrap()));
    assert_eq!(event.tag("broadcast"), None);
    let other = parse_ses_event(r#"{"eventType":"Rendering Failure"}"#).unwrap();
    assert_eq!(
        other.kind,
        SesEventKind::Other("Rendering Failure".to_owned())
    );
}

/// A complaint about message `message_id` of the broadcast `broadcast`.
fn tagged_complaint(recipient: &str, message_id: &str, broadcast: &str) -> String {
    let mut event: serde_json::Value = serde_json::from_str(&complaint(recipient)).unwrap();
    event["mail"]["messageId"] = json!(message_id);
    event["mail"]["tags"] = json!({ "broadcast": [broadcast] });
    event.to_string()
}

#[tokio::test]
async fn complaints_above_a_thousandth_of_a_broadcast_pause_it_once_counted() {
    let h = Harness::new().await;
    let store = &h.events.store;
    let at: Timestamp = NOW.parse().unwrap();
    for _ in 0..1_000 {
        store.count_broadcast_sent("lettre", at).await.unwrap();
    }

    let first = tagged_complaint("ana@example.org", "0102-m1", "lettre");
    for _ in 0..2 {
        let (status, body) = h.post(&notification("n-20", &first)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let control = store.broadcast("lettre").await.unwrap().unwrap();
    assert_eq!(
        (control.sent, control.complained, control.paused),
        (1_000, 1, false),
        "one complaint in a thousand (told twice) is 0.1%, not above"
    );

    // Another broadcast's complaint counts for that one.
    let other = tagged_complaint("bruno@example.org", "0102-m9", "autre");
    h.post(&notification("n-21", &other)).await;
    assert!(!store.broadcast("lettre").await.unwrap().unwrap().paused);

    let second = tagged_complaint("bruno@example.org", "0102-m2", "lettre");
    let (status, _) = h.post(&notification("n-22", &second)).await;
    assert_eq!(status, StatusCode::OK);
    let control = store.broadcast("lettre").await.unwrap().unwrap();
    assert_eq!((control.complained, control.paused), (2, true));
    assert_eq!(
        control.reason.as_deref(),
        Some("complaint rate above 0.1%: 2 complaints for 1000 sent")
    );
}

#[tokio::test]
async fn complaints_before_a_thousand_sent_do_not_pause() {
    let h = Harness::new().await;
    let store = &h.events.store;
    let at: Timestamp = NOW.parse().unwrap();
    for _ in 0..100 {
        store.count_broadcast_sent("lettre", at).await.unwrap();
    }
    for (n, who) in ["ana@example.org", "bruno@example.org"].iter().enumerate() {
        let message = tagged_complaint(who, &format!("0102-s{n}"), "lettre");
        h.post(&notification(&format!("n-3{n}"), &message)).await;
    }
    let control = store.broadcast("lettre").await.unwrap().unwrap();
    assert_eq!((control.complained, control.paused), (2, false));
}
