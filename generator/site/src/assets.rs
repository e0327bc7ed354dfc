//! Theme and site assets published under a name that holds a hash of their
//! content (`/assets/css/site.3f2a9c1b5e.css`), so a CDN can cache them for
//! ever and a new version is a new URL.

use crate::diagnostic::Diagnostic;
use crate::theme::ThemeFiles;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct AssetMap {
    /// `css/site.css` → (`/assets/css/site.3f2a9c1b5e.css`, bytes)
    entries: HashMap<String, (String, Vec<u8>)>,
}

impl AssetMap {
    pub fn load(theme: &ThemeFiles) -> Result<AssetMap, Vec<Diagnostic>> {
        let mut entries = HashMap::new();
        let mut problems = Vec::new();
        for (name, file) in &theme.assets {
            match file.source.read() {
                Ok(bytes) => {
                    let url = fingerprinted(name, &bytes);
                    entries.insert(name.clone(), (url, bytes.into_owned()));
                }
                Err(e) => {
                    problems.push(Diagnostic::new(&file.shown_as, format!("cannot read: {e}")))
                }
            }
        }
        if problems.is_empty() {
            Ok(AssetMap { entries })
        } else {
            Err(problems)
        }
    }

    pub fn url(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|(url, _)| url.as_str())
    }

    /// Every asset as (published path, bytes).
    pub fn published(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries
            .values()
            .map(|(url, bytes)| (url.as_str(), bytes.as_slice()))
    }
}

fn fingerprinted(name: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.ends_with('/') && !stem.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    };
    match extension {
        Some(ext) => format!("/assets/{stem}.{hash}.{ext}"),
        None => format!("/assets/{stem}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        let a = fingerprinted("css/site.css", b"body{}");
        assert!(
            a.starts_with("/assets/css/site.") && a.ends_with(".css"),
            "{a}"
        );
        assert_eq!(a.len(), "/assets/css/site.".len() + 10 + ".css".len());
        assert_ne!(a, fingerprinted("css/site.css", b"body{color:red}"));
        assert!(fingerprinted("LICENSE", b"x").starts_with("/assets/LICENSE."));
    }
}
