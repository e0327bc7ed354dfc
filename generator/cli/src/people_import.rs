//! `estrade people import FILE.csv`: a member list or a NationBuilder
//! people export into the campaign's store.
//!
//! The whole file is read and checked before anything is written: its
//! columns are mapped ([`Mapping`]), each row is checked whole (a bad row
//! is reported with its line and left out entirely), rows of the same
//! address are merged into one person, in the order of the file. Without
//! `--yes` the store is only read, and the report says what an import
//! would do. With it, people are written 1,000 at a time, in the order of
//! their first line; after each batch the progress is noted in
//! `.estrade/imports/`, so an import cut off is resumed by running the
//! same command again (it starts again where it stopped, with the same
//! date on its consent records).

use crate::broadcast::{StoreArgs, Where, dynamo, runtime};
use crate::donations::csv_field;
use estrade_domain::import::{Absorbed, ImportRun, Mapping, Outcome, Person, Prefer, Target};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// People written by one call of the store.
const BATCH: usize = 1_000;

/// Bad rows listed on the terminal (all of them go to `--report`).
const SHOWN: usize = 20;

/// What `estrade people import` is told.
pub struct ImportOptions<'a> {
    pub file: &'a Path,
    pub map: &'a [String],
    pub source: Option<&'a str>,
    pub opt_in: Option<bool>,
    pub prefer: Prefer,
    pub country: &'a str,
    pub yes: bool,
    pub report: Option<&'a Path>,
}

/// A row left out, and why.
struct BadRow {
    line: u64,
    email: String,
    problems: Vec<String>,
}

/// The file, read and checked.
struct Parsed {
    mapping: Mapping,
    rows: usize,
    people: Vec<Person>,
    bad: Vec<BadRow>,
    /// Whether the file was not UTF-8 and was read as Windows-1252.
    latin: bool,
    delimiter: u8,
}

pub fn import(store: &StoreArgs, options: &ImportOptions<'_>) -> Result<(), String> {
    let bytes = std::fs::read(options.file)
        .map_err(|e| format!("error: cannot read {}: {e}", options.file.display()))?;
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let parsed = parse(&bytes, options)?;
    // The settings are checked as every command does: a wrong --root
    // is caught before a store is made in it.
    store.config()?;
    let says_opt_in =
        parsed.mapping.has(&Target::EmailOptIn) || parsed.mapping.has(&Target::EmailStatus);
    let default_opt_in = match (options.opt_in, says_opt_in) {
        (Some(yes), _) => yes,
        (None, true) => false,
        (None, false) => {
            return Err(
                "error: the file has no column saying whether each person agreed to campaign \
                 email: say --opt-in yes (they all did, and the campaign can show it) or \
                 --opt-in no (they are kept, never emailed)"
                    .to_owned(),
            );
        }
    };
    let source = options.source.map(str::to_owned).unwrap_or_else(|| {
        options
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "import".to_owned())
    });
    let place = store.place();
    // What decides who the file's people are and how they merge: a
    // cut-off import goes on only under the same.
    let targets: Vec<String> = parsed.mapping.targets.iter().map(Target::name).collect();
    let settings = format!(
        "targets={};country={};opt_in={default_opt_in};prefer={:?};source={source}",
        targets.join(","),
        options.country,
        options.prefer
    );
    let settings: String = Sha256::digest(settings.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let progress = Progress::new(&store.root, &sha256, &place, settings);
    let resumed = if options.yes {
        match progress.read()? {
            Resume::Nothing => None,
            Resume::From(at, done) => Some((at, done)),
            Resume::OtherSettings => {
                println!(
                    "an import of this file was cut off under other options (mapping, \
                     --country, --opt-in, --prefer or --source): starting from its first \
                     person (those written then are found and merged again)"
                );
                None
            }
        }
    } else {
        None
    };
    let run = ImportRun {
        source,
        file_sha256: sha256,
        build: format!("estrade {}", env!("CARGO_PKG_VERSION")),
        prefer: options.prefer,
        default_opt_in,
        at: resumed.map_or_else(Timestamp::now, |(at, _)| at),
    };
    let skip = resumed.map_or(0, |(_, done)| done);
    print!("{}", describe_file(options.file, &parsed));
    if let Some((at, done)) = resumed {
        println!(
            "resuming the import begun {at}: {done} of {} people were written then",
            parsed.people.len()
        );
    }
    let runtime = runtime()?;
    let tally = match place {
        Where::Local(file) => {
            let store = open_local(&file)?;
            runtime.block_on(absorb_all(
                &store,
                &parsed.people,
                &run,
                options.yes,
                skip,
                &progress,
            ))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            absorb_all(&store, &parsed.people, &run, options.yes, skip, &progress).await
        }),
    }?;
    print!("{}", describe_outcome(&tally, options, skip));
    if let Some(path) = options.report {
        let text = report_csv(&parsed.bad, &tally);
        std::fs::write(path, text)
            .map_err(|e| format!("error: cannot write {}: {e}", path.display()))?;
        println!(
            "report of every row left out or in conflict: {}",
            path.display()
        );
    }
    if !options.yes {
        return Err("error: nothing imported: run again with --yes to import".to_owned());
    }
    progress.finish()
}

/// The store of `estrade serve`, made when the campaign has none yet.
fn open_local(file: &Path) -> Result<SqliteStore, String> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("error: cannot create {}: {e}", dir.display()))?;
    }
    SqliteStore::open(file).map_err(|e| format!("error: {e}"))
}

/// Text of the file: UTF-8 (a byte-order mark dropped), else read as
/// Windows-1252, which is what a spreadsheet saves as "CSV" in Western
/// Europe.
fn decode(bytes: &[u8]) -> (String, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), true)
        }
    }
}

/// The separator of the header line: comma, semicolon (a French
/// spreadsheet's) or tab, whichever it holds most of outside quotes.
fn delimiter(text: &str) -> u8 {
    // The first line that holds something (lines may end in CR alone, as
    // old spreadsheets on the Mac wrote them).
    let header = text
        .split(['\r', '\n'])
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (candidate, count) in &mut counts {
                if *candidate == byte {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(_, count)| *count)
        .filter(|(_, count)| *count > 0)
        .map_or(b',', |(candidate, _)| *candidate)
}

fn overrides(map: &[String]) -> Result<Vec<(String, Target)>, String> {
    map.iter()
        .map(|pair| {
            let (header, field) = pair.rsplit_once('=').ok_or_else(|| {
                format!("error: --map '{pair}' is not HEADER=FIELD (as --map 'Courriel=email')")
            })?;
            let target = Target::parse(field.trim()).map_err(|why| format!("error: {why}"))?;
            Ok((header.trim().to_owned(), target))
        })
        .collect()
}

fn parse(bytes: &[u8], options: &ImportOptions<'_>) -> Result<Parsed, String> {
    let (text, latin) = decode(bytes);
    let delimiter = delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            format!(
                "error: {}: the header line cannot be read: {e}",
                options.file.display()
            )
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(format!(
            "error: {}: the file is empty or its first line names no column",
            options.file.display()
        ));
    }
    let mapping = Mapping::from_headers(&headers, &overrides(options.map)?)
        .map_err(|why| format!("error: {}: {why}", options.file.display()))?;
    let email_column = mapping.targets.iter().position(|t| *t == Target::Email);
    let mut people: Vec<Person> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut bad = Vec::new();
    let mut rows = 0;
    let mut lines = LineCounter::new(&text);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format!(
                "error: {}: line {line} cannot be read as CSV ({}); nothing was imported",
                options.file.display(),
                e.kind_text()
            )
        })?;
        let line = lines.at(record.position().map_or(0, |p| p.byte()));
        // A line with nothing in it (a spreadsheet's trailing rows).
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let cells: Vec<&str> = record.iter().collect();
        match mapping.person(&cells, line, options.country) {
            Ok(person) => match index.get(&person.email) {
                Some(&at) => {
                    if let Some(earlier) = people.get_mut(at) {
                        earlier.merge_later(person);
                    }
                }
                None => {
                    index.insert(person.email.clone(), people.len());
                    people.push(person);
                }
            },
            Err(mut problems) => {
                // A quote left open swallows the lines after it into one
                // cell: say so, or the row count puzzles.
                let spanned: usize = cells
                    .iter()
                    .map(|cell| cell.trim_end().matches('\n').count())
                    .sum();
                if spanned > 0 && cells.len() != mapping.targets.len() {
                    problems.push(format!(
                        "a quoted cell runs on to line {}: is a quote (\") left open on \
                         line {line}?",
                        line + spanned as u64
                    ));
                }
                bad.push(BadRow {
                    line,
                    email: email_column
                        .and_then(|c| cells.get(c))
                        .map(|cell| cell.trim().chars().take(100).collect())
                        .unwrap_or_default(),
                    problems,
                });
            }
        }
    }
    // Rows of one address may together hold more than a supporter may.
    let (people, too_big): (Vec<Person>, Vec<Person>) =
        people.into_iter().partition(|p| p.too_big().is_none());
    for person in too_big {
        let why = person.too_big().unwrap_or_default();
        let lines: Vec<String> = person.lines.iter().map(u64::to_string).collect();
        bad.push(BadRow {
            line: person.lines.first().copied().unwrap_or_default(),
            email: person.email,
            problems: vec![format!(
                "the rows of this address (lines {}) hold together {why}",
                lines.join(" ")
            )],
        });
    }
    bad.sort_by_key(|row| row.line);
    Ok(Parsed {
        mapping,
        rows,
        people,
        bad,
        latin,
        delimiter,
    })
}

/// The line a record starts on, from its byte offset: the reader's own
/// count sits on the line before when lines end in CRLF. Offsets come in
/// increasing order, so the text is scanned once.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> LineCounter<'a> {
        LineCounter {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        // The end of the previous line, when the offset points at it.
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.offset {
            // A line ends in LF, CRLF or CR alone.
            let ends = (self.offset..start)
                .filter(|&i| match self.text.get(i) {
                    Some(b'\n') => true,
                    Some(b'\r') => self.text.get(i + 1) != Some(&b'\n'),
                    _ => false,
                })
                .count();
            self.line += ends as u64;
            self.offset = start;
        }
        self.line
    }
}

/// The message of a CSV error, without the position (told apart).
trait KindText {
    fn kind_text(&self) -> String;
}

impl KindText for csv::Error {
    fn kind_text(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_owned(),
            csv::ErrorKind::Io(e) => e.to_string(),
            _ => "malformed".to_owned(),
        }
    }
}

/// What the import did to one person (the merged record itself is not
/// kept: a large file would hold every supporter in memory twice).
struct Done {
    lines: Vec<u64>,
    email: String,
    outcome: Outcome,
    conflicts: Vec<&'static str>,
    kept_out: bool,
}

/// What the import did, person by person, in file order.
struct Tally {
    done: Vec<Done>,
}

async fn absorb_all<S: Store>(
    store: &S,
    people: &[Person],
    run: &ImportRun,
    write: bool,
    skip: usize,
    progress: &Progress,
) -> Result<Tally, String> {
    let mut done = Vec::with_capacity(people.len());
    let mut written = skip;
    let left = people.get(skip..).unwrap_or_default();
    for batch in left.chunks(BATCH) {
        let absorbed = store
            .import_people(batch.to_vec(), run.clone(), write)
            .await
            .map_err(|e| {
                format!(
                    "error: {e}\n{written} of {} people were written; run the same command \
                     again to go on from there",
                    people.len()
                )
            })?;
        written += batch.len();
        if write {
            progress.note(run.at, written)?;
            if written % 10_000 < BATCH && written < people.len() {
                eprintln!("  {written} of {} people written", people.len());
            }
        }
        for (person, absorbed) in batch.iter().zip(absorbed) {
            let Absorbed {
                outcome,
                conflicts,
                kept_out,
                ..
            } = absorbed;
            done.push(Done {
                lines: person.lines.clone(),
                email: person.email.clone(),
                outcome,
                conflicts,
                kept_out,
            });
        }
    }
    Ok(Tally { done })
}

fn describe_file(file: &Path, parsed: &Parsed) -> String {
    let mut out = String::new();
    let rows_merged = parsed.rows - parsed.bad.len() - parsed.people.len();
    let _ = writeln!(
        out,
        "{}: {} row(s){}{}, {} people{}",
        file.display(),
        parsed.rows,
        if parsed.latin {
            ", read as Windows-1252 (it is not UTF-8)"
        } else {
            ""
        },
        match parsed.delimiter {
            b';' => ", separated by semicolons",
            b'\t' => ", separated by tabs",
            _ => "",
        },
        parsed.people.len(),
        if rows_merged > 0 {
            format!(" ({rows_merged} row(s) merged into an earlier row of the same address)")
        } else {
            String::new()
        }
    );
    out.push_str("columns:\n");
    for (header, target) in parsed.mapping.headers.iter().zip(&parsed.mapping.targets) {
        if *target != Target::Ignore {
            let _ = writeln!(out, "  {header} -> {target}");
        }
    }
    if !parsed.mapping.unknown.is_empty() {
        let _ = writeln!(
            out,
            "  not imported (unknown; --map 'HEADER=FIELD' to take one): {}",
            parsed.mapping.unknown.join(", ")
        );
    }
    if !parsed.bad.is_empty() {
        let _ = writeln!(out, "bad rows, left out whole ({}):", parsed.bad.len());
        for row in parsed.bad.iter().take(SHOWN) {
            let _ = writeln!(out, "  line {}: {}", row.line, row.problems.join("; "));
        }
        if parsed.bad.len() > SHOWN {
            let _ = writeln!(out, "  ... (every one with --report FILE)");
        }
    }
    out
}

fn describe_outcome(tally: &Tally, options: &ImportOptions<'_>, skip: usize) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conflicts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept_out = 0;
    for absorbed in &tally.done {
        let name = match absorbed.outcome {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Forgotten(_) => "forgotten",
        };
        *counts.entry(name).or_default() += 1;
        for field in &absorbed.conflicts {
            *conflicts.entry(field).or_default() += 1;
        }
        kept_out += usize::from(absorbed.kept_out);
    }
    let count = |name: &str| counts.get(name).copied().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} new, {} updated, {} unchanged{}",
        if options.yes {
            "imported"
        } else {
            "dry run, an import would give"
        },
        count("created"),
        count("updated"),
        count("unchanged"),
        if skip > 0 {
            format!(" (and {skip} written before the resumption)")
        } else {
            String::new()
        }
    );
    if count("forgotten") > 0 {
        let _ = writeln!(
            out,
            "refused: {} erased address(es) (on the suppression list), never brought back",
            count("forgotten")
        );
    }
    if !conflicts.is_empty() {
        let fields: Vec<String> = conflicts
            .iter()
            .map(|(field, n)| format!("{field} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "conflicts, where the file and the campaign hold different values ({}): {}",
            match options.prefer {
                Prefer::Store =>
                    "the campaign's kept, the file's phone numbers kept beside; \
                                  --prefer file to take the file's",
                Prefer::File => "the file's taken, the campaign's phone numbers kept beside",
            },
            fields.join(", ")
        );
    }
    if kept_out > 0 {
        let _ = writeln!(
            out,
            "kept out of email: {kept_out} person(s) the file opts in, whom the campaign holds \
             as unsubscribed, bounced or complaining"
        );
    }
    out
}

/// Every row left out, refused or in conflict, for `--report`.
fn report_csv(bad: &[BadRow], tally: &Tally) -> String {
    let mut rows: Vec<(u64, String, &str, String)> = bad
        .iter()
        .map(|row| {
            (
                row.line,
                row.email.clone(),
                "bad row",
                row.problems.join("; "),
            )
        })
        .collect();
    for Done {
        lines,
        email,
        outcome,
        conflicts,
        kept_out,
    } in &tally.done
    {
        let line = lines.first().copied().unwrap_or(0);
        let lines_text = || {
            lines
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        if let Outcome::Forgotten(at) = outcome {
            rows.push((line, email.clone(), "refused", format!("erased on {at}")));
            continue;
        }
        if !conflicts.is_empty() {
            rows.push((
                line,
                email.clone(),
                "conflict",
                format!("{} (lines {})", conflicts.join(" "), lines_text()),
            ));
        }
        if *kept_out {
            rows.push((
                line,
                email.clone(),
                "kept out",
                "opted in by the file, unsubscribed, bounced or complaining here".to_owned(),
            ));
        }
    }
    rows.sort_by_key(|row| row.0);
    let mut out = "line,email,outcome,detail\r\n".to_owned();
    for (line, email, outcome, detail) in rows {
        let _ = write!(
            out,
            "{line},{},{outcome},{}\r\n",
            csv_field(&email),
            csv_field(&detail)
        );
    }
    out
}

/// Where an import notes how far it got: `.estrade/imports/<file's
/// SHA-256>-<store>.json`, with the start of the import and how many
/// people were written. Removed once the import is over.
struct Progress {
    path: PathBuf,
    /// A digest of the run's settings.
    settings: String,
}

/// What a progress note says.
enum Resume {
    Nothing,
    /// Begun at, people written.
    From(Timestamp, usize),
    /// Cut off under other settings: its count means other people.
    OtherSettings,
}

impl Progress {
    fn new(root: &Path, sha256: &str, place: &Where, settings: String) -> Progress {
        let store = match place {
            Where::Local(_) => "embedded".to_owned(),
            Where::Dynamo(table) => format!(
                "table-{}",
                table
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            ),
        };
        Progress {
            path: root
                .join(".estrade")
                .join("imports")
                .join(format!("{sha256}-{store}.json")),
            settings,
        }
    }

    /// When an unfinished import of the same file began, and how many
    /// people it wrote.
    fn read(&self) -> Result<Resume, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Resume::Nothing),
            Err(e) => return Err(format!("error: cannot read {}: {e}", self.path.display())),
        };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let at = value["started_at"].as_str().and_then(|t| t.parse().ok());
        let done = value["people_written"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok());
        // A note without settings predates them: taken as the same.
        if value["settings"]
            .as_str()
            .is_some_and(|settings| settings != self.settings)
        {
            return Ok(Resume::OtherSettings);
        }
        match (at, done) {
            (Some(at), Some(done)) => Ok(Resume::From(at, done)),
            _ => Err(format!(
                "error: {} is damaged: remove it to import the file from its start",
                self.path.display()
            )),
        }
    }

    fn note(&self, at: Timestamp, written: usize) -> Result<(), String> {
        let failed = |e: std::io::Error| {
            format!(
                "error: cannot note the import's progress in {}: {e}",
                self.path.display()
            )
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let text = json!({
            "started_at": at,
            "people_written": written,
            "settings": self.settings,
        })
        .to_string();
        // Written aside, then renamed: a crash leaves the old note or the new.
        let temporary = self.path.with_extension("json.new");
        std::fs::write(&temporary, text).map_err(failed)?;
        std::fs::rename(&temporary, &self.path).map_err(failed)
    }

    fn finish(&self) -> Result<(), String> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("error: cannot remove {}: {e}", self.path.display())),
        }
    }
}
