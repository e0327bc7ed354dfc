//! `estrade people show`: a person's whole record from the store of
//! `estrade serve`, in words and as JSON.

use estrade_domain::donation::{Donor, Frequency};
use estrade_domain::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, SupporterUpdate,
};
use estrade_functions::gifts::{Gift, GiftStatus};
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::Store;
use jiff::Timestamp;
use std::process::{Command, Output};

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

#[test]
fn show_gives_a_persons_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    assert!(estrade(&["new", site.to_str().unwrap()]).status.success());
    std::fs::create_dir_all(site.join(".estrade")).unwrap();
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
    });
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

    let nobody = estrade(&["people", "show", "nobody@example.org", "--root", root]);
    assert!(text(&nobody.stdout).starts_with("nobody@example.org: no supporter record"));
    let wrong = estrade(&["people", "show", "not an address", "--root", root]);
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("is not an email address"));
}
