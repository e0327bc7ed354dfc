//! `estrade people show`, `export`, `forget`, `purge` and `import`: a
//! person's whole record, every supporter, erasure and imported files, in the store of
//! `estrade serve`, in words and as JSON.

use estrade_domain::donation::{Donor, Frequency};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, SupporterUpdate,
};
use estrade_functions::gifts::{Gift, GiftStatus};
use estrade_functions::queue::{Outgoing, Source};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use jiff::Timestamp;
use std::path::PathBuf;
use std::process::{Command, Output};

mod moto;

fn estrade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_estrade"))
        .args(args)
        .env_remove("ESTRADE_TABLE")
        .output()
        .expect("the estrade binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A new example campaign in a temporary folder (kept while the first
/// value lives), with the folder `estrade serve` keeps its store in.
fn campaign() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    assert!(estrade(&["new", site.to_str().unwrap()]).status.success());
    std::fs::create_dir_all(site.join(".estrade")).unwrap();
    (dir, site)
}

#[test]
fn show_gives_a_persons_whole_record() {
    let (_dir, site) = campaign();
    let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let consent = ConsentRecord {
            email: "ines@example.org".into(),
            action: ConsentAction::Given,
            channel: Channel::Email,
            form: "signup".into(),
            page: "/rejoindre/".into(),
            text_hash: "ab".repeat(32),
            build: "build-1".into(),
            at,
        };
        let update = SupporterUpdate {
            email: "ines@example.org".into(),
            first_name: Some("Inès".into()),
            postcode: Some("59300".into()),
            interests: ["logement".to_owned()].into(),
            ..Default::default()
        };
        store
            .upsert_supporter(update, EmailStatus::Confirmed, vec![consent], at)
            .await
            .unwrap();
        let other = SupporterUpdate {
            email: "jules@example.org".into(),
            ..Default::default()
        };
        store
            .upsert_supporter(other, EmailStatus::Confirmed, Vec::new(), at)
            .await
            .unwrap();
        store
            .rsvp("/agenda/reunion/", "ines@example.org", Some(10), at)
            .await
            .unwrap();
        store
            .rsvp("/agenda/reunion/", "jules@example.org", Some(10), at)
            .await
            .unwrap();
        let donor = Donor {
            first_name: "Inès".into(),
            last_name: "Roux".into(),
            birth_date: "1970-05-06".into(),
            address: "2 rue Basse".into(),
            postcode: "59300".into(),
            city: "Valenciennes".into(),
            country: "FR".into(),
            email: "ines@example.org".into(),
            phone: None,
        };
        store.save_donor(&donor, at).await.unwrap();
        let gift = Gift {
            payment: "pi_1".into(),
            payment_intent: Some("pi_1".into()),
            event: "evt_1".into(),
            election: "leg".into(),
            period: "leg".into(),
            donor: donor.key(),
            amount: 2_000,
            refunded: 0,
            currency: "eur".into(),
            frequency: Frequency::Once,
            at,
            status: GiftStatus::Counted,
            receipt: None,
        };
        store.record_gift(gift, 460_000).await.unwrap();
        let letter = |email: &str| {
            Outgoing::new(
                format!("cast:lettre-novembre:{email}"),
                email,
                "lettre-novembre",
                at,
                Source::Broadcast {
                    broadcast: "lettre-novembre".into(),
                },
                at,
            )
        };
        store
            .enqueue(vec![
                letter("ines@example.org"),
                letter("jules@example.org"),
            ])
            .await
            .unwrap();
    });
    // What `estrade serve` wrote instead of sending, to each.
    let outbox = site.join(".estrade/outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    for (file, to) in [
        ("a.eml", "ines@example.org"),
        ("b.eml", "jules@example.org"),
    ] {
        std::fs::write(
            outbox.join(file),
            format!(
                "Date: Mon, 1 Nov 2026 10:00:00 +0000\r\nTo: <{to}>\r\nSubject: Bienvenue\r\n\r\nx\r\n"
            ),
        )
        .unwrap();
    }
    let root = site.to_str().unwrap();

    // Typed as people type it: the same person.
    let shown = estrade(&["people", "show", " Ines@Example.org", "--root", root]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let out = text(&shown.stdout);
    for wanted in [
        "ines@example.org: supporter, confirmed",
        "first name: Inès",
        "interests: logement",
        "consent history (1):",
        "given (email) by signup on /rejoindre/ (text abababababab, build build-1)",
        "registrations (1):\n  /agenda/reunion/ confirmed",
        "gifts (1):\n  2026-11-01T10:00:00Z 2000 cents eur counted (leg-000001)",
        "donor identity: Inès Roux, born 1970-05-06, 2 rue Basse, 59300 Valenciennes, FR",
        "emails to them (1):\n  2026-11-01T10:00:00Z lettre-novembre (broadcast lettre-novembre): queued\n",
        "outbox copies written by `estrade serve` (1):\n  Mon, 1 Nov 2026 10:00:00 +0000 Bienvenue (",
    ] {
        assert!(out.contains(wanted), "no `{wanted}` in:\n{out}");
    }
    assert!(
        !out.contains("jules"),
        "another person's data was shown:\n{out}"
    );

    let json = estrade(&[
        "people",
        "show",
        "ines@example.org",
        "--json",
        "--root",
        root,
    ]);
    let record: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(record["supporter"]["first_name"], "Inès");
    assert_eq!(record["consents"][0]["form"], "signup");
    assert_eq!(record["rsvps"].as_array().unwrap().len(), 1);
    assert_eq!(record["gifts"][0]["receipt"], "leg-000001");
    assert_eq!(record["emails"][0]["template"], "lettre-novembre");
    assert_eq!(record["emails"].as_array().unwrap().len(), 1);
    assert!(
        record["outbox"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("a.eml")
    );

    let nobody = estrade(&["people", "show", "nobody@example.org", "--root", root]);
    assert!(text(&nobody.stdout).starts_with("nobody@example.org: no supporter record"));
    let wrong = estrade(&["people", "show", "not an address", "--root", root]);
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("is not an email address"));
}

#[test]
fn export_gives_everyone_as_csv_and_osdi_json() {
    let (_dir, site) = campaign();
    let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        for (email, name, status) in [
            ("ines@example.org", "Inès", EmailStatus::Confirmed),
            (
                "hostile@example.org",
                "=HYPERLINK(\"x\")",
                EmailStatus::Bounced,
            ),
        ] {
            let consent = ConsentRecord {
                email: email.into(),
                action: ConsentAction::Given,
                channel: Channel::Email,
                form: "signup".into(),
                page: "/".into(),
                text_hash: "cd".repeat(32),
                build: "b".into(),
                at,
            };
            let update = SupporterUpdate {
                email: email.into(),
                first_name: Some(name.into()),
                phone: Some("+33612345678".into()),
                postcode: Some("59300".into()),
                country: Some("FR".into()),
                interests: ["logement".to_owned(), "ecologie".to_owned()].into(),
                sms: true,
                ..Default::default()
            };
            store
                .upsert_supporter(update, status, vec![consent], at)
                .await
                .unwrap();
        }
    });
    let root = site.to_str().unwrap();

    let csv = estrade(&["people", "export", "--root", root]);
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let csv = text(&csv.stdout);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("email,status,first_name,last_name,phone,sms,postcode,"));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with("hostile@example.org,bounced,\"'=HYPERLINK(\"\"x\"\")\",,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with(
            "ines@example.org,confirmed,Inès,,'+33612345678,yes,59300,FR,ecologie;logement,,,no,,"
        ),
        "{csv}"
    );
    assert!(
        lines[2].ends_with(&format!("signup,{}", "cd".repeat(32))),
        "{csv}"
    );

    let json = estrade(&["people", "export", "--format", "json", "--root", root]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let ines = &json["osdi:people"][1];
    assert_eq!(ines["identifiers"][0], "estrade:ines@example.org");
    assert_eq!(ines["given_name"], "Inès");
    assert_eq!(ines["email_addresses"][0]["status"], "subscribed");
    assert_eq!(ines["phone_numbers"][0]["sms_capable"], true);
    assert_eq!(ines["postal_addresses"][0]["postal_code"], "59300");
    assert_eq!(ines["estrade:consents"][0]["form"], "signup");
    assert_eq!(
        json["osdi:people"][0]["email_addresses"][0]["status"],
        "bouncing"
    );
    let tags: Vec<&str> = json["osdi:tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["ecologie", "logement"]);
    assert_eq!(json["osdi:taggings"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["osdi:taggings"][0]["osdi:person"],
        "estrade:hostile@example.org"
    );

    // Into a file: put in place whole, nothing left beside it.
    let file = site.join("export.json");
    let out = estrade(&[
        "people",
        "export",
        "--format",
        "json",
        "--out",
        file.to_str().unwrap(),
        "--root",
        root,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "2 supporter(s) exported\n");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, json);
    assert!(!site.join("export.json.part").exists());

    // Nobody yet: still a whole file of each kind.
    let (_empty_dir, empty) = campaign();
    SqliteStore::open(empty.join(".estrade/serve.sqlite")).unwrap();
    let empty = empty.to_str().unwrap();
    let csv = estrade(&["people", "export", "--root", empty]);
    assert_eq!(text(&csv.stdout), format!("{}\r\n", estrade_cli_columns()));
    let json = estrade(&["people", "export", "--format", "json", "--root", empty]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "osdi:people": [], "osdi:tags": [], "osdi:taggings": [] })
    );
}

/// The CSV export's header line.
fn estrade_cli_columns() -> &'static str {
    "email,status,first_name,last_name,phone,sms,postcode,country,interests,skills,\
     availability,volunteer,recruiter,created_at,updated_at,address,city,region,other_phones,\
     tags,external_ids,consent_given_at,consent_form,consent_text_sha256"
}

#[test]
fn forget_erases_everything_but_a_hash_and_asks_first() {
    let (_dir, site) = campaign();
    std::fs::create_dir_all(site.join(".estrade/outbox")).unwrap();
    let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store_file = site.join(".estrade/serve.sqlite");
    runtime.block_on(async {
        let store = SqliteStore::open(&store_file).unwrap();
        for email in ["kim@example.org", "lou@example.org"] {
            let update = SupporterUpdate {
                email: email.into(),
                first_name: Some("K".into()),
                ..Default::default()
            };
            store
                .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), at)
                .await
                .unwrap();
        }
    });
    // A copy of an email to each in serve's outbox.
    let outbox = site.join(".estrade/outbox");
    for (file, to) in [("a.eml", "kim@example.org"), ("b.eml", "lou@example.org")] {
        std::fs::write(
            outbox.join(file),
            format!(
                "Date: Mon, 1 Nov 2026 10:00:00 +0000\r\nTo: <{to}>\r\nSubject: x\r\n\r\nx\r\n"
            ),
        )
        .unwrap();
    }
    let root = site.to_str().unwrap();

    let asked = estrade(&["people", "forget", "Kim@example.org", "--root", root]);
    assert!(!asked.status.success());
    assert!(
        text(&asked.stdout).contains("kim@example.org: a supporter record"),
        "{}",
        text(&asked.stdout)
    );
    assert!(text(&asked.stderr).contains("run again with --yes"));
    assert!(
        outbox.join("a.eml").exists(),
        "nothing is erased without --yes"
    );

    let done = estrade(&[
        "people",
        "forget",
        "Kim@example.org",
        "--yes",
        "--root",
        root,
    ]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    let said = text(&done.stdout);
    assert!(
        said.contains("erased kim@example.org: the supporter record"),
        "{said}"
    );
    assert!(said.contains("1 outbox cop(ies)"), "{said}");
    assert!(!outbox.join("a.eml").exists(), "the outbox copy is gone");
    assert!(outbox.join("b.eml").exists(), "another person's copy stays");
    let shown = estrade(&["people", "show", "kim@example.org", "--root", root]);
    let shown = text(&shown.stdout);
    assert!(
        shown.starts_with("kim@example.org: no supporter record\nerased on "),
        "{shown}"
    );
    assert!(shown.contains("emails to them (0):"), "{shown}");
    runtime.block_on(async {
        let store = SqliteStore::open(&store_file).unwrap();
        assert!(store.forgotten("kim@example.org").await.unwrap().is_some());
        assert!(store.supporter("lou@example.org").await.unwrap().is_some());
    });
    // Asked again: it says when.
    let again = estrade(&["people", "forget", "kim@example.org", "--root", root]);
    assert!(
        text(&again.stdout).contains("erased before, on"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn purge_erases_supporters_inactive_past_the_retention() {
    let (_dir, site) = campaign();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store_file = site.join(".estrade/serve.sqlite");
    let recent = Timestamp::now();
    runtime.block_on(async {
        let store = SqliteStore::open(&store_file).unwrap();
        for (email, at) in [
            ("old@example.org", "2020-01-01T10:00:00Z".parse().unwrap()),
            ("recent@example.org", recent),
        ] {
            let update = SupporterUpdate {
                email: email.into(),
                ..Default::default()
            };
            store
                .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), at)
                .await
                .unwrap();
        }
    });
    let root = site.to_str().unwrap();
    let unset = estrade(&["people", "purge", "--root", root]);
    assert!(!unset.status.success());
    assert!(
        text(&unset.stderr).contains("sets no retention"),
        "{}",
        text(&unset.stderr)
    );

    let settings = site.join("campaign.yaml");
    let mut yaml = std::fs::read_to_string(&settings).unwrap();
    yaml.push_str("\nretention:\n  inactive_days: 365\n");
    std::fs::write(&settings, yaml).unwrap();
    let listed = estrade(&["people", "purge", "--root", root]);
    assert!(!listed.status.success(), "nothing is erased without --yes");
    let said = text(&listed.stdout);
    assert!(
        said.starts_with("1 supporter(s) sent no form since"),
        "{said}"
    );
    assert!(
        said.contains("  old@example.org\n") && !said.contains("recent@"),
        "{said}"
    );

    let done = estrade(&["people", "purge", "--yes", "--root", root]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(text(&done.stdout).starts_with("erased 1 supporter(s)"));
    runtime.block_on(async {
        let store = SqliteStore::open(&store_file).unwrap();
        assert!(store.supporter("old@example.org").await.unwrap().is_none());
        assert!(store.forgotten("old@example.org").await.unwrap().is_some());
        assert!(
            store
                .supporter("recent@example.org")
                .await
                .unwrap()
                .is_some()
        );
    });
}

/// The NationBuilder-shaped file of the import tests: seven rows, one bad
/// address, one bad consent and date, one erased address, two rows of the
/// same person (by address, in another case).
const NATIONBUILDER: &str = "tests/fixtures/nationbuilder.csv";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn import_reports_first_then_merges_without_loss() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let update = SupporterUpdate {
            email: "jean.dupont@example.fr".into(),
            first_name: Some("Jean-Pierre".into()),
            phone: Some("+33611111111".into()),
            interests: ["logement".to_owned()].into(),
            ..Default::default()
        };
        store
            .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), at)
            .await
            .unwrap();
    });
    let forget = estrade(&[
        "people",
        "forget",
        "erased@example.fr",
        "--yes",
        "--root",
        root,
    ]);
    assert!(forget.status.success(), "{}", text(&forget.stderr));

    let dry = estrade(&["people", "import", NATIONBUILDER, "--root", root]);
    assert!(!dry.status.success(), "a dry run says nothing was imported");
    let report = text(&dry.stdout);
    for expected in [
        "7 row(s), 4 people (1 row(s) merged into an earlier row of the same address)",
        "  nationbuilder_id -> id:nationbuilder\n",
        "  mobile_number -> mobile\n",
        "  primary_address1 -> address\n",
        "  tag_list -> tags\n",
        "not imported (unknown; --map 'HEADER=FIELD' to take one): support_level, sex\n",
        "bad rows, left out whole (2):\n",
        "  line 5: email: `not-an-email` is not an email address\n",
        "  line 6: email_opt_in: `maybe` is neither yes nor no",
        "dry run, an import would give: 2 new, 1 updated, 0 unchanged\n",
        "refused: 1 erased address(es)",
        "conflicts, where the file and the campaign hold different values",
        "first_name 1, phone 1",
    ] {
        assert!(report.contains(expected), "{expected:?} in\n{report}");
    }
    assert!(text(&dry.stderr).contains("nothing imported: run again with --yes"));
    let shown = estrade(&["people", "show", "aicha.benali@example.fr", "--root", root]);
    assert!(
        text(&shown.stdout).contains("no supporter record"),
        "a dry run writes nothing"
    );

    let report_file = site.join("report.csv");
    let import = estrade(&[
        "people",
        "import",
        NATIONBUILDER,
        "--root",
        root,
        "--yes",
        "--report",
        report_file.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert!(text(&import.stdout).contains("imported: 2 new, 1 updated, 0 unchanged\n"));
    let rows = std::fs::read_to_string(&report_file).unwrap();
    let rows: Vec<&str> = rows.split("\r\n").collect();
    assert_eq!(rows[0], "line,email,outcome,detail");
    assert!(rows[1].starts_with("3,jean.dupont@example.fr,conflict,first_name phone (lines 3 8)"));
    assert!(rows[2].starts_with("5,not-an-email,bad row,email: "));
    assert!(rows[3].starts_with("6,paul.petit@example.fr,bad row,"));
    assert!(rows[4].starts_with("7,erased@example.fr,refused,erased on "));

    let file_hash = sha256_hex(&std::fs::read(NATIONBUILDER).unwrap());
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let aicha = store
            .supporter("aicha.benali@example.fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(aicha.status, EmailStatus::Confirmed);
        assert!(aicha.sms, "the mobile was opted in");
        assert_eq!(aicha.phone.as_deref(), Some("+33612345678"));
        assert_eq!(aicha.other_phones, ["+33327123456".to_owned()].into());
        let address = aicha.address.unwrap();
        assert_eq!(address.lines, ["12 rue des Glycines", "Bât. B"]);
        assert_eq!(address.city.as_deref(), Some("Valenciennes"));
        assert_eq!(aicha.postcode.as_deref(), Some("59300"));
        assert_eq!(
            aicha.tags,
            ["adherent".to_owned(), "porte-a-porte".to_owned()].into()
        );
        assert_eq!(aicha.external_ids["nationbuilder"], "101");
        assert_eq!(aicha.external_ids["external"], "PARTY-0042");
        assert_eq!(aicha.created_at, "2019-05-14T07:12:00Z".parse().unwrap());
        assert!(aicha.volunteer);
        let consents = store.consents("aicha.benali@example.fr").await.unwrap();
        assert_eq!(consents.len(), 2);
        assert_eq!(consents[0].action, ConsentAction::Imported);
        assert_eq!(consents[0].page, "nationbuilder.csv");
        assert_eq!(consents[0].text_hash, file_hash);

        // Known before: the campaign's values stay, nothing is lost.
        let jean = store
            .supporter("jean.dupont@example.fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(jean.first_name.as_deref(), Some("Jean-Pierre"));
        assert_eq!(jean.last_name.as_deref(), Some("Dupont"));
        assert_eq!(jean.phone.as_deref(), Some("+33611111111"));
        assert_eq!(jean.other_phones, ["+33698765432".to_owned()].into());
        assert!(!jean.sms, "consent to texts went with another number");
        assert_eq!(jean.interests, ["logement".to_owned()].into());
        assert_eq!(
            jean.tags,
            ["elus".to_owned(), "sympathisant".to_owned()].into()
        );
        assert_eq!(jean.created_at, "2018-06-01T00:00:00Z".parse().unwrap());

        // The file says no to email: kept, never emailed.
        let lea = store
            .supporter("lea.martin@example.fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(lea.status, EmailStatus::Unsubscribed);
        assert!(
            store
                .consents("lea.martin@example.fr")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .supporter("erased@example.fr")
                .await
                .unwrap()
                .is_none()
        );
    });

    let again = estrade(&["people", "import", NATIONBUILDER, "--root", root, "--yes"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("imported: 0 new, 0 updated, 3 unchanged\n"),
        "{}",
        text(&again.stdout)
    );

    let shown = estrade(&["people", "show", "aicha.benali@example.fr", "--root", root]);
    let shown = text(&shown.stdout);
    assert!(
        shown.contains("  address: 12 rue des Glycines, Bât. B, Valenciennes, Hauts-de-France\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  tags: adherent, porte-a-porte\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  ids elsewhere: external PARTY-0042, nationbuilder 101\n"),
        "{shown}"
    );
    assert!(
        shown.contains(" imported (email) by import on nationbuilder.csv "),
        "{shown}"
    );

    let json = estrade(&["people", "export", "--format", "json", "--root", root]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let aicha = &json["osdi:people"][0];
    assert_eq!(aicha["identifiers"][1], "external:PARTY-0042");
    assert_eq!(aicha["identifiers"][2], "nationbuilder:101");
    assert_eq!(aicha["postal_addresses"][0]["locality"], "Valenciennes");
    assert_eq!(aicha["phone_numbers"][1]["number"], "+33327123456");
    let csv = estrade(&["people", "export", "--root", root]);
    let csv = text(&csv.stdout);
    assert!(
        csv.contains(",adherent;porte-a-porte,external:PARTY-0042;nationbuilder:101,"),
        "{csv}"
    );

    // The export moves to another campaign: what the CSV carries reads
    // back the same.
    let (_other_dir, other) = campaign();
    let exported = other.join("export.csv");
    std::fs::write(&exported, &csv).unwrap();
    let moved = estrade(&[
        "people",
        "import",
        exported.to_str().unwrap(),
        "--root",
        other.to_str().unwrap(),
        "--yes",
    ]);
    assert!(moved.status.success(), "{}", text(&moved.stderr));
    let moved = text(&moved.stdout);
    assert!(
        moved.contains("imported: 3 new, 0 updated, 0 unchanged\n"),
        "{moved}"
    );
    runtime.block_on(async {
        let here = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        let there = SqliteStore::open(other.join(".estrade/serve.sqlite")).unwrap();
        for email in [
            "aicha.benali@example.fr",
            "jean.dupont@example.fr",
            "lea.martin@example.fr",
        ] {
            let before = here.supporter(email).await.unwrap().unwrap();
            let after = there.supporter(email).await.unwrap().unwrap();
            assert_eq!(
                after.status, before.status,
                "the email status of {email} moves with it"
            );
            assert_eq!(after.first_name, before.first_name);
            assert_eq!(after.last_name, before.last_name);
            assert_eq!(after.phone, before.phone);
            assert_eq!(after.sms, before.sms);
            assert_eq!(after.postcode, before.postcode);
            assert_eq!(after.address, before.address);
            assert_eq!(after.interests, before.interests);
            assert_eq!(after.tags, before.tags);
            assert_eq!(after.other_phones, before.other_phones);
            assert_eq!(after.external_ids, before.external_ids);
            assert_eq!(after.volunteer, before.volunteer);
            assert_eq!(after.created_at, before.created_at);
        }
    });
}

#[test]
fn import_maps_by_hand_reads_spreadsheets_and_resumes() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    // A French spreadsheet's CSV: semicolons, Windows-1252, its own
    // headers, no opt-in column.
    let mut file = b"Contact;Pr\xe9nom;Nom;T\xe9l\xe9phone;Remarque\r\n".to_vec();
    file.extend_from_slice(b"zoe@example.fr;Zo\xe9;Roux;06 01 02 03 04;=cmd()\r\n");
    file.extend_from_slice(b"yann@example.fr;Yann\x07;Le Gall;;\r\n");
    file.extend_from_slice(b"xavier@example.fr;Xavier;;;\r\n");
    file.extend_from_slice(b"william@example.fr;William;;;\r\n");
    let path = site.join("adherents.csv");
    std::fs::write(&path, &file).unwrap();
    let path = path.to_str().unwrap();

    let unmapped = estrade(&["people", "import", path, "--root", root]);
    assert!(!unmapped.status.success());
    assert!(
        text(&unmapped.stderr)
            .contains("no column holds the email address: name it with --map 'HEADER=email'"),
        "{}",
        text(&unmapped.stderr)
    );
    let map = ["--map", "Contact=email", "--map", "Remarque=ignore"];
    let no_consent = estrade(&[&["people", "import", path, "--root", root][..], &map].concat());
    assert!(
        text(&no_consent.stderr).contains("say --opt-in yes"),
        "{}",
        text(&no_consent.stderr)
    );

    // An import cut off after its first person: the same command goes on.
    let started: Timestamp = "2026-11-20T08:00:00Z".parse().unwrap();
    let progress = site.join(format!(
        ".estrade/imports/{}-embedded.json",
        sha256_hex(&file)
    ));
    std::fs::create_dir_all(progress.parent().unwrap()).unwrap();
    std::fs::write(
        &progress,
        format!(r#"{{"started_at":"{started}","people_written":1}}"#),
    )
    .unwrap();
    let args = [
        &[
            "people",
            "import",
            path,
            "--root",
            root,
            "--opt-in",
            "yes",
            "--yes",
            "--source",
            "adherents 2026",
        ][..],
        &map,
    ]
    .concat();
    let import = estrade(&args);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let stdout = text(&import.stdout);
    for expected in [
        "4 row(s), read as Windows-1252 (it is not UTF-8), separated by semicolons, 3 people\n",
        "  Contact -> email\n  Prénom -> first_name\n  Nom -> last_name\n  Téléphone -> phone\n",
        "  line 3: Prénom: holds control characters\n",
        "resuming the import begun 2026-11-20T08:00:00Z: 1 of 3 people were written then\n",
        "imported: 2 new, 0 updated, 0 unchanged (and 1 written before the resumption)\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    assert!(
        !progress.exists(),
        "a finished import leaves no progress note"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(site.join(".estrade/serve.sqlite")).unwrap();
        assert!(
            store.supporter("zoe@example.fr").await.unwrap().is_none(),
            "the first person was taken as written before"
        );
        let xavier = store.supporter("xavier@example.fr").await.unwrap().unwrap();
        assert_eq!(xavier.status, EmailStatus::Confirmed);
        let consents = store.consents("xavier@example.fr").await.unwrap();
        assert_eq!(consents[0].at, started, "a resumed import keeps its date");
        assert_eq!(consents[0].page, "adherents 2026");
        assert!(store.supporter("yann@example.fr").await.unwrap().is_none());
    });
}

#[test]
fn import_into_a_dynamodb_table_in_batches() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    let at: Timestamp = "2026-11-01T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = runtime.block_on(async {
        let table = moto::new_table("import").await;
        let update = SupporterUpdate {
            email: "jean.dupont@example.fr".into(),
            first_name: Some("Jean-Pierre".into()),
            ..Default::default()
        };
        moto::store(&table)
            .await
            .upsert_supporter(update, EmailStatus::Confirmed, Vec::new(), at)
            .await
            .unwrap();
        table
    });
    let in_table = |args: &[&str]| estrade(&[args, &["--root", root, "--table", &table]].concat());
    let forget = in_table(&["people", "forget", "erased@example.fr", "--yes"]);
    assert!(forget.status.success(), "{}", text(&forget.stderr));

    let dry = in_table(&["people", "import", NATIONBUILDER]);
    assert!(!dry.status.success(), "a dry run says nothing was imported");
    let report = text(&dry.stdout);
    assert!(
        report.contains("dry run, an import would give: 2 new, 1 updated, 0 unchanged\n"),
        "{report}"
    );
    assert!(report.contains("refused: 1 erased address(es)"), "{report}");

    let import = in_table(&["people", "import", NATIONBUILDER, "--yes"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let stdout = text(&import.stdout);
    assert!(
        stdout.contains("imported: 2 new, 1 updated, 0 unchanged\n"),
        "{stdout}"
    );
    let progress = site.join(format!(
        ".estrade/imports/{}-table-{table}.json",
        sha256_hex(&std::fs::read(NATIONBUILDER).unwrap())
    ));
    assert!(
        !progress.exists(),
        "a finished import leaves no progress note"
    );
    runtime.block_on(async {
        let store = moto::store(&table).await;
        let aicha = store
            .supporter("aicha.benali@example.fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(aicha.external_ids["nationbuilder"], "101");
        assert_eq!(
            aicha.address.unwrap().lines,
            ["12 rue des Glycines", "Bât. B"]
        );
        let consents = store.consents("aicha.benali@example.fr").await.unwrap();
        assert_eq!(consents[0].action, ConsentAction::Imported);
        let jean = store
            .supporter("jean.dupont@example.fr")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(jean.first_name.as_deref(), Some("Jean-Pierre"));
        assert_eq!(jean.last_name.as_deref(), Some("Dupont"));
        assert!(
            store
                .supporter("erased@example.fr")
                .await
                .unwrap()
                .is_none()
        );
    });

    let again = in_table(&["people", "import", NATIONBUILDER, "--yes"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("imported: 0 new, 0 updated, 3 unchanged\n"),
        "{}",
        text(&again.stdout)
    );
}

/// `estrade people import FILE --opt-in yes`, a dry run or with `--yes`.
fn import_opted_in(file: &std::path::Path, root: &str, yes: bool) -> Output {
    let file = file.to_str().unwrap();
    let mut args = vec!["people", "import", file, "--root", root, "--opt-in", "yes"];
    if yes {
        args.push("--yes");
    }
    estrade(&args)
}

#[test]
fn import_says_where_a_quote_is_left_open() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    let path = site.join("open-quote.csv");
    std::fs::write(
        &path,
        "email,first_name\r\nann@example.fr,Ann\r\n\"bob@example.fr,Bob\r\ncy@example.fr,Cy\r\n",
    )
    .unwrap();
    let import = import_opted_in(&path, root, true);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let stdout = text(&import.stdout);
    assert!(
        stdout.contains(
            "  line 3: 1 cells where the header has 2 columns; a quoted cell runs on to line 4: \
             is a quote (\") left open on line 3?\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("imported: 1 new, 0 updated, 0 unchanged\n"),
        "{stdout}"
    );
}

#[test]
fn an_audience_reaches_the_members_a_file_tagged() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    let import = estrade(&["people", "import", NATIONBUILDER, "--root", root, "--yes"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    std::fs::write(
        site.join("content/emails/lettre-adherents.md"),
        "---\nsubject: \"Aux adhérents\"\naudience:\n  imported_tags: [adherent]\n---\n\n\
         {hello}\n\nL'assemblée générale aura lieu samedi.\n",
    )
    .unwrap();
    let out = estrade(&["audience", "lettre-adherents", "--root", root, "--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n1 recipient(s) out of 4 supporter(s), resolved in "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nleft out: 2 outside the audience, 1 unsubscribed\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("\naicha.benali@example.fr\n"), "{stdout}");
}

#[test]
fn an_import_cut_off_under_other_options_starts_again() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    let file = b"email,first_name\r\nann@example.fr,Ann\r\nbob@example.fr,Bob\r\n";
    let path = site.join("liste.csv");
    std::fs::write(&path, file).unwrap();
    let progress = site.join(format!(
        ".estrade/imports/{}-embedded.json",
        sha256_hex(file)
    ));
    std::fs::create_dir_all(progress.parent().unwrap()).unwrap();
    std::fs::write(
        &progress,
        r#"{"started_at":"2026-11-20T08:00:00Z","people_written":1,"settings":"0123456789abcdef"}"#,
    )
    .unwrap();
    let import = import_opted_in(&path, root, true);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let stdout = text(&import.stdout);
    assert!(
        stdout.contains("was cut off under other options"),
        "{stdout}"
    );
    assert!(
        stdout.contains("imported: 2 new, 0 updated, 0 unchanged\n"),
        "{stdout}"
    );
    assert!(!progress.exists());
}

#[test]
fn import_reads_lines_ended_by_cr_alone_and_a_blank_first_line() {
    let (_dir, site) = campaign();
    let root = site.to_str().unwrap();
    for (name, content, bad_line) in [
        (
            "mac.csv",
            "email;first_name\rann@example.fr;Ann\rbad-address;Bob\r",
            "  line 3: email: `bad-address` is not an email address\n",
        ),
        (
            "blank.csv",
            "\r\nemail;first_name\r\nann@example.fr;Ann\r\nbad-address;Bob\r\n",
            "  line 4: email: `bad-address` is not an email address\n",
        ),
    ] {
        let path = site.join(name);
        std::fs::write(&path, content).unwrap();
        let dry = import_opted_in(&path, root, false);
        let stdout = text(&dry.stdout);
        assert!(
            stdout.contains("separated by semicolons"),
            "{name}: {stdout}"
        );
        assert!(stdout.contains(bad_line), "{name}: {stdout}");
        assert!(
            stdout.contains("dry run, an import would give: 1 new, 0 updated, 0 unchanged\n"),
            "{name}: {stdout}"
        );
    }
}
