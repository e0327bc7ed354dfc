//! The mail-events function: what SES says happened to the mail we sent,
//! delivered by SNS to `POST /api/mail-events`.
//!
//! SES (through the configuration set's event destination) publishes
//! bounces, complaints and deliveries to an SNS topic; SNS posts each one
//! here. A message is believed only once [`sns::Verifier`] has checked
//! its signature, topic and age. Then a permanent bounce marks each
//! bounced supporter `Bounced`, a complaint marks them `Complained` and
//! records the withdrawal of consent, and a complaint about an email of
//! a broadcast counts against it ([`crate::broadcasts`]: a complaint rate
//! above 0.1% pauses it); everything else is acknowledged and left alone.
//!
//! SNS retries a delivery only when we answer outside 2xx–4xx, so a
//! forged or malformed message gets a 4xx and is never retried, while a
//! store failure gets 503 and is delivered again. Redelivery is harmless:
//! setting a status twice changes nothing, and the consent record carries
//! the event's own time, so the store keeps one.

use crate::broadcasts;
use crate::http::Clock;
use crate::sns::{Fetch, Malformed, MessageType, Rejection, SnsMessage, Verifier};
use crate::store::{Store, StoreError};
use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use estrade_domain::supporter::{Channel, ConsentAction, ConsentRecord, EmailStatus};
use estrade_domain::validate;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// SNS messages are at most 256 KB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The consent history's name for a complaint.
pub const COMPLAINT_FORM: &str = "ses-complaint";

/// One SES event, as published by a configuration set (`eventType`) or
/// by identity notifications (`notificationType`).
///
/// It holds recipients' addresses: never log it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesEvent {
    pub kind: SesEventKind,
    /// SES's id of the message the event is about (`mail.messageId`).
    pub message_id: String,
    /// `mail.tags`: the configuration set's and the sender's message
    /// tags, each with its values. A broadcast is tagged `broadcast`.
    pub tags: BTreeMap<String, Vec<String>>,
    /// When the bounce or complaint happened, else when the mail was
    /// sent; `None` when SES gave neither.
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesEventKind {
    Bounce {
        bounce_type: BounceType,
        /// The bounced addresses, as SES wrote them.
        recipients: Vec<String>,
    },
    Complaint {
        recipients: Vec<String>,
    },
    Delivery,
    Send,
    Reject,
    /// Opens, clicks, delivery delays, SNS's own test message...: the
    /// type's name as SES spelled it.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceType {
    /// The address does not exist or refuses our mail for good.
    Permanent,
    /// A full mailbox, a greylisting server: SES already retried.
    Transient,
    Undetermined,
}

impl SesEvent {
    /// The first value of the tag `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name)?.first().map(String::as_str)
    }

    /// The kind as a log-safe word.
    pub fn kind_name(&self) -> &str {
        match &self.kind {
            SesEventKind::Bounce { .. } => "bounce",
            SesEventKind::Complaint { .. } => "complaint",
            SesEventKind::Delivery => "delivery",
            SesEventKind::Send => "send",
            SesEventKind::Reject => "reject",
            SesEventKind::Other(_) => "other",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    event_type: Option<String>,
    notification_type: Option<String>,
    #[serde(default)]
    mail: RawMail,
    bounce: Option<RawBounce>,
    complaint: Option<RawComplaint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMail {
    #[serde(default)]
    message_id: String,
    timestamp: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<RawRecipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawComplaint {
    #[serde(default)]
    complained_recipients: Vec<RawRecipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecipient {
    email_address: String,
}

/// Reads the SES event in an SNS notification's `Message`.
pub fn parse_ses_event(message: &str) -> Result<SesEvent, Malformed> {
    let raw: RawEvent =
        serde_json::from_str(message).map_err(|e| Malformed::from_json("SES event", &e))?;
    let name = raw
        .event_type
        .or(raw.notification_type)
        .ok_or_else(|| Malformed("SES event without eventType".to_owned()))?;
    let time = |text: Option<&String>| text.and_then(|t| t.parse::<Timestamp>().ok());
    let sent_at = time(raw.mail.timestamp.as_ref());
    let (kind, at) = match name.as_str() {
        "Bounce" => {
            let bounce = raw
                .bounce
                .ok_or_else(|| Malformed("a Bounce without its bounce".to_owned()))?;
            let bounce_type = match bounce.bounce_type.as_str() {
                "Permanent" => BounceType::Permanent,
                "Transient" => BounceType::Transient,
                _ => BounceType::Undetermined,
            };
            let recipients = addresses(bounce.bounced_recipients);
            let at = time(bounce.timestamp.as_ref());
            let kind = SesEventKind::Bounce {
                bounce_type,
                recipients,
            };
            (kind, at)
        }
        "Complaint" => {
            let complaint = raw
                .complaint
                .ok_or_else(|| Malformed("a Complaint without its complaint".to_owned()))?;
            let at = time(complaint.timestamp.as_ref());
            let recipients = addresses(complaint.complained_recipients);
            (SesEventKind::Complaint { recipients }, at)
        }
        "Delivery" => (SesEventKind::Delivery, None),
        "Send" => (SesEventKind::Send, None),
        "Reject" => (SesEventKind::Reject, None),
        _ => (SesEventKind::Other(name.clone()), None),
    };
    Ok(SesEvent {
        kind,
        message_id: raw.mail.message_id,
        tags: raw.mail.tags,
        at: at.or(sent_at),
    })
}

fn addresses(recipients: Vec<RawRecipient>) -> Vec<String> {
    recipients.into_iter().map(|r| r.email_address).collect()
}

/// A recipient as stored: the address inside `Name <address>` if SES
/// wrote it that way, normalised like a form's.
fn supporter_key(address: &str) -> Option<String> {
    let inner = match (address.rfind('<'), address.rfind('>')) {
        (Some(open), Some(close)) if open < close => &address[open + 1..close],
        _ => address,
    };
    validate::email(inner)
}

/// What an event did, counted per recipient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Status changed to `Bounced` or `Complained`.
    pub suppressed: u32,
    /// Already so (a redelivery), or complained before bouncing.
    pub unchanged: u32,
    /// No supporter has this address (a test send, an erased one).
    pub unknown: u32,
    /// SES wrote something that is not an address.
    pub unreadable: u32,
}

/// Applies `event` to the supporters it names. `published` (the SNS
/// message's time) dates the consent record when SES gave no time.
pub async fn apply_event<S: Store>(
    store: &S,
    event: &SesEvent,
    published: Timestamp,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let (status, recipients) = match &event.kind {
        SesEventKind::Bounce {
            bounce_type: BounceType::Permanent,
            recipients,
        } => (EmailStatus::Bounced, recipients),
        SesEventKind::Complaint { recipients } => (EmailStatus::Complained, recipients),
        _ => return Ok(Applied::default()),
    };
    let at = event.at.unwrap_or(published);
    let mut applied = Applied::default();
    for address in recipients {
        let Some(email) = supporter_key(address) else {
            applied.unreadable += 1;
            continue;
        };
        let current = match store.supporter(&email).await? {
            Some(supporter) => supporter.status,
            None => {
                applied.unknown += 1;
                continue;
            }
        };
        // A complaint says more than a bounce (the person refused our
        // mail): a later bounce does not overwrite it.
        if current == status
            || (current == EmailStatus::Complained && status == EmailStatus::Bounced)
        {
            applied.unchanged += 1;
            continue;
        }
        let consent = (status == EmailStatus::Complained).then(|| ConsentRecord {
            email: email.clone(),
            action: ConsentAction::Withdrawn,
            channel: Channel::Email,
            form: COMPLAINT_FORM.to_owned(),
            page: "/api/mail-events".to_owned(),
            text_hash: String::new(),
            build: String::new(),
            at,
        });
        if store.set_status(&email, status, consent, now).await? {
            applied.suppressed += 1;
        } else {
            applied.unknown += 1;
        }
    }
    Ok(applied)
}

/// Told of every verified SES event once the store is updated: the hook
/// a broadcast report uses to count bounces and complaints per
/// broadcast (`event.tag("broadcast")`). An error answers 503, and SNS
/// delivers the message again, so a sink must be idempotent (key on
/// `message_id` and the event's kind).
pub trait MailEventSink: Send + Sync + 'static {
    fn record(&self, event: &SesEvent) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// No sink.
impl MailEventSink for () {
    fn record(&self, _event: &SesEvent) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(Ok(()))
    }
}

pub struct MailEvents<S, F, K = ()> {
    pub store: S,
    pub verifier: Verifier<F>,
    pub sink: K,
    pub clock: Clock,
}

impl<S: Store, F: Fetch> MailEvents<S, F, ()> {
    /// Events of the topic `topic_arn` only.
    pub fn new(store: S, fetcher: F, topic_arn: impl Into<String>) -> MailEvents<S, F, ()> {
        MailEvents {
            store,
            verifier: Verifier::new(fetcher, topic_arn),
            sink: (),
            clock: Arc::new(Timestamp::now),
        }
    }
}

impl<S, F, K> MailEvents<S, F, K> {
    pub fn with_sink<K2: MailEventSink>(self, sink: K2) -> MailEvents<S, F, K2> {
        MailEvents {
            store: self.store,
            verifier: self.verifier,
            sink,
            clock: self.clock,
        }
    }
}

/// The mail-events function.
pub fn mail_events_routes<S: Store, F: Fetch, K: MailEventSink>(
    events: Arc<MailEvents<S, F, K>>,
) -> Router {
    Router::new()
        .route("/api/mail-events", post(receive::<S, F, K>))
        .with_state(events)
}

async fn receive<S: Store, F: Fetch, K: MailEventSink>(
    State(events): State<Arc<MailEvents<S, F, K>>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !content_type_allowed(&parts.headers) {
        return answer(StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type", None);
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);
    }
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);
    };
    let message = match SnsMessage::parse(&body) {
        Ok(message) => message,
        Err(e) => return malformed(&e, None),
    };
    let now = (events.clock)();
    match events.verifier.verify(&message, now).await {
        Ok(()) => {}
        Err(Rejection::Refused(why)) => {
            // Nothing of an unverified message is logged, not even its id.
            return answer(StatusCode::FORBIDDEN, why.as_str(), None);
        }
        Err(Rejection::Unavailable(why)) => return unavailable("certificate", &why, None),
    }
    let id = Some(message.message_id.as_str());
    match message.kind {
        MessageType::SubscriptionConfirmation => confirm(&events, &message).await,
        MessageType::UnsubscribeConfirmation => answer(StatusCode::OK, "unsubscribed", id),
        MessageType::Notification => notification(&events, &message).await,
    }
}

/// Confirms our subscription by following its `SubscribeURL` (already
/// checked to be an SNS URL by the verifier).
async fn confirm<S: Store, F: Fetch, K: MailEventSink>(
    events: &MailEvents<S, F, K>,
    message: &SnsMessage,
) -> Response {
    let id = Some(message.message_id.as_str());
    let url = message.subscribe_url.as_deref().unwrap_or_default();
    match events.verifier.fetcher.get(url).await {
        Ok(_) => answer(StatusCode::OK, "subscription_confirmed", id),
        Err(e) => unavailable("confirm", &e.to_string(), id),
    }
}

async fn notification<S: Store, F: Fetch, K: MailEventSink>(
    events: &MailEvents<S, F, K>,
    message: &SnsMessage,
) -> Response {
    let id = Some(message.message_id.as_str());
    let event = match parse_ses_event(&message.message) {
        Ok(event) => event,
        Err(e) => return malformed(&e, id),
    };
    let now = (events.clock)();
    // The verifier parsed this timestamp already; `now` is never used.
    let published = message.timestamp.parse().unwrap_or(now);
    let applied = match apply_event(&events.store, &event, published, now).await {
        Ok(applied) => applied,
        Err(e) => return unavailable("store", &e.0, id),
    };
    let paused = match broadcasts::count_complaint(&events.store, &event, now).await {
        Ok(paused) => paused,
        Err(e) => return unavailable("store", &e.0, id),
    };
    if let Err(e) = events.sink.record(&event).await {
        return unavailable("sink", &e.0, id);
    }
    let line = json!({
        "level": "info",
        "function": "mail-events",
        "sns_message": message.message_id,
        "ses_message": event.message_id,
        "event": event.kind_name(),
        "bounce": match &event.kind {
            SesEventKind::Bounce { bounce_type, .. } => Some(format!("{bounce_type:?}")),
            _ => None,
        },
        "suppressed": applied.suppressed,
        "unchanged": applied.unchanged,
        "unknown": applied.unknown,
        "unreadable": applied.unreadable,
        "broadcast_paused": paused,
    });
    println!("{line}");
    (StatusCode::OK, axum::Json(json!({ "ok": true }))).into_response()
}

fn content_type_allowed(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    content_type == "text/plain" || content_type == "application/json"
}

/// A short answer, and one log line with the outcome and the SNS id
/// (only once verified). SNS reads nothing but the status.
fn answer(status: StatusCode, outcome: &str, sns_message: Option<&str>) -> Response {
    let level = if status.is_success() { "info" } else { "warn" };
    let line = json!({
        "level": level,
        "function": "mail-events",
        "sns_message": sns_message,
        "outcome": outcome,
        "status": status.as_u16(),
    });
    println!("{line}");
    let body = json!({ "ok": status.is_success(), "outcome": outcome });
    (status, axum::Json(body)).into_response()
}

fn malformed(error: &Malformed, sns_message: Option<&str>) -> Response {
    let line = json!({
        "level": "warn",
        "function": "mail-events",
        "sns_message": sns_message,
        "outcome": "malformed",
        "error": error.0,
    });
    println!("{line}");
    let body = json!({ "ok": false, "outcome": "malformed" });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Infrastructure trouble: 503, and SNS delivers the message again.
fn unavailable(what: &str, error: &str, sns_message: Option<&str>) -> Response {
    let line = json!({
        "level": "error",
        "function": "mail-events",
        "what": what,
        "sns_message": sns_message,
        "error": error,
    });
    eprintln!("{line}");
    let body = json!({ "ok": false, "outcome": "try_again" });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}
