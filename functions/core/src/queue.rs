//! Email waiting to be sent: each automation step and each broadcast
//! recipient is one durable record with a `due_at`, which the sender
//! ([`crate::sender`]) claims when it is due, sends, and marks sent.
//!
//! # States
//!
//! ```text
//! queued ──claim──▶ claimed ──▶ sending ──▶ sent
//!    ▲                 │  │          │
//!    └──lease ends─────┘  │          ├──▶ queued (the mailer said "later")
//!    └──────retry─────────┘          ├──▶ failed (the mailer refused it)
//!                         ▼          └──▶ unknown (the sender stopped here)
//!                      skipped (nobody to send to, or not allowed to)
//! ```
//!
//! A claim holds an item for a lease under a token. An item still
//! `claimed` when its lease ends was never handed to the mailer, so it is
//! claimed again: nothing lost. A sender may also hand a claimed item
//! back at once (`claimed` → `queued`, in its place, no attempt counted)
//! when it must not send it now: its broadcast is paused, or SES is
//! throttling the run. An item is `sending` only for the moment
//! the mailer has it; one still `sending` after its lease may or may not
//! have been accepted by the mailer, and is never sent again but marked
//! `unknown` and reported: nothing doubled. That window (from the store's
//! write to the mailer's answer, milliseconds) is the only one where an
//! email can be lost; see README.md.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Why an item is in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// A step of an automation, for one supporter.
    Automation { automation: String, step: String },
    /// One recipient of a broadcast.
    Broadcast { broadcast: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    Queued,
    Claimed,
    Sending,
    Sent,
    /// Not sent, and never will be: the supporter is gone, unsubscribed,
    /// bounced, or the email no longer exists in the build.
    Skipped,
    /// The mailer refused the message for good.
    Failed,
    /// The sender stopped while the mailer had the message: perhaps sent.
    Unknown,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Queued => "queued",
            SendState::Claimed => "claimed",
            SendState::Sending => "sending",
            SendState::Sent => "sent",
            SendState::Skipped => "skipped",
            SendState::Failed => "failed",
            SendState::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<SendState> {
        [
            SendState::Queued,
            SendState::Claimed,
            SendState::Sending,
            SendState::Sent,
            SendState::Skipped,
            SendState::Failed,
            SendState::Unknown,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Whether the item is done with, whatever became of it.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            SendState::Queued | SendState::Claimed | SendState::Sending
        )
    }
}

/// One email to one supporter, at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Derived from what it is (`auto:<automation>:<step>:<email>:<run>`,
    /// `cast:<broadcast>:<email>`), so queueing it twice queues it once.
    pub id: String,
    /// The recipient: a supporter's normalised address.
    pub email: String,
    /// The email to send: its name in the build's manifest.
    pub template: String,
    pub due_at: Timestamp,
    pub source: Source,
    pub state: SendState,
    /// Times the mailer was asked (and said "later").
    pub attempts: u32,
    /// The mailer's message id, once sent.
    pub message_id: Option<String>,
    pub updated_at: Timestamp,
}

impl Outgoing {
    /// A new item, queued.
    pub fn new(
        id: String,
        email: &str,
        template: &str,
        due_at: Timestamp,
        source: Source,
        at: Timestamp,
    ) -> Outgoing {
        Outgoing {
            id,
            email: email.to_owned(),
            template: template.to_owned(),
            due_at,
            source,
            state: SendState::Queued,
            attempts: 0,
            message_id: None,
            updated_at: at,
        }
    }
}

/// A change of state asked of the store, applied only if the item is
/// still in `from` under the claim `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    pub id: String,
    pub token: String,
    pub from: SendState,
    pub to: SendState,
    /// For `to: Queued`, when to try again.
    pub due_at: Option<Timestamp>,
    pub message_id: Option<String>,
    /// For `to: Sent`: the broadcast whose sent count goes up by one
    /// with it (in the same transaction where the store has them).
    pub broadcast: Option<String>,
    pub at: Timestamp,
}
