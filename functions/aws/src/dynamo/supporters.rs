//! Supporters and their consent history.

use super::expr::{Expr, n, s};
use super::item::{
    Fields, consent_from, consent_item, string_set, supporter_from, supporter_item, time,
};
use super::table::{CONSENT_PREFIX, EXPIRES_AT, Item, PK, PROFILE, SK, key, supporter_pk};
use super::{DynamoStore, MAX_ATTEMPTS, pause, store_error, too_contended};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, TransactWriteItem, WriteRequest};
use estrade_domain::supporter::{ConsentRecord, EmailStatus, Supporter, SupporterUpdate, expiry};
use estrade_functions::store::{StoreError, StoreResult, Upserted};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// What a signup does to the stored status ([`EmailStatus::merge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusRule {
    /// Any status but pending replaces the stored one.
    Set,
    /// A pending signup makes any stored status pending, except confirmed:
    /// tried under the condition that the stored status is not confirmed
    /// and, when the signup waits for a confirmation, that the supporter
    /// began as an unconfirmed signup (their expiry is renewed)...
    PendingUnlessConfirmed,
    /// ...then, for a supporter held before without an expiry
    /// (unsubscribed, imported), pending with no expiry: what was held
    /// stays...
    PendingHeld,
    /// ...and, when the status is confirmed, bounced or complained
    /// ([`EmailStatus::merge`]), it is left alone.
    KeepConfirmed,
}

/// The statuses a pending signup leaves as they are, as the values of a
/// condition's `IN (...)`.
fn kept_statuses(expr: &mut Expr) -> String {
    [
        EmailStatus::Confirmed,
        EmailStatus::Bounced,
        EmailStatus::Complained,
    ]
    .iter()
    .map(|status| expr.value(status.as_str(), s(status.as_str())))
    .collect::<Vec<_>>()
    .join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Put the new supporter, if there is none.
    Create,
    /// Merge into the stored one, if there is one.
    Merge(StatusRule),
}

impl DynamoStore {
    pub(super) async fn read_supporter(&self, email: &str) -> StoreResult<Option<Supporter>> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(supporter_pk(email), PROFILE)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem", err))?;
        read.item.as_ref().map(supporter_from).transpose()
    }

    pub(super) async fn upsert(
        &self,
        update: SupporterUpdate,
        status: EmailStatus,
        consents: Vec<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<(Upserted, Supporter)> {
        let merge_rule = if status == EmailStatus::Pending {
            StatusRule::PendingUnlessConfirmed
        } else {
            StatusRule::Set
        };
        let mut step = Step::Create;
        for attempt in 0..MAX_ATTEMPTS {
            // The consent records share the supporter's expiry.
            let (write, expires_at) = match step {
                Step::Create => {
                    let new = Supporter::new(update.clone(), status, at);
                    let mut expr = Expr::new();
                    // An unconfirmed supporter past their expiry is gone,
                    // though the TTL may not have deleted them yet.
                    let condition = format!(
                        "attribute_not_exists({}) OR {} <= {}",
                        expr.name(PK),
                        expr.name(EXPIRES_AT),
                        expr.value("now", n(at.as_second()))
                    );
                    let write = expr.put(&self.table, supporter_item(&new), Some(&condition))?;
                    (write, new.expires_at)
                }
                Step::Merge(rule) => {
                    let expires = match rule {
                        StatusRule::Set | StatusRule::KeepConfirmed | StatusRule::PendingHeld => {
                            None
                        }
                        StatusRule::PendingUnlessConfirmed => {
                            expiry(EmailStatus::Pending, update.until_confirmed, at)
                        }
                    };
                    let write = self.merge_write(&update, status, rule, at)?;
                    (write, expires)
                }
            };
            let mut items = vec![write];
            for consent in &consents {
                let item = consent_item(consent, expires_at)?;
                items.push(Expr::new().put(&self.table, item, None)?);
            }
            let Some(cancelled) = self.transact("TransactWriteItems (signup)", items).await? else {
                match step {
                    Step::Create => {
                        return Ok((Upserted::Created, Supporter::new(update, status, at)));
                    }
                    Step::Merge(_) => match self.read_supporter(&update.email).await? {
                        Some(merged) => return Ok((Upserted::Updated, merged)),
                        // Erased in between: start over.
                        None => {
                            step = Step::Create;
                            continue;
                        }
                    },
                }
            };
            if cancelled.is_contention() {
                pause(attempt).await;
                continue;
            }
            if !cancelled.failed(0) {
                return Err(cancelled.into_error("TransactWriteItems (signup)"));
            }
            step = match step {
                Step::Create => Step::Merge(merge_rule),
                Step::Merge(StatusRule::PendingUnlessConfirmed) if update.until_confirmed => {
                    Step::Merge(StatusRule::PendingHeld)
                }
                Step::Merge(StatusRule::PendingUnlessConfirmed | StatusRule::PendingHeld) => {
                    Step::Merge(StatusRule::KeepConfirmed)
                }
                Step::Merge(_) => Step::Create,
            };
        }
        Err(too_contended("TransactWriteItems (signup)"))
    }

    /// The merge of [`Supporter::merge`] as one update expression, applied
    /// by DynamoDB to the stored item: values the form gave replace the
    /// stored ones, sets are added to, the first recruiter and the creation
    /// time stay.
    fn merge_write(
        &self,
        update: &SupporterUpdate,
        status: EmailStatus,
        rule: StatusRule,
        at: Timestamp,
    ) -> StoreResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let mut sets = vec![format!(
            "{} = {}",
            expr.name("updated_at"),
            expr.value("updated_at", time(at))
        )];
        let given = [
            ("first_name", &update.first_name),
            ("last_name", &update.last_name),
            ("phone", &update.phone),
            ("postcode", &update.postcode),
            ("country", &update.country),
            ("availability", &update.availability),
        ];
        for (attribute, value) in given {
            if let Some(value) = value {
                sets.push(format!(
                    "{} = {}",
                    expr.name(attribute),
                    expr.value(attribute, s(value))
                ));
            }
        }
        if let Some(recruiter) = &update.recruiter {
            let name = expr.name("recruiter");
            let value = expr.value("recruiter", s(recruiter));
            sets.push(format!("{name} = if_not_exists({name}, {value})"));
        }
        for (attribute, given) in [("volunteer", update.volunteer), ("sms", update.sms)] {
            if given {
                let name = expr.name(attribute);
                let value = expr.value(attribute, AttributeValue::Bool(true));
                sets.push(format!("{name} = {value}"));
            }
        }
        // The expiry follows the status the write leaves ([`expiry`]).
        // (A name given to DynamoDB must be used: each arm names its own.)
        let mut removes = Vec::new();
        match rule {
            StatusRule::PendingUnlessConfirmed if update.until_confirmed => {
                let end = expiry(EmailStatus::Pending, true, at).map_or(0, Timestamp::as_second);
                let name = expr.name(EXPIRES_AT);
                sets.push(format!("{name} = {}", expr.value("expires", n(end))));
            }
            StatusRule::PendingUnlessConfirmed | StatusRule::Set => {
                removes.push(expr.name(EXPIRES_AT));
            }
            StatusRule::PendingHeld | StatusRule::KeepConfirmed => {}
        }
        let status_name = expr.name("status");
        let mut condition = format!("attribute_exists({})", expr.name(PK));
        match rule {
            StatusRule::Set => {
                sets.push(format!(
                    "{status_name} = {}",
                    expr.value("status", s(status.as_str()))
                ));
            }
            StatusRule::PendingUnlessConfirmed | StatusRule::PendingHeld => {
                let pending = expr.value("status", s(EmailStatus::Pending.as_str()));
                let kept = kept_statuses(&mut expr);
                sets.push(format!("{status_name} = {pending}"));
                condition.push_str(&format!(" AND NOT ({status_name} IN ({kept}))"));
                if update.until_confirmed {
                    let expires = expr.name(EXPIRES_AT);
                    condition.push_str(&if rule == StatusRule::PendingHeld {
                        format!(" AND attribute_not_exists({expires})")
                    } else {
                        format!(" AND attribute_exists({expires})")
                    });
                }
            }
            StatusRule::KeepConfirmed => {
                let kept = kept_statuses(&mut expr);
                condition.push_str(&format!(" AND {status_name} IN ({kept})"));
            }
        }
        let mut adds = Vec::new();
        for (attribute, values) in [("interests", &update.interests), ("skills", &update.skills)] {
            if let Some(set) = string_set(values) {
                adds.push(format!(
                    "{} {}",
                    expr.name(attribute),
                    expr.value(attribute, set)
                ));
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !adds.is_empty() {
            expression.push_str(&format!(" ADD {}", adds.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let key = key(supporter_pk(&update.email), PROFILE);
        expr.update(&self.table, key, &expression, Some(&condition))
    }

    pub(super) async fn write_status(
        &self,
        email: &str,
        status: EmailStatus,
        consent: Option<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        // Any status but pending ends the expiry of the supporter and of
        // the consent records that shared it.
        let ends_expiry = status != EmailStatus::Pending;
        let expiring = if ends_expiry {
            self.expiring_consents(email).await?
        } else {
            Vec::new()
        };
        // One transaction holds 100 writes; a longer list (hundreds of
        // unconfirmed signups of one address) is finished after it.
        let (now, after) = expiring.split_at(expiring.len().min(MAX_EXPIRY_WRITES));
        for attempt in 0..MAX_ATTEMPTS {
            let mut expr = Expr::new();
            let mut expression = format!(
                "SET {} = {}, {} = {}",
                expr.name("status"),
                expr.value("status", s(status.as_str())),
                expr.name("updated_at"),
                expr.value("updated_at", time(at)),
            );
            if ends_expiry {
                expression.push_str(&format!(" REMOVE {}", expr.name(EXPIRES_AT)));
            }
            let condition = format!("attribute_exists({})", expr.name(PK));
            let key = key(supporter_pk(email), PROFILE);
            let mut items = vec![expr.update(&self.table, key, &expression, Some(&condition))?];
            if let Some(consent) = &consent {
                items.push(Expr::new().put(&self.table, consent_item(consent, None)?, None)?);
            }
            for sk in now {
                items.push(keep_forever(&self.table, email, sk)?);
            }
            let Some(cancelled) = self.transact("TransactWriteItems (status)", items).await? else {
                for chunk in after.chunks(MAX_EXPIRY_WRITES) {
                    let items = chunk
                        .iter()
                        .map(|sk| keep_forever(&self.table, email, sk))
                        .collect::<StoreResult<Vec<_>>>()?;
                    if let Some(cancelled) =
                        self.transact("TransactWriteItems (expiry)", items).await?
                    {
                        return Err(cancelled.into_error("TransactWriteItems (expiry)"));
                    }
                }
                return Ok(true);
            };
            if cancelled.is_contention() {
                pause(attempt).await;
            } else if cancelled.failed(0) {
                return Ok(false);
            } else {
                return Err(cancelled.into_error("TransactWriteItems (status)"));
            }
        }
        Err(too_contended("TransactWriteItems (status)"))
    }

    /// Ends the expiry of the consent records of `email` (a pending
    /// supporter the import keeps for good), in transactions of at most
    /// [`MAX_EXPIRY_WRITES`].
    pub(super) async fn keep_consents(&self, email: &str) -> StoreResult<()> {
        let expiring = self.expiring_consents(email).await?;
        for chunk in expiring.chunks(MAX_EXPIRY_WRITES) {
            let items = chunk
                .iter()
                .map(|sk| keep_forever(&self.table, email, sk))
                .collect::<StoreResult<Vec<_>>>()?;
            if let Some(cancelled) = self.transact("TransactWriteItems (expiry)", items).await? {
                return Err(cancelled.into_error("TransactWriteItems (expiry)"));
            }
        }
        Ok(())
    }

    /// Sort keys of the supporter's consent records that expire.
    async fn expiring_consents(&self, email: &str) -> StoreResult<Vec<String>> {
        let items = self
            .partition_items(supporter_pk(email), CONSENT_PREFIX, "Query (consents)")
            .await?;
        Ok(items
            .iter()
            .filter(|item| item.contains_key(EXPIRES_AT))
            .filter_map(|item| match item.get(SK) {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            })
            .collect())
    }

    pub(super) async fn drop_interests(
        &self,
        email: &str,
        interests: &BTreeSet<String>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let mut expr = Expr::new();
        let mut expression = format!(
            "SET {} = {}",
            expr.name("updated_at"),
            expr.value("updated_at", time(at))
        );
        if let Some(gone) = string_set(interests) {
            expression.push_str(&format!(
                " DELETE {} {}",
                expr.name("interests"),
                expr.value("gone", gone)
            ));
        }
        let condition = format!("attribute_exists({})", expr.name(PK));
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(supporter_pk(email), PROFILE)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error("UpdateItem (interests)", err)),
        }
    }

    pub(super) async fn consent_history(&self, email: &str) -> StoreResult<Vec<ConsentRecord>> {
        let items = self
            .partition_items(supporter_pk(email), "", "Query (consents)")
            .await?;
        // Records of an earlier, expired signup of the address may wait
        // for the TTL still: they expired before the supporter was made.
        let created = items
            .iter()
            .find(|item| matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == PROFILE))
            .map(supporter_from)
            .transpose()?
            .map(|supporter| supporter.created_at);
        let mut history = Vec::new();
        for item in &items {
            let is_consent = matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk.starts_with(CONSENT_PREFIX));
            if !is_consent {
                continue;
            }
            let expired = match (Fields::new(item, "consent record").expiry()?, created) {
                (Some(end), Some(created)) => end <= created,
                _ => false,
            };
            if !expired {
                history.push(consent_from(item)?);
            }
        }
        // The sort key is in time order already, but only for times after
        // 1970 (a negative second count sorts as text, not as a number).
        history.sort_by_key(|record| record.at);
        Ok(history)
    }
}

/// The most consent records whose expiry one status change ends in its
/// own transaction (with the profile and a new record: 100 in all).
const MAX_EXPIRY_WRITES: usize = 98;

/// Ends the expiry of one consent record, if it is still there.
fn keep_forever(table: &str, email: &str, sk: &str) -> StoreResult<TransactWriteItem> {
    let mut expr = Expr::new();
    let expression = format!("REMOVE {}", expr.name(EXPIRES_AT));
    let condition = format!("attribute_exists({})", expr.name(PK));
    expr.update(
        table,
        key(supporter_pk(email), sk),
        &expression,
        Some(&condition),
    )
}

impl DynamoStore {
    /// Writes `supporters` as they are, 25 to a request (BatchWriteItem),
    /// with no consent history and no condition: a supporter already
    /// stored under the same address is replaced. Made for filling an
    /// empty table fast (the sender's benchmark); forms and imports go
    /// through [`Store::upsert_supporter`](estrade_functions::store::Store::upsert_supporter)
    /// and [`Store::import_people`](estrade_functions::store::Store::import_people),
    /// which merge and record consent.
    pub async fn put_supporters(&self, supporters: &[Supporter]) -> StoreResult<()> {
        for batch in supporters.chunks(ITEMS_PER_BATCH) {
            let items = batch.iter().map(supporter_item).collect();
            self.batch_put(items, "BatchWriteItem (supporters)").await?;
        }
        Ok(())
    }

    /// Puts up to [`ITEMS_PER_BATCH`] items in one BatchWriteItem, without
    /// conditions, sending again what DynamoDB leaves unwritten.
    pub(super) async fn batch_put(&self, items: Vec<Item>, operation: &str) -> StoreResult<()> {
        let mut writes: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|_| StoreError(format!("DynamoDB {operation}: no item")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<_>>()?;
        let mut attempt = 0;
        while !writes.is_empty() {
            if attempt == MAX_ATTEMPTS {
                return Err(too_contended(operation));
            }
            if attempt > 0 {
                pause(attempt).await;
            }
            attempt += 1;
            let written = self
                .client
                .batch_write_item()
                .request_items(&self.table, writes)
                .send()
                .await
                .map_err(|e| store_error(operation, e))?;
            // What DynamoDB left unwritten (throttled) is tried again.
            writes = written
                .unprocessed_items
                .and_then(|mut left| left.remove(&self.table))
                .unwrap_or_default();
        }
        Ok(())
    }
}

/// The most items DynamoDB takes in one BatchWriteItem.
pub(super) const ITEMS_PER_BATCH: usize = 25;
