//! Expert studios through the JSON API (documented) and the pages: the list with the form to
//! open one, and a studio's page.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::Serialize;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{ApiRouter, AppError, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::{list, open, view, StudioInput, StudioRow, StudioView};
use crate::service::perms;
use crate::web::{label, org_names, own_orgs, unprocessable, Choice};

pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(list_studios, open_studio))
        .routes(routes!(get_studio))
}

pub fn page_routes() -> Router<Platform> {
    Router::new()
        .route("/missions/studios", get(list_page).post(open_post))
        .route("/missions/studios/{id}", get(studio_page))
}

#[derive(Serialize, ToSchema)]
struct StudioList {
    studios: Vec<StudioRow>,
}

/// Expert studios (专家工作室) hosted or sent by organisations in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/studios", tag = "missions",
    responses((status = 200, body = StudioList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn list_studios(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<StudioList>, AppError> {
    Ok(Json(StudioList {
        studios: list(&st, &who).await?,
    }))
}

/// Open an expert studio at a hospital or department in the caller's own subtree. 422 with
/// per-field messages.
#[utoipa::path(post, path = "/api/v1/missions/studios", tag = "missions", request_body = StudioInput,
    responses((status = 201, body = StudioRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn open_studio(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<StudioInput>,
) -> Result<Response, AppError> {
    let s = open(&st, &who, &input).await?;
    Ok(crate::api::created(
        format!("/api/v1/missions/studios/{}", s.id),
        s,
    ))
}

/// A studio with its visits, teaching operations and apprentices, read from the records.
#[utoipa::path(get, path = "/api/v1/missions/studios/{id}", tag = "missions",
    params(("id" = String, Path, description = "Studio id")),
    responses((status = 200, body = StudioView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_studio(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<StudioView>, AppError> {
    Ok(Json(view(&st, &who, &id).await?))
}

pub struct StudioLine {
    pub id: String,
    pub name: String,
    pub expert: String,
    pub home: String,
    pub host: String,
    pub opened_on: String,
}

#[derive(Template)]
#[template(path = "missions_studios.html")]
struct ListPage {
    shell: Shell,
    studios: Vec<StudioLine>,
    can_open: bool,
    hosts: Vec<Choice>,
    error: String,
}

async fn list_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    error: String,
) -> Result<Response, AppError> {
    let rows = list(st, who).await?;
    let t = &ctx.t;
    let names = org_names(
        st,
        t,
        rows.iter()
            .flat_map(|r| [r.home_code.clone(), r.host_code.clone()]),
    )
    .await?;
    let name = |c: &str| names.get(c).cloned().unwrap_or_default();
    let studios = rows
        .iter()
        .map(|r| StudioLine {
            id: r.id.clone(),
            name: r.name.clone(),
            expert: r.expert_name.clone(),
            home: name(&r.home_code),
            host: name(&r.host_code),
            opened_on: r.opened_on.clone(),
        })
        .collect();
    let can_open = who.can(perms::PLAN);
    let hosts = if can_open {
        own_orgs(st, who, t).await?
    } else {
        Vec::new()
    };
    render(&ListPage {
        studios,
        can_open,
        hosts,
        error,
        shell: Shell::new(ctx, st, Some(who)),
    })
}

async fn list_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    list_view(&st, ctx, &who, String::new()).await
}

async fn open_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<StudioInput>,
) -> Result<Response, AppError> {
    match open(&st, &who, &f).await {
        Ok(s) => Ok(Redirect::to(&format!("/missions/studios/{}", s.id)).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(unprocessable(list_view(&st, ctx, &who, msg).await?))
        }
        Err(e) => Err(e),
    }
}

pub struct VisitLine {
    pub id: String,
    pub title: String,
    pub period: String,
}

pub struct OperationLine {
    pub day: String,
    pub kind: String,
    pub topic: String,
    pub count: i64,
    pub people: String,
}

pub struct ApprenticeLine {
    pub id: String,
    pub trainee: String,
    pub post: String,
    pub progress: String,
}

#[derive(Template)]
#[template(path = "missions_studio.html")]
struct StudioPage {
    shell: Shell,
    name: String,
    expert: String,
    specialty: String,
    home: String,
    host: String,
    opened_on: String,
    visits: Vec<VisitLine>,
    operations: Vec<OperationLine>,
    apprentices: Vec<ApprenticeLine>,
}

async fn studio_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let v = view(&st, &who, &id).await?;
    let t = &ctx.t;
    let s = &v.studio;
    let names = org_names(&st, t, [s.home_code.clone(), s.host_code.clone()]).await?;
    let name = |c: &str| names.get(c).cloned().unwrap_or_default();
    let page = StudioPage {
        name: s.name.clone(),
        expert: s.expert_name.clone(),
        specialty: s.specialty.clone(),
        home: name(&s.home_code),
        host: name(&s.host_code),
        opened_on: s.opened_on.clone(),
        visits: v
            .visits
            .iter()
            .map(|m| VisitLine {
                id: m.id.clone(),
                title: m.title.clone(),
                period: format!("{} – {}", m.starts_on, m.ends_on),
            })
            .collect(),
        operations: v
            .teaching_operations
            .iter()
            .map(|a| OperationLine {
                day: a.day.clone(),
                kind: label(t, "missions.akind", &a.kind),
                topic: a.topic.clone(),
                count: a.count,
                people: a.people.clone(),
            })
            .collect(),
        apprentices: v
            .apprentices
            .iter()
            .map(|a| ApprenticeLine {
                id: a.mentorship_id.clone(),
                trainee: a.trainee_name.clone(),
                post: a.trainee_post.clone(),
                progress: format!("{}/{}", a.signed, a.total),
            })
            .collect(),
        shell: Shell::new(ctx, &st, Some(&who)),
    };
    render(&page)
}
