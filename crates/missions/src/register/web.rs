//! The technique register and the measures through the JSON API and the pages.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::measures::{export_measures, measures, Measures};
use super::{
    advance, register, technique, techniques, StepInput, TechniqueInput, TechniqueRow,
    TechniqueView, STATUSES,
};
use crate::service::perms;

pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(super::talent::api_routes())
        .routes(routes!(api_list, api_register))
        .routes(routes!(api_get))
        .routes(routes!(api_step))
        .routes(routes!(api_measures))
        .routes(routes!(api_measures_export))
}

#[derive(Serialize, ToSchema)]
struct TechniqueList {
    techniques: Vec<TechniqueRow>,
}

/// The technique register of the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/techniques", tag = "missions",
    responses((status = 200, body = TechniqueList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_list(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<TechniqueList>, AppError> {
    Ok(Json(TechniqueList {
        techniques: techniques(&st, &who).await?,
    }))
}

/// Register a technique being introduced at a department in the caller's own subtree (status
/// `none`), optionally by a mission. 422 with per-field messages.
#[utoipa::path(post, path = "/api/v1/missions/techniques", tag = "missions", request_body = TechniqueInput,
    responses((status = 201, body = TechniqueRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_register(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<TechniqueInput>,
) -> Result<Response, AppError> {
    let t = register(&st, &who, &input).await?;
    Ok((
        StatusCode::CREATED,
        [(
            axum::http::header::LOCATION,
            format!("/api/v1/missions/techniques/{}", t.id),
        )],
        Json(t),
    )
        .into_response())
}

/// One technique with its dated, signed steps (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/missions/techniques/{id}", tag = "missions",
    params(("id" = String, Path, description = "Technique id")),
    responses((status = 200, body = TechniqueView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_get(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<TechniqueView>, AppError> {
    Ok(Json(technique(&st, &who, &id).await?))
}

/// Sign the next step (none → introduced → independent → excellent, one at a time, dated not
/// before the previous step nor in the future), or add evidence at the current status; each
/// step carries the cases done with aid and by the local team alone to date (introduced: the
/// first case and with whom; independent: a case alone; excellent: 20 alone and the evidence
/// in words). The signer is the caller.
#[utoipa::path(post, path = "/api/v1/missions/techniques/{id}/steps", tag = "missions",
    params(("id" = String, Path, description = "Technique id")), request_body = StepInput,
    responses((status = 200, body = TechniqueView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_step(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<StepInput>,
) -> Result<Json<TechniqueView>, AppError> {
    Ok(Json(advance(&st, &who, &id, &input).await?))
}

/// Missions, experts, days, patients seen, operations, teaching sessions, people trained and
/// techniques reaching independent, per year and prefecture, in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/measures", tag = "missions",
    responses((status = 200, body = Measures), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_measures(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Measures>, AppError> {
    Ok(Json(measures(&st, &who).await?))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The measures as CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/missions/measures/export", tag = "missions", params(FormatParam),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 400, body = ApiError)),
    security(("bearer" = [])))]
async fn api_measures_export(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_measures(&st, &who, p.format.as_deref()).await
}

// ---- pages

pub fn page_routes() -> Router<Platform> {
    Router::new()
        .merge(super::talent::page_routes())
        .route(
            "/missions/techniques",
            get(register_page).post(register_post),
        )
        .route("/missions/techniques/{id}", get(technique_page))
        .route("/missions/techniques/{id}/steps", post(step_post))
        .route("/missions/measures", get(measures_page))
        .route("/missions/measures.csv", get(measures_file))
}

pub struct TechLine {
    pub id: String,
    pub technique: String,
    pub org: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "missions_techniques.html")]
struct RegisterPage {
    shell: Shell,
    lines: Vec<TechLine>,
    can_record: bool,
    orgs: Vec<crate::web::Choice>,
    error: String,
}

async fn register_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    error: String,
) -> Result<Response, AppError> {
    let rows = techniques(st, who).await?;
    let t = &ctx.t;
    let names = crate::web::org_names(st, t, rows.iter().map(|r| r.org_code.clone())).await?;
    let lines = rows
        .iter()
        .map(|r| TechLine {
            id: r.id.clone(),
            technique: r.technique.clone(),
            org: names.get(&r.org_code).cloned().unwrap_or_default(),
            status: crate::web::label(t, "missions.tstatus", &r.status),
        })
        .collect();
    let can_record = who.can(perms::RECORD);
    let orgs = if can_record {
        crate::web::own_orgs(st, who, t).await?
    } else {
        Vec::new()
    };
    let page = RegisterPage {
        lines,
        can_record,
        orgs,
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn register_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    register_view(&st, ctx, &who, String::new()).await
}

async fn register_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<TechniqueInput>,
) -> Result<Response, AppError> {
    match register(&st, &who, &f).await {
        Ok(t) => Ok(Redirect::to(&format!("/missions/techniques/{}", t.id)).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(crate::web::unprocessable(
                register_view(&st, ctx, &who, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

/// The step form as typed: counts are text until checked.
#[derive(Deserialize)]
struct StepForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    on_date: String,
    #[serde(default)]
    first_case_with: String,
    #[serde(default)]
    cases_aided: String,
    #[serde(default)]
    cases_alone: String,
    #[serde(default)]
    note: String,
}

pub struct StepLine {
    pub status: String,
    pub on_date: String,
    pub signed_by: String,
    pub note: String,
    pub cases_aided: i64,
    pub cases_alone: i64,
}

#[derive(Template)]
#[template(path = "missions_technique.html")]
struct TechniquePage {
    shell: Shell,
    id: String,
    technique: String,
    org: String,
    status: String,
    mission_id: String,
    steps: Vec<StepLine>,
    first_case_on: String,
    first_case_with: String,
    /// The statuses the form offers: the next one, and the current one to add evidence.
    choices: Vec<crate::web::Choice>,
    /// The last counts, as the form's starting values.
    cases_aided: i64,
    cases_alone: i64,
    can_record: bool,
    error: String,
}

async fn technique_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    error: String,
) -> Result<Response, AppError> {
    let v = technique(st, who, id).await?;
    let t = &ctx.t;
    let names = crate::web::org_names(st, t, [v.technique.org_code.clone()]).await?;
    let cur = STATUSES
        .iter()
        .position(|s| *s == v.technique.status)
        .unwrap_or(0);
    let mut offered: Vec<&str> = STATUSES.get(cur + 1).into_iter().copied().collect();
    if cur > 0 {
        offered.push(STATUSES[cur]);
    }
    let choices = offered
        .iter()
        .map(|s| crate::web::Choice {
            value: s.to_string(),
            label: if *s == STATUSES[cur] {
                t.get("missions.techniques.evidence_update").to_string()
            } else {
                crate::web::label(t, "missions.tstatus", s)
            },
        })
        .collect();
    let last = v.steps.last();
    let page = TechniquePage {
        first_case_on: v.technique.first_case_on.clone().unwrap_or_default(),
        first_case_with: v.technique.first_case_with.clone(),
        choices,
        cases_aided: last.map(|s| s.cases_aided).unwrap_or(0),
        cases_alone: last.map(|s| s.cases_alone).unwrap_or(0),
        id: v.technique.id.clone(),
        org: names
            .get(&v.technique.org_code)
            .cloned()
            .unwrap_or_default(),
        status: crate::web::label(t, "missions.tstatus", &v.technique.status),
        mission_id: v.technique.mission_id.clone().unwrap_or_default(),
        steps: v
            .steps
            .iter()
            .map(|s| StepLine {
                status: crate::web::label(t, "missions.tstatus", &s.status),
                on_date: s.on_date.clone(),
                signed_by: s.signed_by.clone(),
                note: s.note.clone(),
                cases_aided: s.cases_aided,
                cases_alone: s.cases_alone,
            })
            .collect(),
        technique: v.technique.technique.clone(),
        can_record: who.can(perms::RECORD),
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn technique_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    technique_view(&st, ctx, &who, &id, String::new()).await
}

async fn step_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<StepForm>,
) -> Result<Response, AppError> {
    let count = |field: &str, v: &str| -> Result<i64, AppError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(0);
        }
        v.parse::<i64>().map_err(|_| {
            AppError::invalid(field, tianshan_platform::Msg::new("missions.err.count"))
        })
    };
    let input = count("cases_aided", &f.cases_aided).and_then(|aided| {
        Ok(StepInput {
            status: f.status.clone(),
            on_date: f.on_date.clone(),
            first_case_with: f.first_case_with.clone(),
            cases_aided: aided,
            cases_alone: count("cases_alone", &f.cases_alone)?,
            note: f.note.clone(),
        })
    });
    let result = match input {
        Ok(input) => advance(&st, &who, &id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/missions/techniques/{id}")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(crate::web::unprocessable(
                technique_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "missions_measures.html")]
struct MeasuresPage {
    shell: Shell,
    m: Measures,
    charts: Vec<super::charts::Chart>,
    w: i64,
    h: i64,
}

async fn measures_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let m = measures(&st, &who).await?;
    render(&MeasuresPage {
        charts: super::charts::charts(&m.lines),
        w: super::charts::W,
        h: super::charts::H,
        m,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

async fn measures_file(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_measures(&st, &who, p.format.as_deref()).await
}
