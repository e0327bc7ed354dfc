//! The campaign's transactional emails, `content/emails/<name>.md` (or the
//! theme's `emails/<language>/<name>.md`), rendered once per build through
//! the theme's `email.html` into HTML and plain text, for the functions to
//! fill and send.

use crate::diagnostic::Diagnostic;
use crate::frontmatter;
use crate::markdown;
use crate::site::Site;
use crate::templates::template_error;
use estrade_domain::config::serde_yaml_free::Map as FreeMap;
use estrade_domain::manifest::{EmailTemplate, REQUIRED_EMAILS};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Folder of `content/` holding the emails.
pub const FOLDER: &str = "emails/";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFront {
    subject: String,
    #[serde(default)]
    preview: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    extra: FreeMap,
}

/// Every required email, rendered; problems name the file.
pub fn render_all(site: &Site) -> (BTreeMap<String, EmailTemplate>, Vec<Diagnostic>) {
    let mut emails = BTreeMap::new();
    let mut problems = Vec::new();
    for name in REQUIRED_EMAILS {
        let own = site
            .root
            .join("content")
            .join(FOLDER)
            .join(format!("{name}.md"));
        let (file, text) = if own.is_file() {
            let file = format!("content/{FOLDER}{name}.md");
            match std::fs::read_to_string(&own) {
                Ok(text) => (file, text),
                Err(e) => {
                    problems.push(Diagnostic::new(file, format!("cannot read: {e}")));
                    continue;
                }
            }
        } else {
            let key = format!("{}/{name}.md", site.config.language);
            let Some(theme_file) = site.theme.emails.get(&key) else {
                problems.push(
                    Diagnostic::new(
                        format!("content/{FOLDER}{name}.md"),
                        "this email is missing",
                    )
                    .hint("the forms send it: write it, or use a theme that provides it"),
                );
                continue;
            };
            match theme_file.source.read() {
                Ok(bytes) => (
                    theme_file.shown_as.clone(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ),
                Err(e) => {
                    problems.push(Diagnostic::new(
                        &theme_file.shown_as,
                        format!("cannot read: {e}"),
                    ));
                    continue;
                }
            }
        };
        match render_one(site, name, &file, &text) {
            Ok(email) => {
                emails.insert(name.to_owned(), email);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    (emails, problems)
}

fn render_one(
    site: &Site,
    name: &str,
    file: &str,
    text: &str,
) -> Result<EmailTemplate, Vec<Diagnostic>> {
    let split = frontmatter::split(text, file).map_err(|d| vec![d])?;
    let front: EmailFront = frontmatter::parse(&split, file).map_err(|d| vec![d])?;
    let keep = |dest: &str| Ok(dest.to_owned());
    let (rendered, errors) = markdown::render(split.body, split.body_line, &keep);
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|(line, column, message)| Diagnostic::new(file, message).at(line, column))
            .collect());
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
        return Err(vec![
            Diagnostic::new(file, "the theme has no `email.html` layout")
                .hint("add `templates/email.html` to the site or the theme"),
        ]);
    }
    let html = templates
        .tera
        .render("email.html", &context)
        .map_err(|e| vec![template_error(&e, &templates.files)])?;
    let mut text = plain_text(split.body);
    // The text part ends like the HTML one: why this email came, and how
    // to stop it.
    if let Some(footer) = site.strings.get("email.footer") {
        text.push_str("\n-- \n");
        text.push_str(&footer.replace("{site}", &site.config.title));
        text.push('\n');
    }
    let marketing = matches!(name, "welcome" | "volunteer");
    if marketing && !html.contains("{unsubscribe_url}") {
        return Err(vec![Diagnostic::new(file, "this email has no unsubscribe link").hint(
            "the layout or the text must hold `{unsubscribe_url}`; the law and mail providers require it",
        )]);
    }
    Ok(EmailTemplate {
        subject: front.subject,
        html,
        text,
    })
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
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(dest_url.to_string());
                link_text.clear();
            }
            Event::End(TagEnd::Link) => {
                if let Some(dest) = links.pop()
                    && dest != link_text.trim()
                {
                    out.push_str(&format!(" ({dest})"));
                }
            }
            Event::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(depth.saturating_sub(1)));
                out.push_str("- ");
            }
            Event::Start(Tag::List(_)) => depth += 1,
            Event::End(TagEnd::List(_)) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.push('\n');
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Text(t) | Event::Code(t) => {
                if !links.is_empty() {
                    link_text.push_str(&t);
                }
                out.push_str(&t);
            }
            // A line break in an email's Markdown is meant: keep it.
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::BlockQuote(_)) => {
                if depth == 0 {
                    out.push_str("\n\n");
                } else {
                    out.push('\n');
                }
            }
            Event::Rule => out.push_str("----\n\n"),
            _ => {}
        }
    }
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

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
