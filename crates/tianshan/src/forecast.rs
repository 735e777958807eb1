//! The immunization forecast's two faces in the binary: `tianshan forecast` (NDJSON of FHIR
//! Parameters in, one answer per line out) and `POST /fhir/r4/$immds-forecast` on the server,
//! with the schedule chosen by configuration (the built-in China NIP schedule by default).
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Extension;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tianshan_immunization::{forecast_ndjson, forecast_parameters, load_schedule_dir, Schedule};
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::FHIR_JSON;
use tianshan_platform::{AppError, Msg, Platform};

use crate::cli::CliError;

/// `builtin:china` (default) or a folder of CDSi supporting-data XML.
pub fn load_schedule(spec: &str) -> Result<Schedule, CliError> {
    let loaded = match spec {
        "builtin:china" | "china" => Schedule::china(),
        dir => load_schedule_dir(Path::new(dir)),
    };
    loaded.map_err(|e| {
        CliError::Message(format!(
            "cannot load the immunization schedule '{spec}': {e}"
        ))
    })
}

/// `tianshan forecast`: returns whether every line was answered.
pub fn run_cli(schedule: &str, input: &PathBuf) -> Result<bool, CliError> {
    let schedule = load_schedule(schedule)?;
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::Message(format!("cannot open {}: {e}", input.display())))?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let summary = forecast_ndjson(
        &schedule,
        BufReader::new(file),
        stdout.lock(),
        stderr.lock(),
    )
    .map_err(|e| CliError::Message(format!("while reading {}: {e}", input.display())))?;
    let _ = std::io::stdout().flush();
    eprintln!(
        "{} read, {} answered, {} failed",
        summary.read, summary.written, summary.failed
    );
    Ok(summary.failed == 0)
}

pub fn routes(schedule: Arc<Schedule>) -> Router<Platform> {
    Router::new()
        .route("/fhir/r4/$immds-forecast", post(immds_forecast))
        .layer(Extension(schedule))
}

async fn immds_forecast(
    _who: Principal,
    Extension(schedule): Extension<Arc<Schedule>>,
    body: Bytes,
) -> Result<Response, AppError> {
    let params: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        tianshan_platform::fhir::invalid(
            "$",
            &format!(
                "the body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let out = forecast_parameters(&schedule, &params).map_err(|e| {
        AppError::Invalid(vec![tianshan_platform::FieldError::new(
            "Parameters",
            Msg::new("error.fhir_invalid").arg("detail", e.to_string()),
        )])
    })?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        out.to_string(),
    )
        .into_response())
}
