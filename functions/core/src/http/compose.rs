//! The emails of the form functions, filled for one supporter.

use super::*;

/// The places of an email template, for one supporter.
pub(super) fn places(
    settings: &Settings,
    supporter: &Supporter,
    now: Timestamp,
) -> BTreeMap<&'static str, String> {
    let config = &settings.manifest.config;
    let lang = settings.lang();
    let hello = match &supporter.first_name {
        Some(name) => Says::HelloName.text(lang).replace("{}", name),
        None => Says::Hello.text(lang).to_owned(),
    };
    let confirm = settings.keys.sign(
        Purpose::Confirm,
        &Claims {
            subject: supporter.email.clone(),
            detail: String::new(),
            expires: Some(now + SignedDuration::from_hours(7 * 24)),
        },
    );
    let unsubscribe = settings.keys.sign(
        Purpose::Unsubscribe,
        &Claims {
            subject: supporter.email.clone(),
            detail: String::new(),
            expires: None,
        },
    );
    BTreeMap::from([
        ("hello", hello),
        (
            "first_name",
            supporter.first_name.clone().unwrap_or_default(),
        ),
        ("site_title", config.title.clone()),
        (
            "site_url",
            settings.site_url.trim_end_matches('/').to_owned(),
        ),
        (
            "signature",
            config
                .candidate
                .as_ref()
                .and_then(|c| c.signature.clone().or(Some(c.name.clone())))
                .unwrap_or_else(|| config.title.clone()),
        ),
        (
            "confirm_url",
            format!("{}?token={confirm}", settings.api("confirm")),
        ),
        (
            "share_url",
            format!(
                "{}/?ref={}",
                settings.site_url.trim_end_matches('/'),
                settings.keys.share_code(&supporter.email)
            ),
        ),
        (
            "unsubscribe_url",
            format!("{}?token={unsubscribe}", settings.api("unsubscribe")),
        ),
    ])
}

/// Renders email `template` for `supporter`; `None` when the build has no
/// such email (then `estrade check` has said so already).
pub(crate) fn compose(
    settings: &Settings,
    template: &str,
    supporter: &Supporter,
    event: Option<&estrade_domain::Event>,
    now: Timestamp,
    attachments: Vec<Attachment>,
) -> Option<Email> {
    settings.manifest.emails.get(template)?;
    let mut values = places(settings, supporter, now);
    if let Some(event) = event {
        let local = event.local_start();
        values.insert("event_title", event.title.clone());
        values.insert("event_date", describe_time(&local, settings.lang()));
        let online = if settings.lang() == "fr" {
            "En ligne"
        } else {
            "Online"
        };
        let place = event.place();
        let place = if place.is_empty() && event.online_url.is_some() {
            online.to_owned()
        } else {
            place
        };
        values.insert("event_place", place);
        values.insert(
            "event_online_url",
            event.online_url.clone().unwrap_or_default(),
        );
        values.insert(
            "event_url",
            format!("{}{}", settings.site_url.trim_end_matches('/'), event.id),
        );
        let cancel = settings.keys.sign(
            Purpose::CancelRsvp,
            &Claims {
                subject: supporter.email.clone(),
                detail: event.id.clone(),
                expires: Some(event.end),
            },
        );
        values.insert(
            "cancel_url",
            format!("{}?token={cancel}", settings.api("rsvp/cancel")),
        );
    }
    if estrade_domain::manifest::places_of(template).contains(&"nearest_events") {
        let home = estrade_domain::audience::Location::of(
            supporter.country.as_deref(),
            supporter.postcode.as_deref(),
        )
        .map(|location| location.point);
        let events = &settings.manifest.events;
        let nearest = estrade_domain::manifest::nearest_events(events, home, now, 3);
        values.insert(
            "nearest_events",
            estrade_domain::manifest::list_events(&nearest, settings.lang()),
        );
    }
    Some(fill(settings, template, supporter, &values, attachments))
}

/// The receipt of a counted gift, to the donor as they wrote on the form.
pub(crate) fn compose_receipt(
    settings: &Settings,
    gift: &crate::gifts::Gift,
    donor: &estrade_domain::donation::Donor,
    now: Timestamp,
) -> Option<Email> {
    use estrade_domain::donation::{Frequency, money};
    const TEMPLATE: &str = "donation-receipt";
    settings.manifest.emails.get(TEMPLATE)?;
    let lang = settings.lang();
    let config = &settings.manifest.config;
    let supporter = Supporter::new(
        SupporterUpdate {
            email: donor.email.clone(),
            first_name: Some(donor.first_name.clone()),
            last_name: Some(donor.last_name.clone()),
            ..SupporterUpdate::default()
        },
        EmailStatus::Confirmed,
        now,
    );
    let mut values = places(settings, &supporter, now);
    let zone = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = zone.to_datetime(gift.at);
    let frequency = match (gift.frequency, lang == "fr") {
        (Frequency::Once, true) => "ponctuel",
        (Frequency::Once, false) => "one-off",
        (Frequency::Monthly, true) => "mensuel",
        (Frequency::Monthly, false) => "monthly",
    };
    values.extend([
        (
            "receipt_number",
            format!("{}-{:06}", gift.election, gift.receipt.unwrap_or(0)),
        ),
        ("gift_amount", money(gift.amount, &gift.currency, lang)),
        (
            "gift_date",
            estrade_domain::dates::format(local, "long", lang)
                .unwrap_or_else(|| local.date().to_string()),
        ),
        ("gift_frequency", frequency.to_owned()),
        (
            "donor_name",
            format!("{} {}", donor.first_name, donor.last_name),
        ),
        (
            "donor_address",
            format!(
                "{}, {} {}, {}",
                donor.address, donor.postcode, donor.city, donor.country
            ),
        ),
        ("donor_birth_date", donor.birth_date.clone()),
        (
            "agent",
            config
                .donations
                .agent
                .clone()
                .unwrap_or_else(|| config.title.clone()),
        ),
    ]);
    Some(fill(settings, TEMPLATE, &supporter, &values, Vec::new()))
}

/// The email of `template` for `supporter`, its places filled.
fn fill(
    settings: &Settings,
    template: &str,
    supporter: &Supporter,
    values: &BTreeMap<&'static str, String>,
    attachments: Vec<Attachment>,
) -> Email {
    let empty = estrade_domain::manifest::EmailTemplate::default();
    let template_body = settings.manifest.emails.get(template).unwrap_or(&empty);
    let filled = template_body.fill(values);
    let config = &settings.manifest.config;
    let marketing = estrade_domain::manifest::is_marketing(template);
    Email {
        to: supporter.email.clone(),
        to_name: supporter.first_name.clone(),
        from_address: config.email.from_address.clone(),
        from_name: template_body
            .from_name
            .clone()
            .or_else(|| config.email.from_name.clone())
            .or_else(|| config.candidate.as_ref().map(|c| c.name.clone())),
        reply_to: template_body
            .reply_to
            .clone()
            .or_else(|| config.email.reply_to.clone()),
        subject: filled.subject,
        html: filled.html,
        text: filled.text,
        unsubscribe_url: marketing
            .then(|| values.get("unsubscribe_url").cloned())
            .flatten(),
        attachments,
        broadcast: None,
    }
}

pub(super) fn describe_time(local: &jiff::ZonedDateTime, lang: &str) -> String {
    let civil = local.datetime();
    estrade_domain::dates::format(civil, "datetime", lang).unwrap_or_else(|| civil.to_string())
}

pub(super) fn ics(
    settings: &Settings,
    event: &estrade_domain::Event,
    now: Timestamp,
) -> Attachment {
    let host = origin_of(&settings.manifest.config.base_url)
        .split("://")
        .nth(1)
        .unwrap_or("estrade")
        .to_owned();
    let slug = estrade_domain::text::slugify(&event.id);
    Attachment {
        file_name: format!("{}.ics", if slug.is_empty() { "event" } else { &slug }),
        content_type: "text/calendar; charset=utf-8; method=PUBLISH".to_owned(),
        bytes: estrade_domain::ics::calendar(&event.title, &host, &[event], now).into_bytes(),
    }
}
