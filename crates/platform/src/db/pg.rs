//! PostgreSQL's batches: audit entries on their own (reads, searches) and statement-list writes
//! (registrations) from many requests go into one transaction, committed once, then each
//! request is answered (group commit, as on SQLite). Every other write is a transaction of its
//! own (`writer.rs`, `pg_job`). Statement writes run without savepoints; if one fails, the
//! batch is rolled back and each write is run again in a transaction of its own, so the failing
//! one alone fails, with its error (a duplicate key is a conflict, `error.rs`).
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::statements::Statements;
use super::writer::{drain, AuditWait, Counters, Msg};
use crate::audit::{insert_rows, AuditRow};
use crate::error::AppError;

type Answer = oneshot::Sender<Result<(), AppError>>;

/// Batches committing at once.
const IN_FLIGHT: usize = 3;

async fn run_statements(c: &mut sqlx::PgConnection, w: &Statements) -> Result<(), sqlx::Error> {
    for (sql, args) in &w.stmts {
        crate::bind_args!(sqlx::query(sql), args)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// One write in a transaction of its own, with its audit entries.
async fn alone(pool: &PgPool, w: &Statements) -> Result<(), AppError> {
    let mut t = pool.begin().await?;
    run_statements(&mut t, w).await?;
    insert_rows(&mut *t, &w.audit).await?;
    t.commit().await?;
    Ok(())
}

/// The batch in one transaction: every write, then every audit row, then COMMIT.
async fn together(
    pool: &PgPool,
    writes: &[(Statements, Answer)],
    rows: &[AuditRow],
) -> Result<(), sqlx::Error> {
    if writes.is_empty() {
        // Audit rows alone are one statement, atomic without BEGIN and COMMIT around it (two
        // round trips fewer for a batch of reads and searches).
        let mut c = pool.acquire().await?;
        return insert_rows(&mut *c, rows).await;
    }
    let mut t = pool.begin().await?;
    for (w, _) in writes {
        run_statements(&mut t, w).await?;
    }
    insert_rows(&mut *t, rows).await?;
    t.commit().await
}

async fn commit(
    pool: &PgPool,
    writes: Vec<(Statements, Answer)>,
    audits: Vec<AuditWait>,
    counters: &Counters,
) {
    // The audit-only rows first, then the writes' own: on a retry each write takes its own.
    let mut rows: Vec<AuditRow> = Vec::new();
    let mut waits = Vec::with_capacity(audits.len());
    for (r, done) in audits {
        rows.extend(r);
        waits.push(done);
    }
    let audit_only = rows.len();
    rows.extend(writes.iter().flat_map(|(w, _)| w.audit.iter().cloned()));
    counters.commits.fetch_add(1, Ordering::Relaxed);
    counters
        .jobs
        .fetch_add(writes.len() as u64, Ordering::Relaxed);
    counters
        .audit_rows
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    counters
        .largest_batch
        .fetch_max((writes.len() + waits.len()) as u64, Ordering::Relaxed);
    let audit_result = match together(pool, &writes, &rows).await {
        Ok(()) => {
            for (_, done) in writes {
                let _ = done.send(Ok(()));
            }
            Ok(())
        }
        Err(e) if writes.is_empty() => Err(e.to_string()),
        Err(_) => {
            // Nothing of the batch stayed: each write again on its own, then the audit rows.
            for (w, done) in writes {
                let _ = done.send(alone(pool, &w).await);
            }
            together(pool, &[], &rows[..audit_only])
                .await
                .map_err(|e| e.to_string())
        }
    };
    for w in waits {
        let _ = w.send(audit_result.clone());
    }
}

/// The PostgreSQL writer task: batches audit entries and statement writes until shut down.
pub(super) async fn run_batches(
    pool: PgPool,
    mut rx: mpsc::Receiver<Msg>,
    counters: Arc<Counters>,
) {
    let running = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let mut writes = Vec::new();
        let mut audits = Vec::new();
        let mut stop = None;
        for m in drain(first, &mut rx) {
            match m {
                Msg::Audit { rows, done } => audits.push((rows, done)),
                Msg::Statements { w, done } => writes.push((w, done)),
                Msg::Checkpoint(done) => {
                    let _ = done.send(Ok(()));
                }
                Msg::Shutdown(done) => stop = Some(done),
                Msg::Job { run, .. } => {
                    // Not sent on PostgreSQL (jobs run directly); answer it properly anyway.
                    let (_, done) = run(None).await;
                    done(Some("write jobs run directly on PostgreSQL".into()));
                }
            }
        }
        if !writes.is_empty() || !audits.is_empty() {
            // A few batches at once, each on its own connection: the next one gathers while
            // the last commits.
            let Ok(permit) = running.clone().acquire_owned().await else {
                return;
            };
            let (pool, counters) = (pool.clone(), counters.clone());
            tokio::spawn(async move {
                commit(&pool, writes, audits, &counters).await;
                drop(permit);
            });
        }
        if let Some(done) = stop {
            // Every batch under way ends first.
            let _ = running.acquire_many(IN_FLIGHT as u32).await;
            let _ = done.send(());
            return;
        }
    }
}
