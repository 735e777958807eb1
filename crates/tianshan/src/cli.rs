//! The command line: `serve`, `migrate`, `demo`, `user add`, `token create`, `backup`, `bench`.
use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tianshan_platform::auth::{self, NewUser};
use tianshan_platform::clock::Clock;
use tianshan_platform::db::Db;
use tianshan_platform::scope::Role;

use crate::app::{self, StartError};

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
        /// administrator, coordinator, clinician, nurse, official or partner.
        #[arg(long)]
        role: String,
        /// Organisation code of the user's scope (everything below it); required except for administrators.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// zh-Hans, zh-Hant, ug or en.
        #[arg(long, default_value = "zh-Hans")]
        locale: String,
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
            forecast_schedule,
        } => {
            let schedule = crate::forecast::load_schedule(&forecast_schedule)?;
            serve(db, addr, demo, secure_cookies, schedule, clock).await
        }
        Command::Forecast { schedule, input } => {
            if crate::forecast::run_cli(&schedule, &input)? {
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
            println!(
                "{} migration(s) applied; schema is up to date.",
                applied.len()
            );
            Ok(())
        }
        Command::Demo { db } => {
            let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
            if tianshan_registry::demo::load(&d, &clock).await? {
                print_demo_logins();
            } else {
                println!("The database already has data; demo data not loaded.");
            }
            Ok(())
        }
        Command::User {
            action:
                UserAction::Add {
                    db,
                    username,
                    role,
                    scope,
                    display_name,
                    locale,
                },
        } => {
            let role = Role::parse(&role).ok_or_else(|| CliError::Message(format!("Unknown role '{role}'; use administrator, coordinator, clinician, nurse, official or partner.")))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| {
                    CliError::Message(format!("cannot read the password from standard input: {e}"))
                })?;
            let password = password.trim_end_matches(['\n', '\r']);
            let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
            let display = display_name.unwrap_or_else(|| username.clone());
            auth::create_user(
                &d,
                NewUser {
                    username: &username,
                    password,
                    role,
                    scope_code: scope.as_deref(),
                    display_name: &display,
                    locale: &locale,
                },
                &clock,
            )
            .await?;
            eprintln!("User {username} added.");
            Ok(())
        }
        Command::Token {
            action: TokenAction::Create { db, user },
        } => {
            let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
            let token = auth::create_api_token(&d, &user, &clock).await?;
            println!("{token}");
            Ok(())
        }
        Command::Backup { db, out } => backup(db, out, clock).await,
        Command::Bench { which } => crate::bench::run(which).await,
    }
}

pub fn print_demo_logins() {
    println!("Demo logins (username / password, role, scope):");
    for (u, p, role, scope, _) in tianshan_registry::demo::DEMO_USERS {
        println!(
            "  {u:<12} {p:<18} {:<14} {}",
            role.as_str(),
            scope.unwrap_or("(whole network)")
        );
    }
}

async fn serve(
    db: DbArgs,
    addr: String,
    demo: bool,
    secure_cookies: bool,
    schedule: tianshan_immunization::Schedule,
    clock: Clock,
) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let d = app::open_db(db.database_url.as_deref(), &db.data_dir, &clock).await?;
    if demo && tianshan_registry::demo::load(&d, &clock).await? {
        print_demo_logins();
    }
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

async fn backup(db: DbArgs, out: Option<PathBuf>, clock: Clock) -> Result<(), CliError> {
    let stamp = clock.now_text().replace([':', '-'], "");
    let d = Db::open(db.database_url.as_deref(), &db.data_dir)
        .await
        .map_err(StartError::from)?;
    match &d {
        Db::Sqlite(pool) => {
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
        Db::Postgres(_) => {
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
