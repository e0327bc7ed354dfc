//! `estrade audience` and `estrade send` on the example campaign, with
//! supporters put in the store of `estrade serve` beforehand.

use estrade_domain::supporter::{EmailStatus, SupporterUpdate};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use jiff::Timestamp;
use std::path::Path;
use std::process::{Command, Output};

mod moto;

fn estrade(args: &[&str]) -> Output {
    // A table named in the environment would take the place of serve's
    // store; the DynamoDB test names its own with --table.
    Command::new(env!("CARGO_BIN_EXE_estrade"))
        .args(args)
        .env_remove("ESTRADE_TABLE")
        .output()
        .expect("the estrade binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// (address, first name, postcode, interest, status).
const PEOPLE: [(&str, &str, &str, &str, EmailStatus); 7] = [
    (
        "alix@example.org",
        "Alix",
        "59300",
        "ecologie",
        EmailStatus::Confirmed,
    ), // Valenciennes
    (
        "bruno@example.org",
        "Bruno",
        "59000",
        "ecologie",
        EmailStatus::Confirmed,
    ), // Lille, 45 km
    (
        "chantal@example.org",
        "Chantal",
        "75011",
        "ecologie",
        EmailStatus::Confirmed,
    ), // Paris
    (
        "driss@example.org",
        "Driss",
        "13001",
        "ecologie",
        EmailStatus::Confirmed,
    ), // Marseille
    (
        "elsa@example.org",
        "Elsa",
        "59300",
        "logement",
        EmailStatus::Confirmed,
    ),
    (
        "farid@example.org",
        "Farid",
        "59300",
        "ecologie",
        EmailStatus::Unsubscribed,
    ),
    (
        "gisele@example.org",
        "Gisèle",
        "59300",
        "ecologie",
        EmailStatus::Pending,
    ),
];

/// The example campaign in a temporary folder, its store holding PEOPLE.
fn campaign() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let made = estrade(&["new", site.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    std::fs::create_dir_all(site.join(".estrade")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
        for (email, name, postcode, interest, status) in PEOPLE {
            let update = SupporterUpdate {
                email: email.to_owned(),
                first_name: Some(name.to_owned()),
                postcode: Some(postcode.to_owned()),
                interests: [interest.to_owned()].into(),
                ..Default::default()
            };
            store
                .upsert_supporter(update, status, Vec::new(), at)
                .await
                .unwrap();
        }
    });
    dir
}

fn root(dir: &tempfile::TempDir) -> String {
    dir.path().join("site").to_str().unwrap().to_owned()
}

fn queued(site: &Path, email: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let id = format!("cast:lettre-ecologie:{email}");
        store.outgoing(&id).await.unwrap().is_some()
    })
}

#[test]
fn audience_counts_and_lists_the_recipients() {
    let dir = campaign();
    let root = root(&dir);
    let out = estrade(&[
        "audience",
        "content/emails/lettre-ecologie.md",
        "--root",
        &root,
        "--list",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "lettre-ecologie: confirmed · tags ecologie · within 100 km of Valenciennes"
    );
    assert!(
        lines[1].starts_with("2 recipient(s) out of 7 supporter(s), resolved in "),
        "{stdout}"
    );
    assert_eq!(
        lines[2],
        "left out: 3 outside the audience, 1 pending, 1 unsubscribed"
    );
    assert_eq!(lines[3..], ["alix@example.org", "bruno@example.org"]);
}

#[test]
fn send_dry_run_shows_the_email_and_queues_nothing() {
    let dir = campaign();
    let root = root(&dir);
    let out = estrade(&["send", "lettre-ecologie", "--root", &root, "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("2 recipient(s) out of 7"), "{stdout}");
    assert!(stdout.contains("dry run: nothing queued"), "{stdout}");
    assert!(stdout.contains("\nTo: alix@example.org\n"), "{stdout}");
    assert!(
        stdout.contains("Subject: Écologie : ce que nous ferons dans le Valenciennois"),
        "{stdout}"
    );
    assert!(stdout.contains("Alix"), "{stdout}");
    assert!(stdout.contains("/api/unsubscribe?token="), "{stdout}");
    assert!(!stdout.contains("{nearest_events}"), "{stdout}");
    assert!(!queued(&dir.path().join("site"), "alix@example.org"));
}

#[test]
fn send_refuses_a_draft_then_queues_once_with_now() {
    let dir = campaign();
    let root = root(&dir);
    let draft = estrade(&["send", "lettre-ecologie", "--root", &root]);
    assert!(!draft.status.success());
    assert_eq!(
        text(&draft.stderr),
        "error: `lettre-ecologie` is a draft: it has no `send_at`. Add one to its front \
         matter (`send_at: 2027-03-14 18:00`), or send it now with --now\n"
    );
    assert!(!queued(&dir.path().join("site"), "alix@example.org"));

    let first = estrade(&["send", "lettre-ecologie", "--root", &root, "--now"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("Queued 2 new email(s), due "), "{stdout}");
    assert!(stdout.contains("; 0 were queued already"), "{stdout}");
    let again = estrade(&["send", "lettre-ecologie", "--root", &root, "--now"]);
    let stdout = text(&again.stdout);
    assert!(stdout.contains("Queued 0 new email(s), due "), "{stdout}");
    assert!(stdout.contains("; 2 were queued already"), "{stdout}");
    let site = dir.path().join("site");
    assert!(queued(&site, "alix@example.org"));
    assert!(queued(&site, "bruno@example.org"));
    assert!(!queued(&site, "chantal@example.org"));
}

#[test]
fn an_email_without_an_audience_is_not_a_broadcast() {
    let dir = campaign();
    let root = root(&dir);
    let out = estrade(&["audience", "welcome", "--root", &root]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "error: content/emails/welcome.md has no `audience:` in its front matter, so it is \
         not a broadcast (see themes/README.md, \"Audiences\")\n"
    );
}

/// A new table on moto holding PEOPLE.
fn dynamo_table() -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let table = moto::new_table("audience").await;
        let store = moto::store(&table).await;
        let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
        for (email, name, postcode, interest, status) in PEOPLE {
            let update = SupporterUpdate {
                email: email.to_owned(),
                first_name: Some(name.to_owned()),
                postcode: Some(postcode.to_owned()),
                interests: [interest.to_owned()].into(),
                ..Default::default()
            };
            store
                .upsert_supporter(update, status, Vec::new(), at)
                .await
                .unwrap();
        }
        table
    })
}

#[test]
fn audience_and_send_read_and_queue_in_a_dynamodb_table() {
    let table = dynamo_table();
    let dir = campaign();
    let root = root(&dir);
    let out = estrade(&[
        "audience",
        "lettre-ecologie",
        "--root",
        &root,
        "--table",
        &table,
        "--list",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n2 recipient(s) out of 7 supporter(s), resolved in "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nleft out: 3 outside the audience, 1 pending, 1 unsubscribed\n"),
        "{stdout}"
    );
    let mut listed: Vec<&str> = stdout.lines().skip(3).collect();
    listed.sort();
    assert_eq!(listed, ["alix@example.org", "bruno@example.org"]);

    let send = [
        "send",
        "lettre-ecologie",
        "--root",
        &root,
        "--table",
        &table,
        "--now",
    ];
    let first = estrade(&send);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("Queued 2 new email(s)"));
    let again = estrade(&send);
    let stdout = text(&again.stdout);
    assert!(stdout.contains("Queued 0 new email(s)"), "{stdout}");
    assert!(stdout.contains("; 2 were queued already"), "{stdout}");

    // Paused and resumed in the table, where the sender reads it.
    let pause = estrade(&[
        "broadcast",
        "pause",
        "lettre-ecologie",
        "--reason",
        "relecture",
        "--table",
        &table,
    ]);
    assert!(pause.status.success(), "{}", text(&pause.stderr));
    let stored = |table: &str| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = moto::store(table).await;
            store.broadcast("lettre-ecologie").await.unwrap().unwrap()
        })
    };
    let control = stored(&table);
    assert!(control.paused);
    assert_eq!(control.reason.as_deref(), Some("relecture"));
    let status = estrade(&["broadcast", "status", "lettre-ecologie", "--table", &table]);
    let shown = text(&status.stdout);
    assert!(
        shown.starts_with("lettre-ecologie: paused since "),
        "{shown}"
    );
    let resume = estrade(&["broadcast", "resume", "lettre-ecologie", "--table", &table]);
    assert!(resume.status.success(), "{}", text(&resume.stderr));
    assert!(!stored(&table).paused);
}

#[test]
fn pending_supporters_counted_without_double_opt_in_are_flagged() {
    let dir = campaign();
    let site = dir.path().join("site");
    let config = std::fs::read_to_string(site.join("campaign.yaml")).unwrap();
    assert!(config.contains("double_opt_in: true"));
    std::fs::write(
        site.join("campaign.yaml"),
        config.replace("double_opt_in: true", "double_opt_in: false"),
    )
    .unwrap();
    let letter = site.join("content/emails/lettre-ecologie.md");
    let written = std::fs::read_to_string(&letter).unwrap();
    std::fs::write(
        &letter,
        written.replace("audience:\n", "audience:\n  status: [confirmed, pending]\n"),
    )
    .unwrap();
    let out = estrade(&["audience", "lettre-ecologie", "--root", &root(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n3 recipient(s) out of 7 supporter(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nleft out: 3 outside the audience, 1 unsubscribed\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the pending ones counted here will be skipped"),
        "{stdout}"
    );
}
