//! `tianshan`: parse the command line, set up logging, run the command.
use clap::Parser;

// mimalloc gives memory back to the system once it is freed (glibc's per-thread arenas kept
// the demo load's password hashing, 19 MiB each, for the life of the process).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
    match tianshan::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tianshan::cli::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
