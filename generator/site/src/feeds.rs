//! Atom feeds of news posts and the sitemap, written directly so they are
//! valid whatever the theme does.

use crate::content::Page;
use crate::frontmatter::{PageKind, SectionKind};
use crate::render::TagEntry;
use crate::site::Site;
use crate::values::{pager_path, rfc3339, tag_path};
use estrade_domain::text::escape_html as escape;
use std::fmt::Write as _;

const FEED_ENTRIES: usize = 20;

/// `/atom.xml` with every news post, and `<section>/atom.xml` for each news
/// section.
pub fn atom_feeds(site: &Site) -> Vec<(String, String)> {
    let c = &site.content;
    let mut feeds = Vec::new();
    let all: Vec<&Page> = c
        .pages
        .iter()
        .filter(|p| p.kind == PageKind::Post)
        .collect();
    feeds.push((
        "atom.xml".to_owned(),
        atom(site, &site.config.title, "/atom.xml", "/", all),
    ));
    for section in c
        .sections
        .iter()
        .filter(|s| s.front.kind == SectionKind::News && s.parent.is_some())
    {
        let pages = section.pages.iter().map(|i| &c.pages[*i]).collect();
        let feed_path = format!("{}atom.xml", section.path);
        let title = format!("{} – {}", site.config.title, section.front.title);
        feeds.push((
            feed_path.trim_start_matches('/').to_owned(),
            atom(site, &title, &feed_path, &section.path, pages),
        ));
    }
    feeds
}

fn atom(
    site: &Site,
    title: &str,
    feed_path: &str,
    page_path: &str,
    mut pages: Vec<&Page>,
) -> String {
    pages.retain(|p| p.date.is_some());
    pages.sort_by_key(|p| std::cmp::Reverse(p.date));
    pages.truncate(FEED_ENTRIES);
    let config = &site.config;
    let zone = &site.zone;
    let updated = pages
        .iter()
        .filter_map(|p| p.updated.or(p.date))
        .max()
        .unwrap_or(site.options.now);
    let mut xml = String::with_capacity(4096 + pages.len() * 2048);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(
        xml,
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">",
        escape(&config.language)
    );
    let _ = writeln!(xml, "  <title>{}</title>", escape(title));
    let _ = writeln!(
        xml,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        escape(&config.permalink(feed_path))
    );
    let _ = writeln!(
        xml,
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        escape(&config.permalink(page_path))
    );
    let _ = writeln!(xml, "  <id>{}</id>", escape(&config.permalink(feed_path)));
    let _ = writeln!(xml, "  <updated>{}</updated>", rfc3339(updated, zone));
    let author = config
        .candidate
        .as_ref()
        .map_or(config.title.as_str(), |c| c.name.as_str());
    let _ = writeln!(xml, "  <author><name>{}</name></author>", escape(author));
    for page in pages {
        let url = config.permalink(&page.path);
        let published = page.date.map(|d| rfc3339(d, zone)).unwrap_or_default();
        let updated = page
            .updated
            .map(|d| rfc3339(d, zone))
            .unwrap_or_else(|| published.clone());
        xml.push_str("  <entry>\n");
        let _ = writeln!(xml, "    <title>{}</title>", escape(&page.front.title));
        let _ = writeln!(
            xml,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            escape(&url)
        );
        let _ = writeln!(xml, "    <id>{}</id>", escape(&url));
        let _ = writeln!(xml, "    <published>{published}</published>");
        let _ = writeln!(xml, "    <updated>{updated}</updated>");
        for tag in &page.tags {
            let _ = writeln!(
                xml,
                "    <category term=\"{}\" label=\"{}\"/>",
                escape(&tag.slug),
                escape(&tag.name)
            );
        }
        if let Some(description) = &page.front.description {
            let _ = writeln!(xml, "    <summary>{}</summary>", escape(description));
        }
        let _ = writeln!(
            xml,
            "    <content type=\"html\" xml:base=\"{}\">{}</content>",
            escape(&url),
            escape(&page.rendered.html)
        );
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

pub fn sitemap(site: &Site, tags: &[TagEntry]) -> String {
    let c = &site.content;
    let config = &site.config;
    let mut xml = String::with_capacity(256 + c.pages.len() * 128);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let mut url = |path: &str, lastmod: Option<String>| {
        let _ = write!(xml, "  <url><loc>{}</loc>", escape(&config.permalink(path)));
        if let Some(lastmod) = lastmod {
            let _ = write!(xml, "<lastmod>{lastmod}</lastmod>");
        }
        xml.push_str("</url>\n");
    };
    for section in &c.sections {
        url(&section.path, None);
        if section.front.kind == SectionKind::Events && section.parent.is_some() {
            url(&format!("{}archives/", section.path), None);
        }
    }
    for page in &c.pages {
        let lastmod = page
            .updated
            .or(page.date)
            .map(|t| rfc3339(t, &site.zone)[..10].to_owned());
        url(&page.path, lastmod);
    }
    url("/tags/", None);
    for tag in tags {
        url(&pager_path(&tag_path(&tag.slug), 1), None);
    }
    xml.push_str("</urlset>\n");
    xml
}
