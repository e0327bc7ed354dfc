//! Where a build goes: a folder on disk, or memory for `serve` and `check`.

use crate::theme::Source;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Receives the published files. Paths are relative, `/`-separated
/// (`actualites/index.html`).
pub trait Output: Sync {
    fn write(&self, path: &str, bytes: Vec<u8>) -> io::Result<()>;

    fn copy(&self, path: &str, source: &Source) -> io::Result<()> {
        self.write(path, source.read()?.into_owned())
    }
}

/// Writes into a folder.
pub struct DiskOutput {
    pub dir: PathBuf,
}

/// Name of the file that marks a folder as written by `estrade build`, so
/// a later build may empty it without risk of deleting anything else.
pub const MARKER: &str = ".estrade-build";

impl DiskOutput {
    /// Prepares `dir` for a fresh build: creates it, or empties it when a
    /// previous build wrote it. Refuses a non-empty folder it did not write.
    pub fn prepare(dir: &Path) -> Result<DiskOutput, String> {
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir)
                .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
            let empty = entries.next().is_none();
            if !empty {
                if !dir.join(MARKER).is_file() {
                    return Err(format!(
                        "`{}` already holds files that estrade did not write; \
                         remove it or choose another folder with --out",
                        dir.display()
                    ));
                }
                std::fs::remove_dir_all(dir)
                    .map_err(|e| format!("cannot empty `{}`: {e}", dir.display()))?;
            }
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        std::fs::write(
            dir.join(MARKER),
            "written by estrade build; emptied by the next one\n",
        )
        .map_err(|e| format!("cannot write in `{}`: {e}", dir.display()))?;
        Ok(DiskOutput {
            dir: dir.to_path_buf(),
        })
    }

    fn target(&self, path: &str) -> io::Result<PathBuf> {
        let target = self.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(target)
    }
}

impl Output for DiskOutput {
    fn write(&self, path: &str, bytes: Vec<u8>) -> io::Result<()> {
        std::fs::write(self.target(path)?, bytes)
    }

    fn copy(&self, path: &str, source: &Source) -> io::Result<()> {
        match source {
            Source::Disk(from) => std::fs::copy(from, self.target(path)?).map(|_| ()),
            Source::Embedded(bytes) => std::fs::write(self.target(path)?, bytes),
        }
    }
}

/// Keeps every file in memory; `serve` answers requests from it.
#[derive(Default, Clone)]
pub struct MemoryOutput {
    pub files: Arc<RwLock<HashMap<String, Arc<Vec<u8>>>>>,
}

impl MemoryOutput {
    pub fn get(&self, path: &str) -> Option<Arc<Vec<u8>>> {
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        files.get(path).cloned()
    }

    pub fn len(&self) -> usize {
        self.files.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Output for MemoryOutput {
    fn write(&self, path: &str, bytes: Vec<u8>) -> io::Result<()> {
        let mut files = self.files.write().unwrap_or_else(|p| p.into_inner());
        files.insert(path.to_owned(), Arc::new(bytes));
        Ok(())
    }
}

/// Discards everything: `check` renders to it.
pub struct NullOutput;

impl Output for NullOutput {
    fn write(&self, _: &str, _: Vec<u8>) -> io::Result<()> {
        Ok(())
    }

    fn copy(&self, _: &str, _: &Source) -> io::Result<()> {
        Ok(())
    }
}
