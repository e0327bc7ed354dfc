//! Registrations to events: seats, the waitlist, cancellations.
//!
//! An RSVP's `at` is when it last changed: registration, cancellation or
//! promotion. Its `position` never changes, so the order of arrival
//! survives a promotion.
//!
//! The capacity is given with each call (it comes from the event's front
//! matter), not stored. A raised capacity is given to the waitlist by
//! [`DynamoStore::promote`], which the RSVP function runs before each
//! registration and after each cancellation; a lowered one promotes nobody
//! until fewer than it hold a seat, and moves nobody back to the waitlist.

use super::expr::{Expr, n, s};
use super::item::{Fields, KIND, rsvp_from, rsvp_item, rsvp_status};
use super::table::{COUNTER, PK, RSVP_PREFIX, WAITLIST_INDEX, event_pk, key, rsvp_sk};
use super::{Cancelled, DynamoStore, MAX_ATTEMPTS, pause, store_error, too_contended};
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};
use estrade_domain::supporter::{Rsvp, RsvpStatus};
use estrade_functions::store::StoreResult;
use jiff::Timestamp;

const SEATS_TAKEN: &str = "seats_taken";
const WAITLISTED: &str = "waitlisted";
const NEXT_POSITION: &str = "next_position";

/// What to do after a transaction that did not commit.
enum Retry {
    /// Another request changed what this one relied on: read again.
    Now,
    /// Nothing this request could change: give up.
    Never(Cancelled),
}

impl DynamoStore {
    pub(super) async fn register(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Rsvp> {
        const OPERATION: &str = "TransactWriteItems (rsvp)";
        let mut taken_position = None;
        for attempt in 0..MAX_ATTEMPTS {
            let existing = self.read_rsvp(event, email).await?;
            if let Some(existing) = &existing
                && existing.status != RsvpStatus::Cancelled
            {
                return Ok(existing.clone());
            }
            // One position per call, kept across retries: a lost race
            // does not send the guest to the back.
            let position = match taken_position {
                Some(position) => position,
                None => {
                    let position = self.take_position(event).await?;
                    taken_position = Some(position);
                    position
                }
            };
            let seat = Rsvp {
                event: event.to_owned(),
                email: email.to_owned(),
                status: RsvpStatus::Confirmed,
                position,
                at,
            };
            let mut counter = Expr::new();
            let seats = counter.name(SEATS_TAKEN);
            let update = format!("ADD {seats} {}", counter.value("one", n(1)));
            let full_check =
                capacity.map(|c| format!("{seats} < {}", counter.value("capacity", n(c))));
            let items = vec![
                counter.update(
                    &self.table,
                    counter_key(event),
                    &update,
                    full_check.as_deref(),
                )?,
                self.rsvp_put(&seat, existing.as_ref())?,
            ];
            let cancelled = match self.transact(OPERATION, items).await? {
                None => return Ok(seat),
                Some(cancelled) => cancelled,
            };
            let full = capacity.is_some() && cancelled.failed(0) && !cancelled.failed(1);
            if !full {
                match retry(cancelled) {
                    Retry::Now => {
                        pause(attempt).await;
                        continue;
                    }
                    Retry::Never(cancelled) => return Err(cancelled.into_error(OPERATION)),
                }
            }

            // Full: join the waitlist, as long as the event is still full.
            let waiting = Rsvp {
                status: RsvpStatus::Waitlisted,
                ..seat
            };
            let mut counter = Expr::new();
            let update = format!(
                "ADD {} {}",
                counter.name(WAITLISTED),
                counter.value("one", n(1))
            );
            let still_full = format!(
                "{} >= {}",
                counter.name(SEATS_TAKEN),
                counter.value("capacity", n(capacity.unwrap_or(0)))
            );
            let items = vec![
                counter.update(&self.table, counter_key(event), &update, Some(&still_full))?,
                self.rsvp_put(&waiting, existing.as_ref())?,
            ];
            match self.transact(OPERATION, items).await?.map(retry) {
                None => return Ok(waiting),
                Some(Retry::Now) => pause(attempt).await,
                Some(Retry::Never(cancelled)) => return Err(cancelled.into_error(OPERATION)),
            }
        }
        Err(too_contended(OPERATION))
    }

    pub(super) async fn cancel(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<(Option<Rsvp>, Option<Rsvp>)> {
        const OPERATION: &str = "TransactWriteItems (cancel rsvp)";
        for attempt in 0..MAX_ATTEMPTS {
            let current = match self.read_rsvp(event, email).await? {
                Some(current) if current.status != RsvpStatus::Cancelled => current,
                _ => return Ok((None, None)),
            };
            let cancelled = Rsvp {
                status: RsvpStatus::Cancelled,
                at,
                ..current.clone()
            };
            let mut items = vec![self.rsvp_put(&cancelled, Some(&current))?];
            let mut promoted = None;
            let mut counter = Expr::new();
            let waitlisted = counter.name(WAITLISTED);
            if current.status == RsvpStatus::Waitlisted {
                let update = format!("ADD {waitlisted} {}", counter.value("minus_one", n(-1)));
                items.push(counter.update(&self.table, counter_key(event), &update, None)?);
            } else {
                // The seat goes to the first in line, or back to the event
                // if there is none or the event is over a lowered
                // capacity; either way only if the counts are as read.
                let (taken, in_line) = self.counts(event).await?;
                let next = if in_line > 0 && capacity.is_none_or(|seats| taken <= u64::from(seats))
                {
                    self.first_waitlisted(event).await?
                } else {
                    None
                };
                let unchanged = format!(
                    "{waitlisted} = {} AND {} = {}",
                    counter.value("in_line", n(in_line)),
                    counter.name(SEATS_TAKEN),
                    counter.value("taken", n(taken))
                );
                let update = match &next {
                    Some(_) => format!("ADD {waitlisted} {}", counter.value("minus_one", n(-1))),
                    None => format!(
                        "ADD {} {}",
                        counter.name(SEATS_TAKEN),
                        counter.value("minus_one", n(-1))
                    ),
                };
                items.push(counter.update(
                    &self.table,
                    counter_key(event),
                    &update,
                    Some(&unchanged),
                )?);
                if let Some(next) = next {
                    let seated = Rsvp {
                        status: RsvpStatus::Confirmed,
                        at,
                        ..next.clone()
                    };
                    items.push(self.rsvp_put(&seated, Some(&next))?);
                    promoted = Some(seated);
                }
            }
            match self.transact(OPERATION, items).await?.map(retry) {
                None => return Ok((Some(cancelled), promoted)),
                Some(Retry::Now) => pause(attempt).await,
                Some(Retry::Never(cancelled)) => return Err(cancelled.into_error(OPERATION)),
            }
        }
        Err(too_contended(OPERATION))
    }

    /// Seats the first in line while fewer than `capacity` hold a seat,
    /// one transaction each: the counter moves a seat from the waitlist,
    /// conditioned on the counts read, with the registration's new status.
    pub(super) async fn promote(
        &self,
        event: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Vec<Rsvp>> {
        const OPERATION: &str = "TransactWriteItems (promote)";
        let mut promoted = Vec::new();
        let mut attempt = 0;
        loop {
            let (taken, in_line) = self.counts(event).await?;
            let free = capacity.is_none_or(|seats| taken < u64::from(seats));
            if in_line == 0 || !free {
                return Ok(promoted);
            }
            let Some(next) = self.first_waitlisted(event).await? else {
                return Ok(promoted);
            };
            let seated = Rsvp {
                status: RsvpStatus::Confirmed,
                at,
                ..next.clone()
            };
            let mut counter = Expr::new();
            let update = format!(
                "ADD {} {}, {} {}",
                counter.name(SEATS_TAKEN),
                counter.value("one", n(1)),
                counter.name(WAITLISTED),
                counter.value("minus_one", n(-1))
            );
            let unchanged = format!(
                "{} = {} AND {} = {}",
                counter.name(SEATS_TAKEN),
                counter.value("taken", n(taken)),
                counter.name(WAITLISTED),
                counter.value("in_line", n(in_line))
            );
            let items = vec![
                counter.update(&self.table, counter_key(event), &update, Some(&unchanged))?,
                self.rsvp_put(&seated, Some(&next))?,
            ];
            match self.transact(OPERATION, items).await?.map(retry) {
                None => promoted.push(seated),
                Some(Retry::Now) if attempt < MAX_ATTEMPTS => {
                    pause(attempt).await;
                    attempt += 1;
                }
                Some(Retry::Now) => return Err(too_contended(OPERATION)),
                Some(Retry::Never(cancelled)) => return Err(cancelled.into_error(OPERATION)),
            }
        }
    }

    pub(super) async fn registrations(&self, event: &str) -> StoreResult<Vec<Rsvp>> {
        let items = self
            .partition_items(event_pk(event), RSVP_PREFIX, "Query (rsvps)")
            .await?;
        let mut rsvps = items
            .iter()
            .map(rsvp_from)
            .collect::<StoreResult<Vec<_>>>()?;
        rsvps.sort_by_key(|rsvp| rsvp.position);
        Ok(rsvps)
    }

    async fn read_rsvp(&self, event: &str, email: &str) -> StoreResult<Option<Rsvp>> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(event_pk(event), rsvp_sk(email))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem (rsvp)", err))?;
        read.item.as_ref().map(rsvp_from).transpose()
    }

    /// The next position of arrival, from the event's counter item (made
    /// here on the first registration, with both counts at zero).
    async fn take_position(&self, event: &str) -> StoreResult<u64> {
        let mut expr = Expr::new();
        let zero = expr.value("zero", n(0));
        let update = format!(
            "SET {} = {} ADD {} {}, {} {zero}, {} {zero}",
            expr.name(KIND),
            expr.value("kind", s("event_counter")),
            expr.name(NEXT_POSITION),
            expr.value("one", n(1)),
            expr.name(SEATS_TAKEN),
            expr.name(WAITLISTED),
        );
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(counter_key(event)))
            .update_expression(update)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| store_error("UpdateItem (position)", err))?;
        let attributes = updated.attributes.unwrap_or_default();
        Fields::new(&attributes, "event counter").number(NEXT_POSITION)
    }

    /// The event counter's seats taken and registrations waiting.
    async fn counts(&self, event: &str) -> StoreResult<(u64, u64)> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counter_key(event)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem (event counter)", err))?;
        match read.item {
            Some(item) => {
                let fields = Fields::new(&item, "event counter");
                Ok((fields.number(SEATS_TAKEN)?, fields.number(WAITLISTED)?))
            }
            None => Ok((0, 0)),
        }
    }

    /// The waitlisted RSVP of lowest position, from the sparse index.
    async fn first_waitlisted(&self, event: &str) -> StoreResult<Option<Rsvp>> {
        let mut expr = Expr::new();
        let condition = format!(
            "{} = {}",
            expr.name(PK),
            expr.value("pk", s(event_pk(event)))
        );
        let found = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(WAITLIST_INDEX)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .consistent_read(true)
            .scan_index_forward(true)
            .limit(1)
            .send()
            .await
            .map_err(|err| store_error("Query (waitlist)", err))?;
        found.items().first().map(rsvp_from).transpose()
    }

    /// Puts `rsvp` if the stored registration is still `expected` (same
    /// status and position), or if there is none when `expected` is `None`.
    fn rsvp_put(&self, rsvp: &Rsvp, expected: Option<&Rsvp>) -> StoreResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let condition = match expected {
            None => format!("attribute_not_exists({})", expr.name(PK)),
            Some(expected) => format!(
                "{} = {} AND {} = {}",
                expr.name("status"),
                expr.value("status", s(rsvp_status(expected.status))),
                expr.name("position"),
                expr.value("position", n(expected.position)),
            ),
        };
        expr.put(&self.table, rsvp_item(rsvp), Some(&condition))
    }
}

fn counter_key(event: &str) -> super::table::Item {
    key(event_pk(event), COUNTER)
}

/// Contention and failed conditions mean another request got there
/// first: reading again settles it. Any other reason is a real failure.
fn retry(cancelled: Cancelled) -> Retry {
    let raced = cancelled.is_contention()
        || cancelled
            .codes
            .iter()
            .all(|code| code == "ConditionalCheckFailed" || code == "None");
    if raced {
        Retry::Now
    } else {
        Retry::Never(cancelled)
    }
}
