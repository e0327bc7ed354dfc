use super::*;
use crate::audience::Location;
use crate::supporter::EmailStatus;

fn interests() -> Vec<Choice> {
    ["ecologie", "logement"]
        .iter()
        .map(|id| Choice {
            id: id.to_string(),
            label: id.to_string(),
        })
        .collect()
}

fn emails() -> BTreeSet<String> {
    ["merci", "relance", "welcome"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn automation(json: serde_json::Value) -> Automation {
    let file: AutomationFile = serde_json::from_value(json).unwrap();
    Automation::new("bienvenue", file)
}

fn welcome() -> Automation {
    automation(serde_json::json!({
        "trigger": "confirmed",
        "steps": [
            { "id": "merci", "send": "merci" },
            { "id": "pause", "wait": "48h" },
            { "id": "deja", "if": { "has_rsvp": true }, "then": "fin" },
            { "id": "relance", "send": "relance" },
            { "id": "fin", "stop": true },
        ],
    }))
}

fn messages(problems: Vec<AutomationProblem>) -> Vec<String> {
    problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn steps_are_followed_by_id() {
    let a = welcome();
    assert!(a.validate(&emails(), &interests(), &[]).is_empty());
    assert_eq!(a.first_step().unwrap().id, "merci");
    assert_eq!(a.next_step("merci").unwrap().id, "pause");
    assert_eq!(a.next_step("fin"), None);
    assert_eq!(a.next_step("gone"), None);
    let pause = a.step("pause").unwrap();
    assert_eq!(pause.action, Action::Wait(SignedDuration::from_hours(48)));
    let branch = a.step("deja").unwrap();
    assert_eq!(a.after(branch, true).unwrap().id, "fin");
    assert_eq!(
        a.after(branch, false).unwrap().id,
        "relance",
        "else is the next step"
    );
    assert_eq!(a.after(a.step("fin").unwrap(), false), None);
    assert!(a.trigger.fires_on(Happening::Confirmed));
    assert!(
        !a.trigger
            .fires_on(Happening::FormSubmitted(FormName::Signup))
    );
}

#[test]
fn the_manifest_form_reads_back_the_same() {
    let a = welcome();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json["steps"][1],
        serde_json::json!({ "id": "pause", "wait": "2d" })
    );
    assert_eq!(
        json["steps"][2],
        serde_json::json!({ "id": "deja", "if": { "has_rsvp": true }, "then": "fin" })
    );
    let back: Automation = serde_json::from_value(json).unwrap();
    assert_eq!(back, a);
}

#[test]
fn waits_are_read_and_bounded() {
    assert_eq!(parse_wait("90m"), Ok(SignedDuration::from_mins(90)));
    assert_eq!(parse_wait(" 2d "), Ok(SignedDuration::from_hours(48)));
    assert_eq!(parse_wait("1w"), Ok(SignedDuration::from_hours(168)));
    assert_eq!(parse_wait("365d"), Ok(MAX_WAIT));
    assert_eq!(
        parse_wait("0h"),
        Err("a wait of 0 does nothing: remove the step, or wait longer".to_owned())
    );
    assert_eq!(
        parse_wait("366d"),
        Err("`366d` is longer than a year; the longest wait is `365d`".to_owned())
    );
    assert_eq!(
        parse_wait("2 jours"),
        Err(
            "`2 jours` is not a duration; write a whole number and a unit, like `90m`, \
             `48h`, `2d` or `1w`"
                .to_owned()
        )
    );
    assert!(parse_wait("99999999999999999999d").is_err());
    assert!(parse_wait("-2d").is_err());
    assert_eq!(format_wait(SignedDuration::from_mins(90)), "90m");
    assert_eq!(format_wait(SignedDuration::from_hours(5)), "5h");
}

#[test]
fn malformed_steps_are_explained() {
    let step = |json: serde_json::Value| {
        serde_json::from_value::<Step>(json)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        step(serde_json::json!({ "id": "a" })),
        "step `a` does nothing: give it one of `send`, `wait`, `if`, `add_tag`, `remove_tag` \
         or `stop`"
    );
    assert_eq!(
        step(serde_json::json!({ "id": "a", "send": "x", "wait": "2d" })),
        "step `a` does two things (`send` and `wait`): make them two steps, each with its own id"
    );
    assert_eq!(
        step(serde_json::json!({ "id": "a", "if": { "has_tag": "x" } })),
        "step `a`: `if` needs `then: <step id>`, the step to go to when the condition holds"
    );
    assert_eq!(
        step(serde_json::json!({ "id": "a", "send": "x", "then": "b" })),
        "step `a`: `then` and `else` go with `if`, in the same step"
    );
    assert_eq!(
        step(serde_json::json!({ "id": "a", "stop": false })),
        "step `a`: `stop: false` does nothing; write `stop: true` or remove the step"
    );
    assert_eq!(
        step(serde_json::json!({ "id": " ", "stop": true })),
        "a step's `id` is empty: give it a short name, like `id: relance`"
    );
}

#[test]
fn validation_names_each_mistake() {
    let a = automation(serde_json::json!({
        "trigger": { "tag_added": "transport" },
        "steps": [
            { "id": "a", "send": "merci-typo" },
            { "id": "a", "send": "confirm" },
            { "id": "b", "if": { "all": [{ "has_tag": "sport" }, { "within": { "km": 30, "of": "Nowhere-sur-Mer" } }] }, "then": "z", "else": "y" },
            { "id": "c", "add_tag": "ecolgie" },
        ],
    }));
    assert_eq!(
        messages(a.validate(&emails(), &interests(), &[])),
        [
            "trigger: tag_added: `transport` is not an interest declared in campaign.yaml; \
             declared: ecologie, logement",
            "step `a`: another step has this id: each step needs its own, since a supporter's \
             place is kept by it",
            "step `a`: send: there is no email `merci-typo`: write `content/emails/merci-typo.md`",
            "step `a`: send: `confirm` is sent by the forms themselves; an automation sends \
             the campaign's own emails",
            "step `b`: then: no step has the id `z`; the steps are a, a, b, c",
            "step `b`: else: no step has the id `y`; the steps are a, a, b, c",
            "step `b`: if: has_tag: `sport` is not an interest declared in campaign.yaml; \
             declared: ecologie, logement",
            "step `b`: if: within: no French commune is called `Nowhere-sur-Mer`; check the \
             spelling, or give coordinates: `of: { lat: 50.36, lon: 3.52 }`",
            "step `c`: `ecolgie` is not an interest declared in campaign.yaml; declared: \
             ecologie, logement",
        ]
    );
    let empty = automation(serde_json::json!({ "trigger": { "form": "donation" }, "steps": [] }));
    assert_eq!(
        messages(empty.validate(&emails(), &interests(), &[])),
        ["an automation needs at least one step under `steps:`"]
    );
}

#[test]
fn a_loop_needs_a_wait() {
    let spinning = automation(serde_json::json!({
        "trigger": { "form": "signup" },
        "steps": [
            { "id": "send", "send": "relance" },
            { "id": "again", "if": { "not": { "has_rsvp": true } }, "then": "send" },
        ],
    }));
    assert_eq!(
        messages(spinning.validate(&emails(), &interests(), &[])),
        [
            "step `send`: this step can come back to itself with no `wait` on the way, so it \
          would run without end: put a `wait` step in the loop"
        ]
    );
    let weekly = automation(serde_json::json!({
        "trigger": { "rsvp": "any" },
        "steps": [
            { "id": "send", "send": "relance" },
            { "id": "week", "wait": "7d" },
            { "id": "again", "if": { "not": { "has_rsvp": true } }, "then": "send", "else": "again" },
        ],
    }));
    // `again` jumps to itself with no wait.
    assert_eq!(
        messages(weekly.validate(&emails(), &interests(), &[])).len(),
        1
    );
    let fine = automation(serde_json::json!({
        "trigger": { "rsvp": "any" },
        "steps": [
            { "id": "send", "send": "relance" },
            { "id": "week", "wait": "7d" },
            { "id": "again", "if": { "not": { "has_rsvp": true } }, "then": "send" },
        ],
    }));
    assert!(fine.validate(&emails(), &interests(), &[]).is_empty());
}

#[test]
fn conditions_hold_on_a_supporters_facts() {
    let mut a = automation(serde_json::json!({
        "trigger": { "form": "volunteer" },
        "steps": [{
            "id": "near",
            "if": { "any": [
                { "within": { "km": 30, "of": "Valenciennes" } },
                { "all": [{ "has_tag": "logement" }, { "not": { "has_rsvp": true } }] },
            ] },
            "then": "near",
        }, { "id": "w", "wait": "1d" }],
    }));
    // `near` jumps to itself: refused; the condition is what is tested here.
    assert_eq!(a.resolve(&emails(), &interests(), &[]).len(), 1);
    let Action::If { condition, .. } = &a.steps[0].action else {
        panic!("an if step");
    };
    let json = serde_json::to_value(condition).unwrap();
    assert_eq!(
        json["any"][0]["within"]["of"]["name"], "Valenciennes",
        "resolved: {json}"
    );
    let interests: BTreeSet<String> = BTreeSet::new();
    let supporter = |postcode: &'static str| Facts {
        status: EmailStatus::Confirmed,
        interests: &interests,
        tags: &interests,
        created_at: jiff::Timestamp::UNIX_EPOCH,
        point: Location::of(None, Some(postcode)).map(|l| l.point),
        postcode: Some(postcode),
        insee: None,
        departement: None,
        attended: &[],
        gave: false,
        upcoming_rsvp: false,
    };
    assert!(condition.holds(&supporter("59300")));
    assert!(!condition.holds(&supporter("13001")));
    let housing: BTreeSet<String> = ["logement".to_owned()].into();
    let far_housing = Facts {
        interests: &housing,
        ..supporter("13001")
    };
    assert!(condition.holds(&far_housing));
    assert!(!condition.holds(&Facts {
        upcoming_rsvp: true,
        ..far_housing
    }));
}
