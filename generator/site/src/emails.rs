//! The campaign's emails, `content/emails/<name>.md`, rendered once per
//! build through the theme's `email.html` into HTML and plain text, for
//! the functions to fill and send: the six the forms send (the theme's
//! `emails/<language>/<name>.md` when the site writes none), and the
//! campaign's own, sent by automations or broadcast to an audience.
//!
//! Each email is also filled with a sample supporter and event, and what
//! stays unfilled is reported: a mistyped place would otherwise reach
//! supporters as it is.

use crate::diagnostic::Diagnostic;
use crate::frontmatter;
use crate::markdown;
use crate::site::Site;
use crate::templates::template_error;
use estrade_domain::Event;
use estrade_domain::audience::Audience;
use estrade_domain::config::CampaignConfig;
use estrade_domain::config::serde_yaml_free::Map as FreeMap;
use estrade_domain::manifest::{
    CAMPAIGN_PLACES, EVENT_PLACES, EmailTemplate, REQUIRED_EMAILS, is_marketing, list_events,
    nearest_events, places_of,
};
use jiff::Timestamp;
use pulldown_cmark::{Event as MdEvent, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Folder of `content/` holding the emails.
pub const FOLDER: &str = "emails/";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFront {
    subject: String,
    #[serde(default)]
    preview: Option<String>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    audience: Option<Audience>,
    /// `2027-03-14 18:00` in the campaign's time zone, or RFC 3339.
    #[serde(default)]
    send_at: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    extra: FreeMap,
}

/// Every email of the build.
#[derive(Debug, Default)]
pub struct RenderedEmails {
    pub templates: BTreeMap<String, EmailTemplate>,
    /// The name of every email written, rendered or not: automations may
    /// name these (a broken one is reported once, as itself).
    pub names: BTreeSet<String>,
    pub problems: Vec<Diagnostic>,
}

/// One email's Markdown and where it comes from.
struct Source {
    name: String,
    /// As shown in problems: `content/emails/x.md` or the theme's file.
    file: String,
    text: String,
}

/// Every email, rendered and checked; problems name the file.
pub fn render_all(site: &Site, events: &[Event]) -> RenderedEmails {
    let mut rendered = RenderedEmails::default();
    let mut sources = Vec::new();
    for name in REQUIRED_EMAILS {
        rendered.names.insert(name.to_owned());
        match required_source(site, name) {
            Ok(source) => sources.push(source),
            Err(problem) => rendered.problems.push(problem),
        }
    }
    let folder = site.root.join("content").join(FOLDER);
    let mut own: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    own.sort();
    for path in own {
        let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let Some(name) = file_name.strip_suffix(".md") else {
            continue;
        };
        if REQUIRED_EMAILS.contains(&name) || file_name.starts_with('.') || !path.is_file() {
            continue;
        }
        let file = format!("content/{FOLDER}{file_name}");
        if !valid_name(name) {
            rendered.problems.push(
                Diagnostic::new(&file, "this email's file name cannot name it")
                    .hint("use lower-case letters, digits and dashes, like `lettre-ecologie.md`"),
            );
            continue;
        }
        rendered.names.insert(name.to_owned());
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push(Source {
                name: name.to_owned(),
                file,
                text,
            }),
            Err(e) => rendered
                .problems
                .push(Diagnostic::new(file, format!("cannot read: {e}"))),
        }
    }
    for source in sources {
        match render_one(site, &source, events) {
            Ok(email) => {
                rendered.templates.insert(source.name, email);
            }
            Err(mut p) => rendered.problems.append(&mut p),
        }
    }
    rendered
}

/// Lower-case letters, digits, `-` and `_`: a name that reads the same in
/// a file, a URL and an automation.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The site's own file for a required email, else the theme's.
fn required_source(site: &Site, name: &str) -> Result<Source, Diagnostic> {
    let own = site
        .root
        .join("content")
        .join(FOLDER)
        .join(format!("{name}.md"));
    let file = format!("content/{FOLDER}{name}.md");
    if own.is_file() {
        return match std::fs::read_to_string(&own) {
            Ok(text) => Ok(Source {
                name: name.to_owned(),
                file,
                text,
            }),
            Err(e) => Err(Diagnostic::new(file, format!("cannot read: {e}"))),
        };
    }
    let key = format!("{}/{name}.md", site.config.language);
    let Some(theme_file) = site.theme.emails.get(&key) else {
        return Err(Diagnostic::new(file, "this email is missing")
            .hint("the forms send it: write it, or use a theme that provides it"));
    };
    match theme_file.source.read() {
        Ok(bytes) => Ok(Source {
            name: name.to_owned(),
            file: theme_file.shown_as.clone(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }),
        Err(e) => Err(Diagnostic::new(
            &theme_file.shown_as,
            format!("cannot read: {e}"),
        )),
    }
}

fn render_one(
    site: &Site,
    source: &Source,
    events: &[Event],
) -> Result<EmailTemplate, Vec<Diagnostic>> {
    let (name, file, text) = (source.name.as_str(), source.file.as_str(), &source.text);
    let split = frontmatter::split(text, file).map_err(|d| vec![d])?;
    let front: EmailFront = frontmatter::parse(&split, file).map_err(|d| vec![d])?;
    let mut problems = Vec::new();
    // Problems about one key are shown at its line.
    let key_line = |key: &str| {
        split
            .front
            .lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map(|i| split.front_line + i)
    };
    let at_key = |key: &str, message: String| {
        let d = Diagnostic::new(file, message);
        match key_line(key) {
            Some(line) => d.at_line(line),
            None => d,
        }
    };
    let required = REQUIRED_EMAILS.contains(&name);
    if required && (front.audience.is_some() || front.send_at.is_some()) {
        let key = if front.audience.is_some() {
            "audience"
        } else {
            "send_at"
        };
        problems.push(
            at_key(
                key,
                format!(
                    "`{name}` is sent by the forms, to one supporter at a time: it takes no `{key}`"
                ),
            )
            .hint("write a broadcast as an email of its own, like `content/emails/lettre-mars.md`"),
        );
    }
    let send_at = match &front.send_at {
        Some(when) => match frontmatter::parse_date(when, &site.zone) {
            Ok(at) => Some(at),
            Err(e) => {
                problems.push(at_key("send_at", format!("front matter: send_at: {e}")));
                None
            }
        },
        None => None,
    };
    if front.send_at.is_some() && front.audience.is_none() && !required {
        problems.push(
            at_key("send_at", "a send time needs an audience to send to".to_owned())
                .hint("add `audience: {}` for every confirmed supporter, or narrow it, like `audience: { tags: [logement] }`"),
        );
    }
    let mut audience = front.audience;
    if let Some(audience) = &mut audience {
        for message in audience.resolve(&site.config, events) {
            problems.push(at_key("audience", format!("front matter: {message}")));
        }
    }
    let keep = |dest: &str| Ok(dest.to_owned());
    let (rendered, errors) = markdown::render(split.body, split.body_line, &keep);
    if !errors.is_empty() {
        problems.extend(
            errors
                .into_iter()
                .map(|(line, column, message)| Diagnostic::new(file, message).at(line, column)),
        );
        return Err(problems);
    }
    let mut context = tera::Context::new();
    context.insert("site", &*site.config);
    context.insert("lang", &site.config.language);
    context.insert(
        "email",
        &serde_json::json!({
            "subject": front.subject,
            "preview": front.preview.clone().unwrap_or_default(),
            "content": rendered.html,
        }),
    );
    let templates = &site.templates;
    if !templates.has("email.html") {
        problems.push(
            Diagnostic::new(file, "the theme has no `email.html` layout")
                .hint("add `templates/email.html` to the site or the theme"),
        );
        return Err(problems);
    }
    let html = match templates.tera.render("email.html", &context) {
        Ok(html) => html,
        Err(e) => {
            problems.push(template_error(&e, &templates.files));
            return Err(problems);
        }
    };
    let mut text_part = plain_text(split.body);
    // The text part ends like the HTML one: why this email came, and how
    // to stop it.
    if let Some(footer) = site.strings.get("email.footer") {
        text_part.push_str("\n-- \n");
        text_part.push_str(&footer.replace("{site}", &site.config.title));
        text_part.push('\n');
    }
    if is_marketing(name) && !html.contains("{unsubscribe_url}") {
        problems.push(Diagnostic::new(file, "this email has no unsubscribe link").hint(
            "the layout or the text must hold `{unsubscribe_url}`; the law and mail providers require it",
        ));
    }
    let email = EmailTemplate {
        subject: front.subject,
        html,
        text: text_part,
        preview: front.preview,
        from_name: front.from_name,
        reply_to: front.reply_to,
        audience,
        send_at,
    };
    problems.extend(check_places(name, file, text, &email, &site.config, events));
    if problems.is_empty() {
        Ok(email)
    } else {
        Err(problems)
    }
}

/// Fills `email` as the sender would, for a sample supporter, and reports
/// every place left unfilled, at its place in the source when it is there.
fn check_places(
    name: &str,
    file: &str,
    source: &str,
    email: &EmailTemplate,
    config: &CampaignConfig,
    events: &[Event],
) -> Vec<Diagnostic> {
    let filled = email.fill(&sample_places(name, config, events, Timestamp::now()));
    let mut left = Vec::new();
    for part in [&filled.subject, &filled.text, &filled.html] {
        for place in unfilled_places(part) {
            if !left.contains(&place) {
                left.push(place);
            }
        }
    }
    let known: Vec<String> = places_of(name).iter().map(|p| format!("{{{p}}}")).collect();
    left.into_iter()
        .map(|place| {
            let written = format!("{{{place}}}");
            let message = if EVENT_PLACES.contains(&place.as_str()) {
                format!("`{written}` is filled only in the RSVP emails, which are about one event")
            } else if CAMPAIGN_PLACES.contains(&place.as_str()) {
                format!(
                    "`{written}` is filled only in the campaign's own emails (automations and \
                     broadcasts), not in `{name}`"
                )
            } else {
                format!("unknown place `{written}`")
            };
            let hint = format!("this email's places are {}", known.join(", "));
            let d = Diagnostic::new(file, message);
            let d = match locate(source, &written) {
                Some((line, column)) => d.at(line, column),
                None => d.hint(format!("it comes from the theme's `email.html`; {hint}")),
            };
            if d.hint.is_some() { d } else { d.hint(hint) }
        })
        .collect()
}

/// Line and column (1-based, in characters) of the first `needle`.
fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Some((line, column))
}

/// Every `{name}` (or `%7Bname%7D`, as Markdown writes it inside a link)
/// still in `text`, where `name` is a lower-case identifier: CSS and
/// prose braces are left alone.
pub fn unfilled_places(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (open, close) in [("{", "}"), ("%7B", "%7D")] {
        let mut rest = text;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len()..];
            let end = after.find(close).unwrap_or(after.len());
            let inner = &after[..end];
            let identifier = !inner.is_empty()
                && inner.len() <= 40
                && inner.starts_with(|c: char| c.is_ascii_lowercase())
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if identifier && end < after.len() && !found.iter().any(|f| f == inner) {
                found.push(inner.to_owned());
            }
            rest = after;
        }
    }
    found
}

/// What the sender would fill for a sample supporter, Camille, in email
/// `name`: `estrade check` fills every email with it, `estrade serve`
/// shows the result.
pub fn sample_places(
    name: &str,
    config: &CampaignConfig,
    events: &[Event],
    now: Timestamp,
) -> BTreeMap<&'static str, String> {
    let fr = config.language == "fr";
    let base = config.base();
    let upcoming: Vec<&Event> = {
        let mut upcoming: Vec<&Event> = events.iter().filter(|e| e.end > now).collect();
        upcoming.sort_by_key(|e| e.start);
        upcoming
    };
    let signature = config
        .candidate
        .as_ref()
        .map(|c| c.signature.clone().unwrap_or_else(|| c.name.clone()))
        .unwrap_or_else(|| config.title.clone());
    let mut values = BTreeMap::new();
    for place in places_of(name) {
        let value = match place {
            "hello" => if fr {
                "Bonjour Camille,"
            } else {
                "Hello Camille,"
            }
            .to_owned(),
            "first_name" => "Camille".to_owned(),
            "site_title" => config.title.clone(),
            "site_url" => base.to_owned(),
            "signature" => signature.clone(),
            "confirm_url" => format!("{base}/api/confirm?token=sample"),
            "unsubscribe_url" => format!("{base}/api/unsubscribe?token=sample"),
            "share_url" => format!("{base}/?ref=sample"),
            "nearest_events" => {
                list_events(&nearest_events(events, None, now, 3), &config.language)
            }
            "event_title" => upcoming.first().map_or_else(
                || {
                    if fr {
                        "Réunion publique"
                    } else {
                        "Public meeting"
                    }
                    .to_owned()
                },
                |e| e.title.clone(),
            ),
            "event_date" => if fr {
                "samedi 6 mars 2027 à 10 h"
            } else {
                "Saturday 6 March 2027 at 10 am"
            }
            .to_owned(),
            "event_place" => upcoming
                .first()
                .map(|e| e.place())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "Salle des fêtes".to_owned()),
            "event_online_url" => "https://visio.example/sample".to_owned(),
            "event_url" => upcoming
                .first()
                .map_or_else(|| format!("{base}/"), |e| e.url.clone()),
            "cancel_url" => format!("{base}/api/rsvp/cancel?token=sample"),
            "receipt_number" => format!("{}-000042", config.donations.election),
            "gift_amount" => {
                estrade_domain::donation::money(5_000, &config.donations.currency, &config.language)
            }
            "gift_date" => if fr { "6 mars 2027" } else { "6 March 2027" }.to_owned(),
            "gift_frequency" => if fr { "ponctuel" } else { "one-off" }.to_owned(),
            "donor_name" => "Camille Martin".to_owned(),
            "donor_address" => "12 rue des Lilas, 59300 Valenciennes, FR".to_owned(),
            "donor_birth_date" => "1980-04-02".to_owned(),
            "agent" => config
                .donations
                .agent
                .clone()
                .unwrap_or_else(|| config.title.clone()),
            _ => continue,
        };
        values.insert(place, value);
    }
    values
}

/// The plain-text part: paragraphs, list items with dashes, a link's
/// address after its words.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    let mut link_text = String::new();
    let mut depth = 0usize;
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        match event {
            MdEvent::Start(Tag::Link { dest_url, .. }) => {
                links.push(dest_url.to_string());
                link_text.clear();
            }
            MdEvent::End(TagEnd::Link) => {
                if let Some(dest) = links.pop()
                    && dest != link_text.trim()
                {
                    out.push_str(&format!(" ({dest})"));
                }
            }
            MdEvent::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(depth.saturating_sub(1)));
                out.push_str("- ");
            }
            MdEvent::Start(Tag::List(_)) => depth += 1,
            MdEvent::End(TagEnd::List(_)) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.push('\n');
                }
            }
            MdEvent::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            MdEvent::Text(t) | MdEvent::Code(t) => {
                if !links.is_empty() {
                    link_text.push_str(&t);
                }
                out.push_str(&t);
            }
            // A line break in an email's Markdown is meant: keep it.
            MdEvent::SoftBreak => out.push('\n'),
            MdEvent::HardBreak => out.push('\n'),
            MdEvent::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::BlockQuote(_)) => {
                if depth == 0 {
                    out.push_str("\n\n");
                } else {
                    out.push('\n');
                }
            }
            MdEvent::Rule => out.push_str("----\n\n"),
            _ => {}
        }
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfilled_places_are_identifiers_in_braces() {
        let html = "<style>a{color:red}</style><p>{hello} { x } {Nope} {a-b}</p>\
                    <a href=\"%7Bfrist_name%7D\">{site_url}</a> {hello} {unclosed";
        assert_eq!(unfilled_places(html), ["hello", "site_url", "frist_name"]);
    }

    #[test]
    fn sample_places_follow_the_kind_of_email() {
        let config: CampaignConfig = serde_json::from_value(serde_json::json!({
            "title": "Claire Martin 2027", "base_url": "https://claire.example/", "language": "fr",
        }))
        .unwrap();
        let now = Timestamp::UNIX_EPOCH;
        let campaign = sample_places("lettre", &config, &[], now);
        assert_eq!(campaign["hello"], "Bonjour Camille,");
        assert_eq!(campaign["site_url"], "https://claire.example");
        assert!(campaign.contains_key("nearest_events"));
        assert!(!campaign.contains_key("event_title"));
        let rsvp = sample_places("rsvp-confirmed", &config, &[], now);
        assert!(rsvp.contains_key("cancel_url") && !rsvp.contains_key("nearest_events"));
        assert!(!sample_places("welcome", &config, &[], now).contains_key("nearest_events"));
    }

    #[test]
    fn plain_text_keeps_words_lists_and_link_targets() {
        let text = plain_text(
            "{hello}\n\nMerci de **confirmer** :\n\n[Confirmer]({confirm_url})\n\n- un\n- deux\n\nÀ bientôt,\n{signature}\n",
        );
        assert_eq!(
            text,
            "{hello}\n\nMerci de confirmer :\n\nConfirmer ({confirm_url})\n\n- un\n- deux\n\nÀ bientôt,\n{signature}\n"
        );
    }
}
