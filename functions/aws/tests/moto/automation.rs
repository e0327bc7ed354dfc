//! The example campaign's welcome automation on DynamoDB and SES (moto),
//! with the clock in the test's hands: a supporter signs up and confirms
//! through the link of the email SES sent, then the candidate's letter
//! goes 24 hours later and the invitation 48 hours later, each once.

use crate::support::{aws, moto_data, unique_name};
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use estrade_aws::{DynamoStore, SesMailer, create_table};
use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings, router};
use estrade_functions::sender::send_due;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use jiff::{SignedDuration, Timestamp};
use mail_parser::MessageParser;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tower::ServiceExt;

const START: i64 = 1_803_895_200; // 2027-03-01T10:00:00Z

/// The example campaign at the repository's root, as `estrade build`
/// hands it to the functions.
fn example_manifest() -> Manifest {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let options = SiteOptions {
        now: Timestamp::from_second(START).unwrap(),
        ..SiteOptions::default()
    };
    let site = Site::load(&root, options).unwrap();
    let output = MemoryOutput::default();
    site.render(&output, None).unwrap();
    serde_json::from_slice(&output.get("_estrade/manifest.json").unwrap()).unwrap()
}

/// Subject and plain text of every message moto's SES kept for `to`, in
/// the order they were sent.
fn messages_to(to: &str) -> Vec<(String, String)> {
    let data = moto_data();
    let kept = data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    kept.iter()
        .filter_map(|m| m["raw_data"].as_str())
        .filter_map(|raw| {
            let message = MessageParser::default().parse(raw.as_bytes())?;
            let addressed = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .is_some_and(|a| a == to);
            addressed.then(|| {
                (
                    message.subject().unwrap_or_default().to_owned(),
                    message.body_text(0).unwrap_or_default().into_owned(),
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_welcome_automation_runs_on_dynamodb_and_ses_with_the_clock_in_hand() {
    let config = aws().await;
    let table = unique_name("automation");
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    create_table(&dynamo, &table).await.unwrap();
    let manifest = example_manifest();
    assert!(manifest.config.forms.double_opt_in);
    let domain = manifest
        .config
        .email
        .from_address
        .split_once('@')
        .unwrap()
        .1
        .to_owned();
    let ses = aws_sdk_sesv2::Client::new(&config);
    // Verified once per moto; another test run may have done it.
    let _ = ses
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await;
    let settings = Settings {
        site_url: manifest.config.base_url.clone(),
        manifest,
        keys: Keys::parse("test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap(),
    };
    let origin = settings.site_url.clone();
    let mut functions = Functions::new(
        DynamoStore::new(dynamo, &table),
        SesMailer::new(ses, &domain),
        settings,
    );
    let seconds = Arc::new(AtomicI64::new(START));
    let clock = seconds.clone();
    functions.clock =
        Arc::new(move || Timestamp::from_second(clock.load(Ordering::SeqCst)).unwrap());
    let functions = Arc::new(functions);
    let routes = router(functions.clone());
    let at = |after: SignedDuration| seconds.store(START + after.as_secs(), Ordering::SeqCst);
    let ana = format!("{}@example.org", unique_name("ana"));

    // Signs up on the site, and is asked to confirm.
    let form = format!(
        "email={}&first_name=Ana&postcode=59300",
        ana.replace('@', "%40")
    );
    let request = Request::post("/api/signup")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &origin)
        .header("accept", "application/json")
        .body(Body::from(form))
        .unwrap();
    let answer = routes.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let sent = messages_to(&ana);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "Un clic pour confirmer votre inscription");

    // Confirms through the email's link ten minutes later.
    at(SignedDuration::from_mins(10));
    let link = sent[0]
        .1
        .split_whitespace()
        .find(|word| word.contains("/api/confirm?"))
        .unwrap_or_else(|| panic!("no confirmation link in {}", sent[0].1));
    let path = link[link.find("/api/confirm?").unwrap()..].trim_end_matches(')');
    let request = Request::get(path).body(Body::empty()).unwrap();
    let answer = routes.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let body = to_bytes(answer.into_body(), usize::MAX).await.unwrap();
    assert!(
        status.is_success() || status.is_redirection(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    let subjects = |to: &str| -> Vec<String> { messages_to(to).into_iter().map(|m| m.0).collect() };
    assert_eq!(subjects(&ana).len(), 2, "the welcome, at once");

    // The automation's clock starts at the confirmation.
    let confirmed = SignedDuration::from_mins(10);
    let mut runs = 0;
    let mut run_at = |after: SignedDuration| {
        at(confirmed + after);
        runs += 1;
        let functions = functions.clone();
        let token = format!("run-{runs}");
        async move { send_due(&functions, &token, 100).await.unwrap() }
    };
    let report = run_at(SignedDuration::from_hours(24) - SignedDuration::from_mins(1)).await;
    assert_eq!(report.sent, 0, "23h59m: nothing yet");
    let report = run_at(SignedDuration::from_hours(24)).await;
    assert_eq!(report.sent, 1, "24h: the candidate's letter");
    assert_eq!(subjects(&ana)[2], "Ana, pourquoi je me présente");

    let report = run_at(SignedDuration::from_hours(48) - SignedDuration::from_mins(1)).await;
    assert_eq!(report.sent, 0, "47h59m: nothing more");
    assert_eq!(subjects(&ana).len(), 3);
    let report = run_at(SignedDuration::from_hours(48)).await;
    assert_eq!(report.sent, 1, "48h: the invitation");
    let all = messages_to(&ana);
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].0, "Une réunion près de chez vous ?");

    // Once: later runs send nothing more.
    let report = run_at(SignedDuration::from_hours(49)).await;
    assert_eq!((report.claimed, report.sent), (0, 0));
    let report = run_at(SignedDuration::from_hours(24 * 30)).await;
    assert_eq!((report.claimed, report.sent), (0, 0));
    assert_eq!(messages_to(&ana).len(), 4, "each email once");
}
