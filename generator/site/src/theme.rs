//! A theme's files, layered: the theme first (from `themes/<name>/`, or the
//! default theme built into the binary), then the site's own `templates/`,
//! `assets/`, `static/` and `i18n/`, which replace the theme's file by file.

use crate::diagnostic::Diagnostic;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use embedded::EXAMPLE_SITE;

/// Where a file's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    Disk(PathBuf),
    Embedded(&'static [u8]),
}

impl Source {
    pub fn read(&self) -> std::io::Result<Cow<'static, [u8]>> {
        match self {
            Source::Disk(path) => std::fs::read(path).map(Cow::Owned),
            Source::Embedded(bytes) => Ok(Cow::Borrowed(bytes)),
        }
    }
}

/// One file of the theme layer stack: its name within its kind
/// (`page.html`, `css/site.css`), where it is shown to come from in errors,
/// and its bytes.
#[derive(Debug, Clone)]
pub struct ThemeFile {
    pub shown_as: String,
    pub source: Source,
}

#[derive(Debug, Clone, Default)]
pub struct ThemeFiles {
    pub templates: BTreeMap<String, ThemeFile>,
    pub assets: BTreeMap<String, ThemeFile>,
    pub statics: BTreeMap<String, ThemeFile>,
    /// `fr.yaml` → the files to merge, theme first.
    pub i18n: BTreeMap<String, Vec<ThemeFile>>,
    /// The theme's default emails: `fr/confirm.md`.
    pub emails: BTreeMap<String, ThemeFile>,
}

const KINDS: [&str; 5] = ["templates", "assets", "static", "i18n", "emails"];

impl ThemeFiles {
    /// Collects the files of theme `name` for the site at `root`.
    pub fn load(root: &Path, name: &str) -> Result<ThemeFiles, Diagnostic> {
        let mut files = ThemeFiles::default();
        let theme_dir = root.join("themes").join(name);
        if theme_dir.is_dir() {
            files.add_dir(root, &theme_dir)?;
        } else if name == "default" {
            for (path, bytes) in embedded::DEFAULT_THEME {
                files.add(
                    path,
                    format!("themes/default/{path}"),
                    Source::Embedded(bytes),
                );
            }
        } else {
            return Err(
                Diagnostic::new("campaign.yaml", format!("there is no theme `{name}`")).hint(
                    format!("create `themes/{name}/`, or remove `theme:` to use the default theme"),
                ),
            );
        }
        files.add_dir(root, root)?;
        Ok(files)
    }

    fn add_dir(&mut self, root: &Path, dir: &Path) -> Result<(), Diagnostic> {
        for kind in KINDS {
            let base = dir.join(kind);
            if !base.is_dir() {
                continue;
            }
            for entry in walkdir::WalkDir::new(&base).sort_by_file_name() {
                let entry = entry.map_err(|e| {
                    Diagnostic::new(shown(root, &base), format!("cannot read: {e}"))
                })?;
                if !entry.file_type().is_file() || is_hidden(entry.path()) {
                    continue;
                }
                let Ok(relative) = entry.path().strip_prefix(dir) else {
                    continue;
                };
                let relative = relative.to_string_lossy().replace('\\', "/");
                self.add(
                    &relative,
                    shown(root, entry.path()),
                    Source::Disk(entry.path().to_path_buf()),
                );
            }
        }
        Ok(())
    }

    /// Adds `path` (`templates/page.html`), replacing a lower layer's file.
    fn add(&mut self, path: &str, shown_as: String, source: Source) {
        let Some((kind, name)) = path.split_once('/') else {
            return;
        };
        let file = ThemeFile { shown_as, source };
        match kind {
            "templates" => {
                self.templates.insert(name.to_owned(), file);
            }
            "assets" => {
                self.assets.insert(name.to_owned(), file);
            }
            "static" => {
                self.statics.insert(name.to_owned(), file);
            }
            "i18n" => self.i18n.entry(name.to_owned()).or_default().push(file),
            "emails" => {
                self.emails.insert(name.to_owned(), file);
            }
            _ => {}
        }
    }

    /// The strings of `lang`, the site's own replacing the theme's.
    pub fn strings(&self, lang: &str) -> Result<HashMap<String, String>, Vec<Diagnostic>> {
        let Some(layers) = self.i18n.get(&format!("{lang}.yaml")) else {
            return Err(vec![
                Diagnostic::new(
                    "campaign.yaml",
                    format!("the theme has no strings for `{lang}`"),
                )
                .hint(format!("add `i18n/{lang}.yaml` to the theme or the site")),
            ]);
        };
        let mut strings = HashMap::new();
        let mut problems = Vec::new();
        for layer in layers {
            let text = match layer.source.read() {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => {
                    problems.push(Diagnostic::new(
                        &layer.shown_as,
                        format!("cannot read: {e}"),
                    ));
                    continue;
                }
            };
            match crate::yaml::parse::<BTreeMap<String, String>>(&text) {
                Ok(map) => strings.extend(map),
                Err(e) => {
                    let mut d = Diagnostic::new(&layer.shown_as, e.message);
                    if let (Some(l), Some(c)) = (e.line, e.column) {
                        d = d.at(l, c);
                    }
                    problems.push(
                        d.hint("strings are one flat map of `key: text`, like `nav.home: Accueil`"),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(strings)
        } else {
            Err(problems)
        }
    }
}

pub fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// A path as shown to users: relative to the site root, `/`-separated.
pub fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
