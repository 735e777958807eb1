//! SQLite's WAL moved into the database file beside the writer, not by it. SQLite checkpoints
//! on the committing connection when the WAL passes 1,000 pages: the single writer would copy
//! 4 MB and sync the file inside a commit while every write and every read's audit entry waits
//! (the 70–200 ms p99 stalls of docs/benchmarks.md, "Request path"). With the writer's
//! automatic checkpoint off, this thread runs a PASSIVE checkpoint (it never blocks the
//! writer or readers) whenever the WAL has grown past [`WAL_BYTES`]; the writer still
//! truncates the WAL when idle and at shutdown.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Checkpoint once the WAL file is larger than this (SQLite's own default is 1,000 pages).
const WAL_BYTES: u64 = 4 * 1024 * 1024;
const POLL: Duration = Duration::from_millis(100);
/// After a checkpoint that copied frames, look again this soon: under load the WAL is moved and
/// started over many times a second, so it stays small and its file's blocks are reused.
const BUSY_POLL: Duration = Duration::from_millis(10);
/// The writer is told to finish the job once a checkpoint found no more than this many new
/// frames (1 MB): its own share of the copying then stalls writes for a moment only.
const TAIL_FRAMES: i64 = 256;

/// Keeps the checkpointer running; it stops within [`POLL`] of the last clone being dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    _alive: Arc<()>,
    /// Set after each checkpoint that copied frames: the writer may now copy the few frames
    /// committed meanwhile itself, so that its next transaction starts the WAL over from the
    /// beginning (SQLite restarts it only once every frame is in the database, which a
    /// checkpoint running beside a busy writer never achieves on its own; the WAL would grow
    /// by hundreds of megabytes a second, every new block of it zeroed by the kernel).
    pub(crate) copied: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Start the thread for the database file at `path`; `None` if it cannot be started (the
    /// writer's own automatic checkpoint must then stay on).
    pub(crate) fn start(path: PathBuf) -> Option<Checkpointer> {
        let alive = Arc::new(());
        let weak: Weak<()> = Arc::downgrade(&alive);
        let copied = Arc::new(AtomicBool::new(false));
        let tell = copied.clone();
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
                let mut pause = POLL;
                // Frames in the WAL at the previous checkpoint.
                let mut last_log = 0;
                while weak.upgrade().is_some() {
                    std::thread::sleep(pause);
                    pause = POLL;
                    let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_BYTES);
                    if !big {
                        continue;
                    }
                    // (busy, frames in the WAL, frames now in the database)
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    }) {
                        Ok((log, done)) if log > 0 && done > 0 => {
                            // Frames added since the previous checkpoint (all of them if the
                            // WAL started over meanwhile).
                            let new = if log >= last_log { log - last_log } else { log };
                            last_log = log;
                            if new <= TAIL_FRAMES {
                                // Caught up: what the writer would copy itself is small.
                                tell.store(true, Ordering::Release);
                                pause = BUSY_POLL;
                            } else {
                                // Copy what came meanwhile at once; it shrinks each round.
                                pause = Duration::ZERO;
                            }
                        }
                        Ok(_) => last_log = 0,
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Checkpointer {
                _alive: alive,
                copied,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the WAL checkpointer; the writer checkpoints");
                None
            }
        }
    }
}
