//! What every form function does before its first request: read the
//! build's manifest and the token keys, build the AWS clients once, and
//! hand its routes to the Lambda runtime.
//!
//! Environment: `ESTRADE_MANIFEST` (default `manifest.json`, packaged next
//! to `bootstrap`), `ESTRADE_TOKEN_KEYS` (`id:base64secret,...`, from the
//! secret store at deploy time), `ESTRADE_TABLE` (the DynamoDB table), and
//! the usual AWS variables the Lambda runtime sets.
//!
//! The followups function (the scheduled sender) reads the same, and is
//! invoked by EventBridge rather than by HTTP.
//!
//! The donate function also reads `STRIPE_SECRET_KEY`,
//! `STRIPE_WEBHOOK_SECRET` and `STRIPE_API_BASE`
//! ([`estrade_functions::payments`]); without a key it answers that
//! donations are closed.
//!
//! The mail-events function needs no manifest, keys or mailer: only
//! `ESTRADE_TABLE` and `ESTRADE_MAIL_EVENTS_TOPIC_ARN` (the SNS topic SES
//! publishes its events to; messages of any other topic are refused).

use axum::body::Bytes;
use estrade_aws::{DynamoStore, SesMailer};
use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings};
use estrade_functions::mail_events::{MailEvents, mail_events_routes};
use estrade_functions::payments::Payments;
use estrade_functions::sns::{Fetch, FetchError};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

pub type LambdaFunctions = Functions<DynamoStore, SesMailer>;

/// Reads the manifest at `path`, saying what is wrong in words.
pub fn read_manifest(path: &str) -> Result<Manifest, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read the manifest `{path}`: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("the manifest `{path}` is not one estrade wrote: {e}"))
}

/// Settings from the environment, before any client is built.
pub fn settings_from_env() -> Result<Settings, String> {
    let path = std::env::var("ESTRADE_MANIFEST").unwrap_or_else(|_| "manifest.json".to_owned());
    let manifest = read_manifest(&path)?;
    let keys = Keys::parse(&std::env::var("ESTRADE_TOKEN_KEYS").unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let site_url = manifest.config.base_url.trim_end_matches('/').to_owned();
    Ok(Settings {
        manifest,
        keys,
        site_url,
    })
}

/// The functions over DynamoDB and SES, clients built once from one
/// loading of the AWS configuration.
pub async fn functions() -> Result<Arc<LambdaFunctions>, String> {
    let settings = settings_from_env()?;
    let table = required_env("ESTRADE_TABLE", "name the DynamoDB table")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let email = &settings.manifest.config.email;
    let domain = email
        .from_address
        .rsplit('@')
        .next()
        .unwrap_or("estrade")
        .to_owned();
    let mut mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&aws), domain);
    if let Some(set) = &email.configuration_set {
        mailer = mailer.with_configuration_set(set.clone());
    }
    let mut functions = Functions::new(store, mailer, settings);
    // Only the donate function is given Stripe's secrets.
    functions.payments = Payments::from_env()?;
    Ok(Arc::new(functions))
}

fn required_env(name: &str, hint: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is not set: {hint}"))
}

/// Serves `routes` on Lambda; a function that cannot start says why in
/// words and exits non-zero, which Lambda reports as an init error.
pub async fn serve(routes: impl Fn(Arc<LambdaFunctions>) -> axum::Router) {
    match functions().await {
        Ok(functions) => run(routes(functions)).await,
        Err(problem) => exit_with("init", &problem),
    }
}

async fn run(router: axum::Router) {
    if let Err(problem) = lambda_http::run(router).await {
        exit_with("runtime", &problem.to_string());
    }
}

/// Emails one run of the followups function claims at most; the sender
/// lowers it to what `email.max_per_second` lets go out in
/// [`estrade_functions::sender::RUN_SECONDS`] (560 at SES's usual 14).
const FOLLOWUPS_PER_RUN: usize = 500;

/// The scheduled sender ([`estrade_functions::sender`]), run by an
/// EventBridge rule every minute: each invocation sends what is due, under
/// a claim token made of its request id, and logs its report.
pub async fn serve_followups() {
    let functions = match functions().await {
        Ok(functions) => functions,
        Err(problem) => exit_with("init", &problem),
    };
    let handler = lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<serde_json::Value>| {
            let functions = Arc::clone(&functions);
            // Boxed: the sender's future is deep, and the runtime's own
            // types nest it further.
            Box::pin(async move {
                let token = event.context.request_id.clone();
                let report =
                    estrade_functions::sender::send_due(&functions, &token, FOLLOWUPS_PER_RUN)
                        .await
                        .map_err(|e| e.to_string())?;
                println!(
                    "{{\"level\":\"info\",\"what\":\"followups\",\"claimed\":{},\"sent\":{},\"skipped\":{},\"retried\":{},\"failed\":{},\"unknown\":{},\"released\":{},\"throttled\":{}}}",
                    report.claimed,
                    report.sent,
                    report.skipped,
                    report.retried,
                    report.failed,
                    report.unknown,
                    report.released,
                    report.throttled
                );
                Ok::<_, String>(serde_json::json!({ "sent": report.sent }))
            })
        },
    );
    if let Err(problem) = lambda_http::lambda_runtime::run(handler).await {
        exit_with("runtime", &problem.to_string());
    }
}

fn exit_with(what: &str, problem: &str) -> ! {
    eprintln!("{{\"level\":\"error\",\"what\":\"{what}\",\"error\":{problem:?}}}");
    std::process::exit(1);
}

pub type LambdaMailEvents = MailEvents<DynamoStore, HttpsFetcher>;

/// The mail-events function over DynamoDB, for the topic named by
/// `ESTRADE_MAIL_EVENTS_TOPIC_ARN`.
pub async fn mail_events() -> Result<Arc<LambdaMailEvents>, String> {
    let table = required_env("ESTRADE_TABLE", "name the DynamoDB table")?;
    let topic = required_env(
        "ESTRADE_MAIL_EVENTS_TOPIC_ARN",
        "give the ARN of the SNS topic SES publishes its events to",
    )?;
    let fetcher = HttpsFetcher::new()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    Ok(Arc::new(MailEvents::new(store, fetcher, topic)))
}

/// Serves the mail-events function on Lambda.
pub async fn serve_mail_events() {
    match mail_events().await {
        Ok(events) => run(mail_events_routes(events)).await,
        Err(problem) => exit_with("init", &problem),
    }
}

/// Certificates are a few KB; anything longer is not one.
const MAX_FETCHED_BYTES: usize = 64 * 1024;

/// SNS gives up on an endpoint after about 15 seconds: a fetch must end
/// well before.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// GETs SNS certificates and confirmation links over HTTPS only, trusting
/// the system's root certificates, following no redirect.
pub struct HttpsFetcher {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl HttpsFetcher {
    pub fn new() -> Result<HttpsFetcher, String> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
            .https_only()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpsFetcher { client })
    }
}

impl Fetch for HttpsFetcher {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let unreachable = |why: String| FetchError::Unreachable(why);
        let uri: axum::http::Uri = url
            .parse()
            .map_err(|_| unreachable("not a URL".to_owned()))?;
        let fetch = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            if !response.status().is_success() {
                return Err(FetchError::Status(response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), MAX_FETCHED_BYTES)
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| unreachable("timed out".to_owned()))?
    }
}
