//! The trainee and attendance imports in the JSON API (the file is the request body).
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::ImportReport;
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa_axum::routes;

use crate::api::{import_response, read_table, ImportParams};
use crate::register::FormatParam;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(import_trainees))
        .routes(routes!(import_attendance))
        .routes(routes!(import_course_attendance))
        .routes(routes!(export_trainees))
}

pub fn page_routes() -> Router<Platform> {
    Router::new().route("/missions/mentorships.csv", get(trainees_file))
}

/// Every trainee of the caller's scope as CSV or XLSX, in the columns the import takes.
#[utoipa::path(get, path = "/api/v1/missions/mentorships/export", tag = "missions", params(FormatParam),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 400, body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn export_trainees(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    super::export_trainees(&st, &who, p.format.as_deref()).await
}

async fn trainees_file(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    super::export_trainees(&st, &who, p.format.as_deref()).await
}

/// Import trainees and their mentor groups from CSV or XLSX (columns `trainee_name,
/// trainee_code, mentor_username, mentor_code, starts_on, ends_on, competencies` required,
/// `trainee_post, trainee_ethnicity, goals, mission_id` optional; competencies separated by
/// `;`; the post a professional title, the ethnic group by name or GB 3304 code). Every row is
/// checked first; a file with any bad row writes nothing (422 with every row's errors) unless
/// `skip_bad=true`.
#[utoipa::path(post, path = "/api/v1/missions/mentorships/import", tag = "missions", params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV or XLSX file"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_trainees(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = read_table(&body, &p)?;
    Ok(import_response(
        super::import_trainees(&st, &who, &t, p.skip_bad).await?,
    ))
}

/// Import who attended one lecture logged for a mission (columns `name`, optionally
/// `org_code`): each must be a known trainee. A lecture not logged for the mission or dated
/// after today is refused (400) and nothing is written; otherwise all-or-nothing unless
/// `skip_bad=true`.
#[utoipa::path(post, path = "/api/v1/missions/missions/{id}/lectures/{lecture}/attendance/import", tag = "missions",
    params(("id" = String, Path, description = "Mission id"), ("lecture" = String, Path, description = "The lecture's day-log entry id"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV or XLSX file"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_attendance(
    State(st): State<Platform>,
    who: Principal,
    Path((id, lecture)): Path<(String, String)>,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = read_table(&body, &p)?;
    Ok(import_response(
        super::import_attendance(&st, &who, &id, Some(&lecture), &t, p.skip_bad).await?,
    ))
}

/// Import who attended the lectures of a mission's course (columns `name, day`, optionally
/// `org_code` and `topic` when two lectures share a day): a day without a lecture given is
/// that row's error; all-or-nothing unless `skip_bad=true`.
#[utoipa::path(post, path = "/api/v1/missions/missions/{id}/attendance/import", tag = "missions",
    params(("id" = String, Path, description = "Mission id"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV or XLSX file"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_course_attendance(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = read_table(&body, &p)?;
    Ok(import_response(
        super::import_attendance(&st, &who, &id, None, &t, p.skip_bad).await?,
    ))
}
