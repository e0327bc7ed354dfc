//! A broadcast's control record: whether it is paused (and why), and how
//! many of its emails were sent and complained about.
//!
//! While a broadcast is paused the store claims none of its items
//! ([`crate::store::Store::claim_due`]) and the sender hands back any it
//! claimed just before the pause, unsent: its recipients stay queued, in
//! their place, and resuming sends each of them once.
//!
//! # The complaint rule
//!
//! SES reviews an account whose complaint rate stays above 0.1%. A
//! broadcast whose complaints exceed 0.1% of its sent emails is paused
//! ([`BroadcastControl::complaint_pause`]), once at least
//! [`MIN_SENT`] were sent since it last resumed: below 1,000, a single
//! complaint is above 0.1% by itself, and one unhappy person must not
//! stop a campaign's letter; from 1,000 on, two complaints in the first
//! thousand do. Counts since the last resume are what is judged, so a
//! broadcast resumed by hand is not paused again at once for the
//! complaints that paused it.
//!
//! Complaints are attributed through the SES message tag `broadcast`
//! (set by the SES mailer, echoed by SES in `mail.tags` of the event):
//! no extra write per email and no table from message ids to
//! broadcasts, and an email whose send ended `unknown` is attributed all
//! the same. A complaint is counted once per message id, so SNS
//! delivering the event again counts nothing.

use crate::mail_events::{SesEvent, SesEventKind};
use crate::store::{Store, StoreResult};
use jiff::Timestamp;
use serde::Serialize;

/// Sent emails (since the last resume) before the complaint rate counts.
pub const MIN_SENT: u64 = 1_000;

/// Complaints per thousand sent above which a broadcast is paused.
pub const MAX_COMPLAINTS_PER_THOUSAND: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BroadcastControl {
    /// The broadcast's email name.
    pub name: String,
    pub paused: bool,
    /// Why it was paused (by whom, or the complaint rate).
    pub reason: Option<String>,
    /// When it was last paused or resumed.
    pub changed_at: Option<Timestamp>,
    pub sent: u64,
    pub complained: u64,
    /// `sent` and `complained` when it was last resumed.
    pub sent_at_resume: u64,
    pub complained_at_resume: u64,
}

impl BroadcastControl {
    /// A broadcast nothing was recorded about: running, nothing counted.
    pub fn new(name: &str) -> BroadcastControl {
        BroadcastControl {
            name: name.to_owned(),
            paused: false,
            reason: None,
            changed_at: None,
            sent: 0,
            complained: 0,
            sent_at_resume: 0,
            complained_at_resume: 0,
        }
    }

    /// The reason to pause it for its complaint rate, if it must be.
    pub fn complaint_pause(&self) -> Option<String> {
        let sent = self.sent.saturating_sub(self.sent_at_resume);
        let complained = self.complained.saturating_sub(self.complained_at_resume);
        let over = complained * 1_000 > sent * MAX_COMPLAINTS_PER_THOUSAND;
        (!self.paused && sent >= MIN_SENT && over)
            .then(|| format!("complaint rate above 0.1%: {complained} complaints for {sent} sent"))
    }
}

/// Pauses the broadcast of `control` if its complaint rate says so;
/// whether it did.
pub async fn pause_if_complained<S: Store>(
    store: &S,
    control: &BroadcastControl,
    at: Timestamp,
) -> StoreResult<bool> {
    let Some(reason) = control.complaint_pause() else {
        return Ok(false);
    };
    store
        .set_broadcast_paused(&control.name, Some(reason), at)
        .await?;
    println!(
        "{{\"level\":\"warn\",\"what\":\"broadcast\",\"broadcast\":{:?},\"outcome\":\"paused for complaints\"}}",
        control.name
    );
    Ok(true)
}

/// Counts `event` against its broadcast when it is a complaint about a
/// tagged message, and pauses the broadcast if its rate says so. Returns
/// whether it paused it.
pub async fn count_complaint<S: Store>(
    store: &S,
    event: &SesEvent,
    at: Timestamp,
) -> StoreResult<bool> {
    let SesEventKind::Complaint { .. } = &event.kind else {
        return Ok(false);
    };
    // Without an id a redelivery could not be told apart: not counted.
    let Some(name) = event.tag(TAG).filter(|_| !event.message_id.is_empty()) else {
        return Ok(false);
    };
    match store
        .count_broadcast_complaint(name, &event.message_id, at)
        .await?
    {
        Some(control) => pause_if_complained(store, &control, at).await,
        None => Ok(false),
    }
}

/// The SES message tag naming a message's broadcast.
pub const TAG: &str = "broadcast";

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(sent: u64, complained: u64) -> BroadcastControl {
        BroadcastControl {
            sent,
            complained,
            ..BroadcastControl::new("lettre")
        }
    }

    #[test]
    fn one_complaint_in_a_thousand_is_not_above_the_rate_two_are() {
        assert_eq!(counted(999, 5).complaint_pause(), None, "too few sent");
        assert_eq!(counted(1_000, 1).complaint_pause(), None, "0.1% exactly");
        assert!(counted(1_000, 2).complaint_pause().is_some());
        assert_eq!(counted(5_000, 5).complaint_pause(), None);
        assert!(counted(5_000, 6).complaint_pause().is_some());
    }

    #[test]
    fn only_what_came_after_a_resume_is_judged() {
        let resumed = BroadcastControl {
            sent_at_resume: 1_000,
            complained_at_resume: 4,
            ..counted(1_500, 6)
        };
        assert_eq!(resumed.complaint_pause(), None, "500 sent since");
        let later = BroadcastControl {
            sent: 2_000,
            complained: 7,
            ..resumed
        };
        assert!(later.complaint_pause().is_some(), "3 in 1,000 since");
        let paused = BroadcastControl {
            paused: true,
            ..later
        };
        assert_eq!(paused.complaint_pause(), None, "already paused");
    }
}
