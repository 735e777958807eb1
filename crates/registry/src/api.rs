//! The registry's JSON API under `/api/v1`: the same operations as the pages, for programs.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::Permission;
use tianshan_platform::web::PageCtx;
use tianshan_platform::{AppError, Msg, Platform};

use crate::domain::PatientInput;
use crate::service::{self, CreateOptions, CreateOutcome};
use crate::store::orgs::{self, OrgQuery};
use crate::store::practitioners::{self, PractitionerQuery};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route(
            "/api/v1/patients",
            get(search_patients).post(create_patient),
        )
        .route(
            "/api/v1/patients/{id}",
            get(get_patient).put(update_patient),
        )
        .route("/api/v1/patients/{id}/shares", post(share_patient))
        .route("/api/v1/orgs", get(search_orgs))
        .route("/api/v1/orgs/{code}", get(get_org))
        .route("/api/v1/practitioners", get(search_practitioners))
        .route("/api/v1/practitioners/{id}", get(get_practitioner))
}

#[derive(Deserialize, Default)]
struct PatientSearch {
    q: Option<String>,
    name: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
    org_code: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

async fn search_patients(
    State(st): State<Platform>,
    who: Principal,
    Query(s): Query<PatientSearch>,
) -> Result<Json<Value>, AppError> {
    let mut q =
        s.q.as_deref()
            .map(service::query_from_box)
            .unwrap_or_default();
    q.term = q.term.or(nonempty(s.name));
    q.id_number = q.id_number.or(nonempty(s.id_number));
    q.phone = q.phone.or(nonempty(s.phone));
    if let Some(b) = nonempty(s.birth_date) {
        if crate::domain::patient::parse_date(&b).is_none() {
            return Err(AppError::invalid(
                "birth_date",
                Msg::new("patient.err.birth_format").arg("value", b),
            ));
        }
        q.birth_date = Some((crate::store::patients::DateOp::Eq, b));
    }
    q.sex = nonempty(s.sex);
    q.org_code = nonempty(s.org_code);
    q.limit = s.limit.unwrap_or(50).clamp(1, 200);
    q.offset = s.offset.unwrap_or(0).max(0);
    if q.is_empty() {
        return Err(AppError::BadRequest(Msg::new("api.search_criteria")));
    }
    let rows = service::search(&st, &who, &q).await?;
    Ok(Json(
        json!({ "patients": rows, "limit": q.limit, "offset": q.offset }),
    ))
}

#[derive(Deserialize, Default)]
struct CreateParams {
    #[serde(default)]
    confirm_not_duplicate: bool,
}

async fn create_patient(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CreateParams>,
    Json(input): Json<PatientInput>,
) -> Result<Response, AppError> {
    let opts = CreateOptions {
        confirmed_not_duplicate: p.confirm_not_duplicate,
        fhir_extra: "{}",
        id: None,
    };
    match service::create(&st, &who, &input, opts).await? {
        CreateOutcome::Created(id) => {
            let rec = service::read(&st, &who, &id).await?;
            let body = json!({ "patient": rec.row, "guardians": rec.guardians });
            Ok((
                StatusCode::CREATED,
                [(
                    axum::http::header::LOCATION,
                    format!("/api/v1/patients/{id}"),
                )],
                Json(body),
            )
                .into_response())
        }
        CreateOutcome::Duplicates(d) => {
            let message = ctx.t.get("patient.dup.intro").to_string();
            let body = json!({ "error": { "code": "duplicate", "message": message, "fields": [], "candidates": d } });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

async fn get_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rec = service::read(&st, &who, &id).await?;
    Ok(Json(
        json!({ "patient": rec.row, "guardians": rec.guardians }),
    ))
}

#[derive(Deserialize)]
struct PatientUpdate {
    #[serde(flatten)]
    input: PatientInput,
    version: Option<i64>,
}

async fn update_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(u): Json<PatientUpdate>,
) -> Result<Json<Value>, AppError> {
    service::update(&st, &who, &id, &u.input, u.version, None).await?;
    let rec = service::read(&st, &who, &id).await?;
    Ok(Json(
        json!({ "patient": rec.row, "guardians": rec.guardians }),
    ))
}

#[derive(Deserialize)]
struct ShareBody {
    org_code: String,
}

async fn share_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(b): Json<ShareBody>,
) -> Result<StatusCode, AppError> {
    service::share(&st, &who, &id, &b.org_code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct ListParams {
    q: Option<String>,
    parent: Option<String>,
    org_code: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn search_orgs(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, AppError> {
    who.require(Permission::ReadRegistry)?;
    let q = OrgQuery {
        name: nonempty(p.q),
        parent: nonempty(p.parent),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).max(0),
        ..Default::default()
    };
    Ok(Json(json!({ "orgs": orgs::search(&st.db, &q).await? })))
}

async fn get_org(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    who.require(Permission::ReadRegistry)?;
    let org = orgs::get(&st.db, &code).await?.ok_or(AppError::NotFound)?;
    let children = orgs::children(&st.db, Some(&code)).await?;
    Ok(Json(json!({ "org": org, "children": children })))
}

async fn search_practitioners(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, AppError> {
    who.require(Permission::ReadRegistry)?;
    let q = PractitionerQuery {
        name: nonempty(p.q),
        org_code: nonempty(p.org_code),
        sex: None,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).max(0),
    };
    Ok(Json(
        json!({ "practitioners": practitioners::search(&st.db, &q).await? }),
    ))
}

async fn get_practitioner(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    who.require(Permission::ReadRegistry)?;
    let p = practitioners::get(&st.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "practitioner": p })))
}
