//! The mail-events routes called with an API Gateway (HTTP API, payload
//! 2.0) event as Lambda delivers SNS's post: the text body and its
//! headers must reach the handler intact, and the signature still hold.
//! Messages are signed with the test-only key of
//! functions/core/tests/fixtures/sns.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_functions::mail_events::{MailEvents, mail_events_routes};
use estrade_functions::sns::{Fetch, FetchError};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use estrade_lambda::HttpsFetcher;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/sns");
const CERT_URL: &str = "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-test.pem";
const TOPIC: &str = "arn:aws:sns:eu-west-3:123456789012:estrade-mail-events";

struct TestCertificate;

impl Fetch for TestCertificate {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        if url == CERT_URL {
            std::fs::read(format!("{FIXTURES}/signing-cert.pem"))
                .map_err(|e| FetchError::Unreachable(e.to_string()))
        } else {
            Err(FetchError::Status(404))
        }
    }
}

fn sign(text: &str) -> String {
    let pem = std::fs::read(format!("{FIXTURES}/signing-key.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_slice(&pem).unwrap();
    let pair = RsaKeyPair::from_pkcs8(key.secret_der()).unwrap();
    let mut signature = vec![0; pair.public_modulus_len()];
    let rng = SystemRandom::new();
    pair.sign(&RSA_PKCS1_SHA256, &rng, text.as_bytes(), &mut signature)
        .unwrap();
    BASE64.encode(signature)
}

/// SNS's post of a permanent bounce of `ana@example.org`, as an API
/// Gateway event.
fn gateway_event() -> String {
    let message = json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{ "emailAddress": "ana@example.org" }],
            "timestamp": "2027-03-01T09:58:00.000Z"
        },
        "mail": { "messageId": "0102-ses", "tags": { "broadcast": ["march"] } }
    })
    .to_string();
    let (id, timestamp) = (
        "9f1c1a57-0000-4000-8000-00000000aaaa",
        "2027-03-01T09:59:00.000Z",
    );
    let signed = format!(
        "Message\n{message}\nMessageId\n{id}\nTimestamp\n{timestamp}\n\
         TopicArn\n{TOPIC}\nType\nNotification\n"
    );
    let body = json!({
        "Type": "Notification",
        "MessageId": id,
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": sign(&signed),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.eu-west-3.amazonaws.com/?Action=Unsubscribe",
    })
    .to_string();
    json!({
        "version": "2.0",
        "routeKey": "POST /api/{proxy+}",
        "rawPath": "/api/mail-events",
        "rawQueryString": "",
        "headers": {
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": id,
            "x-amz-sns-topic-arn": TOPIC,
            "user-agent": "Amazon Simple Notification Service Agent"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "jane.example",
            "domainPrefix": "jane",
            "http": {
                "method": "POST",
                "path": "/api/mail-events",
                "protocol": "HTTP/1.1",
                "sourceIp": "54.240.197.1",
                "userAgent": "Amazon Simple Notification Service Agent"
            },
            "requestId": "id",
            "routeKey": "POST /api/{proxy+}",
            "stage": "$default",
            "time": "01/Mar/2027:10:00:00 +0000",
            "timeEpoch": 1803895200000_u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_event_from_sns_reaches_the_mail_events_handler() {
    let store = SqliteStore::in_memory().unwrap();
    let at = "2027-02-01T00:00:00Z".parse().unwrap();
    let ana = SupporterUpdate {
        email: "ana@example.org".to_owned(),
        ..Default::default()
    };
    store
        .upsert_supporter(ana, EmailStatus::Confirmed, Vec::new(), at)
        .await
        .unwrap();
    let mut events = MailEvents::new(store, TestCertificate, TOPIC);
    events.clock = Arc::new(|| "2027-03-01T10:00:00Z".parse().unwrap());
    let events = Arc::new(events);

    let request = lambda_http::request::from_str(&gateway_event()).unwrap();
    let response = mail_events_routes(events.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ana = events.store.supporter("ana@example.org").await.unwrap();
    assert_eq!(ana.unwrap().status, EmailStatus::Bounced);
}

#[tokio::test]
async fn the_https_fetcher_never_speaks_plain_http() {
    let fetcher = HttpsFetcher::new().unwrap();
    let answer = fetcher.get("http://127.0.0.1:9/cert.pem").await;
    assert!(
        matches!(answer, Err(FetchError::Unreachable(_))),
        "{answer:?}"
    );
}
