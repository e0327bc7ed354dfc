//! Gifts to the campaign: who a donor is, for the legal cap, and how a
//! payment processor's word is trusted (Stripe's webhook signatures and
//! events).
//!
//! A donor is matched by their name, birth date and where they live, never
//! by their email alone: giving twice under two addresses is still one
//! person's total.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// How often a gift is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Once,
    Monthly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Once => "once",
            Frequency::Monthly => "monthly",
        }
    }

    pub fn parse(text: &str) -> Option<Frequency> {
        [Frequency::Once, Frequency::Monthly]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

/// The person a gift comes from, as the donation form described them: what
/// the receipt and the campaign's accounts must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Donor {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub address: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, as the form offers it.
    pub country: String,
    pub email: String,
    pub phone: Option<String>,
}

impl Donor {
    /// The key every gift of this person is counted under: a SHA-256 of
    /// their folded last name, first name, birth date, country and
    /// postcode. Case, accents, hyphens and spacing do not make a second
    /// donor ("Élise Marie-Dupont" is "elise marie dupont"). The street
    /// line is left out because people write it many ways ("rue", "r.",
    /// "bis"); a move to another postcode makes a second key.
    pub fn key(&self) -> String {
        let folded = [
            fold(&self.last_name),
            fold(&self.first_name),
            self.birth_date.trim().to_owned(),
            self.country.trim().to_ascii_uppercase(),
            fold(&self.postcode).replace(' ', ""),
        ];
        let digest = Sha256::digest(format!("donor-v1\n{}", folded.join("\n")).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Lower case, accents dropped, every run of anything but letters and
/// digits made one space, trimmed.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if space && !folded.is_empty() {
                folded.push(' ');
            }
            space = false;
            folded.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    folded
}

/// Amounts are counted in the currency's smallest unit (cents).
pub fn cents(whole: u32) -> i64 {
    i64::from(whole) * 100
}

/// `12345` cents as `123,45 €` or `€123.45`, as receipts and messages show
/// it (`lang` picks the form).
pub fn money(cents: i64, currency: &str, lang: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, part) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    let decimals = if lang == "fr" {
        format!(",{part:02}")
    } else {
        format!(".{part:02}")
    };
    format!(
        "{sign}{}",
        with_symbol(&grouped(whole, lang), &decimals, currency, lang)
    )
}

/// A whole amount as the donation form offers it: `4 600 €`, `€4,600`.
pub fn whole_money(amount: u32, currency: &str, lang: &str) -> String {
    with_symbol(&grouped(u64::from(amount), lang), "", currency, lang)
}

/// Digits in groups of three: a narrow no-break space in French, a comma
/// in English.
fn grouped(whole: u64, lang: &str) -> String {
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + 4);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(if lang == "fr" { '\u{202f}' } else { ',' });
        }
        grouped.push(d);
    }
    grouped
}

fn with_symbol(number: &str, decimals: &str, currency: &str, lang: &str) -> String {
    let symbol = match currency.to_ascii_uppercase().as_str() {
        "EUR" => "€".to_owned(),
        "USD" => "$".to_owned(),
        "GBP" => "£".to_owned(),
        other => other.to_owned(),
    };
    if lang == "fr" {
        format!("{number}{decimals}\u{a0}{symbol}")
    } else {
        format!("{symbol}{number}{decimals}")
    }
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or no `t=` or `v1=` in it.
    Missing,
    /// Signed more than the tolerance away from now: perhaps a replay.
    Stale,
    /// No `v1` signature matches under any of the secrets.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no usable Stripe-Signature header",
            SignatureError::Stale => "signed too long ago (or in the future)",
            SignatureError::Mismatch => "the signature does not match",
        })
    }
}

/// How far a webhook's signing time may be from now, in seconds (Stripe's
/// own libraries default to five minutes).
pub const SIGNATURE_TOLERANCE: i64 = 300;

/// Checks Stripe's `Stripe-Signature` header (`t=<unix>,v1=<hex>,...`)
/// over the raw `body`: an HMAC-SHA256, under one of `secrets` (the
/// endpoint's `whsec_...` secrets, several while one is rolled), of
/// `"<t>.<body>"`, signed within `tolerance` seconds of `now`.
pub fn verify_stripe_signature(
    header: &str,
    body: &[u8],
    secrets: &[String],
    now: Timestamp,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut signed_at = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => signed_at = t.parse::<i64>().ok(),
            Some(("v1", hex)) => signatures.extend(from_hex(hex)),
            _ => {}
        }
    }
    let Some(signed_at) = signed_at else {
        return Err(SignatureError::Missing);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Missing);
    }
    let matches = secrets.iter().any(|secret| {
        signatures.iter().any(|signature| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(signed_at.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            // In constant time.
            mac.verify_slice(signature).is_ok()
        })
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    // Checked after the signature, so a forged header learns nothing.
    if (now.as_second() - signed_at).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// The `Stripe-Signature` header Stripe would send with `body` at
/// `signed_at` (Unix seconds) under `secret`: what `estrade serve`'s
/// local checkout signs its events with, the same scheme the webhook
/// checks.
pub fn stripe_signature(secret: &str, signed_at: i64, body: &[u8]) -> String {
    let hex: String = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(signed_at.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
        // HMAC takes keys of every length.
        Err(_) => String::new(),
    };
    format!("t={signed_at},v1={hex}")
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// What the campaign's own code wrote into a Checkout Session's metadata
/// (and a subscription's), to find the gift's donor and election when
/// Stripe reports the payment.
pub const META_DONOR: &str = "estrade_donor";
pub const META_ELECTION: &str = "estrade_election";
pub const META_FREQUENCY: &str = "estrade_frequency";

/// A payment Stripe reports as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    /// The Stripe event that reported it.
    pub event: String,
    /// What identifies this money at Stripe, whatever event reports it
    /// (so the session's completion and its late SEPA success count
    /// once): the PaymentIntent for a one-off gift, the invoice for each
    /// month of a monthly one.
    pub payment: String,
    /// The PaymentIntent behind it when known, which a refund names.
    pub payment_intent: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub donor: String,
    pub election: String,
    pub frequency: Frequency,
    pub at: Timestamp,
    /// The subscription a monthly gift's invoice belongs to.
    pub subscription: Option<String>,
}

/// What one webhook event means to the campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeEvent {
    /// Money arrived: count it (once).
    Paid(Paid),
    /// Paid by a method that settles later (SEPA debit): the money is
    /// counted when `checkout.session.async_payment_succeeded` comes.
    Awaiting { event: String },
    /// A payment failed (a refused SEPA debit, a failed monthly charge):
    /// nothing to count.
    Failed { event: String, kind: String },
    /// Some or all of a payment went back to the donor.
    Refunded {
        event: String,
        payment_intent: String,
        amount_refunded: i64,
        at: Timestamp,
        /// The charge carries the campaign's metadata: a gift made here
        /// (whose payment may not be recorded yet, events coming in any
        /// order), not some other sale of the same Stripe account.
        ours: bool,
    },
    /// An event this endpoint does not act on (acknowledged all the same).
    Ignored { event: String, kind: String },
}

impl StripeEvent {
    /// The event's id (`evt_...`), the same each time Stripe delivers it.
    pub fn id(&self) -> &str {
        match self {
            StripeEvent::Paid(paid) => &paid.event,
            StripeEvent::Awaiting { event }
            | StripeEvent::Failed { event, .. }
            | StripeEvent::Refunded { event, .. }
            | StripeEvent::Ignored { event, .. } => event,
        }
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub String);

/// Reads a Stripe event (already verified) into what it means here.
pub fn read_stripe_event(body: &[u8]) -> Result<StripeEvent, EventError> {
    let event: Value =
        serde_json::from_slice(body).map_err(|_| EventError("not a JSON event".to_owned()))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text(&event, "id").ok_or_else(|| EventError("the event has no id".to_owned()))?;
    let kind =
        text(&event, "type").ok_or_else(|| EventError("the event has no type".to_owned()))?;
    let at = event
        .get("created")
        .and_then(Value::as_i64)
        .and_then(|s| Timestamp::from_second(s).ok())
        .ok_or_else(|| EventError("the event has no creation time".to_owned()))?;
    let object = event
        .get("data")
        .and_then(|d| d.get("object"))
        .ok_or_else(|| EventError("the event has no data.object".to_owned()))?;
    let missing = |what: &str| EventError(format!("{kind}: no {what}"));
    let metadata = |m: Option<&Value>| -> Result<(String, String, Frequency), EventError> {
        let m = m.ok_or_else(|| missing("metadata"))?;
        let donor = text(m, META_DONOR).ok_or_else(|| missing(META_DONOR))?;
        let election = text(m, META_ELECTION).ok_or_else(|| missing(META_ELECTION))?;
        let frequency = text(m, META_FREQUENCY)
            .and_then(|f| Frequency::parse(&f))
            .unwrap_or(Frequency::Once);
        Ok((donor, election, frequency))
    };
    match kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            if text(object, "mode").as_deref() != Some("payment") {
                // A subscription's months are counted from their invoices.
                return Ok(StripeEvent::Ignored { event: id, kind });
            }
            if text(object, "payment_status").as_deref() != Some("paid") {
                return Ok(StripeEvent::Awaiting { event: id });
            }
            let payment_intent =
                text(object, "payment_intent").ok_or_else(|| missing("payment_intent"))?;
            let (donor, election, frequency) = metadata(object.get("metadata"))?;
            Ok(StripeEvent::Paid(Paid {
                event: id,
                payment: payment_intent.clone(),
                payment_intent: Some(payment_intent),
                amount: object
                    .get("amount_total")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| missing("amount_total"))?,
                currency: text(object, "currency").ok_or_else(|| missing("currency"))?,
                donor,
                election,
                frequency,
                at,
                subscription: None,
            }))
        }
        "invoice.paid" => {
            let amount = object
                .get("amount_paid")
                .and_then(Value::as_i64)
                .ok_or_else(|| missing("amount_paid"))?;
            if amount <= 0 {
                return Ok(StripeEvent::Ignored { event: id, kind });
            }
            // Where the subscription's metadata sits depends on the API
            // version the endpoint was made with.
            let subscription = object
                .get("parent")
                .and_then(|p| p.get("subscription_details"))
                .or_else(|| object.get("subscription_details"));
            let (donor, election, _) = metadata(subscription.and_then(|s| s.get("metadata")))?;
            Ok(StripeEvent::Paid(Paid {
                event: id,
                payment: text(object, "id").ok_or_else(|| missing("id"))?,
                payment_intent: text(object, "payment_intent"),
                amount,
                currency: text(object, "currency").ok_or_else(|| missing("currency"))?,
                donor,
                election,
                frequency: Frequency::Monthly,
                at,
                subscription: subscription
                    .and_then(|s| text(s, "subscription"))
                    .or_else(|| text(object, "subscription")),
            }))
        }
        "checkout.session.async_payment_failed" | "invoice.payment_failed" => {
            Ok(StripeEvent::Failed { event: id, kind })
        }
        "charge.refunded" => Ok(StripeEvent::Refunded {
            event: id,
            payment_intent: text(object, "payment_intent")
                .ok_or_else(|| missing("payment_intent"))?,
            amount_refunded: object
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .ok_or_else(|| missing("amount_refunded"))?,
            at,
            ours: object
                .get("metadata")
                .and_then(|m| m.get(META_DONOR))
                .is_some(),
        }),
        _ => Ok(StripeEvent::Ignored { event: id, kind }),
    }
}

#[cfg(test)]
mod tests;
