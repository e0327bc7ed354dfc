//! Automations: `content/automations/<id>.yaml`, what happens to a
//! supporter after something they did.
//!
//! ```yaml
//! trigger: confirmed
//! steps:
//!   - id: merci
//!     send: merci-inscription
//!   - id: pause
//!     wait: 48h
//!   - id: deja-inscrit
//!     if: { has_rsvp: true }
//!     then: fin
//!   - id: invitation
//!     send: invitation-reunion-locale
//!   - id: fin
//!     stop: true
//! ```
//!
//! Each step has an id of its own, and a supporter's progress is stored as
//! the id of the step they are at, never as a position: steps may be added,
//! moved or edited in git without anyone already in the automation getting
//! a step twice or skipping one. (A person waiting at a step that was
//! removed has nowhere to go; the sender decides what then.)

use crate::audience::{EventChoice, Facts, Within, check_interest, resolve_event};
use crate::config::Choice;
use crate::event::Event;
use crate::forms::FormName;
use crate::manifest::REQUIRED_EMAILS;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What an automation file holds; its id is the file's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationFile {
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

/// An automation, as the manifest carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    /// The file's name without `.yaml`: `bienvenue`.
    pub id: String,
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

/// What puts a supporter into an automation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `form: signup`: a form was submitted (`signup`, `volunteer`,
    /// `rsvp`); `form: donation` fires when a gift is counted (paid, not
    /// when the form is sent), and what it sends reaches the donor only
    /// if they are a supporter who may receive the campaign's email.
    Form(FormName),
    /// `confirmed`: the supporter followed the confirmation link (or
    /// signed up, when the campaign does not ask for confirmation).
    Confirmed,
    /// `tag_added: logement`: an interest was added to the supporter.
    TagAdded(String),
    /// `rsvp: any` or `rsvp: <event id>`: the supporter took a seat or a
    /// waitlist place.
    Rsvp(EventChoice),
}

/// Something that happened to a supporter, for [`Trigger::fires_on`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening<'a> {
    FormSubmitted(FormName),
    Confirmed,
    TagAdded(&'a str),
    /// The event's id.
    Rsvp(&'a str),
}

impl Trigger {
    pub fn fires_on(&self, happening: Happening<'_>) -> bool {
        match (self, happening) {
            (Trigger::Form(form), Happening::FormSubmitted(submitted)) => *form == submitted,
            (Trigger::Confirmed, Happening::Confirmed) => true,
            (Trigger::TagAdded(tag), Happening::TagAdded(added)) => tag == added,
            (Trigger::Rsvp(EventChoice::Any), Happening::Rsvp(_)) => true,
            (Trigger::Rsvp(EventChoice::Event(id)), Happening::Rsvp(event)) => id == event,
            _ => false,
        }
    }
}

/// One step: its id, and the one thing it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "written::RawStep", into = "written::RawStep")]
pub struct Step {
    pub id: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `send: <email>`: one of the campaign's emails in `content/emails/`.
    Send(String),
    /// `wait: 48h`: the next step is due this long after this one.
    Wait(SignedDuration),
    /// `if: <condition>`, `then: <step>`, `else: <step>` (the next step
    /// when left out).
    If {
        condition: Condition,
        then: String,
        otherwise: Option<String>,
    },
    AddTag(String),
    RemoveTag(String),
    /// `stop: true`: the supporter leaves the automation.
    Stop,
}

/// What an `if` step tests about the supporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "written::RawCondition", into = "written::RawCondition")]
pub enum Condition {
    /// `has_rsvp: true`: holds a seat (or a waitlist place) at an event to
    /// come; `false`: holds none.
    HasRsvp(bool),
    /// `has_tag: logement`: has this declared interest.
    HasTag(String),
    /// `within: { km: 30, of: Valenciennes }`: lives that close, by their
    /// postcode. Unknown when they gave none, which does not hold.
    Within(Within),
    Not(Box<Condition>),
    /// Every condition holds (true for an empty list).
    All(Vec<Condition>),
    /// Some condition holds (false for an empty list).
    Any(Vec<Condition>),
}

impl Condition {
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::HasRsvp(wanted) => facts.upcoming_rsvp == *wanted,
            Condition::HasTag(tag) => facts.interests.contains(tag),
            Condition::Within(within) => match (within.circle(), facts.point) {
                (Some(circle), Some(point)) => circle.contains(point),
                _ => false,
            },
            Condition::Not(inner) => !inner.holds(facts),
            Condition::All(all) => all.iter().all(|c| c.holds(facts)),
            Condition::Any(any) => any.iter().any(|c| c.holds(facts)),
        }
    }
}

/// A mistake in an automation, about one step or the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationProblem {
    /// The step's id, and its position among the steps (ids may repeat,
    /// which is itself a problem).
    pub step: Option<(String, usize)>,
    pub message: String,
}

impl fmt::Display for AutomationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some((step, _)) => write!(f, "step `{step}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The longest wait a step may ask for.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_hours(365 * 24);

impl Automation {
    pub fn new(id: impl Into<String>, file: AutomationFile) -> Automation {
        Automation {
            id: id.into(),
            trigger: file.trigger,
            steps: file.steps,
        }
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn first_step(&self) -> Option<&Step> {
        self.steps.first()
    }

    /// The step written after `after`; `None` after the last one or for an
    /// id the automation no longer has.
    pub fn next_step(&self, after: &str) -> Option<&Step> {
        let position = self.steps.iter().position(|s| s.id == after)?;
        self.steps.get(position + 1)
    }

    /// Where a supporter goes once `step` is done: for an `if`, its `then`
    /// when `condition_holds`, else its `else` or the next step; `None`
    /// after `stop` or the last step.
    pub fn after(&self, step: &Step, condition_holds: bool) -> Option<&Step> {
        match &step.action {
            Action::Stop => None,
            Action::If {
                then, otherwise, ..
            } => match (condition_holds, otherwise) {
                (true, _) => self.step(then),
                (false, Some(otherwise)) => self.step(otherwise),
                (false, None) => self.next_step(&step.id),
            },
            _ => self.next_step(&step.id),
        }
    }

    /// Every mistake: unknown emails, interests, events, places and step
    /// ids, duplicate ids, and loops that would run with no wait in them.
    /// `emails` are the names of the campaign's email files.
    pub fn validate(
        &self,
        emails: &BTreeSet<String>,
        interests: &[Choice],
        events: &[Event],
    ) -> Vec<AutomationProblem> {
        self.clone().resolve(emails, interests, events)
    }

    /// [`Automation::validate`], resolving as it goes: place names become
    /// coordinates and event names ids, so the sender needs no gazetteer.
    pub fn resolve(
        &mut self,
        emails: &BTreeSet<String>,
        interests: &[Choice],
        events: &[Event],
    ) -> Vec<AutomationProblem> {
        let mut problems = Vec::new();
        let mut file_problem = |message: String| {
            problems.push(AutomationProblem {
                step: None,
                message,
            })
        };
        match &mut self.trigger {
            Trigger::TagAdded(tag) => {
                if let Err(e) = check_interest(tag, interests) {
                    file_problem(format!("trigger: tag_added: {e}"));
                }
            }
            Trigger::Rsvp(EventChoice::Event(id)) => match resolve_event(id, events) {
                Ok(found) => *id = found,
                Err(e) => file_problem(format!("trigger: rsvp: {e}")),
            },
            _ => {}
        }
        if self.steps.is_empty() {
            file_problem("an automation needs at least one step under `steps:`".to_owned());
        }
        let mut seen = BTreeSet::new();
        for (position, step) in self.steps.iter().enumerate() {
            if !seen.insert(step.id.as_str()) {
                problems.push(AutomationProblem {
                    step: Some((step.id.clone(), position)),
                    message: "another step has this id: each step needs its own, since a \
                              supporter's place is kept by it"
                        .to_owned(),
                });
            }
        }
        let ids: Vec<String> = self.steps.iter().map(|s| s.id.clone()).collect();
        for (position, step) in self.steps.iter_mut().enumerate() {
            let mut problem = |message: String| {
                problems.push(AutomationProblem {
                    step: Some((step.id.clone(), position)),
                    message,
                })
            };
            match &mut step.action {
                Action::Send(email) => {
                    if REQUIRED_EMAILS.contains(&email.as_str()) {
                        problem(format!(
                            "send: `{email}` is sent by the forms themselves; an automation \
                             sends the campaign's own emails"
                        ));
                    } else if !emails.contains(email.as_str()) {
                        problem(format!(
                            "send: there is no email `{email}`: write \
                             `content/emails/{email}.md`"
                        ));
                    }
                }
                Action::If {
                    condition,
                    then,
                    otherwise,
                } => {
                    for (key, target) in [("then", Some(&*then)), ("else", otherwise.as_ref())] {
                        if let Some(target) = target
                            && !ids.contains(target)
                        {
                            problem(format!(
                                "{key}: no step has the id `{target}`; the steps are {}",
                                ids.join(", ")
                            ));
                        }
                    }
                    for message in resolve_condition(condition, interests) {
                        problem(format!("if: {message}"));
                    }
                }
                Action::AddTag(tag) | Action::RemoveTag(tag) => {
                    if let Err(e) = check_interest(tag, interests) {
                        problem(e);
                    }
                }
                Action::Wait(_) | Action::Stop => {}
            }
        }
        if problems.is_empty()
            && let Some(position) = self.loop_without_wait()
        {
            problems.push(AutomationProblem {
                step: Some((self.steps[position].id.clone(), position)),
                message: "this step can come back to itself with no `wait` on the way, so it \
                          would run without end: put a `wait` step in the loop"
                    .to_owned(),
            });
        }
        problems
    }

    /// A step on a cycle of steps none of which waits, if there is one.
    fn loop_without_wait(&self) -> Option<usize> {
        let position: BTreeMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let successors = |i: usize| -> Vec<usize> {
            let step = &self.steps[i];
            let next = (i + 1 < self.steps.len()).then_some(i + 1);
            match &step.action {
                Action::Stop | Action::Wait(_) => Vec::new(),
                Action::If {
                    then, otherwise, ..
                } => {
                    let other = match otherwise {
                        Some(id) => position.get(id.as_str()).copied(),
                        None => next,
                    };
                    position
                        .get(then.as_str())
                        .copied()
                        .into_iter()
                        .chain(other)
                        .collect()
                }
                _ => next.into_iter().collect(),
            }
        };
        // Depth-first search; 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.steps.len()];
        for start in 0..self.steps.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack = vec![(start, successors(start), 0usize)];
            state[start] = 1;
            while let Some((node, next, index)) = stack.last_mut() {
                if let Some(&target) = next.get(*index) {
                    *index += 1;
                    match state[target] {
                        1 => return Some(target),
                        0 => {
                            state[target] = 1;
                            let further = successors(target);
                            stack.push((target, further, 0));
                        }
                        _ => {}
                    }
                } else {
                    state[*node] = 2;
                    stack.pop();
                }
            }
        }
        None
    }
}

/// Checks a condition's interests and resolves its places.
fn resolve_condition(condition: &mut Condition, interests: &[Choice]) -> Vec<String> {
    match condition {
        Condition::HasRsvp(_) => Vec::new(),
        Condition::HasTag(tag) => check_interest(tag, interests)
            .err()
            .map(|e| format!("has_tag: {e}"))
            .into_iter()
            .collect(),
        Condition::Within(within) => within
            .resolve()
            .err()
            .map(|e| format!("within: {e}"))
            .into_iter()
            .collect(),
        Condition::Not(inner) => resolve_condition(inner, interests),
        Condition::All(all) | Condition::Any(all) => all
            .iter_mut()
            .flat_map(|c| resolve_condition(c, interests))
            .collect(),
    }
}

/// `90m`, `48h`, `2d`, `1w`: a whole number and a unit.
pub fn parse_wait(text: &str) -> Result<SignedDuration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let seconds_per_unit: i64 = match unit.trim() {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 0,
    };
    let count: Option<i64> = number.parse().ok();
    let (Some(count), true) = (count, seconds_per_unit > 0) else {
        return Err(format!(
            "`{trimmed}` is not a duration; write a whole number and a unit, like `90m`, \
             `48h`, `2d` or `1w`"
        ));
    };
    let duration = SignedDuration::from_secs(count.saturating_mul(seconds_per_unit));
    if duration.is_zero() {
        return Err("a wait of 0 does nothing: remove the step, or wait longer".to_owned());
    }
    if duration > MAX_WAIT {
        return Err(format!(
            "`{trimmed}` is longer than a year; the longest wait is `365d`"
        ));
    }
    Ok(duration)
}

/// The shortest way to write a wait: `2d` rather than `48h`.
pub fn format_wait(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds % 86_400 == 0 {
        format!("{}d", seconds / 86_400)
    } else if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else {
        format!("{}m", seconds / 60)
    }
}

mod written;

#[cfg(test)]
mod tests;
