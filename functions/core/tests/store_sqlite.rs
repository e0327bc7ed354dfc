//! The embedded store against the shared store contract, in memory and on
//! disk, and a store file that outlives its process.
#![cfg(feature = "sqlite")]

use estrade_domain::supporter::{EmailStatus, RsvpStatus, SupporterUpdate};
use estrade_functions::contract::check_store;
use estrade_functions::sqlite::SqliteStore;
use estrade_functions::store::{Store, Upserted};
use jiff::Timestamp;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn in_memory_store_keeps_the_contract() {
    let store = SqliteStore::in_memory().unwrap();
    check_store(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn file_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("estrade.sqlite")).unwrap();
    check_store(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_file_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estrade.sqlite");
    let at: Timestamp = "2027-03-01T10:00:00Z".parse().unwrap();
    let update = SupporterUpdate {
        email: "lea@example.fr".to_owned(),
        first_name: Some("Léa".to_owned()),
        interests: ["climat".to_owned()].into(),
        ..Default::default()
    };
    let written = {
        let store = SqliteStore::open(&path).unwrap();
        store
            .rsvp("meeting", "lea@example.fr", Some(1), at)
            .await
            .unwrap();
        let (how, supporter) = store
            .upsert_supporter(update.clone(), EmailStatus::Pending, Vec::new(), at)
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        supporter
    };

    let store = SqliteStore::open(&path).unwrap();
    let read = store.supporter("lea@example.fr").await.unwrap();
    assert_eq!(read, Some(written));
    let (how, _) = store
        .upsert_supporter(update, EmailStatus::Pending, Vec::new(), at)
        .await
        .unwrap();
    assert_eq!(
        how,
        Upserted::Updated,
        "a reopened store still knows the supporter"
    );
    let listing = store.rsvps("meeting").await.unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].status, RsvpStatus::Confirmed);
}

#[test]
fn a_file_from_a_newer_estrade_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estrade.sqlite");
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let error = SqliteStore::open(&path).err().unwrap();
    assert!(error.0.contains("schema version 99"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfirmed_supporters_are_purged_with_their_history() {
    let store = SqliteStore::in_memory().unwrap();
    let at: Timestamp = "2027-03-01T10:00:00Z".parse().unwrap();
    let waiting = |email: &str| SupporterUpdate {
        email: email.to_owned(),
        until_confirmed: true,
        ..Default::default()
    };
    store
        .upsert_supporter(
            waiting("gone@example.fr"),
            EmailStatus::Pending,
            Vec::new(),
            at,
        )
        .await
        .unwrap();
    store
        .upsert_supporter(
            waiting("kept@example.fr"),
            EmailStatus::Pending,
            Vec::new(),
            at,
        )
        .await
        .unwrap();
    store
        .set_status("kept@example.fr", EmailStatus::Confirmed, None, at)
        .await
        .unwrap();
    // Someone else's signup a week and a day later purges on its way.
    let later = at + jiff::SignedDuration::from_hours(8 * 24);
    store
        .upsert_supporter(
            waiting("new@example.fr"),
            EmailStatus::Pending,
            Vec::new(),
            later,
        )
        .await
        .unwrap();
    assert_eq!(store.supporter("gone@example.fr").await.unwrap(), None);
    assert!(store.supporter("kept@example.fr").await.unwrap().is_some());
    assert!(store.supporter("new@example.fr").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_file_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estrade.sqlite");
    {
        // The supporters table as version 1 made it, with one row.
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE supporters (email TEXT PRIMARY KEY, first_name TEXT, last_name TEXT,
                 phone TEXT, postcode TEXT, country TEXT, interests TEXT NOT NULL,
                 skills TEXT NOT NULL, availability TEXT, volunteer INTEGER NOT NULL,
                 status TEXT NOT NULL, recruiter TEXT, created_at TEXT NOT NULL,
                 updated_at TEXT NOT NULL) STRICT;
             INSERT INTO supporters VALUES ('old@example.fr', 'Odile', NULL, NULL, '59300',
                 'FR', '[\"housing\"]', '[]', NULL, 0, 'pending', NULL,
                 '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = store.supporter("old@example.fr").await.unwrap().unwrap();
    assert_eq!(old.first_name.as_deref(), Some("Odile"));
    assert!(!old.sms);
    assert_eq!(
        old.expires_at, None,
        "a supporter from before never expires"
    );
    assert!(old.tags.is_empty() && old.external_ids.is_empty() && old.address.is_none());
    drop(store);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}
