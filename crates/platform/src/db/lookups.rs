//! Reads of one row by key (a patient by id) from many concurrent requests, run as one query
//! on PostgreSQL (`FROM UNNEST($1::text[]) AS k(id) JOIN t ON t.id = k.id`), each request then
//! given its own row. On a busy server a query's cost is mostly its round trip: the message to
//! the database process, waking it, starting the executor, the answer. One query for the keys
//! of every request that arrived meanwhile pays that once. A request that finds no lookup under way is sent at once, so a
//! quiet server adds no wait; under load a few lookups run at once, and what arrives during
//! them forms the next. Each query starts after its requests arrived, so it sees every write
//! acknowledged before them (the same as a query of its own).
//!
//! Lookups have connections of their own (two), set for what they do, probing an index per key:
//! - `plan_cache_mode = force_generic_plan`: left to choose, PostgreSQL planned the query again
//!   each time (a plan for an array of unknown length looked dearer than one for the array at
//!   hand), and planning cost three times the query;
//! - `enable_seqscan = off`: the one plan is made from the statistics of its time; made while a
//!   table was small it was a scan of the whole table, kept while the table grew (0.5 ms a
//!   query after a minute of registrations, against 0.03 ms).
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::AppError;

/// A read by key: `sql` selects the rows whose key is in `$1` (a text array, without repeats;
/// join its `UNNEST` to the table), `decode` gives a row's key and the value a request receives.
pub struct Lookup<T> {
    pub sql: &'static str,
    pub decode: fn(&PgRow) -> Result<(String, T), sqlx::Error>,
}

/// Lookups under way at once, each on a connection of [`Lookups`]' pool (one gave a little more
/// on reads alone, two more on the mix of reads, searches and registrations).
const IN_FLIGHT: usize = 2;
/// Keys in one query at most.
const MAX_KEYS: usize = 64;

type Answer<T> = oneshot::Sender<Result<Option<T>, AppError>>;

/// The lookups' connections and each [`Lookup`]'s queue, started on first use (keyed by the
/// lookup's address: they are statics).
#[derive(Default)]
pub(crate) struct Lookups {
    pool: Option<PgPool>,
    queues: Mutex<HashMap<usize, Box<dyn Any + Send + Sync>>>,
}

impl Lookups {
    /// Lookups on a PostgreSQL database: connections made when first needed, with the read
    /// pool's options, one generic plan per query and index probes (see above).
    pub(crate) fn postgres(opts: PgConnectOptions) -> Lookups {
        let pool = PgPoolOptions::new()
            .max_connections(IN_FLIGHT as u32)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(opts.options([
                ("plan_cache_mode", "force_generic_plan"),
                ("enable_seqscan", "off"),
            ]));
        Lookups {
            pool: Some(pool),
            queues: Mutex::default(),
        }
    }

    /// The row of `key`, read with those of the requests beside it.
    pub(crate) async fn get<T: Clone + Send + Sync + 'static>(
        &self,
        def: &'static Lookup<T>,
        key: &str,
    ) -> Result<Option<T>, AppError> {
        let Some(pool) = &self.pool else {
            return Err(AppError::Internal(
                "batched lookups are for PostgreSQL".into(),
            ));
        };
        let queue = {
            let mut map = match self.queues.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            let entry = map
                .entry(def as *const Lookup<T> as usize)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::channel::<(String, Answer<T>)>(4096);
                    tokio::spawn(serve(pool.clone(), def, rx));
                    Box::new(tx)
                });
            entry
                .downcast_ref::<mpsc::Sender<(String, Answer<T>)>>()
                .cloned()
                .ok_or_else(|| AppError::Internal("lookup queue of another type".into()))?
        };
        let (done, answer) = oneshot::channel();
        queue
            .send((key.to_string(), done))
            .await
            .map_err(|_| AppError::Internal("lookup queue closed".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("lookup ended without an answer".into()))?
    }
}

/// Take the waiting requests, a batch at a time, while fewer than [`IN_FLIGHT`] run.
async fn serve<T: Clone + Send + Sync + 'static>(
    pool: PgPool,
    def: &'static Lookup<T>,
    mut rx: mpsc::Receiver<(String, Answer<T>)>,
) {
    let running = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(permit) = running.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_KEYS {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            answer(&pool, def, batch).await;
            drop(permit);
        });
    }
}

async fn answer<T: Clone>(pool: &PgPool, def: &Lookup<T>, batch: Vec<(String, Answer<T>)>) {
    let mut keys: Vec<&str> = batch.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let found = match sqlx::query(def.sql).bind(&keys).fetch_all(pool).await {
        Ok(rows) => rows
            .iter()
            .map(def.decode)
            .collect::<Result<HashMap<String, T>, _>>(),
        Err(e) => Err(e),
    };
    match found {
        Ok(found) => {
            for (k, done) in batch {
                let _ = done.send(Ok(found.get(&k).cloned()));
            }
        }
        Err(e) => {
            // Every request of the batch fails with it (a pool timeout stays one).
            for (_, done) in batch {
                let _ = done.send(Err(match &e {
                    sqlx::Error::PoolTimedOut => AppError::Db(sqlx::Error::PoolTimedOut),
                    other => AppError::Internal(format!("database read: {other}")),
                }));
            }
        }
    }
}
