//! The local mailer: each message becomes one `.eml` file in a folder,
//! which `estrade serve` shows as its outbox and tests read back.
//!
//! File names sort by time, `20270301T100000.123Z-1a2b3c4d.eml` (UTC,
//! milliseconds, then the start of the Message-ID), so the newest message
//! is the last name. A message is written under a hidden temporary name
//! and renamed, so a reader never sees half a message.
//!
//! The outbox is a preview, not a delivery: files are not flushed to disk
//! one by one (an `fsync` each would cap `estrade serve` at a few hundred
//! signups a second). A process that stops loses nothing; a machine that
//! loses power may lose the last messages, never the supporters, who are
//! in the store.

use crate::mailer::{Email, MailError, Mailer};
use crate::mime;
use jiff::Timestamp;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Headers are at the top; this much of a file holds them.
const HEADER_BYTES: u64 = 64 * 1024;

/// Writes every message it is given to `dir` (created when missing).
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    pub dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>) -> OutboxMailer {
        OutboxMailer { dir: dir.into() }
    }
}

impl Mailer for OutboxMailer {
    /// Sent at the wall-clock time: the outbox records when things
    /// happened, it decides nothing from it.
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let now = Timestamp::now();
        let domain = email.from_address.rsplit_once('@').map_or("", |(_, d)| d);
        // A sender without a usable domain is refused by `build_with_id`,
        // with a clearer message than the Message-ID's.
        let id = mime::message_id(domain, now).or_else(|_| mime::message_id("localhost", now))?;
        let bytes = mime::build_with_id(email, &id, now)?;
        let name = file_name(now, &id);
        let dir = self.dir.clone();
        let written = tokio::task::spawn_blocking(move || write_new(&dir, &name, &bytes)).await;
        let unwritable = |why: String| {
            MailError::Transient(format!(
                "cannot write to the outbox {}: {why}",
                self.dir.display()
            ))
        };
        match written {
            Ok(Ok(())) => Ok(id),
            Ok(Err(error)) => Err(unwritable(error.to_string())),
            Err(_) => Err(unwritable("the writing task stopped".to_owned())),
        }
    }
}

/// `20270301T100000.123Z-1a2b3c4d.eml` for a message sent at `at`.
fn file_name(at: Timestamp, message_id: &str) -> String {
    let short: String = message_id
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("{}-{short}.eml", at.strftime("%Y%m%dT%H%M%S%.3fZ"))
}

/// Writes `bytes` as `dir/name` all at once: a reader sees the whole
/// message or none of it.
fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(target_os = "linux")]
    if let Some(written) = linux::write_unnamed_then_link(dir, name, bytes) {
        return written;
    }
    write_hidden_then_rename(dir, name, bytes)
}

/// To a hidden temporary file first, then renamed: two changes to the
/// folder for one message.
fn write_hidden_then_rename(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&temporary)?;
    let written = file.write_all(bytes);
    drop(file);
    match written.and_then(|()| fs::rename(&temporary, dir.join(name))) {
        Ok(()) => Ok(()),
        Err(error) => {
            // Best effort: the error that matters is the first one.
            let _ = fs::remove_file(&temporary);
            Err(error)
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::fs::{AtFlags, CWD, Mode, OFlags, linkat, openat};
    use std::fs::File;
    use std::io::{self, Write};
    use std::os::fd::AsRawFd;
    use std::path::Path;

    /// Writes the message into a file with no name (`O_TMPFILE`), then
    /// gives it its name: one change to the folder, half the work of a
    /// rename when thousands of messages a second arrive. `None` when the
    /// file system cannot make unnamed files, for the portable way.
    pub(super) fn write_unnamed_then_link(
        dir: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Option<io::Result<()>> {
        let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
        let unnamed = openat(CWD, dir, flags, Mode::from_raw_mode(0o644)).ok()?;
        let mut file = File::from(unnamed);
        if let Err(error) = file.write_all(bytes) {
            // The unnamed file goes away with its descriptor.
            return Some(Err(error));
        }
        let handle = format!("/proc/self/fd/{}", file.as_raw_fd());
        match linkat(
            CWD,
            handle.as_str(),
            CWD,
            dir.join(name),
            AtFlags::SYMLINK_FOLLOW,
        ) {
            Ok(()) => Some(Ok(())),
            // No /proc to name it through: written again the portable way.
            Err(rustix::io::Errno::NOENT) => None,
            Err(errno) => Some(Err(io::Error::from(errno))),
        }
    }
}

/// One message of the outbox, as the viewer lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The file in the outbox folder, for [`read`].
    pub file_name: String,
    /// The `Date` header as written (`Mon, 1 Mar 2027 10:00:00 +0000`).
    pub date: String,
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, when the message gives one.
    pub to_name: Option<String>,
    /// The subject, decoded.
    pub subject: String,
}

/// The messages in `dir`, newest first. A missing folder is an empty
/// outbox.
pub fn list(dir: impl AsRef<Path>) -> io::Result<Vec<OutboxEntry>> {
    let dir = dir.as_ref();
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut names = Vec::new();
    for item in listing {
        let item = item?;
        if let Some(name) = item.file_name().to_str()
            && is_message_name(name)
            && item.file_type()?.is_file()
        {
            names.push(name.to_owned());
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut entries = Vec::with_capacity(names.len());
    for file_name in names {
        let mut head = Vec::new();
        match fs::File::open(dir.join(&file_name)) {
            Ok(file) => file.take(HEADER_BYTES).read_to_end(&mut head)?,
            // Deleted since the listing: not in the outbox any more.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        entries.push(entry(file_name, &head));
    }
    Ok(entries)
}

fn entry(file_name: String, head: &[u8]) -> OutboxEntry {
    let header = |name: &str| mime::header_value(head, name).unwrap_or_default();
    let (to, to_name) = split_mailbox(&header("To"));
    OutboxEntry {
        file_name,
        date: header("Date"),
        to,
        to_name,
        subject: header("Subject"),
    }
}

/// `"Ana" <ana@example.fr>` as the address and the unquoted name.
fn split_mailbox(value: &str) -> (String, Option<String>) {
    let Some((name, rest)) = value.rsplit_once('<') else {
        return (value.trim().to_owned(), None);
    };
    let address = rest.split('>').next().unwrap_or_default().trim().to_owned();
    let name = name.trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map_or_else(
            || name.to_owned(),
            |n| n.replace("\\\"", "\"").replace("\\\\", "\\"),
        );
    (address, (!name.is_empty()).then_some(name))
}

/// A message file written by [`OutboxMailer`], and a name that cannot
/// leave the folder: no separator, no `..`, not hidden.
fn is_message_name(name: &str) -> bool {
    name.ends_with(".eml")
        && !name.starts_with('.')
        && !name.contains("..")
        && !name.contains(['/', '\\', '\0'])
}

/// The bytes of the message `file_name` in `dir`, `None` when there is no
/// such message. A name with a path separator or `..` is refused: it is
/// never looked up and reads as absent, so the viewer answers 404.
pub fn read(dir: impl AsRef<Path>, file_name: &str) -> io::Result<Option<Vec<u8>>> {
    if !is_message_name(file_name) {
        return Ok(None);
    }
    match fs::read(dir.as_ref().join(file_name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}
