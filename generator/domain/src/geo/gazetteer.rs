//! The embedded table of French postcodes and communes, and lookups by
//! postcode and département.

use super::Point;
use super::places::PlaceIndex;
use std::fmt;
use std::sync::OnceLock;

/// The file `data/README.md` describes: one line per (postcode, commune).
const FRANCE_TSV: &str = include_str!("../../data/fr-postcodes.tsv");

/// Postcode queries longer than this are refused before any work is done.
const MAX_POSTCODE_INPUT: usize = 16;

/// One commune (or a municipal arrondissement of Paris, Lyon or Marseille).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Commune {
    /// INSEE code, e.g. `59606`, `2A004`, `75101`.
    pub insee: &'static str,
    /// Official name with its accents, e.g. `Valenciennes`.
    pub name: &'static str,
    /// Département code: `59`, `2A`, `974`…
    pub departement: &'static str,
    /// Municipal population; 0 where the source gives none.
    pub population: u32,
    /// The town hall, or the centre of the commune's outline.
    pub point: Point,
}

/// What a postcode stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Locality {
    /// The postcode, as found in the table.
    pub postcode: &'static str,
    /// A single point for the whole postcode. When the postcode serves
    /// several communes, this is the mean of their points weighted by
    /// population (each commune counting at least 1), i.e. where a supporter
    /// with that postcode most likely lives; it can fall between villages.
    pub point: Point,
    /// The département of the most populous commune (a handful of postcodes
    /// straddle two départements; each commune keeps its own below).
    pub departement: &'static str,
    /// Every commune the postcode serves, most populous first.
    pub communes: Vec<Commune>,
}

/// A line of the embedded table that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GazetteerError {
    pub line: usize,
    pub reason: &'static str,
}

impl fmt::Display for GazetteerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gazetteer line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for GazetteerError {}

/// French postcodes and communes, resolved offline.
///
/// Only France is covered: metropolitan France, Corsica and the overseas
/// départements 971 to 976. Every lookup for another country, an unknown
/// postcode or an unknown name answers `None` or an empty list, never a
/// panic, whatever the input.
#[derive(Debug)]
pub struct Gazetteer {
    /// Sorted by postcode; the whole-city lines of Paris, Lyon and Marseille
    /// have an empty postcode and sort first.
    pub(super) rows: Vec<Row>,
    /// Distinct département codes, sorted.
    departements: Vec<&'static str>,
    /// Built on the first name lookup, so that postcode lookups never pay
    /// for it.
    places: OnceLock<PlaceIndex>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Row {
    pub(super) postcode: &'static str,
    pub(super) commune: Commune,
}

impl Gazetteer {
    /// The table embedded in the binary, parsed on first use (a few
    /// milliseconds) and kept for the life of the process.
    pub fn france() -> &'static Gazetteer {
        static FRANCE: OnceLock<Gazetteer> = OnceLock::new();
        FRANCE.get_or_init(|| {
            // The file ships with the crate and a test parses it, so a failure
            // here is a broken build, not bad input.
            Gazetteer::parse(FRANCE_TSV).expect("the embedded gazetteer parses")
        })
    }

    /// Reads a table in the format of `data/fr-postcodes.tsv`. Lines
    /// starting with `#` and empty lines are skipped.
    pub fn parse(tsv: &'static str) -> Result<Gazetteer, GazetteerError> {
        let mut rows = Vec::with_capacity(tsv.len() / 44);
        for (index, line) in tsv.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let row = parse_row(line).map_err(|reason| GazetteerError {
                line: index + 1,
                reason,
            })?;
            rows.push(row);
        }
        if !rows.is_sorted_by_key(|row| row.postcode) {
            rows.sort_by_key(|row| row.postcode);
        }
        let mut departements: Vec<&'static str> =
            rows.iter().map(|row| row.commune.departement).collect();
        departements.sort_unstable();
        departements.dedup();
        Ok(Gazetteer {
            rows,
            departements,
            places: OnceLock::new(),
        })
    }

    /// The communes a postcode serves, for a supporter in `country` (an ISO
    /// 3166 alpha-2 code, any case). Only `FR` is known; any other country
    /// answers `None`. The postcode must be five digits, surrounding spaces
    /// allowed; CEDEX codes and postcodes outside the coverage answer `None`.
    pub fn postcode(&self, country: &str, code: &str) -> Option<Locality> {
        if !country.trim().eq_ignore_ascii_case("FR") {
            return None;
        }
        let code = french_postcode(code)?;
        let rows = self.rows_for(code);
        let first = rows.first()?;
        let mut communes: Vec<Commune> = rows.iter().map(|row| row.commune).collect();
        communes.sort_by(|a, b| b.population.cmp(&a.population).then(a.insee.cmp(b.insee)));
        let departement = communes.first()?.departement;
        Some(Locality {
            postcode: first.postcode,
            point: weighted_centre(&communes),
            departement,
            communes,
        })
    }

    /// The département a French postcode belongs to. A postcode in the table
    /// answers the département of its most populous commune; any other
    /// (a CEDEX code, a new postcode) is read from its first digits: two for
    /// metropolitan France, `2A` for 200xx–201xx and `2B` for 202xx and
    /// 206xx in Corsica, three for 971–976. Answers only codes of
    /// départements present in the table, so Monaco (980xx) and the
    /// collectivités outside the coverage answer `None`.
    pub fn departement_of(&self, postcode: &str) -> Option<&'static str> {
        let code = french_postcode(postcode)?;
        if let Some(row) = self
            .rows_for(code)
            .iter()
            .max_by_key(|row| row.commune.population)
        {
            return Some(row.commune.departement);
        }
        let prefix = match code.get(..3)? {
            "200" | "201" => "2A",
            "202" | "206" => "2B",
            three if three.starts_with("97") => three,
            _ => code.get(..2)?,
        };
        let found = self.departements.binary_search(&prefix).ok()?;
        self.departements.get(found).copied()
    }

    /// The rows sharing exactly this postcode, possibly none.
    fn rows_for(&self, code: &str) -> &[Row] {
        let start = self.rows.partition_point(|row| row.postcode < code);
        let len = self
            .rows
            .get(start..)
            .map_or(0, |rest| rest.partition_point(|row| row.postcode == code));
        self.rows.get(start..start + len).unwrap_or_default()
    }

    pub(super) fn place_index(&self) -> &PlaceIndex {
        self.places.get_or_init(|| PlaceIndex::build(&self.rows))
    }
}

/// The five ASCII digits of a French postcode, or `None`.
fn french_postcode(input: &str) -> Option<&str> {
    if input.len() > MAX_POSTCODE_INPUT {
        return None;
    }
    let code = input.trim();
    let valid = code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(code)
}

fn parse_row(line: &'static str) -> Result<Row, &'static str> {
    let mut fields = line.split('\t');
    let mut next = |what: &'static str| fields.next().ok_or(what);
    let postcode = next("missing postcode")?;
    let insee = next("missing INSEE code")?;
    let name = next("missing name")?;
    let departement = next("missing département")?;
    let population = next("missing population")?
        .parse()
        .map_err(|_| "population is not a whole number")?;
    let lat = next("missing latitude")?
        .parse()
        .map_err(|_| "bad latitude")?;
    let lon = next("missing longitude")?
        .parse()
        .map_err(|_| "bad longitude")?;
    if fields.next().is_some() {
        return Err("more than seven fields");
    }
    let point = Point::checked(lat, lon).ok_or("coordinates out of range")?;
    if insee.is_empty() || name.is_empty() || departement.is_empty() {
        return Err("empty INSEE code, name or département");
    }
    Ok(Row {
        postcode,
        commune: Commune {
            insee,
            name,
            departement,
            population,
            point,
        },
    })
}

/// Population-weighted mean of the communes' points. Plain averaging of
/// degrees is fine at the scale of one postcode, which never spans the
/// antimeridian in France.
fn weighted_centre(communes: &[Commune]) -> Point {
    let mut total = 0.0;
    let (mut lat, mut lon) = (0.0, 0.0);
    for commune in communes {
        let weight = f64::from(commune.population.max(1));
        total += weight;
        lat += commune.point.lat * weight;
        lon += commune.point.lon * weight;
    }
    if total == 0.0 {
        return Point { lat: 0.0, lon: 0.0 };
    }
    Point {
        lat: lat / total,
        lon: lon / total,
    }
}
