//! Broadcasts' control records ([`estrade_functions::broadcasts`]).
//!
//! Every control record is in one partition, `BROADCASTS`, sort key
//! `BROADCAST#<name>`, so one query finds the paused ones (a campaign
//! has a few dozen broadcasts, not thousands). The counts are `ADD`ed in
//! place. A counted complaint leaves a marker item, `pk`
//! `BROADCAST#<name>`, `sk` `COMPLAINT#<message id>`, put in the same
//! transaction as the count on the condition that it does not exist yet:
//! SNS delivering the event again counts nothing.

use super::expr::{Expr, n, s};
use super::item::{Fields, KIND, time};
use super::table::{Item, PK, key};
use super::{DynamoStore, MAX_ATTEMPTS, pause, store_error, too_contended};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use estrade_functions::broadcasts::BroadcastControl;
use estrade_functions::store::StoreResult;
use jiff::Timestamp;
use std::collections::BTreeSet;

const PARTITION: &str = "BROADCASTS";
const PREFIX: &str = "BROADCAST#";

fn control_key(name: &str) -> Item {
    key(PARTITION.to_owned(), format!("{PREFIX}{name}"))
}

fn control_from(item: &Item) -> StoreResult<BroadcastControl> {
    let read = Fields::new(item, "broadcast");
    Ok(BroadcastControl {
        name: read.text("name")?.to_owned(),
        paused: read.flag("paused")?,
        reason: read.optional_text("reason")?,
        changed_at: read
            .optional_text("changed_at")?
            .map(|at| at.parse().map_err(|_| read.malformed("changed_at")))
            .transpose()?,
        sent: read.number("sent")?,
        complained: read.number("complained")?,
        sent_at_resume: read.number("sent_at_resume")?,
        complained_at_resume: read.number("complained_at_resume")?,
    })
}

/// `SET kind, name`: what every write of a control record sets, so the
/// first one makes a readable record.
fn identify(expr: &mut Expr, name: &str) -> String {
    format!(
        "{} = {}, {} = {}",
        expr.name(KIND),
        expr.value("kind", s("broadcast")),
        expr.name("name"),
        expr.value("name", s(name)),
    )
}

impl DynamoStore {
    pub(super) async fn broadcast_control(
        &self,
        name: &str,
    ) -> StoreResult<Option<BroadcastControl>> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(control_key(name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem (broadcast)", err))?;
        read.item.as_ref().map(control_from).transpose()
    }

    /// The names of the paused broadcasts.
    pub(super) async fn paused_broadcasts(&self) -> StoreResult<BTreeSet<String>> {
        let items = self
            .partition_items(PARTITION.to_owned(), PREFIX, "Query (broadcasts)")
            .await?;
        let mut paused = BTreeSet::new();
        for item in &items {
            let control = control_from(item)?;
            if control.paused {
                paused.insert(control.name);
            }
        }
        Ok(paused)
    }

    async fn update_control(
        &self,
        name: &str,
        expr: Expr,
        update: String,
    ) -> StoreResult<BroadcastControl> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(control_key(name)))
            .update_expression(update)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|err| store_error("UpdateItem (broadcast)", err))?;
        control_from(&updated.attributes.unwrap_or_default())
    }

    pub(super) async fn pause_broadcast(
        &self,
        name: &str,
        reason: Option<String>,
        at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        let mut expr = Expr::new();
        let mut update = format!(
            "SET {}, {} = {}, {} = {}",
            identify(&mut expr, name),
            expr.name("paused"),
            expr.value("paused", AttributeValue::Bool(reason.is_some())),
            expr.name("changed_at"),
            expr.value("at", time(at)),
        );
        match reason {
            Some(reason) => update.push_str(&format!(
                ", {} = {}",
                expr.name("reason"),
                expr.value("reason", s(reason))
            )),
            None => {
                let zero = expr.value("zero", n(0));
                update.push_str(&format!(
                    ", {} = if_not_exists({}, {zero}), {} = if_not_exists({}, {zero}) REMOVE {}",
                    expr.name("sent_at_resume"),
                    expr.name("sent"),
                    expr.name("complained_at_resume"),
                    expr.name("complained"),
                    expr.name("reason"),
                ));
            }
        }
        self.update_control(name, expr, update).await
    }

    pub(super) async fn count_sent(&self, name: &str) -> StoreResult<BroadcastControl> {
        let mut expr = Expr::new();
        let update = format!(
            "SET {} ADD {} {}",
            identify(&mut expr, name),
            expr.name("sent"),
            expr.value("one", n(1)),
        );
        self.update_control(name, expr, update).await
    }

    pub(super) async fn count_complaint(
        &self,
        name: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<BroadcastControl>> {
        for attempt in 0..MAX_ATTEMPTS {
            let mut marker = key(format!("{PREFIX}{name}"), format!("COMPLAINT#{message_id}"));
            marker.insert(KIND.to_owned(), s("broadcast_complaint"));
            marker.insert("at".to_owned(), time(at));
            let mut put = Expr::new();
            let condition = format!("attribute_not_exists({})", put.name(PK));
            let put = put.put(&self.table, marker, Some(&condition))?;
            let mut expr = Expr::new();
            let update = format!(
                "SET {} ADD {} {}",
                identify(&mut expr, name),
                expr.name("complained"),
                expr.value("one", n(1)),
            );
            let count = expr.update(&self.table, control_key(name), &update, None)?;
            match self
                .transact("broadcast complaint", vec![put, count])
                .await?
            {
                None => {
                    let control = self.broadcast_control(name).await?;
                    return Ok(Some(control.unwrap_or_else(|| BroadcastControl::new(name))));
                }
                Some(cancelled) if cancelled.failed(0) => return Ok(None),
                Some(cancelled) if cancelled.is_contention() => pause(attempt).await,
                Some(cancelled) => return Err(cancelled.into_error("broadcast complaint")),
            }
        }
        Err(too_contended("broadcast complaint"))
    }
}
