//! Importing a file of people: a party's member list, a NationBuilder
//! people export. The file's columns are mapped to fields ([`Mapping`],
//! guessed from the headers, NationBuilder's names included, and
//! corrected by hand); each row is checked whole ([`Mapping::person`]),
//! so a row is imported entirely or not at all; rows of the same address
//! are merged ([`Person::merge_later`]); and [`absorb`] merges each person
//! into the supporter the campaign may already hold, losing nothing from
//! either side but what the two disagree on, which is reported.

use crate::supporter::{
    Channel, ConsentAction, ConsentRecord, EmailStatus, PostalAddress, Supporter,
};
use crate::validate;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where a column of the file goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Email,
    FirstName,
    MiddleName,
    LastName,
    /// A whole name, split at its last space when no first and last name
    /// are given.
    FullName,
    /// A landline or any number.
    Phone,
    /// The number text messages go to.
    Mobile,
    WorkPhone,
    /// More numbers, separated by semicolons (Estrade's export).
    OtherPhones,
    EmailOptIn,
    /// Estrade's email status (`confirmed`, `pending`, `unsubscribed`,
    /// `bounced`, `complained`): only `confirmed` opts in.
    EmailStatus,
    MobileOptIn,
    /// A street line; several columns make several lines, in file order.
    AddressLine,
    City,
    Region,
    Postcode,
    /// A two-letter ISO 3166 code.
    Country,
    /// Labels, separated by commas (NationBuilder's `tag_list`) or
    /// semicolons (Estrade's export).
    Tags,
    /// Declared interests (topics), separated as tags are.
    Interests,
    CreatedAt,
    Volunteer,
    /// The person's id in another system, named.
    Id(String),
    /// Ids as `system:id`, separated by semicolons (Estrade's export).
    Ids,
    Ignore,
}

impl Target {
    /// The name `--map` takes and the report prints.
    pub fn name(&self) -> String {
        let name = match self {
            Target::Email => "email",
            Target::FirstName => "first_name",
            Target::MiddleName => "middle_name",
            Target::LastName => "last_name",
            Target::FullName => "name",
            Target::Phone => "phone",
            Target::Mobile => "mobile",
            Target::WorkPhone => "work_phone",
            Target::OtherPhones => "other_phones",
            Target::EmailOptIn => "email_opt_in",
            Target::EmailStatus => "email_status",
            Target::MobileOptIn => "mobile_opt_in",
            Target::AddressLine => "address",
            Target::City => "city",
            Target::Region => "region",
            Target::Postcode => "postcode",
            Target::Country => "country",
            Target::Tags => "tags",
            Target::Interests => "interests",
            Target::CreatedAt => "created_at",
            Target::Volunteer => "volunteer",
            Target::Id(system) => return format!("id:{system}"),
            Target::Ids => "ids",
            Target::Ignore => "ignore",
        };
        name.to_owned()
    }

    /// The target named `name` ([`Target::name`]).
    pub fn parse(name: &str) -> Result<Target, String> {
        if let Some(system) = name.strip_prefix("id:") {
            return if is_system(system) {
                Ok(Target::Id(system.to_owned()))
            } else {
                Err(format!(
                    "`{name}`: an id's system is letters, digits, - and _"
                ))
            };
        }
        let all = [
            Target::Email,
            Target::FirstName,
            Target::MiddleName,
            Target::LastName,
            Target::FullName,
            Target::Phone,
            Target::Mobile,
            Target::WorkPhone,
            Target::OtherPhones,
            Target::EmailOptIn,
            Target::EmailStatus,
            Target::MobileOptIn,
            Target::AddressLine,
            Target::City,
            Target::Region,
            Target::Postcode,
            Target::Country,
            Target::Tags,
            Target::Interests,
            Target::CreatedAt,
            Target::Volunteer,
            Target::Ids,
            Target::Ignore,
        ];
        all.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            format!(
                "`{name}` is not a field: email, first_name, middle_name, last_name, name, \
                 phone, mobile, work_phone, other_phones, email_opt_in, email_status, \
                 mobile_opt_in, address, city, region, postcode, country, tags, interests, \
                 created_at, volunteer, id:SYSTEM, ids or ignore"
            )
        })
    }

    /// Whether several columns may feed it.
    fn repeats(&self) -> bool {
        matches!(
            self,
            Target::AddressLine
                | Target::OtherPhones
                | Target::Tags
                | Target::Interests
                | Target::Ids
                | Target::Ignore
        )
    }
}

/// A header as compared: lower case, accents and separators folded
/// (`Prénom` and `prenom`, `E-mail` and `e_mail` are one).
fn fold(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            ' ' | '-' | '.' => '_',
            other => other,
        })
        .collect()
}

/// The target a header names, if it is one this module knows: the
/// columns of NationBuilder's people export, common English and French
/// names, and Estrade's own export.
pub fn guess(header: &str) -> Option<Target> {
    let target = match fold(header).as_str() {
        "email" | "e_mail" | "email_address" | "mail" | "courriel" | "adresse_email"
        | "adresse_mail" | "adresse_e_mail" => Target::Email,
        "first_name" | "firstname" | "given_name" | "prenom" => Target::FirstName,
        "middle_name" => Target::MiddleName,
        "last_name" | "lastname" | "family_name" | "surname" | "nom" | "nom_de_famille" => {
            Target::LastName
        }
        "name" | "full_name" | "nom_complet" => Target::FullName,
        "phone" | "phone_number" | "telephone" | "tel" | "telephone_fixe" => Target::Phone,
        "mobile" | "mobile_number" | "cell" | "portable" | "telephone_portable"
        | "mobile_phone" => Target::Mobile,
        "work_phone" | "work_phone_number" | "telephone_professionnel" => Target::WorkPhone,
        "email_opt_in" | "email_optin" | "opt_in" | "newsletter" | "consentement_email" => {
            Target::EmailOptIn
        }
        "status" | "email_status" | "statut" => Target::EmailStatus,
        "mobile_opt_in" | "sms_opt_in" | "sms" | "consentement_sms" => Target::MobileOptIn,
        "primary_address1"
        | "primary_address2"
        | "primary_address3"
        | "address1"
        | "address2"
        | "address3"
        | "address"
        | "street"
        | "adresse"
        | "adresse1"
        | "adresse2"
        | "complement_d'adresse"
        | "address_address1"
        | "address_address2"
        | "address_address3" => Target::AddressLine,
        "primary_city" | "city" | "ville" | "commune" | "address_city" => Target::City,
        "primary_state" | "state" | "region" | "province" | "address_state" => Target::Region,
        "primary_zip" | "zip" | "zip_code" | "postcode" | "postal_code" | "code_postal" | "cp"
        | "address_zip" => Target::Postcode,
        "primary_country_code" | "country_code" | "country" | "pays" | "address_country_code" => {
            Target::Country
        }
        "tag_list" | "tags" | "etiquettes" => Target::Tags,
        "interests" | "centres_d'interet" | "interets" => Target::Interests,
        "created_at" | "created" | "date_created" | "created_date" | "date_d'inscription"
        | "date_inscription" => Target::CreatedAt,
        "is_volunteer" | "volunteer" | "benevole" => Target::Volunteer,
        "nationbuilder_id" => Target::Id("nationbuilder".to_owned()),
        "external_id" => Target::Id("external".to_owned()),
        "external_ids" | "ids" => Target::Ids,
        "other_phones" | "other_phone_numbers" | "autres_telephones" => Target::OtherPhones,
        "civicrm_id" => Target::Id("civicrm".to_owned()),
        "ngp_id" => Target::Id("ngp".to_owned()),
        "van_id" => Target::Id("van".to_owned()),
        "salesforce_id" => Target::Id("salesforce".to_owned()),
        "numero_adherent" | "membre_id" | "member_id" | "membership_number" => {
            Target::Id("member".to_owned())
        }
        _ => return None,
    };
    Some(target)
}

/// Each column of a file and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub headers: Vec<String>,
    /// By column; [`Target::Ignore`] for a column not imported.
    pub targets: Vec<Target>,
    /// Columns nothing was known of (left out).
    pub unknown: Vec<String>,
}

impl Mapping {
    /// The mapping of a file's `headers`: each header's guess, or what
    /// `overrides` (header, target) say. An unknown header is left out
    /// and listed. Refused: no email column, or a field fed by two
    /// columns when it takes one.
    pub fn from_headers(
        headers: &[String],
        overrides: &[(String, Target)],
    ) -> Result<Mapping, String> {
        for (header, _) in overrides {
            if !headers.iter().any(|h| fold(h) == fold(header)) {
                return Err(format!(
                    "--map names `{header}`, which the file has no column of"
                ));
            }
        }
        let mut targets = Vec::with_capacity(headers.len());
        let mut unknown = Vec::new();
        for header in headers {
            let chosen = overrides
                .iter()
                .find(|(h, _)| fold(h) == fold(header))
                .map(|(_, target)| target.clone());
            let target = match chosen.or_else(|| guess(header)) {
                Some(target) => target,
                None => {
                    unknown.push(header.clone());
                    Target::Ignore
                }
            };
            let same_name = headers
                .iter()
                .take(targets.len())
                .any(|earlier| fold(earlier) == fold(header));
            if same_name && !target.repeats() {
                return Err(format!(
                    "two columns are named `{header}`: rename one in the file (--map \
                     cannot tell them apart)"
                ));
            }
            if !target.repeats() && targets.contains(&target) {
                return Err(format!(
                    "two columns go to `{}` (the second is `{header}`): say which with \
                     --map '{header}=ignore' or another field",
                    target.name()
                ));
            }
            targets.push(target);
        }
        if !targets.contains(&Target::Email) {
            return Err(
                "no column holds the email address: name it with --map 'HEADER=email'".to_owned(),
            );
        }
        Ok(Mapping {
            headers: headers.to_vec(),
            targets,
            unknown,
        })
    }

    pub fn has(&self, target: &Target) -> bool {
        self.targets.contains(target)
    }

    /// The person on one row (its `line` in the file), or every problem
    /// found on it. Text is trimmed; an empty cell says nothing.
    /// `country` is the campaign's, for numbers and postcodes written
    /// nationally.
    pub fn person(&self, cells: &[&str], line: u64, country: &str) -> Result<Person, Vec<String>> {
        let mut problems = Vec::new();
        if cells.len() != self.targets.len() {
            return Err(vec![format!(
                "{} cells where the header has {} columns",
                cells.len(),
                self.targets.len()
            )]);
        }
        let mut person = Person {
            lines: vec![line],
            ..Person::default()
        };
        let mut first = None;
        let mut middle = None;
        let mut full = None;
        let (mut phone, mut mobile, mut work) = (None, None, None);
        let mut address = PostalAddress::default();
        // National numbers are read in the row's country when it names one.
        let row_country = self
            .targets
            .iter()
            .position(|t| *t == Target::Country)
            .and_then(|column| cells.get(column))
            .map(|cell| cell.trim().to_ascii_uppercase())
            .filter(|code| code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()));
        let country = row_country.as_deref().unwrap_or(country);
        for ((cell, target), header) in cells.iter().zip(&self.targets).zip(&self.headers) {
            if *target == Target::Ignore {
                continue;
            }
            let value = cell.trim();
            // A spreadsheet-safe export (Estrade's among them) puts `'`
            // before a cell a spreadsheet would run as a formula.
            let value = match value.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
                _ => value,
            };
            if value.is_empty() {
                continue;
            }
            let mut problem = |why: String| problems.push(format!("{header}: {why}"));
            let text = |max: usize| match validate::text(value, max, false) {
                Ok(text) => Ok(text),
                Err(_) if value.chars().count() > max => {
                    Err(format!("longer than {max} characters"))
                }
                Err(_) => Err("holds control characters".to_owned()),
            };
            match target {
                // Several lines in one cell (as Estrade's export writes them).
                Target::AddressLine if value.contains('\n') => {
                    for part in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                        match validate::text(part, 200, false) {
                            Ok(line) => address.lines.push(line),
                            Err(_) => problem(format!("the line `{}` is not one", shown(part))),
                        }
                    }
                }
                Target::Email => match validate::email(value) {
                    Some(email) => person.email = email,
                    None => problem(format!("`{}` is not an email address", shown(value))),
                },
                Target::FirstName
                | Target::MiddleName
                | Target::LastName
                | Target::FullName
                | Target::City
                | Target::Region
                | Target::AddressLine => match text(200) {
                    Ok(text) => match target {
                        Target::FirstName => first = Some(text),
                        Target::MiddleName => middle = Some(text),
                        Target::LastName => person.last_name = Some(text),
                        Target::FullName => full = Some(text),
                        Target::City => address.city = Some(text),
                        Target::Region => address.region = Some(text),
                        _ => address.lines.push(text),
                    },
                    Err(why) => problem(why),
                },
                Target::Phone | Target::Mobile | Target::WorkPhone => {
                    match number(value, country) {
                        Some(n) => match target {
                            Target::Phone => phone = Some(n),
                            Target::Mobile => mobile = Some(n),
                            _ => work = Some(n),
                        },
                        None => problem(format!("`{}` is not a phone number", shown(value))),
                    }
                }
                Target::EmailOptIn | Target::MobileOptIn | Target::Volunteer => {
                    match yes_no(value) {
                        Some(yes) => match target {
                            Target::EmailOptIn => {
                                // Two columns that disagree: no wins.
                                person.email_opt_in =
                                    Some(person.email_opt_in.unwrap_or(true) && yes);
                                person.opted_out |= !yes;
                            }
                            Target::MobileOptIn => person.sms_opt_in = Some(yes),
                            _ => person.volunteer = yes,
                        },
                        None => problem(format!(
                            "`{}` is neither yes nor no (true/false, y/n, 1/0, oui/non)",
                            shown(value)
                        )),
                    }
                }
                Target::EmailStatus => match value.to_lowercase().as_str() {
                    "confirmed" => person.email_opt_in = Some(person.email_opt_in != Some(false)),
                    // Never confirmed: no consent, never emailed.
                    "pending" => person.email_opt_in = Some(false),
                    // Asked to stop, or an address that must not be
                    // written to.
                    status @ ("unsubscribed" | "bounced" | "complained") => {
                        person.email_opt_in = Some(false);
                        person.opted_out = true;
                        person.suppressed = match status {
                            "bounced" => Some(EmailStatus::Bounced),
                            "complained" => Some(EmailStatus::Complained),
                            _ => None,
                        };
                    }
                    _ => problem(format!(
                        "`{}` is not an email status (confirmed, pending, unsubscribed, \
                         bounced, complained)",
                        shown(value)
                    )),
                },
                Target::Postcode => match text(12) {
                    Ok(text) => person.postcode = Some(text.to_uppercase()),
                    Err(why) => problem(why),
                },
                Target::Country => {
                    let code = value.to_ascii_uppercase();
                    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
                        person.country = Some(code);
                    } else {
                        problem(format!(
                            "`{}` is not a two-letter country code (FR, BE...)",
                            shown(value)
                        ));
                    }
                }
                Target::Tags | Target::Interests => {
                    let labels = value.split([',', ';']).map(str::trim);
                    for label in labels.filter(|l| !l.is_empty()) {
                        match validate::text(label, 100, false) {
                            Ok(label) if *target == Target::Tags => {
                                person.tags.insert(label);
                            }
                            Ok(label) => {
                                person.interests.insert(label);
                            }
                            Err(_) => problem(format!("the label `{}` is not one", shown(label))),
                        }
                    }
                }
                Target::CreatedAt => match moment(value) {
                    Some(at) => person.created_at = Some(at),
                    None => problem(format!(
                        "`{}` is not a date (2024-03-14, 2024-03-14 10:22:00 or RFC 3339)",
                        shown(value)
                    )),
                },
                Target::OtherPhones => {
                    for written in value.split([';', ',']).map(str::trim) {
                        match number(written, country) {
                            Some(n) => {
                                person.other_phones.insert(n);
                            }
                            None if written.is_empty() => {}
                            None => problem(format!("`{}` is not a phone number", shown(written))),
                        }
                    }
                }
                Target::Ids => {
                    for pair in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                        let id = pair.split_once(':').filter(|(system, id)| {
                            is_system(system) && validate::text(id, 100, false).is_ok()
                        });
                        match id {
                            Some((system, id)) => {
                                person.external_ids.insert(system.to_owned(), id.to_owned());
                            }
                            None => problem(format!(
                                "`{}` is not an id as SYSTEM:ID (nationbuilder:101)",
                                shown(pair)
                            )),
                        }
                    }
                }
                Target::Id(system) => match text(100) {
                    Ok(id) => {
                        person.external_ids.insert(system.clone(), id);
                    }
                    Err(why) => problem(why),
                },
                Target::Ignore => {}
            }
        }
        if !address.is_empty() {
            person.address = Some(address);
        }
        if let Some(why) = person.too_big() {
            problems.push(why);
        }
        if person.email.is_empty() && problems.is_empty() {
            problems.push("no email address".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        person.first_name = match (first, middle) {
            (Some(first), Some(middle)) => Some(format!("{first} {middle}")),
            (first, middle) => first.or(middle),
        };
        if let Some(full) = full
            && person.first_name.is_none()
            && person.last_name.is_none()
        {
            match full.rsplit_once(' ') {
                Some((first, last)) => {
                    person.first_name = Some(first.trim().to_owned());
                    person.last_name = Some(last.to_owned());
                }
                None => person.last_name = Some(full),
            }
        }
        // Consent to texts is for the number texts go to: the mobile when
        // the file has a mobile column, else the phone.
        let texted = if self.has(&Target::Mobile) {
            mobile.is_some()
        } else {
            phone.is_some()
        };
        if !texted {
            person.sms_opt_in = None;
        }
        // Texts go to the mobile; the other numbers are kept beside it.
        person.phone = mobile.clone().or(phone.clone()).or(work.clone());
        for other in [phone, work].into_iter().flatten() {
            if Some(&other) != person.phone.as_ref() {
                person.other_phones.insert(other);
            }
        }
        Ok(person)
    }
}

/// Whether `system` may name another system: letters, digits, - and _.
fn is_system(system: &str) -> bool {
    !system.is_empty()
        && system.len() <= 40
        && system
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A value quoted in a problem, cut short.
fn shown(value: &str) -> String {
    let mut cut: String = value.chars().take(40).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    cut.chars().filter(|c| !c.is_control()).collect()
}

/// A phone number: in international form when it can be made one
/// ([`validate::phone`]), else as written when it looks like a number
/// (a national number of another country).
fn number(value: &str, country: &str) -> Option<String> {
    if let Some(international) = validate::phone(value, country) {
        return Some(international);
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let plain = value
        .chars()
        .all(|c| c.is_ascii_digit() || " .-()+/".contains(c));
    (plain && (6..=20).contains(&digits)).then(|| value.to_owned())
}

fn yes_no(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "oui" | "o" | "x" => Some(true),
        "false" | "f" | "no" | "n" | "0" | "non" => Some(false),
        _ => None,
    }
}

/// A moment: RFC 3339, a date and time without a zone (UTC), or a day
/// (its midnight, UTC). Not before 1900, not after 2100.
fn moment(value: &str) -> Option<Timestamp> {
    let at = if let Ok(at) = value.parse::<Timestamp>() {
        at
    } else if let Ok(civil) = value.parse::<jiff::civil::DateTime>() {
        jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()?
    } else {
        let day: jiff::civil::Date = value.parse().ok()?;
        jiff::tz::TimeZone::UTC.to_timestamp(day.into()).ok()?
    };
    let year = jiff::tz::TimeZone::UTC.to_datetime(at).year();
    (1900..=2100).contains(&year).then_some(at)
}

/// One person of the file: what its row (or rows, for an address seen on
/// several) says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Person {
    /// The file's lines (1 is the header) this person comes from.
    pub lines: Vec<u64>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The number text messages would go to: the mobile, else another.
    pub phone: Option<String>,
    pub other_phones: BTreeSet<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub address: Option<PostalAddress>,
    pub tags: BTreeSet<String>,
    pub interests: BTreeSet<String>,
    pub external_ids: BTreeMap<String, String>,
    pub created_at: Option<Timestamp>,
    pub volunteer: bool,
    /// What the file says of their consent to campaign email; `None`
    /// when it says nothing.
    pub email_opt_in: Option<bool>,
    /// ... and of their consent to text messages at `phone`.
    pub sms_opt_in: Option<bool>,
    /// The file says they asked to stop (an opt-in of no, a status of
    /// unsubscribed, bounced or complained), not only that it holds no
    /// consent.
    pub opted_out: bool,
    /// The file holds the address as bounced or complaining.
    pub suppressed: Option<EmailStatus>,
}

/// The most a person may hold of each repeated thing: a stored
/// supporter stays far under DynamoDB's 400 KB an item.
const MAX_ADDRESS_LINES: usize = 10;
const MAX_OTHER_PHONES: usize = 20;
const MAX_IDS: usize = 50;
const MAX_LABELS: usize = 500;

impl Person {
    /// What makes the person more than a supporter may hold, if anything.
    pub fn too_big(&self) -> Option<String> {
        let lines = self.address.as_ref().map_or(0, |a| a.lines.len());
        if lines > MAX_ADDRESS_LINES {
            return Some(format!("more than {MAX_ADDRESS_LINES} address lines"));
        }
        if self.other_phones.len() > MAX_OTHER_PHONES {
            return Some(format!("more than {MAX_OTHER_PHONES} phone numbers"));
        }
        if self.external_ids.len() > MAX_IDS {
            return Some(format!("more than {MAX_IDS} ids"));
        }
        if self.tags.len() + self.interests.len() > MAX_LABELS {
            return Some(format!("more than {MAX_LABELS} labels"));
        }
        None
    }

    /// Merges a later row of the same address: what it gives replaces,
    /// what it leaves empty is kept, sets are united.
    pub fn merge_later(&mut self, later: Person) {
        fn keep<T>(old: &mut Option<T>, new: Option<T>) {
            if new.is_some() {
                *old = new;
            }
        }
        self.lines.extend(later.lines);
        keep(&mut self.first_name, later.first_name);
        keep(&mut self.last_name, later.last_name);
        // Consent to texts goes with its number: another number brings
        // its own answer, or none.
        if later.phone.is_some() && later.phone != self.phone {
            self.sms_opt_in = later.sms_opt_in;
        } else {
            keep(&mut self.sms_opt_in, later.sms_opt_in);
        }
        if let Some(phone) = later.phone
            && self.phone.as_ref() != Some(&phone)
        {
            self.other_phones.extend(self.phone.replace(phone));
        }
        self.other_phones.extend(later.other_phones);
        if let Some(phone) = &self.phone {
            self.other_phones.remove(phone);
        }
        keep(&mut self.postcode, later.postcode);
        keep(&mut self.country, later.country);
        keep(&mut self.address, later.address);
        self.tags.extend(later.tags);
        self.interests.extend(later.interests);
        self.external_ids.extend(later.external_ids);
        self.created_at = match (self.created_at, later.created_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.volunteer |= later.volunteer;
        if later.email_opt_in.is_some() {
            self.opted_out = later.opted_out;
        }
        keep(&mut self.email_opt_in, later.email_opt_in);
        // A bounce or complaint on any row stays.
        self.suppressed = later.suppressed.or(self.suppressed);
    }
}

/// Which side wins where the file and the stored supporter disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    /// What the campaign holds (typed by the supporter on a form, or
    /// corrected since): the file only fills what is empty.
    #[default]
    Store,
    /// The file's values replace the stored ones.
    File,
}

/// One import: where its consent came from and how it merges.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRun {
    /// What the consent records name as the source (`nationbuilder
    /// 2026-11`, the file's name).
    pub source: String,
    /// SHA-256 of the file, in hex: which file exactly.
    pub file_sha256: String,
    /// The estrade version that imported.
    pub build: String,
    pub prefer: Prefer,
    /// The consent to campaign email of a person the file says nothing
    /// about (no opt-in column, or an empty cell).
    pub default_opt_in: bool,
    /// When the import started: every record it writes carries it, so
    /// that an import run again writes the same records.
    pub at: Timestamp,
}

/// What importing one person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    /// Everything the file says was known already.
    Unchanged,
    /// The address was erased on that day: not imported.
    Forgotten(Timestamp),
}

/// The supporter after a person is merged in, and what it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Absorbed {
    pub outcome: Outcome,
    /// `None` for an unchanged or forgotten person: nothing to write.
    pub supporter: Option<Supporter>,
    /// Imported-consent records to append.
    pub consents: Vec<ConsentRecord>,
    /// Fields the file and the store disagreed on (which side was kept
    /// is [`ImportRun::prefer`]'s).
    pub conflicts: Vec<&'static str>,
    /// The file opts them in, but the campaign holds them unsubscribed,
    /// bounced or complaining: they stay so.
    pub kept_out: bool,
}

impl Absorbed {
    /// A person whose address was erased: nothing of them is written.
    pub fn forgotten(at: Timestamp) -> Absorbed {
        Absorbed {
            outcome: Outcome::Forgotten(at),
            supporter: None,
            consents: Vec::new(),
            conflicts: Vec::new(),
            kept_out: false,
        }
    }
}

fn imported(email: &str, channel: Channel, run: &ImportRun) -> ConsentRecord {
    ConsentRecord {
        email: email.to_owned(),
        action: ConsentAction::Imported,
        channel,
        form: "import".to_owned(),
        page: run.source.clone(),
        text_hash: run.file_sha256.clone(),
        build: run.build.clone(),
        at: run.at,
    }
}

/// Merges `person` into `stored` (`None`: not known, or pending past
/// their expiry). Sets and ids are united, an empty field is filled;
/// where both sides hold a different value, [`ImportRun::prefer`] says
/// which stays, and a phone number that loses is kept among the other
/// numbers. Consent to email is recorded as imported when the file opts
/// a person in who held no consent here (new or pending); an address the
/// campaign holds as unsubscribed, bounced or complaining stays so.
pub fn absorb(stored: Option<Supporter>, person: &Person, run: &ImportRun) -> Absorbed {
    let opt_in = person.suppressed.is_none() && person.email_opt_in.unwrap_or(run.default_opt_in);
    let sms = person.sms_opt_in == Some(true) && person.phone.is_some();
    let created = person.created_at.map_or(run.at, |at| at.min(run.at));
    let Some(before) = stored else {
        let mut consents = Vec::new();
        if opt_in {
            consents.push(imported(&person.email, Channel::Email, run));
        }
        if sms {
            consents.push(imported(&person.email, Channel::Sms, run));
        }
        let supporter = Supporter {
            email: person.email.clone(),
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            phone: person.phone.clone(),
            postcode: person.postcode.clone(),
            country: person.country.clone(),
            interests: person.interests.clone(),
            skills: BTreeSet::new(),
            availability: None,
            volunteer: person.volunteer,
            // Without consent they are kept, never emailed; a bounce or
            // complaint the file knows of stays.
            status: match (person.suppressed, opt_in) {
                (Some(suppressed), _) => suppressed,
                (None, true) => EmailStatus::Confirmed,
                (None, false) => EmailStatus::Unsubscribed,
            },
            sms,
            recruiter: None,
            created_at: created,
            updated_at: run.at,
            expires_at: None,
            address: person.address.clone(),
            other_phones: person.other_phones.clone(),
            tags: person.tags.clone(),
            external_ids: person.external_ids.clone(),
        };
        return Absorbed {
            outcome: Outcome::Created,
            supporter: Some(supporter),
            consents,
            conflicts: Vec::new(),
            kept_out: false,
        };
    };
    let mut s = before.clone();
    let mut conflicts = Vec::new();
    let file_wins = run.prefer == Prefer::File;
    fn field<T: PartialEq + Clone>(
        name: &'static str,
        stored: &mut Option<T>,
        file: &Option<T>,
        file_wins: bool,
        conflicts: &mut Vec<&'static str>,
    ) -> Option<T> {
        match (stored.as_ref(), file) {
            (None, Some(value)) => *stored = Some(value.clone()),
            (Some(old), Some(new)) if old != new => {
                conflicts.push(name);
                if file_wins {
                    return stored.replace(new.clone());
                }
                return Some(new.clone());
            }
            _ => {}
        }
        None
    }
    field(
        "first_name",
        &mut s.first_name,
        &person.first_name,
        file_wins,
        &mut conflicts,
    );
    field(
        "last_name",
        &mut s.last_name,
        &person.last_name,
        file_wins,
        &mut conflicts,
    );
    field(
        "postcode",
        &mut s.postcode,
        &person.postcode,
        file_wins,
        &mut conflicts,
    );
    field(
        "country",
        &mut s.country,
        &person.country,
        file_wins,
        &mut conflicts,
    );
    field(
        "address",
        &mut s.address,
        &person.address,
        file_wins,
        &mut conflicts,
    );
    // The number that loses stays among the others.
    if let Some(loser) = field(
        "phone",
        &mut s.phone,
        &person.phone,
        file_wins,
        &mut conflicts,
    ) {
        s.other_phones.insert(loser);
    }
    // Consent to texts was given for the number replaced.
    if s.phone != before.phone {
        s.sms = false;
    }
    s.other_phones.extend(person.other_phones.iter().cloned());
    if let Some(phone) = &s.phone {
        s.other_phones.remove(phone);
    }
    for (system, id) in &person.external_ids {
        let mut held = s.external_ids.get(system).cloned();
        field(
            "external id",
            &mut held,
            &Some(id.clone()),
            file_wins,
            &mut conflicts,
        );
        if let Some(held) = held {
            s.external_ids.insert(system.clone(), held);
        }
    }
    s.tags.extend(person.tags.iter().cloned());
    s.interests.extend(person.interests.iter().cloned());
    s.volunteer |= person.volunteer;
    s.created_at = s.created_at.min(created);
    let mut consents = Vec::new();
    let mut kept_out = false;
    if let Some(suppressed) = person.suppressed {
        // Known elsewhere as an address not to write to: applied, it
        // only ever sends less.
        if !matches!(s.status, EmailStatus::Bounced | EmailStatus::Complained) {
            s.status = suppressed;
        }
    } else if person.opted_out && matches!(s.status, EmailStatus::Confirmed | EmailStatus::Pending)
    {
        // The file says they asked to stop; the campaign holds their
        // consent (or a signup): a conflict, for the campaign to settle.
        conflicts.push("email_opt_in");
        if file_wins {
            s.status = EmailStatus::Unsubscribed;
            consents.push(ConsentRecord {
                action: ConsentAction::Withdrawn,
                ..imported(&s.email, Channel::Email, run)
            });
        }
    }
    if opt_in {
        match s.status {
            EmailStatus::Pending => {
                s.status = EmailStatus::Confirmed;
                consents.push(imported(&s.email, Channel::Email, run));
            }
            EmailStatus::Confirmed => {}
            EmailStatus::Unsubscribed | EmailStatus::Bounced | EmailStatus::Complained => {
                kept_out = true;
            }
        }
    }
    // Consent to texts belongs to the number it was given for.
    if sms && !s.sms && s.phone == person.phone {
        s.sms = true;
        consents.push(imported(&s.email, Channel::Sms, run));
    }
    // Held for themselves now, confirmed or not.
    s.expires_at = None;
    if s == before {
        return Absorbed {
            outcome: Outcome::Unchanged,
            supporter: None,
            consents: Vec::new(),
            conflicts,
            kept_out,
        };
    }
    s.updated_at = run.at;
    Absorbed {
        outcome: Outcome::Updated,
        supporter: Some(s),
        consents,
        conflicts,
        kept_out,
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn run(prefer: Prefer) -> ImportRun {
        ImportRun {
            source: "export.csv".into(),
            file_sha256: "00".repeat(32),
            build: "test".into(),
            prefer,
            default_opt_in: false,
            at: at("2026-12-01T12:00:00Z"),
        }
    }

    #[test]
    fn nationbuilder_headers_are_known_and_others_listed() {
        let mapping = Mapping::from_headers(
            &headers(&[
                "nationbuilder_id",
                "email",
                "First Name",
                "Prénom usuel",
                "mobile_number",
                "primary_address1",
                "primary_address2",
                "tag_list",
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(
            mapping.targets,
            [
                Target::Id("nationbuilder".into()),
                Target::Email,
                Target::FirstName,
                Target::Ignore,
                Target::Mobile,
                Target::AddressLine,
                Target::AddressLine,
                Target::Tags,
            ]
        );
        assert_eq!(mapping.unknown, ["Prénom usuel"]);
        assert_eq!(guess("E-mail"), Some(Target::Email));
        assert_eq!(guess("\u{feff}Code postal"), Some(Target::Postcode));
    }

    #[test]
    fn a_mapping_needs_one_email_column_and_known_headers() {
        let refused = Mapping::from_headers(&headers(&["Contact", "Nom"]), &[]);
        assert!(refused.unwrap_err().contains("--map 'HEADER=email'"));
        let twice = Mapping::from_headers(&headers(&["email", "Courriel"]), &[]);
        assert!(twice.unwrap_err().contains("two columns go to `email`"));
        let missing =
            Mapping::from_headers(&headers(&["email"]), &[("Adhérent".into(), Target::Tags)]);
        assert!(missing.unwrap_err().contains("`Adhérent`"));
        let mapped = Mapping::from_headers(
            &headers(&["Contact", "Adherent"]),
            &[
                ("contact".into(), Target::Email),
                ("Adhérent".into(), Target::parse("id:party").unwrap()),
            ],
        )
        .unwrap();
        assert_eq!(mapped.targets, [Target::Email, Target::Id("party".into())]);
        assert!(Target::parse("id:").is_err());
        assert!(Target::parse("id:a b").is_err());
        assert!(
            Target::parse("birthday")
                .unwrap_err()
                .contains("not a field")
        );
        for name in ["email", "name", "work_phone", "ignore", "id:van"] {
            assert_eq!(Target::parse(name).unwrap().name(), name);
        }
    }

    fn mapping() -> Mapping {
        Mapping::from_headers(
            &headers(&[
                "email",
                "first_name",
                "middle_name",
                "last_name",
                "phone_number",
                "mobile_number",
                "work_phone_number",
                "email_opt_in",
                "primary_country_code",
                "tag_list",
                "created_at",
                "name",
            ]),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn a_row_is_read_whole() {
        let cells = [
            " Jean.Dupont@Example.FR ",
            "Jean",
            "Marie",
            "Dupont",
            "03 27 12 34 56",
            "0612345678",
            "+32 2 123 45 67",
            "oui",
            "be",
            "élus, porte-à-porte;  ",
            "2020-02-03",
            "",
        ];
        let person = mapping().person(&cells, 4, "FR").unwrap();
        assert_eq!(person.lines, [4]);
        assert_eq!(person.email, "jean.dupont@example.fr");
        assert_eq!(person.first_name.as_deref(), Some("Jean Marie"));
        // Read in the row's country (Belgium): not taken for a French
        // number, kept as written.
        assert_eq!(person.phone.as_deref(), Some("0612345678"));
        assert!(person.other_phones.contains("03 27 12 34 56"));
        assert!(person.other_phones.contains("+3221234567"));
        assert_eq!(person.other_phones.len(), 2);
        assert_eq!(person.email_opt_in, Some(true));
        assert_eq!(person.country.as_deref(), Some("BE"));
        assert_eq!(
            person.tags,
            ["porte-à-porte".to_owned(), "élus".to_owned()].into()
        );
        assert_eq!(person.created_at, Some(at("2020-02-03T00:00:00Z")));
    }

    #[test]
    fn every_problem_of_a_row_is_told() {
        let mut cells = [""; 12];
        cells[0] = "not-an-address";
        cells[1] = "Ann\u{7}";
        cells[5] = "call me";
        cells[7] = "maybe";
        cells[8] = "France";
        cells[10] = "1850-01-01";
        let problems = mapping().person(&cells, 9, "FR").unwrap_err();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems[0].starts_with("email: `not-an-address`"));
        assert!(problems[1].contains("control characters"));
        assert!(problems.iter().any(|p| p.starts_with("created_at:")));
        let short = mapping().person(&["a@example.fr"], 2, "FR").unwrap_err();
        assert!(short[0].contains("1 cells where the header has 12 columns"));
        let empty = mapping().person(&[""; 12], 3, "FR").unwrap_err();
        assert_eq!(empty, ["no email address"]);
    }

    #[test]
    fn two_columns_of_one_name_are_refused_plainly() {
        let twice = Mapping::from_headers(&headers(&["Email", "email"]), &[]).unwrap_err();
        assert!(twice.contains("two columns are named `email`"), "{twice}");
        // Repeating fields may share a name (NationBuilder has none such,
        // a spreadsheet may).
        let lines = Mapping::from_headers(&headers(&["email", "address", "address"]), &[]);
        assert!(lines.is_ok());
    }

    #[test]
    fn an_estrade_email_status_opts_in_only_when_confirmed() {
        let mapping = Mapping::from_headers(&headers(&["email", "status"]), &[]).unwrap();
        assert_eq!(mapping.targets[1], Target::EmailStatus);
        let read = |status: &str| mapping.person(&["a@example.fr", status], 2, "FR");
        assert_eq!(read("confirmed").unwrap().email_opt_in, Some(true));
        for never in ["pending", "Unsubscribed", "bounced", "complained"] {
            assert_eq!(read(never).unwrap().email_opt_in, Some(false), "{never}");
        }
        let problems = read("subscribed").unwrap_err();
        assert!(
            problems[0].contains("is not an email status"),
            "{problems:?}"
        );
    }

    #[test]
    fn other_phones_and_ids_are_read_as_the_export_writes_them() {
        let mapping =
            Mapping::from_headers(&headers(&["email", "other_phones", "external_ids"]), &[])
                .unwrap();
        let cells = [
            "a@example.fr",
            "+33327123456;03 20 00 00 00",
            "external:PARTY-0042;nationbuilder:101",
        ];
        let person = mapping.person(&cells, 2, "FR").unwrap();
        assert_eq!(
            person.other_phones,
            ["+33320000000".to_owned(), "+33327123456".to_owned()].into()
        );
        assert_eq!(person.external_ids["external"], "PARTY-0042");
        assert_eq!(person.external_ids["nationbuilder"], "101");
        let bad = mapping
            .person(&["a@example.fr", "", "no system here"], 3, "FR")
            .unwrap_err();
        assert!(bad[0].contains("is not an id as SYSTEM:ID"), "{bad:?}");
    }

    #[test]
    fn a_full_name_is_split_when_nothing_else_names_them() {
        let mut cells = [""; 12];
        cells[0] = "a@example.fr";
        cells[11] = "Marie Claire Dubois";
        let person = mapping().person(&cells, 2, "FR").unwrap();
        assert_eq!(person.first_name.as_deref(), Some("Marie Claire"));
        assert_eq!(person.last_name.as_deref(), Some("Dubois"));
    }

    #[test]
    fn later_rows_of_an_address_fill_and_replace() {
        let mut first = Person {
            lines: vec![2],
            email: "a@example.fr".into(),
            first_name: Some("Ann".into()),
            phone: Some("+33611111111".into()),
            tags: ["a".to_owned()].into(),
            created_at: Some(at("2020-01-01T00:00:00Z")),
            ..Person::default()
        };
        first.merge_later(Person {
            lines: vec![9],
            email: "a@example.fr".into(),
            last_name: Some("Lee".into()),
            phone: Some("+33622222222".into()),
            tags: ["b".to_owned()].into(),
            created_at: Some(at("2021-01-01T00:00:00Z")),
            email_opt_in: Some(true),
            ..Person::default()
        });
        assert_eq!(first.lines, [2, 9]);
        assert_eq!(first.first_name.as_deref(), Some("Ann"));
        assert_eq!(first.last_name.as_deref(), Some("Lee"));
        assert_eq!(first.phone.as_deref(), Some("+33622222222"));
        assert_eq!(first.other_phones, ["+33611111111".to_owned()].into());
        assert_eq!(first.tags.len(), 2);
        assert_eq!(first.created_at, Some(at("2020-01-01T00:00:00Z")));
        assert_eq!(first.email_opt_in, Some(true));
    }

    fn held(status: EmailStatus) -> Supporter {
        let mut supporter = Supporter::new(
            crate::supporter::SupporterUpdate {
                email: "a@example.fr".into(),
                first_name: Some("Anne".into()),
                phone: Some("+33611111111".into()),
                ..Default::default()
            },
            status,
            at("2025-06-01T00:00:00Z"),
        );
        supporter.tags = ["form".to_owned()].into();
        supporter
    }

    fn file_person() -> Person {
        Person {
            lines: vec![2],
            email: "a@example.fr".into(),
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            phone: Some("+33622222222".into()),
            tags: ["file".to_owned()].into(),
            created_at: Some(at("2019-01-01T00:00:00Z")),
            email_opt_in: Some(true),
            sms_opt_in: Some(true),
            ..Person::default()
        }
    }

    #[test]
    fn a_pending_supporter_opted_in_by_the_file_is_confirmed() {
        let absorbed = absorb(
            Some(held(EmailStatus::Pending)),
            &file_person(),
            &run(Prefer::Store),
        );
        assert_eq!(absorbed.outcome, Outcome::Updated);
        let merged = absorbed.supporter.unwrap();
        assert_eq!(merged.status, EmailStatus::Confirmed);
        assert_eq!(merged.expires_at, None);
        assert_eq!(merged.first_name.as_deref(), Some("Anne"));
        assert_eq!(merged.last_name.as_deref(), Some("Lee"));
        assert_eq!(merged.phone.as_deref(), Some("+33611111111"));
        assert_eq!(merged.other_phones, ["+33622222222".to_owned()].into());
        assert!(
            !merged.sms,
            "the file's consent to texts was for its own number"
        );
        assert_eq!(merged.tags, ["file".to_owned(), "form".to_owned()].into());
        assert_eq!(merged.created_at, at("2019-01-01T00:00:00Z"));
        assert_eq!(absorbed.conflicts, ["first_name", "phone"]);
        assert_eq!(absorbed.consents.len(), 1);
        assert_eq!(absorbed.consents[0].action, ConsentAction::Imported);
        assert_eq!(absorbed.consents[0].page, "export.csv");
    }

    #[test]
    fn the_file_may_win_and_an_unsubscribed_supporter_stays_so() {
        let absorbed = absorb(
            Some(held(EmailStatus::Unsubscribed)),
            &file_person(),
            &run(Prefer::File),
        );
        let merged = absorbed.supporter.unwrap();
        assert_eq!(merged.status, EmailStatus::Unsubscribed);
        assert!(absorbed.kept_out);
        assert!(absorbed.consents.iter().all(|c| c.channel == Channel::Sms));
        assert_eq!(merged.first_name.as_deref(), Some("Ann"));
        assert_eq!(merged.phone.as_deref(), Some("+33622222222"));
        assert_eq!(merged.other_phones, ["+33611111111".to_owned()].into());
        assert!(
            merged.sms,
            "the number the file opted in is the one held now"
        );
    }

    #[test]
    fn consent_to_texts_stays_with_its_number() {
        let mut texts = held(EmailStatus::Confirmed);
        texts.sms = true;
        let mut silent = file_person();
        silent.sms_opt_in = None;
        let replaced = absorb(Some(texts.clone()), &silent, &run(Prefer::File));
        let merged = replaced.supporter.unwrap();
        assert_eq!(merged.phone.as_deref(), Some("+33622222222"));
        assert!(!merged.sms, "the new number never agreed to texts");
        assert!(replaced.consents.is_empty());
        let kept = absorb(Some(texts), &silent, &run(Prefer::Store));
        assert!(
            kept.supporter.unwrap().sms,
            "the held number keeps its consent"
        );

        // Across rows: a later number comes with its own answer.
        let mut first = file_person();
        first.phone = Some("+33633333333".into());
        let mut later = file_person();
        later.sms_opt_in = None;
        first.merge_later(later);
        assert_eq!(first.phone.as_deref(), Some("+33622222222"));
        assert_eq!(first.sms_opt_in, None);

        // A mobile opt-in with no mobile consents to nothing.
        let mapping = Mapping::from_headers(
            &headers(&["email", "phone_number", "mobile_number", "mobile_opt_in"]),
            &[],
        )
        .unwrap();
        let landline = mapping
            .person(&["a@example.fr", "03 27 12 34 56", "", "yes"], 2, "FR")
            .unwrap();
        assert_eq!(landline.phone.as_deref(), Some("+33327123456"));
        assert_eq!(landline.sms_opt_in, None);
    }

    #[test]
    fn a_person_may_hold_only_so_much() {
        let mapping = Mapping::from_headers(&headers(&["email", "other_phones"]), &[]).unwrap();
        let numbers: Vec<String> = (10..31).map(|n| format!("06 12 34 56 {n}")).collect();
        let problems = mapping
            .person(&["a@example.fr", &numbers.join(";")], 2, "FR")
            .unwrap_err();
        assert_eq!(problems, ["more than 20 phone numbers"]);
        let fine = mapping
            .person(&["a@example.fr", &numbers[..20].join(";")], 2, "FR")
            .unwrap();
        assert_eq!(fine.too_big(), None);
        let mut many = fine.clone();
        many.merge_later(
            mapping
                .person(&["a@example.fr", &numbers[20..].join(";")], 3, "FR")
                .unwrap(),
        );
        assert_eq!(
            many.too_big().as_deref(),
            Some("more than 20 phone numbers"),
            "rows of one address add up"
        );
    }

    #[test]
    fn a_file_that_says_stop_is_heard() {
        let mapping =
            Mapping::from_headers(&headers(&["email", "email_opt_in", "status"]), &[]).unwrap();
        let read = |opt_in: &str, status: &str| {
            mapping
                .person(&["a@example.fr", opt_in, status], 2, "FR")
                .unwrap()
        };
        let both = read("no", "confirmed");
        assert_eq!(both.email_opt_in, Some(false), "two columns: no wins");
        assert!(both.opted_out);
        assert_eq!(read("yes", "unsubscribed").email_opt_in, Some(false));
        let never = read("", "pending");
        assert!(!never.opted_out, "no consent is not a refusal");

        // A bounce or complaint known elsewhere stays, new or held.
        let bounced = read("", "bounced");
        assert_eq!(bounced.suppressed, Some(EmailStatus::Bounced));
        let new = absorb(None, &bounced, &run(Prefer::Store));
        assert_eq!(new.supporter.unwrap().status, EmailStatus::Bounced);
        let mut held_one = held(EmailStatus::Confirmed);
        held_one.phone = None;
        let held_bounced = absorb(Some(held_one.clone()), &bounced, &run(Prefer::Store));
        assert_eq!(held_bounced.supporter.unwrap().status, EmailStatus::Bounced);

        // An opt-out against a consent held here: a conflict, settled
        // by --prefer file with a withdrawal on record.
        let stop = read("no", "");
        let kept = absorb(Some(held_one.clone()), &stop, &run(Prefer::Store));
        assert_eq!(kept.conflicts, ["email_opt_in"]);
        assert_eq!(kept.outcome, Outcome::Unchanged);
        let withdrawn = absorb(Some(held_one), &stop, &run(Prefer::File));
        assert_eq!(
            withdrawn.supporter.unwrap().status,
            EmailStatus::Unsubscribed
        );
        assert_eq!(withdrawn.consents.len(), 1);
        assert_eq!(withdrawn.consents[0].action, ConsentAction::Withdrawn);
        assert_eq!(withdrawn.consents[0].page, "export.csv");
    }

    #[test]
    fn what_is_known_already_changes_nothing() {
        let first = absorb(None, &file_person(), &run(Prefer::Store));
        assert_eq!(first.outcome, Outcome::Created);
        let stored = first.supporter.unwrap();
        assert_eq!(stored.status, EmailStatus::Confirmed);
        assert_eq!(first.consents.len(), 2);
        let again = absorb(Some(stored), &file_person(), &run(Prefer::Store));
        assert_eq!(again.outcome, Outcome::Unchanged);
        assert!(again.supporter.is_none() && again.consents.is_empty());

        let mut silent = file_person();
        silent.email_opt_in = None;
        let kept = absorb(None, &silent, &run(Prefer::Store));
        assert_eq!(kept.supporter.unwrap().status, EmailStatus::Unsubscribed);
        assert!(kept.consents.iter().all(|c| c.channel == Channel::Sms));
    }
}
