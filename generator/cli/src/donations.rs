//! `estrade donations export|summary`: the gifts the webhook recorded,
//! for the campaign's accounts, from the store of `estrade serve` or a
//! DynamoDB table (`--table`, or `ESTRADE_TABLE`).

use crate::broadcast::{StoreArgs, Where, dynamo, local_store, runtime};
use clap::{Args, Subcommand};
use estrade_domain::CampaignConfig;
use estrade_domain::donation::Donor;
use estrade_functions::gifts::{Gift, GiftStatus};
use estrade_functions::store::Store;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct DonationsArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum Action {
    /// Every gift as CSV, one row per payment, oldest first, with what a
    /// receipt and the campaign's accounts need.
    Export {
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only the gifts of this election (default: every one).
        #[arg(long)]
        election: Option<String>,
    },
    /// Totals: gifts counted, refunded, and those over the cap that must
    /// be paid back.
    Summary,
}

/// The columns of the export, in order.
pub const COLUMNS: [&str; 22] = [
    "receipt_number",
    "date",
    "received_at",
    "election",
    "status",
    "amount",
    "refunded",
    "counted",
    "currency",
    "frequency",
    "last_name",
    "first_name",
    "birth_date",
    "address",
    "postcode",
    "city",
    "country",
    "email",
    "phone",
    "payment",
    "payment_intent",
    "stripe_event",
];

pub fn donations(args: &DonationsArgs) -> Result<(), String> {
    let config = args.store.config()?;
    let runtime = runtime()?;
    let (gifts, donors) = match args.store.place() {
        Where::Local(file) => {
            let store = local_store(&file)?;
            runtime.block_on(read_all(&store))
        }
        Where::Dynamo(table) => runtime.block_on(async {
            let store = dynamo(&table).await?;
            read_all(&store).await
        }),
    }?;
    match &args.action {
        Action::Export { out, election } => {
            let gifts: Vec<&Gift> = gifts
                .iter()
                .filter(|g| election.as_ref().is_none_or(|e| &g.election == e))
                .collect();
            let csv = export(&gifts, &donors, &config);
            match out {
                Some(file) => std::fs::write(file, csv)
                    .map_err(|e| format!("error: cannot write {}: {e}", file.display()))?,
                None => std::io::stdout()
                    .write_all(csv.as_bytes())
                    .map_err(|e| format!("error: cannot write the export: {e}"))?,
            }
            eprintln!("{} gift(s) exported", gifts.len());
        }
        Action::Summary => print!("{}", summary(&gifts, &config)),
    }
    Ok(())
}

/// Every gift, oldest first, and the donors they name.
async fn read_all<S: Store>(store: &S) -> Result<(Vec<Gift>, HashMap<String, Donor>), String> {
    let failed = |e| format!("error: {e}");
    let mut gifts = Vec::new();
    let mut after = None;
    loop {
        let page = store.gifts(after, 1_000).await.map_err(failed)?;
        gifts.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    gifts.sort_by(|a, b| (a.at, &a.payment).cmp(&(b.at, &b.payment)));
    let mut donors = HashMap::new();
    for gift in &gifts {
        if !donors.contains_key(&gift.donor)
            && let Some(donor) = store.donor(&gift.donor).await.map_err(failed)?
        {
            donors.insert(gift.donor.clone(), donor);
        }
    }
    Ok((gifts, donors))
}

/// `12345` cents as `123.45`: what spreadsheets and accounting software
/// read in every locale's import dialog.
fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
/// line break. A field a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return first: a donor may type anything
/// in their name) is prefixed with `'` so it stays text.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

pub fn export(gifts: &[&Gift], donors: &HashMap<String, Donor>, config: &CampaignConfig) -> String {
    let zone = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut csv = COLUMNS.join(",");
    csv.push_str("\r\n");
    for gift in gifts {
        let donor = donors.get(&gift.donor);
        let of = |f: fn(&Donor) -> &str| donor.map(f).unwrap_or_default().to_owned();
        let row = [
            gift.receipt
                .map(|n| format!("{}-{n:06}", gift.election))
                .unwrap_or_default(),
            zone.to_datetime(gift.at).date().to_string(),
            gift.at.to_string(),
            gift.election.clone(),
            gift.status.as_str().to_owned(),
            decimal(gift.amount),
            decimal(gift.refunded),
            decimal(gift.counted()),
            gift.currency.to_ascii_uppercase(),
            gift.frequency.as_str().to_owned(),
            of(|d| &d.last_name),
            of(|d| &d.first_name),
            of(|d| &d.birth_date),
            of(|d| &d.address),
            of(|d| &d.postcode),
            of(|d| &d.city),
            of(|d| &d.country),
            of(|d| &d.email),
            donor.and_then(|d| d.phone.clone()).unwrap_or_default(),
            gift.payment.clone(),
            gift.payment_intent.clone().unwrap_or_default(),
            gift.event.clone(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&fields.join(","));
        csv.push_str("\r\n");
    }
    csv
}

pub fn summary(gifts: &[Gift], config: &CampaignConfig) -> String {
    let currency = &config.donations.currency;
    let lang = &config.language;
    let money = |cents| estrade_domain::donation::money(cents, currency, lang);
    let of = |status| gifts.iter().filter(move |g: &&Gift| g.status == status);
    let counted: i64 = gifts.iter().map(Gift::counted).sum();
    let refunded: i64 = gifts.iter().map(|g| g.refunded).sum();
    let over: Vec<&Gift> = of(GiftStatus::OverCap).collect();
    let donors: std::collections::BTreeSet<&str> =
        of(GiftStatus::Counted).map(|g| g.donor.as_str()).collect();
    let mut out = format!(
        "{} gift(s) counted from {} donor(s): {}\n{} refunded\n",
        of(GiftStatus::Counted).count(),
        donors.len(),
        money(counted),
        money(refunded),
    );
    if over.is_empty() {
        out.push_str("no gift over the cap\n");
    } else {
        out.push_str(&format!(
            "{} gift(s) over the cap, to pay back ({}): refund them in Stripe's dashboard\n",
            over.len(),
            money(over.iter().map(|g| g.amount).sum())
        ));
        for gift in over {
            out.push_str(&format!("  {} {}\n", gift.payment, money(gift.amount)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use estrade_domain::donation::Frequency;

    #[test]
    fn hostile_names_stay_text_in_a_spreadsheet() {
        assert_eq!(csv_field("Dupont"), "Dupont");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+33 6"), "'+33 6");
        assert_eq!(csv_field("12, rue \"Haute\""), "\"12, rue \"\"Haute\"\"\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(decimal(460_000), "4600.00");
        assert_eq!(decimal(5), "0.05");
    }

    #[test]
    fn every_gift_is_one_row_with_its_donor() {
        let config: CampaignConfig = serde_json::from_value(serde_json::json!({
            "title": "T", "base_url": "https://t.example", "language": "fr",
            "timezone": "Europe/Paris"
        }))
        .unwrap();
        let gift = Gift {
            payment: "pi_1".into(),
            payment_intent: Some("pi_1".into()),
            event: "evt_1".into(),
            election: "leg-2027".into(),
            period: "leg-2027".into(),
            donor: "k".into(),
            amount: 5_000,
            refunded: 1_000,
            currency: "eur".into(),
            frequency: Frequency::Once,
            // 23:30 UTC is half past midnight the next day in Paris.
            at: "2027-03-01T23:30:00Z".parse().unwrap(),
            status: GiftStatus::Counted,
            receipt: Some(7),
        };
        let donor = Donor {
            first_name: "Élise".into(),
            last_name: "=cmd".into(),
            birth_date: "1980-04-02".into(),
            address: "12, rue des Lilas".into(),
            postcode: "59300".into(),
            city: "Valenciennes".into(),
            country: "FR".into(),
            email: "elise@example.org".into(),
            phone: None,
        };
        let donors = HashMap::from([("k".to_owned(), donor)]);
        let csv = export(&[&gift], &donors, &config);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "leg-2027-000007,2027-03-02,2027-03-01T23:30:00Z,leg-2027,counted,50.00,10.00,40.00,EUR,once,\
             '=cmd,Élise,1980-04-02,\"12, rue des Lilas\",59300,Valenciennes,FR,elise@example.org,,pi_1,pi_1,evt_1"
        );
        assert_eq!(lines.len(), 3);
        let text = summary(&[gift], &config);
        assert!(
            text.starts_with("1 gift(s) counted from 1 donor(s): 40,00"),
            "{text}"
        );
        assert!(text.contains("no gift over the cap"), "{text}");
    }
}
