//! Automations at run time: what a form, a confirmation or an RSVP starts,
//! and how a supporter moves from step to step.
//!
//! A supporter's place in an automation is one queue item naming the
//! automation and the step to run next, with its due time; its id holds
//! the run (the second the trigger fired), so queueing the same step of
//! the same run twice queues it once. Steps that take no time (a
//! condition, a tag) run at once, in order, until a step that sends (one
//! queue item, due now) or waits (one item for the step after the wait,
//! due when the wait ends). The steps are looked up by id in the build
//! current when they run: an automation edited in git carries everyone on
//! from where they are; a step removed ends the run of those waiting on
//! it (logged).

use crate::http::Functions;
use crate::mailer::Mailer;
use crate::queue::{Outgoing, Source};
use crate::store::{Store, StoreResult};
use estrade_domain::audience::{Facts, Location};
use estrade_domain::automation::{Action, Automation, Happening, Step};
use estrade_domain::supporter::SupporterUpdate;
use jiff::Timestamp;

/// Steps run one after another without a send or a wait, at most: a
/// loop the build's checks missed stops here.
const MAX_STEPS_AT_ONCE: usize = 64;

/// Starts every automation `happening` triggers for `email`; how many
/// queue items that made.
pub async fn start<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    email: &str,
    happening: Happening<'_>,
    now: Timestamp,
) -> StoreResult<usize> {
    let settings = f.settings();
    let mut queued = 0;
    for automation in &settings.manifest.automations {
        if !automation.trigger.fires_on(happening) {
            continue;
        }
        if let Some(first) = automation.first_step() {
            let run = now.as_second();
            queued += walk(f, automation, Some(first), email, run, now).await?;
        }
    }
    Ok(queued)
}

/// The queue id of `step` of `automation` for `email` in `run`.
pub fn item_id(automation: &str, step: &str, email: &str, run: i64) -> String {
    format!("auto:{automation}:{step}:{email}:{run}")
}

/// The run a queue item of an automation belongs to (the last field).
pub fn run_of(item: &Outgoing) -> i64 {
    item.id
        .rsplit(':')
        .next()
        .and_then(|run| run.parse().ok())
        .unwrap_or(0)
}

fn item_for(
    automation: &Automation,
    step: &Step,
    email: &str,
    run: i64,
    due_at: Timestamp,
    now: Timestamp,
) -> Outgoing {
    let template = match &step.action {
        Action::Send(template) => template.as_str(),
        // A step that sends nothing is run by the sender when due.
        _ => "",
    };
    Outgoing::new(
        item_id(&automation.id, &step.id, email, run),
        email,
        template,
        due_at,
        Source::Automation {
            automation: automation.id.clone(),
            step: step.id.clone(),
        },
        now,
    )
}

/// Runs the steps from `from` that take no time, and queues the next one
/// that sends or follows a wait. How many items it queued (0 or 1).
pub async fn walk<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    automation: &Automation,
    from: Option<&Step>,
    email: &str,
    run: i64,
    now: Timestamp,
) -> StoreResult<usize> {
    let mut current = from;
    for _ in 0..MAX_STEPS_AT_ONCE {
        let Some(step) = current else {
            return Ok(0);
        };
        current = match &step.action {
            Action::Send(_) => {
                let item = item_for(automation, step, email, run, now, now);
                return f.store.enqueue(vec![item]).await;
            }
            Action::Wait(duration) => {
                let Some(next) = automation.after(step, false) else {
                    return Ok(0);
                };
                let due = now.checked_add(*duration).unwrap_or(Timestamp::MAX);
                let item = item_for(automation, next, email, run, due, now);
                return f.store.enqueue(vec![item]).await;
            }
            Action::If { condition, .. } => {
                let holds = match f.store.supporter(email).await? {
                    Some(supporter) => {
                        let location = Location::of(
                            supporter.country.as_deref(),
                            supporter.postcode.as_deref(),
                        );
                        let mut facts = Facts::new(&supporter, location);
                        facts.upcoming_rsvp = has_upcoming_rsvp(f, email, now).await?;
                        condition.holds(&facts)
                    }
                    None => false,
                };
                automation.after(step, holds)
            }
            Action::AddTag(tag) => {
                if let Some(supporter) = f.store.supporter(email).await? {
                    let update = SupporterUpdate {
                        email: email.to_owned(),
                        interests: [tag.clone()].into(),
                        ..Default::default()
                    };
                    f.store
                        .upsert_supporter(update, supporter.status, Vec::new(), now)
                        .await?;
                }
                automation.after(step, false)
            }
            Action::RemoveTag(tag) => {
                f.store
                    .remove_interests(email, &[tag.clone()].into(), now)
                    .await?;
                automation.after(step, false)
            }
            Action::Stop => None,
        };
    }
    println!(
        "{{\"level\":\"warn\",\"what\":\"automation\",\"automation\":{:?},\"outcome\":\"too many steps at once\"}}",
        automation.id
    );
    Ok(0)
}

/// Whether `email` holds a seat or a waitlist place at an event to come.
async fn has_upcoming_rsvp<S: Store, M: Mailer>(
    f: &Functions<S, M>,
    email: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    use estrade_domain::supporter::RsvpStatus;
    let settings = f.settings();
    for event in settings
        .manifest
        .events
        .iter()
        .filter(|e| e.rsvp && !e.is_past(now))
    {
        let rsvps = f.store.rsvps(&event.id).await?;
        if rsvps
            .iter()
            .any(|r| r.email == email && r.status != RsvpStatus::Cancelled)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
