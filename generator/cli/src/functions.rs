//! The form functions inside `estrade serve`: the very handlers of the
//! Lambda functions, over the embedded SQLite store and an outbox folder,
//! with data kept in `ROOT/.estrade/` between runs.

use estrade_domain::manifest::Manifest;
use estrade_domain::token::Keys;
use estrade_functions::http::{Functions, Settings, router};
use estrade_functions::outbox::OutboxMailer;
use estrade_functions::payments::Payments;
use estrade_functions::sender::send_due;
use estrade_functions::sqlite::SqliteStore;
use estrade_site::output::MemoryOutput;
use estrade_site::render::MANIFEST;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub type LocalFunctions = Functions<SqliteStore, OutboxMailer>;

/// Where `serve` keeps its store and outbox.
pub struct DataDir {
    pub dir: PathBuf,
    /// The runtime serve answers on, where the background sender runs
    /// (the store may be opened later from the rebuilding thread).
    runtime: Option<tokio::runtime::Handle>,
}

impl DataDir {
    /// Called on serve's runtime.
    pub fn new(root: &Path) -> DataDir {
        DataDir {
            dir: root.join(".estrade"),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    /// The token keys: `ESTRADE_TOKEN_KEYS` when set, else a key made for
    /// this folder on first use and kept in `.estrade/token-keys`.
    pub fn keys(&self) -> Result<Keys, String> {
        if let Ok(line) = std::env::var("ESTRADE_TOKEN_KEYS") {
            return Keys::parse(&line).map_err(|e| format!("error: ESTRADE_TOKEN_KEYS: {e}"));
        }
        let file = self.dir.join("token-keys");
        if !file.is_file() {
            let mut secret = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut random| random.read_exact(&mut secret))
                .map_err(|e| format!("error: cannot make a token key: {e}"))?;
            std::fs::write(&file, Keys::line("local", &secret))
                .map_err(|e| format!("error: cannot write {}: {e}", file.display()))?;
        }
        let line = std::fs::read_to_string(&file)
            .map_err(|e| format!("error: cannot read {}: {e}", file.display()))?;
        Keys::parse(&line).map_err(|e| format!("error: {}: {e}", file.display()))
    }

    /// Opens the store and the outbox, with the settings of the first good
    /// build.
    pub fn open(
        &self,
        manifest: Manifest,
        site_url: &str,
        payments: Option<Payments>,
    ) -> Result<(Arc<LocalFunctions>, axum::Router), String> {
        let manifest = local(manifest, site_url);
        std::fs::create_dir_all(self.outbox())
            .map_err(|e| format!("error: cannot create {}: {e}", self.outbox().display()))?;
        let store =
            SqliteStore::open(self.dir.join("serve.sqlite")).map_err(|e| format!("error: {e}"))?;
        let mailer = OutboxMailer::new(self.outbox());
        let settings = Settings {
            manifest,
            keys: self.keys()?,
            site_url: site_url.to_owned(),
        };
        let mut functions = Functions::new(store, mailer, settings);
        functions.payments = payments;
        let functions = Arc::new(functions);
        let routes = router(functions.clone());
        if let Some(runtime) = &self.runtime {
            runtime.spawn(send_in_background(Arc::clone(&functions)));
        }
        Ok((functions, routes))
    }
}

/// How often `estrade serve` looks for queued email that is due.
const SEND_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The scheduled sender of AWS (the followups function, every minute),
/// here every few seconds into the outbox, for as long as serve runs.
async fn send_in_background(functions: Arc<LocalFunctions>) {
    let mut ticks = tokio::time::interval(SEND_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for run in 0_u64.. {
        ticks.tick().await;
        let token = format!("serve-{}-{run}", std::process::id());
        match send_due(&functions, &token, 200).await {
            Ok(report) if report.sent > 0 => {
                println!("Sent {} queued email(s) to the outbox", report.sent);
            }
            Ok(_) => {}
            Err(problem) => eprintln!("warning: the background sender: {problem}"),
        }
    }
}

/// The manifest a build left in memory.
pub fn manifest_of(output: &MemoryOutput) -> Option<Manifest> {
    let bytes = output.get(MANIFEST)?;
    serde_json::from_slice(&bytes).ok()
}

pub fn settings_for(functions: &LocalFunctions, manifest: Manifest) {
    let current = functions.settings();
    let manifest = local(manifest, &current.site_url);
    functions.replace_settings(Settings {
        manifest,
        keys: current.keys.clone(),
        site_url: current.site_url.clone(),
    });
}

/// The site is served on 127.0.0.1; a browser pointed at `localhost` on
/// the same port posts from that origin, which is just as local.
fn local(mut manifest: Manifest, site_url: &str) -> Manifest {
    let origins = &mut manifest.config.forms.origins;
    origins.push(site_url.to_owned());
    origins.push(site_url.replace("127.0.0.1", "localhost"));
    manifest
}
