use super::*;
use crate::config::CampaignConfig;
use std::collections::BTreeSet;

fn config(double_opt_in: bool) -> CampaignConfig {
    let mut config: CampaignConfig = serde_json::from_value(serde_json::json!({
        "title": "Claire Martin 2027",
        "base_url": "https://claire.example",
        "language": "fr",
        "interests": [
            { "id": "ecologie", "label": "Écologie" },
            { "id": "logement", "label": "Logement" },
            { "id": "sante", "label": "Santé" },
        ],
    }))
    .unwrap();
    config.forms.double_opt_in = double_opt_in;
    config
}

fn event(id: &str) -> Event {
    serde_json::from_value(serde_json::json!({
        "id": id, "title": "Réunion", "url": format!("https://claire.example{id}"),
        "start": "2027-02-06T09:00:00Z", "end": "2027-02-06T11:00:00Z",
        "timezone": "Europe/Paris", "venue": null, "address": null, "postcode": null,
        "city": null, "country": "FR", "coordinates": null, "capacity": null,
        "rsvp": true, "online_url": null, "summary": "",
    }))
    .unwrap()
}

fn audience(json: serde_json::Value) -> Audience {
    serde_json::from_value(json).unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

struct Person {
    status: EmailStatus,
    interests: BTreeSet<String>,
    tags: BTreeSet<String>,
    created_at: Timestamp,
    postcode: Option<&'static str>,
    attended: Vec<String>,
    gave: bool,
}

impl Person {
    fn new(postcode: Option<&'static str>, interests: &[&str]) -> Person {
        Person {
            status: EmailStatus::Confirmed,
            interests: interests.iter().map(|s| s.to_string()).collect(),
            tags: BTreeSet::new(),
            created_at: at("2027-01-10T00:00:00Z"),
            postcode,
            attended: Vec::new(),
            gave: false,
        }
    }

    fn facts(&self) -> Facts<'_> {
        let location = Location::of(Some("FR"), self.postcode);
        Facts {
            status: self.status,
            interests: &self.interests,
            tags: &self.tags,
            created_at: self.created_at,
            point: location.map(|l| l.point),
            postcode: self.postcode,
            insee: location.map(|l| l.insee),
            departement: location.map(|l| l.departement),
            attended: &self.attended,
            gave: self.gave,
            upcoming_rsvp: false,
        }
    }
}

fn filter(json: serde_json::Value) -> AudienceFilter {
    AudienceFilter::compile(&audience(json), &config(true), &[event("/agenda/anzin/")]).unwrap()
}

#[test]
fn distance_from_a_named_place_uses_the_gazetteer() {
    let near = filter(serde_json::json!({ "within": { "km": 100, "of": "Valenciennes" } }));
    assert!(near.matches(&Person::new(Some("59300"), &[]).facts()));
    assert!(
        near.matches(&Person::new(Some("59000"), &[]).facts()),
        "Lille is 45 km away"
    );
    assert!(
        !near.matches(&Person::new(Some("13001"), &[]).facts()),
        "Marseille"
    );
    assert!(
        !near.matches(&Person::new(None, &[]).facts()),
        "no postcode, no place"
    );
    let by_point = filter(serde_json::json!({
        "within": { "km": 5, "of": { "lat": 50.3579, "lon": 3.5237 } }
    }));
    assert!(by_point.matches(&Person::new(Some("59300"), &[]).facts()));
}

#[test]
fn tags_status_and_activity_narrow_the_audience() {
    let any = filter(serde_json::json!({ "tags": ["ecologie", "logement"] }));
    let all = filter(serde_json::json!({ "all_tags": ["ecologie", "logement"] }));
    let green = Person::new(None, &["ecologie"]);
    let both = Person::new(None, &["ecologie", "logement"]);
    assert!(any.matches(&green.facts()) && any.matches(&both.facts()));
    assert!(!all.matches(&green.facts()) && all.matches(&both.facts()));
    assert!(!any.matches(&Person::new(None, &["sante"]).facts()));

    let mut pending = Person::new(None, &["ecologie"]);
    pending.status = EmailStatus::Pending;
    assert!(!any.matches(&pending.facts()), "confirmed only by default");
    let mut gone = Person::new(None, &["ecologie"]);
    gone.status = EmailStatus::Unsubscribed;
    assert!(!any.matches(&gone.facts()));

    let recent = filter(serde_json::json!({ "signed_up_since": "2027-01-10" }));
    let mut old = Person::new(None, &[]);
    old.created_at = at("2027-01-09T22:59:59Z");
    assert!(
        !recent.matches(&old.facts()),
        "midnight in Paris is 23:00 UTC"
    );
    old.created_at = at("2027-01-09T23:00:00Z");
    assert!(recent.matches(&old.facts()));

    let came = filter(serde_json::json!({ "attended": "anzin" }));
    let came_anywhere = filter(serde_json::json!({ "attended": true }));
    let gave = filter(serde_json::json!({ "gave": true }));
    let mut person = Person::new(None, &[]);
    assert!(!came.matches(&person.facts()) && !came_anywhere.matches(&person.facts()));
    person.attended = vec!["/agenda/anzin/".into()];
    assert!(came.matches(&person.facts()) && came_anywhere.matches(&person.facts()));
    assert!(!gave.matches(&person.facts()));
    person.gave = true;
    assert!(gave.matches(&person.facts()));
}

#[test]
fn imported_tags_match_the_labels_of_an_imported_file_only() {
    let members = filter(serde_json::json!({ "imported_tags": ["adherent", "elus"] }));
    let mut member = Person::new(None, &[]);
    member.tags = ["adherent".to_owned(), "porte-a-porte".to_owned()].into();
    assert!(members.matches(&member.facts()));
    let declared = Person::new(None, &["adherent"]);
    assert!(
        !members.matches(&declared.facts()),
        "an interest of the same name is not an imported label"
    );
    let both = filter(serde_json::json!({ "tags": ["ecologie"], "imported_tags": ["adherent"] }));
    assert!(!both.matches(&member.facts()), "every key narrows");
    member.interests.insert("ecologie".to_owned());
    assert!(both.matches(&member.facts()));

    let mut spaced = audience(serde_json::json!({ "imported_tags": [" adherent", ""] }));
    let problems = spaced.resolve(&config(true), &[]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("audience: imported_tags: ` adherent`"));
}

#[test]
fn communes_departements_and_postcode_prefixes() {
    let communes = filter(serde_json::json!({ "communes": ["Valenciennes", "59009"] }));
    assert!(communes.matches(&Person::new(Some("59300"), &[]).facts()));
    assert!(!communes.matches(&Person::new(Some("59000"), &[]).facts()));
    let nord = filter(serde_json::json!({ "departements": ["59", "2a"] }));
    assert!(nord.matches(&Person::new(Some("59300"), &[]).facts()));
    assert!(
        nord.matches(&Person::new(Some("20000"), &[]).facts()),
        "Ajaccio"
    );
    assert!(!nord.matches(&Person::new(Some("62000"), &[]).facts()));
    let mut unresolved = Person::new(Some("59300"), &[]);
    unresolved.postcode = Some("59300");
    let facts = Facts {
        departement: None,
        ..unresolved.facts()
    };
    assert!(
        nord.matches(&facts),
        "read from the postcode when not given"
    );
    let prefixes = filter(serde_json::json!({ "postcodes": ["593", "62"] }));
    assert!(prefixes.matches(&Person::new(Some("59300"), &[]).facts()));
    assert!(prefixes.matches(&Person::new(Some("62000"), &[]).facts()));
    assert!(!prefixes.matches(&Person::new(Some("59000"), &[]).facts()));
    assert!(!prefixes.matches(&Person::new(None, &[]).facts()));
}

#[test]
fn resolving_reports_every_mistake_by_key() {
    let mut wrong = audience(serde_json::json!({
        "tags": ["ecolgie"],
        "status": ["unsubscribed", "pending"],
        "signed_up_since": "janvier",
        "attended": "nowhere",
        "within": { "km": 0, "of": "Valenciennes" },
        "communes": ["Atlantis"],
        "departements": ["99", "59"],
        "postcodes": ["59a"],
    }));
    let problems = wrong.resolve(&config(true), &[event("/agenda/anzin/")]);
    assert_eq!(
        problems,
        [
            "audience: `ecolgie` is not an interest declared in campaign.yaml; declared: \
             ecologie, logement, sante",
            "audience: status `unsubscribed` cannot be written to: these addresses must \
             never receive marketing email",
            "audience: status `pending` cannot be written to: the campaign asks new \
             supporters to confirm their address (`forms.double_opt_in`), so unconfirmed \
             ones receive no marketing email",
            "audience: signed_up_since: `janvier` is not a date; write it like `2027-01-15` \
             or `2027-01-15 18:00`",
            "audience: attended: there is no event `nowhere`: its events include \
             /agenda/anzin/",
            "audience: within: `km: 0` is not a distance: write a number of kilometres above 0",
            "audience: communes: no French commune is called `Atlantis`; check the spelling, \
             or give coordinates: `of: { lat: 50.36, lon: 3.52 }`",
            "audience: departements: `99` is not a département code; write it like `\"59\"`, \
             `\"2A\"` or `\"974\"`",
            "audience: postcodes: `59a` is not the beginning of a postcode; write one to five \
             digits, like `\"59\"` or `\"59300\"`",
        ]
    );
    let mut homonym = audience(serde_json::json!({ "within": { "km": 10, "of": "Saint-Denis" } }));
    let problems = homonym.resolve(&config(true), &[]);
    assert!(
        problems[0].starts_with("audience: within: ")
            && problems[0].contains("communes are called `Saint-Denis`: write which, like"),
        "{problems:?}"
    );
}

#[test]
fn resolving_rewrites_names_for_the_manifest() {
    let mut written = audience(serde_json::json!({
        "within": { "km": 100, "of": "Valenciennes" },
        "communes": ["Valenciennes"],
        "attended": "anzin",
        "signed_up_since": "2027-01-10 18:00",
        "status": "pending",
    }));
    assert!(
        written
            .resolve(&config(false), &[event("/agenda/anzin/")])
            .is_empty()
    );
    let json = serde_json::to_value(&written).unwrap();
    assert_eq!(json["within"]["of"]["name"], "Valenciennes");
    assert!((json["within"]["of"]["lat"].as_f64().unwrap() - 50.36).abs() < 0.05);
    assert_eq!(json["communes"][0], "59606");
    assert_eq!(json["attended"], "/agenda/anzin/");
    assert_eq!(json["signed_up_since"], "2027-01-10T17:00:00Z");
    assert_eq!(json["status"][0], "pending");
    let back: Audience = serde_json::from_value(json).unwrap();
    assert_eq!(back, written);
    assert_eq!(
        back.summary(),
        "pending · signed up since 2027-01-10T17:00:00Z · attended /agenda/anzin/ · \
         within 100 km of Valenciennes · communes 59606"
    );
}

#[test]
fn pending_addresses_never_match_under_double_opt_in() {
    let mut written = audience(serde_json::json!({ "status": "pending" }));
    assert!(!written.resolve(&config(true), &[]).is_empty());
    assert!(AudienceFilter::compile(&written, &config(true), &[]).is_err());
}

/// A million supporters, filtered two ways: the compiled filter and the
/// plainest possible reading of the audience. Counts must agree.
#[test]
fn a_million_supporters_match_as_a_naive_filter_says() {
    let gazetteer = Gazetteer::france();
    let postcodes = [
        "59300", "59000", "62000", "13001", "75011", "59410", "20000", "97400",
    ];
    let located: Vec<(&str, Option<Location>)> = postcodes
        .iter()
        .map(|p| (*p, Location::of(Some("FR"), Some(p))))
        .collect();
    let tag_sets: Vec<BTreeSet<String>> = [
        &[][..],
        &["ecologie"],
        &["logement"],
        &["ecologie", "logement"],
        &["sante", "ecologie"],
    ]
    .iter()
    .map(|set| set.iter().map(|s| s.to_string()).collect())
    .collect();
    let attended = [Vec::new(), vec!["/agenda/anzin/".to_owned()]];
    let statuses = [
        EmailStatus::Confirmed,
        EmailStatus::Confirmed,
        EmailStatus::Pending,
        EmailStatus::Unsubscribed,
    ];
    let start = at("2026-06-01T00:00:00Z");
    let mut seed: u64 = 0x2027;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    struct Row {
        status: EmailStatus,
        tags: usize,
        created_at: Timestamp,
        place: usize,
        attended: usize,
        gave: bool,
        jitter: (f64, f64),
    }
    let rows: Vec<Row> = (0..1_000_000)
        .map(|_| Row {
            status: statuses[next() % statuses.len()],
            tags: next() % tag_sets.len(),
            created_at: start + jiff::SignedDuration::from_secs((next() % 30_000_000) as i64),
            place: next() % located.len(),
            attended: next() % attended.len(),
            gave: next() % 3 == 0,
            jitter: (
                (next() % 2000) as f64 / 1000.0 - 1.0,
                (next() % 2000) as f64 / 1000.0 - 1.0,
            ),
        })
        .collect();
    let no_tags = BTreeSet::new();
    let facts = |row: &Row| {
        let (postcode, location) = &located[row.place];
        Facts {
            status: row.status,
            interests: &tag_sets[row.tags],
            tags: &no_tags,
            created_at: row.created_at,
            point: location.map(|l| Point {
                lat: l.point.lat + row.jitter.0,
                lon: l.point.lon + row.jitter.1,
            }),
            postcode: Some(postcode),
            insee: location.map(|l| l.insee),
            departement: None,
            attended: &attended[row.attended],
            gave: row.gave,
            upcoming_rsvp: false,
        }
    };
    let valenciennes = gazetteer.place("Valenciennes")[0].commune.point;
    let since = at("2027-01-01T00:00:00Z");
    type Naive = Box<dyn Fn(&Facts<'_>) -> bool>;
    let cases: Vec<(serde_json::Value, Naive)> = vec![
        (
            serde_json::json!({ "tags": ["ecologie"], "within": { "km": 100, "of": "Valenciennes" } }),
            Box::new(move |f: &Facts<'_>| {
                f.status == EmailStatus::Confirmed
                    && f.interests.contains("ecologie")
                    && f.point
                        .is_some_and(|p| crate::geo::distance_km(valenciennes, p) <= 100.0)
            }),
        ),
        (
            serde_json::json!({ "departements": ["59"], "gave": true, "signed_up_since": "2027-01-01T00:00:00Z" }),
            Box::new(move |f: &Facts<'_>| {
                f.status == EmailStatus::Confirmed
                    && f.gave
                    && f.created_at >= since
                    && f.postcode.is_some_and(|p| p.starts_with("59"))
            }),
        ),
        (
            serde_json::json!({ "all_tags": ["ecologie", "logement"], "attended": true, "postcodes": ["593", "13"] }),
            Box::new(|f: &Facts<'_>| {
                f.status == EmailStatus::Confirmed
                    && f.interests.contains("ecologie")
                    && f.interests.contains("logement")
                    && !f.attended.is_empty()
                    && f.postcode
                        .is_some_and(|p| p.starts_with("593") || p.starts_with("13"))
            }),
        ),
    ];
    for (json, naive) in cases {
        let compiled = AudienceFilter::compile(
            &audience(json.clone()),
            &config(true),
            &[event("/agenda/anzin/")],
        )
        .unwrap();
        let fast = rows.iter().filter(|r| compiled.matches(&facts(r))).count();
        let slow = rows.iter().filter(|r| naive(&facts(r))).count();
        assert_eq!(fast, slow, "{json}");
        assert!(fast > 1000, "the case selects someone: {json}");
    }
}
