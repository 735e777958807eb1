//! One data layer over SQLite (embedded, default) and PostgreSQL (regional deployment).
//!
//! Reads run on a pool and are written once in SQL both dialects accept (`$1` placeholders,
//! TEXT dates, BIGINT counters), through [`with_db!`]. Every write runs through
//! [`Db::write`]: a closure that gets a [`Tx`], whose queries go through [`with_tx!`] and whose
//! audit entries ([`Tx::audit`]) are inserted in the same transaction. On SQLite one writer task
//! owns the only writing connection and commits the jobs of many concurrent requests together
//! (group commit, each job in its own savepoint); on PostgreSQL each write is its own
//! transaction, run to the end even when the client has gone. See ARCHITECTURE.md "Writes".
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

use crate::audit::AuditRow;
use crate::error::AppError;

mod checkpointer;
pub mod direct;
mod fast;
pub mod lookups;
pub(crate) mod pg;
pub(crate) mod statements;
mod writer;

pub use direct::DirectReaders;
pub use lookups::Lookup;
pub use statements::{ColType, RowShape, Statements};
pub use writer::WriterStats;

/// The read pools.
#[derive(Clone, Debug)]
pub enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database: read pool plus the write path. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
    writer: writer::Writer,
    /// SQLite file databases: read connections used on the asking thread ([`direct`]).
    direct: Option<std::sync::Arc<DirectReaders>>,
    /// SQLite files: moves the WAL into the database beside the writer ([`checkpointer`]).
    _checkpointer: Option<checkpointer::Checkpointer>,
    /// PostgreSQL: reads by key of concurrent requests, one query for many ([`lookups`]).
    lookups: std::sync::Arc<lookups::Lookups>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.backend().name())
    }
}

/// Run the same query body against whichever read pool is configured.
///
/// ```text
/// let n: i64 = with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await)?;
/// ```
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match ($db).pools() {
            $crate::db::Pools::Sqlite($pool) => $body,
            $crate::db::Pools::Postgres($pool) => $body,
        }
    };
}

/// Run the same query body on the connection of a write transaction.
///
/// ```text
/// with_tx!(tx, c => sqlx::query("UPDATE lots SET qty = qty - 1 WHERE id = $1").bind(id).execute(c).await)?;
/// ```
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match ($tx).conn() {
            $crate::db::TxConn::Sqlite($c) => $body,
            $crate::db::TxConn::Postgres($c) => $body,
        }
    };
}

/// Execute one statement in a write transaction; evaluates to the rows it affected.
///
/// ```text
/// let n = tx_exec!(tx, sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&id))?;
/// ```
#[macro_export]
macro_rules! tx_exec {
    ($tx:expr, $q:expr) => {
        $crate::with_tx!($tx, c => $q.execute(&mut *c).await.map(|r| r.rows_affected()))
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database URL not understood ({0}); use sqlite://FILE or postgres://USER@HOST/DB")]
    Url(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] sqlx::Error),
}

/// The connection a write job runs on, inside its transaction.
pub enum TxConn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

pub(crate) enum TxInner {
    Sqlite(SqliteConnection),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A write transaction: its connection, the time it started (the time of its audit entries)
/// and the audit entries to insert with it.
pub struct Tx {
    inner: TxInner,
    now: String,
    audit: Vec<AuditRow>,
}

impl Tx {
    pub fn conn(&mut self) -> TxConn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(c) => TxConn::Sqlite(c),
            TxInner::Postgres(t) => TxConn::Postgres(t),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The time this write happened, as stored text (`2026-11-22T07:21:34Z`).
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Record an audit entry; it is inserted in this transaction and commits with it.
    pub fn audit(&mut self, row: AuditRow) {
        self.audit.push(row);
    }

    pub(crate) fn take_audit(&mut self) -> Vec<AuditRow> {
        std::mem::take(&mut self.audit)
    }
}

/// What a write job is: a closure over the transaction. The future must own what it uses
/// (`move`), because it may run after the request that submitted it has gone.
pub trait WriteFn<R>:
    for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<R, AppError>> + Send + 'static
{
}
impl<R, F> WriteFn<R> for F where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<R, AppError>> + Send + 'static
{
}

/// Connection settings an operator may choose.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// SQLite `synchronous`: NORMAL (default) survives a killed process; FULL also a power cut.
    pub sqlite_sync_full: bool,
    /// Connections in the read pool.
    pub pool_size: u32,
    /// SQLite: run the hottest reads on the asking thread ([`direct`]); off, they go through
    /// the read pool like every other read (for comparison).
    pub sqlite_direct_reads: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            sqlite_sync_full: false,
            // Each SQLite connection is a thread of its own: on a small server a few readers
            // beat many (less switching); PostgreSQL gets twice this.
            pool_size: 4,
            sqlite_direct_reads: true,
        }
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The read pool (use [`with_db!`]).
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// The value `def` reads for `key`, read in one query with other requests' keys
    /// (PostgreSQL only: SQLite reads by key on the asking thread, [`Db::direct`]).
    pub async fn lookup<T: Clone + Send + Sync + 'static>(
        &self,
        def: &'static Lookup<T>,
        key: &str,
    ) -> Result<Option<T>, AppError> {
        self.lookups.get(def, key).await
    }

    /// Readers on the asking thread, for a few hot, short reads (SQLite files only).
    pub fn direct(&self) -> Option<&DirectReaders> {
        self.direct.as_deref()
    }

    /// Open the database named by `url`, or the SQLite file `tianshan.db` inside `data_dir`.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Db, DbOpenError> {
        Self::open_with(url, data_dir, &DbOptions::default()).await
    }

    pub async fn open_with(
        url: Option<&str>,
        data_dir: &Path,
        o: &DbOptions,
    ) -> Result<Db, DbOpenError> {
        match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let opts =
                    PgConnectOptions::from_str(u).map_err(|e| DbOpenError::Url(e.to_string()))?;
                let lookups = lookups::Lookups::postgres(opts.clone());
                let pool = PgPoolOptions::new()
                    .max_connections(o.pool_size.max(2) * 2)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                let writer = writer::Writer::postgres(pool.clone());
                Ok(Db {
                    pools: Pools::Postgres(pool),
                    writer,
                    direct: None,
                    _checkpointer: None,
                    lookups: std::sync::Arc::new(lookups),
                })
            }
            Some(u) if u.starts_with("sqlite:") => {
                let opts = SqliteConnectOptions::from_str(u)
                    .map_err(|e| DbOpenError::Url(e.to_string()))?
                    .create_if_missing(true);
                Self::open_sqlite(opts, o).await
            }
            Some(u) => Err(DbOpenError::Url(u.to_string())),
            None => {
                std::fs::create_dir_all(data_dir).map_err(|source| DbOpenError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                let opts = SqliteConnectOptions::new()
                    .filename(data_dir.join("tianshan.db"))
                    .create_if_missing(true);
                Self::open_sqlite(opts, o).await
            }
        }
    }

    async fn open_sqlite(opts: SqliteConnectOptions, o: &DbOptions) -> Result<Db, DbOpenError> {
        let file = opts.get_filename().to_path_buf();
        // WAL lets the server and CLI commands (backup, user add) work on one file at once, and
        // readers never wait for the writer. NORMAL writes each commit to the WAL before it
        // returns: a killed process loses nothing committed; FULL also syncs it to the disk.
        let sync = if o.sqlite_sync_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        // Memory is bounded and given back: readers keep 2 MB of pages each, the writer 8 MB
        // (index pages of the tables it fills), no memory map of the file (its pages would count
        // as the server's memory; the operating system's file cache serves reads as well).
        let base = opts
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .synchronous(sync)
            .pragma("cache_size", "-2000")
            .pragma("mmap_size", "0")
            .pragma("temp_store", "memory");
        let write_opts = base
            .clone()
            .pragma("cache_size", "-8000")
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("journal_size_limit", "67108864");
        use sqlx::ConnectOptions;
        let mut conn = write_opts.connect().await?;
        let on_disk = !file.as_os_str().is_empty() && file != Path::new(":memory:");
        let checkpointer = if on_disk {
            checkpointer::Checkpointer::start(file.clone())
        } else {
            None
        };
        if checkpointer.is_some() {
            sqlx::query("PRAGMA wal_autocheckpoint = 0")
                .execute(&mut conn)
                .await?;
        }
        // Readers beyond the first close after half a minute idle, and their page caches with
        // them: a server that has gone quiet gives its memory back.
        let pool = SqlitePoolOptions::new()
            .max_connections(o.pool_size.max(1))
            .min_connections(1)
            .idle_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        let fast = on_disk.then(|| fast::FastOpen {
            path: file.clone(),
            sync_full: o.sqlite_sync_full,
            copied: checkpointer.as_ref().map(|c| c.copied.clone()),
        });
        let writer = writer::Writer::sqlite(conn, checkpointer.is_none(), fast);
        let direct = (o.sqlite_direct_reads && on_disk)
            .then(|| DirectReaders::start(file, o.pool_size.max(1) as usize));
        Ok(Db {
            pools: Pools::Sqlite(pool),
            writer,
            direct,
            lookups: Default::default(),
            _checkpointer: checkpointer,
        })
    }

    /// Run `f` in a write transaction and commit; its audit entries commit with it. The
    /// result is returned only once the transaction is committed (durable).
    pub async fn write<R, F>(&self, now: String, f: F) -> Result<R, AppError>
    where
        R: Send + 'static,
        F: WriteFn<R>,
    {
        self.writer.write(now, f).await
    }

    /// Run a write given as statements (see [`Statements`]) and commit; its audit entries
    /// commit with it. Returns once the transaction is committed (durable).
    pub async fn write_statements(&self, w: Statements) -> Result<(), AppError> {
        self.writer.write_statements(w).await
    }

    /// Insert audit entries on their own (a read, a search, a refusal) and wait until they are
    /// committed. Many requests' entries are committed together.
    pub async fn audit(&self, rows: Vec<AuditRow>) -> Result<(), AppError> {
        self.writer.audit(rows).await
    }

    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Is the database answering? Used by `/healthz`.
    pub async fn ping(&self) -> bool {
        let r: Result<i32, sqlx::Error> =
            with_db!(self, pool => sqlx::query_scalar("SELECT 1").fetch_one(pool).await);
        r.is_ok()
    }

    /// Finish queued writes, checkpoint SQLite's WAL into the database file, close.
    pub async fn close(&self) {
        self.writer.shutdown().await;
        with_db!(self, pool => pool.close().await)
    }

    /// Move SQLite's WAL into the database file and truncate it (no-op on PostgreSQL).
    pub async fn checkpoint(&self) -> Result<(), AppError> {
        self.writer.checkpoint().await
    }
}

/// Upper bound for a prefix range scan: `col >= prefix AND col < prefix_end(prefix)`.
/// Index-friendly on both backends, unlike `LIKE 'x%'`, whose optimisation depends on collation.
pub fn prefix_end(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Empty prefix: everything sorts below this.
    "\u{10FFFF}".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_char() {
        assert_eq!(prefix_end("zs"), "zt");
        assert_eq!(prefix_end("/650000/"), "/6500000");
        assert_eq!(
            prefix_end("张"),
            "张"
                .chars()
                .map(|c| char::from_u32(c as u32 + 1).unwrap())
                .collect::<String>()
        );
    }
}

/// A bind value for SQL assembled at run time (search filters): text or integer, the two
/// types every Tianshan column uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// Bind a list of [`Arg`]s onto a query in order.
#[macro_export]
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                $crate::db::Arg::Text(s) => q.bind(s.clone()),
                $crate::db::Arg::Int(i) => q.bind(*i),
                $crate::db::Arg::Null => q.bind(Option::<String>::None),
            };
        }
        q
    }};
}

/// Collects WHERE clauses and their binds with `$n` numbering that works on both backends.
#[derive(Debug, Default)]
pub struct Where {
    pub clauses: Vec<String>,
    pub args: Vec<Arg>,
}

impl Where {
    /// Add a bind and return its placeholder.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// `($1, $2, $3), ($4, $5, $6), ...`: the VALUES list of a multi-row insert.
pub fn values_list(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 4);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

impl<'a> From<&'a mut SqliteConnection> for TxConn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        TxConn::Sqlite(c)
    }
}

impl<'a> From<&'a mut PgConnection> for TxConn<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        TxConn::Postgres(c)
    }
}
