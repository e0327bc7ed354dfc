//! The payment processor, seen from the donate function: a Checkout
//! Session made for each gift (Stripe's hosted payment page), and the
//! secrets its webhooks are signed with.
//!
//! Settings come from the environment (the secret store at deploy time),
//! never from the repository: `STRIPE_SECRET_KEY` (`sk_live_...` or
//! `sk_test_...`), `STRIPE_WEBHOOK_SECRET` (`whsec_...`; several,
//! comma-separated, while one is rolled) and `STRIPE_API_BASE` (default
//! `https://api.stripe.com`; plain `http://` is accepted for 127.0.0.1
//! only, for a local stand-in).

use axum::body::Bytes;
use estrade_domain::donation::{Frequency, META_DONOR, META_ELECTION, META_FREQUENCY};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What the donate function asks of the processor for one gift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// In cents.
    pub amount: i64,
    /// ISO 4217, lower case.
    pub currency: String,
    pub frequency: Frequency,
    /// The line the donor reads on the payment page.
    pub description: String,
    pub email: String,
    pub donor: String,
    pub election: String,
    pub success_url: String,
    pub cancel_url: String,
    /// `fr`, `en`: the payment page's language.
    pub locale: String,
    /// The same request sent twice (a retried submission) makes one
    /// session.
    pub idempotency_key: String,
}

/// The session made: where to send the donor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutError {
    /// Unreachable, timed out, or a 5xx / 429: try again later.
    Unavailable(String),
    /// The processor refused the request (a 4xx): a configuration
    /// mistake (a wrong key, a currency the account does not take).
    Refused(String),
}

impl fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckoutError::Unavailable(why) => write!(f, "payment processor unavailable: {why}"),
            CheckoutError::Refused(why) => write!(f, "payment processor refused: {why}"),
        }
    }
}

pub type CheckoutFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Session, CheckoutError>> + Send + 'a>>;

pub type CancelFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CheckoutError>> + Send + 'a>>;

/// Makes Checkout Sessions, and stops monthly gifts: Stripe's API, or a
/// stand-in.
pub trait Checkout: Send + Sync {
    fn create_session<'a>(&'a self, request: &'a SessionRequest) -> CheckoutFuture<'a>;

    /// Cancels subscription `id` at once: a monthly gift whose donor
    /// reached the cap must take no more.
    fn cancel_subscription<'a>(&'a self, id: &'a str) -> CancelFuture<'a>;
}

/// What the donation functions need of the processor.
#[derive(Clone)]
pub struct Payments {
    pub checkout: Arc<dyn Checkout>,
    /// The webhook signing secrets, newest first.
    pub webhook_secrets: Vec<String>,
}

impl Payments {
    /// From `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and
    /// `STRIPE_API_BASE`; `None` when no secret key is set (donations are
    /// then closed, and the donate function says so).
    pub fn from_env() -> Result<Option<Payments>, String> {
        let Some(key) = std::env::var("STRIPE_SECRET_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        else {
            return Ok(None);
        };
        let secrets: Vec<String> = std::env::var("STRIPE_WEBHOOK_SECRET")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if secrets.is_empty() {
            return Err(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: gifts could never be \
                 recorded; give the webhook endpoint's signing secret (whsec_...)"
                    .to_owned(),
            );
        }
        let base = std::env::var("STRIPE_API_BASE")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| "https://api.stripe.com".to_owned());
        let checkout = StripeCheckout::new(&base, key.trim())?;
        Ok(Some(Payments {
            checkout: Arc::new(checkout),
            webhook_secrets: secrets,
        }))
    }
}

/// Stripe's answers are small; anything longer is not one.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// A Checkout Session is made in well under a second; a donor will not
/// wait much longer than this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Stripe's API over HTTPS (`POST /v1/checkout/sessions`).
pub struct StripeCheckout {
    base: String,
    key: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl StripeCheckout {
    pub fn new(base: &str, key: &str) -> Result<StripeCheckout, String> {
        let base = base.trim_end_matches('/').to_owned();
        let loopback = ["http://127.0.0.1:", "http://127.0.0.1/", "http://[::1]:"]
            .iter()
            .any(|prefix| base.starts_with(prefix) || format!("{base}/").starts_with(prefix));
        if !base.starts_with("https://") && !loopback {
            return Err(format!(
                "STRIPE_API_BASE `{base}` must be https:// (plain http only on 127.0.0.1)"
            ));
        }
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(StripeCheckout {
            base,
            key: key.to_owned(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    async fn post(&self, request: &SessionRequest) -> Result<Session, CheckoutError> {
        let http = axum::http::Request::post(format!("{}/v1/checkout/sessions", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", &request.idempotency_key)
            .body(Full::new(Bytes::from(session_form(request))));
        let json = self.call(http).await?;
        match (json["id"].as_str(), json["url"].as_str()) {
            (Some(id), Some(url)) if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(Session {
                    id: id.to_owned(),
                    url: url.to_owned(),
                })
            }
            _ => Err(CheckoutError::Refused(
                "the answer has no session id and url".to_owned(),
            )),
        }
    }

    /// Sends `request` with the secret key and reads Stripe's JSON answer;
    /// an error answer becomes the [`CheckoutError`] it means.
    async fn call(
        &self,
        request: Result<axum::http::Request<Full<Bytes>>, axum::http::Error>,
    ) -> Result<serde_json::Value, CheckoutError> {
        let unavailable = |why: String| CheckoutError::Unavailable(why);
        let mut http = request
            .map_err(|_| CheckoutError::Refused("the request could not be built".to_owned()))?;
        let bearer = format!("Bearer {}", self.key).parse().map_err(|_| {
            CheckoutError::Refused("the secret key cannot be sent in a header".to_owned())
        })?;
        http.headers_mut()
            .insert(axum::http::header::AUTHORIZATION, bearer);
        let answer = self
            .client
            .request(http)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = answer.status();
        let bytes = Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        // Stripe's error type and code name the problem without quoting
        // what was sent.
        let error = || {
            let e = &json["error"];
            format!(
                "HTTP {} {} {}",
                status.as_u16(),
                e["type"].as_str().unwrap_or(""),
                e["code"].as_str().unwrap_or("")
            )
            .trim()
            .to_owned()
        };
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(unavailable(error()));
        }
        if !status.is_success() {
            return Err(CheckoutError::Refused(error()));
        }
        Ok(json)
    }
}

impl Checkout for StripeCheckout {
    fn create_session<'a>(&'a self, request: &'a SessionRequest) -> CheckoutFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(TIMEOUT, self.post(request))
                .await
                .map_err(|_| CheckoutError::Unavailable("timed out".to_owned()))?
        })
    }

    fn cancel_subscription<'a>(&'a self, id: &'a str) -> CancelFuture<'a> {
        Box::pin(async move {
            // An id Stripe gave (`sub_...`): nothing that could change the
            // path.
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(CheckoutError::Refused("not a subscription id".to_owned()));
            }
            let http = axum::http::Request::delete(format!("{}/v1/subscriptions/{id}", self.base))
                .body(Full::new(Bytes::new()));
            tokio::time::timeout(TIMEOUT, self.call(http))
                .await
                .map_err(|_| CheckoutError::Unavailable("timed out".to_owned()))?
                .map(|_| ())
        })
    }
}

/// The form Stripe's API takes for a Checkout Session: one line of the
/// amount given (each month for a monthly gift), the campaign's metadata
/// on the session and on what it makes (the PaymentIntent, or the
/// subscription whose invoices report each month).
pub fn session_form(request: &SessionRequest) -> String {
    let monthly = request.frequency == Frequency::Monthly;
    let mut pairs: Vec<(String, String)> = vec![
        (
            "mode".into(),
            if monthly { "subscription" } else { "payment" }.into(),
        ),
        ("line_items[0][quantity]".into(), "1".into()),
        (
            "line_items[0][price_data][currency]".into(),
            request.currency.clone(),
        ),
        (
            "line_items[0][price_data][unit_amount]".into(),
            request.amount.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]".into(),
            request.description.clone(),
        ),
        ("customer_email".into(), request.email.clone()),
        ("success_url".into(), request.success_url.clone()),
        ("cancel_url".into(), request.cancel_url.clone()),
        ("locale".into(), request.locale.clone()),
    ];
    if monthly {
        pairs.push((
            "line_items[0][price_data][recurring][interval]".into(),
            "month".into(),
        ));
    } else {
        pairs.push(("submit_type".into(), "donate".into()));
    }
    let carried = if monthly {
        "subscription_data"
    } else {
        "payment_intent_data"
    };
    for (name, value) in [
        (META_DONOR, &request.donor),
        (META_ELECTION, &request.election),
        (META_FREQUENCY, &request.frequency.as_str().to_owned()),
    ] {
        pairs.push((format!("metadata[{name}]"), value.clone()));
        pairs.push((format!("{carried}[metadata][{name}]"), value.clone()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `application/x-www-form-urlencoded`: letters, digits and `-._*` kept,
/// spaces as `+`, every other byte as `%XX`.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
