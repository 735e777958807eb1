//! HL7 FHIR R4 REST for the registry at `/fhir/r4`: Patient, Practitioner, Organization and
//! Location (read, create, update, search) and the CapabilityStatement. Scopes and audit are
//! the same as for pages, because patient operations go through `service`.
pub mod directory;
pub mod patient;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::{invalid, page_size, searchset, FHIR_JSON};
use tianshan_platform::scope::Permission;
use tianshan_platform::{AppError, Msg, Platform};

use crate::service::{self, CreateOptions, CreateOutcome};
use crate::store::orgs::{self, NewOrg, OrgQuery};
use crate::store::patients::{DateOp, PatientQuery};
use crate::store::practitioners::{self, PractitionerQuery};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/fhir/r4/metadata", get(metadata))
        .route(
            "/fhir/r4/Patient",
            get(search_patients).post(create_patient),
        )
        .route(
            "/fhir/r4/Patient/{id}",
            get(read_patient).put(update_patient),
        )
        .route(
            "/fhir/r4/Practitioner",
            get(search_practitioners).post(create_practitioner),
        )
        .route(
            "/fhir/r4/Practitioner/{id}",
            get(read_practitioner).put(update_practitioner),
        )
        .route(
            "/fhir/r4/Organization",
            get(search_organizations).post(create_organization),
        )
        .route(
            "/fhir/r4/Organization/{id}",
            get(read_organization).put(update_organization),
        )
        .route(
            "/fhir/r4/Location",
            get(search_locations).post(create_location),
        )
        .route(
            "/fhir/r4/Location/{id}",
            get(read_location).put(update_location),
        )
        .route("/fhir/r4/{ty}", get(unsupported).post(unsupported_write))
        .route(
            "/fhir/r4/{ty}/{id}",
            get(unsupported).put(unsupported_write),
        )
}

type Params = Query<HashMap<String, String>>;

fn fhir(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        body.to_string(),
    )
        .into_response()
}

fn created(ty: &str, id: &str, body: Value) -> Response {
    let mut r = fhir(StatusCode::CREATED, body);
    if let Ok(v) = header::HeaderValue::from_str(&format!("/fhir/r4/{ty}/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn parse_body(body: &Bytes) -> Result<Value, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        invalid(
            "$",
            &format!(
                "the body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn base_url(h: &HeaderMap) -> String {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/fhir/r4")
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

async fn unsupported(Path(p): Path<Vec<String>>) -> AppError {
    let ty = p.first().cloned().unwrap_or_default();
    AppError::NotFoundBecause(Msg::new("error.fhir_unsupported").arg("type", ty))
}

/// The same refusal for a write. The body is read first (up to the usual limit): answering
/// while the client is still sending makes the connection close under it, and the client then
/// sees a broken connection instead of the OperationOutcome.
async fn unsupported_write(p: Path<Vec<String>>, _body: Bytes) -> AppError {
    unsupported(p).await
}

async fn metadata(headers: HeaderMap) -> Response {
    let search = |names: &[(&str, &str)]| -> Vec<Value> {
        names
            .iter()
            .map(|(n, t)| json!({"name": n, "type": t}))
            .collect()
    };
    let common = [("_count", "number")];
    let res = |ty: &str, params: Vec<Value>| {
        json!({
            "type": ty,
            "interaction": [{"code": "read"}, {"code": "create"}, {"code": "update"}, {"code": "search-type"}],
            "updateCreate": ty == "Patient",
            "searchParam": params,
        })
    };
    let mut patient = search(&[
        ("name", "string"),
        ("family", "string"),
        ("given", "string"),
        ("identifier", "token"),
        ("birthdate", "date"),
        ("gender", "token"),
    ]);
    patient.extend(search(&common));
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "kind": "instance",
        "software": {"name": "Tianshan", "version": tianshan_platform::VERSION},
        "implementation": {"description": "Tianshan medical-aid network", "url": base_url(&headers)},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {"service": [{"text": "Bearer token (tianshan token create) or session cookie"}]},
            "resource": [
                res("Patient", patient),
                res("Practitioner", search(&[("name", "string"), ("gender", "token"), ("_count", "number")])),
                res("Organization", search(&[("name", "string"), ("partof", "reference"), ("_count", "number")])),
                res("Location", search(&[("name", "string"), ("partof", "reference"), ("_count", "number")])),
            ],
            "operation": [{"name": "immds-forecast", "definition": "http://hl7.org/fhir/uv/immds/OperationDefinition/immds-forecast"}],
        }],
    });
    fhir(StatusCode::OK, body)
}

fn paging(p: &HashMap<String, String>) -> Result<(i64, i64), AppError> {
    let count = page_size(p.get("_count").map(String::as_str))?;
    let offset = match p.get("_offset") {
        None => 0,
        Some(o) => o
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| invalid("_offset", "_offset must be a whole number"))?,
    };
    Ok((count, offset))
}

fn links(
    headers: &HeaderMap,
    ty: &str,
    p: &HashMap<String, String>,
    count: i64,
    offset: i64,
    got: usize,
) -> (String, Option<String>) {
    let mut keys: Vec<(&String, &String)> =
        p.iter().filter(|(k, _)| k.as_str() != "_offset").collect();
    keys.sort();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in keys {
        q.append_pair(k, v);
    }
    let base = format!("{}/{ty}?{}", base_url(headers), q.finish());
    let self_url = format!("{base}&_offset={offset}");
    let next =
        (got as i64 == count && count > 0).then(|| format!("{base}&_offset={}", offset + count));
    (self_url, next)
}

fn date_param(v: &str) -> Result<(DateOp, String), AppError> {
    let (op, d) = match v.get(..2) {
        Some("eq") => (DateOp::Eq, &v[2..]),
        Some("ge") => (DateOp::Ge, &v[2..]),
        Some("le") => (DateOp::Le, &v[2..]),
        Some("gt") => (DateOp::Gt, &v[2..]),
        Some("lt") => (DateOp::Lt, &v[2..]),
        _ => (DateOp::Eq, v),
    };
    if crate::domain::patient::parse_date(d).is_none() {
        return Err(invalid(
            "birthdate",
            &format!(
                "birthdate must be YYYY-MM-DD with an optional eq/ge/le/gt/lt prefix, not '{v}'"
            ),
        ));
    }
    Ok((op, d.to_string()))
}

async fn search_patients(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Query(p): Params,
) -> Result<Response, AppError> {
    let (count, offset) = paging(&p)?;
    let get = |k: &str| {
        p.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut q = PatientQuery {
        term: get("name"),
        family: get("family"),
        given: get("given"),
        sex: get("gender"),
        limit: count,
        offset,
        ..Default::default()
    };
    if let Some(i) = get("identifier") {
        q.id_number = Some(i.rsplit('|').next().unwrap_or("").to_string());
    }
    if let Some(b) = get("birthdate") {
        q.birth_date = Some(date_param(&b)?);
    }
    if q.is_empty() {
        // An unfiltered search lists the records in the user's scope, newest names first.
        q.term = None;
    }
    let rows = if count == 0 {
        Vec::new()
    } else {
        service::search(&st, &who, &q).await?
    };
    let (self_url, next) = links(&headers, "Patient", &p, count, offset, rows.len());
    let entries = rows.iter().map(|r| patient::to_fhir(r, &[])).collect();
    Ok(fhir(
        StatusCode::OK,
        searchset(&base_url(&headers), entries, None, &self_url, next),
    ))
}

async fn read_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let rec = service::read(&st, &who, &id).await?;
    let mut r = fhir(StatusCode::OK, patient::to_fhir(&rec.row, &rec.guardians));
    if let Ok(v) = header::HeaderValue::from_str(&format!("W/\"{}\"", rec.row.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

async fn create_patient(
    State(st): State<Platform>,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    let v = parse_body(&body)?;
    let (input, extra) = patient::from_fhir(&v, who.scope_code.as_deref())?;
    let opts = CreateOptions {
        confirmed_not_duplicate: false,
        fhir_extra: &extra.to_string(),
        id: None,
    };
    match service::create(&st, &who, &input, opts)
        .await
        .map_err(patient_paths)?
    {
        CreateOutcome::Created(id) => {
            let rec = service::read(&st, &who, &id).await?;
            Ok(created(
                "Patient",
                &id,
                patient::to_fhir(&rec.row, &rec.guardians),
            ))
        }
        CreateOutcome::Duplicates(_) => Err(AppError::Conflict(Msg::new("patient.dup.intro"))),
    }
}

/// Name refused fields by their FHIR path, so an OperationOutcome points into the resource.
fn patient_paths(e: AppError) -> AppError {
    match e {
        AppError::Invalid(fields) => AppError::Invalid(
            fields
                .into_iter()
                .map(|mut f| {
                    let path = match f.field.split('[').next().unwrap_or("") {
                        "family_name" | "given_name" | "name_ug" | "name_latin" => "Patient.name",
                        "sex" => "Patient.gender",
                        "birth_date" => "Patient.birthDate",
                        "id_number" => "Patient.identifier",
                        "phone" => "Patient.telecom",
                        "ethnicity" => "Patient.extension",
                        "org_code" => "Patient.managingOrganization",
                        "address" => "Patient.address",
                        "guardians" => "Patient.contact",
                        _ => "",
                    };
                    if !path.is_empty() {
                        f.field = path.to_string();
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

fn if_match_version(h: &HeaderMap) -> Option<i64> {
    h.get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim_start_matches("W/").trim_matches('"').parse().ok())
}

async fn update_patient(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let v = parse_body(&body)?;
    if v.get("id").and_then(Value::as_str).is_some_and(|b| b != id) {
        return Err(invalid(
            "Patient.id",
            "the id in the body differs from the id in the URL",
        ));
    }
    let (input, extra) = patient::from_fhir(&v, who.scope_code.as_deref())?;
    let exists = crate::store::patients::get(&st.db, &id).await?.is_some();
    if !exists {
        if !valid_id(&id) {
            return Err(invalid(
                "Patient.id",
                "ids are 1-64 letters, digits, '-' or '.'",
            ));
        }
        let opts = CreateOptions {
            confirmed_not_duplicate: false,
            fhir_extra: &extra.to_string(),
            id: Some(&id),
        };
        return match service::create(&st, &who, &input, opts)
            .await
            .map_err(patient_paths)?
        {
            CreateOutcome::Created(id) => {
                let rec = service::read(&st, &who, &id).await?;
                Ok(created(
                    "Patient",
                    &id,
                    patient::to_fhir(&rec.row, &rec.guardians),
                ))
            }
            CreateOutcome::Duplicates(_) => Err(AppError::Conflict(Msg::new("patient.dup.intro"))),
        };
    }
    service::update(
        &st,
        &who,
        &id,
        &input,
        if_match_version(&headers),
        Some(&extra.to_string()),
    )
    .await
    .map_err(patient_paths)?;
    let rec = service::read(&st, &who, &id).await?;
    Ok(fhir(
        StatusCode::OK,
        patient::to_fhir(&rec.row, &rec.guardians),
    ))
}

async fn search_practitioners(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Query(p): Params,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let (count, offset) = paging(&p)?;
    let q = PractitionerQuery {
        name: p.get("name").cloned(),
        sex: p.get("gender").cloned(),
        limit: count,
        offset,
        ..Default::default()
    };
    let rows = practitioners::search(&st.db, &q).await?;
    let (self_url, next) = links(&headers, "Practitioner", &p, count, offset, rows.len());
    let entries = rows.iter().map(directory::practitioner_to_fhir).collect();
    Ok(fhir(
        StatusCode::OK,
        searchset(&base_url(&headers), entries, None, &self_url, next),
    ))
}

async fn read_practitioner(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let p = practitioners::get(&st.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(fhir(StatusCode::OK, directory::practitioner_to_fhir(&p)))
}

async fn practitioner_org_path(
    st: &Platform,
    who: &Principal,
    code: &str,
) -> Result<String, AppError> {
    let org = orgs::get(&st.db, code).await?.ok_or_else(|| invalid("Practitioner.extension", &format!("organisation '{code}' does not exist; name it with the practitioner-organization extension")))?;
    if !who.scope.covers(&org.path) {
        return Err(AppError::Forbidden);
    }
    Ok(org.path)
}

async fn create_practitioner(
    State(st): State<Platform>,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(Permission::ManageRegistry)?;
    let data = directory::practitioner_from_fhir(&parse_body(&body)?, who.scope_code.as_deref())?;
    let path = practitioner_org_path(&st, &who, &data.org_code).await?;
    let id = uuid::Uuid::new_v4().to_string();
    practitioners::insert(&st.db, &id, &data, &path, &st.clock.now_text()).await?;
    audit_write(&st, &who, "Practitioner", &id, true).await?;
    let p = practitioners::get(&st.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(created(
        "Practitioner",
        &id,
        directory::practitioner_to_fhir(&p),
    ))
}

async fn update_practitioner(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    who.require(Permission::ManageRegistry)?;
    let data = directory::practitioner_from_fhir(&parse_body(&body)?, who.scope_code.as_deref())?;
    let path = practitioner_org_path(&st, &who, &data.org_code).await?;
    practitioners::update(&st.db, &id, &data, &path, &st.clock.now_text()).await?;
    audit_write(&st, &who, "Practitioner", &id, false).await?;
    let p = practitioners::get(&st.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(fhir(StatusCode::OK, directory::practitioner_to_fhir(&p)))
}

async fn audit_write(
    st: &Platform,
    who: &Principal,
    ty: &str,
    id: &str,
    create: bool,
) -> Result<(), AppError> {
    use tianshan_platform::audit::{record, Action, Event};
    let action = if create {
        Action::Create
    } else {
        Action::Update
    };
    record(
        &st.db,
        &st.clock,
        who,
        Event {
            action,
            entity_type: ty,
            entity_id: id,
            patient_id: None,
            detail: "",
        },
    )
    .await
}

async fn search_org_nodes(
    st: &Platform,
    who: &Principal,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
    ty: &str,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let (count, offset) = paging(p)?;
    let kinds = if ty == "Location" {
        crate::store::orgs::AREA_KINDS.to_vec()
    } else {
        Vec::new()
    };
    let parent = p
        .get("partof")
        .map(|v| v.rsplit('/').next().unwrap_or("").to_string());
    let q = OrgQuery {
        name: p.get("name").cloned(),
        kinds,
        parent,
        limit: count,
        offset,
    };
    let rows = orgs::search(&st.db, &q).await?;
    let (self_url, next) = links(headers, ty, p, count, offset, rows.len());
    let entries = rows
        .iter()
        .map(|o| {
            if ty == "Location" {
                directory::location_to_fhir(o)
            } else {
                directory::org_to_fhir(o)
            }
        })
        .collect();
    Ok(fhir(
        StatusCode::OK,
        searchset(&base_url(headers), entries, None, &self_url, next),
    ))
}

async fn read_org_node(
    st: &Platform,
    who: &Principal,
    id: &str,
    ty: &str,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let o = orgs::get(&st.db, id).await?.ok_or(AppError::NotFound)?;
    if ty == "Location" && !o.is_area() {
        return Err(AppError::NotFound);
    }
    Ok(fhir(
        StatusCode::OK,
        if ty == "Location" {
            directory::location_to_fhir(&o)
        } else {
            directory::org_to_fhir(&o)
        },
    ))
}

/// Create a node under its `partOf` parent, which must be inside the user's scope.
async fn write_org_node(
    st: &Platform,
    who: &Principal,
    id: Option<&str>,
    body: &Bytes,
    ty: &str,
) -> Result<Response, AppError> {
    who.require(Permission::ManageRegistry)?;
    let d = directory::org_from_fhir(&parse_body(body)?, ty)?;
    if let Some(existing) = match id {
        Some(i) => orgs::get(&st.db, i).await?,
        None => None,
    } {
        if !who.scope.covers(&existing.path) {
            return Err(AppError::Forbidden);
        }
        orgs::rename(
            &st.db,
            &existing.code,
            &d.kind,
            &d.name_zh,
            &d.name_ug,
            &d.name_en,
        )
        .await?;
        audit_write(st, who, ty, &existing.code, false).await?;
        return read_org_node(st, who, &existing.code, ty).await;
    }
    let parent_path = match &d.parent {
        Some(p) => Some(
            orgs::get(&st.db, p)
                .await?
                .ok_or_else(|| {
                    invalid(
                        &format!("{ty}.partOf"),
                        &format!("parent '{p}' does not exist"),
                    )
                })?
                .path,
        ),
        None => None,
    };
    let allowed = match (&parent_path, &who.scope.path) {
        (_, None) => true,
        (Some(pp), Some(_)) => who.scope.covers(pp),
        (None, Some(_)) => false,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let code = id
        .map(str::to_string)
        .or(d.code.clone())
        .unwrap_or_else(|| format!("ORG-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]));
    let org = orgs::insert(
        &st.db,
        NewOrg {
            code: &code,
            parent_code: d.parent.as_deref(),
            kind: &d.kind,
            name_zh: &d.name_zh,
            name_ug: &d.name_ug,
            name_en: &d.name_en,
        },
        &st.clock.now_text(),
    )
    .await?;
    audit_write(st, who, ty, &org.code, true).await?;
    let body = if ty == "Location" {
        directory::location_to_fhir(&org)
    } else {
        directory::org_to_fhir(&org)
    };
    Ok(created(ty, &org.code, body))
}

async fn search_organizations(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Query(p): Params,
) -> Result<Response, AppError> {
    search_org_nodes(&st, &who, &headers, &p, "Organization").await
}
async fn search_locations(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Query(p): Params,
) -> Result<Response, AppError> {
    search_org_nodes(&st, &who, &headers, &p, "Location").await
}
async fn read_organization(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    read_org_node(&st, &who, &id, "Organization").await
}
async fn read_location(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    read_org_node(&st, &who, &id, "Location").await
}
async fn create_organization(
    State(st): State<Platform>,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    write_org_node(&st, &who, None, &body, "Organization").await
}
async fn create_location(
    State(st): State<Platform>,
    who: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    write_org_node(&st, &who, None, &body, "Location").await
}
async fn update_organization(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    write_org_node(&st, &who, Some(&id), &body, "Organization").await
}
async fn update_location(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    write_org_node(&st, &who, Some(&id), &body, "Location").await
}
