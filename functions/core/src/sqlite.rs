//! The embedded store: one SQLite file, for `estrade serve`, tests and
//! small self-hosted campaigns.
//!
//! One thread owns the connection that writes ([`writer`]): writes are
//! serialised, so the read-merge-write of a signup and the count-then-seat
//! of an RSVP are atomic without any retry loop, and the writes waiting at
//! a moment are committed together, sharing one `fsync`. Each batch takes
//! the lock up front (`BEGIN IMMEDIATE`) so a second process on the same
//! file waits (busy timeout) instead of failing half-way. The file uses
//! WAL, so reads (a second connection, on tokio's blocking pool) never
//! block the writer, nor readers in other processes.
//!
//! # Schema (version 5, in `PRAGMA user_version`)
//!
//! Enumerations are stored as their serde names (`pending`, `waitlisted`,
//! `given`...), timestamps as RFC 3339 text, sets as JSON arrays.
//!
//! - `supporters`: one row per normalised `email` (primary key) with every
//!   field of [`Supporter`]; `interests` and `skills` are JSON arrays;
//!   `expires_at` (Unix seconds) is set while the supporter is pending,
//!   and rows past it are purged with their consents (version 2);
//!   `address` (JSON object or NULL), `other_phones`, `tags` (JSON
//!   arrays) and `external_ids` (JSON object) hold what imported files
//!   carry (version 5).
//! - `consents`: the append-only history; `id` gives the order, `supporter`
//!   the owner, then the fields of [`ConsentRecord`]. A unique constraint
//!   over all of them makes a retried record a no-op.
//! - `outgoing`: the send queue ([`crate::queue`]), one row per item,
//!   times in Unix milliseconds, the claim's `token` and `lease_until`.
//! - `broadcasts` (version 3): one row per broadcast `name` with
//!   `paused`, `reason`, `changed_at` and the counts of
//!   [`BroadcastControl`]; `broadcast_complaints`: one row per
//!   `(broadcast, message_id)` whose complaint was counted.
//! - `donors`, `donor_totals`, `gifts`, `receipts`, `payment_events`
//!   (version 4): what the donation form said of each donor (JSON), each
//!   donor's counted cents per period, one row per payment, the last
//!   receipt number per election ([`crate::gifts`]), the payment events
//!   handled in the last 30 days; `forgotten`: the salted hashes of erased
//!   addresses and when ([`crate::people`]), the salt in `meta`.
//! - `rsvps`: one row per `(event, email)` with `status`, `position`
//!   (unique per event, order of arrival) and `at` (when the registration
//!   reached its status). A cancelled row stays; registering again gives
//!   it a new position at the end.
//!
//! Rate-limit counters live in a second, in-memory database of the store
//! (`rate_limits`: one counter per `(key, window_start)` in Unix seconds,
//! with `expires_at`; expired rows are purged whenever a key opens a new
//! window). Counting a request then never waits behind a commit's `fsync`;
//! a restart forgets the counts, which only lets a few more requests
//! through, and two processes sharing a file count apart.

mod broadcasts;
mod erase;
mod gifts;
mod import;
mod queue;
mod rows;
mod rsvps;
mod walk;
mod writer;

use crate::broadcasts::BroadcastControl;
use crate::gifts::{Gift, Recorded};
use crate::people::Erased;
use crate::queue::{Outgoing, SendState, Settle};
use crate::store::{Member, Page, Seat, Store, StoreError, StoreResult, Upserted};
use estrade_domain::donation::Donor;
use estrade_domain::import::{Absorbed, ImportRun, Person};
use estrade_domain::supporter::{ConsentRecord, EmailStatus, Rsvp, Supporter, SupporterUpdate};
use jiff::Timestamp;
use rows::{
    append_consent, delete_supporter, load_consents, load_supporter, purge_expired, save_supporter,
};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;
use writer::Job;

const SCHEMA_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS supporters (
    email TEXT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    postcode TEXT,
    country TEXT,
    interests TEXT NOT NULL,
    skills TEXT NOT NULL,
    availability TEXT,
    volunteer INTEGER NOT NULL,
    status TEXT NOT NULL,
    recruiter TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sms INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    address TEXT,
    other_phones TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    external_ids TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE TABLE IF NOT EXISTS consents (
    id INTEGER PRIMARY KEY,
    supporter TEXT NOT NULL,
    email TEXT NOT NULL,
    action TEXT NOT NULL,
    channel TEXT NOT NULL,
    form TEXT NOT NULL,
    page TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    build TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (supporter, email, action, channel, form, page, text_hash, build, at)
) STRICT;
CREATE TABLE IF NOT EXISTS rsvps (
    event TEXT NOT NULL,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    position INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (event, email),
    UNIQUE (event, position)
) STRICT;
";

/// The rate limiter's in-memory database.
const LIMITS_SCHEMA: &str = "
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_limits_by_expiry ON rate_limits (expires_at);
";

/// From version 1: text-message consent and the expiry of pending
/// supporters.
const MIGRATE_FROM_1: &str = "
ALTER TABLE supporters ADD COLUMN sms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supporters ADD COLUMN expires_at INTEGER;
DROP TABLE IF EXISTS rate_limits;
";

/// From versions 1 to 4: what imported files carry.
const MIGRATE_TO_5: &str = "
ALTER TABLE supporters ADD COLUMN address TEXT;
ALTER TABLE supporters ADD COLUMN other_phones TEXT NOT NULL DEFAULT '[]';
ALTER TABLE supporters ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE supporters ADD COLUMN external_ids TEXT NOT NULL DEFAULT '{}';
";

/// After the tables, in whichever version they were found.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS supporters_by_expiry ON supporters (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS consents_by_supporter ON consents (supporter);
";

/// Expired pending supporters are purged at most this often (seconds of
/// the operations' own clock), by the write that notices.
const PURGE_EVERY: i64 = 600;

/// The SQLite [`Store`]. Cloning it shares the writer and the reader.
#[derive(Clone)]
pub struct SqliteStore {
    /// To the thread that owns the writing connection ([`writer`]).
    writer: Sender<Box<dyn Job>>,
    /// A second connection for reads, which WAL lets run beside the
    /// writer; `None` for an in-memory store, whose reads go through the
    /// writer (a second connection would open another, empty database).
    reader: Option<Arc<Mutex<Connection>>>,
    /// When (Unix seconds, operations' clock) expired supporters were
    /// last purged.
    purged_at: Arc<AtomicI64>,
    /// The rate limiter's counters, in memory (see the module's notes).
    limits: Arc<Mutex<Connection>>,
}

/// Why one operation failed, before it is named and made a [`StoreError`].
enum Failure {
    Sql(rusqlite::Error),
    /// A stored value this code cannot read back (a damaged file, a newer
    /// schema).
    Data(&'static str),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure::Sql(error)
    }
}

impl Failure {
    /// The cause, never a value: a conversion error could quote a stored
    /// (personal) value, so only its column is told.
    fn cause(self) -> String {
        match self {
            Failure::Sql(rusqlite::Error::FromSqlConversionFailure(column, ..)) => {
                format!("unreadable value in column {column}")
            }
            Failure::Sql(rusqlite::Error::SqliteFailure(code, Some(detail))) => {
                format!("{code} ({detail})")
            }
            Failure::Sql(other) => other.to_string(),
            Failure::Data(what) => what.to_owned(),
        }
    }

    fn named(self, operation: &str) -> StoreError {
        StoreError(format!("{operation}: {}", self.cause()))
    }
}

type Outcome<T> = Result<T, Failure>;

/// One operation on its way through the writer: the work, its answer once
/// run, and where the caller waits for it.
struct Operation<T, F> {
    name: &'static str,
    work: Option<F>,
    answer: Option<T>,
    reply: oneshot::Sender<StoreResult<T>>,
    early: bool,
}

impl<T, F> Job for Operation<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Outcome<T> + Send + 'static,
{
    fn run(&mut self, connection: &Connection) -> Result<(), String> {
        let work = self.work.take().ok_or("the operation ran twice")?;
        self.answer = Some(work(connection).map_err(Failure::cause)?);
        Ok(())
    }

    fn settle(self: Box<Self>, outcome: Result<(), String>) {
        let answer = match (outcome, self.answer) {
            (Ok(()), Some(answer)) => Ok(answer),
            (Ok(()), None) => Err(StoreError(format!("{}: no answer", self.name))),
            (Err(why), _) => Err(StoreError(format!("{}: {why}", self.name))),
        };
        // The caller may have gone (its client hung up): the write stands.
        let _ = self.reply.send(answer);
    }

    fn settle_early(&self) -> bool {
        self.early
    }
}

/// When the caller hears back from a write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durable {
    /// After the commit reached the disk.
    Committed,
    /// As soon as it ran: a read of an in-memory store, which has no
    /// reader connection and nothing to wait for, or a write whose loss
    /// would harm nothing (see [`SqliteStore::settle`]).
    Ran,
}

impl SqliteStore {
    /// Opens (or creates) the store file at `path`, in WAL mode, creating
    /// the schema when it is missing.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref();
        let connection = Connection::open(path).map_err(|e| Failure::from(e).named("open"))?;
        connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| {
                row.get::<_, String>(0)
            })
            .map_err(|e| Failure::from(e).named("open: WAL mode"))?;
        prepare(&connection)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Failure::from(e).named("open for reading"))?;
        reader
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| Failure::from(e).named("open for reading"))?;
        SqliteStore::start(connection, Some(reader))
    }

    /// A store that lives as long as this value, for tests.
    pub fn in_memory() -> StoreResult<SqliteStore> {
        let connection =
            Connection::open_in_memory().map_err(|e| Failure::from(e).named("open in memory"))?;
        prepare(&connection)?;
        SqliteStore::start(connection, None)
    }

    fn start(writer: Connection, reader: Option<Connection>) -> StoreResult<SqliteStore> {
        let writer = writer::spawn(writer)
            .map_err(|e| StoreError(format!("open: cannot start the writer thread: {e}")))?;
        let limits = Connection::open_in_memory()
            .and_then(|limits| limits.execute_batch(LIMITS_SCHEMA).map(|()| limits))
            .map_err(|e| Failure::from(e).named("open the rate limiter"))?;
        Ok(SqliteStore {
            writer,
            reader: reader.map(|r| Arc::new(Mutex::new(r))),
            purged_at: Arc::new(AtomicI64::new(i64::MIN)),
            limits: Arc::new(Mutex::new(limits)),
        })
    }

    /// Runs `work` in the writer's next batch; the answer comes once the
    /// batch is committed (or once it ran, for [`Durable::Ran`]).
    async fn write<T, F>(&self, name: &'static str, durable: Durable, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Outcome<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Operation {
            name,
            work: Some(work),
            answer: None,
            reply,
            early: durable == Durable::Ran,
        });
        let stopped = || StoreError(format!("{name}: the writer thread stopped"));
        self.writer.send(job).map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Runs `work` in a read transaction on the reader connection, on the
    /// blocking pool; in memory, through the writer.
    async fn read<T, F>(&self, name: &'static str, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Outcome<T> + Send + 'static,
    {
        let Some(reader) = &self.reader else {
            return self.write(name, Durable::Ran, work).await;
        };
        let reader = Arc::clone(reader);
        let task = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock rolled its transaction back,
            // so the connection is still sound.
            let mut connection = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let answer = work(&transaction)?;
            transaction.commit()?;
            Ok(answer)
        });
        match task.await {
            Ok(outcome) => outcome.map_err(|failure: Failure| failure.named(name)),
            Err(stopped) if stopped.is_panic() => {
                Err(StoreError(format!("{name}: the database task panicked")))
            }
            Err(_) => Err(StoreError(format!(
                "{name}: the database task was cancelled"
            ))),
        }
    }
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sets the connection up and creates or checks the schema.
fn prepare(connection: &Connection) -> StoreResult<()> {
    let schema = |e| Failure::from(e).named("create schema");
    connection.busy_timeout(BUSY_TIMEOUT).map_err(schema)?;
    // Every commit reaches the disk before its callers are answered; the
    // writer shares each fsync among a batch.
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(schema)?;
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(schema)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "open: the store file has schema version {version}, newer than this \
             estrade (version {SCHEMA_VERSION}); upgrade estrade"
        )));
    }
    connection.execute_batch(SCHEMA).map_err(schema)?;
    if version == 1 {
        connection.execute_batch(MIGRATE_FROM_1).map_err(schema)?;
    }
    if (1..5).contains(&version) {
        connection.execute_batch(MIGRATE_TO_5).map_err(schema)?;
    }
    connection.execute_batch(INDEXES).map_err(schema)?;
    connection.execute_batch(queue::SCHEMA).map_err(schema)?;
    connection
        .execute_batch(broadcasts::SCHEMA)
        .map_err(schema)?;
    connection.execute_batch(gifts::SCHEMA).map_err(schema)?;
    connection
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(schema)?;
    Ok(())
}

/// Counts one request in the window holding `at`; the count after it.
fn count_request(tx: &Connection, key: &str, window_seconds: u32, at: Timestamp) -> Outcome<i64> {
    let length = i64::from(window_seconds.max(1));
    let start = at.as_second().div_euclid(length) * length;
    let count: i64 = tx
        .prepare_cached(
            "INSERT INTO rate_limits (key, window_start, count, expires_at) \
             VALUES (?1, ?2, 1, ?3) ON CONFLICT (key, window_start) \
             DO UPDATE SET count = count + 1 RETURNING count",
        )?
        .query_row(params![key, start, start + length], |row| row.get(0))?;
    if count == 1 {
        // A key opening a new window is rare enough to pay for the sweep.
        tx.prepare_cached("DELETE FROM rate_limits WHERE expires_at <= ?1")?
            .execute([at.as_second()])?;
    }
    Ok(count)
}

impl Store for SqliteStore {
    async fn upsert_supporter(
        &self,
        update: SupporterUpdate,
        status: EmailStatus,
        consents: Vec<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<(Upserted, Supporter)> {
        let last = self.purged_at.load(Ordering::Relaxed);
        let purge = at.as_second().saturating_sub(last) >= PURGE_EVERY
            && self
                .purged_at
                .compare_exchange(last, at.as_second(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        self.write("upsert_supporter", Durable::Committed, move |tx| {
            if purge {
                purge_expired(tx, at)?;
            }
            let email = update.email.clone();
            let known = match load_supporter(tx, &email)? {
                // Gone already, but for the purge: a new supporter.
                Some(expired) if expired.expired(at) => {
                    delete_supporter(tx, &email)?;
                    None
                }
                known => known,
            };
            let (how, supporter) = match known {
                Some(mut known) => {
                    known.merge(update, status, at);
                    (Upserted::Updated, known)
                }
                None => (Upserted::Created, Supporter::new(update, status, at)),
            };
            save_supporter(tx, &supporter)?;
            for record in &consents {
                append_consent(tx, &email, record)?;
            }
            Ok((how, supporter))
        })
        .await
    }

    async fn supporter(&self, email: &str) -> StoreResult<Option<Supporter>> {
        let email = email.to_owned();
        self.read("supporter", move |tx| load_supporter(tx, &email))
            .await
    }

    async fn set_status(
        &self,
        email: &str,
        status: EmailStatus,
        consent: Option<ConsentRecord>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let email = email.to_owned();
        self.write("set_status", Durable::Committed, move |tx| {
            let Some(mut supporter) = load_supporter(tx, &email)? else {
                return Ok(false);
            };
            supporter.status = status;
            supporter.updated_at = at;
            if status != EmailStatus::Pending {
                supporter.expires_at = None;
            }
            save_supporter(tx, &supporter)?;
            if let Some(record) = &consent {
                append_consent(tx, &email, record)?;
            }
            Ok(true)
        })
        .await
    }

    async fn remove_interests(
        &self,
        email: &str,
        interests: &BTreeSet<String>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let email = email.to_owned();
        let interests = interests.clone();
        self.write("remove_interests", Durable::Committed, move |tx| {
            let Some(mut supporter) = load_supporter(tx, &email)? else {
                return Ok(false);
            };
            supporter
                .interests
                .retain(|topic| !interests.contains(topic));
            supporter.updated_at = at;
            save_supporter(tx, &supporter)?;
            Ok(true)
        })
        .await
    }

    async fn consents(&self, email: &str) -> StoreResult<Vec<ConsentRecord>> {
        let email = email.to_owned();
        self.read("consents", move |tx| load_consents(tx, &email))
            .await
    }

    async fn rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Rsvp> {
        let (event, email) = (event.to_owned(), email.to_owned());
        self.write("rsvp", Durable::Committed, move |tx| {
            rsvps::register(tx, &event, &email, capacity, at)
        })
        .await
    }

    async fn cancel_rsvp(
        &self,
        event: &str,
        email: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<(Option<Rsvp>, Option<Rsvp>)> {
        let (event, email) = (event.to_owned(), email.to_owned());
        self.write("cancel_rsvp", Durable::Committed, move |tx| {
            rsvps::cancel(tx, &event, &email, capacity, at)
        })
        .await
    }

    async fn promote_waitlist(
        &self,
        event: &str,
        capacity: Option<u32>,
        at: Timestamp,
    ) -> StoreResult<Vec<Rsvp>> {
        let event = event.to_owned();
        self.write("promote_waitlist", Durable::Committed, move |tx| {
            rsvps::promote(tx, &event, capacity, at)
        })
        .await
    }

    async fn rsvps(&self, event: &str) -> StoreResult<Vec<Rsvp>> {
        let event = event.to_owned();
        self.read("rsvps", move |tx| rsvps::load_rsvps(tx, &event))
            .await
    }

    async fn allow(
        &self,
        key: &str,
        limit: u32,
        window_seconds: u32,
        at: Timestamp,
    ) -> StoreResult<bool> {
        // In memory, a few microseconds: run in place, under the lock.
        let limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        let count = count_request(&limits, key, window_seconds, at)
            .map_err(|failure| failure.named("allow"))?;
        Ok(count <= i64::from(limit))
    }

    async fn enqueue(&self, items: Vec<Outgoing>) -> StoreResult<usize> {
        self.write("enqueue", Durable::Committed, move |tx| {
            queue::enqueue(tx, &items)
        })
        .await
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        until: Timestamp,
        token: &str,
        limit: usize,
    ) -> StoreResult<Vec<Outgoing>> {
        let token = token.to_owned();
        self.write("claim_due", Durable::Committed, move |tx| {
            queue::claim_due(tx, now, until, &token, limit)
        })
        .await
    }

    async fn settle(&self, settle: Settle) -> StoreResult<bool> {
        // `sent` is answered before its commit reaches the disk, so the
        // sender prepares its next email during that `fsync`: were the
        // commit lost (a power cut in that millisecond), the item would
        // stay `sending` and end `unknown`, never sent again.
        let durable = if settle.to == SendState::Sent {
            Durable::Ran
        } else {
            Durable::Committed
        };
        self.write("settle", durable, move |tx| {
            let changed = queue::settle(tx, &settle)?;
            if let Some(name) = settle.broadcast.as_deref()
                && changed
                && settle.to == SendState::Sent
            {
                broadcasts::count_sent(tx, name)?;
            }
            Ok(changed)
        })
        .await
    }

    async fn stalled(&self, now: Timestamp) -> StoreResult<Vec<Outgoing>> {
        self.write("stalled", Durable::Committed, move |tx| {
            queue::stalled(tx, now)
        })
        .await
    }

    async fn outgoing(&self, id: &str) -> StoreResult<Option<Outgoing>> {
        let id = id.to_owned();
        self.read("outgoing", move |tx| queue::load(tx, &id)).await
    }

    async fn queued_to(&self, email: &str) -> StoreResult<Vec<Outgoing>> {
        let email = email.to_owned();
        self.read("queued_to", move |tx| queue::addressed_to(tx, &email))
            .await
    }

    async fn members(
        &self,
        after: Option<String>,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Page<Member>> {
        self.read("members", move |tx| {
            walk::members(tx, after.as_deref(), limit, now)
        })
        .await
    }

    async fn broadcast(&self, name: &str) -> StoreResult<Option<BroadcastControl>> {
        let name = name.to_owned();
        self.read("broadcast", move |tx| broadcasts::load(tx, &name))
            .await
    }

    async fn set_broadcast_paused(
        &self,
        name: &str,
        reason: Option<String>,
        at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        let name = name.to_owned();
        self.write("set_broadcast_paused", Durable::Committed, move |tx| {
            broadcasts::set_paused(tx, &name, reason.as_deref(), at)
        })
        .await
    }

    async fn seats(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Seat>> {
        self.read("seats", move |tx| walk::seats(tx, after.as_deref(), limit))
            .await
    }

    async fn count_broadcast_sent(
        &self,
        name: &str,
        _at: Timestamp,
    ) -> StoreResult<BroadcastControl> {
        let name = name.to_owned();
        self.write("count_broadcast_sent", Durable::Committed, move |tx| {
            broadcasts::count_sent(tx, &name)
        })
        .await
    }

    async fn count_broadcast_complaint(
        &self,
        name: &str,
        message_id: &str,
        at: Timestamp,
    ) -> StoreResult<Option<BroadcastControl>> {
        let (name, message_id) = (name.to_owned(), message_id.to_owned());
        self.write("count_broadcast_complaint", Durable::Committed, move |tx| {
            broadcasts::count_complaint(tx, &name, &message_id, at)
        })
        .await
    }

    async fn save_donor(&self, donor: &Donor, at: Timestamp) -> StoreResult<()> {
        let donor = donor.clone();
        self.write("save_donor", Durable::Committed, move |tx| {
            gifts::save_donor(tx, &donor, at)
        })
        .await
    }

    async fn donor(&self, key: &str) -> StoreResult<Option<Donor>> {
        let key = key.to_owned();
        self.read("donor", move |tx| gifts::donor(tx, &key)).await
    }

    async fn donor_total(&self, period: &str, donor: &str) -> StoreResult<i64> {
        let (period, donor) = (period.to_owned(), donor.to_owned());
        self.read("donor_total", move |tx| gifts::total(tx, &period, &donor))
            .await
    }

    async fn record_gift(&self, gift: Gift, cap: i64) -> StoreResult<(Recorded, Gift)> {
        self.write("record_gift", Durable::Committed, move |tx| {
            gifts::record(tx, gift, cap)
        })
        .await
    }

    async fn refund_gift(
        &self,
        payment_intent: &str,
        amount_refunded: i64,
    ) -> StoreResult<Option<Gift>> {
        let payment_intent = payment_intent.to_owned();
        self.write("refund_gift", Durable::Committed, move |tx| {
            gifts::refund(tx, &payment_intent, amount_refunded)
        })
        .await
    }

    async fn gifts(&self, after: Option<String>, limit: usize) -> StoreResult<Page<Gift>> {
        self.read("gifts", move |tx| gifts::walk(tx, after.as_deref(), limit))
            .await
    }

    async fn payment_event_seen(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.read("payment_event_seen", move |tx| gifts::event_seen(tx, &id))
            .await
    }

    async fn note_payment_event(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let id = id.to_owned();
        self.write("note_payment_event", Durable::Committed, move |tx| {
            gifts::note_event(tx, &id, at)
        })
        .await
    }

    async fn erase_supporter(&self, email: &str, at: Timestamp) -> StoreResult<Erased> {
        let email = email.to_owned();
        self.write("erase_supporter", Durable::Committed, move |tx| {
            erase::erase(tx, &email, at)
        })
        .await
    }

    async fn forgotten(&self, email: &str) -> StoreResult<Option<Timestamp>> {
        let email = email.to_owned();
        self.write("forgotten", Durable::Ran, move |tx| {
            erase::forgotten(tx, &email)
        })
        .await
    }

    async fn import_people(
        &self,
        people: Vec<Person>,
        run: ImportRun,
        write: bool,
    ) -> StoreResult<Vec<Absorbed>> {
        let durable = if write {
            Durable::Committed
        } else {
            Durable::Ran
        };
        self.write("import_people", durable, move |tx| {
            import::import(tx, &people, &run, write)
        })
        .await
    }
}
