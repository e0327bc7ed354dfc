//! The send queue ([`estrade_functions::queue`]) in the table.
//!
//! One item per [`Outgoing`]: `pk` `OUTGOING#<id>`, `sk` `ITEM`. The
//! sparse index `queue` lists each unfinished item under its state with a
//! time (milliseconds, zero-padded, then the id) that says when something
//! may be done with it: `due` by its due time, `claimed` by the end of its
//! lease, `sending` by when the send began. Claiming reads `due` and
//! `claimed` up to now; a finished item leaves the index. Every change of state is an update
//! conditioned on the state (and the claim's token) it expects, so two
//! senders reading the same index page never both win an item: the index
//! is only where to look.

use super::expr::{Expr, n, s};
use super::item::Fields;
use super::table::{Item, PK, QUEUE, QUEUE_INDEX, QUEUE_KEY, key};
use super::{DynamoStore, store_error};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use estrade_functions::queue::{Outgoing, SendState, Settle, Source};
use estrade_functions::store::{StoreError, StoreResult};
use jiff::Timestamp;
use std::collections::BTreeSet;
use tokio::task::JoinSet;

const ITEM: &str = "ITEM";
const DUE: &str = "due";
const CLAIMED: &str = "claimed";
const SENDING: &str = "sending";

/// Conditional puts of [`DynamoStore::queue_items`] in flight at once.
const PUTS_AT_ONCE: usize = 16;

type PutOutcome = Result<(), SdkError<PutItemError, HttpResponse>>;

/// 1 when the next put to finish added its item, 0 when the item was
/// there already.
async fn settled_put(puts: &mut JoinSet<PutOutcome>) -> StoreResult<usize> {
    match puts.join_next().await {
        Some(Ok(Ok(()))) => Ok(1),
        Some(Ok(Err(err)))
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(0)
        }
        Some(Ok(Err(err))) => Err(store_error("PutItem (queue)", err)),
        Some(Err(_)) => Err(StoreError(
            "PutItem (queue): the request's task failed".into(),
        )),
        None => Ok(0),
    }
}

/// Pages of the queue index one claim reads at most while a broadcast
/// is paused.
const MAX_PAGES: usize = 8;

/// Whether a listed item belongs to one of the `paused` broadcasts.
fn of_paused(item: &Item, paused: &BTreeSet<String>) -> bool {
    let Some(AttributeValue::S(source)) = item.get("source") else {
        return false;
    };
    matches!(
        serde_json::from_str::<Source>(source),
        Ok(Source::Broadcast { broadcast }) if paused.contains(&broadcast)
    )
}

fn outgoing_pk(id: &str) -> String {
    format!("OUTGOING#{id}")
}

/// `000001803895200000#<id>`: sorts as the time does.
fn queue_key(millis: i64, id: &str) -> String {
    format!("{:018}#{id}", millis.max(0))
}

fn item_of(outgoing: &Outgoing) -> StoreResult<Item> {
    let source = serde_json::to_string(&outgoing.source)
        .map_err(|_| StoreError("a queue source could not be serialised".into()))?;
    let due = outgoing.due_at.as_millisecond();
    let mut item = key(outgoing_pk(&outgoing.id), ITEM);
    item.extend([
        ("kind".to_owned(), s("outgoing")),
        ("id".to_owned(), s(&outgoing.id)),
        ("email".to_owned(), s(&outgoing.email)),
        ("template".to_owned(), s(&outgoing.template)),
        ("due_ms".to_owned(), n(due)),
        ("source".to_owned(), s(source)),
        ("state".to_owned(), s(outgoing.state.as_str())),
        ("attempts".to_owned(), n(outgoing.attempts)),
        ("updated_at".to_owned(), s(outgoing.updated_at.to_string())),
    ]);
    if outgoing.state == SendState::Queued {
        item.insert(QUEUE.to_owned(), s(DUE));
        item.insert(QUEUE_KEY.to_owned(), s(queue_key(due, &outgoing.id)));
    }
    Ok(item)
}

fn outgoing_from(item: &Item) -> StoreResult<Outgoing> {
    let read = Fields::new(item, "queue item");
    let number = |attribute: &str| -> StoreResult<i64> {
        match item.get(attribute) {
            Some(AttributeValue::N(text)) => text.parse().map_err(|_| read.malformed(attribute)),
            _ => Err(read.malformed(attribute)),
        }
    };
    Ok(Outgoing {
        id: read.text("id")?.to_owned(),
        email: read.text("email")?.to_owned(),
        template: read.text("template")?.to_owned(),
        due_at: Timestamp::from_millisecond(number("due_ms")?)
            .map_err(|_| read.malformed("due_ms"))?,
        source: serde_json::from_str::<Source>(read.text("source")?)
            .map_err(|_| read.malformed("source"))?,
        state: SendState::parse(read.text("state")?).ok_or_else(|| read.malformed("state"))?,
        attempts: u32::try_from(number("attempts")?).map_err(|_| read.malformed("attempts"))?,
        message_id: match item.get("message_id") {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        },
        updated_at: read
            .text("updated_at")?
            .parse()
            .map_err(|_| read.malformed("updated_at"))?,
    })
}

impl DynamoStore {
    /// Puts each item unless its id is known, [`PUTS_AT_ONCE`] requests in
    /// flight (DynamoDB has no conditional batch write): a broadcast to
    /// many would otherwise wait for one round trip per recipient. On an
    /// error the puts still running are dropped; those already made stay,
    /// which queueing again leaves as they are.
    pub(super) async fn queue_items(&self, items: Vec<Outgoing>) -> StoreResult<usize> {
        let mut added = 0;
        let mut puts = JoinSet::new();
        for outgoing in &items {
            if puts.len() >= PUTS_AT_ONCE {
                added += settled_put(&mut puts).await?;
            }
            let mut expr = Expr::new();
            let condition = format!("attribute_not_exists({})", expr.name(PK));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_of(outgoing)?))
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names());
            puts.spawn(async move { put.send().await.map(|_| ()) });
        }
        while !puts.is_empty() {
            added += settled_put(&mut puts).await?;
        }
        Ok(added)
    }

    /// The items listed under `queue` whose time is at most `upto`, but
    /// for those of the broadcasts in `paused`.
    ///
    /// With nothing paused, one page of `limit`. Otherwise DynamoDB's
    /// `Limit` would count the skipped items too, so whole pages are read
    /// until `limit` are found, [`MAX_PAGES`] at most: a paused backlog
    /// larger than that (about ten thousand items) does keep later items
    /// waiting until it is resumed.
    async fn listed(
        &self,
        queue: &str,
        upto: i64,
        limit: usize,
        paused: &BTreeSet<String>,
    ) -> StoreResult<Vec<Item>> {
        if paused.is_empty() {
            return self
                .listed_page(queue, upto, Some(limit), None)
                .await
                .map(|p| p.0);
        }
        let mut found = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let (items, next) = self.listed_page(queue, upto, None, start).await?;
            found.extend(items.into_iter().filter(|item| !of_paused(item, paused)));
            if found.len() >= limit || next.is_none() {
                break;
            }
            start = next;
        }
        found.truncate(limit);
        Ok(found)
    }

    /// One page of [`Self::listed`], and where the next one starts.
    async fn listed_page(
        &self,
        queue: &str,
        upto: i64,
        limit: Option<usize>,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let mut expr = Expr::new();
        let condition = format!(
            "{} = {} AND {} <= {}",
            expr.name(QUEUE),
            expr.value("queue", s(queue)),
            expr.name(QUEUE_KEY),
            // `~` sorts after every id character: all of that millisecond.
            expr.value("upto", s(format!("{:018}#~", upto.max(0)))),
        );
        let found = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(QUEUE_INDEX)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .set_limit(limit.map(|limit| i32::try_from(limit.max(1)).unwrap_or(i32::MAX)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|err| store_error("Query (queue)", err))?;
        Ok((found.items.unwrap_or_default(), found.last_evaluated_key))
    }

    /// Runs one conditional update of a queue item; the item after it,
    /// or `None` when the condition did not hold.
    async fn change(
        &self,
        id: &str,
        expr: Expr,
        update: String,
        condition: String,
    ) -> StoreResult<Option<Outgoing>> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(outgoing_pk(id), ITEM)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(done) => done.attributes.as_ref().map(outgoing_from).transpose(),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(store_error("UpdateItem (queue)", err)),
        }
    }

    pub(super) async fn claim(
        &self,
        now: Timestamp,
        until: Timestamp,
        token: &str,
        limit: usize,
    ) -> StoreResult<Vec<Outgoing>> {
        let paused = self.paused_broadcasts().await?;
        let upto = now.as_millisecond();
        let mut listed = self.listed(DUE, upto, limit, &paused).await?;
        listed.extend(self.listed(CLAIMED, upto, limit, &paused).await?);
        let mut claimed = Vec::with_capacity(limit.min(listed.len()));
        for item in &listed {
            if claimed.len() >= limit {
                break;
            }
            let Ok(id) = Fields::new(item, "queue item").text("id") else {
                continue;
            };
            let mut expr = Expr::new();
            let state = expr.name("state");
            let lease = expr.name("lease_until");
            let update = format!(
                "SET {state} = {}, {} = {}, {lease} = {}, {} = {}, {} = {}, {} = {}",
                expr.value("claimed", s(SendState::Claimed.as_str())),
                expr.name("token"),
                expr.value("token", s(token)),
                expr.value("until", n(until.as_millisecond())),
                expr.name("updated_at"),
                expr.value("at", s(now.to_string())),
                expr.name(QUEUE),
                expr.value("queue", s(CLAIMED)),
                expr.name(QUEUE_KEY),
                expr.value("key", s(queue_key(until.as_millisecond(), id))),
            );
            let condition = format!(
                "{} <= {now_ms} AND ({state} = {} OR ({state} = {} AND {lease} <= {now_ms}))",
                expr.name("due_ms"),
                expr.value("queued", s(SendState::Queued.as_str())),
                expr.value("was_claimed", s(SendState::Claimed.as_str())),
                now_ms = expr.value("now", n(now.as_millisecond())),
            );
            if let Some(outgoing) = self.change(id, expr, update, condition).await? {
                claimed.push(outgoing);
            }
        }
        claimed.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(claimed)
    }

    pub(super) async fn settle_item(&self, settle: Settle) -> StoreResult<bool> {
        let mut expr = Expr::new();
        let mut sets = vec![
            format!(
                "{} = {}",
                expr.name("state"),
                expr.value("to", s(settle.to.as_str()))
            ),
            format!(
                "{} = {}",
                expr.name("updated_at"),
                expr.value("at", s(settle.at.to_string()))
            ),
        ];
        let mut removes = Vec::new();
        let mut adds = Vec::new();
        if let Some(message_id) = &settle.message_id {
            sets.push(format!(
                "{} = {}",
                expr.name("message_id"),
                expr.value("message_id", s(message_id))
            ));
        }
        match settle.to {
            SendState::Queued => {
                let due = settle.due_at.unwrap_or(settle.at).as_millisecond();
                sets.push(format!(
                    "{} = {}",
                    expr.name("due_ms"),
                    expr.value("due", n(due))
                ));
                sets.push(format!(
                    "{} = {}",
                    expr.name(QUEUE),
                    expr.value("queue", s(DUE))
                ));
                sets.push(format!(
                    "{} = {}",
                    expr.name(QUEUE_KEY),
                    expr.value("key", s(queue_key(due, &settle.id)))
                ));
                removes.extend([expr.name("token"), expr.name("lease_until")]);
                // Handed back before the mailer had it: not an attempt.
                if settle.from == SendState::Sending {
                    adds.push(format!(
                        "{} {}",
                        expr.name("attempts"),
                        expr.value("one", n(1))
                    ));
                }
            }
            SendState::Sending => {
                // Listed under the end of its lease, for `stalled`.
                sets.push(format!(
                    "{} = {}",
                    expr.name(QUEUE),
                    expr.value("queue", s(SENDING))
                ));
                sets.push(format!(
                    "{} = {}",
                    expr.name(QUEUE_KEY),
                    expr.value("key", s(queue_key(settle.at.as_millisecond(), &settle.id)))
                ));
            }
            SendState::Claimed => {}
            _ => {
                removes.extend([
                    expr.name("token"),
                    expr.name("lease_until"),
                    expr.name(QUEUE),
                    expr.name(QUEUE_KEY),
                ]);
                if settle.to == SendState::Sent {
                    adds.push(format!(
                        "{} {}",
                        expr.name("attempts"),
                        expr.value("one", n(1))
                    ));
                }
            }
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !adds.is_empty() {
            update.push_str(&format!(" ADD {}", adds.join(", ")));
        }
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let condition = format!(
            "{} = {} AND {} = {}",
            expr.name("token"),
            expr.value("token", s(&settle.token)),
            expr.name("state"),
            expr.value("from", s(settle.from.as_str())),
        );
        Ok(self
            .change(&settle.id, expr, update, condition)
            .await?
            .is_some())
    }

    pub(super) async fn stalled_items(&self, now: Timestamp) -> StoreResult<Vec<Outgoing>> {
        let mut stalled = Vec::new();
        // The key is the time the send began; the lease says when it ends.
        let all = BTreeSet::new();
        for item in self
            .listed(SENDING, now.as_millisecond(), 100, &all)
            .await?
        {
            let Ok(id) = Fields::new(&item, "queue item").text("id") else {
                continue;
            };
            let mut expr = Expr::new();
            let update = format!(
                "SET {} = {}, {} = {} REMOVE {}, {}, {}, {}",
                expr.name("state"),
                expr.value("unknown", s(SendState::Unknown.as_str())),
                expr.name("updated_at"),
                expr.value("at", s(now.to_string())),
                expr.name("token"),
                expr.name("lease_until"),
                expr.name(QUEUE),
                expr.name(QUEUE_KEY),
            );
            let condition = format!(
                "{} = {} AND {} <= {}",
                expr.name("state"),
                expr.value("sending", s(SendState::Sending.as_str())),
                expr.name("lease_until"),
                expr.value("now", n(now.as_millisecond())),
            );
            if let Some(outgoing) = self.change(id, expr, update, condition).await? {
                stalled.push(outgoing);
            }
        }
        Ok(stalled)
    }

    pub(super) async fn queue_item(&self, id: &str) -> StoreResult<Option<Outgoing>> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(outgoing_pk(id), ITEM)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem (queue)", err))?;
        read.item.as_ref().map(outgoing_from).transpose()
    }

    /// The queue items to `email`: a scan of the table filtered on the
    /// address, as erasure finds them.
    pub(super) async fn addressed_to(&self, email: &str) -> StoreResult<Vec<Outgoing>> {
        const ATTRIBUTES: [&str; 9] = [
            "id",
            "email",
            "template",
            "due_ms",
            "source",
            "state",
            "attempts",
            "message_id",
            "updated_at",
        ];
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let mut expr = Expr::new();
            let filter = format!(
                "{} = {} AND {} = {}",
                expr.name("email"),
                expr.value("email", s(email)),
                expr.name("kind"),
                expr.value("outgoing", s("outgoing")),
            );
            let page = self
                .scan_page("Scan (queued to)", expr, &filter, &ATTRIBUTES, after, 1_000)
                .await?;
            for item in &page.items {
                found.push(outgoing_from(item)?);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        found.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(found)
    }
}
