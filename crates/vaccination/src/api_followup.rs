//! The follow-up part of the vaccination JSON API: coverage per birth cohort (JSON and file),
//! the overdue children of a place per village doctor, a child's residence history.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular;
use tianshan_platform::web::PageCtx;
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::service::{self as svc, CoverageQuery, CoverageReport, OverduePlace, ReminderView};
use crate::store::{BirthFacility, ResidenceRow};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(coverage))
        .routes(routes!(export_coverage))
        .routes(routes!(overdue))
        .routes(routes!(residence, set_residence))
        .routes(routes!(birth_facility))
        .routes(routes!(send_reminders, list_reminders))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CoverageParams {
    /// The place (county, township, village code); the caller's own node by default.
    org: Option<String>,
    /// Group rows by `village` (default), `township` or `county`.
    level: Option<String>,
    /// First and last birth year counted (the last five years by default).
    from_year: Option<i32>,
    to_year: Option<i32>,
    /// Assessment date `YYYY-MM-DD` (today by default).
    as_of: Option<String>,
    /// For the file: `csv` (default) or `xlsx`.
    #[serde(default)]
    pub(crate) format: String,
}

impl CoverageParams {
    pub(crate) fn query(&self) -> CoverageQuery {
        CoverageQuery {
            org: self.org.clone(),
            level: self.level.clone(),
            from_year: self.from_year,
            to_year: self.to_year,
            as_of: self.as_of.clone(),
        }
    }
}

/// Coverage of a place per birth year, and of each village, township or county below it: every
/// programme dose by 12 and by 24 months of age, fully immunised, dropout (DTaP, polio,
/// hepatitis B 1 → 3) and timeliness (doses given in the schedule's window). A child counts
/// once, where the registry registers them: a moved-in child whose record is only shared
/// counts at home until the record is transferred; moved-out children are left out.
#[utoipa::path(get, path = "/api/v1/vaccination/coverage", tag = "vaccination", params(CoverageParams),
    responses((status = 200, body = CoverageReport), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn coverage(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CoverageParams>,
) -> Result<Json<CoverageReport>, AppError> {
    Ok(Json(
        svc::coverage(&st, &who, &p.query(), ctx.t.locale).await?,
    ))
}

/// The coverage report as CSV or XLSX: one line per cohort, place and measure, with the
/// numerator, denominator and percent.
#[utoipa::path(get, path = "/api/v1/vaccination/coverage/export", tag = "vaccination", params(CoverageParams),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn export_coverage(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CoverageParams>,
) -> Result<Response, AppError> {
    let report = svc::coverage(&st, &who, &p.query(), ctx.t.locale).await?;
    coverage_file(&report, &p.format)
}

pub(crate) fn coverage_file(report: &CoverageReport, format: &str) -> Result<Response, AppError> {
    let rows = svc::coverage_file_rows(report);
    Ok(if format == "xlsx" {
        tabular::download(
            "coverage.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("coverage", &svc::COVERAGE_COLUMNS, &rows)?,
        )
    } else {
        tabular::download(
            "coverage.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&svc::COVERAGE_COLUMNS, &rows),
        )
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverdueParams {
    /// A village, or a township (every village below it).
    org: String,
}

#[derive(Serialize, ToSchema)]
struct OverdueList {
    org_code: String,
    /// One list per village (its village doctor's), children with the guardian's phone.
    places: Vec<OverduePlace>,
}

/// Children overdue for any dose today, per village doctor, with the guardian's phone;
/// moved-out children are left out.
#[utoipa::path(get, path = "/api/v1/vaccination/overdue", tag = "vaccination", params(OverdueParams),
    responses((status = 200, body = OverdueList), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn overdue(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<OverdueParams>,
) -> Result<Json<OverdueList>, AppError> {
    let places = svc::overdue_by_village(&st, &who, &p.org, ctx.t.locale).await?;
    Ok(Json(OverdueList {
        org_code: p.org.trim().to_string(),
        places,
    }))
}

#[derive(Serialize, ToSchema)]
struct Residence {
    /// Newest first; the first is the current status.
    history: Vec<ResidenceRow>,
}

/// A child's residence history (resident, moved in, moved out), newest first.
#[utoipa::path(get, path = "/api/v1/vaccination/children/{id}/residence", tag = "vaccination",
    params(("id" = String, Path, description = "Patient id")),
    responses((status = 200, body = Residence), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn residence(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Residence>, AppError> {
    Ok(Json(Residence {
        history: svc::residence(&st, &who, &id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct RemindInput {
    /// A village, or a township (every village below it).
    #[serde(default)]
    org_code: String,
}

#[derive(Serialize, ToSchema)]
struct Reminders {
    reminders: Vec<ReminderView>,
}

/// Remind the guardians of a place's overdue children (at most once a day each) through the
/// outbound webhook (topic `vaccination.reminder`: an SMS or WeChat gateway). Answers the
/// reminders queued, each with its delivery state.
#[utoipa::path(post, path = "/api/v1/vaccination/reminders", tag = "vaccination", request_body = RemindInput,
    responses((status = 201, body = Reminders), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn send_reminders(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Json(input): Json<RemindInput>,
) -> Result<Response, AppError> {
    let reminders = svc::send_reminders(&st, &who, &input.org_code, &ctx.t).await?;
    Ok((StatusCode::CREATED, Json(Reminders { reminders })).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReminderParams {
    /// A village or township.
    org: String,
}

/// The newest reminders of a place with their delivery state: queued, sent, retrying (with the
/// reason of the failed attempt), failed (with the reason).
#[utoipa::path(get, path = "/api/v1/vaccination/reminders", tag = "vaccination", params(ReminderParams),
    responses((status = 200, body = Reminders), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn list_reminders(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ReminderParams>,
) -> Result<Json<Reminders>, AppError> {
    Ok(Json(Reminders {
        reminders: svc::reminders(&st, &who, &p.org).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct BirthFacilityInput {
    /// The hospital or clinic (organisation code), or empty with `name` in words.
    #[serde(default)]
    code: String,
    /// Where the child was born when not at an organisation of the network (at home, elsewhere).
    #[serde(default)]
    name: String,
}

/// Record (or correct) where a child was born.
#[utoipa::path(post, path = "/api/v1/vaccination/children/{id}/birth-facility", tag = "vaccination",
    params(("id" = String, Path, description = "Patient id")), request_body = BirthFacilityInput,
    responses((status = 200, body = BirthFacility), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn birth_facility(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<BirthFacilityInput>,
) -> Result<Json<BirthFacility>, AppError> {
    Ok(Json(
        svc::set_birth_facility(&st, &who, &id, &input.code, &input.name).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct ResidenceInput {
    /// resident, moved_in or moved_out.
    #[serde(default)]
    status: String,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(default)]
    since: String,
    #[serde(default)]
    note: String,
}

/// Record a change of a child's residence status from a date (流动儿童: moved in, moved out).
#[utoipa::path(post, path = "/api/v1/vaccination/children/{id}/residence", tag = "vaccination",
    params(("id" = String, Path, description = "Patient id")), request_body = ResidenceInput,
    responses((status = 201, body = ResidenceRow), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn set_residence(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<ResidenceInput>,
) -> Result<Response, AppError> {
    let row = svc::set_residence(&st, &who, &id, &input.status, &input.since, &input.note).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}
