//! SQLite reads on the asking thread, for the hottest read paths (a patient by id, a patient
//! search). sqlx-sqlite runs each connection on a thread of its own and hands it every
//! statement and every row back: two thread switches and futex wake-ups a statement, which on
//! a two-core server cost more than the query itself (docs/benchmarks.md, "Request path").
//! These connections are read-only, opened on the same file with the read pool's settings; a
//! caller runs one short, bounded statement on one of them directly and gives it back.
//!
//! Only for statements that finish in well under a millisecond or are bounded by a `LIMIT`:
//! the runtime thread waits for SQLite meanwhile. Writes never come here (the writer in
//! `writer.rs` is the only one), and neither does PostgreSQL ([`crate::db::Db::direct`] is
//! `None` there, and for an in-memory SQLite database).
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub use rusqlite::{self, Row};
use rusqlite::{Connection, OpenFlags, Statement};

use crate::db::Arg;
use crate::error::AppError;

/// A connection closes when it has not been used for this long, and its page cache with it.
const IDLE: Duration = Duration::from_secs(30);

pub struct DirectReaders {
    path: PathBuf,
    idle: Mutex<Vec<(Connection, Instant)>>,
    keep: usize,
}

impl std::fmt::Debug for DirectReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirectReaders({})", self.path.display())
    }
}

fn failed(e: rusqlite::Error) -> AppError {
    AppError::Internal(format!("database read: {e}"))
}

impl DirectReaders {
    /// Readers of the SQLite file at `path`, keeping at most `keep` idle; a task closes those
    /// idle for half a minute (it ends when the readers are dropped).
    pub(crate) fn start(path: PathBuf, keep: usize) -> Arc<DirectReaders> {
        let r = Arc::new(DirectReaders {
            path,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
        });
        let weak: Weak<DirectReaders> = Arc::downgrade(&r);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut tick = tokio::time::interval(IDLE / 3);
                loop {
                    tick.tick().await;
                    let Some(r) = weak.upgrade() else { return };
                    r.close_idle();
                }
            });
        }
        r
    }

    fn close_idle(&self) {
        let stale: Vec<(Connection, Instant)> = match self.idle.lock() {
            Ok(mut v) => {
                let (keep, stale) = v.drain(..).partition(|(_, at)| at.elapsed() < IDLE);
                *v = keep;
                stale
            }
            Err(_) => Vec::new(),
        };
        drop(stale);
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(Duration::from_secs(10))?;
        // The read pool's settings (db.rs): 2 MB of pages, no memory map.
        c.execute_batch(
            "PRAGMA cache_size = -2000; PRAGMA mmap_size = 0; PRAGMA temp_store = memory;",
        )?;
        c.set_prepared_statement_cache_capacity(32);
        Ok(c)
    }

    /// Run `f` on an idle connection (or a new one), then give the connection back.
    fn with<R>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> Result<R, AppError> {
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match reused {
            Some((c, _)) => c,
            None => self.open().map_err(failed)?,
        };
        let out = f(&conn);
        if let Ok(mut v) = self.idle.lock() {
            if v.len() < self.keep {
                v.push((conn, Instant::now()));
            }
        }
        out.map_err(failed)
    }

    /// The rows of `sql` (placeholders `$1`, `$2`, … as in the sqlx queries and [`crate::db::Where`],
    /// each bound to `params[N - 1]`), each turned into a value by `map`.
    pub fn rows<R>(
        &self,
        sql: &str,
        params: &[Arg],
        mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    ) -> Result<Vec<R>, AppError> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql)?;
            bind(&mut st, params)?;
            let mut rows = st.raw_query();
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(map(r)?);
            }
            Ok(out)
        })
    }

    /// The first row of `sql`, if any (see [`DirectReaders::rows`]).
    pub fn row<R>(
        &self,
        sql: &str,
        params: &[Arg],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<R>,
    ) -> Result<Option<R>, AppError> {
        self.with(|c| {
            let mut st = c.prepare_cached(sql)?;
            bind(&mut st, params)?;
            let mut rows = st.raw_query();
            match rows.next()? {
                Some(r) => Ok(Some(map(r)?)),
                None => Ok(None),
            }
        })
    }
}

/// Bind each `$N` of the statement to `params[N - 1]`, as sqlx does (SQLite numbers its
/// parameters by first appearance, which need not follow N).
pub(crate) fn bind(st: &mut Statement<'_>, params: &[Arg]) -> rusqlite::Result<()> {
    for i in 1..=st.parameter_count() {
        let name = st.parameter_name(i).unwrap_or("").to_string();
        let p = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| params.get(n))
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.clone()))?;
        match p {
            Arg::Text(s) => st.raw_bind_parameter(i, s.as_str())?,
            Arg::Int(v) => st.raw_bind_parameter(i, *v)?,
            Arg::Null => st.raw_bind_parameter(i, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_by_placeholder_number_and_gives_connections_back() {
        let dir = std::env::temp_dir().join(format!("tianshan-direct-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.db");
        {
            let c = Connection::open(&file).unwrap();
            c.execute_batch(
                "CREATE TABLE t (a TEXT, b INTEGER); INSERT INTO t VALUES ('x', 1), ('y', 2), ('z', 3);",
            )
            .unwrap();
        }
        let r = DirectReaders::start(file, 2);
        // $2 appears before $1 in the text: bound by number, not by place.
        let got = r
            .rows(
                "SELECT a FROM t WHERE b >= $2 AND a <> $1 ORDER BY a",
                &[Arg::Text("z".into()), Arg::Int(2)],
                |row| row.get::<_, String>(0),
            )
            .unwrap();
        assert_eq!(got, vec!["y".to_string()]);
        let one = r
            .row(
                "SELECT b FROM t WHERE a = $1",
                &[Arg::Text("x".into())],
                |row| row.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(one, Some(1));
        assert_eq!(r.idle.lock().unwrap().len(), 1, "the connection went back");
        // A missing parameter is an error, not a panic; a write is refused (read-only).
        assert!(r.rows("SELECT $3", &[Arg::Int(1)], |_| Ok(())).is_err());
        assert!(r
            .rows("INSERT INTO t VALUES ('w', 4) RETURNING a", &[], |_| Ok(()))
            .is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
