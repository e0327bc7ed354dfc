//! Finding communes by the name a person types: "Valenciennes",
//! "saint etienne", "St-Étienne", "Saint-Denis (93)".

use super::gazetteer::{Commune, Gazetteer, Row};
use crate::text::slugify;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Name queries longer than this are refused before any work is done; the
/// longest French commune name is under 50 characters.
const MAX_NAME_INPUT: usize = 120;

/// A commune found by name, with every postcode that serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub commune: Commune,
    /// Sorted. Empty for Paris, Lyon and Marseille as whole cities: their
    /// postcodes belong to their arrondissements ("Paris 1er Arrondissement").
    pub postcodes: Vec<&'static str>,
}

/// Communes keyed by their folded name and by INSEE code.
#[derive(Debug)]
pub(super) struct PlaceIndex {
    places: Vec<Place>,
    by_name: HashMap<String, Vec<usize>>,
    by_insee: HashMap<&'static str, usize>,
}

impl PlaceIndex {
    pub(super) fn build(rows: &[Row]) -> PlaceIndex {
        let mut index = PlaceIndex {
            places: Vec::with_capacity(rows.len()),
            by_name: HashMap::with_capacity(rows.len()),
            by_insee: HashMap::with_capacity(rows.len()),
        };
        for row in rows {
            if let Some(&known) = index.by_insee.get(row.commune.insee) {
                if let Some(place) = index.places.get_mut(known) {
                    place.postcodes.push(row.postcode);
                }
                continue;
            }
            let position = index.places.len();
            let postcodes = if row.postcode.is_empty() {
                Vec::new()
            } else {
                vec![row.postcode]
            };
            index.places.push(Place {
                commune: row.commune,
                postcodes,
            });
            index.by_insee.insert(row.commune.insee, position);
            let key = name_key(row.commune.name);
            index.by_name.entry(key).or_default().push(position);
        }
        for place in &mut index.places {
            place.postcodes.sort_unstable();
            place.postcodes.dedup();
        }
        index
    }
}

impl Gazetteer {
    /// Every commune whose name matches `query`, most populous first.
    ///
    /// Case, accents, hyphens, apostrophes and spacing are ignored, and "St"
    /// and "Ste" stand for "Saint" and "Sainte". A homonym is picked out by a
    /// département code or a postcode after the name, in parentheses, after
    /// a comma or after a space: "Saint-Denis (93)", "Saint-Denis, 974",
    /// "Saint-Denis 93200". A qualifier that is neither answers an empty
    /// list rather than every homonym, so that an audience is never wider
    /// than what was written.
    pub fn place(&self, query: &str) -> Vec<Place> {
        if query.len() > MAX_NAME_INPUT {
            return Vec::new();
        }
        let (name, qualifier) = split_qualifier(query);
        if name.contains(['(', ')', ',']) {
            return Vec::new();
        }
        let qualifier = match qualifier.map(Qualifier::parse) {
            Some(None) => return Vec::new(),
            Some(Some(qualifier)) => Some(qualifier),
            None => None,
        };
        let key = name_key(name);
        if key.is_empty() {
            return Vec::new();
        }
        let index = self.place_index();
        let Some(positions) = index.by_name.get(&key) else {
            return Vec::new();
        };
        let mut found: Vec<Place> = positions
            .iter()
            .filter_map(|&position| index.places.get(position))
            .filter(|place| qualifier.as_ref().is_none_or(|q| q.accepts(place)))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            b.commune
                .population
                .cmp(&a.commune.population)
                .then(a.commune.insee.cmp(b.commune.insee))
        });
        found
    }

    /// The commune with this INSEE code (as stored when a supporter's
    /// commune was resolved), or `None`.
    pub fn commune(&self, insee: &str) -> Option<Place> {
        let index = self.place_index();
        let position = *index.by_insee.get(insee.trim())?;
        index.places.get(position).cloned()
    }
}

/// What may follow a name to choose among homonyms.
enum Qualifier {
    Departement(String),
    Postcode(String),
}

impl Qualifier {
    fn parse(text: &str) -> Option<Qualifier> {
        let text = text.trim();
        let digits = text.bytes().all(|b| b.is_ascii_digit());
        match text.len() {
            5 if digits => Some(Qualifier::Postcode(text.to_owned())),
            1 if digits => Some(Qualifier::Departement(format!("0{text}"))),
            2 | 3 if digits => Some(Qualifier::Departement(text.to_owned())),
            2 if text.eq_ignore_ascii_case("2a") || text.eq_ignore_ascii_case("2b") => {
                Some(Qualifier::Departement(text.to_ascii_uppercase()))
            }
            _ => None,
        }
    }

    fn accepts(&self, place: &Place) -> bool {
        match self {
            Qualifier::Departement(code) => place.commune.departement == code,
            Qualifier::Postcode(code) => place.postcodes.iter().any(|p| p == code),
        }
    }
}

/// Splits "Saint-Denis (93)", "Saint-Denis, 93" and "Saint-Denis 93" into
/// the name and the qualifier. Commune names contain no parentheses, commas
/// or digits, so these forms cannot be mistaken for a name.
fn split_qualifier(query: &str) -> (&str, Option<&str>) {
    let trimmed = query.trim();
    if let Some(open) = trimmed.rfind('(')
        && let Some(inside) = trimmed
            .get(open + 1..)
            .and_then(|rest| rest.strip_suffix(')'))
    {
        return (trimmed.get(..open).unwrap_or_default(), Some(inside));
    }
    if let Some((name, after)) = trimmed.rsplit_once(',') {
        return (name, Some(after));
    }
    if let Some((name, last)) = trimmed.rsplit_once(char::is_whitespace)
        && last.bytes().any(|b| b.is_ascii_digit())
    {
        return (name, Some(last));
    }
    (trimmed, None)
}

/// The form of a name that comparisons use: composed Unicode, then
/// [`slugify`] (lower case, accents folded, any run of other characters one
/// `-`), with the abbreviations "st" and "ste" spelt out.
fn name_key(name: &str) -> String {
    // ASCII text is already composed; most names are, and skipping the
    // normalisation halves the time the index takes to build.
    let slug = if name.is_ascii() {
        slugify(name)
    } else {
        slugify(&name.nfc().collect::<String>())
    };
    if !slug.split('-').any(|word| word == "st" || word == "ste") {
        return slug;
    }
    slug.split('-')
        .map(|word| match word {
            "st" => "saint",
            "ste" => "sainte",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_accents_and_punctuation() {
        assert_eq!(name_key("Saint-Étienne"), "saint-etienne");
        assert_eq!(name_key("saint etienne"), "saint-etienne");
        assert_eq!(name_key("ST-ETIENNE"), "saint-etienne");
        assert_eq!(name_key("Sainte-Anne"), name_key("Ste Anne"));
        assert_eq!(name_key("L'Haÿ-les-Roses"), name_key("l hay les roses"));
        assert_eq!(name_key("L’Haÿ-les-Roses"), name_key("L'Haÿ-les-Roses"));
        // The same accent typed as a base letter and a combining mark.
        assert_eq!(name_key("Saint-E\u{301}tienne"), "saint-etienne");
    }

    #[test]
    fn qualifiers_are_split_from_the_name() {
        assert_eq!(
            split_qualifier("Saint-Denis (93)"),
            ("Saint-Denis ", Some("93"))
        );
        assert_eq!(
            split_qualifier("Saint-Denis, 974"),
            ("Saint-Denis", Some(" 974"))
        );
        assert_eq!(
            split_qualifier("Saint-Denis 93200"),
            ("Saint-Denis", Some("93200"))
        );
        assert_eq!(split_qualifier("  Saint Denis "), ("Saint Denis", None));
        assert_eq!(split_qualifier("(("), ("((", None));
    }
}
