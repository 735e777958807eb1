//! `tianshan`: parse the command line, set up logging, run the command.
use clap::Parser;

// mimalloc gives memory back to the system once it is freed (glibc's per-thread arenas kept
// the demo load's password hashing, 19 MiB each, for the life of the process).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits its first arena eagerly by default; with transparent huge pages that keeps
/// ~20 MiB resident for a server that uses 5 (measured: idle RSS 41.5 MB → 26.7 MB). The
/// option must be set before the first allocation, which Rust's runtime makes before `main`,
/// so it is set from the ELF initialiser list. `MIMALLOC_ARENA_EAGER_COMMIT` still overrides.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod allocator_options {
    /// `mi_option_arena_eager_commit` in mimalloc.h (the same index in v2 and in v3, the
    /// version libmimalloc-sys builds by default); libmimalloc-sys does not export the constant.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    /// `mi_option_purge_delay` (index 15 in v2 and v3): how long freed pages wait before
    /// mimalloc gives them back. The default 10 ms gives back and faults in again many times
    /// a second under load (`madvise` and page faults were 6 % of a search load's samples);
    /// a quiet server still gives everything back at once (`return_free_memory_periodically`).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

    extern "C" fn set() {
        // SAFETY: mi_option_set_default only stores an integer in mimalloc's option table; it
        // allocates nothing and is valid before mimalloc is initialised.
        unsafe {
            libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 1000);
        }
    }
    #[used]
    #[link_section = ".init_array"]
    static SET: extern "C" fn() = set;

    /// Called by each runtime worker thread as it goes idle: at most once a second per thread,
    /// mimalloc frees the thread's empty pages (only the owning thread can).
    pub fn collect_when_idle() {
        use std::cell::Cell;
        use std::time::{Duration, Instant};
        thread_local! {
            static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
        }
        LAST.with(|last| {
            let now = Instant::now();
            if last
                .get()
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
            {
                last.set(Some(now));
                // SAFETY: mi_collect(false) collects the calling thread's own heap under
                // mimalloc's rules; any thread may call it at any time.
                unsafe { libmimalloc_sys::mi_collect(false) }
            }
        });
    }

    /// Freed memory is given back to the system by the allocators only when something asks:
    /// mimalloc purges its freed pages after a delay, but only when a thread next allocates, so
    /// a server that has gone quiet keeps what its last burst freed (measured after `serve
    /// --demo`: 19.5 MB anonymous memory; 7.1 MB with the purges done). SQLite's page caches
    /// live in the C library's malloc, whose per-thread arenas keep freed pages too (+14 MB
    /// after a load, never falling back). A thread asks both, shortly after start and then
    /// every ten seconds when the process has been quiet (under 2 % of a core since the last
    /// look): on a quiet heap each call takes well under a millisecond, but under load
    /// `malloc_trim` walks busy arenas holding their locks while SQLite allocates in them.
    pub fn return_free_memory_periodically() {
        let spawned = std::thread::Builder::new()
            .name("memory-trim".into())
            .spawn(|| {
                use std::time::Duration;
                let mut wait = Duration::from_secs(3);
                let mut before = cpu_time();
                loop {
                    std::thread::sleep(wait);
                    let now = cpu_time();
                    let busy = match (before, now) {
                        (Some(a), Some(b)) => b.saturating_sub(a) > wait / 50,
                        _ => false,
                    };
                    before = now;
                    wait = Duration::from_secs(10);
                    if busy {
                        continue;
                    }
                    // SAFETY: mi_collect(true) runs mimalloc's own collection for this thread
                    // and purges the freed pages of the process's arenas under mimalloc's
                    // locks; it may be called from any thread at any time.
                    unsafe { libmimalloc_sys::mi_collect(true) }
                    trim_c_heap();
                    // What the trim itself used does not count as the process being busy.
                    before = cpu_time();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the memory trimmer: {e}");
        }
    }

    /// CPU time the process has used (user and system), if the system says.
    fn cpu_time() -> Option<std::time::Duration> {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given and touches nothing else.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: getrusage returned 0, so it filled the struct (zeroed before in any case).
        let u = unsafe { u.assume_init() };
        let micros = |t: libc::timeval| {
            u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
        };
        Some(std::time::Duration::from_micros(
            micros(u.ru_utime) + micros(u.ru_stime),
        ))
    }

    #[cfg(target_env = "gnu")]
    fn trim_c_heap() {
        // SAFETY: malloc_trim takes the allocator's own locks; it is safe to call from any
        // thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    #[cfg(not(target_env = "gnu"))]
    fn trim_c_heap() {}

    /// SQLite's page caches live in the C library's heap. Under a search load each reader
    /// frees its whole cache whenever another connection has committed (WAL mode), and glibc
    /// gave the top of the heap back to the system and grew it again on almost every request
    /// (`sysmalloc` and its page faults: 9 % of the samples). The heap now keeps up to 64 MiB
    /// free at its top while the server is busy; a quiet server still trims it
    /// (`return_free_memory_periodically`). Blocks up to 32 MiB come from the heap rather
    /// than from a map of their own, which would be unmapped (and every core's TLB flushed)
    /// when freed.
    #[cfg(target_env = "gnu")]
    pub fn tune_c_heap() {
        // SAFETY: mallopt only sets the allocator's parameters; called before other threads.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
    }

    #[cfg(not(target_env = "gnu"))]
    pub fn tune_c_heap() {}
}
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    #[cfg(target_os = "linux")]
    allocator_options::tune_c_heap();
    let filter = EnvFilter::try_from_env("TIANSHAN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = tianshan::cli::Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    #[cfg(target_os = "linux")]
    {
        builder.on_thread_park(allocator_options::collect_when_idle);
        allocator_options::return_free_memory_periodically();
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The command runs on the runtime's worker threads, which give back what they freed when
    // they go idle; this thread only waits (it would keep the start-up's garbage for good).
    match runtime.block_on(async { tokio::spawn(tianshan::cli::run(cli)).await }) {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", tianshan::cli::error_text(&e));
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
