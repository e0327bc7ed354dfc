//! Internal links, anchors and images, checked against what the build
//! published.

use crate::diagnostic::Diagnostic;
use crate::markdown::LinkRef;
use crate::site::Site;
use std::collections::{HashMap, HashSet};

pub fn check(site: &Site, published: &HashSet<String>) -> Vec<Diagnostic> {
    let c = &site.content;
    let mut anchors: HashMap<&str, &[String]> = HashMap::new();
    for page in &c.pages {
        anchors.insert(&page.path, &page.rendered.ids);
    }
    for section in &c.sections {
        anchors.insert(&section.path, &section.rendered.ids);
    }
    let checker = Checker {
        base: site.config.base(),
        published,
        anchors,
    };
    let mut problems = Vec::new();
    for page in &c.pages {
        for link in &page.rendered.links {
            problems.extend(checker.check(&page.file, &page.path, link));
        }
    }
    for section in &c.sections {
        let Some(file) = &section.file else { continue };
        for link in &section.rendered.links {
            problems.extend(checker.check(file, &section.path, link));
        }
    }
    let menus = &site.config.menus;
    for link in menus
        .main
        .iter()
        .chain(&menus.footer)
        .chain(&site.config.social)
    {
        let menu_link = LinkRef {
            dest: link.url.clone(),
            line: 0,
            column: 0,
            image: false,
        };
        if let Some(mut d) = checker.check(crate::config::FILE, "/", &menu_link) {
            d.line = None;
            d.column = None;
            d.message = format!("menu entry `{}`: {}", link.name, d.message);
            problems.push(d);
        }
    }
    problems
}

struct Checker<'a> {
    base: &'a str,
    published: &'a HashSet<String>,
    anchors: HashMap<&'a str, &'a [String]>,
}

impl Checker<'_> {
    fn check(&self, file: &str, page_path: &str, link: &LinkRef) -> Option<Diagnostic> {
        let dest = link.dest.as_str();
        let dest = match dest.strip_prefix(self.base) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                if rest.is_empty() {
                    "/"
                } else {
                    rest
                }
            }
            _ => dest,
        };
        let (target, fragment) = match dest.split_once('#') {
            Some((path, fragment)) => (path, fragment),
            None => (dest, ""),
        };
        let target = target.split('?').next().unwrap_or_default();
        let locate = |d: Diagnostic| {
            if link.line > 0 {
                d.at(link.line, link.column)
            } else {
                d
            }
        };
        let target = if target.is_empty() && dest.starts_with('#') {
            page_path
        } else if target.starts_with('/') && !target.starts_with("//") {
            target
        } else {
            return None;
        };
        let file_path = target.trim_start_matches('/');
        let exists = if target.ends_with('/') {
            self.published.contains(&format!("{file_path}index.html"))
        } else {
            self.published.contains(file_path)
        };
        if !exists {
            let what = if link.image {
                "missing image"
            } else {
                "broken link"
            };
            let mut d = locate(Diagnostic::new(
                file,
                format!("{what}: nothing is published at `{target}`"),
            ));
            if !target.ends_with('/') && self.published.contains(&format!("{file_path}/index.html"))
            {
                d = d.hint(format!("pages end with a slash: write `{target}/`"));
            } else if link.image {
                d = d.hint("put the image in `static/` (published at the site root) or beside the Markdown file");
            }
            return Some(d);
        }
        if fragment.is_empty() {
            return None;
        }
        let ids = self.anchors.get(target)?;
        if ids.iter().any(|id| id == fragment) {
            return None;
        }
        Some(
            locate(Diagnostic::new(
                file,
                format!("broken anchor: `{target}` has no heading `#{fragment}`"),
            ))
            .hint(if ids.is_empty() {
                "that page has no headings".to_owned()
            } else {
                format!(
                    "its headings are: {}",
                    ids.iter()
                        .map(|i| format!("#{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
        )
    }
}
