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
            .upsert_supporter(update.clone(), EmailStatus::Pending, None, at)
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        supporter
    };

    let store = SqliteStore::open(&path).unwrap();
    let read = store.supporter("lea@example.fr").await.unwrap();
    assert_eq!(read, Some(written));
    let (how, _) = store
        .upsert_supporter(update, EmailStatus::Pending, None, at)
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
