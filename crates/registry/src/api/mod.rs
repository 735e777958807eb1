//! The registry's JSON API under `/api/v1`: the same operations as the pages, for programs.
//! Every handler is annotated for the generated OpenAPI document.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::PageCtx;
use tianshan_platform::{ApiRouter, AppError, Msg, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::domain::PatientInput;
use crate::service::{self, directory, CreateOptions, CreateOutcome, ReadDetail};
use crate::store::orgs::{Org, OrgQuery};
use crate::store::patients::{GuardianRow, PatientRow, ShareRow};
use crate::store::practitioners::{PractitionerQuery, PractitionerRow};

mod requests;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(search_patients, create_patient))
        .routes(routes!(get_patient, update_patient))
        .routes(routes!(list_shares, share_patient))
        .routes(routes!(unshare_patient))
        .routes(routes!(requests::list_requests, requests::create_request))
        .routes(routes!(requests::get_request))
        .routes(routes!(requests::approve_request))
        .routes(routes!(requests::refuse_request))
        .routes(routes!(requests::withdraw_request))
        .routes(routes!(search_orgs))
        .routes(routes!(get_org))
        .routes(routes!(search_practitioners))
        .routes(routes!(get_practitioner))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct PatientSearch {
    /// One search box: an ID number, a phone number, or a name in any script, pinyin or
    /// pinyin initials (`zs` finds 张三).
    q: Option<String>,
    name: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    /// `YYYY-MM-DD`.
    birth_date: Option<String>,
    sex: Option<String>,
    org_code: Option<String>,
    /// 1–200, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[derive(Serialize, ToSchema)]
struct PatientList {
    patients: Vec<PatientRow>,
    limit: i64,
    offset: i64,
}

/// Search patients inside the caller's scope (audited, listing the records shown).
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientSearch),
    responses((status = 200, body = PatientList), (status = 400, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn search_patients(
    State(st): State<Platform>,
    who: Principal,
    Query(s): Query<PatientSearch>,
) -> Result<Json<PatientList>, AppError> {
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
    q.offset = s.offset.unwrap_or(0).clamp(0, 100_000);
    if q.is_empty() {
        return Err(AppError::BadRequest(Msg::new("api.search_criteria")));
    }
    let rows = service::search(&st, &who, &q).await?;
    Ok(Json(PatientList {
        patients: rows,
        limit: q.limit,
        offset: q.offset,
    }))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct CreateParams {
    /// The caller saw the probable duplicates (same name, birth date and village) and confirms
    /// this is someone else. Never overrides a same-ID duplicate.
    #[serde(default)]
    confirm_not_duplicate: bool,
}

/// A patient with their guardians.
#[derive(Serialize, ToSchema)]
struct PatientBody {
    patient: PatientRow,
    guardians: Vec<GuardianRow>,
}

/// Register a patient. Answers 201 with the record as stored, or 409 with the probable
/// duplicates (`error.candidates`). A record with the same ID number is the same person and is
/// never registered twice (`confirm_not_duplicate` does not apply to it): when it is outside
/// the caller's scope, `error.request` says how to ask for it (`POST /api/v1/patient-requests`).
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", params(CreateParams),
    request_body = PatientInput,
    responses((status = 201, body = PatientBody), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_patient(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CreateParams>,
    Json(input): Json<PatientInput>,
) -> Result<Response, AppError> {
    let opts = CreateOptions {
        confirmed_not_duplicate: p.confirm_not_duplicate,
        ..Default::default()
    };
    match service::create(&st, &who, &input, opts).await? {
        CreateOutcome::Created(rec) => {
            let id = rec.row.id.clone();
            let body = PatientBody {
                patient: rec.row,
                guardians: rec.guardians,
            };
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
            // One ID number is one person: a same-ID record is never registered again. The
            // caller opens it (in scope) or asks for it (elsewhere, by ID number).
            let same_id = d.iter().find(|x| x.kind == "same_id_number");
            let key = match same_id {
                Some(x) if x.elsewhere => "patient.dup.elsewhere",
                Some(_) => "patient.dup.same_id_here",
                None => "patient.dup.intro",
            };
            let message = ctx.t.get(key).to_string();
            let mut body = json!({ "error": { "code": "duplicate", "message": message, "fields": [], "candidates": d } });
            if same_id.is_some_and(|x| x.elsewhere) {
                body["error"]["request"] = json!({
                    "href": "/api/v1/patient-requests",
                    "id_number": crate::service::requests::typed_id_number(&input.id_number),
                    "kinds": ["transfer", "share"],
                });
            }
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

/// Read a patient (audited). Outside the caller's scope answers 404, as for an unknown id.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = String, Path, description = "Patient id")),
    responses((status = 200, body = PatientBody), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<PatientBody>, AppError> {
    let rec = service::read(&st, &who, &id, ReadDetail::default()).await?;
    Ok(Json(PatientBody {
        patient: rec.row,
        guardians: rec.guardians,
    }))
}

#[derive(Deserialize, ToSchema)]
struct PatientUpdate {
    #[serde(flatten)]
    input: PatientInput,
    /// The version read; a stale version answers 409 instead of overwriting someone's change.
    version: Option<i64>,
}

/// Change a patient. Only users whose own subtree holds the record may; a new `org_code` moves
/// the patient, which needs rights over both organisations and is audited as a move.
#[utoipa::path(put, path = "/api/v1/patients/{id}", tag = "patients",
    params(("id" = String, Path, description = "Patient id")),
    request_body = PatientUpdate,
    responses((status = 200, body = PatientBody), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn update_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(u): Json<PatientUpdate>,
) -> Result<Json<PatientBody>, AppError> {
    let rec = service::update(&st, &who, &id, &u.input, u.version, None).await?;
    Ok(Json(PatientBody {
        patient: rec.row,
        guardians: rec.guardians,
    }))
}

#[derive(Deserialize, ToSchema)]
struct ShareBody {
    /// The organisation (rear hospital, partner) whose clinicians may then read the record.
    org_code: String,
}

#[derive(Serialize, ToSchema)]
struct ShareList {
    shares: Vec<ShareRow>,
}

/// The organisations a patient is shared with.
#[utoipa::path(get, path = "/api/v1/patients/{id}/shares", tag = "patients",
    params(("id" = String, Path, description = "Patient id")),
    responses((status = 200, body = ShareList), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn list_shares(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<ShareList>, AppError> {
    Ok(Json(ShareList {
        shares: service::shares(&st, &who, &id).await?,
    }))
}

/// Share a patient with an organisation (read access only; audited).
#[utoipa::path(post, path = "/api/v1/patients/{id}/shares", tag = "patients",
    params(("id" = String, Path, description = "Patient id")),
    request_body = ShareBody,
    responses((status = 204), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn share_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(b): Json<ShareBody>,
) -> Result<StatusCode, AppError> {
    service::share(&st, &who, &id, &b.org_code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop sharing a patient with an organisation (audited).
#[utoipa::path(delete, path = "/api/v1/patients/{id}/shares/{org_code}", tag = "patients",
    params(("id" = String, Path, description = "Patient id"), ("org_code" = String, Path, description = "Organisation code")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn unshare_patient(
    State(st): State<Platform>,
    who: Principal,
    Path((id, org)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    service::unshare(&st, &who, &id, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Name or code contains.
    q: Option<String>,
    parent: Option<String>,
    org_code: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct OrgList {
    orgs: Vec<Org>,
}

/// Search the organisation tree.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "directory", params(ListParams),
    responses((status = 200, body = OrgList)), security(("bearer" = [])))]
async fn search_orgs(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ListParams>,
) -> Result<Json<OrgList>, AppError> {
    let q = OrgQuery {
        name: nonempty(p.q),
        parent: nonempty(p.parent),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).clamp(0, 1_000_000),
        ..Default::default()
    };
    Ok(Json(OrgList {
        orgs: directory::search_orgs(&st, &who, &q).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct OrgBody {
    org: Org,
    children: Vec<Org>,
}

/// One organisation and its children.
#[utoipa::path(get, path = "/api/v1/orgs/{code}", tag = "directory",
    params(("code" = String, Path, description = "Organisation code")),
    responses((status = 200, body = OrgBody), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_org(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Json<OrgBody>, AppError> {
    let org = directory::read_org(&st, &who, &code).await?;
    let children = directory::children(&st, &who, Some(&code)).await?;
    Ok(Json(OrgBody { org, children }))
}

#[derive(Serialize, ToSchema)]
struct PractitionerList {
    practitioners: Vec<PractitionerRow>,
}

/// Search practitioners by name in any script, pinyin initials or specialty.
#[utoipa::path(get, path = "/api/v1/practitioners", tag = "directory", params(ListParams),
    responses((status = 200, body = PractitionerList)), security(("bearer" = [])))]
async fn search_practitioners(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ListParams>,
) -> Result<Json<PractitionerList>, AppError> {
    let q = PractitionerQuery {
        name: nonempty(p.q),
        org_code: nonempty(p.org_code),
        sex: None,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).clamp(0, 1_000_000),
    };
    Ok(Json(PractitionerList {
        practitioners: directory::search_practitioners(&st, &who, &q).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct PractitionerBody {
    practitioner: PractitionerRow,
}

/// One practitioner.
#[utoipa::path(get, path = "/api/v1/practitioners/{id}", tag = "directory",
    params(("id" = String, Path, description = "Practitioner id")),
    responses((status = 200, body = PractitionerBody), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_practitioner(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<PractitionerBody>, AppError> {
    Ok(Json(PractitionerBody {
        practitioner: directory::practitioner(&st, &who, &id).await?,
    }))
}
