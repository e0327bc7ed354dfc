//! Markdown to HTML, collecting what the rest of the build needs on the
//! way: heading anchors, the table of contents, links to check, the summary.

use estrade_domain::text::slugify;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
}

/// A link or image in the Markdown, after rewriting, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRef {
    pub dest: String,
    pub line: usize,
    pub column: usize,
    pub image: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub html: String,
    /// HTML before `<!-- more -->`, or empty.
    pub summary: String,
    pub toc: Vec<TocEntry>,
    pub links: Vec<LinkRef>,
    /// Every heading id, for anchor checks.
    pub ids: Vec<String>,
    pub word_count: usize,
}

const SUMMARY_MARKER: &str = "<!-- more -->";

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders `text` (whose first line is line `first_line` of its file).
/// `rewrite` turns a link destination into the one to publish, or says
/// why it cannot (an `.md` file that does not exist).
pub fn render(
    text: &str,
    first_line: usize,
    rewrite: &dyn Fn(&str) -> Result<String, String>,
) -> (Rendered, Vec<(usize, usize, String)>) {
    let lines = LineIndex::new(text, first_line);
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut rendered = Rendered::default();
    let mut errors = Vec::new();
    let mut used_ids = HashSet::new();
    let mut heading: Option<(usize, HeadingLevel)> = None;
    let mut heading_text = String::new();
    let mut summary_at = None;

    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                heading = Some((events.len(), level));
                heading_text.clear();
                events.push(Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }));
            }
            Event::End(TagEnd::Heading(level)) => {
                if let Some((start, _)) = heading.take() {
                    let id = heading_id(&mut events[start], &heading_text, &mut used_ids);
                    rendered.toc.push(TocEntry {
                        level: level as u8,
                        id: id.clone(),
                        title: heading_text.trim().to_owned(),
                    });
                    rendered.ids.push(id);
                }
                events.push(Event::End(TagEnd::Heading(level)));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = resolve(
                    &dest_url,
                    range.start,
                    false,
                    &lines,
                    rewrite,
                    &mut rendered,
                    &mut errors,
                );
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url: dest,
                    title,
                    id,
                }));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = resolve(
                    &dest_url,
                    range.start,
                    true,
                    &lines,
                    rewrite,
                    &mut rendered,
                    &mut errors,
                );
                events.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: dest,
                    title,
                    id,
                }));
            }
            Event::Text(ref t) | Event::Code(ref t) => {
                if heading.is_some() {
                    heading_text.push_str(t);
                }
                rendered.word_count += t.split_whitespace().count();
                events.push(event);
            }
            Event::Html(ref h) | Event::InlineHtml(ref h)
                if summary_at.is_none() && h.trim() == SUMMARY_MARKER =>
            {
                summary_at = Some(events.len());
            }
            other => events.push(other),
        }
    }

    let mut out = String::with_capacity(text.len() * 3 / 2);
    match summary_at {
        Some(at) => {
            let rest = events.split_off(at);
            html::push_html(&mut out, events.into_iter());
            rendered.summary = out.clone();
            html::push_html(&mut out, rest.into_iter());
        }
        None => html::push_html(&mut out, events.into_iter()),
    }
    rendered.html = out;
    (rendered, errors)
}

fn heading_id(start: &mut Event<'_>, text: &str, used: &mut HashSet<String>) -> String {
    let Event::Start(Tag::Heading { id, .. }) = start else {
        return String::new();
    };
    let base = match id {
        Some(explicit) => explicit.to_string(),
        None => {
            let slug = slugify(text);
            if slug.is_empty() {
                "section".to_owned()
            } else {
                slug
            }
        }
    };
    let mut unique = base.clone();
    let mut n = 1;
    while !used.insert(unique.clone()) {
        unique = format!("{base}-{n}");
        n += 1;
    }
    *id = Some(CowStr::from(unique.clone()));
    unique
}

fn resolve<'a>(
    dest: &CowStr<'a>,
    offset: usize,
    image: bool,
    lines: &LineIndex,
    rewrite: &dyn Fn(&str) -> Result<String, String>,
    rendered: &mut Rendered,
    errors: &mut Vec<(usize, usize, String)>,
) -> CowStr<'a> {
    let (line, column) = lines.locate(offset);
    match rewrite(dest) {
        Ok(published) => {
            rendered.links.push(LinkRef {
                dest: published.clone(),
                line,
                column,
                image,
            });
            if published == dest.as_ref() {
                dest.clone()
            } else {
                CowStr::from(published)
            }
        }
        Err(message) => {
            errors.push((line, column, message));
            dest.clone()
        }
    }
}

/// Byte offset to 1-based line and column in the file.
struct LineIndex {
    starts: Vec<usize>,
    first_line: usize,
    text_len: usize,
}

impl LineIndex {
    fn new(text: &str, first_line: usize) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            first_line,
            text_len: text.len(),
        }
    }

    fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text_len);
        let index = self.starts.partition_point(|&s| s <= offset) - 1;
        (self.first_line + index, offset - self.starts[index] + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(dest: &str) -> Result<String, String> {
        Ok(dest.to_owned())
    }

    #[test]
    fn headings_get_unique_ids_and_a_toc() {
        let (out, errors) = render(
            "# Écologie\n\n## Plan\n\n## Plan\n\n## Mine {#own}\n",
            1,
            &keep,
        );
        assert!(errors.is_empty());
        assert_eq!(out.ids, ["ecologie", "plan", "plan-1", "own"]);
        assert!(out.html.contains("<h2 id=\"plan-1\">Plan</h2>"));
        assert_eq!(out.toc[3].title, "Mine");
    }

    #[test]
    fn summary_stops_at_the_marker() {
        let (out, _) = render("First.\n\n<!-- more -->\n\nSecond.\n", 1, &keep);
        assert_eq!(out.summary, "<p>First.</p>\n");
        assert_eq!(out.html, "<p>First.</p>\n<p>Second.</p>\n");
    }

    #[test]
    fn links_are_rewritten_and_located() {
        let rewrite = |d: &str| -> Result<String, String> {
            match d {
                "logement.md" => Ok("/programme/logement/".to_owned()),
                "absent.md" => Err("no page `absent.md`".to_owned()),
                other => Ok(other.to_owned()),
            }
        };
        let text = "See [housing](logement.md).\n\n![x](absent.md) and [y](https://a.fr)\n";
        let (out, errors) = render(text, 10, &rewrite);
        assert!(out.html.contains("href=\"/programme/logement/\""));
        assert_eq!(out.links[0].line, 10);
        assert_eq!(out.links[0].column, 5);
        assert_eq!(errors, vec![(12, 1, "no page `absent.md`".to_owned())]);
        assert_eq!(out.links[1].dest, "https://a.fr");
    }

    #[test]
    fn tables_render() {
        let (out, _) = render("| a | b |\n|---|---|\n| 1 | 2 |\n", 1, &keep);
        assert!(out.html.contains("<table>"));
        assert_eq!(out.word_count, 4);
    }
}
