//! Fills the templates, in parallel, into an [`Output`].

use crate::content::{Page, Section};
use crate::diagnostic::Diagnostic;
use crate::feeds;
use crate::frontmatter::{PageKind, SectionKind};
use crate::output::Output;
use crate::site::{Progress, Site};
use crate::templates::template_error;
use crate::values::{self, pager_path, paginator, tag_path};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

/// Where the build leaves what the form functions need. Deployment keeps
/// it out of the public bucket.
pub const MANIFEST: &str = "_estrade/manifest.json";

/// What a render published, and what went wrong.
pub struct Rendered {
    pub published: HashSet<String>,
    pub problems: Vec<Diagnostic>,
}

/// One unit of parallel work.
#[derive(Debug, Clone, Copy)]
enum Job {
    Page(usize),
    Listing { section: usize, number: usize },
    Agenda(usize),
    Archive(usize),
    Calendar(usize),
    Tags,
    Tag { tag: usize, number: usize },
    NotFound,
    Manifest,
    Feeds,
    Sitemap,
    Files,
}

pub struct TagEntry {
    pub name: String,
    pub slug: String,
    pub pages: Vec<usize>,
}

struct Renderer<'a> {
    site: &'a Site,
    base: Map<String, Value>,
    lists: Vec<Value>,
    tags: Vec<TagEntry>,
}

/// Script `serve` adds to pages. After a full rebuild it reloads the page;
/// after a one-page rebuild (`pages` lists what changed) it swaps the body
/// of that page in place, which is faster than a reload and keeps the
/// scroll position; a failed build is shown over the page.
pub const LIVE_RELOAD: &str = r#"<script>(function(){
var s=new EventSource("/__estrade/events");
function overlay(){return document.getElementById("estrade-overlay")}
s.onmessage=function(m){var d=JSON.parse(m.data),o=overlay();
if(d.error){if(!o){o=document.createElement("pre");o.id="estrade-overlay";o.setAttribute("role","alert");o.style.cssText="position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;margin:0;padding:1rem;background:#3b0d0d;color:#fff;font:14px/1.4 monospace;white-space:pre-wrap;z-index:2147483647";document.body.appendChild(o)}o.textContent="estrade: the last change did not build; still showing the last good build.\n\n"+d.error;return}
if(o)o.remove();
if(!d.pages){location.reload();return}
if(d.pages.indexOf(location.pathname)<0)return;
fetch(location.pathname,{cache:"no-store"}).then(function(r){return r.text()}).then(function(t){var n=new DOMParser().parseFromString(t,"text/html");document.title=n.title;document.body.replaceWith(n.body)}).catch(function(){location.reload()})}})();</script>"#;

pub fn render_all(site: &Site, out: &dyn Output, progress: Option<&Progress>) -> Rendered {
    let renderer = Renderer::new(site);
    let jobs = renderer.jobs();
    if let Some(p) = progress {
        p.total
            .store(jobs.len(), std::sync::atomic::Ordering::Relaxed);
    }
    let results: Vec<(Vec<String>, Vec<Diagnostic>)> = jobs
        .par_iter()
        .map(|job| {
            let result = renderer.run(*job, out);
            if let Some(p) = progress {
                p.tick();
            }
            result
        })
        .collect();
    let mut published = HashSet::new();
    let mut failures: BTreeMap<Diagnostic, Vec<String>> = BTreeMap::new();
    for (paths, problems) in results {
        let first = paths.first().cloned().unwrap_or_default();
        published.extend(paths);
        for d in problems {
            failures.entry(d).or_default().push(first.clone());
        }
    }
    // A template mistake fails every page that uses it: say it once.
    let problems = failures
        .into_iter()
        .map(|(mut problem, outputs)| {
            if outputs.len() > 1 {
                problem.message = format!(
                    "{} (and on {} other pages)",
                    problem.message,
                    outputs.len() - 1
                );
            }
            problem
        })
        .collect();
    Rendered {
        published,
        problems,
    }
}

/// Re-renders one page (and its `.ics`) after an edit that changes nothing
/// else.
pub fn render_page_alone(site: &Site, index: usize, out: &dyn Output) -> Vec<Diagnostic> {
    let renderer = Renderer::new_for_page(site);
    renderer.run(Job::Page(index), out).1
}

/// Collects what one job published and what went wrong.
struct Sink<'o> {
    out: &'o dyn Output,
    published: Vec<String>,
    problems: Vec<Diagnostic>,
}

impl Sink<'_> {
    fn emit(&mut self, path: String, result: Result<Vec<u8>, Diagnostic>) {
        match result {
            Ok(bytes) => match self.out.write(&path, bytes) {
                Ok(()) => self.published.push(path),
                Err(e) => self
                    .problems
                    .push(Diagnostic::new(path, format!("cannot write: {e}"))),
            },
            Err(d) => {
                // Still counts as published, so links to it are not
                // reported on top of the template error.
                self.published.push(path);
                self.problems.push(d);
            }
        }
    }

    fn copy(&mut self, path: &str, source: &crate::theme::Source, shown_as: &str) {
        match self.out.copy(path, source) {
            Ok(()) => self.published.push(path.to_owned()),
            Err(e) => self
                .problems
                .push(Diagnostic::new(shown_as, format!("cannot publish: {e}"))),
        }
    }
}

fn output_file(path: &str) -> String {
    format!("{}index.html", path.trim_start_matches('/'))
}

impl<'a> Renderer<'a> {
    fn new(site: &'a Site) -> Renderer<'a> {
        let mut renderer = Renderer::new_for_page(site);
        let c = &site.content;
        renderer.lists = c
            .pages
            .par_iter()
            .map(|p| values::page_value(p, site, false))
            .collect();
        let mut tags: BTreeMap<String, TagEntry> = BTreeMap::new();
        for (i, page) in c.pages.iter().enumerate() {
            for tag in &page.tags {
                tags.entry(tag.slug.clone())
                    .or_insert_with(|| TagEntry {
                        name: tag.name.clone(),
                        slug: tag.slug.clone(),
                        pages: Vec::new(),
                    })
                    .pages
                    .push(i);
            }
        }
        renderer.tags = tags.into_values().collect();
        for entry in &mut renderer.tags {
            entry
                .pages
                .sort_by(|a, b| c.pages[*b].date.cmp(&c.pages[*a].date));
        }
        renderer
    }

    /// Enough to render a single page: no listings.
    fn new_for_page(site: &'a Site) -> Renderer<'a> {
        let mut base = Map::new();
        base.insert(
            "site".into(),
            serde_json::to_value(&*site.config).unwrap_or_default(),
        );
        base.insert("lang".into(), site.config.language.clone().into());
        base.insert(
            "now".into(),
            values::rfc3339(site.options.now, &site.zone).into(),
        );
        // The site-wide feed; a news section's listing gives its own.
        base.insert("feed_path".into(), "/atom.xml".into());
        Renderer {
            site,
            base,
            lists: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn per_page(&self, section: &Section) -> usize {
        section
            .front
            .paginate_by
            .unwrap_or(self.site.config.paginate_by)
            .max(1)
    }

    fn jobs(&self) -> Vec<Job> {
        let c = &self.site.content;
        let mut jobs: Vec<Job> = (0..c.pages.len()).map(Job::Page).collect();
        for (i, section) in c.sections.iter().enumerate() {
            if section.front.kind == SectionKind::Events && section.parent.is_some() {
                jobs.extend([Job::Agenda(i), Job::Archive(i), Job::Calendar(i)]);
                continue;
            }
            let total = if section.parent.is_none() {
                1
            } else {
                section.pages.len().div_ceil(self.per_page(section)).max(1)
            };
            jobs.extend((1..=total).map(|number| Job::Listing { section: i, number }));
        }
        jobs.push(Job::Tags);
        for (t, entry) in self.tags.iter().enumerate() {
            let total = entry
                .pages
                .len()
                .div_ceil(self.site.config.paginate_by.max(1))
                .max(1);
            jobs.extend((1..=total).map(|number| Job::Tag { tag: t, number }));
        }
        jobs.extend([
            Job::NotFound,
            Job::Manifest,
            Job::Feeds,
            Job::Sitemap,
            Job::Files,
        ]);
        jobs
    }

    fn run(&self, job: Job, out: &dyn Output) -> (Vec<String>, Vec<Diagnostic>) {
        let mut sink = Sink {
            out,
            published: Vec::new(),
            problems: Vec::new(),
        };
        let mut emit = |path: String, result: Result<Vec<u8>, Diagnostic>| sink.emit(path, result);
        let site = self.site;
        let c = &site.content;
        match job {
            Job::Page(i) => {
                let page = &c.pages[i];
                emit(output_file(&page.path), self.page(page));
                if let Some(event) = &page.event {
                    let host = host(&site.config.base_url);
                    let ics = estrade_domain::ics::calendar(
                        &page.front.title,
                        &host,
                        &[event],
                        site.options.now,
                    );
                    emit(
                        values::ics_path(&page.path)
                            .trim_start_matches('/')
                            .to_owned(),
                        Ok(ics.into_bytes()),
                    );
                }
            }
            Job::Listing { section, number } => {
                let s = &c.sections[section];
                emit(
                    output_file(&pager_path(&s.path, number)),
                    self.listing(s, number),
                );
            }
            Job::Agenda(section) => {
                let s = &c.sections[section];
                emit(output_file(&s.path), self.agenda(s, false));
            }
            Job::Archive(section) => {
                let s = &c.sections[section];
                emit(
                    output_file(&format!("{}archives/", s.path)),
                    self.agenda(s, true),
                );
            }
            Job::Calendar(section) => {
                let s = &c.sections[section];
                let events: Vec<_> = s
                    .pages
                    .iter()
                    .filter_map(|p| c.pages[*p].event.as_ref())
                    .collect();
                let ics = estrade_domain::ics::calendar(
                    &s.front.title,
                    &host(&site.config.base_url),
                    &events,
                    site.options.now,
                );
                emit(
                    format!("{}calendar.ics", s.path.trim_start_matches('/')),
                    Ok(ics.into_bytes()),
                );
            }
            Job::Tags => {
                let tags: Vec<Value> = self
                    .tags
                    .iter()
                    .map(|t| json!({"name": t.name, "slug": t.slug, "path": tag_path(&t.slug), "count": t.pages.len()}))
                    .collect();
                emit(
                    "tags/index.html".to_owned(),
                    self.html("tags.html", "/tags/", None, [("tags", Value::Array(tags))]),
                );
            }
            Job::Tag { tag, number } => {
                let entry = &self.tags[tag];
                let base = tag_path(&entry.slug);
                let per_page = site.config.paginate_by.max(1);
                let total = entry.pages.len().div_ceil(per_page).max(1);
                let items = entry
                    .pages
                    .iter()
                    .skip((number - 1) * per_page)
                    .take(per_page)
                    .map(|p| self.lists[*p].clone())
                    .collect();
                let path = pager_path(&base, number);
                let result = self.html(
                    "tag.html",
                    &path,
                    None,
                    [
                        (
                            "tag",
                            json!({"name": entry.name, "slug": entry.slug, "path": base}),
                        ),
                        ("paginator", paginator(&base, items, number, total)),
                    ],
                );
                emit(output_file(&path), result);
            }
            Job::NotFound => emit(
                "404.html".to_owned(),
                self.html("404.html", "/404.html", None, []),
            ),
            Job::Manifest => {
                let (manifest, problems) = site.manifest();
                sink.problems.extend(problems);
                match serde_json::to_vec_pretty(&manifest) {
                    Ok(json) => sink.emit(MANIFEST.to_owned(), Ok(json)),
                    Err(e) => sink
                        .problems
                        .push(Diagnostic::new(MANIFEST, format!("cannot write: {e}"))),
                }
            }
            Job::Feeds => {
                for (path, xml) in feeds::atom_feeds(site) {
                    emit(path, Ok(xml.into_bytes()));
                }
            }
            Job::Sitemap => {
                emit(
                    "sitemap.xml".to_owned(),
                    Ok(feeds::sitemap(site, &self.tags).into_bytes()),
                );
                let robots = format!(
                    "User-agent: *\nAllow: /\n\nSitemap: {}\n",
                    site.config.permalink("/sitemap.xml")
                );
                emit("robots.txt".to_owned(), Ok(robots.into_bytes()));
            }
            Job::Files => {
                for (name, file) in &site.theme.statics {
                    sink.copy(name, &file.source, &file.shown_as);
                }
                for (url, bytes) in site.assets.published() {
                    sink.emit(url.trim_start_matches('/').to_owned(), Ok(bytes.to_vec()));
                }
                for asset in &c.assets {
                    let source = crate::theme::Source::Disk(asset.source.clone());
                    sink.copy(
                        &asset.published,
                        &source,
                        &format!("content/{}", asset.published),
                    );
                }
            }
        }
        (sink.published, sink.problems)
    }

    fn page(&self, page: &Page) -> Result<Vec<u8>, Diagnostic> {
        let site = self.site;
        let template = page.front.template.clone().unwrap_or_else(|| {
            match page.kind {
                PageKind::Page => "page.html",
                PageKind::Post => "post.html",
                PageKind::Event => "event.html",
                PageKind::Action => "action.html",
                PageKind::Thanks => "thanks.html",
            }
            .to_owned()
        });
        let value = values::page_value(page, site, true);
        self.html(&template, &page.path, Some(&page.file), [("page", value)])
    }

    fn listing(&self, section: &Section, number: usize) -> Result<Vec<u8>, Diagnostic> {
        let site = self.site;
        let c = &site.content;
        let section_value = values::section_value(section, &site.config);
        let file = section.file.as_deref();
        if section.parent.is_none() {
            let template = section.front.template.as_deref().unwrap_or("index.html");
            let latest_news: Vec<Value> = self.newest(|p| p.kind == PageKind::Post, 3);
            let mut upcoming: Vec<&Page> = c
                .pages
                .iter()
                .filter(|p| {
                    p.event
                        .as_ref()
                        .is_some_and(|e| !e.is_past(site.options.now))
                })
                .collect();
            upcoming.sort_by_key(|p| p.event.as_ref().map(|e| e.start));
            let upcoming_events: Vec<Value> = upcoming
                .iter()
                .take(3)
                .map(|p| self.list_value(p))
                .collect();
            return self.html(
                template,
                "/",
                file,
                [
                    ("section", section_value),
                    ("latest_news", Value::Array(latest_news)),
                    ("upcoming_events", Value::Array(upcoming_events)),
                ],
            );
        }
        let per_page = self.per_page(section);
        let total = section.pages.len().div_ceil(per_page).max(1);
        let items = section
            .pages
            .iter()
            .skip((number - 1) * per_page)
            .take(per_page)
            .map(|p| self.lists[*p].clone())
            .collect();
        let default = match section.front.kind {
            SectionKind::News => "news.html",
            _ => "section.html",
        };
        let template = section.front.template.as_deref().unwrap_or(default);
        self.html(
            template,
            &pager_path(&section.path, number),
            file,
            [
                ("section", section_value),
                ("paginator", paginator(&section.path, items, number, total)),
                (
                    "feed_path",
                    Value::String(format!("{}atom.xml", section.path)),
                ),
            ],
        )
    }

    fn agenda(&self, section: &Section, archive: bool) -> Result<Vec<u8>, Diagnostic> {
        let site = self.site;
        let c = &site.content;
        let now = site.options.now;
        let is_past = |i: &usize| c.pages[*i].event.as_ref().is_some_and(|e| e.is_past(now));
        let upcoming: Vec<Value> = section
            .pages
            .iter()
            .filter(|i| !is_past(i))
            .map(|i| self.lists[*i].clone())
            .collect();
        let past: Vec<Value> = section
            .pages
            .iter()
            .rev()
            .filter(|i| is_past(i))
            .map(|i| self.lists[*i].clone())
            .collect();
        let section_value = values::section_value(section, &site.config);
        let archive_path = format!("{}archives/", section.path);
        if archive {
            return self.html(
                "archive.html",
                &archive_path,
                section.file.as_deref(),
                [("section", section_value), ("past", Value::Array(past))],
            );
        }
        let template = section.front.template.as_deref().unwrap_or("agenda.html");
        self.html(
            template,
            &section.path,
            section.file.as_deref(),
            [
                ("section", section_value),
                ("upcoming", Value::Array(upcoming)),
                ("past_count", past.len().into()),
                ("archive_path", archive_path.into()),
                (
                    "calendar_path",
                    format!("{}calendar.ics", section.path).into(),
                ),
            ],
        )
    }

    fn list_value(&self, page: &Page) -> Value {
        let site = self.site;
        values::page_value(page, site, false)
    }

    fn newest(&self, keep: impl Fn(&Page) -> bool, n: usize) -> Vec<Value> {
        let mut pages: Vec<&Page> = self
            .site
            .content
            .pages
            .iter()
            .filter(|p| keep(p) && p.date.is_some())
            .collect();
        pages.sort_by_key(|p| std::cmp::Reverse(p.date));
        pages
            .into_iter()
            .take(n)
            .map(|p| self.list_value(p))
            .collect()
    }

    /// Renders `template` for the output at `path`.
    fn html<const N: usize>(
        &self,
        template: &str,
        path: &str,
        file: Option<&str>,
        values: [(&str, Value); N],
    ) -> Result<Vec<u8>, Diagnostic> {
        let site = self.site;
        let templates = &site.templates;
        if !templates.has(template) {
            let d = Diagnostic::new(
                file.unwrap_or("templates"),
                format!("there is no template `{template}`"),
            )
            .hint(format!(
                "add `templates/{template}` to the site or the theme"
            ));
            return Err(d);
        }
        let mut map = self.base.clone();
        map.insert("current_path".into(), path.into());
        map.insert("current_url".into(), site.config.permalink(path).into());
        for (key, value) in values {
            map.insert(key.into(), value);
        }
        let context = tera::Context::from_value(Value::Object(map))
            .map_err(|e| Diagnostic::new(templates.shown(template), e.to_string()))?;
        let mut html = templates
            .tera
            .render(template, &context)
            .map_err(|e| template_error(&e, &templates.files))?;
        if site.options.live_reload {
            match html.rfind("</body>") {
                Some(at) => html.insert_str(at, LIVE_RELOAD),
                None => html.push_str(LIVE_RELOAD),
            }
        }
        Ok(html.into_bytes())
    }
}

/// The host of the site's address, for calendar UIDs.
pub fn host(base_url: &str) -> String {
    base_url
        .split("://")
        .nth(1)
        .unwrap_or(base_url)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}
