//! The command line: `serve`, `migrate`, `demo`, `user add`, `token create`, `backup`, `bench`.
use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tianshan_platform::auth;
use tianshan_platform::clock::Clock;
use tianshan_platform::db::{Db, Pools};
use tianshan_platform::users::{self, By, NewUser};

use crate::app::{self, StartError};

mod accounts;

use accounts::{token, user};

#[derive(Parser, Debug)]
#[command(
    name = "tianshan",
    version,
    about = "Tianshan medical-aid network platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Folder for the embedded SQLite database and backups.
    #[arg(long, env = "TIANSHAN_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// postgres://user@host/db to use PostgreSQL instead of the embedded SQLite file.
    #[arg(long, env = "TIANSHAN_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "TIANSHAN_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Load demo data into an empty database (does nothing to one that has data).
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (set when users reach the server over HTTPS).
        #[arg(long, env = "TIANSHAN_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Connections in the read pool (SQLite: each is a thread; PostgreSQL: twice this).
        #[arg(long, env = "TIANSHAN_DB_POOL_SIZE", default_value_t = 4)]
        db_pool_size: u32,
        /// SQLite: read a patient and search patients on the request's own thread (`on`), or
        /// through the read pool's connection threads like every other read (`off`).
        #[arg(long, env = "TIANSHAN_SQLITE_DIRECT_READS", default_value = "on", value_parser = ["on", "off"])]
        sqlite_direct_reads: String,
        /// SQLite durability: `normal` (a killed process loses nothing committed) or `full`
        /// (a power cut neither; each commit waits for the disk).
        #[arg(long, env = "TIANSHAN_SQLITE_SYNC", default_value = "normal", value_parser = ["normal", "full"])]
        sqlite_sync: String,
        /// Immunization schedule for $immds-forecast: builtin:china or a folder of CDSi XML.
        #[arg(
            long,
            env = "TIANSHAN_FORECAST_SCHEDULE",
            default_value = "builtin:china"
        )]
        forecast_schedule: String,
    },
    /// Immunization forecast: FHIR Parameters per line in, $immds-forecast answers per line out.
    Forecast {
        /// builtin:china, or a folder of CDSi supporting-data XML (e.g. the CDC's).
        #[arg(long, default_value = "builtin:china")]
        schedule: String,
        /// NDJSON file, one FHIR Parameters per line.
        #[arg(long)]
        input: PathBuf,
        /// Print why (per dose the rules that decided it, per vaccine group the series chosen
        /// and where the dates come from) as plain text instead of the answers.
        #[arg(long)]
        explain: bool,
    },
    /// Bring the database schema up to date.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the demo data into an empty database.
    Demo {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API bearer tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Write a consistent copy of the (live) database.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// Where to write it (default: DATA_DIR/backups/tianshan-<time>.db or .sql).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load FHIR resources from a Bundle (.json: all or nothing) or NDJSON (.ndjson:
    /// resumable) file, as a user, through the same checks as the API.
    Import {
        #[command(flatten)]
        db: DbArgs,
        file: PathBuf,
        /// Whose rights, scope and audit entries the import uses.
        #[arg(long)]
        user: String,
        /// Organisation for Patients that name none (inside the user's scope).
        #[arg(long)]
        org: Option<String>,
        /// Import what passes its checks and list the rest, instead of refusing the file.
        #[arg(long)]
        skip_bad: bool,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        which: crate::bench::BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Add a user; the password is read from standard input.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        /// Role code(s), comma-separated or repeated: administrator, coordinator, clinician,
        /// nurse, official, partner, or a role an administrator created.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// Organisation code of the user's scope (everything below it); required except for administrators.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// zh-Hans, zh-Hant, ug or en.
        #[arg(long, default_value = "zh-Hans")]
        locale: String,
    },
    /// Disable an account: its sessions end and its tokens stop working at once.
    Disable {
        #[command(flatten)]
        db: DbArgs,
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        db: DbArgs,
        username: String,
    },
    /// Lift the sign-in hold after failed attempts.
    Unlock {
        #[command(flatten)]
        db: DbArgs,
        username: String,
    },
    /// Replace a user's roles.
    Roles {
        #[command(flatten)]
        db: DbArgs,
        username: String,
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// List users with their roles and scope.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// Create a bearer token for a user and print only the token.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        user: String,
        /// What the token is for (shown in token lists).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token, given the token itself or its id (from `token list`).
    Revoke {
        #[command(flatten)]
        db: DbArgs,
        token: String,
    },
    /// List a user's tokens (ids, labels, dates; never the tokens themselves).
    List {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Start(#[from] StartError),
    #[error("{0}")]
    Message(String),
}

impl From<tianshan_platform::AppError> for CliError {
    fn from(e: tianshan_platform::AppError) -> Self {
        CliError::Start(StartError::App(e))
    }
}

/// Render an error for the terminal in English (operators' scripts read it).
fn describe(e: &tianshan_platform::AppError) -> String {
    use tianshan_platform::i18n::Locale;
    let i18n = match tianshan_platform::i18n::I18n::load(&app::catalogues()) {
        Ok(i) => i,
        Err(err) => return err.to_string(),
    };
    let t = i18n.catalog(Locale::En);
    let mut s = t.msg(&e.msg());
    for f in e.fields() {
        s.push_str(&format!("\n  {}: {}", f.field, t.msg(&f.msg)));
    }
    if let tianshan_platform::AppError::Db(d) = e {
        s.push_str(&format!("\n  {d}"));
    }
    s
}

pub fn error_text(e: &CliError) -> String {
    match e {
        CliError::Start(StartError::App(a)) => describe(a),
        other => other.to_string(),
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let clock = Clock::system();
    match cli.command {
        Command::Serve {
            db,
            addr,
            demo,
            secure_cookies,
            db_pool_size,
            sqlite_direct_reads,
            sqlite_sync,
            forecast_schedule,
        } => {
            let schedule = crate::forecast::load_schedule(&forecast_schedule)?;
            let opts = tianshan_platform::db::DbOptions {
                pool_size: db_pool_size.clamp(1, 64),
                sqlite_sync_full: sqlite_sync == "full",
                sqlite_direct_reads: sqlite_direct_reads == "on",
            };
            serve(db, addr, demo, secure_cookies, schedule, opts, clock).await
        }
        Command::Forecast {
            schedule,
            input,
            explain,
        } => {
            if crate::forecast::run_cli(&schedule, &input, explain)? {
                Ok(())
            } else {
                Err(CliError::Message(
                    "some lines could not be read; see the messages above".into(),
                ))
            }
        }
        Command::Migrate { db } => {
            let d = Db::open(db.database_url.as_deref(), &db.data_dir)
                .await
                .map_err(StartError::from)?;
            let applied =
                tianshan_platform::migrate::run(&d, &app::migrations(), &clock.now_text())
                    .await
                    .map_err(StartError::from)?;
            d.close().await;
            let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
            d.close().await;
            println!(
                "{} migration(s) applied; schema is up to date.",
                applied.len()
            );
            Ok(())
        }
        Command::Demo { db } => {
            let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
            let st = app::platform(d.clone(), clock, false)?;
            let loaded = app::load_demo(&st).await?;
            d.close().await;
            if loaded {
                print_demo_logins();
            } else {
                println!("The database already has data; demo data not loaded.");
            }
            Ok(())
        }
        Command::User { action } => user(action, clock).await,
        Command::Token { action } => token(action, clock).await,
        Command::Import {
            db,
            file,
            user,
            org,
            skip_bad,
        } => {
            crate::import::run(
                crate::import::ImportArgs {
                    db,
                    file,
                    user,
                    org,
                    skip_bad,
                },
                clock,
            )
            .await
        }
        Command::Backup { db, out } => backup(db, out, clock).await,
        Command::Bench { which } => crate::bench::run(which).await,
    }
}

async fn open(db: &DbArgs, clock: &Clock) -> Result<Db, CliError> {
    Ok(app::open_db(db.database_url.as_deref(), &db.data_dir, clock).await?)
}

/// The demo logins, as README.md lists them (a test keeps the two in step).
pub fn print_demo_logins() {
    println!("Demo logins (username, password, role, scope):");
    for l in tianshan_registry::demo::demo_logins() {
        println!(
            "  {:<12} {:<18} {:<14} {}",
            l.username, l.password, l.role, l.scope
        );
    }
}

async fn serve(
    db: DbArgs,
    addr: String,
    demo: bool,
    secure_cookies: bool,
    schedule: tianshan_immunization::Schedule,
    opts: tianshan_platform::db::DbOptions,
    clock: Clock,
) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    // The demo is loaded by a child process (`tianshan demo`), so the server never maps the
    // demo's code and data nor keeps the memory its password hashing took: the server's
    // resident memory is what serving needs (58 MB → under 40 MB, docs/benchmarks.md).
    let demo = demo && !load_demo_in_child(&db).await?;
    let d = app::open_db_with(db.database_url.as_deref(), &db.data_dir, &clock, &opts).await?;
    auth::purge_expired_sessions(&d, &clock).await?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let backend = d.backend().name();
    let st = app::platform(d, clock, secure_cookies)?;
    if demo && app::load_demo(&st).await? {
        print_demo_logins();
    }
    let st = app::with_schedule(st, schedule);
    tracing::info!(addr = %local, backend, startup_ms = started.elapsed().as_millis() as u64, "listening");
    println!(
        "Tianshan {} listening on http://{local} ({backend})",
        tianshan_platform::VERSION
    );
    app::serve(st, listener)
        .await
        .map_err(|e| CliError::Message(format!("server stopped: {e}")))
}

/// Runs `tianshan demo` with the same database as a child process; `Ok(false)` when this
/// executable cannot be found again (then the server loads the demo itself).
async fn load_demo_in_child(db: &DbArgs) -> Result<bool, CliError> {
    let Ok(exe) = std::env::current_exe() else {
        return Ok(false);
    };
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("demo").arg("--data-dir").arg(&db.data_dir);
    if let Some(url) = &db.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let status = cmd
        .status()
        .await
        .map_err(|e| CliError::Message(format!("cannot run `tianshan demo`: {e}")))?;
    if status.success() {
        Ok(true)
    } else {
        Err(CliError::Message(
            "loading the demo data failed; see the messages above".into(),
        ))
    }
}

async fn backup(db: DbArgs, out: Option<PathBuf>, clock: Clock) -> Result<(), CliError> {
    let stamp = clock.now_text().replace([':', '-'], "");
    let d = Db::open(db.database_url.as_deref(), &db.data_dir)
        .await
        .map_err(StartError::from)?;
    match d.pools() {
        Pools::Sqlite(pool) => {
            let out = out.unwrap_or_else(|| {
                db.data_dir
                    .join("backups")
                    .join(format!("tianshan-{stamp}.db"))
            });
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::Message(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            if out.exists() {
                return Err(CliError::Message(format!(
                    "{} already exists; choose another --out",
                    out.display()
                )));
            }
            // VACUUM INTO writes a consistent snapshot while the server keeps running (WAL).
            sqlx::query("VACUUM INTO $1")
                .bind(out.display().to_string())
                .execute(pool)
                .await
                .map_err(|e| CliError::Message(format!("backup failed: {e}")))?;
            println!("{}", out.display());
        }
        Pools::Postgres(_) => {
            let url = db.database_url.unwrap_or_default();
            let out = out.unwrap_or_else(|| {
                db.data_dir
                    .join("backups")
                    .join(format!("tianshan-{stamp}.sql"))
            });
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::Message(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            // pg_dump takes one consistent snapshot of a live database.
            let status = tokio::process::Command::new("pg_dump")
                .arg("--no-owner")
                .arg("--file")
                .arg(&out)
                .arg(&url)
                .status()
                .await
                .map_err(|e| {
                    CliError::Message(format!(
                        "cannot run pg_dump (install the PostgreSQL client): {e}"
                    ))
                })?;
            if !status.success() {
                return Err(CliError::Message(format!("pg_dump failed with {status}")));
            }
            println!("{}", out.display());
        }
    }
    d.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// README.md lists every demo login `serve --demo` prints, with the same password, role and
    /// scope, and no other.
    #[test]
    fn readme_lists_every_demo_login() {
        let readme = include_str!("../../../../README.md");
        let logins = tianshan_registry::demo::demo_logins();
        assert_eq!(logins.len(), tianshan_registry::demo::DEMO_USERS.len());
        for l in &logins {
            let row = l.readme_row();
            assert!(
                readme.contains(&row),
                "README.md lacks the demo login row {row}"
            );
        }
        let rows = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("`tianshan-"))
            .count();
        assert_eq!(
            rows,
            logins.len(),
            "README.md lists demo logins that do not exist"
        );
    }
}
