//! Erasure ([`estrade_functions::people`]): everything under an address
//! deleted, its salted hash kept.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | the salt | `META` | `SALT` (`salt`, put once, only if absent) |
//! | an erased address | `FORGOTTEN#<salted hash>` | `FORGOTTEN` (`at`) |
//!
//! The supporter's partition (profile, consent records) is read with one
//! query; their registrations and queue items, kept under events and
//! queue ids, are found by a scan of the table filtered on `email`. Every
//! item is deleted on its own: an erasure interrupted half-way is run
//! again and finishes.

use super::expr::{Expr, s};
use super::item::{Fields, KIND, time};
use super::table::{CONSENT_PREFIX, Item, PK, PROFILE, SK, key, supporter_pk};
use super::{DynamoStore, store_error};
use aws_sdk_dynamodb::types::AttributeValue;
use estrade_functions::people::{Erased, forgotten_hash, new_salt};
use estrade_functions::store::{StoreError, StoreResult};
use jiff::Timestamp;

fn salt_key() -> Item {
    key("META".to_owned(), "SALT")
}

pub(super) fn forgotten_key(hash: &str) -> Item {
    key(format!("FORGOTTEN#{hash}"), "FORGOTTEN")
}

impl DynamoStore {
    /// The table's salt, put on first use (a race puts one: the others'
    /// conditions fail and they read it).
    pub(super) async fn salt(&self) -> StoreResult<String> {
        if let Some(item) = self.get(salt_key(), "GetItem (salt)").await? {
            return Ok(Fields::new(&item, "salt").text("salt")?.to_owned());
        }
        let mut item = salt_key();
        item.insert(KIND.to_owned(), s("salt"));
        item.insert("salt".to_owned(), s(new_salt().map_err(StoreError)?));
        self.put(item, Some("attribute_not_exists(pk)"), "PutItem (salt)")
            .await?;
        let item = self
            .get(salt_key(), "GetItem (salt)")
            .await?
            .unwrap_or_default();
        Ok(Fields::new(&item, "salt").text("salt")?.to_owned())
    }

    async fn delete(&self, item: &Item) -> StoreResult<()> {
        let (Some(pk), Some(sk)) = (item.get(PK), item.get(SK)) else {
            return Ok(());
        };
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, pk.clone())
            .key(SK, sk.clone())
            .send()
            .await
            .map_err(|err| store_error("DeleteItem (erase)", err))?;
        Ok(())
    }

    pub(super) async fn erase(&self, email: &str, at: Timestamp) -> StoreResult<Erased> {
        let mut erased = Erased::default();
        let own = self
            .partition_items(supporter_pk(email), "", "Query (erase)")
            .await?;
        for item in &own {
            match item.get(SK).and_then(|v| v.as_s().ok()) {
                Some(sk) if sk == PROFILE => erased.supporter = true,
                Some(sk) if sk.starts_with(CONSENT_PREFIX) => erased.consents += 1,
                _ => {}
            }
            self.delete(item).await?;
        }
        let mut after = None;
        loop {
            let mut expr = Expr::new();
            let kind = expr.name(KIND);
            let filter = format!(
                "{} = {} AND ({kind} = {} OR {kind} = {})",
                expr.name("email"),
                expr.value("email", s(email)),
                expr.value("rsvp", s("rsvp")),
                expr.value("outgoing", s("outgoing")),
            );
            let page = self
                .scan_page("Scan (erase)", expr, &filter, &[PK, SK, KIND], after, 1_000)
                .await?;
            for item in &page.items {
                match item
                    .get(KIND)
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                {
                    Some("rsvp") => erased.rsvps += 1,
                    _ => erased.queued += 1,
                }
                self.delete(item).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut item = forgotten_key(&forgotten_hash(&self.salt().await?, email));
        item.insert(KIND.to_owned(), s("forgotten"));
        item.insert("at".to_owned(), time(at));
        // Erased before: the first date stays.
        self.put(
            item,
            Some("attribute_not_exists(pk)"),
            "PutItem (forgotten)",
        )
        .await?;
        Ok(erased)
    }

    pub(super) async fn forgotten_at(&self, email: &str) -> StoreResult<Option<Timestamp>> {
        let hash = forgotten_hash(&self.salt().await?, email);
        let Some(item) = self
            .get(forgotten_key(&hash), "GetItem (forgotten)")
            .await?
        else {
            return Ok(None);
        };
        forgotten_from(&item).map(Some)
    }
}

/// When the address of a suppression-list item was erased.
pub(super) fn forgotten_from(item: &Item) -> StoreResult<Timestamp> {
    let read = Fields::new(item, "forgotten");
    match item.get("at") {
        Some(AttributeValue::S(at)) => at.parse().map_err(|_| read.malformed("at")),
        _ => Err(read.malformed("at")),
    }
}
