//! A stand-in for Stripe Checkout inside `estrade serve`, so that the
//! donation form works end to end with cargo alone: the donate function
//! sends the donor to a page of serve's own, where "Pay" makes the event
//! Stripe would send, signs it as Stripe does with a secret of this
//! process, and posts it to the very webhook handler of the Lambda
//! function. The gift is then recorded, counted and receipted as on AWS;
//! no money moves.
//!
//! With `STRIPE_SECRET_KEY` set, serve uses Stripe itself instead (a test
//! key and `stripe listen --forward-to 127.0.0.1:PORT/api/stripe/webhook`
//! give the real pages and events).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use estrade_domain::donation::{
    Frequency, META_DONOR, META_ELECTION, META_FREQUENCY, money, stripe_signature,
};
use estrade_domain::text::escape_html as esc;
use estrade_functions::payments::{
    CancelFuture, Checkout, CheckoutFuture, Payments, Session, SessionRequest,
};
use jiff::Timestamp;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// The sessions made and not yet paid, and the secret events are
/// signed with.
pub struct LocalCheckout {
    site_url: String,
    secret: String,
    /// Starts every session id, so ids of another run are not taken.
    prefix: String,
    sessions: Mutex<HashMap<String, SessionRequest>>,
    made: AtomicU64,
}

impl LocalCheckout {
    pub fn new(site_url: &str) -> Result<LocalCheckout, String> {
        let mut random = [0u8; 20];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut source| source.read_exact(&mut random))
            .map_err(|e| format!("error: cannot make the local checkout's secret: {e}"))?;
        let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
        Ok(LocalCheckout {
            site_url: site_url.trim_end_matches('/').to_owned(),
            secret: format!("whsec_local_{}", hex(&random[..16])),
            prefix: hex(&random[16..]),
            sessions: Mutex::new(HashMap::new()),
            made: AtomicU64::new(0),
        })
    }

    /// The payments of serve: this stand-in, its secret the webhook's.
    pub fn payments(self: &Arc<Self>) -> Payments {
        Payments {
            checkout: self.clone(),
            webhook_secrets: vec![self.secret.clone()],
        }
    }

    fn session(&self, id: &str) -> Option<SessionRequest> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn take(&self, id: &str) -> Option<SessionRequest> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
    }
}

impl Checkout for LocalCheckout {
    fn create_session<'a>(&'a self, request: &'a SessionRequest) -> CheckoutFuture<'a> {
        Box::pin(async move {
            let n = self.made.fetch_add(1, Ordering::Relaxed);
            let id = format!("cs_local_{}_{n}", self.prefix);
            self.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.clone(), request.clone());
            Ok(Session {
                url: format!("{}/__estrade/checkout/{id}", self.site_url),
                id,
            })
        })
    }

    fn cancel_subscription<'a>(&'a self, id: &'a str) -> CancelFuture<'a> {
        Box::pin(async move {
            println!("The local checkout cancelled the monthly gift {id} (no money moves)");
            Ok(())
        })
    }
}

/// `GET /__estrade/checkout/{id}`: what the donor would pay, and the two
/// ways out.
pub fn page(checkout: &LocalCheckout, id: &str) -> Response {
    let Some(session) = checkout.session(id) else {
        return (
            StatusCode::NOT_FOUND,
            Html(shell(
                "Checkout",
                "<p>No such checkout: it was paid already, or serve restarted.</p>",
            )),
        )
            .into_response();
    };
    let fr = session.locale == "fr";
    let amount = money(session.amount, &session.currency, &session.locale);
    let each = match (session.frequency, fr) {
        (Frequency::Monthly, true) => " par mois",
        (Frequency::Monthly, false) => " a month",
        _ => "",
    };
    let (title, note, pay, cancel) = if fr {
        (
            "Paiement de test",
            "Page de test d’estrade serve : aucun argent n’est prélevé. En ligne, le donateur paie ici sur Stripe Checkout.",
            "Payer (test)",
            "Annuler",
        )
    } else {
        (
            "Test payment",
            "A test page of estrade serve: no money moves. Online, donors pay here on Stripe Checkout.",
            "Pay (test)",
            "Cancel",
        )
    };
    let body = format!(
        "<p>{note}</p>\n<p><strong>{description}</strong><br>{amount}{each}<br>{email}</p>\n\
         <form method=\"post\" action=\"/__estrade/checkout/{id}/pay\"><button type=\"submit\">{pay}</button></form>\n\
         <p><a href=\"{cancel_url}\">{cancel}</a></p>",
        description = esc(&session.description),
        email = esc(&session.email),
        id = esc(id),
        cancel_url = esc(&session.cancel_url),
    );
    Html(shell(title, &body)).into_response()
}

/// `POST /__estrade/checkout/{id}/pay`: the payment "succeeds"; the
/// event Stripe would send is posted to the webhook, and the donor goes
/// to the campaign's thank-you page.
pub async fn pay(checkout: &LocalCheckout, api: Router, id: &str) -> Response {
    let Some(session) = checkout.take(id) else {
        return page(checkout, id);
    };
    let now = Timestamp::now();
    let event = event_for(id, &session, now);
    let body = event.to_string();
    let signature = stripe_signature(&checkout.secret, now.as_second(), body.as_bytes());
    let request = Request::post("/api/stripe/webhook")
        .header("stripe-signature", signature)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body));
    let Ok(request) = request else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let answer = match api.oneshot(request).await {
        Ok(answer) => answer,
        Err(never) => match never {},
    };
    if !answer.status().is_success() {
        return (
            StatusCode::BAD_GATEWAY,
            Html(shell(
                "Checkout",
                &format!(
                    "<p>The webhook answered {}: see serve's log.</p>",
                    answer.status()
                ),
            )),
        )
            .into_response();
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, session.success_url)],
    )
        .into_response()
}

/// The event Stripe sends for a paid session: a completed one-off
/// Checkout Session, or a monthly gift's first invoice.
pub fn event_for(id: &str, session: &SessionRequest, now: Timestamp) -> serde_json::Value {
    let metadata = json!({
        META_DONOR: session.donor,
        META_ELECTION: session.election,
        META_FREQUENCY: session.frequency.as_str(),
    });
    let (kind, object) = match session.frequency {
        Frequency::Once => (
            "checkout.session.completed",
            json!({
                "id": id, "object": "checkout.session", "mode": "payment",
                "payment_status": "paid", "payment_intent": format!("pi_{id}"),
                "amount_total": session.amount, "currency": session.currency,
                "metadata": metadata,
            }),
        ),
        Frequency::Monthly => (
            "invoice.paid",
            json!({
                "id": format!("in_{id}"), "object": "invoice",
                "amount_paid": session.amount, "currency": session.currency,
                "parent": { "subscription_details": { "metadata": metadata } },
            }),
        ),
    };
    json!({
        "id": format!("evt_{id}"), "object": "event", "type": kind,
        "created": now.as_second(), "data": { "object": object },
    })
}

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:36rem;padding:1rem}}\
         button{{font:inherit;padding:.5rem 1.5rem}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = esc(title)
    )
}
