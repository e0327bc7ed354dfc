//! `campaign.yaml`: what a campaign says about itself.

use serde::{Deserialize, Serialize};

/// The whole of `campaign.yaml`. Unknown keys are refused so that a typo
/// (`titel:`) is reported instead of silently ignored; free keys go under
/// `extra`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignConfig {
    pub title: String,
    /// Where the site is published, e.g. `https://claire-martin.fr`.
    pub base_url: String,
    /// The site's language (`fr` or `en`): picks the theme's strings and
    /// how dates are written.
    pub language: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_theme")]
    pub theme: String,
    /// IANA time zone used for events that name none.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub candidate: Option<Candidate>,
    #[serde(default)]
    pub social: Vec<Link>,
    #[serde(default)]
    pub menus: Menus,
    #[serde(default)]
    pub forms: FormSettings,
    /// Declared interests supporters can pick (ecology, housing...). Page
    /// tags with the same id link to them.
    #[serde(default)]
    pub interests: Vec<Choice>,
    /// Skills a volunteer can offer.
    #[serde(default)]
    pub skills: Vec<Choice>,
    #[serde(default)]
    pub donations: DonationSettings,
    /// How long supporters are kept ([`RetentionSettings`]).
    #[serde(default)]
    pub retention: RetentionSettings,
    /// Who the campaign's email comes from.
    #[serde(default)]
    pub email: EmailSettings,
    /// Default number of pages per listing page.
    #[serde(default = "default_paginate_by")]
    pub paginate_by: usize,
    #[serde(default)]
    pub extra: serde_yaml_free::Map,
}

/// Free-form values kept as they were written; a tiny alias so the domain
/// crate does not need a YAML dependency.
pub mod serde_yaml_free {
    pub type Map = std::collections::BTreeMap<String, FreeValue>;

    /// Any value a campaign writes under `extra`.
    #[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
    #[serde(untagged)]
    pub enum FreeValue {
        Null,
        Bool(bool),
        Integer(i64),
        Float(f64),
        Text(String),
        List(Vec<FreeValue>),
        Map(std::collections::BTreeMap<String, FreeValue>),
    }
}

fn default_theme() -> String {
    "default".to_owned()
}

fn default_timezone() -> String {
    "Europe/Paris".to_owned()
}

fn default_paginate_by() -> usize {
    10
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub name: String,
    #[serde(default)]
    pub role: String,
    /// Path of a portrait under `static/`, e.g. `/images/claire.jpg`.
    #[serde(default)]
    pub photo: Option<String>,
    /// How the candidate signs emails and letters.
    #[serde(default)]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Menus {
    #[serde(default)]
    pub main: Vec<Link>,
    #[serde(default)]
    pub footer: Vec<Link>,
}

/// Where the site's forms post and how submissions are treated.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormSettings {
    /// Base URL of the form functions: `/api` when they share the site's
    /// origin (CloudFront routes `/api/*`, and `estrade serve` mounts them
    /// there), or a full URL.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Origins allowed to post, besides `base_url`'s own.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Ask new supporters to confirm their address through a signed link.
    #[serde(default = "default_true")]
    pub double_opt_in: bool,
    /// Posts one connection may make to one form.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub requests: u32,
    pub per_seconds: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            requests: 10,
            per_seconds: 600,
        }
    }
}

impl Default for FormSettings {
    fn default() -> Self {
        FormSettings {
            endpoint: default_endpoint(),
            origins: Vec::new(),
            double_opt_in: true,
            rate_limit: RateLimitSettings::default(),
        }
    }
}

fn default_endpoint() -> String {
    "/api".to_owned()
}

fn default_true() -> bool {
    true
}

/// The sender of every email. The address's domain must be verified in
/// SES before sending in production.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// Shown as the sender's name; the candidate's name when left out.
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default = "default_from")]
    pub from_address: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The SES configuration set that receives bounces and complaints.
    #[serde(default)]
    pub configuration_set: Option<String>,
    /// Emails handed to SES a second at most: the account's maximum send
    /// rate (1 in the SES sandbox, 14 when production access is granted,
    /// more on request). The scheduled sender never goes faster.
    #[serde(default = "default_max_per_second")]
    pub max_per_second: u32,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from_name: None,
            from_address: default_from(),
            reply_to: None,
            configuration_set: None,
            max_per_second: default_max_per_second(),
        }
    }
}

fn default_max_per_second() -> u32 {
    14
}

fn default_from() -> String {
    "contact@example.org".to_owned()
}

/// One option of a multiple choice: a stable id stored with the supporter,
/// and the label shown.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DonationSettings {
    /// Suggested amounts, in whole units of `currency`.
    #[serde(default = "default_amounts")]
    pub amounts: Vec<u32>,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Legal cap per donor, in whole units (4,600 EUR for a French
    /// candidate per election), summed over all of a donor's gifts in a
    /// period ([`CapPeriod`]). Enforced by the donate function and again
    /// when each payment is recorded.
    #[serde(default = "default_cap")]
    pub cap_per_donor: u32,
    /// What the cap is counted over: `election` (a candidate's campaign)
    /// or `year` (a party: 7,500 EUR per person per calendar year).
    #[serde(default)]
    pub cap_period: CapPeriod,
    /// The election gifts count toward, and receipts are numbered in
    /// (`legislatives-2027-nord-21`): a new election starts new totals.
    #[serde(default = "default_election")]
    pub election: String,
    /// Whether the form offers monthly gifts.
    #[serde(default = "default_true")]
    pub monthly: bool,
    /// Who takes the gifts for the campaign, named on every receipt (in
    /// France, the candidate's financial agent).
    #[serde(default)]
    pub agent: Option<String>,
    /// Countries (ISO codes) a donor's address may be in; empty: any (a
    /// French national abroad may give to a French candidate).
    #[serde(default)]
    pub countries: Vec<String>,
}

/// How long the campaign keeps supporters who no longer act.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Supporters who sent no form for this many days are erased by
    /// `estrade people purge` (none: kept until erased one by one).
    #[serde(default)]
    pub inactive_days: Option<u32>,
}

/// What a donor's cap is counted over.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    #[default]
    Election,
    Year,
}

impl DonationSettings {
    /// The total a gift made at `at` counts in: the election, or the
    /// election's calendar year (UTC) for a yearly cap.
    pub fn period(&self, at: jiff::Timestamp) -> String {
        self.period_of(&self.election, at)
    }

    /// The same for a gift of `election` (the one its checkout was made
    /// for, which may be an election the settings have moved on from).
    pub fn period_of(&self, election: &str, at: jiff::Timestamp) -> String {
        match self.cap_period {
            CapPeriod::Election => election.to_owned(),
            CapPeriod::Year => format!(
                "{election}-{}",
                jiff::tz::TimeZone::UTC.to_datetime(at).year()
            ),
        }
    }
}

impl Default for DonationSettings {
    fn default() -> Self {
        DonationSettings {
            amounts: default_amounts(),
            currency: default_currency(),
            cap_per_donor: default_cap(),
            cap_period: CapPeriod::Election,
            election: default_election(),
            monthly: true,
            agent: None,
            countries: Vec::new(),
        }
    }
}

fn default_amounts() -> Vec<u32> {
    vec![10, 20, 50, 100, 200]
}

fn default_currency() -> String {
    "EUR".to_owned()
}

fn default_cap() -> u32 {
    4600
}

fn default_election() -> String {
    "election".to_owned()
}

impl CampaignConfig {
    /// Problems a YAML parser cannot see, each as `(key, message)`.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            problems.push((
                "base_url",
                format!(
                    "`{}` is not an absolute URL; write it like `https://example.org`",
                    self.base_url
                ),
            ));
        }
        if !matches!(self.language.as_str(), "fr" | "en") {
            problems.push((
                "language",
                format!(
                    "`{}` is not a language the theme speaks; use `fr` or `en`",
                    self.language
                ),
            ));
        }
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            problems.push((
                "timezone",
                format!(
                    "`{}` is not an IANA time zone; write it like `Europe/Paris`",
                    self.timezone
                ),
            ));
        }
        if self.paginate_by == 0 {
            problems.push(("paginate_by", "must be at least 1".to_owned()));
        }
        if self.email.max_per_second == 0 {
            problems.push((
                "email.max_per_second",
                "must be at least 1; SES's rate is on the account dashboard".to_owned(),
            ));
        }
        let election = &self.donations.election;
        if election.is_empty()
            || election.len() > 60
            || !election
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problems.push((
                "donations.election",
                format!(
                    "`{election}` must be lower-case letters, digits and hyphens, like \
                     `legislatives-2027`"
                ),
            ));
        }
        for country in &self.donations.countries {
            if !crate::forms::COUNTRIES.contains(&country.as_str()) {
                problems.push((
                    "donations.countries",
                    format!(
                        "`{country}` is not a country the donation form offers; use ISO codes \
                         among {}",
                        crate::forms::COUNTRIES.join(", ")
                    ),
                ));
            }
        }
        if self.retention.inactive_days.is_some_and(|days| days < 30) {
            problems.push((
                "retention.inactive_days",
                "must be at least 30: a supporter who signed up last month is not inactive"
                    .to_owned(),
            ));
        }
        if self.donations.cap_per_donor == 0 {
            problems.push((
                "donations.cap_per_donor",
                "must be at least 1 (4600 for a French candidate)".to_owned(),
            ));
        }
        problems
    }

    /// The site's address without a trailing slash.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// Absolute URL of a site path (`/news/`).
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }
}
