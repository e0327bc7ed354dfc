//! The `estrade` command.

mod broadcast;
mod broadcast_control;
mod build;
mod checkout;
mod donations;
mod functions;
mod outbox_view;
mod people;
mod people_import;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Estrade: a campaign's website, supporters and email, from a git repository.
#[derive(Parser)]
#[command(name = "estrade", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the site into DIR/public (or --out).
    Build(build::BuildArgs),
    /// Check the site without writing anything: front matter, templates,
    /// links, anchors and images, all reported at once.
    Check(build::CheckArgs),
    /// Build, serve on 127.0.0.1, rebuild on every change and reload the
    /// browser.
    Serve(serve::ServeArgs),
    /// Count who a broadcast email's audience is, from the supporters of
    /// `estrade serve` (or a DynamoDB table).
    Audience(broadcast::AudienceArgs),
    /// Queue a broadcast email for everyone in its audience, due at its
    /// `send_at`; --dry-run shows what would go.
    Send(broadcast::SendArgs),
    /// Pause, resume or show a broadcast.
    Broadcast(broadcast_control::BroadcastArgs),
    /// Export the gifts for the campaign's accounts, or sum them up.
    Donations(donations::DonationsArgs),
    /// The campaign's people: show one (subject access), export everyone,
    /// forget one (erasure), purge the inactive.
    People(people::PeopleArgs),
    /// Create a new campaign in DIR from the example campaign.
    New {
        /// Folder to create (must not exist, or be empty).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::build(&args),
        Command::Check(args) => build::check(&args),
        Command::Serve(args) => serve::serve(args),
        Command::Audience(args) => broadcast::audience(&args),
        Command::Send(args) => broadcast::send(&args),
        Command::Broadcast(args) => broadcast_control::broadcast(&args),
        Command::Donations(args) => donations::donations(&args),
        Command::People(args) => people::people(&args),
        Command::New { dir } => new(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn new(dir: &std::path::Path) -> Result<(), String> {
    let files = estrade_site::scaffold::create(dir).map_err(|e| format!("error: {e}"))?;
    println!(
        "Created a campaign in {} ({files} files). Next: cd {} && estrade serve",
        dir.display(),
        dir.display()
    );
    Ok(())
}
