//! The consultation JSON API under `/api/v1/consult`: the same service as the pages, every
//! step of the workflow for programs, documented for the generated OpenAPI document.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::ImportReport;
use tianshan_platform::web::PageCtx;
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::IntoParams;
use utoipa_axum::routes;

use crate::attachments;
use crate::domain::CaseInput;
use crate::referrals::{self, ReferralInput, ReferralStep, ReferralView};
use crate::reports::{self, Measures};
use crate::service::{self, CaseDetail, CaseView, Inbox, PairingInput, StepInput, TargetSetting};
use crate::store::{AttachmentMeta, Pairing};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(inbox, file_case))
        .routes(routes!(get_case))
        .routes(routes!(case_step))
        .routes(routes!(list_referrals, create_referral))
        .routes(routes!(get_referral))
        .routes(routes!(referral_step))
        .routes(routes!(get_targets, set_target))
        .routes(routes!(get_pairings, add_pairing))
        .routes(routes!(measures))
        .routes(routes!(export))
        .merge(
            ApiRouter::new()
                .routes(routes!(add_attachment))
                .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .routes(routes!(get_attachment))
        .routes(routes!(import_pairings))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// The file's name (`.csv` or `.xlsx`).
    filename: Option<String>,
}

/// Import department pairings from CSV or XLSX (columns local_code, remote_code, specialty):
/// all or nothing; the report names each bad row (`refused` true, nothing written).
#[utoipa::path(post, path = "/api/v1/consult/pairings/import", tag = "consult", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn import_pairings(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<ImportReport>, AppError> {
    let name = p.filename.unwrap_or_else(|| "pairings.csv".into());
    let mut report = service::import_pairings(&st, &who, &body, &name).await?;
    report.localise(&ctx.t);
    Ok(Json(report))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct AttachParams {
    /// The file's name, as shown on the case.
    name: Option<String>,
}

/// Attach a file to a case (the request body is the file). JPEG, PNG, PDF or DICOM, detected
/// from the content (the Content-Type sent is not trusted); at most 4 MB. 422 for another type,
/// an empty or oversized file; 409 once the case is closed.
#[utoipa::path(post, path = "/api/v1/consult/cases/{id}/attachments", tag = "consult",
    params(("id" = String, Path, description = "Case id"), AttachParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentMeta), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn add_attachment(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<AttachParams>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let m = attachments::attach(&st, &who, &id, p.name.as_deref().unwrap_or(""), &body).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// One attachment of a case, as a download (audited).
#[utoipa::path(get, path = "/api/v1/consult/cases/{id}/attachments/{attachment}", tag = "consult",
    params(("id" = String, Path, description = "Case id"), ("attachment" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file"), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_attachment(
    State(st): State<Platform>,
    who: Principal,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (m, bytes) = attachments::open(&st, &who, &id, &attachment).await?;
    Ok(attachments::response(&m, bytes))
}

/// What waits for the caller: cases to accept, to answer, waiting on the caller's side, the
/// caller's own open requests and (coordinators) every open case of the scope with its clock.
#[utoipa::path(get, path = "/api/v1/consult/cases", tag = "consult",
    responses((status = 200, body = Inbox), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn inbox(State(st): State<Platform>, who: Principal) -> Result<Json<Inbox>, AppError> {
    Ok(Json(service::inbox(&st, &who).await?))
}

/// File a case about a patient in the caller's scope. `target_kind` `pool` is routed through
/// the department pairings (or to the coordinator). A case to a partner abroad is
/// de-identified unless `pipl_consent` is true. 422 for a missing question or complaint, an
/// unknown patient or target.
#[utoipa::path(post, path = "/api/v1/consult/cases", tag = "consult", request_body = CaseInput,
    responses((status = 201, body = CaseView), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn file_case(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<CaseInput>,
) -> Result<Response, AppError> {
    let v = service::file(&st, &who, &input).await?;
    let loc = format!("/api/v1/consult/cases/{}", v.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, loc)],
        Json(v),
    )
        .into_response())
}

/// One case with its thread, to its requesting side, its target side and coordinators over
/// the requesting side; anyone else 404. Audited.
#[utoipa::path(get, path = "/api/v1/consult/cases/{id}", tag = "consult",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = CaseDetail), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_case(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, AppError> {
    Ok(Json(service::get(&st, &who, &id).await?))
}

/// Take one step: accept, decline (text: reason), request_info (text), provide_info (text),
/// answer (impression, recommendations, refer, follow_up), acknowledge (rating 1–5), message
/// (text), route (coordinators: target_code). 409 when the step is not open to the caller now.
#[utoipa::path(post, path = "/api/v1/consult/cases/{id}/steps", tag = "consult",
    params(("id" = String, Path, description = "Case id")), request_body = StepInput,
    responses((status = 200, body = CaseView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn case_step(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<StepInput>,
) -> Result<Json<CaseView>, AppError> {
    Ok(Json(service::step(&st, &who, &id, &input).await?))
}

/// Referrals sent from or received into the caller's scope, open first.
#[utoipa::path(get, path = "/api/v1/consult/referrals", tag = "consult",
    responses((status = 200, body = Vec<ReferralView>), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_referrals(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Vec<ReferralView>>, AppError> {
    Ok(Json(referrals::list(&st, &who).await?))
}

/// Refer a patient up or down to a receiving facility.
#[utoipa::path(post, path = "/api/v1/consult/referrals", tag = "consult", request_body = ReferralInput,
    responses((status = 201, body = ReferralView), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_referral(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<ReferralInput>,
) -> Result<Response, AppError> {
    let v = referrals::create(&st, &who, &input).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// One referral, to the sending or receiving side.
#[utoipa::path(get, path = "/api/v1/consult/referrals/{id}", tag = "consult",
    params(("id" = String, Path, description = "Referral id")),
    responses((status = 200, body = ReferralView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_referral(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<ReferralView>, AppError> {
    Ok(Json(referrals::get(&st, &who, &id).await?))
}

/// The receiving facility accepts (expected_arrival), records arrival, closes (outcome,
/// feedback for the sender).
#[utoipa::path(post, path = "/api/v1/consult/referrals/{id}/steps", tag = "consult",
    params(("id" = String, Path, description = "Referral id")), request_body = ReferralStep,
    responses((status = 200, body = ReferralView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn referral_step(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<ReferralStep>,
) -> Result<Json<ReferralView>, AppError> {
    Ok(Json(referrals::step(&st, &who, &id, &input).await?))
}

/// Response-time targets by urgency, in minutes.
#[utoipa::path(get, path = "/api/v1/consult/targets", tag = "consult",
    responses((status = 200, body = Vec<TargetSetting>)),
    security(("bearer" = [])))]
async fn get_targets(
    State(st): State<Platform>,
    _who: Principal,
) -> Result<Json<Vec<TargetSetting>>, AppError> {
    Ok(Json(service::targets(&st).await?))
}

/// Set one response-time target (coordinators and administrators).
#[utoipa::path(put, path = "/api/v1/consult/targets", tag = "consult", request_body = TargetSetting,
    responses((status = 200, body = Vec<TargetSetting>), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn set_target(
    State(st): State<Platform>,
    who: Principal,
    Json(t): Json<TargetSetting>,
) -> Result<Json<Vec<TargetSetting>>, AppError> {
    Ok(Json(service::set_target(&st, &who, &t).await?))
}

/// Department pairings ("one doctor aids, the whole department aids").
#[utoipa::path(get, path = "/api/v1/consult/pairings", tag = "consult",
    responses((status = 200, body = Vec<Pairing>), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn get_pairings(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Vec<Pairing>>, AppError> {
    Ok(Json(service::pairings(&st, &who).await?))
}

/// Pair a department or facility with a rear-hospital department (coordinators).
#[utoipa::path(post, path = "/api/v1/consult/pairings", tag = "consult", request_body = PairingInput,
    responses((status = 200, body = Vec<Pairing>), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn add_pairing(
    State(st): State<Platform>,
    who: Principal,
    Json(p): Json<PairingInput>,
) -> Result<Json<Vec<Pairing>>, AppError> {
    Ok(Json(service::add_pairing(&st, &who, &p).await?))
}

/// Measures of the scope: time to accept and answer, share within target, volumes, open loops.
#[utoipa::path(get, path = "/api/v1/consult/measures", tag = "consult",
    responses((status = 200, body = Measures), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn measures(State(st): State<Platform>, who: Principal) -> Result<Json<Measures>, AppError> {
    Ok(Json(reports::measures(&st, &who).await?))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// csv (default) or xlsx.
    format: Option<String>,
}

/// The cases of the scope for reporting (no patient identity), CSV or XLSX. Audited.
#[utoipa::path(get, path = "/api/v1/consult/export", tag = "consult", params(ExportParams),
    responses((status = 200, description = "CSV or XLSX file"), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn export(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    reports::export(&st, &who, p.format.as_deref() == Some("xlsx")).await
}
