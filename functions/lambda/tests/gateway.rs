//! The routes each Lambda binary serves, called with a real API Gateway
//! (HTTP API, payload 2.0) event as Lambda delivers it: the path, the
//! base64 body and the headers must reach the handler intact.

use estrade_domain::donation::{Donor, stripe_signature};
use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings, donate_routes, signup_routes};
use estrade_functions::outbox::OutboxMailer;
use estrade_functions::payments::{Payments, StripeCheckout};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const EVENT: &str = r#"{
  "version": "2.0",
  "routeKey": "POST /api/{proxy+}",
  "rawPath": "/api/signup",
  "rawQueryString": "",
  "headers": {
    "content-type": "application/x-www-form-urlencoded",
    "origin": "https://jane.example",
    "x-forwarded-for": "203.0.113.20",
    "accept": "text/html"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "api-id",
    "domainName": "jane.example",
    "domainPrefix": "jane",
    "http": {
      "method": "POST",
      "path": "/api/signup",
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.20",
      "userAgent": "Mozilla/5.0"
    },
    "requestId": "id",
    "routeKey": "POST /api/{proxy+}",
    "stage": "$default",
    "time": "01/Mar/2027:10:00:00 +0000",
    "timeEpoch": 1803895200000
  },
  "body": "ZW1haWw9YW5hJTQwZXhhbXBsZS5vcmcmZmlyc3RfbmFtZT1BbmEmdGhhbmtzPSUyRnRoYW5rcyUyRg==",
  "isBase64Encoded": true
}"#;

fn functions(outbox: &Path) -> Functions<SqliteStore, OutboxMailer> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/valid");
    let site = Site::load(&root, SiteOptions::default()).unwrap();
    let output = MemoryOutput::default();
    site.render(&output, None).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&output.get("_estrade/manifest.json").unwrap()).unwrap();
    let settings = Settings {
        manifest,
        keys: Keys::parse("k:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap(),
        site_url: "https://jane.example".to_owned(),
    };
    Functions::new(
        SqliteStore::in_memory().unwrap(),
        OutboxMailer::new(outbox),
        settings,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_event_reaches_the_signup_handler() {
    let outbox = tempfile::tempdir().unwrap();
    let functions = Arc::new(functions(outbox.path()));

    let request = lambda_http::request::from_str(EVENT).unwrap();
    let response = signup_routes(functions.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/thanks/?ref="), "{location}");
    let supporter = functions
        .store
        .supporter("ana@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(supporter.first_name.as_deref(), Some("Ana"));
}

#[test]
fn a_missing_manifest_is_explained() {
    let error = estrade_lambda::read_manifest("/nonexistent/manifest.json").unwrap_err();
    assert!(
        error.starts_with("cannot read the manifest `/nonexistent/manifest.json`"),
        "{error}"
    );
}

/// Stripe's webhook signs the raw body: whether API Gateway hands it over
/// as base64 or as text, the handler must see the very bytes Stripe sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_event_brings_stripes_signed_body_intact() {
    use base64::Engine as _;
    let outbox = tempfile::tempdir().unwrap();
    let mut functions = functions(outbox.path());
    functions.payments = Some(Payments {
        // Never called here: the webhook makes no session.
        checkout: Arc::new(StripeCheckout::new("http://127.0.0.1:9", "sk_test_x").unwrap()),
        webhook_secrets: vec!["whsec_gateway".to_owned()],
    });
    let now = jiff::Timestamp::now();
    functions.clock = Arc::new(move || now);
    let functions = Arc::new(functions);
    let donor = Donor {
        first_name: "Zoé".into(),
        last_name: "Lefèvre".into(),
        birth_date: "1990-01-31".into(),
        address: "1 rue Haute".into(),
        postcode: "59300".into(),
        city: "Valenciennes".into(),
        country: "FR".into(),
        email: "zoe@example.org".into(),
        phone: None,
    };
    functions.store.save_donor(&donor, now).await.unwrap();
    for (n, base64) in [(1, true), (2, false)] {
        // Accents and spacing as Stripe sends them: any change breaks the
        // signature.
        let body = format!(
            "{{\n  \"id\": \"evt_{n}\", \"type\": \"checkout.session.completed\", \"created\": {},\n  \
             \"data\": {{\"object\": {{\"mode\": \"payment\", \"payment_status\": \"paid\", \
             \"payment_intent\": \"pi_{n}\", \"amount_total\": 1000, \"currency\": \"eur\", \
             \"description\": \"Don à l’équipe\", \"metadata\": {{\"estrade_donor\": \"{}\", \
             \"estrade_election\": \"election\"}}}}}}\n}}",
            now.as_second(),
            donor.key()
        );
        let signature = stripe_signature("whsec_gateway", now.as_second(), body.as_bytes());
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /api/stripe/webhook",
            "rawPath": "/api/stripe/webhook",
            "rawQueryString": "",
            "headers": {"content-type": "application/json; charset=utf-8", "stripe-signature": signature},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api-id", "domainName": "jane.example",
                "domainPrefix": "jane",
                "http": {"method": "POST", "path": "/api/stripe/webhook", "protocol": "HTTP/1.1",
                         "sourceIp": "54.187.174.169", "userAgent": "Stripe/1.0"},
                "requestId": "id", "routeKey": "POST /api/stripe/webhook", "stage": "$default",
                "time": "01/Mar/2027:10:00:00 +0000", "timeEpoch": 1803895200000u64
            },
            "body": if base64 { base64::engine::general_purpose::STANDARD.encode(&body) } else { body.clone() },
            "isBase64Encoded": base64,
        });
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let response = donate_routes(functions.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "base64: {base64}");
    }
    assert_eq!(
        functions
            .store
            .donor_total("election", &donor.key())
            .await
            .unwrap(),
        2_000
    );
}
