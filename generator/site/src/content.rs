//! The campaign's `content/` folder: pages and sections, read in parallel,
//! their Markdown rendered once and kept, so `serve` can re-render any
//! template without reading Markdown again.

use crate::diagnostic::Diagnostic;
use crate::frontmatter::{self, PageFront, PageKind, SectionFront, SectionKind, SortBy};
use crate::markdown::{self, Rendered};
use crate::shortcodes;
use estrade_domain::event::EventPage;
use estrade_domain::text::slugify;
use estrade_domain::{CampaignConfig, Event};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Page {
    /// `content/actualites/rentree.md`
    pub file: String,
    /// The file's folder within `content/` (`actualites`), where relative
    /// links start from.
    pub dir: String,
    pub front: PageFront,
    /// `/actualites/rentree/`
    pub path: String,
    pub kind: PageKind,
    pub date: Option<Timestamp>,
    pub updated: Option<Timestamp>,
    pub section: usize,
    pub tags: Vec<Tag>,
    pub body: String,
    pub body_line: usize,
    pub rendered: Rendered,
    pub event: Option<Event>,
    /// Line of each top-level front matter key, to locate later problems.
    pub key_lines: Vec<(String, usize)>,
}

#[derive(Debug, Clone)]
pub struct Section {
    /// `content/actualites/_index.md`, or `None` for a root without one.
    pub file: Option<String>,
    pub dir: String,
    pub front: SectionFront,
    pub path: String,
    pub parent: Option<usize>,
    pub pages: Vec<usize>,
    pub subsections: Vec<usize>,
    pub body: String,
    pub body_line: usize,
    pub rendered: Rendered,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    pub name: String,
    pub slug: String,
}

/// A file of `content/` that is not Markdown (an image beside a page): it
/// is published at the same place.
#[derive(Debug, Clone)]
pub struct ContentAsset {
    pub published: String,
    pub source: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Content {
    pub pages: Vec<Page>,
    pub sections: Vec<Section>,
    pub assets: Vec<ContentAsset>,
}

/// What Markdown rendering needs from the rest of the site.
pub struct RenderContext<'a> {
    pub config: &'a CampaignConfig,
    pub zone: &'a TimeZone,
    /// Content-relative Markdown file (`programme/logement.md`) → its path.
    pub sources: &'a HashMap<String, String>,
    pub shortcode: &'a (dyn Fn(&shortcodes::Call, &str) -> Result<String, String> + Sync),
}

/// A content file read and split, before its Markdown is rendered.
struct Parsed {
    relative: String,
    file: String,
    front: Front,
    body: String,
    body_line: usize,
    key_lines: Vec<(String, usize)>,
}

enum Front {
    Page(Box<PageFront>),
    Section(Box<SectionFront>),
}

/// Reads `content/`: every Markdown file parsed, every other file listed.
pub fn load(root: &Path, drafts: bool, ctx: &RenderContext<'_>) -> (Content, Vec<Diagnostic>) {
    let content_dir = root.join("content");
    let mut problems = Vec::new();
    let mut markdown_files = Vec::new();
    let mut assets = Vec::new();
    if content_dir.is_dir() {
        for entry in walkdir::WalkDir::new(&content_dir).sort_by_file_name() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(Diagnostic::new("content", format!("cannot read: {e}")));
                    continue;
                }
            };
            if !entry.file_type().is_file() || crate::theme::is_hidden(entry.path()) {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&content_dir) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            if relative.starts_with(crate::emails::FOLDER) {
                // Emails are rendered for the functions, not published.
                continue;
            }
            if relative.ends_with(".md") {
                markdown_files.push(relative);
            } else {
                assets.push(ContentAsset {
                    published: relative,
                    source: entry.path().to_path_buf(),
                });
            }
        }
    }

    let parsed: Vec<Result<Parsed, Diagnostic>> = markdown_files
        .par_iter()
        .map(|relative| parse_file(&content_dir, relative))
        .collect();
    let mut files = Vec::with_capacity(parsed.len());
    for result in parsed {
        match result {
            Ok(p) => {
                let draft = matches!(&p.front, Front::Page(f) if f.draft);
                if drafts || !draft {
                    files.push(p);
                }
            }
            Err(d) => problems.push(d),
        }
    }
    let mut content = assemble(files, ctx, &mut problems);
    content.assets = assets;
    (content, problems)
}

fn parse_file(content_dir: &Path, relative: &str) -> Result<Parsed, Diagnostic> {
    let file = format!("content/{relative}");
    let bytes = std::fs::read(content_dir.join(relative))
        .map_err(|e| Diagnostic::new(&file, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::new(
            &file,
            format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
        .hint("save the file as UTF-8")
    })?;
    parse_text(relative, &text)
}

/// Parses one content file given its text (also used by `serve` after an
/// edit).
fn parse_text(relative: &str, text: &str) -> Result<Parsed, Diagnostic> {
    let file = format!("content/{relative}");
    let split = frontmatter::split(text, &file)?;
    let is_section = relative == "_index.md" || relative.ends_with("/_index.md");
    let front = if is_section {
        Front::Section(Box::new(frontmatter::parse(&split, &file)?))
    } else {
        Front::Page(Box::new(frontmatter::parse(&split, &file)?))
    };
    let key_lines = split
        .front
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with([' ', '\t', '#', '-']))
        .filter_map(|(i, line)| {
            Some((
                line.split_once(':')?.0.trim().to_owned(),
                split.front_line + i,
            ))
        })
        .collect();
    Ok(Parsed {
        key_lines,
        relative: relative.to_owned(),
        body: split.body.to_owned(),
        body_line: split.body_line,
        file,
        front,
    })
}

fn parent_dir(relative: &str) -> &str {
    relative.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn dir_path(dir: &str) -> String {
    if dir.is_empty() {
        "/".to_owned()
    } else {
        format!("/{dir}/")
    }
}

/// Builds sections and pages from parsed files: paths, parents, Markdown,
/// events, sorting.
fn assemble(
    files: Vec<Parsed>,
    ctx: &RenderContext<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Content {
    let mut sections: Vec<Section> = Vec::new();
    let mut section_by_dir: HashMap<String, usize> = HashMap::new();
    let mut page_files = Vec::new();
    for parsed in files {
        match parsed.front {
            Front::Section(front) => {
                let dir = parent_dir(&parsed.relative).to_owned();
                section_by_dir.insert(dir.clone(), sections.len());
                sections.push(Section {
                    file: Some(parsed.file),
                    path: dir_path(&dir),
                    dir,
                    front: *front,
                    parent: None,
                    pages: Vec::new(),
                    subsections: Vec::new(),
                    body: parsed.body,
                    body_line: parsed.body_line,
                    rendered: Rendered::default(),
                });
            }
            Front::Page(front) => page_files.push((
                parsed.relative,
                parsed.file,
                *front,
                parsed.body,
                parsed.body_line,
                parsed.key_lines,
            )),
        }
    }
    if !section_by_dir.contains_key("") {
        section_by_dir.insert(String::new(), sections.len());
        sections.push(Section {
            file: None,
            dir: String::new(),
            front: SectionFront {
                title: ctx.config.title.clone(),
                description: None,
                kind: SectionKind::Pages,
                paginate_by: None,
                sort_by: None,
                template: None,
                weight: 0,
                extra: Default::default(),
            },
            path: "/".to_owned(),
            parent: None,
            pages: Vec::new(),
            subsections: Vec::new(),
            body: String::new(),
            body_line: 1,
            rendered: Rendered::default(),
        });
    }
    let nearest = |dir: &str, skip_self: bool| -> usize {
        let mut current = dir;
        let mut first = true;
        loop {
            if !(first && skip_self)
                && let Some(&i) = section_by_dir.get(current)
            {
                return i;
            }
            first = false;
            if current.is_empty() {
                return section_by_dir[""];
            }
            current = parent_dir(current);
        }
    };
    for i in 0..sections.len() {
        if !sections[i].dir.is_empty() {
            let parent = nearest(&sections[i].dir, true);
            sections[i].parent = Some(parent);
            sections[parent].subsections.push(i);
        }
    }

    let mut sources: HashMap<String, String> = HashMap::new();
    let mut owners: HashMap<String, String> = HashMap::new();
    for section in &sections {
        if let Some(file) = &section.file {
            sources.insert(file["content/".len()..].to_owned(), section.path.clone());
            owners.insert(section.path.clone(), file.clone());
        }
    }
    let mut pages = Vec::with_capacity(page_files.len());
    for (relative, file, front, body, body_line, key_lines) in page_files {
        let file_dir = parent_dir(&relative).to_owned();
        let is_bundle = relative == "index.md" || relative.ends_with("/index.md");
        let path = if is_bundle {
            dir_path(&file_dir)
        } else {
            let stem = relative
                .rsplit('/')
                .next()
                .unwrap_or(&relative)
                .trim_end_matches(".md");
            let slug = match &front.slug {
                Some(s) => slugify(s),
                None => slugify(stem),
            };
            if slug.is_empty() {
                problems.push(
                    Diagnostic::new(&file, "this page has an empty slug")
                        .hint("name the file with letters or digits, or set `slug:`"),
                );
                continue;
            }
            format!("{}{slug}/", dir_path(&file_dir))
        };
        if let Some(other) = owners.insert(path.clone(), file.clone()) {
            problems.push(
                Diagnostic::new(&file, format!("publishes at `{path}` like `{other}`"))
                    .hint("rename one of them or give it another `slug:`"),
            );
            continue;
        }
        let section_dir = if is_bundle {
            parent_dir(&file_dir)
        } else {
            &file_dir
        };
        let section = nearest(section_dir, false);
        let section_kind = sections[section].front.kind;
        let kind = front.kind.unwrap_or(if front.event.is_some() {
            PageKind::Event
        } else {
            match section_kind {
                SectionKind::News => PageKind::Post,
                SectionKind::Events => PageKind::Event,
                SectionKind::Pages => PageKind::Page,
            }
        });
        sources.insert(relative.clone(), path.clone());
        let tags = front.tags.iter().map(|t| tag(t, ctx.config)).collect();
        pages.push(Page {
            file,
            dir: if is_bundle {
                file_dir.clone()
            } else {
                file_dir
            },
            path,
            kind,
            date: None,
            updated: None,
            section,
            tags,
            body,
            body_line,
            rendered: Rendered::default(),
            event: None,
            key_lines,
            front,
        });
    }

    let ctx = RenderContext {
        sources: &sources,
        ..*ctx
    };
    let page_problems: Vec<(Vec<Diagnostic>, bool)> = pages
        .par_iter_mut()
        .map(|page| finish_page(page, &ctx))
        .collect();
    // A page with a problem is left out, so the problem is reported once
    // rather than again by every template that would show it.
    let mut failed = page_problems.iter().map(|(_, unusable)| *unusable);
    pages.retain(|_| !failed.next().unwrap_or(false));
    problems.extend(page_problems.into_iter().flat_map(|(p, _)| p));
    let section_problems: Vec<Vec<Diagnostic>> = sections
        .par_iter_mut()
        .map(|section| {
            let Some(file) = section.file.clone() else {
                return Vec::new();
            };
            let (rendered, problems) = render_markdown(
                &section.body,
                section.body_line,
                &file,
                &section.dir,
                &section.path,
                &ctx,
            );
            section.rendered = rendered;
            problems
        })
        .collect();
    problems.extend(section_problems.into_iter().flatten());

    for (i, page) in pages.iter().enumerate() {
        sections[page.section].pages.push(i);
    }
    for section in &mut sections {
        sort_pages(section, &pages);
    }
    let order: Vec<(i64, String)> = sections
        .iter()
        .map(|s| (s.front.weight, s.front.title.clone()))
        .collect();
    for section in &mut sections {
        section
            .subsections
            .sort_by(|a, b| order[*a].cmp(&order[*b]));
    }
    Content {
        pages,
        sections,
        assets: Vec::new(),
    }
}

/// A tag as written, shown with the campaign's label when it is one of
/// the declared interests.
pub fn tag(name: &str, config: &CampaignConfig) -> Tag {
    let shown = config
        .interests
        .iter()
        .find(|i| i.id == name)
        .map_or(name, |i| i.label.as_str());
    Tag {
        name: shown.to_owned(),
        slug: slugify(name),
    }
}

/// Dates, Markdown and event of a page. Returns its problems, and whether
/// the page is unusable (its templates would fail on what is missing).
fn finish_page(page: &mut Page, ctx: &RenderContext<'_>) -> (Vec<Diagnostic>, bool) {
    let mut problems = Vec::new();
    let mut unusable = false;
    let key_lines = page.key_lines.clone();
    let field_line = |key: &str| -> usize {
        key_lines
            .iter()
            .find(|(k, _)| k == key)
            .map_or(2, |(_, line)| *line)
    };
    if let Some(date) = &page.front.date {
        match frontmatter::parse_date(date, ctx.zone) {
            Ok(t) => page.date = Some(t),
            Err(e) => {
                unusable = true;
                problems.push(
                    Diagnostic::new(&page.file, format!("front matter: date: {e}"))
                        .at_line(field_line("date")),
                );
            }
        }
    }
    if let Some(updated) = &page.front.updated {
        match frontmatter::parse_date(updated, ctx.zone) {
            Ok(t) => page.updated = Some(t),
            Err(e) => {
                unusable = true;
                problems.push(
                    Diagnostic::new(&page.file, format!("front matter: updated: {e}"))
                        .at_line(field_line("updated")),
                );
            }
        }
    }
    let (rendered, md_problems) = render_markdown(
        &page.body,
        page.body_line,
        &page.file,
        &page.dir,
        &page.path,
        ctx,
    );
    page.rendered = rendered;
    problems.extend(md_problems);
    match (&page.front.event, page.kind) {
        (Some(front), _) => {
            let url = ctx.config.permalink(&page.path);
            let summary = page.front.description.clone().unwrap_or_default();
            match Event::resolve(
                front,
                EventPage {
                    id: &page.path,
                    title: &page.front.title,
                    url: &url,
                    summary: &summary,
                },
                &ctx.config.timezone,
            ) {
                Ok(event) => page.event = Some(event),
                Err(e) => {
                    unusable = true;
                    problems.push(
                        Diagnostic::new(&page.file, format!("front matter: event: {e}"))
                            .at_line(field_line("event")),
                    );
                }
            }
        }
        (None, PageKind::Event) => {
            unusable = true;
            problems.push(
                Diagnostic::new(
                    &page.file,
                    "this page is in an events section but has no `event:` block",
                )
                .at_line(2)
                .hint("add `event:` with at least `start: 2027-03-14 18:30`, or `kind: page`"),
            );
        }
        (None, _) => {}
    }
    (problems, unusable)
}

fn render_markdown(
    body: &str,
    body_line: usize,
    file: &str,
    dir: &str,
    path: &str,
    ctx: &RenderContext<'_>,
) -> (Rendered, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let extracted = match shortcodes::extract(body, body_line) {
        Ok(extracted) => extracted,
        Err(errors) => {
            for (line, column, message) in errors {
                problems.push(Diagnostic::new(file, message).at(line, column));
            }
            return (Rendered::default(), problems);
        }
    };
    let rewrite = |dest: &str| rewrite_link(dest, dir, ctx.sources);
    let (mut rendered, errors) = markdown::render(&extracted.text, body_line, &rewrite);
    for (line, column, message) in errors {
        problems.push(Diagnostic::new(file, message).at(line, column));
    }
    for (i, call) in extracted.calls.iter().enumerate().rev() {
        let html = match (ctx.shortcode)(call, path) {
            Ok(html) => html,
            Err(message) => {
                problems.push(Diagnostic::new(file, message).at(call.line, call.column));
                String::new()
            }
        };
        let marker = shortcodes::placeholder(i);
        let paragraph = format!("<p>{marker}</p>\n");
        for text in [&mut rendered.html, &mut rendered.summary] {
            if text.contains(&paragraph) {
                *text = text.replacen(&paragraph, &html, 1);
            } else {
                *text = text.replacen(&marker, &html, 1);
            }
        }
    }
    (rendered, problems)
}

/// Where a Markdown link or image points once published. Links to `.md`
/// files become the page's path; other relative links are read from the
/// Markdown file's folder, as a Git forge's preview reads them.
pub fn rewrite_link(
    dest: &str,
    dir: &str,
    sources: &HashMap<String, String>,
) -> Result<String, String> {
    if dest.is_empty() || dest.starts_with('#') || dest.starts_with("//") || has_scheme(dest) {
        return Ok(dest.to_owned());
    }
    let (path_part, fragment) = match dest.find(['#', '?']) {
        Some(i) => dest.split_at(i),
        None => (dest, ""),
    };
    let joined = if let Some(absolute) = path_part.strip_prefix('/') {
        absolute.to_owned()
    } else if dir.is_empty() {
        path_part.to_owned()
    } else {
        format!("{dir}/{path_part}")
    };
    let normal = normalize(&joined).ok_or_else(|| format!("`{dest}` climbs out of `content/`"))?;
    if normal.ends_with(".md") {
        let Some(target) = sources.get(&normal) else {
            return Err(format!(
                "`{dest}` links to `content/{normal}`, which is not a page of this site"
            ));
        };
        return Ok(format!("{target}{fragment}"));
    }
    if path_part.starts_with('/') {
        return Ok(dest.to_owned());
    }
    let trailing = if path_part.ends_with('/') && !normal.is_empty() {
        "/"
    } else {
        ""
    };
    Ok(format!("/{normal}{trailing}{fragment}"))
}

fn has_scheme(dest: &str) -> bool {
    match dest.find(':') {
        Some(i) => {
            dest[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-')
                && i > 0
        }
        None => false,
    }
}

fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn sort_pages(section: &mut Section, pages: &[Page]) {
    let sort_by = section.front.sort_by.unwrap_or(match section.front.kind {
        SectionKind::News => SortBy::Date,
        SectionKind::Events => SortBy::Start,
        SectionKind::Pages => SortBy::Weight,
    });
    let by_title = |a: &usize, b: &usize| pages[*a].front.title.cmp(&pages[*b].front.title);
    match sort_by {
        // Newest first; undated pages last.
        SortBy::Date => section.pages.sort_by(|a, b| {
            pages[*b]
                .date
                .cmp(&pages[*a].date)
                .then_with(|| by_title(a, b))
        }),
        SortBy::Title => section.pages.sort_by(by_title),
        SortBy::Weight => section.pages.sort_by(|a, b| {
            pages[*a]
                .front
                .weight
                .cmp(&pages[*b].front.weight)
                .then_with(|| by_title(a, b))
        }),
        // Soonest first.
        SortBy::Start => section.pages.sort_by(|a, b| {
            let start = |i: usize| pages[i].event.as_ref().map(|e| e.start);
            start(*a).cmp(&start(*b)).then_with(|| by_title(a, b))
        }),
    }
}

/// Re-reads one Markdown file after an edit. `Some(page)` when it is a page
/// that still publishes at the same path; the caller decides what to
/// re-render.
pub fn reparse_page(
    root: &Path,
    old: &Page,
    ctx: &RenderContext<'_>,
) -> Result<Page, Vec<Diagnostic>> {
    let relative = &old.file["content/".len()..];
    let parsed = parse_file(&root.join("content"), relative).map_err(|d| vec![d])?;
    let Front::Page(front) = parsed.front else {
        return Err(Vec::new());
    };
    let mut page = Page {
        front: *front,
        key_lines: parsed.key_lines,
        body: parsed.body,
        body_line: parsed.body_line,
        rendered: Rendered::default(),
        date: None,
        updated: None,
        event: None,
        ..old.clone()
    };
    page.tags = page.front.tags.iter().map(|t| tag(t, ctx.config)).collect();
    let (problems, _) = finish_page(&mut page, ctx);
    if problems.is_empty() {
        Ok(page)
    } else {
        Err(problems)
    }
}
