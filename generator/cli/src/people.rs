//! `estrade people show EMAIL`: everything the campaign holds on one
//! person, for a subject access request (GDPR article 15); `estrade people
//! export`: every supporter, as CSV or as JSON in the shapes of the Open
//! Supporter Data Interface (OSDI), to move to other tools. From the store
//! of `estrade serve` or a DynamoDB table (`--table`, or `ESTRADE_TABLE`).

use crate::broadcast::{StoreArgs, Where, dynamo, local_store, runtime};
use clap::{Args, Subcommand};
use estrade_domain::import::Prefer;
use estrade_domain::supporter::{ConsentAction, ConsentRecord, PostalAddress, Supporter};
use estrade_functions::gifts::Gift;
use estrade_functions::people::Erased;
use estrade_functions::store::{Store, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct PeopleArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum Action {
    /// Everything held on the person with this address: their record,
    /// their consent history, their registrations, the emails queued or
    /// sent to them (and serve's outbox copies) and their gifts.
    Show {
        /// Their email address, as they would type it.
        email: String,
        /// The same as JSON, to hand over to them.
        #[arg(long)]
        json: bool,
    },
    /// Erase the person with this address (GDPR article 17): their
    /// supporter record, consent history, registrations, queued emails
    /// and outbox copies; a salted hash of the address is kept, with the
    /// date. Gifts stay, as the law requires.
    Forget {
        /// Their email address.
        email: String,
        /// Erase: without it, only say what would go.
        #[arg(long)]
        yes: bool,
    },
    /// Erase every supporter who sent no form for `retention.inactive_days`
    /// (campaign.yaml), as `forget` does.
    Purge {
        /// Erase: without it, only count and list them.
        #[arg(long)]
        yes: bool,
    },
    /// Import a member list or a NationBuilder people export (CSV): a dry
    /// run with its report first, then with --yes the import itself.
    /// People are merged with the supporters already held by email
    /// address; their consent is recorded as imported from the file.
    Import {
        /// The CSV file (comma, semicolon or tab separated; UTF-8 or
        /// Windows-1252), its first line naming the columns.
        file: PathBuf,
        /// Where a column goes, when its header does not say:
        /// `--map 'Courriel=email'`, `--map 'Adhérent=tags'`,
        /// `--map 'N° adhérent=id:party'`, `--map 'Notes=ignore'`.
        /// Repeatable. The fields are listed in the README.
        #[arg(long, value_name = "HEADER=FIELD")]
        map: Vec<String>,
        /// What the consent records name as the file's origin (default:
        /// the file's name).
        #[arg(long, value_name = "LABEL")]
        source: Option<String>,
        /// Whether the people agreed to campaign email, for a file with no
        /// opt-in column (or empty cells in it): `yes` or `no`.
        #[arg(long, value_name = "yes|no", value_parser = ["yes", "no"])]
        opt_in: Option<String>,
        /// Which side wins where the file and the campaign hold different
        /// values: `store` (what supporters typed on the forms) or `file`.
        #[arg(long, default_value = "store", value_parser = ["store", "file"])]
        prefer: String,
        /// The country of phone numbers written without their
        /// international prefix, when the row names none.
        #[arg(long, default_value = "FR", value_name = "CODE")]
        country: String,
        /// Import: without it, only read the store and report.
        #[arg(long)]
        yes: bool,
        /// Write every row left out, refused or in conflict to this CSV
        /// file, with its line.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Every supporter with their consent history: CSV (one row each), or
    /// JSON with OSDI people, tags and taggings.
    Export {
        /// `csv` or `json`.
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn people(args: &PeopleArgs) -> Result<(), String> {
    match &args.action {
        Action::Show { email, json } => show(args, email, *json),
        Action::Forget { email, yes } => forget(args, email, *yes),
        Action::Purge { yes } => purge(args, *yes),
        Action::Export { format, out } => export(args, format, out.as_deref()),
        Action::Import {
            file,
            map,
            source,
            opt_in,
            prefer,
            country,
            yes,
            report,
        } => crate::people_import::import(
            &args.store,
            &crate::people_import::ImportOptions {
                file,
                map,
                source: source.as_deref(),
                opt_in: opt_in.as_deref().map(|answer| answer == "yes"),
                prefer: if prefer == "file" {
                    Prefer::File
                } else {
                    Prefer::Store
                },
                country: &country.to_ascii_uppercase(),
                yes: *yes,
                report: report.as_deref(),
            },
        ),
    }
}

fn show(args: &PeopleArgs, email: &str, json: bool) -> Result<(), String> {
    let email = estrade_domain::validate::email(email.trim())
        .ok_or_else(|| format!("error: `{email}` is not an email address"))?;
    let runtime = runtime()?;
    let mut record = match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(record_of(&store, &email))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            record_of(&store, &email).await
        }),
    }?;
    // The copies `estrade serve` wrote instead of sending (none on AWS).
    if let Where::Local(_) = args.store.place() {
        let outbox = crate::functions::DataDir::new(&args.store.root).outbox();
        let copies: Vec<Value> = estrade_functions::outbox::list(&outbox)
            .map_err(|e| format!("error: cannot read {}: {e}", outbox.display()))?
            .into_iter()
            .filter(|entry| entry.to.eq_ignore_ascii_case(&email))
            .map(|entry| {
                json!({
                    "file": outbox.join(&entry.file_name),
                    "date": entry.date,
                    "subject": entry.subject,
                })
            })
            .collect();
        record["outbox"] = Value::Array(copies);
    }
    if json {
        let text = serde_json::to_string_pretty(&record)
            .map_err(|e| format!("error: cannot write the record: {e}"))?;
        println!("{text}");
    } else {
        print!("{}", describe(&email, &record));
    }
    Ok(())
}

/// What the store holds on `email`, as one JSON value.
pub async fn record_of<S: Store>(store: &S, email: &str) -> Result<Value, String> {
    let failed = |e: StoreError| format!("error: {e}");
    let supporter = store.supporter(email).await.map_err(failed)?;
    let consents = store.consents(email).await.map_err(failed)?;
    let mut rsvps = Vec::new();
    let mut after = None;
    loop {
        let page = store.seats(after, 1_000).await.map_err(failed)?;
        rsvps.extend(
            page.items
                .into_iter()
                .filter(|seat| seat.email == email)
                .map(|seat| json!({ "event": seat.event, "status": seat.status })),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // Gifts name their donor by key: the donors who gave this address.
    let mut gifts: Vec<Value> = Vec::new();
    let mut donors: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut after = None;
    loop {
        let page = store.gifts(after, 1_000).await.map_err(failed)?;
        for gift in page.items {
            if !seen.contains_key(&gift.donor) {
                let donor = store.donor(&gift.donor).await.map_err(failed)?;
                let theirs = donor.as_ref().is_some_and(|d| d.email == email);
                if theirs {
                    donors.push(json!(donor));
                }
                seen.insert(gift.donor.clone(), theirs);
            }
            if seen.get(&gift.donor) == Some(&true) {
                gifts.push(gift_json(&gift));
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let emails = store.queued_to(email).await.map_err(failed)?;
    let erased = store.forgotten(email).await.map_err(failed)?;
    Ok(json!({
        "email": email,
        "erased_at": erased,
        "supporter": supporter,
        "consents": consents,
        "rsvps": rsvps,
        "emails": emails,
        "donor": donors,
        "gifts": gifts,
    }))
}

fn gift_json(gift: &Gift) -> Value {
    json!({
        "receipt": gift.receipt.map(|n| format!("{}-{n:06}", gift.election)),
        "at": gift.at,
        "amount_cents": gift.amount,
        "refunded_cents": gift.refunded,
        "currency": gift.currency,
        "frequency": gift.frequency,
        "status": gift.status,
    })
}

/// The record in words, a section each.
fn describe(email: &str, record: &Value) -> String {
    let mut out = String::new();
    match serde_json::from_value::<Option<Supporter>>(record["supporter"].clone()) {
        Ok(Some(s)) => {
            out.push_str(&format!("{email}: supporter, {}\n", s.status.as_str()));
            let line = |name: &str, value: Option<&str>| match value {
                Some(v) if !v.is_empty() => format!("  {name}: {v}\n"),
                _ => String::new(),
            };
            out.push_str(&line("first name", s.first_name.as_deref()));
            out.push_str(&line("last name", s.last_name.as_deref()));
            out.push_str(&line("phone", s.phone.as_deref()));
            out.push_str(&line("postcode", s.postcode.as_deref()));
            out.push_str(&line("country", s.country.as_deref()));
            if let Some(address) = &s.address {
                out.push_str(&line("address", Some(&address_text(address))));
            }
            let others: Vec<&str> = s.other_phones.iter().map(String::as_str).collect();
            out.push_str(&line("other phones", Some(&others.join(", "))));
            let tags: Vec<&str> = s.tags.iter().map(String::as_str).collect();
            out.push_str(&line("tags", Some(&tags.join(", "))));
            let ids: Vec<String> = s
                .external_ids
                .iter()
                .map(|(system, id)| format!("{system} {id}"))
                .collect();
            out.push_str(&line("ids elsewhere", Some(&ids.join(", "))));
            let interests: Vec<&str> = s.interests.iter().map(String::as_str).collect();
            out.push_str(&line("interests", Some(&interests.join(", "))));
            let skills: Vec<&str> = s.skills.iter().map(String::as_str).collect();
            out.push_str(&line("skills", Some(&skills.join(", "))));
            out.push_str(&line("availability", s.availability.as_deref()));
            out.push_str(&format!(
                "  volunteer: {}, text messages: {}\n  since {}, changed {}\n",
                if s.volunteer { "yes" } else { "no" },
                if s.sms { "yes" } else { "no" },
                s.created_at,
                s.updated_at
            ));
            if let Some(expires) = s.expires_at {
                out.push_str(&format!("  deleted {expires} unless confirmed\n"));
            }
        }
        _ => out.push_str(&format!("{email}: no supporter record\n")),
    }
    if let Value::String(at) = &record["erased_at"] {
        out.push_str(&format!(
            "erased on {at}: only a salted hash of the address is kept, so that no import \
             brings them back\n"
        ));
    }
    let consents: Vec<ConsentRecord> =
        serde_json::from_value(record["consents"].clone()).unwrap_or_default();
    out.push_str(&format!("consent history ({}):\n", consents.len()));
    for c in &consents {
        let hash: String = c.text_hash.chars().take(12).collect();
        out.push_str(&format!(
            "  {} {} ({}) by {} on {} (text {hash}, build {})\n",
            c.at,
            text(&json!(c.action)),
            text(&json!(c.channel)),
            c.form,
            c.page,
            c.build
        ));
    }
    let list = |key: &str| record[key].as_array().cloned().unwrap_or_default();
    let rsvps = list("rsvps");
    out.push_str(&format!("registrations ({}):\n", rsvps.len()));
    for r in &rsvps {
        out.push_str(&format!("  {} {}\n", text(&r["event"]), text(&r["status"])));
    }
    let gifts = list("gifts");
    out.push_str(&format!("gifts ({}):\n", gifts.len()));
    for g in &gifts {
        out.push_str(&format!(
            "  {} {} cents {} {} ({})\n",
            text(&g["at"]),
            g["amount_cents"],
            text(&g["currency"]),
            text(&g["status"]),
            text(&g["receipt"])
        ));
    }
    if let Some(donor) = list("donor").first() {
        out.push_str(&format!(
            "donor identity: {} {}, born {}, {}, {} {}, {}\n",
            text(&donor["first_name"]),
            text(&donor["last_name"]),
            text(&donor["birth_date"]),
            text(&donor["address"]),
            text(&donor["postcode"]),
            text(&donor["city"]),
            text(&donor["country"])
        ));
    }
    let emails = list("emails");
    out.push_str(&format!("emails to them ({}):\n", emails.len()));
    for e in &emails {
        let from = match (&e["source"]["broadcast"], &e["source"]["automation"]) {
            (Value::String(broadcast), _) => format!("broadcast {broadcast}"),
            (_, Value::String(automation)) => {
                format!(
                    "automation {automation}, step {}",
                    text(&e["source"]["step"])
                )
            }
            _ => text(&e["source"]),
        };
        out.push_str(&format!(
            "  {} {} ({from}): {}\n",
            text(&e["due_at"]),
            text(&e["template"]),
            text(&e["state"])
        ));
    }
    if let Some(copies) = record["outbox"].as_array() {
        out.push_str(&format!(
            "outbox copies written by `estrade serve` ({}):\n",
            copies.len()
        ));
        for c in copies {
            out.push_str(&format!(
                "  {} {} ({})\n",
                text(&c["date"]),
                text(&c["subject"]),
                text(&c["file"])
            ));
        }
    }
    out
}

/// A street address on one line: its lines, city and region.
fn address_text(address: &PostalAddress) -> String {
    address
        .lines
        .iter()
        .chain(&address.city)
        .chain(&address.region)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn export(args: &PeopleArgs, format: &str, out: Option<&std::path::Path>) -> Result<(), String> {
    let runtime = runtime()?;
    let format = if format == "json" {
        Format::Osdi
    } else {
        Format::Csv
    };
    // A file is written beside its name and put in place once whole: an
    // export cut off leaves no half file under the name asked for.
    let part = out.map(|file| {
        let mut name = file.as_os_str().to_owned();
        name.push(".part");
        PathBuf::from(name)
    });
    let writer: Box<dyn Write> = match &part {
        Some(part) => Box::new(
            std::fs::File::create(part)
                .map_err(|e| format!("error: cannot write {}: {e}", part.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = Export::start(std::io::BufWriter::new(writer), format)
        .map_err(|e| format!("error: cannot write the export: {e}"))?;
    match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(export_from(&store, &mut sink))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            export_from(&store, &mut sink).await
        }),
    }?;
    let count = sink
        .finish()
        .map_err(|e| format!("error: cannot write the export: {e}"))?;
    if let (Some(part), Some(file)) = (&part, out) {
        std::fs::rename(part, file)
            .map_err(|e| format!("error: cannot write {}: {e}", file.display()))?;
    }
    eprintln!("{count} supporter(s) exported");
    Ok(())
}

/// Every supporter (pending ones past their expiry left out) with their
/// consent history, by address, into `sink` one at a time: memory holds
/// the addresses, not the people.
async fn export_from<S: Store, W: Write>(store: &S, sink: &mut Export<W>) -> Result<(), String> {
    let failed = |e: StoreError| format!("error: {e}");
    let now = jiff::Timestamp::now();
    let mut emails = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(after, 1_000, now).await.map_err(failed)?;
        emails.extend(page.items.into_iter().map(|m| m.email));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    emails.sort();
    for email in emails {
        // Deleted between the walk and this read: not exported.
        if let Some(supporter) = store.supporter(&email).await.map_err(failed)? {
            let consents = store.consents(&email).await.map_err(failed)?;
            sink.person(&supporter, &consents)
                .map_err(|e| format!("error: cannot write the export: {e}"))?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    /// People, tags and taggings in the shapes of OSDI 1.x (see
    /// [`osdi_person`]).
    Osdi,
}

/// An export being written. OSDI's tags and taggings follow the people,
/// so the (address, label) pairs are kept until the end.
struct Export<W: Write> {
    out: W,
    format: Format,
    count: usize,
    taggings: Vec<(String, String)>,
}

impl<W: Write> Export<W> {
    /// Writes what comes before the people: the CSV header, or the
    /// opening of OSDI's list of people.
    fn start(mut out: W, format: Format) -> std::io::Result<Export<W>> {
        match format {
            Format::Csv => write!(out, "{}\r\n", COLUMNS.join(","))?,
            Format::Osdi => out.write_all(b"{\n\"osdi:people\": [")?,
        }
        Ok(Export {
            out,
            format,
            count: 0,
            taggings: Vec::new(),
        })
    }

    fn person(&mut self, s: &Supporter, consents: &[ConsentRecord]) -> std::io::Result<()> {
        match self.format {
            Format::Csv => write!(self.out, "{}\r\n", csv_row(s, consents))?,
            Format::Osdi => {
                let before: &[u8] = if self.count == 0 { b"\n" } else { b",\n" };
                self.out.write_all(before)?;
                serde_json::to_writer_pretty(&mut self.out, &osdi_person(s, consents))?;
                // Interests (from the forms) and tags (from imported
                // files) are both OSDI tags.
                for label in s.interests.iter().chain(&s.tags) {
                    self.taggings.push((s.email.clone(), label.clone()));
                }
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Ends the export; how many people it holds.
    fn finish(mut self) -> std::io::Result<usize> {
        match self.format {
            Format::Csv => {}
            Format::Osdi => {
                self.out.write_all(b"\n],\n")?;
                let tags: std::collections::BTreeSet<&str> = self
                    .taggings
                    .iter()
                    .map(|(_, label)| label.as_str())
                    .collect();
                let tags: Vec<Value> = tags
                    .into_iter()
                    .map(|name| json!({ "identifiers": [format!("estrade:{name}")], "name": name }))
                    .collect();
                self.out.write_all(b"\"osdi:tags\": ")?;
                serde_json::to_writer_pretty(&mut self.out, &tags)?;
                self.out.write_all(b",\n\"osdi:taggings\": [")?;
                for (n, (email, label)) in self.taggings.iter().enumerate() {
                    self.out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
                    let tagging = json!({
                        "identifiers": [format!("estrade:{email}:{label}")],
                        "osdi:tag": label,
                        "osdi:person": format!("estrade:{email}"),
                    });
                    serde_json::to_writer(&mut self.out, &tagging)?;
                }
                self.out.write_all(b"\n]\n}\n")?;
            }
        }
        self.out.flush()?;
        Ok(self.count)
    }
}

/// The columns of the CSV export.
pub const COLUMNS: [&str; 24] = [
    "email",
    "status",
    "first_name",
    "last_name",
    "phone",
    "sms",
    "postcode",
    "country",
    "interests",
    "skills",
    "availability",
    "volunteer",
    "recruiter",
    "created_at",
    "updated_at",
    "address",
    "city",
    "region",
    "other_phones",
    "tags",
    "external_ids",
    "consent_given_at",
    "consent_form",
    "consent_text_sha256",
];

/// One supporter's row of the CSV export.
fn csv_row(s: &Supporter, consents: &[ConsentRecord]) -> String {
    use crate::donations::csv_field;
    let first_given = consents
        .iter()
        .find(|c| matches!(c.action, ConsentAction::Given | ConsentAction::Imported));
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().map(String::as_str).collect::<Vec<_>>().join(";")
    };
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let address = s.address.as_ref();
    let row = [
        s.email.clone(),
        s.status.as_str().to_owned(),
        s.first_name.clone().unwrap_or_default(),
        s.last_name.clone().unwrap_or_default(),
        s.phone.clone().unwrap_or_default(),
        yes(s.sms),
        s.postcode.clone().unwrap_or_default(),
        s.country.clone().unwrap_or_default(),
        join(&s.interests),
        join(&s.skills),
        s.availability.clone().unwrap_or_default(),
        yes(s.volunteer),
        s.recruiter.clone().unwrap_or_default(),
        s.created_at.to_string(),
        s.updated_at.to_string(),
        address.map(|a| a.lines.join("\n")).unwrap_or_default(),
        address.and_then(|a| a.city.clone()).unwrap_or_default(),
        address.and_then(|a| a.region.clone()).unwrap_or_default(),
        join(&s.other_phones),
        join(&s.tags),
        s.external_ids
            .iter()
            .map(|(system, id)| format!("{system}:{id}"))
            .collect::<Vec<_>>()
            .join(";"),
        first_given.map(|c| c.at.to_string()).unwrap_or_default(),
        first_given.map(|c| c.form.clone()).unwrap_or_default(),
        first_given.map(|c| c.text_hash.clone()).unwrap_or_default(),
    ];
    let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
    fields.join(",")
}

/// OSDI's email status for a supporter's.
fn osdi_status(status: estrade_domain::supporter::EmailStatus) -> &'static str {
    use estrade_domain::supporter::EmailStatus::*;
    match status {
        Confirmed => "subscribed",
        // Not confirmed yet: no consent to write to them.
        Pending | Unsubscribed => "unsubscribed",
        Bounced => "bouncing",
        Complained => "spam complaint",
    }
}

/// A person in the shape of OSDI 1.x: the person's fields where OSDI has
/// one, the rest (and the consent history) under `custom_fields` and
/// `estrade:consents`; ids from imported files among the person's
/// identifiers (`nationbuilder:1234`). Each interest and tag is an OSDI
/// tag, and each supporter's a tagging ([`Export::finish`]).
fn osdi_person(s: &Supporter, consents: &[ConsentRecord]) -> Value {
    let mut identifiers = vec![format!("estrade:{}", s.email)];
    identifiers.extend(
        s.external_ids
            .iter()
            .map(|(system, id)| format!("{system}:{id}")),
    );
    let mut person = json!({
        "identifiers": identifiers,
        "given_name": s.first_name,
        "family_name": s.last_name,
        "created_date": s.created_at,
        "modified_date": s.updated_at,
        "email_addresses": [{
            "address": s.email,
            "primary": true,
            "status": osdi_status(s.status),
        }],
        "custom_fields": {
            "estrade_status": s.status.as_str(),
            "volunteer": s.volunteer,
            "skills": s.skills,
            "availability": s.availability,
            "recruiter": s.recruiter,
        },
        "estrade:consents": consents,
    });
    let mut phones: Vec<Value> = s
        .phone
        .iter()
        .map(|phone| json!({ "number": phone, "primary": true, "sms_capable": s.sms }))
        .collect();
    phones.extend(
        s.other_phones
            .iter()
            .map(|phone| json!({ "number": phone, "primary": false })),
    );
    if !phones.is_empty() {
        person["phone_numbers"] = Value::Array(phones);
    }
    if s.postcode.is_some() || s.country.is_some() || s.address.is_some() {
        let address = s.address.clone().unwrap_or_default();
        person["postal_addresses"] = json!([{
            "address_lines": address.lines,
            "locality": address.city,
            "region": address.region,
            "postal_code": s.postcode,
            "country": s.country,
            "primary": true,
        }]);
    }
    person
}

fn forget(args: &PeopleArgs, email: &str, yes: bool) -> Result<(), String> {
    let email = estrade_domain::validate::email(email.trim())
        .ok_or_else(|| format!("error: `{email}` is not an email address"))?;
    let capacities = capacities(args)?;
    let runtime = runtime()?;
    let now = jiff::Timestamp::now();
    let outbox = crate::functions::DataDir::new(&args.store.root).outbox();
    let (record, erased, already) = match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(erase(&store, &email, &capacities, now, yes))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            erase(&store, &email, &capacities, now, yes).await
        }),
    }?;
    let count = |key: &str| record[key].as_array().map_or(0, Vec::len);
    let copies: Vec<String> = estrade_functions::outbox::list(&outbox)
        .map_err(|e| format!("error: cannot read {}: {e}", outbox.display()))?
        .into_iter()
        .filter(|entry| entry.to.eq_ignore_ascii_case(&email))
        .map(|entry| entry.file_name)
        .collect();
    let Some(erased) = erased else {
        println!(
            "{email}: {}, {} consent record(s), {} registration(s), {} outbox cop(ies){}",
            if record["supporter"].is_null() {
                "no supporter record"
            } else {
                "a supporter record"
            },
            count("consents"),
            count("rsvps"),
            copies.len(),
            already
                .map(|at| format!("; erased before, on {at}"))
                .unwrap_or_default()
        );
        return Err(
            "error: nothing erased: run again with --yes to erase them (this cannot be undone)"
                .to_owned(),
        );
    };
    for file in &copies {
        std::fs::remove_file(outbox.join(file))
            .map_err(|e| format!("error: cannot remove {}: {e}", outbox.join(file).display()))?;
    }
    println!(
        "erased {email}: {} supporter record, {} consent record(s), {} registration(s) (seats \
         passed to the next in line), {} queued email(s), {} outbox cop(ies)",
        if erased.supporter { "the" } else { "no" },
        erased.consents,
        erased.rsvps,
        erased.queued,
        copies.len()
    );
    if count("gifts") > 0 {
        println!(
            "kept: {} gift(s) and the identity given with them, which the campaign's accounts \
             must keep by law",
            count("gifts")
        );
    }
    println!("a salted hash of the address stays on the suppression list, dated {now}");
    Ok(())
}

/// What is held on `email`, and with `yes` the erasure itself.
async fn erase<S: Store>(
    store: &S,
    email: &str,
    capacities: &BTreeMap<String, Option<u32>>,
    at: jiff::Timestamp,
    yes: bool,
) -> Result<(Value, Option<Erased>, Option<jiff::Timestamp>), String> {
    let record = record_of(store, email).await?;
    let already = store
        .forgotten(email)
        .await
        .map_err(|e| format!("error: {e}"))?;
    if !yes {
        return Ok((record, None, already));
    }
    let erased = estrade_functions::people::forget(store, email, capacities, at)
        .await
        .map_err(|e| format!("error: {e}"))?;
    Ok((record, Some(erased), already))
}

/// The events' capacities, for the seats an erasure frees, from a build of
/// the site.
fn capacities(args: &PeopleArgs) -> Result<BTreeMap<String, Option<u32>>, String> {
    let site = estrade_site::Site::load(&args.store.root, estrade_site::SiteOptions::default())
        .map_err(|report| report.to_string())?;
    let output = estrade_site::output::MemoryOutput::default();
    site.render(&output, None)
        .map_err(|report| report.to_string())?;
    let manifest = crate::functions::manifest_of(&output)
        .ok_or_else(|| "error: the build left no manifest of its events".to_owned())?;
    Ok(manifest
        .events
        .iter()
        .map(|event| (event.id.clone(), event.capacity))
        .collect())
}

fn purge(args: &PeopleArgs, yes: bool) -> Result<(), String> {
    let config = args.store.config()?;
    let Some(days) = config.retention.inactive_days else {
        return Err(
            "error: campaign.yaml sets no retention: add `retention: { inactive_days: 365 }` \
             (or the campaign's own period) to erase supporters inactive that long"
                .to_owned(),
        );
    };
    let capacities = if yes {
        capacities(args)?
    } else {
        BTreeMap::new()
    };
    let now = jiff::Timestamp::now();
    let cutoff = now - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let runtime = runtime()?;
    let erased = match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(purge_in(&store, cutoff, &capacities, now, yes))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            purge_in(&store, cutoff, &capacities, now, yes).await
        }),
    }?;
    if yes {
        println!(
            "erased {} supporter(s) who sent no form since {cutoff} ({days} days)",
            erased.len()
        );
        return Ok(());
    }
    println!(
        "{} supporter(s) sent no form since {cutoff} ({days} days):",
        erased.len()
    );
    for email in erased.iter().take(20) {
        println!("  {email}");
    }
    if erased.len() > 20 {
        println!("  ...");
    }
    Err(
        "error: nothing erased: run again with --yes to erase them (this cannot be undone)"
            .to_owned(),
    )
}

/// The supporters whose last form is older than `cutoff`, erased with
/// `yes`.
async fn purge_in<S: Store>(
    store: &S,
    cutoff: jiff::Timestamp,
    capacities: &BTreeMap<String, Option<u32>>,
    now: jiff::Timestamp,
    yes: bool,
) -> Result<Vec<String>, String> {
    let failed = |e: StoreError| format!("error: {e}");
    let mut inactive = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(after, 1_000, now).await.map_err(failed)?;
        for member in page.items {
            let supporter = store.supporter(&member.email).await.map_err(failed)?;
            if supporter.is_some_and(|s| s.updated_at < cutoff) {
                inactive.push(member.email);
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    inactive.sort();
    if yes {
        for email in &inactive {
            estrade_functions::people::forget(store, email, capacities, now)
                .await
                .map_err(failed)?;
        }
    }
    Ok(inactive)
}
