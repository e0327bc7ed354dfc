//! A loaded site: settings, theme, content with its Markdown rendered. It
//! renders itself whole, or one page after an edit.

use crate::assets::AssetMap;
use crate::content::{self, Content, RenderContext};
use crate::diagnostic::{Diagnostic, Report};
use crate::output::Output;
use crate::templates::{Strings, Templates, template_error};
use crate::theme::ThemeFiles;
use crate::{config, render, shortcodes};
use estrade_domain::forms::{FormName, SMS_CONSENT, SMS_FIELD};
use estrade_domain::manifest::{ConsentText, Manifest};
use estrade_domain::{CampaignConfig, Event};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Publish pages marked `draft: true`.
    pub drafts: bool,
    /// The build's clock: what is "upcoming", and the feeds' update time.
    pub now: Timestamp,
    /// Add `serve`'s live-reload script to every HTML page.
    pub live_reload: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            drafts: false,
            now: Timestamp::now(),
            live_reload: false,
        }
    }
}

/// Counts rendered outputs, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

impl Progress {
    pub fn tick(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub pages: usize,
    pub sections: usize,
    pub files: usize,
}

pub struct Site {
    pub root: PathBuf,
    pub config: Arc<CampaignConfig>,
    pub zone: TimeZone,
    pub theme: ThemeFiles,
    pub strings: Strings,
    pub assets: Arc<AssetMap>,
    pub templates: Templates,
    pub content: Content,
    pub options: SiteOptions,
    /// Problems in some content files: those files are left out, the rest
    /// still renders so that one report lists everything.
    pub content_problems: Vec<Diagnostic>,
}

impl Site {
    /// Reads everything. Fails when nothing can be rendered (settings,
    /// theme or templates broken); problems in content files are kept in
    /// `content_problems` and reported by [`Site::render`].
    pub fn load(root: &Path, options: SiteOptions) -> Result<Site, Report> {
        let config = Arc::new(config::load(root).map_err(Report::from)?);
        let zone = TimeZone::get(&config.timezone).unwrap_or(TimeZone::UTC);
        let theme = ThemeFiles::load(root, &config.theme).map_err(Report::one)?;
        let mut problems = Vec::new();
        let strings: Strings = Arc::new(theme.strings(&config.language).unwrap_or_else(|p| {
            problems.extend(p);
            Default::default()
        }));
        let assets = Arc::new(AssetMap::load(&theme).unwrap_or_else(|p| {
            problems.extend(p);
            AssetMap::default()
        }));
        let templates = match Templates::load(&theme, &config, &strings, &assets) {
            Ok(t) => Some(t),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        let mut content_problems = Vec::new();
        let content = {
            let site_value = serde_json::to_value(&*config).unwrap_or_default();
            let shortcode = |call: &shortcodes::Call, page_path: &str| -> Result<String, String> {
                match &templates {
                    Some(t) => render_shortcode(t, &site_value, &config.language, call, page_path),
                    // The template problems are reported already.
                    None => Ok(String::new()),
                }
            };
            let ctx = RenderContext {
                config: &config,
                zone: &zone,
                sources: &Default::default(),
                shortcode: &shortcode,
            };
            let (mut content, found) = content::load(root, options.drafts, &ctx);
            content_problems.extend(found);
            // Automations are read for the functions, never published.
            let automations = format!("content/{}", crate::automations::FOLDER);
            content
                .assets
                .retain(|a| !a.published.starts_with(crate::automations::FOLDER));
            content.pages.retain(|p| !p.file.starts_with(&automations));
            content
        };
        match templates {
            Some(templates) if problems.is_empty() => Ok(Site {
                content_problems,
                root: root.to_path_buf(),
                config,
                zone,
                theme,
                strings,
                assets,
                templates,
                content,
                options,
            }),
            _ => {
                problems.extend(content_problems);
                Err(Report::from(problems))
            }
        }
    }

    /// Renders every output, then checks links; every problem is reported.
    pub fn render(
        &self,
        out: &dyn Output,
        progress: Option<&Progress>,
    ) -> Result<BuildStats, Report> {
        let rendered = render::render_all(self, out, progress);
        let mut problems = self.content_problems.clone();
        problems.extend(rendered.problems);
        problems.extend(crate::links::check(self, &rendered.published));
        if problems.is_empty() {
            Ok(BuildStats {
                pages: self.content.pages.len(),
                sections: self.content.sections.len(),
                files: rendered.published.len(),
            })
        } else {
            Err(Report::from(problems))
        }
    }

    /// After `content/<file>` changed: re-reads it, and when only its own
    /// output is affected (same path, same place in listings) re-renders
    /// just that page. Returns `Ok(false)` when the caller must reload the
    /// whole site instead.
    pub fn update_page(&mut self, file: &str, out: &dyn Output) -> Result<bool, Report> {
        let Some(index) = self.content.pages.iter().position(|p| p.file == file) else {
            return Ok(false);
        };
        let old = &self.content.pages[index];
        let site_value = serde_json::to_value(&*self.config).unwrap_or_default();
        let sources = self
            .content
            .pages
            .iter()
            .map(|p| (p.file["content/".len()..].to_owned(), p.path.clone()))
            .chain(self.content.sections.iter().filter_map(|s| {
                Some((
                    s.file.as_ref()?["content/".len()..].to_owned(),
                    s.path.clone(),
                ))
            }))
            .collect();
        let templates = &self.templates;
        let lang = self.config.language.clone();
        let shortcode = |call: &shortcodes::Call, page_path: &str| {
            render_shortcode(templates, &site_value, &lang, call, page_path)
        };
        let ctx = RenderContext {
            config: &self.config,
            zone: &self.zone,
            sources: &sources,
            shortcode: &shortcode,
        };
        let page = content::reparse_page(&self.root, old, &ctx).map_err(Report::from)?;
        let same_listing = page.front == old.front && page.rendered.summary == old.rendered.summary;
        if !same_listing || page.rendered.ids != old.rendered.ids {
            return Ok(false);
        }
        self.content.pages[index] = page;
        let problems = render::render_page_alone(self, index, out);
        if problems.is_empty() {
            Ok(true)
        } else {
            Err(Report::from(problems))
        }
    }
}

impl Site {
    /// What the form functions need of this build (see
    /// [`estrade_domain::manifest`]), and the problems met rendering it.
    pub fn manifest(&self) -> (Manifest, Vec<Diagnostic>) {
        let events: Vec<Event> = self
            .content
            .pages
            .iter()
            .filter_map(|p| p.event.clone())
            .collect();
        let emails = crate::emails::render_all(self, &events);
        let mut problems = emails.problems;
        let (automations, found) = crate::automations::load_all(self, &emails.names, &events);
        problems.extend(found);
        // Each form's consent to email, and the text-message consent.
        let texts = FormName::ALL
            .into_iter()
            .filter(|form| form.definition().records_consent)
            .map(|form| (form.as_str(), format!("form.consent.{}", form.as_str())))
            .chain([(SMS_CONSENT, format!("form.{SMS_FIELD}"))]);
        let consent = texts
            .filter_map(|(name, key)| {
                let text = self.strings.get(&key)?;
                let hash = Sha256::digest(text.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Some((
                    name.to_owned(),
                    ConsentText {
                        text: text.clone(),
                        hash,
                    },
                ))
            })
            .collect();
        let build = std::env::var("ESTRADE_BUILD")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| self.options.now.to_string());
        let manifest = Manifest {
            build,
            config: (*self.config).clone(),
            events,
            consent,
            emails: emails.templates,
            stylesheet: self.assets.url("css/site.css").map(str::to_owned),
            automations,
        };
        (manifest, problems)
    }
}

fn render_shortcode(
    templates: &Templates,
    site: &serde_json::Value,
    lang: &str,
    call: &shortcodes::Call,
    page_path: &str,
) -> Result<String, String> {
    let name = format!("shortcodes/{}.html", call.name);
    if !templates.has(&name) {
        return Err(format!(
            "there is no shortcode `{}`: add `templates/{name}` to the site or the theme",
            call.name
        ));
    }
    let mut context = tera::Context::new();
    for (key, value) in &call.args {
        context.insert(key, value);
    }
    context.insert("page_path", page_path);
    context.insert("site", site);
    context.insert("lang", lang);
    templates.tera.render(&name, &context).map_err(|e| {
        let d: Diagnostic = template_error(&e, &templates.files);
        format!("shortcode `{}`: {} ({})", call.name, d.message, d.file)
    })
}

/// How long a build may run before a terminal shows a progress bar.
pub const PROGRESS_AFTER: Duration = Duration::from_millis(800);
