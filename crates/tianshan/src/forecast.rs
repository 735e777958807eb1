//! The immunization forecast's two faces in the binary: `tianshan forecast` (NDJSON of FHIR
//! Parameters in, one answer per line out) and `POST /fhir/r4/$immds-forecast` on the server,
//! with the schedule chosen by configuration (the built-in China NIP schedule by default).
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tianshan_immunization::{
    explain_ndjson, forecast_ndjson, forecast_parameters, load_schedule_dir, Schedule,
};
use tianshan_platform::audit::{Action, ActionDef, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::FHIR_JSON;
use tianshan_platform::scope::{Permission, PermissionDef};
use tianshan_platform::{ApiRouter, AppError, Module, Msg, Platform};
use utoipa_axum::routes;

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

/// `tianshan forecast [--explain]`: returns whether every line was answered.
pub fn run_cli(schedule: &str, input: &PathBuf, explain: bool) -> Result<bool, CliError> {
    let schedule = load_schedule(schedule)?;
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::Message(format!("cannot open {}: {e}", input.display())))?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (input_lines, out, err) = (BufReader::new(file), stdout.lock(), stderr.lock());
    let summary = if explain {
        explain_ndjson(&schedule, input_lines, out, err)
    } else {
        forecast_ndjson(&schedule, input_lines, out, err)
    }
    .map_err(|e| CliError::Message(format!("while reading {}: {e}", input.display())))?;
    let _ = std::io::stdout().flush();
    eprintln!(
        "{} read, {} answered, {} failed",
        summary.read, summary.written, summary.failed
    );
    Ok(summary.failed == 0)
}

/// Ask the forecast engine for a child's due doses (`$immds-forecast`).
pub const FORECAST: Permission = Permission("immunization.forecast");
/// Largest `$immds-forecast` body: a child's whole history is a few kilobytes.
pub const MAX_BODY: usize = 512 * 1024;
/// Forecasts computed at once; more wait their turn instead of taking every core.
const CONCURRENT: usize = 2;

static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT);

pub fn module() -> Module {
    use tianshan_platform::scope::builtin::*;
    Module {
        permissions: vec![PermissionDef {
            permission: FORECAST,
            label: "perm.immunization.forecast",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE],
        }],
        actions: vec![ActionDef {
            action: FORECAST_ACTION,
            label: "audit.act.forecast",
        }],
        api: ApiRouter::new()
            .routes(routes!(immds_forecast))
            .layer(DefaultBodyLimit::max(MAX_BODY)),
        fhir_operations: vec![(
            "immds-forecast",
            "http://hl7.org/fhir/uv/immds/OperationDefinition/immds-forecast",
        )],
        ..Module::new("immunization")
    }
}

pub const FORECAST_ACTION: Action = Action("immunization.forecast");

/// The schedule the server was started with, or the built-in China programme.
fn schedule_of(st: &Platform) -> Result<Arc<Schedule>, AppError> {
    static CHINA: OnceLock<Result<Arc<Schedule>, String>> = OnceLock::new();
    if let Some(s) = st.config.modules.get::<Arc<Schedule>>() {
        return Ok(s.clone());
    }
    CHINA
        .get_or_init(|| Schedule::china().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(AppError::Internal)
}

/// CDSi immunization forecast for one patient: FHIR Parameters in (`assessmentDate`,
/// `patient`, `immunization`…), Parameters out (ImmunizationEvaluation and
/// ImmunizationRecommendation). Computed off the request threads, two at a time.
#[utoipa::path(post, path = "/fhir/r4/$immds-forecast", tag = "fhir",
    request_body(content = String, content_type = "application/fhir+json", description = "Parameters as in the HL7 ImmDS $immds-forecast operation"),
    responses((status = 200, description = "Parameters with the evaluations and recommendations"),
        (status = 400, description = "Not JSON"), (status = 413, description = "Larger than 512 KB"),
        (status = 415, description = "Not application/fhir+json"), (status = 422, description = "Parameters not understood")),
    security(("bearer" = [])))]
async fn immds_forecast(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(FORECAST)?;
    if !tianshan_platform::fhir::json_content_type(&headers) {
        return Err(AppError::UnsupportedMediaType);
    }
    let params: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::BadRequest(Msg::new("error.fhir_bad_json").arg(
            "detail",
            format!("line {}, column {}: {e}", e.line(), e.column()),
        ))
    })?;
    let schedule = schedule_of(&st)?;
    let patient = patient_ref(&params);
    let _permit = RUNNING
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let out = tokio::task::spawn_blocking(move || forecast_parameters(&schedule, &params))
        .await
        .map_err(|e| AppError::Internal(format!("forecast task: {e}")))?
        .map_err(|e| {
            AppError::Invalid(vec![tianshan_platform::FieldError::new(
                "Parameters",
                Msg::new("error.fhir_invalid").arg("detail", e.to_string()),
            )])
        })?;
    st.audit(
        &who,
        Event::new(FORECAST_ACTION, "Patient", &patient).detail("$immds-forecast"),
    )
    .await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        out.to_string(),
    )
        .into_response())
}

/// The id of the Patient the Parameters carry, if any (for the audit entry).
fn patient_ref(params: &serde_json::Value) -> String {
    params
        .get("parameter")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(serde_json::Value::as_str) == Some("patient"))
        .and_then(|p| p.pointer("/resource/id"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .chars()
        .take(64)
        .collect()
}
