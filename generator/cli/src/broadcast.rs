//! `estrade audience` and `estrade send`: who a broadcast email goes to,
//! and queueing it for them. The site is built in memory (as `estrade
//! check` does) for the email and its audience; supporters are read from
//! the embedded store of `estrade serve`, or from DynamoDB with `--table`.

use crate::functions::{DataDir, manifest_of};
use clap::Args;
use estrade_aws::DynamoStore;
use estrade_domain::audience::AudienceFilter;
use estrade_domain::manifest::{EmailTemplate, Manifest};
use estrade_domain::supporter::EmailStatus;
use estrade_functions::broadcast::{self, Resolved};
use estrade_functions::http::Settings;
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use estrade_site::output::MemoryOutput;
use estrade_site::{Site, SiteOptions};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct AudienceArgs {
    /// The email: `content/emails/<name>.md`, or its name.
    pub email: String,
    /// The campaign's folder, holding campaign.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// List the addresses of the first N recipients (20 when N is left out).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20")]
    pub list: Option<usize>,
    /// Read supporters from this DynamoDB table (default: `ESTRADE_TABLE`
    /// when set, else the store of `estrade serve` in ROOT/.estrade).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
}

#[derive(Args)]
pub struct SendArgs {
    /// The email: `content/emails/<name>.md`, or its name.
    pub email: String,
    /// The campaign's folder, holding campaign.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Queue nothing: count the audience and show the email filled for
    /// its first recipient.
    #[arg(long)]
    pub dry_run: bool,
    /// Send now, even a draft (no `send_at`), whatever `send_at` says.
    #[arg(long)]
    pub now: bool,
    /// Queue in this DynamoDB table (default: `ESTRADE_TABLE` when set,
    /// else the store of `estrade serve` in ROOT/.estrade).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
}

/// An email of the build that has an audience.
struct Broadcast {
    name: String,
    email: EmailTemplate,
    filter: AudienceFilter,
    manifest: Manifest,
}

/// Where the supporters are.
pub enum Where {
    Local(PathBuf),
    Dynamo(String),
}

pub fn audience(args: &AudienceArgs) -> Result<(), String> {
    let cast = load(&args.root, &args.email)?;
    let list = args.list;
    match place(&args.root, args.table.as_deref()) {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime()?.block_on(count(&store, &cast, list))
        }
        Where::Dynamo(table) => runtime()?.block_on(async {
            let store = dynamo(&table).await?;
            count(&store, &cast, list).await
        }),
    }
}

pub fn send(args: &SendArgs) -> Result<(), String> {
    let cast = load(&args.root, &args.email)?;
    let now = Timestamp::now();
    let due = match (args.now, cast.email.send_at) {
        (true, _) => now,
        (false, Some(at)) => at,
        (false, None) if args.dry_run => now,
        (false, None) => {
            return Err(format!(
                "error: `{}` is a draft: it has no `send_at`. Add one to its front matter \
                 (`send_at: 2027-03-14 18:00`), or send it now with --now",
                cast.name
            ));
        }
    };
    let keys_dir = DataDir::new(&args.root);
    let plan = Plan {
        cast: &cast,
        due,
        now,
        dry_run: args.dry_run,
        keys: &keys_dir,
    };
    match place(&args.root, args.table.as_deref()) {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime()?.block_on(queue(&store, &plan))
        }
        Where::Dynamo(table) => runtime()?.block_on(async {
            let store = dynamo(&table).await?;
            queue(&store, &plan).await
        }),
    }
}

/// The email named `written` from a build of the site at `root`, with its
/// audience compiled.
fn load(root: &Path, written: &str) -> Result<Broadcast, String> {
    let name = email_name(written);
    let site = Site::load(root, SiteOptions::default()).map_err(|r| r.to_string())?;
    let output = MemoryOutput::default();
    site.render(&output, None).map_err(|r| r.to_string())?;
    let manifest = manifest_of(&output)
        .ok_or_else(|| "error: the build left no manifest of its emails".to_owned())?;
    let Some(email) = manifest.emails.get(&name).cloned() else {
        let campaign: Vec<&str> = manifest
            .emails
            .iter()
            .filter(|(_, e)| e.audience.is_some())
            .map(|(n, _)| n.as_str())
            .collect();
        return Err(format!(
            "error: there is no email `{name}` in content/emails/; the ones with an audience: {}",
            if campaign.is_empty() {
                "none".to_owned()
            } else {
                campaign.join(", ")
            }
        ));
    };
    let Some(audience) = &email.audience else {
        return Err(format!(
            "error: content/emails/{name}.md has no `audience:` in its front matter, so it \
             is not a broadcast (see themes/README.md, \"Audiences\")"
        ));
    };
    let filter = AudienceFilter::compile(audience, &manifest.config, &manifest.events)
        .map_err(|problems| format!("error: content/emails/{name}.md: {}", problems.join("; ")))?;
    Ok(Broadcast {
        name,
        email,
        filter,
        manifest,
    })
}

/// `content/emails/lettre.md` and `lettre` both name `lettre`.
fn email_name(written: &str) -> String {
    let file = written.rsplit(['/', '\\']).next().unwrap_or(written);
    file.strip_suffix(".md").unwrap_or(file).to_owned()
}

/// Where a command finds the campaign and its store: the arguments every
/// command on a campaign's data shares.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// The campaign's folder (its `campaign.yaml`, and the store of
    /// `estrade serve` in `.estrade/`).
    #[arg(long, default_value = ".", global = true)]
    pub root: PathBuf,
    /// The DynamoDB table of the campaign on AWS (default: `ESTRADE_TABLE`
    /// when set, else the store of `estrade serve`).
    #[arg(long, value_name = "NAME", global = true)]
    pub table: Option<String>,
}

impl StoreArgs {
    pub fn place(&self) -> Where {
        place(&self.root, self.table.as_deref())
    }

    /// The campaign's settings, every problem told.
    pub fn config(&self) -> Result<estrade_domain::CampaignConfig, String> {
        estrade_site::config::load(&self.root).map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}

pub fn place(root: &Path, table: Option<&str>) -> Where {
    let table = table
        .map(str::to_owned)
        .or_else(|| std::env::var("ESTRADE_TABLE").ok())
        .filter(|t| !t.is_empty());
    match table {
        Some(table) => Where::Dynamo(table),
        None => Where::Local(DataDir::new(root).dir.join("serve.sqlite")),
    }
}

pub fn local_store(file: &Path) -> Result<SqliteStore, String> {
    if !file.is_file() {
        return Err(format!(
            "error: {} does not exist: run `estrade serve` in this campaign first (it keeps \
             its supporters and queue there), or give --table NAME for a DynamoDB table",
            file.display()
        ));
    }
    SqliteStore::open(file).map_err(|e| format!("error: {e}"))
}

pub async fn dynamo(table: &str) -> Result<DynamoStore, String> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    ))
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))
}

/// Resolves the audience and prints what `estrade audience` shows.
async fn count<S: Store>(store: &S, cast: &Broadcast, list: Option<usize>) -> Result<(), String> {
    let resolved = resolve(store, cast).await?;
    if let Some(n) = list {
        for email in resolved.recipients.iter().take(n) {
            println!("{email}");
        }
    }
    Ok(())
}

async fn resolve<S: Store>(store: &S, cast: &Broadcast) -> Result<Resolved, String> {
    let started = Instant::now();
    let resolved = broadcast::resolve(store, &cast.filter, &cast.manifest.events, Timestamp::now())
        .await
        .map_err(|e| format!("error: {e}"))?;
    let audience = cast.email.audience.clone().unwrap_or_default();
    println!("{}: {}", cast.name, audience.summary());
    println!(
        "{} recipient(s) out of {} supporter(s), resolved in {} ms",
        resolved.recipients.len(),
        resolved.supporters,
        started.elapsed().as_millis()
    );
    let mut left_out = vec![format!("{} outside the audience", resolved.outside)];
    for (status, n) in &resolved.excluded_by_status {
        left_out.push(format!("{n} {}", status.as_str()));
    }
    println!("left out: {}", left_out.join(", "));
    if cast.filter.admits_status(EmailStatus::Pending) {
        println!(
            "note: the sender sends marketing email to confirmed addresses only, so the \
             pending ones counted here will be skipped when their time comes"
        );
    }
    Ok(resolved)
}

/// What `estrade send` is asked to do.
struct Plan<'a> {
    cast: &'a Broadcast,
    due: Timestamp,
    now: Timestamp,
    dry_run: bool,
    keys: &'a DataDir,
}

async fn queue<S: Store>(store: &S, plan: &Plan<'_>) -> Result<(), String> {
    let cast = plan.cast;
    let resolved = resolve(store, cast).await?;
    if plan.dry_run {
        return show_sample(store, plan, &resolved).await;
    }
    let started = Instant::now();
    let queued = broadcast::enqueue(store, &cast.name, &resolved.recipients, plan.due, plan.now)
        .await
        .map_err(|e| format!("error: {e}"))?;
    println!(
        "Queued {} new email(s), due {}; {} were queued already ({} ms)",
        queued.new,
        plan.due,
        queued.already,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Prints the email filled for the first recipient, as the sender would.
async fn show_sample<S: Store>(
    store: &S,
    plan: &Plan<'_>,
    resolved: &Resolved,
) -> Result<(), String> {
    println!("dry run: nothing queued; it would be due {}", plan.due);
    let Some(first) = resolved.recipients.first() else {
        println!("nobody to show the email to");
        return Ok(());
    };
    let Some(supporter) = store
        .supporter(first)
        .await
        .map_err(|e| format!("error: {e}"))?
    else {
        return Err("error: the first recipient left the store meanwhile".to_owned());
    };
    let settings = Settings {
        keys: plan.keys.keys()?,
        site_url: plan.cast.manifest.config.base_url.clone(),
        manifest: plan.cast.manifest.clone(),
    };
    let email = broadcast::sample(&settings, &plan.cast.name, &supporter, plan.now)
        .ok_or_else(|| format!("error: the build has no email `{}`", plan.cast.name))?;
    println!(
        "\nTo: {}\nSubject: {}\n\n{}",
        email.to, email.subject, email.text
    );
    Ok(())
}
