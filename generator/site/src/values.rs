//! What templates see of pages, sections and events (see themes/README.md).

use crate::content::{Page, Section};
use crate::site::Site;
use estrade_domain::{CampaignConfig, Event};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

/// RFC 3339 with the offset of `zone`.
pub fn rfc3339(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

pub fn tag_path(slug: &str) -> String {
    format!("/tags/{slug}/")
}

/// Path of an event's own `.ics` file: `/agenda/reunion/reunion.ics`.
pub fn ics_path(page_path: &str) -> String {
    let slug = page_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("event");
    let slug = if slug.is_empty() { "event" } else { slug };
    format!("{page_path}{slug}.ics")
}

pub fn event_value(event: &Event, now: Timestamp) -> Value {
    let zone = event.zone();
    json!({
        "id": event.id,
        "start": rfc3339(event.start, &zone),
        "end": rfc3339(event.end, &zone),
        "timezone": event.timezone,
        "venue": event.venue,
        "address": event.address,
        "postcode": event.postcode,
        "city": event.city,
        "country": event.country,
        "coordinates": event.coordinates.map(|c| json!({"lat": c.lat, "lon": c.lon})),
        "capacity": event.capacity,
        "rsvp": event.rsvp,
        "online_url": event.online_url,
        "place": event.place(),
        "ics_path": ics_path(&event.id),
        "is_past": event.is_past(now),
    })
}

/// A page for templates; `full` adds `content` and `toc`.
pub fn page_value(page: &Page, site: &Site, full: bool) -> Value {
    let section = &site.content.sections[page.section];
    let (config, zone, now) = (&*site.config, &site.zone, site.options.now);
    let words = page.rendered.word_count;
    let mut map = Map::new();
    map.insert("title".into(), page.front.title.clone().into());
    map.insert(
        "description".into(),
        page.front.description.clone().unwrap_or_default().into(),
    );
    map.insert("path".into(), page.path.clone().into());
    map.insert("section_path".into(), section.path.clone().into());
    map.insert("section_title".into(), section.front.title.clone().into());
    map.insert("permalink".into(), config.permalink(&page.path).into());
    map.insert("kind".into(), json!(page.kind));
    map.insert("date".into(), page.date.map(|t| rfc3339(t, zone)).into());
    map.insert(
        "updated".into(),
        page.updated.map(|t| rfc3339(t, zone)).into(),
    );
    map.insert(
        "tags".into(),
        page.tags
            .iter()
            .map(|t| json!({"name": t.name, "slug": t.slug, "path": tag_path(&t.slug)}))
            .collect(),
    );
    map.insert("summary".into(), page.rendered.summary.clone().into());
    map.insert("word_count".into(), words.into());
    map.insert("reading_time".into(), words.div_ceil(200).max(1).into());
    map.insert("image".into(), page.front.image.clone().into());
    map.insert("weight".into(), page.front.weight.into());
    map.insert("draft".into(), page.front.draft.into());
    map.insert("extra".into(), json!(page.front.extra));
    map.insert(
        "event".into(),
        page.event
            .as_ref()
            .map_or(Value::Null, |e| event_value(e, now)),
    );
    if full {
        map.insert("content".into(), page.rendered.html.clone().into());
        map.insert("toc".into(), json!(page.rendered.toc));
    }
    Value::Object(map)
}

pub fn section_value(section: &Section, config: &CampaignConfig) -> Value {
    json!({
        "title": section.front.title,
        "description": section.front.description.clone().unwrap_or_default(),
        "path": section.path,
        "permalink": config.permalink(&section.path),
        "kind": section.front.kind,
        "content": section.rendered.html,
        "extra": section.front.extra,
        "page_count": section.pages.len(),
    })
}

/// Path of listing page `number` (from 1) of a list at `base`.
pub fn pager_path(base: &str, number: usize) -> String {
    if number <= 1 {
        base.to_owned()
    } else {
        format!("{base}page/{number}/")
    }
}

pub fn paginator(base: &str, pages: Vec<Value>, number: usize, total: usize) -> Value {
    let link = |n: usize| -> Value {
        if n >= 1 && n <= total {
            Value::String(pager_path(base, n))
        } else {
            Value::Null
        }
    };
    json!({
        "pages": pages,
        "number": number,
        "total_pages": total,
        "previous": link(number.wrapping_sub(1)),
        "next": link(number + 1),
        "first": link(1),
        "last": link(total),
    })
}
