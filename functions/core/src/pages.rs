//! The few pages the functions answer with themselves: a result, the
//! mistakes to fix when JavaScript is off, the unsubscribe and cancel
//! confirmations. They use the site's stylesheet and language.

use crate::http::Settings;
use crate::messages::Says;
use axum::response::Html;
use estrade_domain::text::escape_html as esc;
use std::collections::BTreeSet;

fn page(settings: &Settings, title: &str, body: &str) -> Html<String> {
    let config = &settings.manifest.config;
    let stylesheet = settings
        .manifest
        .stylesheet
        .as_deref()
        .map(|href| format!("<link rel=\"stylesheet\" href=\"{}\">", esc(href)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title} – {site}</title>\n{stylesheet}\n</head>\n\
         <body>\n<main id=\"main\" class=\"container narrow\">\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        lang = esc(&config.language),
        title = esc(title),
        site = esc(&config.title),
    ))
}

/// A result or a refusal, with the mistakes listed and a way back.
pub fn message(
    settings: &Settings,
    message: &str,
    errors: &[&str],
    back: &str,
    done: bool,
) -> Html<String> {
    let lang = &settings.manifest.config.language;
    let mut body = format!(
        "<p role=\"{}\">{}</p>\n",
        if done { "status" } else { "alert" },
        esc(message)
    );
    if !errors.is_empty() {
        body.push_str("<ul>\n");
        for error in errors {
            body.push_str(&format!("<li>{}</li>\n", esc(error)));
        }
        body.push_str("</ul>\n");
    }
    let back_label = if done {
        Says::BackToSite
    } else {
        Says::BackToForm
    };
    body.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p>",
        esc(back),
        esc(back_label.text(lang))
    ));
    page(settings, &settings.manifest.config.title, &body)
}

pub fn unsubscribe(settings: &Settings, token: &str, interests: &BTreeSet<String>) -> Html<String> {
    let config = &settings.manifest.config;
    let lang = &config.language;
    let action = format!("/api/unsubscribe?token={}", esc(token));
    let mut body = format!(
        "<form method=\"post\" action=\"{action}\">\n<button type=\"submit\" class=\"button\">{}</button>\n</form>\n",
        esc(Says::UnsubscribeAll.text(lang))
    );
    let offered: Vec<_> = config
        .interests
        .iter()
        .filter(|i| interests.contains(&i.id))
        .collect();
    if !offered.is_empty() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"{action}\">\n<fieldset>\n<legend>{}</legend>\n",
            esc(Says::UnsubscribeTopics.text(lang))
        ));
        for interest in offered {
            body.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"topics\" value=\"{}\"> {}</label><br>\n",
                esc(&interest.id),
                esc(&interest.label)
            ));
        }
        body.push_str(&format!(
            "</fieldset>\n<button type=\"submit\">{}</button>\n</form>\n",
            esc(Says::UnsubscribeTopicsButton.text(lang))
        ));
    }
    page(settings, Says::UnsubscribeTitle.text(lang), &body)
}

pub fn cancel(settings: &Settings, token: &str, event_title: &str) -> Html<String> {
    let lang = &settings.manifest.config.language;
    let body = format!(
        "<p>{}</p>\n<form method=\"post\" action=\"/api/rsvp/cancel?token={}\">\n<button type=\"submit\" class=\"button\">{}</button>\n</form>\n",
        esc(event_title),
        esc(token),
        esc(Says::CancelButton.text(lang))
    );
    page(settings, Says::CancelTitle.text(lang), &body)
}
