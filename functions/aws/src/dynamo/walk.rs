//! Walks through every supporter and registration for audiences: a
//! paginated `Scan` of the table, projected to the few attributes an
//! audience reads and filtered to one kind of item, so no response holds
//! more than a page (DynamoDB stops a page at 1 MB read anyway).
//!
//! A scan reads every item of the table (consent records, counters,
//! queue items too) and is billed for all of it: about 1 read unit per
//! 8 KB, so a table of a million supporters costs some tens of thousands of
//! units per walk, a few cents on demand. Supporters could be found by a
//! sparse index instead; see the README's known shortcomings.

use super::expr::{Expr, s};
use super::gifts::{GIFT_ATTRIBUTES, gift_from};
use super::item::KIND;
use super::item::{MEMBER_ATTRIBUTES, member_from, rsvp_from};
use super::table::{Item, PK, PROFILE, RSVP_PREFIX, SK, key};
use super::{DynamoStore, store_error};
use estrade_functions::gifts::Gift;
use estrade_functions::store::{Member, Page, Seat, StoreResult};
use jiff::Timestamp;

/// Splits the two keys in a cursor: no key holds it.
const SEPARATOR: char = '\u{1f}';

/// One page of the scan: the items it kept, and where the next starts.
pub(super) struct Scanned {
    pub(super) items: Vec<Item>,
    pub(super) next: Option<String>,
}

impl DynamoStore {
    /// Scans up to `limit` items from the cursor `after`, keeping those
    /// `filter` (written over `expr`) accepts, with `attributes` projected.
    pub(super) async fn scan_page(
        &self,
        operation: &str,
        mut expr: Expr,
        filter: &str,
        attributes: &[&str],
        after: Option<String>,
        limit: usize,
    ) -> StoreResult<Scanned> {
        let projection: Vec<String> = attributes.iter().map(|a| expr.name(a)).collect();
        let start = after
            .as_deref()
            .and_then(|cursor| cursor.split_once(SEPARATOR))
            .map(|(pk, sk)| key(pk.to_owned(), sk));
        let answer = self
            .client
            .scan()
            .table_name(&self.table)
            .projection_expression(projection.join(", "))
            .filter_expression(filter)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| store_error(operation, e))?;
        let next = answer.last_evaluated_key().and_then(|last| {
            let pk = last.get(PK)?.as_s().ok()?;
            let sk = last.get(SK)?.as_s().ok()?;
            Some(format!("{pk}{SEPARATOR}{sk}"))
        });
        Ok(Scanned {
            items: answer.items.unwrap_or_default(),
            next,
        })
    }

    pub(super) async fn members_page(
        &self,
        after: Option<String>,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Page<Member>> {
        let mut expr = Expr::new();
        let filter = format!("{} = {}", expr.name(SK), expr.value("profile", s(PROFILE)));
        let scanned = self
            .scan_page(
                "Scan supporters",
                expr,
                &filter,
                &MEMBER_ATTRIBUTES,
                after,
                limit,
            )
            .await?;
        let mut items = Vec::with_capacity(scanned.items.len());
        for item in &scanned.items {
            if let Some(member) = member_from(item, now)? {
                items.push(member);
            }
        }
        Ok(Page {
            items,
            next: scanned.next,
        })
    }

    pub(super) async fn seats_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreResult<Page<Seat>> {
        let mut expr = Expr::new();
        let filter = format!(
            "begins_with({}, {})",
            expr.name(SK),
            expr.value("rsvp", s(RSVP_PREFIX))
        );
        let attributes = ["event", "email", "status", "position", "at"];
        let scanned = self
            .scan_page("Scan RSVPs", expr, &filter, &attributes, after, limit)
            .await?;
        let mut items = Vec::with_capacity(scanned.items.len());
        for item in &scanned.items {
            let rsvp = rsvp_from(item)?;
            items.push(Seat {
                event: rsvp.event,
                email: rsvp.email,
                status: rsvp.status,
            });
        }
        Ok(Page {
            items,
            next: scanned.next,
        })
    }

    pub(super) async fn gifts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreResult<Page<Gift>> {
        let mut expr = Expr::new();
        let filter = format!("{} = {}", expr.name(KIND), expr.value("gift", s("gift")));
        let scanned = self
            .scan_page("Scan gifts", expr, &filter, &GIFT_ATTRIBUTES, after, limit)
            .await?;
        let items = scanned
            .items
            .iter()
            .map(gift_from)
            .collect::<StoreResult<Vec<Gift>>>()?;
        Ok(Page {
            items,
            next: scanned.next,
        })
    }
}
