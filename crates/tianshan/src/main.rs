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
    /// `mi_option_arena_eager_commit` in mimalloc.h (v2, the version the `mimalloc` crate
    /// builds by default); libmimalloc-sys does not export the constant.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

    extern "C" fn set() {
        // SAFETY: mi_option_set_default only stores an integer in mimalloc's option table; it
        // allocates nothing and is valid before mimalloc is initialised.
        unsafe { libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0) }
    }
    #[used]
    #[link_section = ".init_array"]
    static SET: extern "C" fn() = set;

    /// SQLite allocates its page caches with the C library's malloc, whose per-thread arenas
    /// keep freed pages resident after a burst of load (measured: +14 MB that never fell
    /// back). Once a minute, hand the free pages of every arena back to the system; with
    /// small heaps the walk takes well under a millisecond.
    #[cfg(target_env = "gnu")]
    pub fn trim_c_heap_periodically() {
        let spawned = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
                // SAFETY: malloc_trim takes the allocator's own locks; it is safe to call
                // from any thread at any time.
                unsafe {
                    libc::malloc_trim(0);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the heap trimmer: {e}");
        }
    }
}
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_env("TIANSHAN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = tianshan::cli::Cli::parse();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    allocator_options::trim_c_heap_periodically();
    match tianshan::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tianshan::cli::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
