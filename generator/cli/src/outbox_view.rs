//! The outbox viewer of `estrade serve`: every email the functions sent,
//! newest first, each readable as the supporter would see it.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use estrade_domain::text::escape_html as esc;
use estrade_functions::outbox;
use mail_parser::MimeHeaders;
use std::path::Path;

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left}}\
         iframe{{width:100%;height:70vh;border:1px solid #ccc}}pre{{white-space:pre-wrap;background:#f4f4f4;padding:1rem}}</style>\n\
         </head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = esc(title)
    ))
    .into_response()
}

pub fn list(dir: &Path) -> Response {
    let entries = match outbox::list(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the outbox: {e}"),
            )
                .into_response();
        }
    };
    if entries.is_empty() {
        return page(
            "Outbox",
            "<p>No email yet. Fill a form of the site: what it sends appears here.</p>",
        );
    }
    let mut rows = String::from(
        "<table>\n<thead><tr><th>Date</th><th>To</th><th>Subject</th></tr></thead>\n<tbody>\n",
    );
    for entry in entries {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/__estrade/outbox/{}\">{}</a></td></tr>\n",
            esc(&entry.date),
            esc(&entry.to),
            esc(&entry.file_name),
            esc(&entry.subject)
        ));
    }
    rows.push_str("</tbody>\n</table>\n");
    page("Outbox", &rows)
}

pub fn message(dir: &Path, file: &str) -> Response {
    let bytes = match outbox::read(dir, file) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such email").into_response(),
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the outbox: {e}"),
            )
                .into_response();
        }
    };
    let Some(parsed) = mail_parser::MessageParser::default().parse(&bytes) else {
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response();
    };
    let header_text = |name: &str| -> String {
        parsed
            .header_raw(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let text = parsed
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let attachments: Vec<String> = parsed
        .attachments()
        .map(|a| a.attachment_name().unwrap_or("attachment").to_owned())
        .collect();
    let body = format!(
        "<p><a href=\"/__estrade/outbox\">All emails</a></p>\n<dl>\n<dt>From</dt><dd>{}</dd>\n<dt>To</dt><dd>{}</dd>\n\
         <dt>Subject</dt><dd id=\"subject\">{}</dd>\n<dt>List-Unsubscribe</dt><dd>{}</dd>\n<dt>Attachments</dt><dd>{}</dd>\n</dl>\n\
         <h2>HTML</h2>\n<iframe title=\"The email as HTML\" src=\"/__estrade/outbox/{}/html\"></iframe>\n\
         <h2>Text</h2>\n<pre id=\"text\">{}</pre>\n",
        esc(&header_text("From")),
        esc(&header_text("To")),
        esc(parsed.subject().unwrap_or_default()),
        esc(&header_text("List-Unsubscribe")),
        esc(&attachments.join(", ")),
        esc(file),
        esc(&text),
    );
    page(parsed.subject().unwrap_or("Email"), &body)
}

/// The HTML part alone, for the viewer's frame. The email's own links are
/// live, as in a mail app; it may run no script.
pub fn html_part(dir: &Path, file: &str) -> Response {
    let Ok(Some(bytes)) = outbox::read(dir, file) else {
        return (StatusCode::NOT_FOUND, "no such email").into_response();
    };
    let html = mail_parser::MessageParser::default()
        .parse(&bytes)
        .and_then(|m| m.body_html(0).map(|h| h.into_owned()))
        .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "script-src 'none'"),
        ],
        html,
    )
        .into_response()
}
