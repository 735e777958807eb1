//! Versioned schema migrations, contributed by each module and run at start-up.
//!
//! A migration has one body of DDL that both backends accept, or a per-dialect body where
//! they differ (auto-increment, triggers). Version numbers are the same on both backends:
//! platform owns 1–99, registry 100–199, each later module the next hundred.
//!
//! Columns scanned by prefix range (`col >= 'x' AND col < 'y'`: organisation paths, search
//! terms) must compare by code point on both backends, whatever the PostgreSQL database's
//! locale: write them `TEXT COLLATE BINARY` (SQLite's spelling); on PostgreSQL the runner
//! turns that into `COLLATE "C"`.
use crate::db::{Backend, Db};
use crate::error::AppError;
use crate::{tx_exec, with_db, with_tx};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    /// A migration whose SQL is the same on both backends.
    pub const fn same(version: i64, name: &'static str, sql: &'static str) -> Self {
        Migration {
            version,
            name,
            sqlite: sql,
            postgres: sql,
        }
    }

    /// The SQL this backend runs.
    pub fn sql(&self, backend: Backend) -> std::borrow::Cow<'static, str> {
        match backend {
            Backend::Sqlite => self.sqlite.into(),
            Backend::Postgres => self
                .postgres
                .replace("COLLATE BINARY", "COLLATE \"C\"")
                .into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) failed: {message}")]
    Failed {
        version: i64,
        name: &'static str,
        message: String,
    },
    #[error("two migrations share version {0}")]
    DuplicateVersion(i64),
    #[error("database error while migrating: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database error while migrating: {0}")]
    App(String),
    #[error(
        "the database has migration {0}, which this build does not know: is it an older binary?"
    )]
    Unknown(i64),
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// Apply every migration not yet applied, each in its own transaction, in version order.
/// Returns the versions applied now.
pub async fn run(db: &Db, migrations: &[Migration], now: &str) -> Result<Vec<i64>, MigrateError> {
    let mut sorted: Vec<Migration> = migrations.to_vec();
    sorted.sort_by_key(|m| m.version);
    for w in sorted.windows(2) {
        if w[0].version == w[1].version {
            return Err(MigrateError::DuplicateVersion(w[0].version));
        }
    }
    db.write(now.to_string(), |tx| {
        Box::pin(async move {
            tx_exec!(tx, sqlx::query(CREATE_TABLE))?;
            Ok(())
        })
    })
    .await
    .map_err(|e| MigrateError::App(e.to_string()))?;
    let done = applied(db).await?;
    if let Some(v) = done
        .iter()
        .find(|v| !sorted.iter().any(|m| m.version == **v))
    {
        return Err(MigrateError::Unknown(*v));
    }
    let backend = db.backend();
    let mut now_applied = Vec::new();
    for m in sorted.iter().filter(|m| !done.contains(&m.version)) {
        let sql = m.sql(backend).into_owned();
        let version = m.version;
        let name = m.name;
        let r: Result<(), AppError> = db
            .write(now.to_string(), move |tx| {
                Box::pin(async move {
                    let now = tx.now().to_string();
                    with_tx!(tx, c => sqlx::Executor::execute(&mut *c, sql.as_str()).await.map(|_| ()))
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                    tx_exec!(tx, sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(version).bind(name).bind(&now))?;
                    Ok(())
                })
            })
            .await;
        r.map_err(|e| MigrateError::Failed {
            version,
            name,
            message: match e {
                AppError::Internal(m) => m,
                other => other.to_string(),
            },
        })?;
        now_applied.push(m.version);
    }
    Ok(now_applied)
}

pub async fn applied(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    with_db!(db, pool => sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(pool).await)
}
