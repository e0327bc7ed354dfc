//! Builds a campaign site: `campaign.yaml`, `content/` and a theme in, HTML,
//! feeds, calendars and assets out.
//!
//! The stages, each its own module: [`config`] reads `campaign.yaml`,
//! [`theme`] layers the theme's files with the site's, [`content`] reads
//! and renders the Markdown once, [`render`] fills the templates in
//! parallel into an [`output::Output`], and [`links`] checks every internal
//! link and image against what was published.

pub mod assets;
pub mod automations;
pub mod config;
pub mod content;
pub use estrade_domain::dates;
pub mod diagnostic;
pub mod emails;
pub mod feeds;
pub mod formview;
pub mod frontmatter;
pub mod links;
pub mod markdown;
pub mod output;
pub mod render;
pub mod scaffold;
pub mod shortcodes;
pub mod site;
pub mod templates;
pub mod theme;
pub mod values;
mod yaml;

pub use diagnostic::{Diagnostic, Report};
pub use site::{BuildStats, Progress, Site, SiteOptions};
