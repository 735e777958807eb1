//! Where a benchmark runs: a fresh SQLite file (temporary, or kept in a given folder) or a
//! throw-away PostgreSQL database created on a server and dropped afterwards.
use std::path::{Path, PathBuf};

use tianshan_platform::db::{Db, Pools};

use crate::cli::CliError;

pub struct Target {
    /// The database URL to open; `None` for SQLite in `dir`.
    pub url: Option<String>,
    dir: Folder,
    /// (server URL, database name) of the throw-away PostgreSQL database.
    pg: Option<(String, String)>,
    /// Leave the PostgreSQL database in place.
    keep_pg: bool,
}

enum Folder {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

fn err(what: &str) -> impl Fn(sqlx::Error) -> CliError + '_ {
    move |e| CliError::Message(format!("{what}: {e}"))
}

impl Target {
    pub async fn create(
        server_url: Option<&str>,
        keep: Option<PathBuf>,
        keep_pg: bool,
    ) -> Result<Target, CliError> {
        let dir = match keep {
            Some(p) => {
                if p.join("tianshan.db").exists() {
                    return Err(CliError::Message(format!(
                        "{} already holds a database; give a new folder",
                        p.display()
                    )));
                }
                std::fs::create_dir_all(&p).map_err(|e| {
                    CliError::Message(format!("cannot create {}: {e}", p.display()))
                })?;
                Folder::Kept(p)
            }
            None => Folder::Temporary(
                tempfile::Builder::new()
                    .prefix("tianshan-bench-")
                    .tempdir()
                    .map_err(|e| {
                        CliError::Message(format!("cannot create a temporary folder: {e}"))
                    })?,
            ),
        };
        let Some(server) = server_url else {
            return Ok(Target {
                url: None,
                dir,
                pg: None,
                keep_pg,
            });
        };
        if !(server.starts_with("postgres://") || server.starts_with("postgresql://")) {
            return Err(CliError::Message("--database-url must be postgres://USER@HOST[:PORT]/DB (the benchmark creates its own database there)".into()));
        }
        let name = format!("tianshan_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(server)
            .await
            .map_err(|e| CliError::Message(e.to_string()))?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .map_err(err("CREATE DATABASE"))?;
        admin.close().await;
        let base = server.split('?').next().unwrap_or(server);
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
        Ok(Target {
            url: Some(format!("{base}/{name}")),
            dir,
            pg: Some((server.to_string(), name)),
            keep_pg,
        })
    }

    pub fn dir(&self) -> &Path {
        match &self.dir {
            Folder::Temporary(t) => t.path(),
            Folder::Kept(p) => p,
        }
    }

    /// Bytes the database takes on disk (SQLite: the file and its WAL after a checkpoint).
    pub async fn size_bytes(&self, db: &Db) -> Option<u64> {
        match db.pools() {
            Pools::Sqlite(_) => {
                let _ = db.checkpoint().await;
                let file = |s: &str| {
                    std::fs::metadata(self.dir().join(format!("tianshan.db{s}")))
                        .map(|m| m.len())
                        .unwrap_or(0)
                };
                Some(file("") + file("-wal") + file("-shm"))
            }
            Pools::Postgres(pool) => {
                let n: Result<i64, _> =
                    sqlx::query_scalar("SELECT pg_database_size(current_database())")
                        .fetch_one(pool)
                        .await;
                n.ok().map(|n| n as u64)
            }
        }
    }

    /// Drop the throw-away PostgreSQL database (unless it is to be kept); the temporary folder goes when `self` drops.
    pub async fn remove(self) {
        if let Some((_, name)) = self.pg.as_ref().filter(|_| self.keep_pg) {
            eprintln!("The PostgreSQL database {name} is kept");
        } else if let Some((server, name)) = &self.pg {
            if let Ok(pool) = sqlx::PgPool::connect(server).await {
                if let Err(e) =
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&pool)
                        .await
                {
                    eprintln!("could not drop the benchmark database {name}: {e}");
                }
                pool.close().await;
            }
        }
        if let Folder::Kept(p) = &self.dir {
            eprintln!("The database is kept in {}", p.display());
        }
    }
}
