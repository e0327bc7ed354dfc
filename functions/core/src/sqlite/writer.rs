//! The one thread that writes, committing many operations at once.
//!
//! Every write waits for its commit to reach the disk (`synchronous =
//! FULL`), and a commit costs one `fsync`. Taking the writes one at a time
//! caps the store at one signup per `fsync`; here the thread takes every
//! operation already waiting, runs each in a savepoint of its own inside
//! one transaction, and commits them together (group commit). Under load a
//! batch holds as many operations as arrived during the previous commit,
//! so the cost of the `fsync` is shared; alone, an operation commits at
//! once.
//!
//! An operation that fails is rolled back to its savepoint and told so;
//! the others in the batch go on. When the commit itself fails, nothing of
//! the batch was written and every operation in it is told to retry.
//! Answers are sent after the commit: a caller that hears "done" is on
//! disk. An operation may ask to be answered before the commit
//! ([`Job::settle_early`]): a read, which changes nothing, or a write
//! whose loss would harm nothing (the sender's `sent` mark).

use rusqlite::Connection;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;

/// Operations in one transaction at most: bounds the time a batch holds
/// the file's write lock.
const MAX_BATCH: usize = 256;

/// What the writer is given: run it, then settle it with the commit's
/// outcome.
pub(super) trait Job: Send {
    /// Runs in the open transaction. `Err` is the operation's own failure,
    /// already rolled back; `Ok` waits for the commit.
    fn run(&mut self, connection: &Connection) -> Result<(), String>;
    /// Answers the caller: `Ok` when the batch was committed, or the run's
    /// or the commit's failure.
    fn settle(self: Box<Self>, outcome: Result<(), String>);
    /// Answered as soon as it ran, without waiting for the commit.
    fn settle_early(&self) -> bool {
        false
    }
}

/// Starts the writer thread over `connection`; it stops when every sender
/// is dropped, after the last batch.
pub(super) fn spawn(connection: Connection) -> io::Result<Sender<Box<dyn Job>>> {
    let (sender, receiver) = channel::<Box<dyn Job>>();
    thread::Builder::new()
        .name("estrade-store-writer".to_owned())
        .spawn(move || write_until_closed(&connection, &receiver))?;
    Ok(sender)
}

fn write_until_closed(connection: &Connection, jobs: &Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write_batch(connection, batch);
    }
}

fn write_batch(connection: &Connection, batch: Vec<Box<dyn Job>>) {
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        let why = format!("cannot start a transaction: {error}");
        for job in batch {
            job.settle(Err(why.clone()));
        }
        return;
    }
    let mut waiting = Vec::with_capacity(batch.len());
    for mut job in batch {
        match run_in_savepoint(connection, job.as_mut()) {
            Ok(()) if job.settle_early() => job.settle(Ok(())),
            Ok(()) => waiting.push(job),
            Err(why) => job.settle(Err(why)),
        }
    }
    let committed = connection
        .execute_batch("COMMIT")
        .map_err(|error| format!("commit failed: {error}"));
    if committed.is_err() {
        // Leaves the connection ready for the next batch; when COMMIT
        // failed SQLite may already have rolled back, so this can fail too.
        let _ = connection.execute_batch("ROLLBACK");
    }
    for job in waiting {
        job.settle(committed.clone());
    }
}

fn run_in_savepoint(connection: &Connection, job: &mut dyn Job) -> Result<(), String> {
    connection
        .execute_batch("SAVEPOINT job")
        .map_err(|error| format!("cannot open a savepoint: {error}"))?;
    // A panic in an operation is a bug; it must not take the writer, and
    // every later operation, down with it.
    let outcome = catch_unwind(AssertUnwindSafe(|| job.run(connection)))
        .unwrap_or_else(|_| Err("the operation panicked".to_owned()));
    let closed = match outcome {
        Ok(()) => connection.execute_batch("RELEASE job"),
        Err(_) => connection.execute_batch("ROLLBACK TO job; RELEASE job"),
    };
    match (outcome, closed) {
        (Err(why), _) => Err(why),
        (Ok(()), Err(error)) => {
            // Its writes must not ride along with the batch's commit.
            let _ = connection.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(format!("cannot release a savepoint: {error}"))
        }
        (Ok(()), Ok(())) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Sender as Told;

    /// Runs one SQL statement (or panics), and tells what it was answered.
    struct Statement {
        sql: &'static str,
        told: Told<(&'static str, Result<(), String>)>,
    }

    impl Job for Statement {
        fn run(&mut self, connection: &Connection) -> Result<(), String> {
            if self.sql == "panic" {
                panic!("a bug in an operation");
            }
            connection
                .execute_batch(self.sql)
                .map_err(|e| e.to_string())
        }

        fn settle(self: Box<Self>, outcome: Result<(), String>) {
            let _ = self.told.send((self.sql, outcome));
        }
    }

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().expect("in-memory database");
        connection
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .expect("table");
        connection
    }

    fn count(connection: &Connection) -> i64 {
        connection
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .expect("count")
    }

    #[test]
    fn a_failing_or_panicking_operation_leaves_the_rest_of_its_batch_committed() {
        let connection = connection();
        let (told, answers) = channel();
        let batch: Vec<Box<dyn Job>> = [
            "INSERT INTO t VALUES (1)",
            // Writes, then fails: its first row must not stay.
            "INSERT INTO t VALUES (2); INSERT INTO t VALUES (1)",
            "panic",
            "INSERT INTO t VALUES (3)",
        ]
        .into_iter()
        .map(|sql| {
            Box::new(Statement {
                sql,
                told: told.clone(),
            }) as Box<dyn Job>
        })
        .collect();
        write_batch(&connection, batch);
        drop(told);
        let answers: Vec<_> = answers.iter().collect();
        assert_eq!(answers.len(), 4);
        for (sql, outcome) in answers {
            let failed = sql.contains("(2)") || sql == "panic";
            assert_eq!(outcome.is_err(), failed, "{sql}: {outcome:?}");
        }
        let rows: Vec<i64> = connection
            .prepare("SELECT n FROM t ORDER BY n")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(rows, vec![1, 3]);
        assert!(connection.is_autocommit(), "the transaction is closed");
    }

    #[test]
    fn a_failed_commit_answers_every_waiting_operation_with_the_failure() {
        let connection = connection();
        // A deferred constraint fails at COMMIT, for the whole batch.
        connection
            .execute_batch(
                "CREATE TABLE child (p INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED);
                 PRAGMA foreign_keys = ON;",
            )
            .expect("schema");
        let (told, answers) = channel();
        let batch: Vec<Box<dyn Job>> = ["INSERT INTO t VALUES (1)", "INSERT INTO child VALUES (9)"]
            .into_iter()
            .map(|sql| {
                Box::new(Statement {
                    sql,
                    told: told.clone(),
                }) as Box<dyn Job>
            })
            .collect();
        write_batch(&connection, batch);
        drop(told);
        let outcomes: Vec<_> = answers.iter().map(|(_, outcome)| outcome).collect();
        assert_eq!(outcomes.len(), 2);
        assert!(
            outcomes
                .iter()
                .all(|o| o.as_ref().is_err_and(|why| why.contains("commit")))
        );
        assert_eq!(count(&connection), 0, "nothing of the batch was written");
        assert!(connection.is_autocommit());
        // The writer goes on with the next batch.
        let (told, answers) = channel();
        write_batch(
            &connection,
            vec![Box::new(Statement {
                sql: "INSERT INTO t VALUES (5)",
                told,
            })],
        );
        assert_eq!(answers.recv().map(|(_, o)| o), Ok(Ok(())));
        assert_eq!(count(&connection), 1);
    }

    #[test]
    fn the_thread_answers_many_senders_and_stops_when_they_are_gone() {
        let writer = spawn(connection()).expect("writer thread");
        let (told, answers) = channel();
        let senders: Vec<_> = (0..8)
            .map(|_| {
                let (writer, told) = (writer.clone(), told.clone());
                thread::spawn(move || {
                    for _ in 0..50 {
                        let job = Box::new(Statement {
                            sql: "INSERT INTO t VALUES (NULL)",
                            told: told.clone(),
                        });
                        writer.send(job).expect("writer running");
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().expect("sender thread");
        }
        drop((writer, told));
        let outcomes: Vec<_> = answers.iter().map(|(_, outcome)| outcome).collect();
        assert_eq!(outcomes.len(), 400);
        assert!(outcomes.iter().all(Result::is_ok));
    }
}
