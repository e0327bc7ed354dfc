//! The HTTP side: one router with every form function, the same on Lambda
//! and in `estrade serve`.
//!
//! A request goes through the same gate whatever the form: size, content
//! type, origin, rate limit, decoding, honeypot; then validation against
//! the form's definition. Every client mistake is a 4xx with a message in
//! the site's language, as JSON when the page's script asked for it, as a
//! small page otherwise. `Err` only means the store or the mailer failed:
//! the client is told to retry, and a retry is harmless because every
//! write is idempotent.

use crate::mailer::{Attachment, Email, MailError, Mailer};
use crate::messages::Says;
use crate::pages;
use crate::payments::Payments;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use estrade_domain::forms::{
    ELAPSED_FIELD, FormName, HONEYPOT_FIELD, MIN_FILL_MS, RECRUITER_FIELD, SMS_CONSENT, SMS_FIELD,
    SOURCE_FIELD, THANKS_FIELD,
};
use estrade_domain::manifest::Manifest;
use estrade_domain::submission::{DecodeError, MAX_BODY_BYTES, Submission};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, RsvpStatus, Supporter, SupporterUpdate,
};
use estrade_domain::token::{Claims, Keys, Purpose, is_share_code};
use estrade_domain::validate::{self, Cleaned};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

pub(crate) mod compose;
mod donate;
mod rsvp;
mod signup;
mod unsubscribe;

use compose::{compose, ics};
use donate::{donate, stripe_webhook};
use rsvp::{cancel, cancel_page, rsvp};
use signup::{confirm, signup, volunteer};
use unsubscribe::{unsubscribe, unsubscribe_page};

/// What a deployment decides: the build's manifest, the signing keys,
/// where the site is.
pub struct Settings {
    pub manifest: Manifest,
    pub keys: Keys,
    /// Base URL of the site as supporters reach it, for links in emails:
    /// `https://claire-martin-2027.fr`, or `http://127.0.0.1:8000`.
    pub site_url: String,
}

impl Settings {
    fn lang(&self) -> &str {
        &self.manifest.config.language
    }

    fn origins(&self) -> Vec<String> {
        let mut origins = vec![
            origin_of(&self.site_url),
            origin_of(&self.manifest.config.base_url),
        ];
        origins.extend(
            self.manifest
                .config
                .forms
                .origins
                .iter()
                .map(|o| origin_of(o)),
        );
        origins
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/{path}", self.site_url.trim_end_matches('/'))
    }
}

fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let host = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub struct Functions<S, M> {
    pub store: S,
    pub mailer: M,
    /// Replaced by `estrade serve` after each rebuild.
    pub settings: RwLock<Arc<Settings>>,
    pub clock: Clock,
    /// The payment processor; `None` keeps donations closed.
    pub payments: Option<Payments>,
}

impl<S: Store, M: Mailer> Functions<S, M> {
    pub fn new(store: S, mailer: M, settings: Settings) -> Functions<S, M> {
        Functions {
            store,
            mailer,
            settings: RwLock::new(Arc::new(settings)),
            clock: Arc::new(Timestamp::now),
            payments: None,
        }
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn replace_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
    }
}

/// Every function on one router: `estrade serve` mounts this.
pub fn router<S: Store, M: Mailer>(functions: Arc<Functions<S, M>>) -> Router {
    signup_routes(functions.clone())
        .merge(rsvp_routes(functions.clone()))
        .merge(unsubscribe_routes(functions.clone()))
        .merge(donate_routes(functions))
}

/// The donate function: the form, and the payment processor's webhook.
pub fn donate_routes<S: Store, M: Mailer>(functions: Arc<Functions<S, M>>) -> Router {
    Router::new()
        .route("/api/donate", post(donate::<S, M>))
        .route("/api/stripe/webhook", post(stripe_webhook::<S, M>))
        .layer(axum::middleware::from_fn(finish_even_if_the_client_leaves))
        .with_state(functions)
}

/// Runs a request to its end in a task of its own. The HTTP server drops a
/// handler whose client hung up; once the supporter is stored, their email
/// must still go out, so the work must not be dropped with the connection.
async fn finish_even_if_the_client_leaves(
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        // A panicking handler is a bug; the client gets a plain 500.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The signup function: newsletter, volunteer, and the confirmation link.
pub fn signup_routes<S: Store, M: Mailer>(functions: Arc<Functions<S, M>>) -> Router {
    Router::new()
        .route("/api/signup", post(signup::<S, M>))
        .route("/api/volunteer", post(volunteer::<S, M>))
        .route("/api/confirm", get(confirm::<S, M>))
        .layer(axum::middleware::from_fn(finish_even_if_the_client_leaves))
        .with_state(functions)
}

/// The RSVP function: registration and the cancel link.
pub fn rsvp_routes<S: Store, M: Mailer>(functions: Arc<Functions<S, M>>) -> Router {
    Router::new()
        .route("/api/rsvp", post(rsvp::<S, M>))
        .route(
            "/api/rsvp/cancel",
            get(cancel_page::<S, M>).post(cancel::<S, M>),
        )
        .layer(axum::middleware::from_fn(finish_even_if_the_client_leaves))
        .with_state(functions)
}

/// The unsubscribe function: the page and the one-click target.
pub fn unsubscribe_routes<S: Store, M: Mailer>(functions: Arc<Functions<S, M>>) -> Router {
    Router::new()
        .route(
            "/api/unsubscribe",
            get(unsubscribe_page::<S, M>).post(unsubscribe::<S, M>),
        )
        .layer(axum::middleware::from_fn(finish_even_if_the_client_leaves))
        .with_state(functions)
}

/// A refusal or a success, answered in the shape the client asked for.
pub(crate) struct Answer {
    status: StatusCode,
    message: String,
    errors: BTreeMap<&'static str, &'static str>,
    redirect: Option<String>,
    back: Option<String>,
    extra: Option<serde_json::Value>,
}

impl Answer {
    fn refuse(status: StatusCode, says: Says, settings: &Settings) -> Answer {
        Answer {
            status,
            message: says.text(settings.lang()).to_owned(),
            errors: BTreeMap::new(),
            redirect: None,
            back: None,
            extra: None,
        }
    }

    fn respond(self, json: bool, settings: &Settings) -> Response {
        let mut response = if json {
            let mut body = json!({ "ok": self.status.is_success(), "message": self.message });
            if !self.errors.is_empty() {
                body["errors"] = json!(self.errors);
            }
            if let Some(redirect) = &self.redirect {
                body["redirect"] = json!(redirect);
            }
            if let Some(extra) = self.extra {
                body["result"] = extra;
            }
            (self.status, axum::Json(body)).into_response()
        } else if let (true, Some(redirect)) = (self.status.is_success(), &self.redirect) {
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, redirect.clone())],
            )
                .into_response()
        } else {
            let errors: Vec<&str> = self.errors.values().copied().collect();
            let back = self.back.unwrap_or_else(|| "/".to_owned());
            let html = pages::message(
                settings,
                &self.message,
                &errors,
                &back,
                self.status.is_success(),
            );
            (self.status, html).into_response()
        };
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::TOO_MANY_REQUESTS
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The gate every form post goes through.
struct Incoming {
    json: bool,
    submission: Submission,
    /// The share code of the supporter whose link brought the visitor.
    recruiter: Option<String>,
}

// The refusal is a finished response, built once and returned as is.
#[allow(clippy::result_large_err)]
async fn gate<S: Store, M: Mailer>(
    functions: &Functions<S, M>,
    settings: &Settings,
    form: &str,
    request: Request,
    check_origin: bool,
) -> Result<Incoming, Response> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let json = wants_json(headers);
    let refuse = |status, says| Err(Answer::refuse(status, says, settings).respond(json, settings));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, Says::TooLarge);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let is_json = content_type == "application/json";
    if !is_json && content_type != "application/x-www-form-urlencoded" {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, Says::ContentType);
    }
    if check_origin && !origin_allowed(headers, settings) {
        return refuse(StatusCode::FORBIDDEN, Says::Origin);
    }
    let client = client_of(&parts);
    let now = (functions.clock)();
    let key = format!("rate:{form}:{}", short_hash(&client));
    let limit = settings.manifest.config.forms.rate_limit;
    match functions
        .store
        .allow(&key, limit.requests, limit.per_seconds, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return refuse(StatusCode::TOO_MANY_REQUESTS, Says::TooMany),
        Err(e) => return Err(store_down(&e, json, settings)),
    }
    let bytes: Bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, Says::TooLarge),
    };
    let decoded = if is_json {
        Submission::from_json(&bytes)
    } else {
        Submission::from_urlencoded(&bytes)
    };
    match decoded {
        Ok(submission) => Ok(Incoming {
            json: json || is_json,
            recruiter: recruiter_of(&submission, headers),
            submission,
        }),
        Err(DecodeError::TooLarge) => refuse(StatusCode::PAYLOAD_TOO_LARGE, Says::TooLarge),
        Err(_) => refuse(StatusCode::BAD_REQUEST, Says::Malformed),
    }
}

fn origin_allowed(headers: &HeaderMap, settings: &Settings) -> bool {
    let allowed = settings.origins();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return allowed.iter().any(|a| a == origin);
    }
    // Browsers send Origin with every POST; a Referer is the fallback.
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|referer| {
            allowed
                .iter()
                .any(|a| referer == a || referer.starts_with(&format!("{a}/")))
        })
}

/// The share code the form carries (the theme's script copies `?ref=`
/// of the page's address into it), or else the one in the address of the
/// page that posted the form (`Referer`, which a browser sends in full to
/// the same origin), for pages without script.
fn recruiter_of(submission: &Submission, headers: &HeaderMap) -> Option<String> {
    let from_form = submission.get(RECRUITER_FIELD).map(str::trim);
    let from_page = || {
        let referer = headers.get(header::REFERER)?.to_str().ok()?;
        let query = referer.split('#').next()?.split_once('?')?.1;
        query.split('&').find_map(|pair| pair.strip_prefix("ref="))
    };
    from_form
        .filter(|code| is_share_code(code))
        .or_else(|| from_page().filter(|code| is_share_code(code)))
        .map(str::to_owned)
}

/// The client's address, for the rate limit (only a hash of it is
/// stored). Behind CloudFront, `CloudFront-Viewer-Address` (`ip:port`),
/// which CloudFront sets itself; else the last `X-Forwarded-For` entry,
/// the one the nearest proxy appended (the first ones are whatever the
/// client wrote, so counting by them would let it pick a fresh key each
/// time); else the connection's own address (`estrade serve`).
fn client_of(parts: &axum::http::request::Parts) -> String {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(viewer) = header("cloudfront-viewer-address") {
        // `203.0.113.7:443` or `[2001:db8::1]:443`... without the port.
        let address = viewer.rsplit_once(':').map_or(viewer, |(ip, _)| ip);
        return address.trim_matches(['[', ']']).to_owned();
    }
    if let Some(last) = header("x-forwarded-for").and_then(|list| list.rsplit(',').next()) {
        return last.trim().to_owned();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn store_down(error: &StoreError, json: bool, settings: &Settings) -> Response {
    eprintln!(
        "{{\"level\":\"error\",\"what\":\"store\",\"error\":{:?}}}",
        error.0
    );
    Answer::refuse(StatusCode::SERVICE_UNAVAILABLE, Says::TryAgain, settings)
        .respond(json, settings)
}

fn mail_down(error: &MailError, json: bool, settings: &Settings) -> Response {
    eprintln!(
        "{{\"level\":\"error\",\"what\":\"mail\",\"error\":{:?}}}",
        error.to_string()
    );
    Answer::refuse(StatusCode::SERVICE_UNAVAILABLE, Says::TryAgain, settings)
        .respond(json, settings)
}

/// A site path to send the supporter to: never another site.
fn local_path(path: Option<&str>, fallback: &str) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

fn default_thanks(settings: &Settings) -> String {
    use estrade_domain::config::serde_yaml_free::FreeValue;
    match settings.manifest.config.extra.get("thanks") {
        Some(FreeValue::Text(path)) => local_path(Some(path), "/"),
        _ => "/".to_owned(),
    }
}

fn invalid(problems: validate::FieldProblems, settings: &Settings, back: String) -> Answer {
    let lang = settings.lang();
    Answer {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: Says::CheckFields.text(lang).to_owned(),
        errors: problems
            .into_iter()
            .map(|(field, problem)| (field, problem.message(lang)))
            .collect(),
        redirect: None,
        back: Some(back),
        extra: None,
    }
}

fn success(
    settings: &Settings,
    says: Says,
    redirect: String,
    extra: Option<serde_json::Value>,
) -> Answer {
    Answer {
        status: StatusCode::OK,
        message: says.text(settings.lang()).to_owned(),
        errors: BTreeMap::new(),
        redirect: Some(redirect),
        back: None,
        extra,
    }
}

/// `path` with the supporter's share code added as `ref`, for the
/// thank-you page's share links.
fn with_share_code(path: &str, settings: &Settings, email: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}ref={}", settings.keys.share_code(email))
}

/// A bot filled the hidden field, or sent the form faster than a person
/// could fill it: it is told it succeeded, and nothing is kept. Without
/// the page's script there is no time to check, only the honeypot.
fn is_bot(submission: &Submission) -> bool {
    let honeypot = submission
        .get(HONEYPOT_FIELD)
        .is_some_and(|v| !v.trim().is_empty());
    let hasty = submission
        .get(ELAPSED_FIELD)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|ms| ms < MIN_FILL_MS);
    honeypot || hasty
}

/// The supporter as the form describes them. A recruiter is kept unless
/// it is the supporter's own code (their own link, reopened).
fn update_from(
    cleaned: &Cleaned,
    volunteer: bool,
    recruiter: Option<&str>,
    settings: &Settings,
) -> SupporterUpdate {
    let email = cleaned.owned("email").unwrap_or_default();
    let recruiter = recruiter
        .filter(|code| *code != settings.keys.share_code(&email))
        .map(str::to_owned);
    SupporterUpdate {
        email,
        first_name: cleaned.owned("first_name"),
        last_name: cleaned.owned("last_name"),
        phone: cleaned.owned("phone"),
        postcode: cleaned.owned("postcode"),
        country: cleaned.owned("country"),
        interests: cleaned.set("interests"),
        skills: cleaned.set("skills"),
        availability: cleaned.owned("availability"),
        volunteer,
        sms: cleaned.owned(SMS_FIELD).is_some(),
        recruiter,
        until_confirmed: false,
    }
}

/// The records of what `update` agreed to: `email_consent`, and with it
/// the same for text messages when the box was ticked, under the text the
/// box showed.
fn consents_of(
    update: &SupporterUpdate,
    email_consent: ConsentRecord,
    settings: &Settings,
) -> Vec<ConsentRecord> {
    let sms = update.sms.then(|| ConsentRecord {
        channel: Channel::Sms,
        text_hash: settings
            .manifest
            .consent
            .get(SMS_CONSENT)
            .map(|c| c.hash.clone())
            .unwrap_or_default(),
        ..email_consent.clone()
    });
    std::iter::once(email_consent).chain(sms).collect()
}

fn consent(
    settings: &Settings,
    form: FormName,
    email: &str,
    page: &str,
    action: ConsentAction,
    at: Timestamp,
) -> ConsentRecord {
    let text_hash = settings
        .manifest
        .consent
        .get(form.as_str())
        .map(|c| c.hash.clone())
        .unwrap_or_default();
    ConsentRecord {
        email: email.to_owned(),
        action,
        channel: Channel::Email,
        form: form.as_str().to_owned(),
        page: page.to_owned(),
        text_hash,
        build: settings.manifest.build.clone(),
        at,
    }
}

fn log_outcome(form: &str, outcome: &str) {
    // Ids and outcomes only: never an address, a name or a body.
    println!("{{\"level\":\"info\",\"form\":\"{form}\",\"outcome\":\"{outcome}\"}}");
}

/// `?token=...` of a link.
fn token_of(request: &Request) -> String {
    request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(|t| t.to_owned())
        .unwrap_or_default()
}

fn bad_link(settings: &Settings, json: bool) -> Response {
    Answer::refuse(StatusCode::BAD_REQUEST, Says::BadLink, settings).respond(json, settings)
}
