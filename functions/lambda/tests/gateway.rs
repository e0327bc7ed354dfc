//! The routes each Lambda binary serves, called with a real API Gateway
//! (HTTP API, payload 2.0) event as Lambda delivers it: the path, the
//! base64 body and the headers must reach the handler intact.

use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings, signup_routes};
use estrade_functions::outbox::OutboxMailer;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_event_reaches_the_signup_handler() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/valid");
    let site = Site::load(&root, SiteOptions::default()).unwrap();
    let output = MemoryOutput::default();
    site.render(&output, None).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&output.get("_estrade/manifest.json").unwrap()).unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let settings = Settings {
        manifest,
        keys: Keys::parse("k:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap(),
        site_url: "https://jane.example".to_owned(),
    };
    let functions = Arc::new(Functions::new(
        SqliteStore::in_memory().unwrap(),
        OutboxMailer::new(outbox.path()),
        settings,
    ));

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
