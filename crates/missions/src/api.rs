//! The missions module's JSON API under `/api/v1/missions`: the same operations as the pages,
//! for programs. Every handler is annotated for the generated OpenAPI document.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{self, ImportReport};
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::domain::{
    ActivityInput, ConvertInput, LiaisonAnswer, LiaisonInput, MentorshipInput, MissionInput,
    NeedInput, OfferInput, SignOffInput, StaffInput,
};
use crate::files::{self, Format};
use crate::service::missions::{self, Report};
use crate::service::needs::{self, BoardLine};
use crate::service::talent::{self, LiaisonView, MentorshipView};
use crate::store::{ActivityRow, MentorshipRow, MissionRow, NeedRow, OfferRow, StaffRow};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(list_needs, post_need))
        .routes(routes!(get_need))
        .routes(routes!(convert_need))
        .routes(routes!(export_needs))
        .routes(routes!(import_needs))
        .routes(routes!(list_offers, post_offer))
        .routes(routes!(board))
        .routes(routes!(list_missions, create_mission))
        .routes(routes!(get_mission))
        .routes(routes!(list_activities, record_activity))
        .routes(routes!(export_activities))
        .routes(routes!(import_activities))
        .routes(routes!(mission_report))
        .routes(routes!(list_staff, add_staff))
        .routes(routes!(list_mentorships, create_mentorship))
        .routes(routes!(get_mentorship))
        .routes(routes!(sign_off))
        .routes(routes!(list_liaison, ask_liaison))
        .routes(routes!(get_liaison))
        .routes(routes!(answer_liaison))
        .routes(routes!(close_liaison))
        .merge(crate::register::api_routes())
        .merge(crate::handover::api_routes())
        .merge(crate::certificates::api_routes())
        .merge(crate::studios::api_routes())
        .merge(crate::fellowship::api_routes())
        .merge(crate::roster::api::routes())
}

/// 201 with the new resource's address and the resource.
pub(crate) fn created<T: Serialize>(loc: String, body: T) -> Response {
    (
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, loc)],
        Json(body),
    )
        .into_response()
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct NeedFilter {
    /// Only open needs.
    #[serde(default)]
    open: bool,
}

#[derive(Serialize, ToSchema)]
struct NeedList {
    needs: Vec<NeedRow>,
}

/// Needs posted by departments in the caller's scope: open ones first, most urgent and oldest
/// first.
#[utoipa::path(get, path = "/api/v1/missions/needs", tag = "missions", params(NeedFilter),
    responses((status = 200, body = NeedList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_needs(
    State(st): State<Platform>,
    who: Principal,
    Query(f): Query<NeedFilter>,
) -> Result<Json<NeedList>, AppError> {
    Ok(Json(NeedList {
        needs: needs::needs(&st, &who, f.open).await?,
    }))
}

/// Post a need from the menu (a technique, a disease area, training of a role, equipment use)
/// for a department in the caller's own subtree. 422 with per-field messages.
#[utoipa::path(post, path = "/api/v1/missions/needs", tag = "missions", request_body = NeedInput,
    responses((status = 201, body = NeedRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn post_need(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<NeedInput>,
) -> Result<Response, AppError> {
    let n = needs::post_need(&st, &who, &input).await?;
    Ok(created(format!("/api/v1/missions/needs/{}", n.id), n))
}

/// One need (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/missions/needs/{id}", tag = "missions",
    params(("id" = String, Path, description = "Need id")),
    responses((status = 200, body = NeedRow), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_need(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<NeedRow>, AppError> {
    Ok(Json(needs::need(&st, &who, &id).await?))
}

/// Turn a need and an offer into a mission, a fellowship or a mentorship in one action (needs
/// `missions.plan`). Dates default to the overlap of the need's period and the offer's
/// availability. 409 when the need was already planned.
#[utoipa::path(post, path = "/api/v1/missions/needs/{id}/convert", tag = "missions",
    params(("id" = String, Path, description = "Need id")), request_body = ConvertInput,
    responses((status = 201, body = MissionRow), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn convert_need(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<ConvertInput>,
) -> Result<Response, AppError> {
    let m = needs::convert(&st, &who, &id, &input).await?;
    Ok(created(format!("/api/v1/missions/missions/{}", m.id), m))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `csv` (default) or `xlsx`.
    format: Option<String>,
}

/// The needs of the caller's scope as CSV or XLSX (the columns an import takes).
#[utoipa::path(get, path = "/api/v1/missions/needs/export", tag = "missions", params(ExportParams),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 400, body = ApiError)),
    security(("bearer" = [])))]
async fn export_needs(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    files::export_needs(&st, &who, Format::parse(p.format.as_deref())?).await
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportParams {
    /// The file's name (`needs.xlsx`): XLSX is also recognised by its content.
    pub filename: Option<String>,
    /// Write the good rows even when some rows have errors.
    #[serde(default)]
    pub skip_bad: bool,
}

pub(crate) fn read_table(body: &Bytes, p: &ImportParams) -> Result<tabular::Table, AppError> {
    tabular::read(body, p.filename.as_deref().unwrap_or("upload.csv"))
}

pub(crate) fn import_response(r: ImportReport) -> Response {
    let status = if r.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, Json(r)).into_response()
}

/// Import needs from a CSV or XLSX file (the request body). Every row is checked first; a file
/// with any bad row writes nothing (422 with every row's errors) unless `skip_bad=true`.
#[utoipa::path(post, path = "/api/v1/missions/needs/import", tag = "missions", params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV or XLSX file"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_needs(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = read_table(&body, &p)?;
    Ok(import_response(
        files::import_needs(&st, &who, &t, p.skip_bad).await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct OfferList {
    offers: Vec<OfferRow>,
}

/// Offers: every current one to planners, one's own organisations' to others.
#[utoipa::path(get, path = "/api/v1/missions/offers", tag = "missions",
    responses((status = 200, body = OfferList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_offers(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<OfferList>, AppError> {
    Ok(Json(OfferList {
        offers: needs::offers(&st, &who).await?,
    }))
}

/// Post what a rear hospital department can send or teach, with the expert's availability.
#[utoipa::path(post, path = "/api/v1/missions/offers", tag = "missions", request_body = OfferInput,
    responses((status = 201, body = OfferRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn post_offer(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<OfferInput>,
) -> Result<Response, AppError> {
    let o = needs::post_offer(&st, &who, &input).await?;
    Ok(created(format!("/api/v1/missions/offers/{}", o.id), o))
}

#[derive(Serialize, ToSchema)]
struct Board {
    needs: Vec<BoardLine>,
}

/// The coordinator's board: open needs with their age and the best offers for each, ranked by
/// specialty, technique, dates and past missions.
#[utoipa::path(get, path = "/api/v1/missions/board", tag = "missions",
    responses((status = 200, body = Board), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn board(State(st): State<Platform>, who: Principal) -> Result<Json<Board>, AppError> {
    Ok(Json(Board {
        needs: needs::board(&st, &who).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct MissionList {
    missions: Vec<MissionRow>,
}

/// Missions, fellowships and mentorships at sites or led by hospitals in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/missions", tag = "missions",
    responses((status = 200, body = MissionList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_missions(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<MissionList>, AppError> {
    Ok(Json(MissionList {
        missions: missions::list(&st, &who).await?,
    }))
}

/// Plan a mission directly (site in the caller's own subtree).
#[utoipa::path(post, path = "/api/v1/missions/missions", tag = "missions", request_body = MissionInput,
    responses((status = 201, body = MissionRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_mission(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<MissionInput>,
) -> Result<Response, AppError> {
    let m = missions::create(&st, &who, &input).await?;
    Ok(created(format!("/api/v1/missions/missions/{}", m.id), m))
}

/// One mission (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}", tag = "missions",
    params(("id" = String, Path, description = "Mission id")),
    responses((status = 200, body = MissionRow), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_mission(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<MissionRow>, AppError> {
    Ok(Json(missions::get(&st, &who, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct ActivityList {
    activities: Vec<ActivityRow>,
}

/// A mission's day log, in order.
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/activities", tag = "missions",
    params(("id" = String, Path, description = "Mission id")),
    responses((status = 200, body = ActivityList), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn list_activities(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<ActivityList>, AppError> {
    Ok(Json(ActivityList {
        activities: missions::activities(&st, &who, &id).await?.1,
    }))
}

/// Log one entry of a mission day (free clinic, screening, operation done or taught, lecture,
/// teaching ward round, donation, agreement signed, technique introduced). 422 when the day is
/// outside the mission's dates.
#[utoipa::path(post, path = "/api/v1/missions/missions/{id}/activities", tag = "missions",
    params(("id" = String, Path, description = "Mission id")), request_body = ActivityInput,
    responses((status = 201, body = ActivityRow), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn record_activity(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<ActivityInput>,
) -> Result<Response, AppError> {
    let a = missions::record(&st, &who, &id, &input).await?;
    Ok(created(
        format!("/api/v1/missions/missions/{id}/activities"),
        a,
    ))
}

/// A mission's day log as CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/activities/export", tag = "missions",
    params(("id" = String, Path, description = "Mission id"), ExportParams),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn export_activities(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    files::export_activities(&st, &who, &id, Format::parse(p.format.as_deref())?).await
}

/// Import a mission's day log from CSV or XLSX (columns `day, kind, topic, count, people,
/// note`); all-or-nothing unless `skip_bad=true`.
#[utoipa::path(post, path = "/api/v1/missions/missions/{id}/activities/import", tag = "missions",
    params(("id" = String, Path, description = "Mission id"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV or XLSX file"),
    responses((status = 200, body = ImportReport), (status = 404, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_activities(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = read_table(&body, &p)?;
    Ok(import_response(
        files::import_activities(&st, &who, &id, &t, p.skip_bad).await?,
    ))
}

/// What a mission did and left behind: totals by kind, techniques introduced, people trained,
/// agreements, apprentices and their progress.
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/report", tag = "missions",
    params(("id" = String, Path, description = "Mission id")),
    responses((status = 200, body = Report), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn mission_report(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Report>, AppError> {
    Ok(Json(missions::report(&st, &who, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct StaffList {
    staff: Vec<StaffRow>,
}

/// The aid staff roster (援疆干部人才) of the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/staff", tag = "missions",
    responses((status = 200, body = StaffList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_staff(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<StaffList>, AppError> {
    Ok(Json(StaffList {
        staff: missions::staff(&st, &who).await?,
    }))
}

/// Add an aid professional's rotation: batch, home hospital, post, dates in and out.
#[utoipa::path(post, path = "/api/v1/missions/staff", tag = "missions", request_body = StaffInput,
    responses((status = 201, body = StaffRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn add_staff(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<StaffInput>,
) -> Result<Response, AppError> {
    let s = missions::add_staff(&st, &who, &input).await?;
    Ok(created("/api/v1/missions/staff".into(), s))
}

#[derive(Serialize, ToSchema)]
struct MentorshipList {
    mentorships: Vec<MentorshipRow>,
}

/// Mentorships (师带徒) whose trainee or mentor is in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/mentorships", tag = "missions",
    responses((status = 200, body = MentorshipList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_mentorships(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<MentorshipList>, AppError> {
    Ok(Json(MentorshipList {
        mentorships: talent::mentorships(&st, &who).await?,
    }))
}

/// Start a mentorship: mentor (a user), trainee, goals and the competencies to sign off.
#[utoipa::path(post, path = "/api/v1/missions/mentorships", tag = "missions", request_body = MentorshipInput,
    responses((status = 201, body = MentorshipView), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_mentorship(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<MentorshipInput>,
) -> Result<Response, AppError> {
    let v = talent::create_mentorship(&st, &who, &input).await?;
    Ok(created(
        format!("/api/v1/missions/mentorships/{}", v.mentorship.id),
        v,
    ))
}

/// One mentorship with its competencies and progress.
#[utoipa::path(get, path = "/api/v1/missions/mentorships/{id}", tag = "missions",
    params(("id" = String, Path, description = "Mentorship id")),
    responses((status = 200, body = MentorshipView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_mentorship(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<MentorshipView>, AppError> {
    Ok(Json(talent::mentorship(&st, &who, &id).await?))
}

/// The mentor signs off one competency with date and evidence. Anyone else: 422 naming why;
/// an already signed competency: 409.
#[utoipa::path(post, path = "/api/v1/missions/mentorships/{id}/milestones/{milestone}/sign", tag = "missions",
    params(("id" = String, Path, description = "Mentorship id"), ("milestone" = String, Path, description = "Milestone id")),
    request_body = SignOffInput,
    responses((status = 200, body = MentorshipView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn sign_off(
    State(st): State<Platform>,
    who: Principal,
    Path((id, milestone)): Path<(String, String)>,
    Json(input): Json<SignOffInput>,
) -> Result<Json<MentorshipView>, AppError> {
    Ok(Json(
        talent::sign_off(&st, &who, &id, &milestone, &input).await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct LiaisonList {
    requests: Vec<LiaisonView>,
}

/// Department requests (一人援疆，全科援疆) asked from or of organisations in the caller's scope,
/// with response times.
#[utoipa::path(get, path = "/api/v1/missions/requests", tag = "missions",
    responses((status = 200, body = LiaisonList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_liaison(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<LiaisonList>, AppError> {
    Ok(Json(LiaisonList {
        requests: talent::liaisons(&st, &who).await?,
    }))
}

/// A front-line aid doctor asks their home department for an expert visit, a remote session,
/// a protocol or a second opinion.
#[utoipa::path(post, path = "/api/v1/missions/requests", tag = "missions", request_body = LiaisonInput,
    responses((status = 201, body = LiaisonView), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn ask_liaison(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<LiaisonInput>,
) -> Result<Response, AppError> {
    let v = talent::ask(&st, &who, &input).await?;
    Ok(created(
        format!("/api/v1/missions/requests/{}", v.request.id),
        v,
    ))
}

/// One department request.
#[utoipa::path(get, path = "/api/v1/missions/requests/{id}", tag = "missions",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = LiaisonView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_liaison(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<LiaisonView>, AppError> {
    Ok(Json(talent::liaison(&st, &who, &id).await?))
}

/// The home department answers with dates and people (its own subtree only). 409 when
/// already answered.
#[utoipa::path(post, path = "/api/v1/missions/requests/{id}/answer", tag = "missions",
    params(("id" = String, Path, description = "Request id")), request_body = LiaisonAnswer,
    responses((status = 200, body = LiaisonView), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn answer_liaison(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<LiaisonAnswer>,
) -> Result<Json<LiaisonView>, AppError> {
    Ok(Json(talent::answer(&st, &who, &id, &input).await?))
}

/// The asking side marks an answered request done. 409 before it is answered.
#[utoipa::path(post, path = "/api/v1/missions/requests/{id}/done", tag = "missions",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = LiaisonView), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn close_liaison(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<LiaisonView>, AppError> {
    Ok(Json(talent::close(&st, &who, &id).await?))
}
