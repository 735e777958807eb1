//! The trauma registry's JSON API under `/api/v1/trauma`: records (begin, read, replace,
//! transfer), lists and review lists, review marks, indicators. The same service as the pages.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::{tabular, ApiRouter, AppError, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::domain::RecordInput;
use crate::indicators::Indicators;
use crate::service::{self, Query as RecordQuery, RecordView, ReviewInput, TransferInput};
use crate::store::RecordRow;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(list_records, create_record))
        .routes(routes!(get_record, replace_record))
        .routes(routes!(transfer_record))
        .routes(routes!(review_record))
        .routes(routes!(get_indicators))
        .routes(routes!(export_records))
        .routes(routes!(import_records))
        .routes(routes!(get_board))
        .routes(routes!(get_record_fhir))
        .routes(routes!(list_prevention, add_prevention))
}

#[derive(Serialize, ToSchema)]
struct RecordList {
    records: Vec<RecordRow>,
}

/// Trauma records with a stay in the caller's scope (or at/below `org`), first arrival in the
/// period, newest first (at most 500); `review` gives one review list: `time_target` (a severe
/// case operated after 60 min or dead unoperated, pre-hospital over 60 min, transfers over
/// 120 min), `unexpected_death` (Ps ≥ 0.5, died), `unexpected_survivor` (Ps < 0.5, survived).
#[utoipa::path(get, path = "/api/v1/trauma/records", tag = "trauma", params(RecordQuery),
    responses((status = 200, body = RecordList), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn list_records(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<RecordQuery>,
) -> Result<Json<RecordList>, AppError> {
    Ok(Json(RecordList {
        records: service::list(&st, &who, &q).await?,
    }))
}

/// Begin the record of an injured patient (registry patient id). Scores (GCS, RTS, AIS per
/// injury, ISS, NISS, TRISS Ps) are computed, never taken from the input. 422 for times out
/// of order, an impossible GCS, an unknown ICD-10 code, AIS typed without `trauma.ais`.
#[utoipa::path(post, path = "/api/v1/trauma/records", tag = "trauma", request_body = RecordInput,
    responses((status = 201, body = RecordView), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_record(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<RecordInput>,
) -> Result<Response, AppError> {
    let v = service::create(&st, &who, input).await?;
    let loc = format!("/api/v1/trauma/records/{}", v.record.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, loc)],
        Json(v),
    )
        .into_response())
}

/// One record with its hospitals and injuries, to any hospital of its chain (and their
/// ancestors); 404 otherwise, as for an unknown id. Audited.
#[utoipa::path(get, path = "/api/v1/trauma/records/{id}", tag = "trauma",
    params(("id" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordView), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_record(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<RecordView>, AppError> {
    Ok(Json(service::read(&st, &who, &id).await?))
}

#[derive(Deserialize, ToSchema)]
struct ReplaceBody {
    /// The version read (409 when the record changed since).
    version: i64,
    #[serde(flatten)]
    record: RecordInput,
}

/// Replace a record (the full form). Scores are recomputed.
#[utoipa::path(put, path = "/api/v1/trauma/records/{id}", tag = "trauma",
    params(("id" = String, Path, description = "Record id")),
    request_body = ReplaceBody,
    responses((status = 200, body = RecordView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn replace_record(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(b): Json<ReplaceBody>,
) -> Result<Json<RecordView>, AppError> {
    Ok(Json(
        service::update(&st, &who, &id, b.version, b.record).await?,
    ))
}

/// Transfer the patient: the current hospital's departure and the receiving hospital's
/// arrival. The same record continues; the receiving hospital sees it from then on.
#[utoipa::path(post, path = "/api/v1/trauma/records/{id}/transfer", tag = "trauma",
    params(("id" = String, Path, description = "Record id")),
    request_body = TransferInput,
    responses((status = 200, body = RecordView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn transfer_record(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(t): Json<TransferInput>,
) -> Result<Json<RecordView>, AppError> {
    Ok(Json(service::transfer(&st, &who, &id, t).await?))
}

/// Mark a case reviewed with a finding (`trauma.review`).
#[utoipa::path(post, path = "/api/v1/trauma/records/{id}/review", tag = "trauma",
    params(("id" = String, Path, description = "Record id")),
    request_body = ReviewInput,
    responses((status = 200, body = RecordView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn review_record(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(r): Json<ReviewInput>,
) -> Result<Json<RecordView>, AppError> {
    Ok(Json(service::review(&st, &who, &id, r).await?))
}

/// Quality indicators of the records chosen (organisation, period): median and 90th
/// percentile of arrival-to-operation, pre-hospital and transfer minutes, share of ISS ≥ 16
/// operated within 60 min, crude mortality, TRISS W/Z/O-E with a 95 % interval, by month.
/// Definitions: crate `tianshan-trauma`, `indicators.rs`, and README.
#[utoipa::path(get, path = "/api/v1/trauma/indicators", tag = "trauma", params(RecordQuery),
    responses((status = 200, body = Indicators), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn get_indicators(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<RecordQuery>,
) -> Result<Json<Indicators>, AppError> {
    Ok(Json(service::indicators(&st, &who, &q).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    format: String,
}

/// The records chosen (as for the list, at most 100,000) with their scores and intervals, as
/// CSV (UTF-8 with BOM) or XLSX. Audited as an export.
#[utoipa::path(get, path = "/api/v1/trauma/export", tag = "trauma", params(RecordQuery, ExportParams),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn export_records(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<RecordQuery>,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    let format = if p.format.is_empty() {
        "csv"
    } else {
        p.format.as_str()
    };
    service::export_file(&st, &who, &q, format).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// The file's name (`.csv` or `.xlsx` decides how it is read).
    #[serde(default)]
    filename: String,
}

/// Import past records from a CSV (UTF-8 or GB18030) or XLSX file sent as the body. Columns:
/// patient_id, mechanism, org_code, arrived_at (required), departed_at, transfer_org_code,
/// transfer_arrived_at, injured_at, call_at, ... as the record's fields, icd10 (codes separated
/// by spaces). All or nothing: one bad row refuses the file (422) with every row's errors.
#[utoipa::path(post, path = "/api/v1/trauma/import", tag = "trauma", params(ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = tabular::ImportReport), (status = 403, body = ApiError), (status = 422, body = tabular::ImportReport)),
    security(("bearer" = [])))]
async fn import_records(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let name = if p.filename.is_empty() {
        "import.csv"
    } else {
        p.filename.as_str()
    };
    let mut report = crate::import::import(&st, &who, &body, name).await?;
    report.localise(
        &st.i18n.catalog(
            tianshan_platform::i18n::Locale::parse(&who.locale)
                .unwrap_or(tianshan_platform::i18n::Locale::En),
        ),
    );
    let status = if report.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Serialize, ToSchema)]
struct Board {
    patients: Vec<service::BoardLine>,
}

/// The live board: patients of the last 24 hours still in the caller's hospitals, with the
/// minutes since arrival against the 60-minute operating target for severe cases (`late`
/// first).
#[utoipa::path(get, path = "/api/v1/trauma/board", tag = "trauma",
    responses((status = 200, body = Board), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn get_board(State(st): State<Platform>, who: Principal) -> Result<Json<Board>, AppError> {
    Ok(Json(Board {
        patients: service::board(&st, &who).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct PreventionList {
    activities: Vec<crate::store::PreventionRow>,
}

/// Public prevention activities (education sessions, attendance) held in the caller's area.
#[utoipa::path(get, path = "/api/v1/trauma/prevention", tag = "trauma",
    responses((status = 200, body = PreventionList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_prevention(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<PreventionList>, AppError> {
    Ok(Json(PreventionList {
        activities: service::prevention(&st, &who).await?,
    }))
}

/// Record a prevention activity at an organisation of the caller's own area.
#[utoipa::path(post, path = "/api/v1/trauma/prevention", tag = "trauma",
    request_body = service::PreventionInput,
    responses((status = 201, body = crate::store::PreventionRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn add_prevention(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<service::PreventionInput>,
) -> Result<Response, AppError> {
    let row = service::add_prevention(&st, &who, input).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}

/// The record as an HL7 FHIR R4 `collection` Bundle: Encounter (the hospitals of the chain as
/// its locations), a Condition per injury, Observations (GCS, systolic pressure, respiratory
/// rate, RTS, ISS, NISS, TRISS Ps with its coefficient set), a Procedure for the first
/// operation. Same scope and audit as the record.
#[utoipa::path(get, path = "/api/v1/trauma/records/{id}/fhir", tag = "trauma",
    params(("id" = String, Path, description = "Record id")),
    responses((status = 200, description = "FHIR R4 Bundle", content_type = "application/fhir+json"), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_record_fhir(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let v = service::read(&st, &who, &id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/fhir+json")],
        Json(crate::fhir::bundle(&v)),
    )
        .into_response())
}
