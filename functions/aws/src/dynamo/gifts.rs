//! Donors, gifts, donors' totals and receipt numbers
//! ([`estrade_functions::gifts`]).
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | donor | `DONOR#<key>` | `IDENTITY` (`identity`: the form's JSON) |
//! | donor's total | `DONOR#<key>` | `TOTAL#<period>` (`counted`, cents) |
//! | gift | `GIFT#<payment>` | `GIFT` |
//! | refund pointer | `PAYMENT_INTENT#<id>` | `GIFT` (`payment`) |
//! | receipt numbers | `RECEIPTS` | `ELECTION#<election>` (`last`) |
//! | handled payment event | `PAYMENT_EVENT#<id>` | `EVENT` (expires by TTL) |
//!
//! A counted gift is one transaction: the gift's put, conditioned on its
//! absence (a payment is recorded once); `ADD counted` on the donor's
//! total, conditioned on the total staying within the cap (two gifts
//! racing for the last euros: one fails its condition); the receipt
//! counter set to the number read just before plus one, conditioned on
//! it still being that number (a gift numbered meanwhile sends this one
//! round again, so numbers have no gap); the refund pointer. A gift whose
//! total condition fails is put as over the cap, counting nothing.

use super::expr::{Expr, n, s};
use super::item::{Fields, KIND, time};
use super::table::EXPIRES_AT;
use super::table::{Item, PK, key};
use super::{DynamoStore, MAX_ATTEMPTS, pause, too_contended};
use estrade_domain::donation::{Donor, Frequency};
use estrade_functions::gifts::{Gift, GiftStatus, Recorded};
use estrade_functions::store::{PAYMENT_EVENT_DAYS, StoreError, StoreResult};
use jiff::Timestamp;

const GIFT: &str = "GIFT";
/// Not `PROFILE`, which the walk of supporters looks for.
const IDENTITY: &str = "IDENTITY";

/// What a gift item holds, for the walk's projection.
pub(super) const GIFT_ATTRIBUTES: [&str; 13] = [
    "payment",
    "payment_intent",
    "event",
    "election",
    "period",
    "donor",
    "amount",
    "refunded",
    "currency",
    "frequency",
    "at",
    "status",
    "receipt",
];

fn donor_pk(key: &str) -> String {
    format!("DONOR#{key}")
}

fn total_key(period: &str, donor: &str) -> Item {
    key(donor_pk(donor), format!("TOTAL#{period}"))
}

fn gift_key(payment: &str) -> Item {
    key(format!("GIFT#{payment}"), GIFT)
}

fn pointer_key(payment_intent: &str) -> Item {
    key(format!("PAYMENT_INTENT#{payment_intent}"), GIFT)
}

fn event_key(id: &str) -> Item {
    key(format!("PAYMENT_EVENT#{id}"), "EVENT")
}

fn receipts_key(election: &str) -> Item {
    key("RECEIPTS".to_owned(), format!("ELECTION#{election}"))
}

fn gift_item(gift: &Gift) -> Item {
    let mut item = gift_key(&gift.payment);
    let mut put = |name: &str, value| {
        item.insert(name.to_owned(), value);
    };
    put(KIND, s("gift"));
    put("payment", s(&gift.payment));
    if let Some(pi) = &gift.payment_intent {
        put("payment_intent", s(pi));
    }
    put("event", s(&gift.event));
    put("election", s(&gift.election));
    put("period", s(&gift.period));
    put("donor", s(&gift.donor));
    put("amount", n(gift.amount));
    put("refunded", n(gift.refunded));
    put("currency", s(&gift.currency));
    put("frequency", s(gift.frequency.as_str()));
    put("at", time(gift.at));
    put("status", s(gift.status.as_str()));
    if let Some(receipt) = gift.receipt {
        put("receipt", n(receipt));
    }
    item
}

pub(super) fn gift_from(item: &Item) -> StoreResult<Gift> {
    let read = Fields::new(item, "gift");
    let cents = |name: &str| {
        read.number(name)
            .and_then(|v| i64::try_from(v).map_err(|_| read.malformed(name)))
    };
    Ok(Gift {
        payment: read.text("payment")?.to_owned(),
        payment_intent: read.optional_text("payment_intent")?,
        event: read.text("event")?.to_owned(),
        election: read.text("election")?.to_owned(),
        period: read.text("period")?.to_owned(),
        donor: read.text("donor")?.to_owned(),
        amount: cents("amount")?,
        refunded: cents("refunded")?,
        currency: read.text("currency")?.to_owned(),
        frequency: Frequency::parse(read.text("frequency")?)
            .ok_or_else(|| read.malformed("frequency"))?,
        at: read
            .text("at")?
            .parse::<Timestamp>()
            .map_err(|_| read.malformed("at"))?,
        status: GiftStatus::parse(read.text("status")?).ok_or_else(|| read.malformed("status"))?,
        receipt: item
            .get("receipt")
            .map(|_| read.number("receipt"))
            .transpose()?,
    })
}

impl DynamoStore {
    pub(super) async fn put_donor(&self, donor: &Donor, at: Timestamp) -> StoreResult<()> {
        let identity = serde_json::to_string(donor)
            .map_err(|_| StoreError("DynamoDB PutItem (donor): cannot write it".into()))?;
        let mut item = key(donor_pk(&donor.key()), IDENTITY);
        item.insert(KIND.to_owned(), s("donor"));
        item.insert("identity".to_owned(), s(identity));
        item.insert("updated_at".to_owned(), time(at));
        self.put(item, None, "PutItem (donor)").await?;
        Ok(())
    }

    pub(super) async fn donor_item(&self, donor: &str) -> StoreResult<Option<Donor>> {
        let Some(item) = self
            .get(key(donor_pk(donor), IDENTITY), "GetItem (donor)")
            .await?
        else {
            return Ok(None);
        };
        let read = Fields::new(&item, "donor");
        serde_json::from_str(read.text("identity")?)
            .map(Some)
            .map_err(|_| read.malformed("identity"))
    }

    pub(super) async fn total(&self, period: &str, donor: &str) -> StoreResult<i64> {
        let item = self
            .get(total_key(period, donor), "GetItem (donor total)")
            .await?
            .unwrap_or_default();
        let read = Fields::new(&item, "donor total");
        i64::try_from(read.number("counted")?).map_err(|_| read.malformed("counted"))
    }

    async fn gift(&self, payment: &str) -> StoreResult<Option<Gift>> {
        self.get(gift_key(payment), "GetItem (gift)")
            .await?
            .as_ref()
            .map(gift_from)
            .transpose()
    }

    /// The gift's put, conditioned on its absence, and its refund pointer.
    fn gift_puts(
        &self,
        gift: &Gift,
    ) -> StoreResult<Vec<aws_sdk_dynamodb::types::TransactWriteItem>> {
        let mut expr = Expr::new();
        let absent = format!("attribute_not_exists({})", expr.name(PK));
        let mut puts = vec![expr.put(&self.table, gift_item(gift), Some(&absent))?];
        if let Some(pi) = &gift.payment_intent {
            let mut pointer = pointer_key(pi);
            pointer.insert(KIND.to_owned(), s("gift_pointer"));
            pointer.insert("payment".to_owned(), s(&gift.payment));
            puts.push(Expr::new().put(&self.table, pointer, None)?);
        }
        Ok(puts)
    }

    /// Puts `gift` as over the cap: `Known` when it was recorded first.
    async fn put_over_cap(&self, gift: Gift) -> StoreResult<(Recorded, Gift)> {
        let gift = Gift {
            status: GiftStatus::OverCap,
            refunded: 0,
            receipt: None,
            ..gift
        };
        for attempt in 0..MAX_ATTEMPTS {
            match self
                .transact("gift over cap", self.gift_puts(&gift)?)
                .await?
            {
                None => return Ok((Recorded::OverCap, gift)),
                Some(cancelled) if cancelled.failed(0) => {
                    if let Some(known) = self.gift(&gift.payment).await? {
                        return Ok((Recorded::Known, known));
                    }
                    pause(attempt).await;
                }
                Some(cancelled) if cancelled.is_contention() => pause(attempt).await,
                Some(cancelled) => return Err(cancelled.into_error("gift over cap")),
            }
        }
        Err(too_contended("gift over cap"))
    }

    pub(super) async fn record(&self, gift: Gift, cap: i64) -> StoreResult<(Recorded, Gift)> {
        for attempt in 0..MAX_ATTEMPTS {
            if let Some(known) = self.gift(&gift.payment).await? {
                return Ok((Recorded::Known, known));
            }
            if gift.amount > cap {
                return self.put_over_cap(gift).await;
            }
            let last = self
                .get(receipts_key(&gift.election), "GetItem (receipts)")
                .await?
                .unwrap_or_default();
            let last = Fields::new(&last, "receipts").number("last")?;
            let counted = Gift {
                status: GiftStatus::Counted,
                refunded: 0,
                receipt: Some(last + 1),
                ..gift.clone()
            };
            let mut items = self.gift_puts(&counted)?;
            let mut expr = Expr::new();
            let room = expr.value("room", n(cap - gift.amount));
            let condition = format!(
                "attribute_not_exists({0}) OR {0} <= {room}",
                expr.name("counted")
            );
            let update = format!(
                "SET {} = {} ADD {} {}",
                expr.name(KIND),
                expr.value("kind", s("donor_total")),
                expr.name("counted"),
                expr.value("amount", n(gift.amount)),
            );
            let total = expr.update(
                &self.table,
                total_key(&gift.period, &gift.donor),
                &update,
                Some(&condition),
            )?;
            let mut expr = Expr::new();
            let condition = if last == 0 {
                format!("attribute_not_exists({})", expr.name("last"))
            } else {
                format!("{} = {}", expr.name("last"), expr.value("was", n(last)))
            };
            let update = format!(
                "SET {} = {}, {} = {}",
                expr.name("last"),
                expr.value("next", n(last + 1)),
                expr.name(KIND),
                expr.value("kind", s("receipts")),
            );
            let number = expr.update(
                &self.table,
                receipts_key(&gift.election),
                &update,
                Some(&condition),
            )?;
            // The gift first, so `failed(0)` is "recorded already".
            items.insert(1, total);
            items.insert(2, number);
            match self.transact("gift", items).await? {
                None => return Ok((Recorded::Counted, counted)),
                // Recorded meanwhile: the next round says Known.
                Some(cancelled) if cancelled.failed(0) => pause(attempt).await,
                Some(cancelled) if cancelled.failed(1) => return self.put_over_cap(gift).await,
                Some(cancelled) if cancelled.failed(2) || cancelled.is_contention() => {
                    pause(attempt).await
                }
                Some(cancelled) => return Err(cancelled.into_error("gift")),
            }
        }
        Err(too_contended("gift"))
    }

    pub(super) async fn refund(
        &self,
        payment_intent: &str,
        amount_refunded: i64,
    ) -> StoreResult<Option<Gift>> {
        let Some(pointer) = self
            .get(pointer_key(payment_intent), "GetItem (gift pointer)")
            .await?
        else {
            return Ok(None);
        };
        let payment = Fields::new(&pointer, "gift pointer")
            .text("payment")?
            .to_owned();
        for attempt in 0..MAX_ATTEMPTS {
            let Some(before) = self.gift(&payment).await? else {
                return Ok(None);
            };
            let after = before.after_refund(amount_refunded);
            if after == before {
                return Ok(Some(after));
            }
            let mut expr = Expr::new();
            let condition = format!(
                "{} = {}",
                expr.name("refunded"),
                expr.value("was", n(before.refunded))
            );
            let update = format!(
                "SET {} = {}, {} = {}",
                expr.name("refunded"),
                expr.value("refunded", n(after.refunded)),
                expr.name("status"),
                expr.value("status", s(after.status.as_str())),
            );
            let mut items =
                vec![expr.update(&self.table, gift_key(&payment), &update, Some(&condition))?];
            let change = after.counted() - before.counted();
            if change != 0 {
                let mut expr = Expr::new();
                let update = format!(
                    "ADD {} {}",
                    expr.name("counted"),
                    expr.value("change", n(change))
                );
                items.push(expr.update(
                    &self.table,
                    total_key(&after.period, &after.donor),
                    &update,
                    None,
                )?);
            }
            match self.transact("refund", items).await? {
                None => return Ok(Some(after)),
                Some(cancelled) if cancelled.failed(0) || cancelled.is_contention() => {
                    pause(attempt).await
                }
                Some(cancelled) => return Err(cancelled.into_error("refund")),
            }
        }
        Err(too_contended("refund"))
    }

    pub(super) async fn event_seen(&self, id: &str) -> StoreResult<bool> {
        Ok(self
            .get(event_key(id), "GetItem (payment event)")
            .await?
            .is_some())
    }

    pub(super) async fn note_event(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut item = event_key(id);
        item.insert(KIND.to_owned(), s("payment_event"));
        item.insert("at".to_owned(), time(at));
        item.insert(
            EXPIRES_AT.to_owned(),
            n(at.as_second() + PAYMENT_EVENT_DAYS * 86_400),
        );
        self.put(item, None, "PutItem (payment event)").await?;
        Ok(())
    }
}
