//! `estrade new DIR`: a new campaign from the example built into the binary.

use std::path::Path;

/// Writes the example campaign into `dir`, which must not exist or be
/// empty. Returns the number of files written.
pub fn create(dir: &Path) -> Result<usize, String> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "`{}` is not empty: choose a new folder so nothing of yours is overwritten",
                dir.display()
            ));
        }
    }
    let mut written = 0;
    for (path, bytes) in crate::theme::EXAMPLE_SITE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&target, bytes)
            .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
        written += 1;
    }
    let ignore = dir.join(".gitignore");
    std::fs::write(&ignore, "/public\n")
        .map_err(|e| format!("cannot write `{}`: {e}", ignore.display()))?;
    Ok(written + 1)
}
