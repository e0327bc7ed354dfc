//! The scheduled sender: claims what the queue says is due, sends it, and
//! records what became of it (see [`crate::queue`] for the states and the
//! guarantee). On AWS an EventBridge rule runs it every minute (the
//! `followups` function); `estrade serve` runs it in the background.
//!
//! Every queued email is marketing: it goes only to a confirmed address,
//! carries the one-click unsubscribe headers, and is skipped for anyone
//! unsubscribed, bounced or complaining when its time comes.
//!
//! # Pace
//!
//! A run hands email to the mailer no faster than `email.max_per_second`
//! ([`crate::pace`]), and sends at most [`RUN_SECONDS`] of it, so a
//! Lambda run ends well inside its timeout and before the next one
//! starts. Waiting happens before an item is marked `sending`, never
//! while it is: the window in which an email can be lost stays short. A
//! claimed batch is at most one run's worth, which the lease outlasts.
//!
//! When the mailer says "later" (SES throttling, a paused account, a
//! timeout), that item goes back to the queue with a [`backoff`], and
//! the run stops: the rest of its batch is handed back unsent, in its
//! place, for the next run.

use crate::automations;
use crate::broadcasts;
use crate::http::Functions;
use crate::http::compose::compose;
use crate::mailer::{Email, MailError, Mailer};
use crate::pace::TokenBucket;
use crate::queue::{Outgoing, SendState, Settle, Source};
use crate::store::{Store, StoreResult};
use estrade_domain::automation::Action;
use estrade_domain::supporter::EmailStatus;
use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// How long a claim holds its items: longer than a batch takes to send.
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);

/// Seconds of sending one run does at most, at the configured rate: the
/// followups function runs every minute with a 50 s timeout.
pub const RUN_SECONDS: usize = 40;

/// Waits for a while: tokio's timer in production, a test's hand on its
/// clock in tests.
pub type Sleep =
    Arc<dyn Fn(std::time::Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Tokio's timer.
pub fn tokio_sleep() -> Sleep {
    Arc::new(|duration| Box::pin(tokio::time::sleep(duration)))
}

/// How one run goes.
#[derive(Clone)]
pub struct RunOptions {
    /// Emails claimed in the run at most (and never more than
    /// [`RUN_SECONDS`] at the configured rate).
    pub limit: usize,
    pub stop: StopAt,
    pub sleep: Sleep,
}

impl RunOptions {
    pub fn new(limit: usize) -> RunOptions {
        RunOptions {
            limit,
            stop: StopAt::Never,
            sleep: tokio_sleep(),
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub claimed: usize,
    pub sent: usize,
    /// Nobody allowed to receive it any more (or the email is gone).
    pub skipped: usize,
    /// The mailer said "later": queued again.
    pub retried: usize,
    /// The mailer refused them for good.
    pub failed: usize,
    /// Left `sending` by a run that stopped: perhaps sent, never resent.
    pub unknown: usize,
    /// Lost to another sender between claim and send (its lease ended).
    pub lost_claims: usize,
    /// Automation steps that send nothing (a condition after a wait), run.
    pub continued: usize,
    /// Handed back unsent because the mailer throttled the run.
    pub released: usize,
    /// Whether the mailer said "later" and the run stopped.
    pub throttled: bool,
    /// Of a broadcast paused after they were claimed: handed back unsent.
    pub held: usize,
}

/// Where a run stops, so a test can play a sender killed at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAt {
    /// Runs to the end.
    Never,
    /// Stops with its items claimed, before any is handed to the mailer.
    AfterClaim,
    /// Stops after marking the first item `sending`, before the mailer.
    AfterSending,
    /// Stops after the mailer accepted the first item, before it is
    /// marked sent.
    AfterMailer,
}

/// The time before trying again after the `attempts`-th "later": one
/// minute, doubling, at most an hour.
fn backoff(attempts: u32) -> SignedDuration {
    let minutes = 1_i64 << attempts.min(6);
    SignedDuration::from_mins(minutes.min(60))
}

/// Sends up to `limit` due emails under the claim `token` (unique per
/// run: a Lambda request id, a random value), at the configured pace.
pub async fn send_due<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    token: &str,
    limit: usize,
) -> StoreResult<SendReport> {
    send_due_with(f, token, &RunOptions::new(limit)).await
}

/// [`send_due`], stopping where `stop` says (for tests).
pub async fn send_due_until<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    token: &str,
    limit: usize,
    stop: StopAt,
) -> StoreResult<SendReport> {
    let options = RunOptions {
        stop,
        ..RunOptions::new(limit)
    };
    send_due_with(f, token, &options).await
}

/// One run of the sender, as `options` say.
pub async fn send_due_with<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    token: &str,
    options: &RunOptions,
) -> StoreResult<SendReport> {
    let now = (f.clock)();
    let per_second = f.settings().manifest.config.email.max_per_second.max(1);
    let limit = options
        .limit
        .min(usize::try_from(per_second).unwrap_or(usize::MAX) * RUN_SECONDS);
    let mut pace = Pace {
        bucket: TokenBucket::new(per_second, 1, now),
        at: now,
        sleep: Arc::clone(&options.sleep),
    };
    let mut report = SendReport::default();
    for stalled in f.store.stalled(now).await? {
        report.unknown += 1;
        log("unknown", &stalled);
    }
    // A step run may queue the next one, due now: a few rounds take it in
    // the same run.
    for _ in 0..ROUNDS {
        let room = limit.saturating_sub(report.claimed);
        if room == 0 || report.throttled {
            break;
        }
        let now = pace.now(f);
        let claimed = f.store.claim_due(now, now + LEASE, token, room).await?;
        if claimed.is_empty() {
            break;
        }
        report.claimed += claimed.len();
        if options.stop == StopAt::AfterClaim {
            return Ok(report);
        }
        for item in claimed {
            if report.throttled {
                release(f, token, &item, pace.now(f)).await?;
                report.released += 1;
                continue;
            }
            let outcome = send_one(f, token, &item, &mut pace, options.stop).await?;
            match outcome {
                Outcome::Sent => report.sent += 1,
                Outcome::Skipped => report.skipped += 1,
                Outcome::Retried => {
                    report.retried += 1;
                    report.throttled = true;
                }
                Outcome::Failed => report.failed += 1,
                Outcome::LostClaim => report.lost_claims += 1,
                Outcome::Continued => report.continued += 1,
                Outcome::Held => report.held += 1,
                Outcome::Stopped => return Ok(report),
            }
        }
    }
    Ok(report)
}

/// The run's token bucket, and its time: the clock's, or (when the clock
/// stands still, as some tests' do) at least the time the run has waited.
struct Pace {
    bucket: TokenBucket,
    at: Timestamp,
    sleep: Sleep,
}

impl Pace {
    fn now<S, M>(&mut self, f: &Functions<S, M>) -> Timestamp {
        self.at = self.at.max((f.clock)());
        self.at
    }

    /// Waits until the bucket lets one more email go.
    async fn wait_turn<S, M>(&mut self, f: &Functions<S, M>) {
        loop {
            let now = self.now(f);
            match self.bucket.take(now) {
                Ok(()) => return,
                Err(wait) => {
                    (self.sleep)(wait.unsigned_abs()).await;
                    self.at = now + wait;
                }
            }
        }
    }
}

/// Hands a claimed item back, unsent, in its place in the queue.
async fn release<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    token: &str,
    item: &Outgoing,
    now: Timestamp,
) -> StoreResult<()> {
    let back = Settle {
        due_at: Some(item.due_at),
        ..settle(item, token, SendState::Claimed, SendState::Queued, now)
    };
    f.store.settle(back).await?;
    Ok(())
}

/// Claim rounds in one run at most.
const ROUNDS: usize = 4;

enum Outcome {
    Continued,
    Held,
    Sent,
    Skipped,
    Retried,
    Failed,
    LostClaim,
    Stopped,
}

fn settle(item: &Outgoing, token: &str, from: SendState, to: SendState, at: Timestamp) -> Settle {
    Settle {
        id: item.id.clone(),
        token: token.to_owned(),
        from,
        to,
        due_at: None,
        message_id: None,
        broadcast: None,
        at,
    }
}

async fn send_one<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    token: &str,
    item: &Outgoing,
    pace: &mut Pace,
    stop: StopAt,
) -> StoreResult<Outcome> {
    let now = pace.now(f);
    let settings = f.settings();
    let supporter = f
        .store
        .supporter(&item.email)
        .await?
        .filter(|supporter| supporter.status == EmailStatus::Confirmed);
    // An automation's step is read from the build current now: an edited
    // email or automation applies to everyone still on their way.
    let step = match &item.source {
        Source::Automation { automation, step } => {
            let found = settings
                .manifest
                .automations
                .iter()
                .find(|a| &a.id == automation)
                .and_then(|a| a.step(step).map(|s| (a, s)));
            match found {
                Some(found) => Some(found),
                None => {
                    let skip = settle(item, token, SendState::Claimed, SendState::Skipped, now);
                    f.store.settle(skip).await?;
                    log("step-gone", item);
                    return Ok(Outcome::Skipped);
                }
            }
        }
        Source::Broadcast { .. } => None,
    };
    let template = match step.map(|(_, step)| &step.action) {
        Some(Action::Send(template)) => template.as_str(),
        Some(_) => "",
        None => item.template.as_str(),
    };
    let Some(supporter) = supporter else {
        let skip = settle(item, token, SendState::Claimed, SendState::Skipped, now);
        f.store.settle(skip).await?;
        log("skipped", item);
        return Ok(Outcome::Skipped);
    };
    if let Some((automation, step)) = step {
        let run = automations::run_of(item);
        if template.is_empty() {
            // Nothing to send: run the step (and those after it that take
            // no time), then the item is done.
            automations::walk(f, automation, Some(step), &item.email, run, now).await?;
            let ran = settle(item, token, SendState::Claimed, SendState::Sent, now);
            f.store.settle(ran).await?;
            return Ok(Outcome::Continued);
        }
        // The next step is queued before this email is handed over, so a
        // stop after the mailer cannot leave the supporter stranded.
        let next = automation.after(step, false);
        automations::walk(f, automation, next, &item.email, run, now).await?;
    }
    let Some(email) = compose(&settings, template, &supporter, None, now, Vec::new()) else {
        let skip = settle(item, token, SendState::Claimed, SendState::Skipped, now);
        f.store.settle(skip).await?;
        log("skipped", item);
        return Ok(Outcome::Skipped);
    };
    pace.wait_turn(f).await;
    let now = pace.now(f);
    // Paused after the claim (by hand, or for complaints counted up to
    // the last email sent): handed back before the mailer has it, so it
    // is neither lost nor sent twice.
    let broadcast = match &item.source {
        Source::Broadcast { broadcast } => Some(broadcast.as_str()),
        Source::Automation { .. } => None,
    };
    if let Some(name) = broadcast
        && let Some(control) = f.store.broadcast(name).await?
        && (control.paused || broadcasts::pause_if_complained(&f.store, &control, now).await?)
    {
        release(f, token, item, now).await?;
        log("held", item);
        return Ok(Outcome::Held);
    }
    let email = Email {
        broadcast: broadcast.map(str::to_owned),
        ..email
    };
    let handed = settle(item, token, SendState::Claimed, SendState::Sending, now);
    if !f.store.settle(handed).await? {
        return Ok(Outcome::LostClaim);
    }
    if stop == StopAt::AfterSending {
        return Ok(Outcome::Stopped);
    }
    match f.mailer.send(&email).await {
        Ok(message_id) => {
            if stop == StopAt::AfterMailer {
                return Ok(Outcome::Stopped);
            }
            // Counted for its broadcast in the same write; the next
            // email of the broadcast judges its complaint rate.
            let sent = Settle {
                message_id: Some(message_id),
                broadcast: broadcast.map(str::to_owned),
                ..settle(item, token, SendState::Sending, SendState::Sent, now)
            };
            f.store.settle(sent).await?;
            log("sent", item);
            Ok(Outcome::Sent)
        }
        Err(MailError::Transient(_)) => {
            let later = Settle {
                due_at: Some(now + backoff(item.attempts)),
                ..settle(item, token, SendState::Sending, SendState::Queued, now)
            };
            f.store.settle(later).await?;
            log("retry", item);
            Ok(Outcome::Retried)
        }
        Err(MailError::Permanent(_)) => {
            let refused = settle(item, token, SendState::Sending, SendState::Failed, now);
            f.store.settle(refused).await?;
            log("failed", item);
            Ok(Outcome::Failed)
        }
    }
}

fn log(outcome: &str, item: &Outgoing) {
    // The queue id names the automation or broadcast and the address: only
    // its template and outcome are logged.
    println!(
        "{{\"level\":\"info\",\"what\":\"send\",\"template\":{:?},\"outcome\":\"{outcome}\"}}",
        item.template
    );
}
