//! The embedded French gazetteer answers for known places, and nothing a
//! supporter types can make it panic.

use estrade_domain::geo::{Circle, Gazetteer, Point, distance_km};
use std::time::Instant;

fn france() -> &'static Gazetteer {
    Gazetteer::france()
}

fn only_place(query: &str) -> estrade_domain::geo::Place {
    let mut found = france().place(query);
    assert_eq!(found.len(), 1, "{query}: {found:?}");
    found.remove(0)
}

#[test]
fn embedded_table_parses_without_a_rejected_line() {
    let table = include_str!("../data/fr-postcodes.tsv");
    let data_lines = table.lines().filter(|l| !l.starts_with('#')).count();
    assert!(data_lines > 35_000, "{data_lines}");
    Gazetteer::parse(table).expect("every line of the shipped table is valid");
}

#[test]
fn known_postcodes_resolve_to_their_communes() {
    let cases = [
        ("59300", "59606", "Valenciennes", "59"),
        ("75001", "75101", "Paris 1er Arrondissement", "75"),
        ("13001", "13201", "Marseille 1er Arrondissement", "13"),
        ("20000", "2A004", "Ajaccio", "2A"),
        ("97400", "97411", "Saint-Denis", "974"),
    ];
    for (postcode, insee, name, departement) in cases {
        let locality = france().postcode("FR", postcode).expect(postcode);
        assert_eq!(locality.postcode, postcode);
        assert_eq!(locality.departement, departement, "{postcode}");
        let main = &locality.communes[0];
        assert_eq!((main.insee, main.name), (insee, name), "{postcode}");
    }
}

#[test]
fn a_shared_postcode_lists_every_commune_and_a_point_among_them() {
    // 59300 serves Valenciennes and Aulnoy-lez-Valenciennes.
    let locality = france().postcode("fr", " 59300 ").expect("59300");
    assert!(locality.communes.len() >= 2, "{:?}", locality.communes);
    let valenciennes = locality.communes[0].point;
    assert!(distance_km(locality.point, valenciennes) < 5.0);
    let populations: Vec<u32> = locality.communes.iter().map(|c| c.population).collect();
    assert!(populations.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn other_countries_and_malformed_postcodes_answer_none() {
    for (country, code) in [
        ("BE", "1000"),
        ("DE", "59300"),
        ("", "59300"),
        ("FR", ""),
        ("FR", "5930"),
        ("FR", "593000"),
        ("FR", "59 300"),
        ("FR", "00000"),
        ("FR", "13233"),
        ("FR", "５９３００"),
        ("FR", "59300\u{0}"),
    ] {
        assert_eq!(
            france().postcode(country, code),
            None,
            "{country:?} {code:?}"
        );
    }
}

#[test]
fn departements_from_postcodes() {
    let g = france();
    assert_eq!(g.departement_of("59300"), Some("59"));
    assert_eq!(g.departement_of("01000"), Some("01"));
    assert_eq!(g.departement_of("20000"), Some("2A"));
    assert_eq!(g.departement_of("20200"), Some("2B"));
    assert_eq!(g.departement_of("97400"), Some("974"));
    assert_eq!(g.departement_of("97600"), Some("976"));
    // Not in the table (CEDEX), read from the digits.
    assert_eq!(g.departement_of("13233"), Some("13"));
    assert_eq!(g.departement_of("20199"), Some("2A"));
    assert_eq!(g.departement_of("20699"), Some("2B"));
    assert_eq!(g.departement_of("97199"), Some("971"));
    assert_eq!(g.departement_of("98000"), None);
    assert_eq!(g.departement_of("00100"), None);
    assert_eq!(g.departement_of("2A000"), None);
}

#[test]
fn distances_between_known_places() {
    let valenciennes = only_place("Valenciennes").commune.point;
    let marseille = only_place("Marseille").commune.point;
    let lille = only_place("Lille").commune.point;
    let to_marseille = distance_km(valenciennes, marseille);
    // As the crow flies; by road it is nearer 1,000 km.
    assert!((to_marseille - 797.0).abs() < 8.0, "{to_marseille}");
    let to_lille = distance_km(valenciennes, lille);
    assert!(to_lille < 100.0 && to_lille > 40.0, "{to_lille}");
    let around = Circle::new(valenciennes, 100.0);
    assert!(around.contains(lille));
    assert!(!around.contains(marseille));
}

#[test]
fn names_ignore_case_accents_and_hyphens() {
    for query in ["Valenciennes", "valenciennes", " VALENCIENNES "] {
        assert_eq!(only_place(query).commune.insee, "59606", "{query}");
    }
    for query in [
        "Saint-Étienne",
        "saint etienne",
        "St Etienne",
        "SAINT-ETIENNE",
    ] {
        let found = france().place(query);
        assert_eq!(found[0].commune.insee, "42218", "{query}");
    }
    assert_eq!(only_place("l'hay les roses").commune.insee, "94038");
    let paris = only_place("Paris");
    assert_eq!(paris.commune.insee, "75056");
    assert!(paris.postcodes.is_empty());
    assert_eq!(only_place("Ajaccio").postcodes, ["20000", "20090", "20167"]);
}

#[test]
fn homonyms_are_all_listed_and_can_be_told_apart() {
    let all = france().place("Saint-Denis");
    assert!(all.len() >= 4, "{all:?}");
    let departements: Vec<&str> = all.iter().map(|p| p.commune.departement).collect();
    assert!(departements.contains(&"93") && departements.contains(&"974"));
    assert_eq!(all[0].commune.insee, "97411", "most populous first");
    for query in [
        "Saint-Denis (93)",
        "Saint-Denis, 93",
        "saint denis 93",
        "Saint-Denis 93200",
    ] {
        assert_eq!(only_place(query).commune.insee, "93066", "{query}");
    }
    assert_eq!(only_place("Saint-Denis (974)").commune.insee, "97411");
    assert!(france().place("Saint-Denis (75)").is_empty());
    assert!(france().place("Saint-Denis (Réunion)").is_empty());
    assert_eq!(only_place("Ajaccio (2a)").commune.departement, "2A");
}

#[test]
fn communes_by_insee_code() {
    let found = france().commune("59606").expect("59606");
    assert_eq!(found.commune.name, "Valenciennes");
    assert_eq!(found.postcodes, ["59300"]);
    assert_eq!(france().commune("99999"), None);
    assert_eq!(france().commune(""), None);
}

#[test]
fn hostile_input_answers_nothing() {
    let huge = "a".repeat(1 << 20);
    let huge_digits = "5".repeat(1 << 20);
    let junk = [
        "",
        " ",
        "()",
        "(93)",
        ",",
        "'-'",
        "\u{0}\u{0}",
        "🏳️‍🌈🏳️‍🌈",
        "\u{202e}sennecnelaV",
        "Ｖａｌｅｎｃｉｅｎｎｅｓ (５９)",
        "Saint-Denis (",
        "Saint-Denis ((93)",
        "Saint-Denis (93",
        "\u{301}\u{301}\u{301}",
        huge.as_str(),
        huge_digits.as_str(),
    ];
    for input in junk {
        let shown: String = input.chars().take(20).collect();
        assert!(france().place(input).is_empty(), "{shown:?}");
        assert_eq!(france().postcode("FR", input), None, "{shown:?}");
        assert_eq!(france().departement_of(input), None, "{shown:?}");
        assert_eq!(france().commune(input), None, "{shown:?}");
        assert_eq!(france().postcode(input, "59300"), None, "{shown:?}");
    }
}

/// Not a benchmark: prints how long parsing and a million-point filter take
/// in whatever profile the tests run, with a ceiling loose enough for a
/// debug build on a busy machine.
#[test]
fn parse_and_filter_take_milliseconds() {
    let table = include_str!("../data/fr-postcodes.tsv");
    let started = Instant::now();
    let parsed = Gazetteer::parse(table).expect("parses");
    let parse = started.elapsed();
    let started = Instant::now();
    let found = parsed.place("Valenciennes");
    let name_index = started.elapsed();
    assert_eq!(found.len(), 1);

    let centre = found[0].commune.point;
    let points: Vec<Point> = (0..1_000_000)
        .map(|i| {
            let i = f64::from(i);
            Point {
                lat: 42.0 + (i * 0.618_034) % 9.0,
                lon: -4.5 + (i * 0.414_214) % 12.5,
            }
        })
        .collect();
    let circle = Circle::new(centre, 100.0);
    let started = Instant::now();
    let inside = points.iter().filter(|p| circle.contains(**p)).count();
    let filter = started.elapsed();
    let exact = points
        .iter()
        .filter(|p| distance_km(centre, **p) <= 100.0)
        .count();
    assert_eq!(inside, exact);
    eprintln!(
        "parse {parse:?}, name index {name_index:?}, 1M-point filter {filter:?} ({inside} inside)"
    );
    assert!(parse.as_secs_f64() < 2.0);
    assert!(filter.as_secs_f64() < 5.0);
}
