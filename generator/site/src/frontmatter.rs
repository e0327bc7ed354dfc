//! Front matter: the YAML between the `---` lines that open a content file.

use crate::diagnostic::Diagnostic;
use crate::yaml;
use estrade_domain::EventFrontMatter;
use estrade_domain::config::serde_yaml_free::Map as FreeMap;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A content file cut in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    pub front: &'a str,
    /// Line of the file where the YAML starts (the one after `---`).
    pub front_line: usize,
    pub body: &'a str,
    /// Line of the file where the Markdown body starts.
    pub body_line: usize,
}

pub fn split<'a>(text: &'a str, file: &str) -> Result<Split<'a>, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(after_open) = strip_fence(text) else {
        return Err(Diagnostic::new(file, "this file has no front matter")
            .at(1, 1)
            .hint("start it with a `---` line, then `title: ...`, then another `---` line"));
    };
    let mut offset = 0;
    for (line, raw) in (2..).zip(after_open.split_inclusive('\n')) {
        if raw.trim_end() == "---" {
            let front = &after_open[..offset];
            let body = &after_open[offset + raw.len()..];
            return Ok(Split {
                front,
                front_line: 2,
                body,
                body_line: line + 1,
            });
        }
        offset += raw.len();
    }
    Err(
        Diagnostic::new(file, "the front matter opened here is never closed")
            .at(1, 1)
            .hint("add a `---` line after the last front matter key"),
    )
}

fn strip_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---")?;
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
}

/// Parses front matter YAML, reporting mistakes at their place in the file.
pub fn parse<T: DeserializeOwned>(split: &Split<'_>, file: &str) -> Result<T, Diagnostic> {
    yaml::parse(split.front).map_err(|e| {
        let mut d = Diagnostic::new(file, format!("front matter: {}", e.message));
        if let Some(line) = e.line {
            d = d.at(split.front_line + line - 1, e.column.unwrap_or(1));
        } else {
            d = d.at_line(split.front_line);
        }
        if let Some(hint) = e.hint {
            d = d.hint(hint);
        }
        d
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PageKind {
    Page,
    Post,
    Event,
    Action,
    Thanks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    #[default]
    Pages,
    News,
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    Date,
    Title,
    Weight,
    Start,
}

/// Front matter of a page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageFront {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `2026-09-14`, `2026-09-14 10:00` or RFC 3339.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub kind: Option<PageKind>,
    #[serde(default)]
    pub weight: i64,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub event: Option<EventFrontMatter>,
    #[serde(default)]
    pub extra: FreeMap,
}

/// Front matter of a section (`_index.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFront {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: SectionKind,
    #[serde(default)]
    pub paginate_by: Option<usize>,
    #[serde(default)]
    pub sort_by: Option<SortBy>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub weight: i64,
    #[serde(default)]
    pub extra: FreeMap,
}

/// Reads a front matter date: a day, a local date and time in the site's
/// zone, or an RFC 3339 instant.
pub fn parse_date(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| {
            format!("`{text}` is not a date; write it like `2026-09-14` or `2026-09-14 18:30`")
        })?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("`{text}` does not exist in the site's time zone ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_counts_lines() {
        let text = "---\ntitle: Hi\ntags: [a]\n---\n\n# Body\n";
        let split = split(text, "content/a.md").unwrap();
        assert_eq!(split.front, "title: Hi\ntags: [a]\n");
        assert_eq!(split.body, "\n# Body\n");
        assert_eq!(split.body_line, 5);
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let text = "\u{feff}---\r\ntitle: Hi\r\n---\r\nBody\r\n";
        let split = split(text, "content/a.md").unwrap();
        assert_eq!(split.front, "title: Hi\r\n");
        assert_eq!(split.body, "Body\r\n");
    }

    #[test]
    fn missing_or_unclosed_front_matter_is_explained() {
        let none = split("# Title\n", "content/a.md").unwrap_err();
        assert_eq!(
            none.to_string(),
            "content/a.md:1:1: this file has no front matter\n  hint: start it with a `---` \
             line, then `title: ...`, then another `---` line"
        );
        let open = split("---\ntitle: x\n", "content/a.md").unwrap_err();
        assert_eq!(open.message, "the front matter opened here is never closed");
    }

    #[test]
    fn yaml_errors_are_located_in_the_file() {
        let text = "---\ntitle: Réunion\ndate: 2027-01-16\ntags: logement\n---\n";
        let split = split(text, "content/events/rally.md").unwrap();
        let error = parse::<PageFront>(&split, "content/events/rally.md").unwrap_err();
        assert_eq!(error.line, Some(4));
        assert_eq!(error.column, Some(7));
        assert_eq!(
            error.to_string(),
            "content/events/rally.md:4:7: front matter: tags: invalid type: string \
             \"logement\", expected a sequence\n  hint: write a list, like `tags: [ecologie, logement]`"
        );
    }

    #[test]
    fn dates_read_in_the_site_zone() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            parse_date("2026-09-14", &paris).unwrap().to_string(),
            "2026-09-13T22:00:00Z"
        );
        assert_eq!(
            parse_date("2026-09-14 18:30", &paris).unwrap().to_string(),
            "2026-09-14T16:30:00Z"
        );
        assert_eq!(
            parse_date("2026-09-14T18:30:00Z", &paris)
                .unwrap()
                .to_string(),
            "2026-09-14T18:30:00Z"
        );
        assert!(parse_date("14 septembre", &paris).is_err());
    }
}
