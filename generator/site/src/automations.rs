//! The campaign's automations, `content/automations/<id>.yaml`: read,
//! checked against the emails, interests and events of the build, and
//! resolved for the manifest (see [`estrade_domain::automation`]).

use crate::diagnostic::Diagnostic;
use crate::emails::valid_name;
use crate::site::Site;
use crate::yaml;
use estrade_domain::Event;
use estrade_domain::automation::{Automation, AutomationFile, AutomationProblem};
use estrade_domain::config::Choice;
use std::collections::BTreeSet;

/// Folder of `content/` holding the automations.
pub const FOLDER: &str = "automations/";

/// What an automation may name.
pub struct Known<'a> {
    /// Every email written, rendered or not.
    pub emails: &'a BTreeSet<String>,
    pub interests: &'a [Choice],
    pub events: &'a [Event],
}

/// Every automation of the site, sorted by id, and the problems found; an
/// automation with a problem is left out.
pub fn load_all(
    site: &Site,
    emails: &BTreeSet<String>,
    events: &[Event],
) -> (Vec<Automation>, Vec<Diagnostic>) {
    let folder = site.root.join("content").join(FOLDER);
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    paths.sort();
    let mut automations = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if file_name.starts_with('.') || file_name.starts_with("README") || !path.is_file() {
            continue;
        }
        let file = format!("content/{FOLDER}{file_name}");
        let Some(id) = file_name
            .strip_suffix(".yaml")
            .or_else(|| file_name.strip_suffix(".yml"))
        else {
            problems.push(
                Diagnostic::new(&file, "this is not an automation")
                    .hint("automations are YAML files, like `bienvenue.yaml`"),
            );
            continue;
        };
        if !valid_name(id) {
            problems.push(
                Diagnostic::new(&file, "this automation's file name cannot name it").hint(
                    "use lower-case letters, digits and dashes, like `bienvenue.yaml`: the \
                     name keeps each supporter's place in it",
                ),
            );
            continue;
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(Diagnostic::new(file, format!("cannot read: {e}")));
                continue;
            }
        };
        let known = Known {
            emails,
            interests: &site.config.interests,
            events,
        };
        match parse(id, &file, &text, &known) {
            Ok(automation) => automations.push(automation),
            Err(mut found) => problems.append(&mut found),
        }
    }
    (automations, problems)
}

/// One automation file, checked and resolved.
pub fn parse(
    id: &str,
    file: &str,
    text: &str,
    known: &Known<'_>,
) -> Result<Automation, Vec<Diagnostic>> {
    let parsed: AutomationFile = yaml::parse(text).map_err(|e| {
        let mut d = Diagnostic::new(file, e.message);
        if let Some(line) = e.line {
            d = d.at(line, e.column.unwrap_or(1));
        }
        if let Some(hint) = e.hint {
            d = d.hint(hint);
        }
        vec![d]
    })?;
    let mut automation = Automation::new(id, parsed);
    let found = automation.resolve(known.emails, known.interests, known.events);
    if found.is_empty() {
        Ok(automation)
    } else {
        Err(found
            .into_iter()
            .map(|problem| locate(file, text, &automation, problem))
            .collect())
    }
}

/// A problem at the line of the step it is about (found by its id, the
/// second of two steps with the same id at the second), or of `trigger:`.
fn locate(
    file: &str,
    text: &str,
    automation: &Automation,
    problem: AutomationProblem,
) -> Diagnostic {
    let line = match &problem.step {
        Some((id, position)) => {
            let same_id_before = automation
                .steps
                .iter()
                .take(*position)
                .filter(|s| &s.id == id)
                .count();
            text.lines()
                .enumerate()
                .filter(|(_, line)| {
                    let line = line.trim_start().trim_start_matches("- ").trim();
                    line.strip_prefix("id:").is_some_and(|value| {
                        value.trim().trim_matches(|c| c == '"' || c == '\'') == id
                    })
                })
                .nth(same_id_before)
                .map(|(i, _)| i + 1)
        }
        None if problem.message.starts_with("trigger") => text
            .lines()
            .position(|line| line.starts_with("trigger:"))
            .map(|i| i + 1),
        None => None,
    };
    let d = Diagnostic::new(file, problem.to_string());
    match line {
        Some(line) => d.at_line(line),
        None => d,
    }
}

#[cfg(test)]
mod tests;
