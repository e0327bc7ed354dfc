//! Automations as written in YAML: every key of a step or a condition
//! optional, so that one doing nothing or two things gets a sentence
//! rather than a parser's message, and triggers read without YAML tags.

use super::{Action, Condition, Step, Trigger, format_wait, parse_wait};
use crate::audience::{EventChoice, Within};
use crate::forms::FormName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A step as written: every key optional, so that a step doing nothing or
/// two things gets a sentence rather than a parser's message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    send: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wait: Option<String>,
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    then: Option<String>,
    #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
    otherwise: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    add_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remove_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop: Option<bool>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Step, String> {
        let id = raw.id.trim().to_owned();
        if id.is_empty() {
            return Err("a step's `id` is empty: give it a short name, like `id: relance`".into());
        }
        let given: Vec<&str> = [
            ("send", raw.send.is_some()),
            ("wait", raw.wait.is_some()),
            ("if", raw.condition.is_some()),
            ("add_tag", raw.add_tag.is_some()),
            ("remove_tag", raw.remove_tag.is_some()),
            ("stop", raw.stop.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect();
        let what = match given.as_slice() {
            [] => {
                return Err(format!(
                    "step `{id}` does nothing: give it one of `send`, `wait`, `if`, \
                     `add_tag`, `remove_tag` or `stop`"
                ));
            }
            [one] => *one,
            [first, second, ..] => {
                return Err(format!(
                    "step `{id}` does two things (`{first}` and `{second}`): make them two \
                     steps, each with its own id"
                ));
            }
        };
        if what != "if" && (raw.then.is_some() || raw.otherwise.is_some()) {
            return Err(format!(
                "step `{id}`: `then` and `else` go with `if`, in the same step"
            ));
        }
        let action = match what {
            "send" => Action::Send(raw.send.unwrap_or_default().trim().to_owned()),
            "wait" => Action::Wait(
                parse_wait(&raw.wait.unwrap_or_default())
                    .map_err(|e| format!("step `{id}`: wait: {e}"))?,
            ),
            "add_tag" => Action::AddTag(raw.add_tag.unwrap_or_default().trim().to_owned()),
            "remove_tag" => Action::RemoveTag(raw.remove_tag.unwrap_or_default().trim().to_owned()),
            "stop" if raw.stop == Some(true) => Action::Stop,
            "stop" => {
                return Err(format!(
                    "step `{id}`: `stop: false` does nothing; write `stop: true` or remove \
                     the step"
                ));
            }
            _ => {
                let (Some(condition), Some(then)) = (raw.condition, raw.then) else {
                    return Err(format!(
                        "step `{id}`: `if` needs `then: <step id>`, the step to go to when \
                         the condition holds"
                    ));
                };
                Action::If {
                    condition,
                    then: then.trim().to_owned(),
                    otherwise: raw.otherwise.map(|o| o.trim().to_owned()),
                }
            }
        };
        Ok(Step { id, action })
    }
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        let mut raw = RawStep {
            id: step.id,
            ..RawStep::default()
        };
        match step.action {
            Action::Send(email) => raw.send = Some(email),
            Action::Wait(duration) => raw.wait = Some(format_wait(duration)),
            Action::If {
                condition,
                then,
                otherwise,
            } => {
                raw.condition = Some(condition);
                raw.then = Some(then);
                raw.otherwise = otherwise;
            }
            Action::AddTag(tag) => raw.add_tag = Some(tag),
            Action::RemoveTag(tag) => raw.remove_tag = Some(tag),
            Action::Stop => raw.stop = Some(true),
        }
        raw
    }
}

/// A condition as written: a map with one key, read without YAML tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_rsvp: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    within: Option<Within>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not: Option<Box<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any: Option<Vec<Condition>>,
}

impl TryFrom<RawCondition> for Condition {
    type Error = String;

    fn try_from(raw: RawCondition) -> Result<Condition, String> {
        let given: Vec<&str> = [
            ("has_rsvp", raw.has_rsvp.is_some()),
            ("has_tag", raw.has_tag.is_some()),
            ("within", raw.within.is_some()),
            ("not", raw.not.is_some()),
            ("all", raw.all.is_some()),
            ("any", raw.any.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect();
        if let [first, second, ..] = given.as_slice() {
            return Err(format!(
                "a condition tests one thing: to test `{first}` and `{second}` together, write \
                 `all: [{{ {first}: ... }}, {{ {second}: ... }}]`"
            ));
        }
        let condition = if let Some(wanted) = raw.has_rsvp {
            Condition::HasRsvp(wanted)
        } else if let Some(tag) = raw.has_tag {
            Condition::HasTag(tag.trim().to_owned())
        } else if let Some(within) = raw.within {
            Condition::Within(within)
        } else if let Some(inner) = raw.not {
            Condition::Not(inner)
        } else if let Some(all) = raw.all {
            Condition::All(all)
        } else if let Some(any) = raw.any {
            Condition::Any(any)
        } else {
            return Err(
                "an empty condition: write one of `has_rsvp`, `has_tag`, `within`, \
                        `not`, `all` or `any`"
                    .to_owned(),
            );
        };
        Ok(condition)
    }
}

impl From<Condition> for RawCondition {
    fn from(condition: Condition) -> RawCondition {
        let mut raw = RawCondition::default();
        match condition {
            Condition::HasRsvp(wanted) => raw.has_rsvp = Some(wanted),
            Condition::HasTag(tag) => raw.has_tag = Some(tag),
            Condition::Within(within) => raw.within = Some(within),
            Condition::Not(inner) => raw.not = Some(inner),
            Condition::All(all) => raw.all = Some(all),
            Condition::Any(any) => raw.any = Some(any),
        }
        raw
    }
}

/// The map form of a trigger: `form: signup`, `tag_added: x`, `rsvp: any`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    #[serde(default)]
    form: Option<FormName>,
    #[serde(default)]
    tag_added: Option<String>,
    #[serde(default)]
    rsvp: Option<EventChoice>,
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        const EXPECTED: &str = "`confirmed`, `form: <signup, volunteer or rsvp>`, \
                                `tag_added: <interest>` or `rsvp: <any or an event>`";
        struct TriggerVisitor;
        impl<'de> Visitor<'de> for TriggerVisitor {
            type Value = Trigger;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Trigger, E> {
                match value.trim() {
                    "confirmed" => Ok(Trigger::Confirmed),
                    other => Err(E::custom(format!(
                        "`{other}` is not a trigger; write {EXPECTED}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Trigger, A::Error> {
                let raw = RawTrigger::deserialize(de::value::MapAccessDeserializer::new(map))?;
                match (raw.form, raw.tag_added, raw.rsvp) {
                    (Some(form), None, None) => Ok(Trigger::Form(form)),
                    (None, Some(tag), None) => Ok(Trigger::TagAdded(tag.trim().to_owned())),
                    (None, None, Some(event)) => Ok(Trigger::Rsvp(event)),
                    _ => Err(de::Error::custom(format!(
                        "a trigger is one of {EXPECTED}; to start on several, write one \
                         automation for each"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(TriggerVisitor)
    }
}
