//! `estrade broadcast pause|resume|status NAME`: stops a broadcast
//! cleanly and starts it again, in the embedded store of `estrade serve`
//! (`DIR/.estrade/serve.sqlite`) or in a DynamoDB table (`--table`, or
//! `ESTRADE_TABLE`), where the sender reads it before every email.

use crate::broadcast::{StoreArgs, Where, dynamo, local_store, runtime};
use clap::{Args, Subcommand};
use estrade_functions::broadcasts::{BroadcastControl, MIN_SENT};
use estrade_functions::store::{Store, StoreResult};
use jiff::Timestamp;

#[derive(Args)]
pub struct BroadcastArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum Action {
    /// Stop sending NAME: its recipients stay queued, in their place.
    Pause {
        /// The broadcast: its email's name (`content/emails/NAME.md`).
        name: String,
        /// Why, shown by `status`.
        #[arg(long, default_value = "paused by hand")]
        reason: String,
    },
    /// Send NAME again: each recipient still queued gets it once.
    Resume {
        /// The broadcast: its email's name.
        name: String,
    },
    /// Whether NAME is paused, and what was sent and complained about.
    Status {
        /// The broadcast: its email's name.
        name: String,
    },
}

pub fn broadcast(args: &BroadcastArgs) -> Result<(), String> {
    let name = match &args.action {
        Action::Pause { name, .. } | Action::Resume { name } | Action::Status { name } => name,
    };
    if !estrade_site::emails::valid_name(name) {
        return Err(format!(
            "error: `{name}` cannot name a broadcast; use its email's file name, \
             like `lettre-ecologie`"
        ));
    }
    let runtime = runtime()?;
    let now = Timestamp::now();
    let control = match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(act(&store, &args.action, now))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            act(&store, &args.action, now).await
        }),
    }?;
    println!("{}", describe(name, control.as_ref()));
    Ok(())
}

async fn act<S: Store>(
    store: &S,
    action: &Action,
    now: Timestamp,
) -> Result<Option<BroadcastControl>, String> {
    let done: StoreResult<Option<BroadcastControl>> = match action {
        Action::Pause { name, reason } => store
            .set_broadcast_paused(name, Some(reason.clone()), now)
            .await
            .map(Some),
        Action::Resume { name } => store.set_broadcast_paused(name, None, now).await.map(Some),
        Action::Status { name } => store.broadcast(name).await,
    };
    done.map_err(|e| format!("error: {e}"))
}

fn describe(name: &str, control: Option<&BroadcastControl>) -> String {
    let Some(control) = control else {
        return format!("{name}: not paused; nothing sent yet");
    };
    let state = match (&control.paused, &control.reason, control.changed_at) {
        (true, reason, at) => format!(
            "paused{}: {}",
            at.map(|at| format!(" since {at}")).unwrap_or_default(),
            reason.as_deref().unwrap_or("no reason given")
        ),
        (false, _, Some(at)) => format!("sending (resumed {at})"),
        (false, _, None) => "sending".to_owned(),
    };
    let rate = if control.sent == 0 {
        String::new()
    } else {
        let percent = control.complained as f64 * 100.0 / control.sent as f64;
        format!(" ({percent:.2}%)")
    };
    format!(
        "{name}: {state}\n  sent {}, complaints {}{rate}; paused automatically above 0.1% \
         once {MIN_SENT} are sent",
        control.sent, control.complained
    )
}
