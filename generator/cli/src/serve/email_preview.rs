//! `estrade serve`'s email preview: every email of the last good build,
//! filled for the sample supporter `estrade check` uses, as a supporter
//! would read it. Nothing is sent.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use estrade_domain::manifest::{EmailTemplate, Manifest, REQUIRED_EMAILS};
use estrade_domain::text::escape_html as esc;
use estrade_site::emails::sample_places;
use jiff::Timestamp;

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;\
         max-width:60rem;padding:1rem}}table{{border-collapse:collapse;width:100%}}td,th{{\
         border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}\
         iframe{{width:100%;height:70vh;border:1px solid #ccc}}pre{{white-space:pre-wrap;\
         background:#f4f4f4;padding:1rem}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n\
         {body}\n</main>\n</body>\n</html>\n",
        title = esc(title)
    ))
    .into_response()
}

/// What sends an email, in words: the forms, automations, or a broadcast.
fn kind(manifest: &Manifest, name: &str, email: &EmailTemplate) -> String {
    if REQUIRED_EMAILS.contains(&name) {
        return "transactional (sent by the forms)".to_owned();
    }
    let mut kinds = Vec::new();
    let automations: Vec<&str> = manifest
        .automations
        .iter()
        .filter(|a| {
            a.steps.iter().any(
                |s| matches!(&s.action, estrade_domain::automation::Action::Send(e) if e == name),
            )
        })
        .map(|a| a.id.as_str())
        .collect();
    if !automations.is_empty() {
        kinds.push(format!("automation ({})", automations.join(", ")));
    }
    if let Some(audience) = &email.audience {
        let when = match email.send_at {
            Some(at) => format!("sent at {at}"),
            None => "draft: no send_at".to_owned(),
        };
        kinds.push(format!("broadcast to {}; {when}", audience.summary()));
    }
    if kinds.is_empty() {
        "not sent: no automation sends it and it has no audience".to_owned()
    } else {
        kinds.join("; ")
    }
}

pub fn list(manifest: Option<Manifest>) -> Response {
    let Some(manifest) = manifest else {
        return no_build();
    };
    let mut rows = String::from(
        "<p>Every email of the site, filled for a sample supporter. Emails actually sent are \
         in the <a href=\"/__estrade/outbox\">outbox</a>.</p>\n<table>\n<thead><tr>\
         <th>Email</th><th>Subject</th><th>Kind</th></tr></thead>\n<tbody>\n",
    );
    for (name, email) in &manifest.emails {
        rows.push_str(&format!(
            "<tr><td><a href=\"/__estrade/emails/{name}\">{name}</a></td><td>{}</td>\
             <td>{}</td></tr>\n",
            esc(&email.subject),
            esc(&kind(&manifest, name, email)),
            name = esc(name),
        ));
    }
    rows.push_str("</tbody>\n</table>\n");
    page("Emails", &rows)
}

/// The email `name` filled with sample values, or `None`.
fn filled(manifest: &Manifest, name: &str) -> Option<estrade_domain::manifest::FilledEmail> {
    let email = manifest.emails.get(name)?;
    let values = sample_places(name, &manifest.config, &manifest.events, Timestamp::now());
    Some(email.fill(&values))
}

pub fn show(manifest: Option<Manifest>, name: &str) -> Response {
    let Some(manifest) = manifest else {
        return no_build();
    };
    let (Some(email), Some(sample)) = (manifest.emails.get(name), filled(&manifest, name)) else {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    };
    let config = &manifest.config.email;
    let from_name = email
        .from_name
        .clone()
        .or_else(|| config.from_name.clone())
        .unwrap_or_default();
    let reply_to = email
        .reply_to
        .clone()
        .or_else(|| config.reply_to.clone())
        .unwrap_or_default();
    let body = format!(
        "<p><a href=\"/__estrade/emails\">All emails</a></p>\n<dl>\n\
         <dt>Kind</dt><dd>{}</dd>\n<dt>From</dt><dd>{} &lt;{}&gt;</dd>\n\
         <dt>Reply-To</dt><dd>{}</dd>\n<dt>Subject</dt><dd id=\"subject\">{}</dd>\n\
         <dt>Preview</dt><dd>{}</dd>\n</dl>\n\
         <h2>HTML</h2>\n<iframe title=\"The email as HTML\" src=\"/__estrade/emails/{}/html\">\
         </iframe>\n<h2>Text</h2>\n<pre id=\"text\">{}</pre>\n",
        esc(&kind(&manifest, name, email)),
        esc(&from_name),
        esc(&config.from_address),
        esc(&reply_to),
        esc(&sample.subject),
        esc(email.preview.as_deref().unwrap_or_default()),
        esc(name),
        esc(&sample.text),
    );
    page(&sample.subject, &body)
}

/// The filled HTML alone, for the frame; it may run no script.
pub fn html(manifest: Option<Manifest>, name: &str) -> Response {
    let Some(sample) = manifest.and_then(|m| filled(&m, name)) else {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "script-src 'none'"),
        ],
        sample.html,
    )
        .into_response()
}

fn no_build() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the site has not built yet: see the problems in the terminal",
    )
        .into_response()
}
