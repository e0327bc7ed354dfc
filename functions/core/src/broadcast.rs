//! Broadcasts: one email sent to everyone in its audience, at its
//! `send_at`. The audience is resolved against the store by walking every
//! supporter ([`Store::members`]), and each recipient becomes one queue
//! item (`cast:<broadcast>:<email>`), which the scheduled sender
//! ([`crate::sender`]) sends when due. The item's id is what it is, so
//! queueing a broadcast again adds only the supporters who joined its
//! audience since.

use crate::http::Settings;
use crate::http::compose::compose;
use crate::mailer::Email;
use crate::queue::{Outgoing, Source};
use crate::store::{Member, Store, StoreResult};
use estrade_domain::Event;
use estrade_domain::audience::{AudienceFilter, Facts, Location};
use estrade_domain::supporter::{EmailStatus, RsvpStatus, Supporter};
use jiff::Timestamp;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Supporters read from the store per call.
pub const PAGE: usize = 5_000;

/// Queue items written per call to the store.
pub const BATCH: usize = 1_000;

/// Who an audience is, out of everyone in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Every supporter walked.
    pub supporters: usize,
    /// Left out by their status alone (unsubscribed, bounced,
    /// complained, or unconfirmed where the audience wants confirmed),
    /// by status.
    pub excluded_by_status: Vec<(EmailStatus, usize)>,
    /// Of a status the audience admits, but outside its other keys (tags,
    /// places, dates, events).
    pub outside: usize,
    /// The recipients' addresses, in the store's order.
    pub recipients: Vec<String>,
}

/// Places by postcode: the gazetteer's answer allocates, and a million
/// supporters live in a few thousand postcodes.
#[derive(Default)]
struct Places {
    french: HashMap<String, Option<Location>>,
}

impl Places {
    fn of(&mut self, member: &Member) -> Option<Location> {
        let postcode = member.postcode.as_deref()?;
        let french = member
            .country
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case("FR"));
        if !french {
            return Location::of(member.country.as_deref(), Some(postcode));
        }
        if let Some(known) = self.french.get(postcode) {
            return *known;
        }
        let found = Location::of(None, Some(postcode));
        self.french.insert(postcode.to_owned(), found);
        found
    }
}

/// The count so far of a walk through the supporters.
struct Tally<'a> {
    filter: &'a AudienceFilter,
    attended: &'a HashMap<String, Vec<String>>,
    /// The addresses of donors with a counted gift.
    givers: &'a HashSet<String>,
    places: Places,
    by_status: HashMap<EmailStatus, usize>,
    resolved: Resolved,
}

impl Tally<'_> {
    fn add(&mut self, members: &[Member]) {
        for member in members {
            self.resolved.supporters += 1;
            if !self.filter.admits_status(member.status) {
                *self.by_status.entry(member.status).or_default() += 1;
                continue;
            }
            let location = self.places.of(member);
            let facts = Facts {
                status: member.status,
                interests: &member.interests,
                tags: &member.tags,
                created_at: member.created_at,
                point: location.map(|l| l.point),
                postcode: member.postcode.as_deref(),
                insee: location.map(|l| l.insee),
                departement: location.map(|l| l.departement),
                attended: self.attended.get(&member.email).map_or(&[], Vec::as_slice),
                gave: self.givers.contains(&member.email),
                upcoming_rsvp: false,
            };
            if self.filter.matches(&facts) {
                self.resolved.recipients.push(member.email.clone());
            } else {
                self.resolved.outside += 1;
            }
        }
    }
}

/// Every supporter `filter` admits, walking the store a page at a time.
/// `events` (the build's) tell which events are over: a supporter
/// attended an event when they held a seat at it and it has ended.
pub async fn resolve<S: Store>(
    store: &S,
    filter: &AudienceFilter,
    events: &[Event],
    now: Timestamp,
) -> StoreResult<Resolved> {
    let attended = if filter.reads_attendance() {
        attendance(store, events, now).await?
    } else {
        HashMap::new()
    };
    let givers = if filter.reads_gifts() {
        givers(store).await?
    } else {
        HashSet::new()
    };
    let mut tally = Tally {
        filter,
        attended: &attended,
        givers: &givers,
        places: Places::default(),
        by_status: HashMap::new(),
        resolved: Resolved::default(),
    };
    let mut page = store.members(None, PAGE, now).await?;
    loop {
        // The next page is read (on the store's side: a blocking thread,
        // the network) while this one is tested.
        let after = page.next.take();
        let fetch = async {
            match after {
                Some(after) => store.members(Some(after), PAGE, now).await.map(Some),
                None => Ok(None),
            }
        };
        let test = async { tally.add(&page.items) };
        let (fetched, ()) = tokio::join!(fetch, test);
        match fetched? {
            Some(next) => page = next,
            None => break,
        }
    }
    let Tally {
        by_status,
        mut resolved,
        ..
    } = tally;
    let mut by_status: Vec<(EmailStatus, usize)> = by_status.into_iter().collect();
    by_status.sort_by_key(|(status, _)| status.as_str());
    resolved.excluded_by_status = by_status;
    Ok(resolved)
}

/// The events each supporter attended: a seat (not a waitlist place, not
/// cancelled) at an event of `events` that ended before `now`. The store
/// does not record who came, so a seat held stands for being there.
async fn attendance<S: Store>(
    store: &S,
    events: &[Event],
    now: Timestamp,
) -> StoreResult<HashMap<String, Vec<String>>> {
    let over: BTreeSet<&str> = events
        .iter()
        .filter(|e| e.end <= now)
        .map(|e| e.id.as_str())
        .collect();
    let mut attended: HashMap<String, Vec<String>> = HashMap::new();
    let mut after = None;
    loop {
        let page = store.seats(after.take(), PAGE).await?;
        for seat in page.items {
            if seat.status == RsvpStatus::Confirmed && over.contains(seat.event.as_str()) {
                attended.entry(seat.email).or_default().push(seat.event);
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(attended)
}

/// The queue item's id of `broadcast` to `email`.
pub fn item_id(broadcast: &str, email: &str) -> String {
    format!("cast:{broadcast}:{email}")
}

/// What queueing a broadcast did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queued {
    /// Items added to the queue.
    pub new: usize,
    /// Recipients whose item was queued before (in any state since).
    pub already: usize,
}

/// Queues `broadcast` to every recipient, due at `due_at`, [`BATCH`]
/// items per call to the store. Safe to run again: items already queued
/// are left as they are.
pub async fn enqueue<S: Store>(
    store: &S,
    broadcast: &str,
    recipients: &[String],
    due_at: Timestamp,
    now: Timestamp,
) -> StoreResult<Queued> {
    let mut queued = Queued::default();
    for batch in recipients.chunks(BATCH) {
        let items: Vec<Outgoing> = batch
            .iter()
            .map(|email| {
                Outgoing::new(
                    item_id(broadcast, email),
                    email,
                    broadcast,
                    due_at,
                    Source::Broadcast {
                        broadcast: broadcast.to_owned(),
                    },
                    now,
                )
            })
            .collect();
        let added = store.enqueue(items).await?;
        queued.new += added;
        queued.already += batch.len() - added.min(batch.len());
    }
    Ok(queued)
}

/// The email `broadcast` as `supporter` would get it, filled by the very
/// code the sender uses; `None` when the build has no such email.
pub fn sample(
    settings: &Settings,
    broadcast: &str,
    supporter: &Supporter,
    now: Timestamp,
) -> Option<Email> {
    compose(settings, broadcast, supporter, None, now, Vec::new())
}

/// The addresses of everyone with a gift counted (not refunded in full,
/// not over the cap), as they gave them on the donation form.
async fn givers<S: Store>(store: &S) -> StoreResult<HashSet<String>> {
    let mut donors = HashSet::new();
    let mut after = None;
    loop {
        let page = store.gifts(after, PAGE).await?;
        donors.extend(
            page.items
                .into_iter()
                .filter(|gift| gift.counted() > 0)
                .map(|gift| gift.donor),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut emails = HashSet::with_capacity(donors.len());
    for key in donors {
        if let Some(donor) = store.donor(&key).await? {
            emails.insert(donor.email);
        }
    }
    Ok(emails)
}
