//! PostgreSQL's batches: audit entries on their own (reads, searches) and statement-list writes
//! (registrations) from many requests go into one transaction, committed once, then each
//! request is answered (group commit, as on SQLite). Every other write is a transaction of its
//! own (`writer.rs`, `pg_job`). Statement writes run without savepoints; if one fails, the
//! batch is rolled back and each write is run again in a transaction of its own, so the failing
//! one alone fails, with its error (a duplicate key is a conflict, `error.rs`).
//!
//! When every write of a batch is row inserts ([`Statements::push_rows`]), the batch is one
//! statement: the rows of each shape from every write as one `UNNEST` insert in a `WITH` part,
//! the audit rows as the main insert. A single statement is atomic on its own (no BEGIN, no
//! COMMIT), and foreign keys are checked at its end, so the parts see each other's rows. A
//! batch of k registrations is then one round trip where it was 2k + 3.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::statements::{ColType, RowShape, Statements};
use super::writer::{drain, AuditWait, Counters, Msg};
use crate::audit::{insert_rows, AuditRow};
use crate::error::AppError;

type Answer = oneshot::Sender<Result<(), AppError>>;

/// Batches committing at once.
const IN_FLIGHT: usize = 3;

async fn run_statements(c: &mut sqlx::PgConnection, w: &Statements) -> Result<(), sqlx::Error> {
    for s in &w.stmts {
        crate::bind_args!(sqlx::query(&s.sql), &s.args)
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

/// `INSERT INTO table (a, b) SELECT * FROM UNNEST($first::text[], $first+1::int8[])`: any number
/// of rows of `shape`, one array a column.
pub(crate) fn unnest_insert(shape: &RowShape, first: usize) -> String {
    let arrays: Vec<String> = shape
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            let cast = match ty {
                ColType::Text => "text[]",
                ColType::Int => "int8[]",
            };
            format!("${}::{cast}", first + i)
        })
        .collect();
    format!(
        "INSERT INTO {} SELECT * FROM UNNEST({})",
        shape.target(),
        arrays.join(", ")
    )
}

/// A column's values from every row of a shape.
enum Column<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
}

/// The batch's writes as one statement, if every statement of every write is a row insert
/// whose values fit its columns' types: the statement text and the arrays to bind, in order.
fn merged<'a>(
    writes: &'a [(Statements, Answer)],
    audit_rows: bool,
) -> Option<(String, Vec<Column<'a>>)> {
    // Each shape's values from every write, shapes in the order first met.
    let mut shapes: Vec<(&'static RowShape, Vec<&'a crate::db::Arg>)> = Vec::new();
    for (w, _) in writes {
        for s in &w.stmts {
            let shape = s.rows?;
            match shapes.iter_mut().find(|(sh, _)| std::ptr::eq(*sh, shape)) {
                Some((_, values)) => values.extend(&s.args),
                None => shapes.push((shape, s.args.iter().collect())),
            }
        }
    }
    let mut columns = Vec::new();
    let mut parts = Vec::with_capacity(shapes.len());
    for (shape, values) in &shapes {
        let width = shape.columns.len();
        if width == 0 || !values.len().is_multiple_of(width) {
            return None;
        }
        parts.push(unnest_insert(shape, columns.len() + 1));
        for (c, (_, ty)) in shape.columns.iter().enumerate() {
            let cells = values.iter().skip(c).step_by(width);
            columns.push(match ty {
                ColType::Text => Column::Text(
                    cells
                        .map(|a| match a {
                            crate::db::Arg::Text(t) => Some(Some(t.as_str())),
                            crate::db::Arg::Null => Some(None),
                            crate::db::Arg::Int(_) => None,
                        })
                        .collect::<Option<_>>()?,
                ),
                ColType::Int => Column::Int(
                    cells
                        .map(|a| match a {
                            crate::db::Arg::Int(i) => Some(Some(*i)),
                            crate::db::Arg::Null => Some(None),
                            crate::db::Arg::Text(_) => None,
                        })
                        .collect::<Option<_>>()?,
                ),
            });
        }
    }
    let main = if audit_rows {
        unnest_insert(&crate::audit::SHAPE, columns.len() + 1)
    } else {
        parts.pop()?
    };
    let with: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("w{i} AS ({p})"))
        .collect();
    let sql = if with.is_empty() {
        main
    } else {
        format!("WITH {} {main}", with.join(", "))
    };
    Some((sql, columns))
}

/// The batch in one transaction: every write, then every audit row, then COMMIT; or, when
/// every write is row inserts, all of it as one statement ([`merged`]).
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
    if let Some((sql, columns)) = merged(writes, !rows.is_empty()) {
        let mut q = sqlx::query(&sql);
        for c in columns {
            q = match c {
                Column::Text(v) => q.bind(v),
                Column::Int(v) => q.bind(v),
            };
        }
        if !rows.is_empty() {
            q = crate::audit::bind_pg(q, rows);
        }
        let mut c = pool.acquire().await?;
        q.execute(&mut *c).await?;
        return Ok(());
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
