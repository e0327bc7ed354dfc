//! An audience compiled for testing many supporters, and the facts about
//! one supporter it tests.

use super::{Audience, EventChoice};
use crate::config::CampaignConfig;
use crate::event::Event;
use crate::geo::{Circle, Gazetteer, Point};
use crate::supporter::{EmailStatus, Supporter};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// What an audience or a condition looks at, borrowed from a supporter's
/// record so that testing a million of them allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub status: EmailStatus,
    pub interests: &'a BTreeSet<String>,
    /// Labels from an imported file.
    pub tags: &'a BTreeSet<String>,
    pub created_at: Timestamp,
    /// Where the supporter lives, from their postcode ([`Location::of`]).
    pub point: Option<Point>,
    pub postcode: Option<&'a str>,
    /// INSEE code of their commune.
    pub insee: Option<&'a str>,
    /// Their département; read from the postcode when `None`.
    pub departement: Option<&'a str>,
    /// Ids of the events they attended (a seat held at an event now over,
    /// until the store records who came).
    pub attended: &'a [String],
    pub gave: bool,
    /// Holds a seat or a waitlist place at an event still to come.
    pub upcoming_rsvp: bool,
}

/// Where a postcode puts a supporter: its point, and the INSEE code and
/// département of the most populous commune it serves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub point: Point,
    pub insee: &'static str,
    pub departement: &'static str,
}

impl Location {
    /// From the embedded gazetteer: `None` outside France or for an
    /// unknown postcode. It allocates, so a sender going through many
    /// supporters keeps the answer per postcode (France has about 6,000).
    pub fn of(country: Option<&str>, postcode: Option<&str>) -> Option<Location> {
        let locality = Gazetteer::france().postcode(country.unwrap_or("FR"), postcode?)?;
        let commune = locality.communes.first()?;
        Some(Location {
            point: locality.point,
            insee: commune.insee,
            departement: locality.departement,
        })
    }
}

impl<'a> Facts<'a> {
    /// The facts a supporter's record holds; what it does not (events
    /// attended, gifts, RSVPs to come) starts empty, for the caller to set.
    pub fn new(supporter: &'a Supporter, location: Option<Location>) -> Facts<'a> {
        Facts {
            status: supporter.status,
            interests: &supporter.interests,
            tags: &supporter.tags,
            created_at: supporter.created_at,
            point: location.map(|l| l.point),
            postcode: supporter.postcode.as_deref(),
            insee: location.map(|l| l.insee),
            departement: location.map(|l| l.departement),
            attended: &[],
            gave: false,
            upcoming_rsvp: false,
        }
    }
}

/// An [`Audience`] made ready to test many supporters.
#[derive(Debug, Clone)]
pub struct AudienceFilter {
    /// Indexed by [`status_index`].
    statuses: [bool; 5],
    any_tags: Vec<String>,
    all_tags: Vec<String>,
    imported_tags: Vec<String>,
    since: Option<Timestamp>,
    attended: Option<EventChoice>,
    gave: bool,
    circle: Option<Circle>,
    communes: Vec<String>,
    departements: Vec<String>,
    postcodes: Vec<String>,
}

fn status_index(status: EmailStatus) -> usize {
    match status {
        EmailStatus::Pending => 0,
        EmailStatus::Confirmed => 1,
        EmailStatus::Unsubscribed => 2,
        EmailStatus::Bounced => 3,
        EmailStatus::Complained => 4,
    }
}

impl AudienceFilter {
    /// Compiles an audience for the campaign `config`. Whatever the
    /// audience says, only addresses that may receive marketing email under
    /// the campaign's settings ever match. Names left unresolved are looked
    /// up here; any problem [`Audience::resolve`] reports is an error.
    pub fn compile(
        audience: &Audience,
        config: &CampaignConfig,
        events: &[Event],
    ) -> Result<AudienceFilter, Vec<String>> {
        let mut audience = audience.clone();
        let problems = audience.resolve(config, events);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut statuses = [false; 5];
        let wanted = if audience.status.is_empty() {
            vec![EmailStatus::Confirmed]
        } else {
            audience.status.clone()
        };
        for status in wanted {
            statuses[status_index(status)] =
                status.can_receive_marketing(config.forms.double_opt_in);
        }
        let since = match &audience.signed_up_since {
            Some(text) => Some(text.parse::<Timestamp>().map_err(|e| vec![e.to_string()])?),
            None => None,
        };
        let circle = match &audience.within {
            Some(within) => Some(
                within
                    .circle()
                    .ok_or_else(|| vec!["audience: within: the place is unknown".to_owned()])?,
            ),
            None => None,
        };
        Ok(AudienceFilter {
            statuses,
            any_tags: audience.tags,
            all_tags: audience.all_tags,
            imported_tags: audience.imported_tags,
            since,
            attended: audience.attended,
            gave: audience.gave,
            circle,
            communes: audience.communes,
            departements: audience.departements,
            postcodes: audience
                .postcodes
                .into_iter()
                .map(|p| p.trim().to_owned())
                .collect(),
        })
    }

    /// Whether the audience looks at the events supporters attended, which
    /// a store keeps apart from their records: without it, nobody need
    /// read them.
    pub fn reads_attendance(&self) -> bool {
        self.attended.is_some()
    }

    /// Whether the audience asks for supporters who gave.
    pub fn reads_gifts(&self) -> bool {
        self.gave
    }

    /// Whether an address of this status may be in the audience at all.
    pub fn admits_status(&self, status: EmailStatus) -> bool {
        self.statuses[status_index(status)]
    }

    /// Whether the supporter belongs to the audience. Allocates nothing.
    pub fn matches(&self, facts: &Facts<'_>) -> bool {
        if !self.statuses[status_index(facts.status)] {
            return false;
        }
        if !self.any_tags.is_empty() && !self.any_tags.iter().any(|t| facts.interests.contains(t)) {
            return false;
        }
        if !self.all_tags.iter().all(|t| facts.interests.contains(t)) {
            return false;
        }
        if !self.imported_tags.is_empty()
            && !self.imported_tags.iter().any(|t| facts.tags.contains(t))
        {
            return false;
        }
        if self.since.is_some_and(|since| facts.created_at < since) {
            return false;
        }
        if self.gave && !facts.gave {
            return false;
        }
        match &self.attended {
            Some(EventChoice::Any) if facts.attended.is_empty() => return false,
            Some(EventChoice::Event(id)) if !facts.attended.iter().any(|a| a == id) => {
                return false;
            }
            _ => {}
        }
        if let Some(circle) = &self.circle
            && !facts.point.is_some_and(|p| circle.contains(p))
        {
            return false;
        }
        if !self.communes.is_empty()
            && !facts
                .insee
                .is_some_and(|insee| self.communes.iter().any(|c| c == insee))
        {
            return false;
        }
        if !self.departements.is_empty() {
            let departement = facts.departement.or_else(|| {
                facts
                    .postcode
                    .and_then(|p| Gazetteer::france().departement_of(p))
            });
            if !departement.is_some_and(|d| self.departements.iter().any(|c| c == d)) {
                return false;
            }
        }
        if !self.postcodes.is_empty() {
            let postcode = facts.postcode.map(str::trim).unwrap_or_default();
            if !self
                .postcodes
                .iter()
                .any(|p| postcode.starts_with(p.as_str()))
            {
                return false;
            }
        }
        true
    }
}
