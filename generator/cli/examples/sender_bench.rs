//! The sender's benchmark: the example campaign's broadcast
//! `lettre-ecologie` (interest `ecologie`, within 100 km of Valenciennes)
//! queued for `--recipients` supporters, in the embedded store or in a
//! DynamoDB table, then sent by the scheduled sender through a mailer
//! that builds each message exactly as the SES mailer does and, instead
//! of calling SES, counts it for its recipient.
//!
//! ```text
//! cargo run --release -p estrade --example sender_bench -- [--recipients 100000] [--table NAME]
//! ```
//!
//! Prints the time to resolve the audience and to queue it, the sender's
//! claims per second and time per email, the store operations per email,
//! and whether every recipient got exactly one message (it exits with 1
//! when not). `tests/bench/broadcast.sh` runs it on both stores, DynamoDB
//! being moto's on 127.0.0.1. The supporters are written first, a
//! quarter more than the recipients (some outside the radius, some with
//! other interests, so that resolving has work to do): through the store
//! on the embedded one, 25 to a request on DynamoDB.

use clap::Parser;
use estrade_aws::DynamoStore;
use estrade_domain::audience::AudienceFilter;
use estrade_domain::manifest::Manifest;
use estrade_domain::supporter::{EmailStatus, Supporter, SupporterUpdate};
use estrade_domain::token::Keys;
use estrade_functions::broadcast;
use estrade_functions::http::{Functions, Settings};
use estrade_functions::mailer::{Email, MailError, Mailer};
use estrade_functions::mime;
use estrade_functions::sender::{self, RunOptions, StopAt};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::{Store, StoreResult};
use estrade_functions::watched::Watched;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use futures_util::{StreamExt, stream};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BROADCAST: &str = "lettre-ecologie";

#[derive(Parser)]
struct Args {
    /// Supporters in the audience (and so emails sent).
    #[arg(long, default_value_t = 100_000)]
    recipients: usize,
    /// A DynamoDB table to create and use (the endpoint and credentials
    /// from the environment, as the AWS SDK reads them); without it, an
    /// embedded store in a temporary folder.
    #[arg(long)]
    table: Option<String>,
    /// Emails one run of the sender claims at most (the followups
    /// function claims 500).
    #[arg(long, default_value_t = 500)]
    per_run: usize,
    /// Store calls in flight while writing the supporters.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
}

/// Store calls by kind, since the counter was last read.
#[derive(Default)]
struct Calls(Mutex<BTreeMap<&'static str, u64>>);

impl Calls {
    fn count(&self, what: &'static str) {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry(what).or_default() += 1;
    }

    fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Builds each message as [`estrade_aws::SesMailer`] does, and counts it.
#[derive(Default)]
struct CountingMailer {
    received: Mutex<HashMap<String, u32>>,
    bytes: Mutex<u64>,
}

impl Mailer for CountingMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let message = mime::build(email, "bench.example", Timestamp::now())?;
        *self.bytes.lock().unwrap_or_else(|p| p.into_inner()) += message.len() as u64;
        let mut received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        let n = received.entry(email.to.clone()).or_default();
        *n += 1;
        Ok(format!("bench-{}-{n}", email.to))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sender_bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sender_bench: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<bool, String> {
    let settings = settings()?;
    let calls = Arc::new(Calls::default());
    let counted = Arc::clone(&calls);
    let before = move |what: &'static str| -> StoreResult<()> {
        counted.count(what);
        Ok(())
    };
    let total = args.recipients + args.recipients / 4;
    let now = Timestamp::now();
    let started = Instant::now();
    let store = match &args.table {
        Some(table) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            estrade_aws::create_table(&client, table)
                .await
                .map_err(|e| format!("cannot create the table {table}: {e}"))?;
            println!("store: DynamoDB table {table}");
            // Straight into the table, 25 to a request: moto copies its
            // whole table for every transaction, which the signup's
            // upsert is, so 100,000 of those would take hours there.
            let store = DynamoStore::new(client, table);
            let supporters: Vec<Supporter> = (0..total)
                .map(|i| Supporter::new(supporter(i, args.recipients), EmailStatus::Confirmed, now))
                .collect();
            store
                .put_supporters(&supporters)
                .await
                .map_err(|e| format!("writing the supporters: {e}"))?;
            Either::Dynamo(store)
        }
        None => {
            let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
            let file = dir.path().join("bench.sqlite");
            let store = SqliteStore::open(&file).map_err(|e| e.to_string())?;
            println!("store: embedded, {}", file.display());
            let written: Vec<StoreResult<()>> = stream::iter(0..total)
                .map(|i| {
                    let store = &store;
                    async move {
                        let update = supporter(i, args.recipients);
                        store
                            .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), now)
                            .await
                            .map(|_| ())
                    }
                })
                .buffer_unordered(args.in_flight.max(1))
                .collect()
                .await;
            if let Some(Err(e)) = written.into_iter().find(Result::is_err) {
                return Err(format!("writing the supporters: {e}"));
            }
            Either::Sqlite(store, dir)
        }
    };
    println!(
        "wrote {total} supporters in {:.1} s (setting up, not measured against a target)",
        started.elapsed().as_secs_f64()
    );
    match store {
        Either::Dynamo(store) => bench(args, Watched::new(store, before), settings, &calls).await,
        Either::Sqlite(store, _dir) => {
            bench(args, Watched::new(store, before), settings, &calls).await
        }
    }
}

/// The store the supporters were written to (and the embedded one's
/// folder, removed when dropped).
enum Either {
    Dynamo(DynamoStore),
    Sqlite(SqliteStore, tempfile::TempDir),
}

/// The example campaign at the repository's root, built in memory, sending
/// as fast as the sender can.
fn settings() -> Result<Settings, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let site = Site::load(&root, SiteOptions::default()).map_err(|r| r.to_string())?;
    let output = MemoryOutput::default();
    site.render(&output, None).map_err(|r| r.to_string())?;
    let bytes = output
        .get("_estrade/manifest.json")
        .ok_or("the build left no manifest")?;
    let mut manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("manifest: {e}"))?;
    manifest.config.email.max_per_second = u32::MAX;
    Ok(Settings {
        site_url: manifest.config.base_url.clone(),
        manifest,
        keys: random_keys()?,
    })
}

/// A fresh signing key for the unsubscribe links.
fn random_keys() -> Result<Keys, String> {
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut secret))
        .map_err(|e| format!("no random bytes for the key: {e}"))?;
    Keys::parse(&Keys::line("bench", &secret)).map_err(|e| e.to_string())
}

/// The supporter number `i`: the first `recipients` in the audience, then
/// every other one outside the radius (Marseille), the rest with other
/// interests.
fn supporter(i: usize, recipients: usize) -> SupporterUpdate {
    let (postcode, interest) = match i {
        i if i < recipients => ("59300", "ecologie"),
        i if i % 2 == 0 => ("13001", "ecologie"),
        _ => ("59300", "emploi"),
    };
    SupporterUpdate {
        email: format!("supporter{i}@bench.example"),
        first_name: Some("Camille".to_owned()),
        postcode: Some(postcode.to_owned()),
        country: Some("FR".to_owned()),
        interests: [interest.to_owned()].into(),
        ..SupporterUpdate::default()
    }
}

async fn bench<S: Store>(
    args: &Args,
    store: S,
    settings: Settings,
    calls: &Calls,
) -> Result<bool, String> {
    let filter = {
        let manifest = &settings.manifest;
        let email = manifest
            .emails
            .get(BROADCAST)
            .ok_or("the example campaign has no email lettre-ecologie")?;
        let audience = email
            .audience
            .as_ref()
            .ok_or("lettre-ecologie has no audience")?;
        AudienceFilter::compile(audience, &manifest.config, &manifest.events)
            .map_err(|problems| problems.join("; "))?
    };
    let events = settings.manifest.events.clone();
    let functions = Functions::new(store, CountingMailer::default(), settings);
    let store = &functions.store;

    calls.take();

    let started = Instant::now();
    let resolved = broadcast::resolve(store, &filter, &events, Timestamp::now())
        .await
        .map_err(|e| format!("resolving: {e}"))?;
    let resolve_time = started.elapsed();
    println!(
        "resolved the audience: {} recipients out of {} supporters in {} ms ({} store calls)",
        resolved.recipients.len(),
        resolved.supporters,
        resolve_time.as_millis(),
        calls.take().values().sum::<u64>()
    );

    let started = Instant::now();
    let queued = broadcast::enqueue(
        store,
        BROADCAST,
        &resolved.recipients,
        Timestamp::now(),
        Timestamp::now(),
    )
    .await
    .map_err(|e| format!("queueing: {e}"))?;
    println!(
        "queued {} emails ({} already queued) in {} ms ({} store calls)",
        queued.new,
        queued.already,
        started.elapsed().as_millis(),
        calls.take().values().sum::<u64>()
    );

    let options = RunOptions {
        limit: args.per_run,
        stop: StopAt::Never,
        sleep: Arc::new(|_: Duration| Box::pin(async {})),
    };
    let started = Instant::now();
    let mut runs = 0u64;
    let mut report = sender::SendReport::default();
    loop {
        let token = format!("bench-run-{runs}");
        let run = sender::send_due_with(&functions, &token, &options)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        runs += 1;
        report.claimed += run.claimed;
        report.sent += run.sent;
        report.skipped += run.skipped;
        report.failed += run.failed + run.retried + run.lost_claims + run.unknown;
        if run.claimed == 0 {
            break;
        }
    }
    let send_time = started.elapsed();
    let send_calls = calls.take();
    let seconds = send_time.as_secs_f64();
    println!(
        "sent {} emails in {runs} runs of the sender in {seconds:.2} s: {:.0} claims/s, \
         {:.3} ms per email (composing, building the MIME message, every store call)",
        report.sent,
        report.claimed as f64 / seconds,
        seconds * 1000.0 / report.sent.max(1) as f64,
    );
    let per_email = |n: u64| n as f64 / report.sent.max(1) as f64;
    let all: u64 = send_calls.values().sum();
    let detail: Vec<String> = send_calls
        .iter()
        .map(|(what, n)| format!("{what} {:.3}", per_email(*n)))
        .collect();
    println!(
        "store calls per email sent: {:.3} ({})",
        per_email(all),
        detail.join(", ")
    );
    let bytes = *functions
        .mailer
        .bytes
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    println!(
        "messages built: {} bytes on average",
        bytes / report.sent.max(1) as u64
    );

    let received = std::mem::take(
        &mut *functions
            .mailer
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let twice = received.values().filter(|n| **n > 1).count();
    // The audience is known by construction: the first `recipients`.
    let expected: HashSet<String> = (0..args.recipients)
        .map(|i| supporter(i, args.recipients).email)
        .collect();
    let listed: HashSet<&String> = resolved.recipients.iter().collect();
    let resolved_right = resolved.recipients.len() == expected.len()
        && listed.len() == expected.len()
        && listed.iter().all(|email| expected.contains(*email));
    if !resolved_right {
        println!(
            "the audience resolved is not the expected one: {} listed, {} distinct, {} expected",
            resolved.recipients.len(),
            listed.len(),
            expected.len()
        );
    }
    let missing = expected
        .iter()
        .filter(|email| !received.contains_key(*email))
        .count();
    let strangers = received
        .keys()
        .filter(|email| !expected.contains(*email))
        .count();
    let exact = twice == 0
        && missing == 0
        && strangers == 0
        && resolved_right
        && report.skipped == 0
        && report.failed == 0;
    println!(
        "exactly once: {} ({} recipients, {} got a message, {twice} got more than one, \
         {missing} got none, {strangers} not in the audience got one, {} skipped, \
         {} failed or retried)",
        if exact { "yes" } else { "NO" },
        expected.len(),
        received.len(),
        report.skipped,
        report.failed
    );
    Ok(exact)
}
