//! The write path. On SQLite, one task owns the sqlx writing connection: it takes every job
//! waiting in its queue, runs each in a savepoint of one transaction (a failing job rolls back
//! alone), inserts all their audit entries with one statement, commits once, and only then
//! answers each job (group commit). Statement lists and audit entries on their own go to the
//! writer thread of `fast.rs` instead, which this task pauses while it writes. On PostgreSQL
//! each job is its own transaction in a task of its own, so it finishes (or rolls back whole)
//! even when the request that sent it is gone; statement lists and audit entries are batched
//! by the task of `pg.rs`.
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::{PgPool, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::fast::{FastOpen, FastWriter};
use super::statements::Statements;
use super::{Tx, TxInner, WriteFn};
use crate::audit::{insert_rows, AuditRow};
use crate::error::AppError;

/// How a job ended, told to it once the fate of its transaction is known:
/// `None` committed, `Some(reason)` the commit failed.
type Done = Box<dyn FnOnce(Option<String>) + Send>;
/// A job gets its transaction, or `None` when no transaction could be begun (it then only
/// hands back how to tell its caller).
type JobFn = Box<dyn for<'t> FnOnce(Option<&'t mut Tx>) -> BoxFuture<'t, (bool, Done)> + Send>;

pub(super) enum Msg {
    Job {
        now: String,
        run: JobFn,
    },
    Audit {
        rows: Vec<AuditRow>,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// PostgreSQL: a statement list, run in a batch with others (`pg.rs`).
    Statements {
        w: Statements,
        done: oneshot::Sender<Result<(), AppError>>,
    },
    Checkpoint(oneshot::Sender<Result<(), String>>),
    Shutdown(oneshot::Sender<()>),
}

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;
/// Queue length; a full queue makes new writes wait (back-pressure), never fail.
const QUEUE: usize = 8192;
/// After this long without writes, SQLite's WAL is checkpointed and truncated.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(1500);
/// Under continuous load, a checkpoint is tried at least this often.
const BUSY_CHECKPOINT: Duration = Duration::from_secs(30);

/// Counters for benchmarks: how much group commit is happening.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct WriterStats {
    pub commits: u64,
    pub jobs: u64,
    pub audit_rows: u64,
    pub largest_batch: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) jobs: AtomicU64,
    pub(crate) audit_rows: AtomicU64,
    pub(crate) largest_batch: AtomicU64,
}

#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Msg>,
    /// PostgreSQL: write jobs run directly on the pool.
    pg: Option<PgPool>,
    /// SQLite files: the thread that runs statement lists and audit entries (`fast.rs`).
    fast: Option<FastWriter>,
    counters: Arc<Counters>,
}

fn gone() -> AppError {
    AppError::Internal("the database writer has stopped".into())
}

impl Writer {
    /// The SQLite writer; `busy_checkpoints` when no checkpointer thread moves the WAL
    /// (`checkpointer.rs`), so the writer must under continuous load.
    /// `fast`: the database is a file, and statement lists and audit entries get a writer
    /// thread of their own (`fast.rs`).
    pub(crate) fn sqlite(
        conn: SqliteConnection,
        busy_checkpoints: bool,
        fast: Option<FastOpen>,
    ) -> Writer {
        let (queue, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let fast = fast.and_then(|o| FastWriter::start(o, counters.clone()));
        tokio::spawn(run_sqlite(
            conn,
            rx,
            counters.clone(),
            busy_checkpoints,
            fast.clone(),
        ));
        Writer {
            queue,
            pg: None,
            fast,
            counters,
        }
    }

    pub(crate) fn postgres(pool: PgPool) -> Writer {
        let (queue, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        tokio::spawn(super::pg::run_batches(pool.clone(), rx, counters.clone()));
        Writer {
            queue,
            pg: Some(pool),
            fast: None,
            counters,
        }
    }

    pub(crate) fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            commits: c.commits.load(Ordering::Relaxed),
            jobs: c.jobs.load(Ordering::Relaxed),
            audit_rows: c.audit_rows.load(Ordering::Relaxed),
            largest_batch: c.largest_batch.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn write<R, F>(&self, now: String, f: F) -> Result<R, AppError>
    where
        R: Send + 'static,
        F: WriteFn<R>,
    {
        if let Some(pool) = &self.pg {
            let pool = pool.clone();
            let counters = self.counters.clone();
            // A task of its own: the write ends whole even if the caller is dropped.
            return tokio::spawn(async move { pg_job(pool, now, f, counters).await })
                .await
                .map_err(|e| AppError::Internal(format!("write task: {e}")))?;
        }
        let (send, recv) = oneshot::channel::<Result<R, AppError>>();
        let run: JobFn = Box::new(move |tx: Option<&mut Tx>| {
            Box::pin(async move {
                let Some(tx) = tx else {
                    let done: Done = Box::new(move |why: Option<String>| {
                        let why = why.unwrap_or_else(|| "the write was not run".into());
                        let _ = send.send(Err(AppError::Internal(why)));
                    });
                    return (false, done);
                };
                match f(tx).await {
                    Ok(v) => {
                        let done: Done = Box::new(move |failed: Option<String>| {
                            let _ = send.send(match failed {
                                None => Ok(v),
                                Some(e) => Err(AppError::Internal(e)),
                            });
                        });
                        (true, done)
                    }
                    Err(e) => {
                        let done: Done = Box::new(move |_| {
                            let _ = send.send(Err(e));
                        });
                        (false, done)
                    }
                }
            })
        });
        self.queue
            .send(Msg::Job { now, run })
            .await
            .map_err(|_| gone())?;
        recv.await
            .map_err(|_| AppError::Internal("the write was abandoned (see the log)".into()))?
    }

    /// A write given as statements: on the writer thread where there is one, else as a job.
    pub(crate) async fn write_statements(&self, w: Statements) -> Result<(), AppError> {
        if let Some(f) = &self.fast {
            return f.write(w).await;
        }
        if self.pg.is_some() {
            let (done, recv) = oneshot::channel();
            self.queue
                .send(Msg::Statements { w, done })
                .await
                .map_err(|_| gone())?;
            return recv.await.map_err(|_| gone())?;
        }
        let now = w.now.clone();
        self.write(now, move |tx| Box::pin(w.run_on(tx))).await
    }

    pub(crate) async fn audit(&self, rows: Vec<AuditRow>) -> Result<(), AppError> {
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(f) = &self.fast {
            return f.audit(rows).await;
        }
        let (done, recv) = oneshot::channel();
        self.queue
            .send(Msg::Audit { rows, done })
            .await
            .map_err(|_| gone())?;
        recv.await
            .map_err(|_| gone())?
            .map_err(|e| AppError::Internal(format!("audit: {e}")))
    }

    pub(crate) async fn checkpoint(&self) -> Result<(), AppError> {
        let (done, recv) = oneshot::channel();
        self.queue
            .send(Msg::Checkpoint(done))
            .await
            .map_err(|_| gone())?;
        recv.await
            .map_err(|_| gone())?
            .map_err(|e| AppError::Internal(format!("checkpoint: {e}")))
    }

    pub(crate) async fn shutdown(&self) {
        let (done, recv) = oneshot::channel();
        if self.queue.send(Msg::Shutdown(done)).await.is_ok() {
            let _ = recv.await;
        }
    }
}

async fn pg_job<R, F>(
    pool: PgPool,
    now: String,
    f: F,
    counters: Arc<Counters>,
) -> Result<R, AppError>
where
    F: WriteFn<R>,
{
    let t = pool.begin().await?;
    let mut tx = Tx {
        inner: TxInner::Postgres(t),
        now,
        audit: Vec::new(),
    };
    let v = f(&mut tx).await?;
    let rows = tx.take_audit();
    let TxInner::Postgres(mut t) = tx.inner else {
        return Err(AppError::Internal("postgres job on another backend".into()));
    };
    insert_rows(&mut *t, &rows).await?;
    t.commit().await?;
    counters.commits.fetch_add(1, Ordering::Relaxed);
    counters.jobs.fetch_add(1, Ordering::Relaxed);
    counters
        .audit_rows
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    Ok(v)
}

/// Take what is waiting, up to a batch, after the first message.
pub(super) fn drain(first: Msg, rx: &mut mpsc::Receiver<Msg>) -> Vec<Msg> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(m) => batch.push(m),
            Err(_) => break,
        }
    }
    batch
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}

async fn exec_dyn(conn: &mut SqliteConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

async fn run_sqlite(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Msg>,
    counters: Arc<Counters>,
    busy_checkpoints: bool,
    fast: Option<FastWriter>,
) {
    let mut dirty = false;
    let mut last_checkpoint = Instant::now();
    // Commits seen at the last look: the writer thread's count as well as this task's.
    let mut seen_commits = 0;
    loop {
        let first = match tokio::time::timeout(IDLE_CHECKPOINT, rx.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(_) => {
                let commits = counters.commits.load(Ordering::Relaxed);
                if commits != seen_commits {
                    // The writer thread was busy meanwhile: not idle yet.
                    seen_commits = commits;
                    dirty = true;
                    continue;
                }
                if dirty {
                    // Idle: readers finish quickly, so the WAL can be moved back and truncated,
                    // and the page cache given back until the next burst.
                    if let Err(e) = exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    let _ = exec(&mut conn, "PRAGMA shrink_memory").await;
                    if let Some(f) = &fast {
                        f.shrink();
                    }
                    dirty = false;
                    last_checkpoint = Instant::now();
                }
                continue;
            }
        };
        let mut jobs = Vec::new();
        let mut audits = Vec::new();
        let mut control = Vec::new();
        for m in drain(first, &mut rx) {
            match m {
                Msg::Job { now, run } => jobs.push((now, run)),
                Msg::Audit { rows, done } => audits.push((rows, done)),
                Msg::Statements { done, .. } => {
                    // Sent only on PostgreSQL; answer it properly anyway.
                    let _ = done.send(Err(AppError::Internal(
                        "statement lists go to the writer thread".into(),
                    )));
                }
                c @ (Msg::Checkpoint(_) | Msg::Shutdown(_)) => control.push(c),
            }
        }
        if !jobs.is_empty() || !audits.is_empty() {
            // The writer thread commits what it holds and waits until this batch is done.
            let resume = match &fast {
                Some(f) => f.pause().await,
                None => None,
            };
            conn = commit_batch(conn, jobs, audits, &counters).await;
            drop(resume);
            dirty = true;
        }
        if busy_checkpoints && last_checkpoint.elapsed() > BUSY_CHECKPOINT {
            if let Err(e) = exec(&mut conn, "PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
            last_checkpoint = Instant::now();
        }
        for c in control {
            match c {
                Msg::Checkpoint(done) => {
                    let resume = match &fast {
                        Some(f) => f.pause().await,
                        None => None,
                    };
                    let r = exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)")
                        .await
                        .map_err(|e| e.to_string());
                    drop(resume);
                    dirty = false;
                    last_checkpoint = Instant::now();
                    let _ = done.send(r);
                }
                Msg::Shutdown(done) => {
                    // Finish what is queued, then leave the database file whole.
                    if let Some(f) = &fast {
                        f.stop().await;
                    }
                    rx.close();
                    let mut rest = Vec::new();
                    let mut rest_audit = Vec::new();
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Job { now, run } => rest.push((now, run)),
                            Msg::Audit { rows, done } => rest_audit.push((rows, done)),
                            Msg::Statements { done, .. } => {
                                let _ = done.send(Err(gone()));
                            }
                            Msg::Checkpoint(d) => {
                                let _ = d.send(Ok(()));
                            }
                            Msg::Shutdown(d) => {
                                let _ = d.send(());
                            }
                        }
                    }
                    if !rest.is_empty() || !rest_audit.is_empty() {
                        conn = commit_batch(conn, rest, rest_audit, &counters).await;
                    }
                    if let Err(e) = exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await {
                        tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
                    }
                    let _ = done.send(());
                    return;
                }
                _ => {}
            }
        }
    }
}

pub(super) type AuditWait = (Vec<AuditRow>, oneshot::Sender<Result<(), String>>);

/// One transaction for the batch; returns the connection for the next one.
async fn commit_batch(
    mut conn: SqliteConnection,
    jobs: Vec<(String, JobFn)>,
    audits: Vec<AuditWait>,
    counters: &Counters,
) -> SqliteConnection {
    let n_jobs = jobs.len();
    if let Err(e) = exec(&mut conn, "BEGIN IMMEDIATE").await {
        let msg = format!("cannot begin a write: {e}");
        for (_, run) in jobs {
            // The job never ran; tell its caller why.
            let (_, done) = run(None).await;
            done(Some(msg.clone()));
        }
        for (_, done) in audits {
            let _ = done.send(Err(msg.clone()));
        }
        return conn;
    }
    let mut dones: Vec<Done> = Vec::with_capacity(n_jobs);
    let mut rows: Vec<AuditRow> = Vec::new();
    // One savepoint per job, named by its place, never released one by one: COMMIT releases
    // them all, and a failing job rolls back to its own (later ones do not exist yet). One
    // round trip to the connection per job on top of the job's own statements.
    for (n, (now, run)) in jobs.into_iter().enumerate() {
        let name = format!("j{n}");
        if let Err(e) = exec_dyn(&mut conn, &format!("SAVEPOINT {name}")).await {
            let msg = format!("cannot begin a write: {e}");
            let (_, done) = run(None).await;
            dones.push(Box::new(move |_| done(Some(msg))));
            continue;
        }
        let (ok, done, c, job_rows) = run_in_savepoint(conn, now, run).await;
        conn = c;
        if ok {
            rows.extend(job_rows);
        } else if let Err(e) = exec_dyn(&mut conn, &format!("ROLLBACK TO {name}")).await {
            tracing::error!(error = %e, "rollback to a job's savepoint failed");
        }
        dones.push(done);
    }
    let mut waits = Vec::with_capacity(audits.len());
    for (r, done) in audits {
        rows.extend(r);
        waits.push(done);
    }
    let result = async {
        insert_rows(&mut conn, &rows).await?;
        exec(&mut conn, "COMMIT").await
    }
    .await;
    let failed = match result {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let _ = exec(&mut conn, "ROLLBACK").await;
            Some(e.to_string())
        }
    };
    counters.commits.fetch_add(1, Ordering::Relaxed);
    counters.jobs.fetch_add(n_jobs as u64, Ordering::Relaxed);
    counters
        .audit_rows
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    counters
        .largest_batch
        .fetch_max((n_jobs + waits.len()) as u64, Ordering::Relaxed);
    for d in dones {
        d(failed.clone());
    }
    for w in waits {
        let _ = w.send(match &failed {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        });
    }
    conn
}

/// Run a job on the connection; a panic in it is caught and fails that job only.
async fn run_in_savepoint(
    conn: SqliteConnection,
    now: String,
    run: JobFn,
) -> (bool, Done, SqliteConnection, Vec<AuditRow>) {
    let mut tx = Tx {
        inner: TxInner::Sqlite(conn),
        now,
        audit: Vec::new(),
    };
    let outcome = AssertUnwindSafe(run(Some(&mut tx))).catch_unwind().await;
    let rows = tx.take_audit();
    let TxInner::Sqlite(conn) = tx.inner else {
        unreachable_backend()
    };
    match outcome {
        Ok((ok, done)) => (ok, done, conn, rows),
        Err(_) => {
            tracing::error!("a write job panicked; it was rolled back");
            (false, Box::new(|_| {}), conn, Vec::new())
        }
    }
}

#[allow(clippy::unreachable)]
fn unreachable_backend() -> ! {
    unreachable!("the SQLite writer only builds SQLite transactions")
}
