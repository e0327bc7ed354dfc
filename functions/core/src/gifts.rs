//! Gifts as the campaign's accounts know them: recorded from the payment
//! processor's word only (its webhooks, never the donor's browser),
//! counted once per payment, held to the legal cap per donor, numbered
//! for receipts.
//!
//! # The guarantees, whichever store
//!
//! - One record per `payment` (Stripe's PaymentIntent, or invoice for a
//!   month of a monthly gift): the same payment reported again, by the
//!   same event redelivered or by another event about it, is
//!   [`Recorded::Known`] and changes nothing.
//! - A donor's total in a period is the sum of their counted gifts, less
//!   what was refunded of them. A gift is counted only if the total stays
//!   within the cap, in the same atomic write: two gifts racing for the
//!   last euros of the cap cannot both be counted. A gift that would break
//!   the cap is kept as [`GiftStatus::OverCap`]: the money is owed back,
//!   it counts nothing, it gets no receipt.
//! - Each counted gift gets the next receipt number of its election, in
//!   the same write: numbers have no gap and no repeat.

use estrade_domain::donation::Frequency;
use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftStatus {
    /// In the donor's total, with a receipt.
    Counted,
    /// Would have broken the cap: to be refunded, counted nowhere.
    OverCap,
    /// Paid back in full (a partly refunded gift stays `Counted`, with
    /// `refunded` set).
    Refunded,
}

impl GiftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GiftStatus::Counted => "counted",
            GiftStatus::OverCap => "over_cap",
            GiftStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<GiftStatus> {
        [
            GiftStatus::Counted,
            GiftStatus::OverCap,
            GiftStatus::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One payment received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gift {
    /// What identifies the money at the processor: the key of the record.
    pub payment: String,
    /// The PaymentIntent, when known: what a refund names.
    pub payment_intent: Option<String>,
    /// The webhook event that recorded it.
    pub event: String,
    pub election: String,
    /// The total it counts in: the election, or the election's year.
    pub period: String,
    /// [`estrade_domain::donation::Donor::key`].
    pub donor: String,
    /// In cents.
    pub amount: i64,
    /// In cents, of `amount`.
    pub refunded: i64,
    /// Lower case, as Stripe writes it (`eur`).
    pub currency: String,
    pub frequency: Frequency,
    pub at: Timestamp,
    pub status: GiftStatus,
    /// Its receipt's number in the election, when counted.
    pub receipt: Option<u64>,
}

impl Gift {
    /// What the gift adds to its donor's total now.
    pub fn counted(&self) -> i64 {
        match self.status {
            GiftStatus::Counted => self.amount - self.refunded,
            GiftStatus::OverCap | GiftStatus::Refunded => 0,
        }
    }

    /// The gift after `amount_refunded` (cumulative, as Stripe reports
    /// it) of it went back: never less refunded than before.
    pub fn after_refund(&self, amount_refunded: i64) -> Gift {
        let refunded = amount_refunded.clamp(self.refunded, self.amount);
        let status = if refunded >= self.amount {
            GiftStatus::Refunded
        } else {
            self.status
        };
        Gift {
            refunded,
            status,
            ..self.clone()
        }
    }
}

/// What recording a gift did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    OverCap,
    /// The payment was recorded before: nothing changed.
    Known,
}
