//! SQLite's WAL moved into the database file beside the writer, not by it. SQLite checkpoints
//! on the committing connection when the WAL passes 1,000 pages: the single writer would copy
//! 4 MB and sync the file inside a commit while every write and every read's audit entry waits
//! (the 70–200 ms p99 stalls of docs/benchmarks.md, "Request path"). With the writer's
//! automatic checkpoint off, this thread runs a PASSIVE checkpoint (it never blocks the
//! writer or readers) whenever the WAL has grown past [`WAL_BYTES`]; the writer still
//! truncates the WAL when idle and at shutdown.
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Checkpoint once the WAL file is larger than this (SQLite's own default is 1,000 pages).
const WAL_BYTES: u64 = 4 * 1024 * 1024;
const POLL: Duration = Duration::from_millis(200);

/// Keeps the checkpointer running; it stops within [`POLL`] of the last clone being dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer(#[allow(dead_code)] Arc<()>);

impl Checkpointer {
    /// Start the thread for the database file at `path`; `None` if it cannot be started (the
    /// writer's own automatic checkpoint must then stay on).
    pub(crate) fn start(path: PathBuf) -> Option<Checkpointer> {
        let alive = Arc::new(());
        let weak: Weak<()> = Arc::downgrade(&alive);
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| {
            c.busy_timeout(Duration::from_secs(5))?;
            c.execute_batch("PRAGMA cache_size = -256;")?;
            Ok(c)
        });
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the WAL checkpointer; the writer checkpoints");
                return None;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while weak.upgrade().is_some() {
                    std::thread::sleep(POLL);
                    let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_BYTES);
                    if big {
                        if let Err(e) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            tracing::warn!(error = %e, "WAL checkpoint failed");
                        }
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Checkpointer(alive)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the WAL checkpointer; the writer checkpoints");
                None
            }
        }
    }
}
