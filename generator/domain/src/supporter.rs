//! Supporters, their consent, and their registrations to events.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a supporter's email address stands. Only `Confirmed` addresses
/// (or `Pending` ones when the campaign does not ask for confirmation)
/// receive marketing email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Signed up; the confirmation link was not followed yet.
    Pending,
    Confirmed,
    Unsubscribed,
    /// A hard bounce: the address does not exist.
    Bounced,
    /// The supporter marked a message as spam.
    Complained,
}

impl EmailStatus {
    /// Rank used when merging: a later signup never downgrades a confirmed
    /// address back to pending, and never revives a suppressed one.
    pub fn merge(self, incoming: EmailStatus) -> EmailStatus {
        use EmailStatus::*;
        match (self, incoming) {
            // Signing up again is a new consent...
            (Unsubscribed, Pending) => Pending,
            // ...but an address that bounced or complained stays
            // suppressed until the campaign clears it.
            (Bounced | Complained, Pending) => self,
            (Confirmed, Pending) => Confirmed,
            (_, other) => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Confirmed => "confirmed",
            EmailStatus::Unsubscribed => "unsubscribed",
            EmailStatus::Bounced => "bounced",
            EmailStatus::Complained => "complained",
        }
    }

    pub fn parse(text: &str) -> Option<EmailStatus> {
        use EmailStatus::*;
        [Pending, Confirmed, Unsubscribed, Bounced, Complained]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether marketing email may go to this address.
    pub fn can_receive_marketing(self, double_opt_in: bool) -> bool {
        match self {
            EmailStatus::Confirmed => true,
            EmailStatus::Pending => !double_opt_in,
            _ => false,
        }
    }
}

/// One person, keyed by their normalised email address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supporter {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub interests: BTreeSet<String>,
    pub skills: BTreeSet<String>,
    pub availability: Option<String>,
    pub volunteer: bool,
    pub status: EmailStatus,
    /// Agreed to receive text messages at `phone` (a consent record of
    /// channel [`Channel::Sms`] says when and under which text).
    pub sms: bool,
    /// Share code of the supporter whose link brought this one
    /// ([`crate::token::Keys::share_code`]).
    pub recruiter: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the supporter is deleted unless their address is confirmed
    /// first ([`PENDING_TTL`] after a signup waiting for confirmation);
    /// `None` for everyone else.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Street address, from an imported file (forms ask for the postcode
    /// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    /// Numbers beyond `phone` (a landline, a work number), from an
    /// imported file.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub other_phones: BTreeSet<String>,
    /// Labels from an imported file (NationBuilder's tags), kept apart
    /// from the interests the supporter declared (audiences reach them
    /// with `imported_tags`, not `tags`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tags: BTreeSet<String>,
    /// The person's ids in other systems, by system (`nationbuilder`,
    /// `external`): what lets a later file of theirs be matched.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_ids: BTreeMap<String, String>,
}

/// A street address: its lines, city and region (state, province). The
/// postcode and country are the supporter's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalAddress {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl PostalAddress {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.city.is_none() && self.region.is_none()
    }
}

/// What a form says about a supporter: merged into what is known.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SupporterUpdate {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub interests: BTreeSet<String>,
    pub skills: BTreeSet<String>,
    pub availability: Option<String>,
    pub volunteer: bool,
    /// Ticked the text-message consent (an untouched box withdraws
    /// nothing).
    #[serde(default)]
    pub sms: bool,
    pub recruiter: Option<String>,
    /// The form is kept only until the address is confirmed (a signup
    /// under double opt-in): a pending supporter then expires. A form
    /// needed for itself (an RSVP) ends the expiry.
    #[serde(default)]
    pub until_confirmed: bool,
}

/// The expiry after a form at `at` leaves the supporter with `status`:
/// [`PENDING_TTL`] from now while pending and the form was only kept
/// until confirmation; none otherwise.
pub fn expiry(status: EmailStatus, until_confirmed: bool, at: Timestamp) -> Option<Timestamp> {
    (status == EmailStatus::Pending && until_confirmed)
        .then(|| at.checked_add(PENDING_TTL).unwrap_or(Timestamp::MAX))
}

/// How long an address waits for its confirmation (double opt-in) before
/// the supporter is deleted: the confirmation link lives as long.
pub const PENDING_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);

impl Supporter {
    /// A new supporter from their first form.
    pub fn new(update: SupporterUpdate, status: EmailStatus, at: Timestamp) -> Supporter {
        Supporter {
            email: update.email,
            first_name: update.first_name,
            last_name: update.last_name,
            phone: update.phone,
            postcode: update.postcode,
            country: update.country,
            interests: update.interests,
            skills: update.skills,
            availability: update.availability,
            volunteer: update.volunteer,
            status,
            sms: update.sms,
            recruiter: update.recruiter,
            created_at: at,
            updated_at: at,
            expires_at: expiry(status, update.until_confirmed, at),
            address: None,
            other_phones: BTreeSet::new(),
            tags: BTreeSet::new(),
            external_ids: BTreeMap::new(),
        }
    }

    /// Merges a later form: new values replace old ones, what the form
    /// left empty is kept, sets are united, the first recruiter stays.
    pub fn merge(&mut self, update: SupporterUpdate, status: EmailStatus, at: Timestamp) {
        fn keep(old: &mut Option<String>, new: Option<String>) {
            if new.is_some() {
                *old = new;
            }
        }
        keep(&mut self.first_name, update.first_name);
        keep(&mut self.last_name, update.last_name);
        keep(&mut self.phone, update.phone);
        keep(&mut self.postcode, update.postcode);
        keep(&mut self.country, update.country);
        keep(&mut self.availability, update.availability);
        self.interests.extend(update.interests);
        self.skills.extend(update.skills);
        self.volunteer |= update.volunteer;
        self.sms |= update.sms;
        if self.recruiter.is_none() {
            self.recruiter = update.recruiter;
        }
        self.status = self.status.merge(status);
        self.updated_at = at;
        // Only a record that began as an unconfirmed signup expires: a
        // supporter held before (unsubscribed, imported) who signs up
        // again and does not confirm keeps what was held.
        self.expires_at = self
            .expires_at
            .and_then(|_| expiry(self.status, update.until_confirmed, at));
    }

    /// An unconfirmed supporter whose time ran out at `at`: the stores
    /// treat them as gone.
    pub fn expired(&self, at: Timestamp) -> bool {
        self.expires_at.is_some_and(|end| end <= at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Given,
    Confirmed,
    Withdrawn,
    Imported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// One entry of a supporter's append-only consent history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub email: String,
    pub action: ConsentAction,
    pub channel: Channel,
    /// The form (`signup`), or how it happened (`unsubscribe-link`).
    pub form: String,
    /// The page the form was on.
    pub page: String,
    /// SHA-256 of the exact consent text shown, in hex.
    pub text_hash: String,
    /// The site build that showed it.
    pub build: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RsvpStatus {
    Confirmed,
    Waitlisted,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rsvp {
    pub event: String,
    pub email: String,
    pub status: RsvpStatus,
    /// Order of arrival, used to promote the waitlist fairly.
    pub position: u64,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_merge_without_downgrade() {
        use EmailStatus::*;
        assert_eq!(Confirmed.merge(Pending), Confirmed);
        assert_eq!(Pending.merge(Confirmed), Confirmed);
        assert_eq!(
            Unsubscribed.merge(Pending),
            Pending,
            "signing up again is a new consent"
        );
        assert!(!Pending.can_receive_marketing(true));
        assert!(Pending.can_receive_marketing(false));
        assert!(!Bounced.can_receive_marketing(false));
    }

    #[test]
    fn merging_keeps_what_a_form_left_empty() {
        let at: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let mut s = Supporter::new(
            SupporterUpdate {
                email: "a@b.fr".into(),
                first_name: Some("Ana".into()),
                interests: ["logement".to_owned()].into(),
                recruiter: Some("r@b.fr".into()),
                ..Default::default()
            },
            EmailStatus::Confirmed,
            at,
        );
        s.merge(
            SupporterUpdate {
                email: "a@b.fr".into(),
                postcode: Some("59300".into()),
                interests: ["sante".to_owned()].into(),
                recruiter: Some("other@b.fr".into()),
                ..Default::default()
            },
            EmailStatus::Pending,
            at,
        );
        assert_eq!(s.first_name.as_deref(), Some("Ana"));
        assert_eq!(s.postcode.as_deref(), Some("59300"));
        assert_eq!(s.interests.len(), 2);
        assert_eq!(s.status, EmailStatus::Confirmed);
        assert_eq!(s.recruiter.as_deref(), Some("r@b.fr"));
    }
}
