//! The donate function: the donation form, checked against the law's
//! rules and the donor's total, then sent on to the payment processor's
//! page; and the processor's webhook, the only way a gift is recorded.

use super::compose::compose_receipt;
use super::*;
use crate::gifts::{Gift, GiftStatus, Recorded};
use crate::payments::{CheckoutError, SessionRequest};
use estrade_domain::automation::Happening;
use estrade_domain::donation::{
    Donor, Frequency, Paid, SIGNATURE_TOLERANCE, StripeEvent, cents, read_stripe_event,
    verify_stripe_signature,
};

/// Stripe's events are a few KB; a full Checkout Session with its line
/// items stays well under this.
const MAX_WEBHOOK_BYTES: usize = 256 * 1024;

pub(super) async fn donate<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let settings = f.settings();
    let form = FormName::Donation;
    let incoming = match gate(&f, &settings, form.as_str(), request, true).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let json = incoming.json;
    let submission = &incoming.submission;
    let source = local_path(submission.get(SOURCE_FIELD), "/");
    let thanks = local_path(submission.get(THANKS_FIELD), &default_thanks(&settings));
    if is_bot(submission) {
        log_outcome(form.as_str(), "dropped-as-bot");
        return success(&settings, Says::Thanks, thanks, None).respond(json, &settings);
    }
    let config = &settings.manifest.config;
    let rules = &config.donations;
    let cleaned = match validate::validate(form.definition(), submission, config) {
        Ok(cleaned) => cleaned,
        Err(problems) => return invalid(problems, &settings, source).respond(json, &settings),
    };
    let refuse_field = |field: &'static str, says: Says| {
        let mut answer = Answer::refuse(StatusCode::UNPROCESSABLE_ENTITY, says, &settings);
        answer.errors.insert(field, says.text(settings.lang()));
        answer.back = Some(source.clone());
        answer.respond(json, &settings)
    };
    let frequency = cleaned
        .text("frequency")
        .and_then(Frequency::parse)
        .unwrap_or(Frequency::Once);
    if frequency == Frequency::Monthly && !rules.monthly {
        return refuse_field("frequency", Says::MonthlyClosed);
    }
    let country = cleaned.text("country").unwrap_or_default();
    if !rules.countries.is_empty() && !rules.countries.iter().any(|c| c == country) {
        return refuse_field("country", Says::CountryRefused);
    }
    let amount = cents(
        cleaned
            .text("amount")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
    );
    let field = |name: &str| cleaned.owned(name).unwrap_or_default();
    let donor = Donor {
        first_name: field("first_name"),
        last_name: field("last_name"),
        birth_date: field("birth_date"),
        address: field("address"),
        postcode: field("postcode"),
        city: field("city"),
        country: field("country"),
        email: field("email"),
        phone: cleaned.owned("phone"),
    };
    let key = donor.key();
    let now = (f.clock)();
    // Checked here so that the donor hears it before paying; checked
    // again, atomically, when the payment is recorded.
    let total = match f.store.donor_total(&rules.period(now), &key).await {
        Ok(total) => total,
        Err(e) => return store_down(&e, json, &settings),
    };
    if total + amount > cents(rules.cap_per_donor) {
        log_outcome(form.as_str(), "over-cap");
        return refuse_field("amount", Says::OverCap);
    }
    let Some(payments) = &f.payments else {
        log_outcome(form.as_str(), "closed");
        return Answer::refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            Says::DonationsClosed,
            &settings,
        )
        .respond(json, &settings);
    };
    if let Err(e) = f.store.save_donor(&donor, now).await {
        return store_down(&e, json, &settings);
    }
    let site = settings.site_url.trim_end_matches('/');
    let mut request = SessionRequest {
        amount,
        currency: rules.currency.to_ascii_lowercase(),
        frequency,
        description: format!(
            "{} {}",
            Says::DonationTitle.text(settings.lang()),
            config.title
        ),
        email: donor.email.clone(),
        donor: key.clone(),
        election: rules.election.clone(),
        success_url: format!("{site}{thanks}"),
        cancel_url: format!("{site}{source}"),
        locale: settings.lang().to_owned(),
        idempotency_key: String::new(),
    };
    // The same form sent again within ten minutes (a double click, a
    // retry after a timeout) gets the same session; Stripe refuses a key
    // reused with other parameters, so they are all in it.
    request.idempotency_key = short_hash(&format!(
        "{}\n{}",
        crate::payments::session_form(&request),
        now.as_second() / 600
    ));
    match payments.checkout.create_session(&request).await {
        Ok(session) => {
            log_outcome(form.as_str(), "to-checkout");
            // `checkout` tells the theme's script that this redirect
            // leaves the site on purpose.
            let extra = json!({ "checkout": session.id });
            success(&settings, Says::Thanks, session.url, Some(extra)).respond(json, &settings)
        }
        Err(e) => {
            let outcome = match e {
                CheckoutError::Unavailable(_) => "checkout-unavailable",
                CheckoutError::Refused(_) => "checkout-refused",
            };
            eprintln!(
                "{{\"level\":\"error\",\"what\":\"checkout\",\"error\":{:?}}}",
                e.to_string()
            );
            log_outcome(form.as_str(), outcome);
            Answer::refuse(StatusCode::SERVICE_UNAVAILABLE, Says::TryAgain, &settings)
                .respond(json, &settings)
        }
    }
}

/// Answers Stripe: a 2xx says "recorded, do not send again"; anything
/// else makes Stripe deliver the event again later (for up to three
/// days), which is what a store failure or an early refund wants.
fn webhook_answer(status: StatusCode, outcome: &str) -> Response {
    println!("{{\"level\":\"info\",\"form\":\"stripe-webhook\",\"outcome\":\"{outcome}\"}}");
    (
        status,
        axum::Json(json!({ "received": status.is_success(), "outcome": outcome })),
    )
        .into_response()
}

pub(super) async fn stripe_webhook<S: Store, M: Mailer>(
    State(f): State<Arc<Functions<S, M>>>,
    request: Request,
) -> Response {
    let Some(payments) = &f.payments else {
        return webhook_answer(StatusCode::SERVICE_UNAVAILABLE, "not-configured");
    };
    let (parts, body) = request.into_parts();
    let signature = parts
        .headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(bytes) = to_bytes(body, MAX_WEBHOOK_BYTES).await else {
        return webhook_answer(StatusCode::PAYLOAD_TOO_LARGE, "too-large");
    };
    let now = (f.clock)();
    if let Err(e) = verify_stripe_signature(
        &signature,
        &bytes,
        &payments.webhook_secrets,
        now,
        SIGNATURE_TOLERANCE,
    ) {
        let outcome = match e {
            estrade_domain::donation::SignatureError::Missing => "signature-missing",
            estrade_domain::donation::SignatureError::Stale => "signature-stale",
            estrade_domain::donation::SignatureError::Mismatch => "signature-mismatch",
        };
        return webhook_answer(StatusCode::BAD_REQUEST, outcome);
    }
    let event = match read_stripe_event(&bytes) {
        Ok(event) => event,
        Err(e) => {
            eprintln!(
                "{{\"level\":\"error\",\"what\":\"stripe-event\",\"error\":{:?}}}",
                e.0
            );
            return webhook_answer(StatusCode::BAD_REQUEST, "unreadable");
        }
    };
    let id = event.id().to_owned();
    match f.store.payment_event_seen(&id).await {
        Ok(true) => return webhook_answer(StatusCode::OK, "already-handled"),
        Ok(false) => {}
        Err(e) => return store_failed(&e),
    }
    let settings = f.settings();
    let answer = act_on(&f, &settings, event, now).await;
    // Noted only once handled to the end: an event answered with an
    // error comes again, and is acted on then.
    if answer.status().is_success()
        && let Err(e) = f.store.note_payment_event(&id, now).await
    {
        // Acting again on it would count nothing twice (gifts are kept
        // by payment); only a receipt could go out again.
        eprintln!(
            "{{\"level\":\"error\",\"what\":\"store\",\"error\":{:?}}}",
            e.0
        );
    }
    answer
}

async fn act_on<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    settings: &Settings,
    event: StripeEvent,
    now: Timestamp,
) -> Response {
    match event {
        StripeEvent::Paid(paid) => record_paid(f, settings, paid, now).await,
        StripeEvent::Refunded {
            payment_intent,
            amount_refunded,
            ours,
            ..
        } => match f.store.refund_gift(&payment_intent, amount_refunded).await {
            Ok(Some(gift)) if gift.status == GiftStatus::Refunded => {
                webhook_answer(StatusCode::OK, "refunded")
            }
            Ok(Some(_)) => webhook_answer(StatusCode::OK, "partly-refunded"),
            // The payment's own event has not come yet: later, please.
            Ok(None) if ours => webhook_answer(StatusCode::CONFLICT, "refund-before-payment"),
            Ok(None) => webhook_answer(StatusCode::OK, "refund-not-a-gift"),
            Err(e) => store_failed(&e),
        },
        StripeEvent::Awaiting { .. } => webhook_answer(StatusCode::OK, "awaiting-payment"),
        StripeEvent::Failed { .. } => webhook_answer(StatusCode::OK, "payment-failed"),
        StripeEvent::Ignored { .. } => webhook_answer(StatusCode::OK, "ignored"),
    }
}

fn store_failed(error: &StoreError) -> Response {
    eprintln!(
        "{{\"level\":\"error\",\"what\":\"store\",\"error\":{:?}}}",
        error.0
    );
    webhook_answer(StatusCode::SERVICE_UNAVAILABLE, "store-unavailable")
}

async fn record_paid<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    settings: &Settings,
    paid: Paid,
    now: Timestamp,
) -> Response {
    let rules = &settings.manifest.config.donations;
    let subscription = paid.subscription.clone();
    let gift = Gift {
        period: rules.period_of(&paid.election, paid.at),
        payment: paid.payment,
        payment_intent: paid.payment_intent,
        event: paid.event,
        election: paid.election,
        donor: paid.donor,
        amount: paid.amount,
        refunded: 0,
        currency: paid.currency,
        frequency: paid.frequency,
        at: paid.at,
        status: GiftStatus::Counted,
        receipt: None,
    };
    let (how, gift) = match f.store.record_gift(gift, cents(rules.cap_per_donor)).await {
        Ok(recorded) => recorded,
        Err(e) => return store_failed(&e),
    };
    match (how, gift.status) {
        (Recorded::OverCap, _) | (Recorded::Known, GiftStatus::OverCap) => {
            // The payment id names no one; the campaign's export lists the
            // gift with what is owed back.
            eprintln!(
                "{{\"level\":\"warn\",\"what\":\"gift\",\"outcome\":\"over-cap\",\"payment\":{:?}}}",
                gift.payment
            );
            // A monthly gift that reached the cap must take no more.
            let (Some(subscription), Some(payments)) = (subscription, &f.payments) else {
                return webhook_answer(StatusCode::OK, "over-cap");
            };
            match payments.checkout.cancel_subscription(&subscription).await {
                Ok(()) => webhook_answer(StatusCode::OK, "over-cap-subscription-cancelled"),
                // Stripe delivers the event again, and the cancel is
                // tried again (the gift itself is known by then).
                Err(CheckoutError::Unavailable(_)) => {
                    webhook_answer(StatusCode::SERVICE_UNAVAILABLE, "over-cap-cancel-failed")
                }
                Err(e) => {
                    eprintln!(
                        "{{\"level\":\"error\",\"what\":\"cancel-subscription\",\"error\":{:?}}}",
                        e.to_string()
                    );
                    webhook_answer(StatusCode::OK, "over-cap-cancel-refused")
                }
            }
        }
        // Counted now, or counted before and delivered again (perhaps
        // because the receipt failed to go out then): the receipt goes
        // out, with the same number.
        (Recorded::Counted | Recorded::Known, GiftStatus::Counted) => {
            let donor = match f.store.donor(&gift.donor).await {
                Ok(donor) => donor,
                Err(e) => return store_failed(&e),
            };
            let Some(donor) = donor else {
                eprintln!(
                    "{{\"level\":\"error\",\"what\":\"gift\",\"outcome\":\"no-donor\",\"payment\":{:?}}}",
                    gift.payment
                );
                return webhook_answer(StatusCode::OK, "counted-no-donor");
            };
            if how == Recorded::Counted {
                // A thank-you automation (`form: donation`); failing to
                // start it loses no money and no receipt, so it is only
                // logged.
                let happening = Happening::FormSubmitted(FormName::Donation);
                if let Err(e) = crate::automations::start(f, &donor.email, happening, now).await {
                    eprintln!(
                        "{{\"level\":\"error\",\"what\":\"automation\",\"error\":{:?}}}",
                        e.0
                    );
                }
            }
            let Some(receipt) = compose_receipt(settings, &gift, &donor, now) else {
                return webhook_answer(StatusCode::OK, "counted-no-receipt-template");
            };
            match f.mailer.send(&receipt).await {
                Ok(_) if how == Recorded::Counted => webhook_answer(StatusCode::OK, "counted"),
                Ok(_) => webhook_answer(StatusCode::OK, "known-receipt-sent-again"),
                Err(MailError::Transient(_)) => {
                    webhook_answer(StatusCode::SERVICE_UNAVAILABLE, "receipt-not-sent")
                }
                Err(e) => {
                    eprintln!(
                        "{{\"level\":\"error\",\"what\":\"mail\",\"error\":{:?}}}",
                        e.to_string()
                    );
                    webhook_answer(StatusCode::OK, "counted-receipt-refused")
                }
            }
        }
        _ => webhook_answer(StatusCode::OK, "known"),
    }
}
