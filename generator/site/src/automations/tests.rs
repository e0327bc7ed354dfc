use super::*;

fn check(text: &str) -> Result<Automation, Vec<String>> {
    let emails: BTreeSet<String> = ["merci".to_owned(), "relance".to_owned()].into();
    let interests = vec![Choice {
        id: "logement".into(),
        label: "Logement".into(),
    }];
    let known = Known {
        emails: &emails,
        interests: &interests,
        events: &[],
    };
    parse(
        "bienvenue",
        "content/automations/bienvenue.yaml",
        text,
        &known,
    )
    .map_err(|problems| problems.iter().map(|p| p.to_string()).collect())
}

#[test]
fn a_good_file_is_read_with_every_kind_of_step() {
    let automation = check(
        "trigger: { tag_added: logement }\n\
         steps:\n\
         - id: merci\n  send: merci\n\
         - id: attente\n  wait: 90m\n\
         - id: proche\n  if:\n    all:\n      - within: { km: 30, of: Valenciennes }\n      \
         - not: { has_rsvp: true }\n      - any: [{ has_tag: logement }, { within: { km: 5, of: { lat: 50.0, lon: 3.0 } } }]\n  \
         then: relance\n  else: fin\n\
         - id: relance\n  send: relance\n\
         - id: tag\n  add_tag: logement\n\
         - id: untag\n  remove_tag: logement\n\
         - id: fin\n  stop: true\n",
    )
    .unwrap();
    assert_eq!(automation.id, "bienvenue");
    assert_eq!(automation.steps.len(), 7);
    let json = serde_json::to_string(&automation).unwrap();
    assert!(
        json.contains(
            r#""within":{"km":30.0,"of":{"lat":50.3579,"lon":3.5237,"name":"Valenciennes"}}"#
        ),
        "{json}"
    );
    for trigger in [
        "confirmed",
        "{ form: volunteer }",
        "{ rsvp: any }",
        "{ rsvp: true }",
    ] {
        let text = format!("trigger: {trigger}\nsteps: [{{ id: a, stop: true }}]\n");
        assert!(check(&text).is_ok(), "{trigger}");
    }
}

#[test]
fn each_mistake_is_reported_at_its_place() {
    let cases = [
        (
            "trigger: confirmed\nsteps:\n  - id: a\n    wait: 2 jours\n",
            "content/automations/bienvenue.yaml:3:3: steps: step `a`: wait: `2 jours` is not a \
             duration; write a whole number and a unit, like `90m`, `48h`, `2d` or `1w`",
        ),
        (
            "trigger: signed_up\nsteps: []\n",
            "content/automations/bienvenue.yaml:1:10: trigger: `signed_up` is not a trigger; \
             write `confirmed`, `form: <signup, volunteer or rsvp>`, `tag_added: <interest>` or \
             `rsvp: <any or an event>`",
        ),
        (
            "trigger: { form: signup, rsvp: any }\nsteps: []\n",
            "content/automations/bienvenue.yaml:1:10: trigger: a trigger is one of `confirmed`, \
             `form: <signup, volunteer or rsvp>`, `tag_added: <interest>` or `rsvp: <any or an \
             event>`; to start on several, write one automation for each",
        ),
        (
            "trigger: { form: petition }\nsteps: []\n",
            "content/automations/bienvenue.yaml:1:18: trigger.form: unknown variant `petition`, \
             expected one of `signup`, `volunteer`, `rsvp`, `donation`",
        ),
        (
            "trigger: confirmed\nsteps:\n  - id: a\n    if: { has_tag: logement, has_rsvp: true }\n    then: a\n",
            "content/automations/bienvenue.yaml:3:5: steps[0]: a condition tests one thing: \
             to test `has_rsvp` and `has_tag` together, write `all: [{ has_rsvp: ... }, { \
             has_tag: ... }]`",
        ),
        (
            "trigger: confirmed\nsteps:\n  - id: a\n    if: { within: { km: 10, of: [1, 2] } }\n    then: a\n",
            "content/automations/bienvenue.yaml:4:33: steps[0].if.within.of: invalid type: \
             sequence, expected a commune's name or `{ lat: ..., lon: ... }`",
        ),
        (
            "trigger: confirmed\nsteps:\n  - id: a\n    send: relance\n  - id: b\n    if: { has_rsvp: false }\n    then: a\n",
            "content/automations/bienvenue.yaml:3: step `a`: this step can come back to itself \
             with no `wait` on the way, so it would run without end: put a `wait` step in the loop",
        ),
        (
            "trigger: confirmed\n",
            "content/automations/bienvenue.yaml:1:1: missing field `steps`\n  hint: add the missing key",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(check(text).unwrap_err(), [expected], "{text}");
    }
}
