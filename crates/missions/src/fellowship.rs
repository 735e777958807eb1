//! Fellowships (进修): an engagement of kind `fellowship` names the place and department (its
//! lead), the fellows' home (its site), the dates and the fellows (its team). When it ends the
//! host writes the completion report: supervisor, outcome and summary. Fellows from partner
//! hospitals (Pakistan, Kyrgyzstan, Uzbekistan) read and get their certificates in English.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, ApiRouter, AppError, Msg, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::domain::{parse_date, Check};
use crate::service::{missions, perms, today};

pub const COMPLETION: &str = "FellowshipCompletion";
pub const OUTCOMES: [&str; 2] = ["completed", "not_completed"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CompletionRow {
    pub mission_id: String,
    pub supervisor: String,
    /// `completed` or `not_completed`.
    pub outcome: String,
    /// What the fellow learnt and did: procedures, cases, assessment.
    pub summary: String,
    pub reported_by: String,
    pub reported_on: String,
    pub reported_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CompletionInput {
    #[serde(default)]
    pub supervisor: String,
    /// `completed` or `not_completed`.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub summary: String,
}

pub(crate) async fn insert(tx: &mut Tx, c: &CompletionRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_fellowship_reports (mission_id, supervisor, outcome, summary, reported_by, reported_on, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&c.mission_id).bind(&c.supervisor).bind(&c.outcome).bind(&c.summary)
        .bind(&c.reported_by).bind(&c.reported_on).bind(&c.reported_at))?;
    Ok(())
}

pub(crate) async fn completion_of(
    db: &Db,
    mission_id: &str,
) -> Result<Option<CompletionRow>, AppError> {
    let sql = "SELECT mission_id, supervisor, outcome, summary, reported_by, reported_on, reported_at FROM missions_fellowship_reports WHERE mission_id = $1";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CompletionRow>(sql).bind(mission_id).fetch_optional(pool).await)?,
    )
}

/// The completion report of a fellowship the caller sees, if written.
pub async fn completion(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
) -> Result<Option<CompletionRow>, AppError> {
    let m = missions::get(st, who, mission_id).await?;
    completion_of(&st.db, &m.id).await
}

/// Write the completion report: by the host (the fellowship's lead in the caller's own
/// subtree, `missions.record`), once, on or after the last day.
pub async fn complete(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    input: &CompletionInput,
) -> Result<CompletionRow, AppError> {
    let m = missions::get(st, who, mission_id).await?;
    who.require(perms::RECORD)?;
    if !who.scope.owns(&m.lead_path) {
        return Err(AppError::Forbidden);
    }
    let mut c = Check::default();
    if m.kind != "fellowship" {
        c.fail("mission_id", "missions.err.cert_not_fellowship");
    }
    let today = today(st);
    if parse_date(&m.ends_on).is_some_and(|e| e > today) {
        c.fail("mission_id", "missions.err.cert_unfinished");
    }
    let row = CompletionRow {
        mission_id: m.id.clone(),
        supervisor: c.text("supervisor", &input.supervisor, true),
        outcome: c.one_of("outcome", &input.outcome, &OUTCOMES),
        summary: c.text("summary", &input.summary, true),
        reported_by: who.display_name.clone(),
        reported_on: today.to_string(),
        reported_at: String::new(),
    };
    let row = c.done(row).map_err(AppError::Invalid)?;
    if completion_of(&st.db, &m.id).await?.is_some() {
        return Err(AppError::Conflict(Msg::new(
            "missions.err.completion_exists",
        )));
    }
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.reported_at = tx.now().to_string();
            insert(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, COMPLETION, &row.mission_id).detail(&row.outcome),
            );
            Ok(row)
        })
    })
    .await
}

// ---- API and page

pub fn api_routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(get_completion, write_completion))
}

pub fn page_routes() -> Router<Platform> {
    Router::new().route("/missions/m/{id}/completion", post(complete_post))
}

#[derive(Serialize, ToSchema)]
struct CompletionAnswer {
    /// Null until the host has written it.
    completion: Option<CompletionRow>,
}

/// The completion report of a fellowship (null until written).
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/completion", tag = "missions",
    params(("id" = String, Path, description = "Fellowship (mission) id")),
    responses((status = 200, body = CompletionAnswer), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_completion(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<CompletionAnswer>, AppError> {
    Ok(Json(CompletionAnswer {
        completion: completion(&st, &who, &id).await?,
    }))
}

/// Write the completion report of a finished fellowship: supervisor, outcome, summary. Only
/// the host (the fellowship's lead organisation); once (409 after).
#[utoipa::path(post, path = "/api/v1/missions/missions/{id}/completion", tag = "missions",
    params(("id" = String, Path, description = "Fellowship (mission) id")), request_body = CompletionInput,
    responses((status = 201, body = CompletionRow), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn write_completion(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<CompletionInput>,
) -> Result<Response, AppError> {
    let c = complete(&st, &who, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

async fn complete_post(
    State(st): State<Platform>,
    ctx: tianshan_platform::web::PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<CompletionInput>,
) -> Result<Response, AppError> {
    match complete(&st, &who, &id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/missions/m/{id}/report#completion")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(crate::web::unprocessable(
                crate::web::report_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}
