//! One data layer over SQLite (embedded, default) and PostgreSQL (regional deployment).
//!
//! Queries are written once in SQL that both dialects accept (`$1` placeholders, TEXT dates,
//! BIGINT counters) and run through [`with_db!`], which expands the same body for each pool.
//! Only where the SQL really differs does a caller branch on [`Db::backend`].
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Debug)]
pub enum Db {
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

/// Run the same query body against whichever pool is configured.
///
/// ```text
/// let n: i64 = with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await)?;
/// ```
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
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

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Open the database named by `url`, or the SQLite file `tianshan.db` inside `data_dir`.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Db, DbOpenError> {
        match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let opts =
                    PgConnectOptions::from_str(u).map_err(|e| DbOpenError::Url(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            Some(u) if u.starts_with("sqlite:") => {
                let opts = SqliteConnectOptions::from_str(u)
                    .map_err(|e| DbOpenError::Url(e.to_string()))?
                    .create_if_missing(true);
                Self::open_sqlite(opts).await
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
                Self::open_sqlite(opts).await
            }
        }
    }

    async fn open_sqlite(opts: SqliteConnectOptions) -> Result<Db, DbOpenError> {
        // WAL lets the server and CLI commands (backup, user add) work on one file at once.
        let opts = opts
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-16000");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(opts)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// Is the database answering? Used by `/healthz`.
    pub async fn ping(&self) -> bool {
        let r: Result<i32, sqlx::Error> =
            with_db!(self, pool => sqlx::query_scalar("SELECT 1").fetch_one(pool).await);
        r.is_ok()
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
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
