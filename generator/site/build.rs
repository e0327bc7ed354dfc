//! Embeds the default theme and the example campaign in the library, so the
//! `estrade` binary builds sites that have no `themes/` folder and `estrade
//! new` works anywhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let repo = manifest.join("../..");
    let mut code = String::new();
    embed(&mut code, "DEFAULT_THEME", &repo, &["themes/default"]);
    embed(
        &mut code,
        "EXAMPLE_SITE",
        &repo,
        &["campaign.yaml", "content", "static", "templates", "i18n"],
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}

/// Writes `pub static NAME: &[(&str, &[u8])]` listing every file under the
/// given paths of the repository, relative to the first path for the theme
/// and to the repository for the example.
fn embed(code: &mut String, name: &str, repo: &Path, roots: &[&str]) {
    let mut files = Vec::new();
    for root in roots {
        let path = repo.join(root);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&path, &mut files);
    }
    files.sort();
    let strip = if name == "DEFAULT_THEME" {
        repo.join(roots[0])
    } else {
        repo.to_path_buf()
    };
    let _ = writeln!(code, "pub static {name}: &[(&str, &[u8])] = &[");
    for file in files {
        let Ok(relative) = file.strip_prefix(&strip) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        let absolute = file.canonicalize().unwrap_or(file.clone());
        let _ = writeln!(
            code,
            "    ({relative:?}, include_bytes!({:?})),",
            absolute.to_string_lossy()
        );
    }
    let _ = writeln!(code, "];");
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let child = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if child.is_dir() {
            collect(&child, files);
        } else {
            files.push(child);
        }
    }
}
