//! The SQLite writer's own thread and connection, for the writes that come as statement lists
//! ([`Statements`]) and for audit entries on their own (every read and search). sqlx-sqlite
//! runs a connection on a thread of its own and hands it each statement: two thread switches
//! a statement, which on a two-core server cost more than the insert itself. Here one thread
//! owns a rusqlite connection to the same file and runs a whole batch on it: BEGIN, each
//! write in a savepoint (a failing one rolls back alone and is answered at once), the batch's
//! audit rows, COMMIT; then it answers each request (group commit, as in `writer.rs`).
//!
//! SQLite allows one writer at a time. The sqlx writer task (`writer.rs`) still runs every
//! other write; before its batch it pauses this thread ([`FastWriter::pause`]), which commits
//! what it holds and waits until the batch is done, so the two never wait on the file's lock.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use super::direct::bind;
use super::statements::Statements;
use super::writer::Counters;
use crate::audit::AuditRow;
use crate::error::{AppError, Msg};

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 512;
/// Queue length; a full queue makes new writes wait (back-pressure), never fail.
const QUEUE: usize = 8192;

type Answer = oneshot::Sender<Result<(), AppError>>;

pub(crate) enum FastMsg {
    Write {
        w: Statements,
        done: Answer,
    },
    Audit {
        rows: Vec<AuditRow>,
        done: Answer,
    },
    /// Commit what came before, say so on `ready`, then write nothing until `resume` is
    /// answered or dropped.
    Pause {
        ready: oneshot::Sender<()>,
        resume: oneshot::Receiver<()>,
    },
    /// Give the page cache back (the server has gone quiet).
    Shrink,
    /// Commit what is queued and end the thread.
    Stop(oneshot::Sender<()>),
}

/// How to open the writer thread's connection.
pub(crate) struct FastOpen {
    pub path: PathBuf,
    pub sync_full: bool,
    /// The checkpointer thread moves the WAL (no automatic checkpoint inside a commit) and
    /// sets this after each checkpoint (see `checkpointer.rs`).
    pub copied: Option<Arc<AtomicBool>>,
}

#[derive(Clone)]
pub(crate) struct FastWriter {
    queue: mpsc::Sender<FastMsg>,
}

fn gone() -> AppError {
    AppError::Internal("the database writer has stopped".into())
}

fn open(o: &FastOpen) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        &o.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_secs(10))?;
    // The sqlx writer's settings (db.rs): same durability, 8 MB of pages, no memory map.
    let sync = if o.sync_full { "FULL" } else { "NORMAL" };
    c.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; PRAGMA cache_size = -8000; \
         PRAGMA mmap_size = 0; PRAGMA temp_store = memory; PRAGMA journal_size_limit = 67108864;"
    ))?;
    if o.copied.is_some() {
        c.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    }
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

impl FastWriter {
    /// Start the thread; `None` (and a warning) if its connection cannot be opened: every
    /// write then goes through the sqlx writer.
    pub(crate) fn start(o: FastOpen, counters: Arc<Counters>) -> Option<FastWriter> {
        let conn = match open(&o) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the writer thread's connection");
                return None;
            }
        };
        let (queue, rx) = mpsc::channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, &counters, o.copied));
        match spawned {
            Ok(_) => Some(FastWriter { queue }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the writer thread");
                None
            }
        }
    }

    async fn ask(
        &self,
        m: FastMsg,
        recv: oneshot::Receiver<Result<(), AppError>>,
    ) -> Result<(), AppError> {
        self.queue.send(m).await.map_err(|_| gone())?;
        recv.await
            .map_err(|_| AppError::Internal("the write was abandoned (see the log)".into()))?
    }

    pub(crate) async fn write(&self, w: Statements) -> Result<(), AppError> {
        let (done, recv) = oneshot::channel();
        self.ask(FastMsg::Write { w, done }, recv).await
    }

    pub(crate) async fn audit(&self, rows: Vec<AuditRow>) -> Result<(), AppError> {
        let (done, recv) = oneshot::channel();
        self.ask(FastMsg::Audit { rows, done }, recv).await
    }

    /// Wait until the thread has committed what it holds and stopped writing; it resumes when
    /// the returned sender is used or dropped. `None` if the thread is gone.
    pub(crate) async fn pause(&self) -> Option<oneshot::Sender<()>> {
        let (ready, ready_rx) = oneshot::channel();
        let (resume, resume_rx) = oneshot::channel();
        let m = FastMsg::Pause {
            ready,
            resume: resume_rx,
        };
        self.queue.send(m).await.ok()?;
        ready_rx.await.ok()?;
        Some(resume)
    }

    pub(crate) fn shrink(&self) {
        let _ = self.queue.try_send(FastMsg::Shrink);
    }

    pub(crate) async fn stop(&self) {
        let (done, recv) = oneshot::channel();
        if self.queue.send(FastMsg::Stop(done)).await.is_ok() {
            let _ = recv.await;
        }
    }
}

type Batch = (Vec<(Statements, Answer)>, Vec<(Vec<AuditRow>, Answer)>);

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<FastMsg>,
    counters: &Counters,
    copied: Option<Arc<AtomicBool>>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch: Batch = (Vec::new(), Vec::new());
        let mut control = None;
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                FastMsg::Write { w, done } => batch.0.push((w, done)),
                FastMsg::Audit { rows, done } => batch.1.push((rows, done)),
                c => {
                    control = Some(c);
                    break;
                }
            }
            if batch.0.len() + batch.1.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        commit(&conn, batch, counters);
        if copied
            .as_ref()
            .is_some_and(|c| c.swap(false, Ordering::Acquire))
        {
            // The checkpointer has copied the bulk; copy what came after it, so the next
            // transaction can start the WAL over (a PASSIVE checkpoint never waits).
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
        match control {
            Some(FastMsg::Pause { ready, resume }) => {
                // Nobody waits for the pause any more (the task is gone): carry on.
                let waited = ready.send(()).is_ok();
                if waited {
                    let _ = resume.blocking_recv();
                }
            }
            Some(FastMsg::Shrink) => {
                let _ = conn.execute_batch("PRAGMA shrink_memory;");
            }
            Some(FastMsg::Stop(done)) => {
                rx.close();
                let mut rest: Batch = (Vec::new(), Vec::new());
                while let Ok(m) = rx.try_recv() {
                    match m {
                        FastMsg::Write { w, done } => rest.0.push((w, done)),
                        FastMsg::Audit { rows, done } => rest.1.push((rows, done)),
                        FastMsg::Pause { ready, .. } => drop(ready),
                        FastMsg::Shrink => {}
                        FastMsg::Stop(d) => {
                            let _ = d.send(());
                        }
                    }
                }
                commit(&conn, rest, counters);
                let _ = done.send(());
                return;
            }
            _ => {}
        }
    }
}

/// The error a request is told when its statement failed: a duplicate key is a conflict, as
/// on the sqlx path (`error.rs`); anything else is the server's fault.
fn refused(e: rusqlite::Error) -> AppError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if matches!(
            f.extended_code,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        ) {
            return AppError::Conflict(Msg::new("error.duplicate"));
        }
    }
    AppError::Internal(format!("database write: {e}"))
}

fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

fn run_statements(conn: &Connection, w: &Statements) -> rusqlite::Result<()> {
    w.stmts.iter().try_for_each(|s| {
        let mut st = conn.prepare_cached(&s.sql)?;
        bind(&mut st, &s.args)?;
        st.raw_execute().map(|_| ())
    })
}

/// One write in its own savepoint (all named `j`: never released, they nest, and ROLLBACK TO
/// finds the latest, this write's own).
fn run_one(conn: &Connection, w: &Statements) -> Result<(), AppError> {
    exec_cached(conn, "SAVEPOINT j").map_err(refused)?;
    run_statements(conn, w).map_err(|e| {
        if let Err(r) = exec_cached(conn, "ROLLBACK TO j") {
            tracing::error!(error = %r, "rollback to a write's savepoint failed");
        }
        refused(e)
    })
}

const AUDIT_INSERT: &str =
    "INSERT INTO audit_log (at, user_id, username, role, action, entity_type, \
     entity_id, patient_id, channel, ip, user_agent, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

fn insert_audit(conn: &Connection, rows: &[AuditRow]) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(AUDIT_INSERT)?;
    for r in rows {
        st.execute((
            &r.at,
            &r.user_id,
            &r.username,
            &r.role,
            r.action,
            &r.entity_type,
            &r.entity_id,
            &r.patient_id,
            r.channel,
            &r.ip,
            &r.user_agent,
            &r.detail,
        ))?;
    }
    Ok(())
}

fn commit(conn: &Connection, (writes, audits): Batch, counters: &Counters) {
    if writes.is_empty() && audits.is_empty() {
        return;
    }
    let fail_all = |writes: Vec<Answer>, audits: Vec<Answer>, why: String| {
        for d in writes.into_iter().chain(audits) {
            let _ = d.send(Err(AppError::Internal(why.clone())));
        }
    };
    let n_jobs = writes.len();
    let n_waits = n_jobs + audits.len();
    if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
        let (w, a) = (
            writes.into_iter().map(|(_, d)| d).collect(),
            audits.into_iter().map(|(_, d)| d).collect(),
        );
        fail_all(w, a, format!("cannot begin a write: {e}"));
        return;
    }
    let mut rows: Vec<AuditRow> = Vec::new();
    let mut ok: Vec<Answer> = Vec::with_capacity(n_waits);
    // First every write without a savepoint: a failing statement is rare (two registrations
    // of one ID at once), and inside a savepoint SQLite copies each page a write touches into
    // a sub-journal. If one fails, the batch starts over with a savepoint for each write, so
    // the failing one alone is undone (it fails the same way again).
    let plain = writes.iter().try_for_each(|(w, _)| run_statements(conn, w));
    let cannot_restart = plain.is_err()
        && (exec_cached(conn, "ROLLBACK").is_err()
            || exec_cached(conn, "BEGIN IMMEDIATE").is_err());
    if cannot_restart {
        let (w, a) = (
            writes.into_iter().map(|(_, d)| d).collect(),
            audits.into_iter().map(|(_, d)| d).collect(),
        );
        let _ = conn.execute_batch("ROLLBACK;");
        fail_all(
            w,
            a,
            "cannot begin a write again after a failed statement".into(),
        );
        return;
    }
    for (w, done) in writes {
        if plain.is_ok() {
            rows.extend(w.audit);
            ok.push(done);
            continue;
        }
        match run_one(conn, &w) {
            Ok(()) => {
                rows.extend(w.audit);
                ok.push(done);
            }
            // Rolled back to its savepoint; nothing of it will be committed.
            Err(e) => {
                let _ = done.send(Err(e));
            }
        }
    }
    for (r, done) in audits {
        rows.extend(r);
        ok.push(done);
    }
    let result = insert_audit(conn, &rows).and_then(|_| exec_cached(conn, "COMMIT"));
    counters.commits.fetch_add(1, Ordering::Relaxed);
    counters.jobs.fetch_add(n_jobs as u64, Ordering::Relaxed);
    counters
        .audit_rows
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    counters
        .largest_batch
        .fetch_max(n_waits as u64, Ordering::Relaxed);
    match result {
        Ok(()) => {
            for d in ok {
                let _ = d.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            if let Err(r) = conn.execute_batch("ROLLBACK;") {
                tracing::error!(error = %r, "rollback failed");
            }
            fail_all(ok, Vec::new(), format!("the write was not saved: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::{Action, Actor, AuditRow, Event};
    use crate::db::{Arg, Db, Statements};
    use crate::error::AppError;

    fn row(now: &str, id: &str) -> AuditRow {
        let who = Actor {
            user_id: "u1",
            username: "tester",
            role: "nurse",
            channel: "api",
            ip: "127.0.0.1",
            user_agent: "test",
        };
        AuditRow::raw(now, who, Event::new(Action::CREATE, "thing", id))
    }

    fn put(k: &str, extra: Option<&str>) -> Statements {
        let now = "2026-11-24T10:00:00Z".to_string();
        let mut w = Statements::new(now.clone());
        w.push(
            "INSERT INTO t (k, v) VALUES ($1, $2)",
            vec![Arg::Text(k.into()), Arg::Int(1)],
        );
        if let Some(e) = extra {
            w.push(
                "INSERT INTO t (k, v) VALUES ($2, $1)",
                vec![Arg::Int(2), Arg::Text(e.into())],
            );
        }
        w.audit(row(&now, k));
        w
    }

    async fn count(db: &Db, sql: &'static str) -> i64 {
        crate::with_db!(db, pool => sqlx::query_scalar(sql).fetch_one(pool).await).unwrap()
    }

    /// Statement writes on the writer thread: many at once commit together with their audit
    /// rows; a failing one rolls back alone (all its statements) and answers a conflict; jobs
    /// of the sqlx writer interleaved with them never meet a locked file; all of it survives
    /// a close and reopen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn statement_writes_commit_in_groups_and_fail_alone() {
        let dir = std::env::temp_dir().join(format!("tianshan-fast-{}", uuid::Uuid::new_v4()));
        let db = Db::open(None, &dir).await.unwrap();
        db.write("2026-11-24T10:00:00Z".into(), |tx| {
            Box::pin(async move {
                tx.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)", &[]).await?;
                tx.exec("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT, user_id TEXT, username TEXT, role TEXT, \
                    action TEXT, entity_type TEXT, entity_id TEXT, patient_id TEXT, channel TEXT, ip TEXT, user_agent TEXT, detail TEXT)", &[]).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
        // The key the failing writes repeat, written before them (the others race each other).
        db.write_statements(put("base", None)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                if i % 10 == 5 {
                    // An ordinary job on the sqlx writer, between the statement writes.
                    let k = format!("job{i}");
                    db.write("2026-11-24T10:00:00Z".into(), move |tx| {
                        Box::pin(async move {
                            tx.exec("INSERT INTO t (k, v) VALUES ($1, 3)", &[Arg::Text(k)])
                                .await?;
                            Ok(())
                        })
                    })
                    .await
                } else if i % 10 == 7 {
                    // Its second statement repeats a key: the first must not stay either.
                    db.write_statements(put(&format!("lost{i}"), Some("base")))
                        .await
                } else {
                    db.write_statements(put(&format!("k{i}"), None)).await
                }
            }));
        }
        let mut conflicts = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(()) => assert_ne!(i % 10, 7, "write {i} should have failed"),
                Err(AppError::Conflict(_)) if i % 10 == 7 => conflicts += 1,
                Err(e) => panic!("write {i}: {e}"),
            }
        }
        assert_eq!(conflicts, 20);
        // A reader's audit entry on its own goes the same way.
        db.audit(vec![row("2026-11-24T10:00:01Z", "read")])
            .await
            .unwrap();
        let repeat = db.write_statements(put("k0", None)).await;
        assert!(matches!(repeat, Err(AppError::Conflict(_))), "{repeat:?}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM t WHERE k LIKE 'lost%'").await,
            0
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM t").await, 181);
        // Audit rows: the 161 statement writes that succeeded, and the read.
        assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 162);
        let stats = db.writer_stats();
        assert!(stats.commits >= 2 && stats.jobs >= 181, "{stats:?}");
        db.close().await;
        let again = Db::open(None, &dir).await.unwrap();
        assert_eq!(count(&again, "SELECT COUNT(*) FROM t").await, 181);
        assert_eq!(count(&again, "SELECT COUNT(*) FROM audit_log").await, 162);
        again.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
