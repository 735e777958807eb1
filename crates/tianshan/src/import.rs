//! `tianshan import FILE`: FHIR Bundles (`.json`) and NDJSON (`.ndjson`) loaded through the
//! modules' FHIR types as a named user, with a progress bar. See `platform::import` for the
//! all-or-nothing (Bundle) and resumable (NDJSON) rules.
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use tianshan_platform::auth::{self, Channel, Principal};
use tianshan_platform::clock::Clock;
use tianshan_platform::import::{self, Outcome};

use crate::app;
use crate::cli::{error_text, CliError, DbArgs};

pub struct ImportArgs {
    pub db: DbArgs,
    pub file: std::path::PathBuf,
    pub user: String,
    pub org: Option<String>,
    pub skip_bad: bool,
}

fn bar() -> ProgressBar {
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} resources {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

pub async fn run(a: ImportArgs, clock: Clock) -> Result<(), CliError> {
    let bytes = std::fs::read(&a.file)
        .map_err(|e| CliError::Message(format!("cannot read {}: {e}", a.file.display())))?;
    let d = app::open_db(a.db.database_url.as_deref(), &a.db.data_dir, &clock).await?;
    let st = app::platform(d.clone(), clock, false)?;
    let id = auth::identity_by_username(&d, &a.user)
        .await?
        .ok_or_else(|| CliError::Message(format!("there is no active user called {}", a.user)))?;
    let mut who = Principal::from_identity(&id, Channel::Cli, "", "tianshan import");
    if let Some(org) = &a.org {
        let found = tianshan_registry::facade::org(&st, org)
            .await?
            .ok_or_else(|| CliError::Message(format!("there is no organisation {org}")))?;
        if !who.scope.owns(&found.path) {
            return Err(CliError::Message(format!(
                "{org} is outside the scope of {}",
                a.user
            )));
        }
        who.scope_code = Some(org.clone());
    }
    let b = bar();
    let progress = |done: usize, total: usize| {
        b.set_length(total as u64);
        b.set_position(done as u64);
    };
    let is_ndjson = a
        .file
        .extension()
        .is_some_and(|e| e == "ndjson" || e == "jsonl");
    let result = if is_ndjson {
        import::ndjson(&st, &who, &bytes, a.skip_bad, &progress).await
    } else {
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Message(format!(
                "{} is not JSON (line {}, column {}): {e}; nothing was imported",
                a.file.display(),
                e.line(),
                e.column()
            ))
        })?;
        import::bundle(&st, &who, &v, a.skip_bad, &progress).await
    };
    b.finish_and_clear();
    d.close().await;
    match result {
        Ok(out) => {
            report(&a.file, &out, is_ndjson);
            Ok(())
        }
        Err(e) => {
            let what = if is_ndjson {
                "the import stopped here; lines before it are saved and a new run continues after them"
            } else {
                "nothing was imported"
            };
            let place = match &e {
                tianshan_platform::AppError::InEntry(n, _) if is_ndjson => format!("line {n}: "),
                tianshan_platform::AppError::InEntry(n, _) => format!("entry {n}: "),
                _ => String::new(),
            };
            Err(CliError::Message(format!(
                "{}: {place}{} ({what})",
                a.file.display(),
                error_text(&CliError::from(e))
            )))
        }
    }
}

fn report(file: &Path, out: &Outcome, ndjson: bool) {
    println!(
        "{}: {} resources written",
        file.display(),
        out.total_written()
    );
    if ndjson && out.resumed_after > 0 {
        println!(
            "  continued after line {} of an earlier run",
            out.resumed_after
        );
    }
    for (t, n) in &out.created {
        println!("  created {n} {t}");
    }
    for (t, n) in &out.updated {
        println!("  updated {n} {t}");
    }
    for (t, n) in &out.unhandled {
        println!("  not imported: {n} {t} (no module of this server handles {t})");
    }
    for (n, why) in &out.refused {
        let at = if ndjson { "line" } else { "entry" };
        println!("  skipped {at} {n}: {why}");
    }
}
