//! FHIR R4 REST at `/fhir/r4` for every resource type the modules declare ([`FhirType`]):
//! read, search, create and update routed by type, batch and transaction Bundles, and the
//! CapabilityStatement built from the declarations. Content types, unknown search parameters,
//! `total`, `_summary=count` and OperationOutcome errors are handled here, once.
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::{AppError, Msg};
use crate::fhir::{
    base_url, created_response, parse_resource, response, FhirType, Prepared, RefMap, Search,
    Searchset, FHIR_JSON,
};
use crate::module::ApiRouter;
use crate::state::Platform;

/// Most entries one Bundle may carry; larger loads go through `tianshan import`.
pub const MAX_BUNDLE_ENTRIES: usize = 1000;
/// Largest Bundle body accepted (a Synthea patient's whole history fits).
pub const MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(metadata))
        .routes(routes!(bundle))
        .routes(routes!(bundle_at_base_slash))
        .routes(routes!(search_type, create))
        .routes(routes!(read, update))
        .layer(DefaultBodyLimit::max(MAX_BUNDLE_BYTES))
}

fn type_of<'a>(st: &'a Platform, ty: &str) -> Result<&'a Arc<dyn FhirType>, AppError> {
    st.config.fhir_type(ty).ok_or_else(|| {
        AppError::NotFoundBecause(Msg::new("error.fhir_unsupported").arg("type", ty))
    })
}

/// The server's CapabilityStatement: every declared resource type with its interactions and
/// search parameters.
#[utoipa::path(get, path = "/fhir/r4/metadata", tag = "fhir",
    responses((status = 200, description = "CapabilityStatement (application/fhir+json)")))]
async fn metadata(State(st): State<Platform>, headers: HeaderMap) -> Response {
    let resources: Vec<Value> = st
        .config
        .fhir
        .iter()
        .map(|t| {
            let mut params: Vec<Value> = t
                .search_params()
                .iter()
                .map(|(n, ty)| json!({"name": n, "type": ty}))
                .collect();
            params.push(json!({"name": "_count", "type": "number"}));
            params.push(json!({"name": "_summary", "type": "token", "documentation": "count"}));
            let mut r = json!({
                "type": t.resource_type(),
                "interaction": t.interactions().iter().map(|i| json!({"code": i})).collect::<Vec<_>>(),
                "updateCreate": false,
                "searchParam": params,
            });
            if let (Some(d), Some(o)) = (t.documentation(), r.as_object_mut()) {
                o.insert("documentation".into(), json!(d));
            }
            r
        })
        .collect();
    let operations: Vec<Value> = st
        .config
        .fhir_operations
        .iter()
        .map(|(n, d)| json!({"name": n, "definition": d}))
        .collect();
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "kind": "instance",
        "software": {"name": "Tianshan", "version": crate::VERSION},
        "implementation": {"description": "Tianshan medical-aid network", "url": base_url(&headers)},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every read and search is limited to the caller's scope and audited. Unknown search parameters are refused unless the request says Prefer: handling=lenient. Writes need Content-Type application/fhir+json. Bundles of type batch or transaction are accepted at the base URL.",
            "security": {"service": [{"text": "Bearer token (tianshan token create); a browser session needs the X-CSRF-Token header on writes"}]},
            "resource": resources,
            "interaction": [{"code": "batch"}, {"code": "transaction"}],
            "operation": operations,
        }],
    });
    response(StatusCode::OK, &body)
}

/// Search resources of a type inside the caller's scope.
#[utoipa::path(get, path = "/fhir/r4/{type}", tag = "fhir",
    params(("type" = String, Path, description = "Resource type, e.g. Patient")),
    responses((status = 200, description = "searchset Bundle"), (status = 400, description = "OperationOutcome")),
    security(("bearer" = [])))]
async fn search_type(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Path(ty): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let t = type_of(&st, &ty)?;
    let names: Vec<&str> = t.search_params().iter().map(|(n, _)| *n).collect();
    let mut search = Search::parse(query.as_deref(), &headers, &names)?;
    if search.summary_count {
        search.count = 0;
    }
    let found = t.search(&st, &who, &search).await?;
    let base = base_url(&headers);
    let (self_url, next) = search.links(&base, &ty, found.resources.len(), found.total);
    let entries = if search.summary_count {
        &[][..]
    } else {
        &found.resources[..]
    };
    Ok(response(
        StatusCode::OK,
        &Searchset {
            base: &base,
            entries,
            total: found.total,
            self_url: &self_url,
            next_url: next.as_deref(),
        },
    ))
}

/// Read one resource (out of scope answers 404, as an unknown id does).
#[utoipa::path(get, path = "/fhir/r4/{type}/{id}", tag = "fhir",
    params(("type" = String, Path, description = "Resource type"), ("id" = String, Path, description = "Logical id")),
    responses((status = 200, description = "The resource"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
async fn read(
    State(st): State<Platform>,
    who: Principal,
    Path((ty, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let t = type_of(&st, &ty)?;
    let r = t.read(&st, &who, &id).await?;
    let mut resp = response(StatusCode::OK, &r.resource);
    if let Some(v) = r.version {
        if let Ok(h) = header::HeaderValue::from_str(&format!("W/\"{v}\"")) {
            resp.headers_mut().insert(header::ETAG, h);
        }
    }
    Ok(resp)
}

/// Create a resource; the server assigns the id.
#[utoipa::path(post, path = "/fhir/r4/{type}", tag = "fhir",
    params(("type" = String, Path, description = "Resource type")),
    request_body(content = String, content_type = "application/fhir+json", description = "The resource"),
    responses((status = 201, description = "The resource as stored"), (status = 400, description = "Not JSON or not a FHIR resource"),
        (status = 415, description = "Not application/fhir+json"), (status = 422, description = "OperationOutcome naming the broken rule")),
    security(("bearer" = [])))]
async fn create(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Path(ty): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let v = parse_resource(&headers, &body)?;
    let t = type_of(&st, &ty)?;
    check_type(&v, &ty)?;
    let id = crate::new_id();
    let p = t
        .prepare_create(&st, &who, &v, id, &RefMap::default())
        .await?;
    let (ty_s, id) = (p.resource_type, p.id.clone());
    let stored = p.write(&st).await?;
    Ok(created_response(ty_s, &id, &stored))
}

/// Update a resource. An unknown id answers 404 (no update-as-create).
#[utoipa::path(put, path = "/fhir/r4/{type}/{id}", tag = "fhir",
    params(("type" = String, Path, description = "Resource type"), ("id" = String, Path, description = "Logical id")),
    request_body(content = String, content_type = "application/fhir+json", description = "The resource"),
    responses((status = 200, description = "The resource as stored"), (status = 404, description = "OperationOutcome"),
        (status = 409, description = "If-Match version is stale"), (status = 422, description = "OperationOutcome")),
    security(("bearer" = [])))]
async fn update(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Path((ty, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let v = parse_resource(&headers, &body)?;
    let t = type_of(&st, &ty)?;
    check_type(&v, &ty)?;
    if v.get("id").and_then(Value::as_str).is_some_and(|b| b != id) {
        return Err(crate::fhir::invalid(
            &format!("{ty}.id"),
            "the id in the body differs from the id in the URL",
        ));
    }
    let version = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim_start_matches("W/").trim_matches('"').parse().ok());
    let p = t
        .prepare_update(&st, &who, &v, id, version, &RefMap::default())
        .await?;
    let stored = p.write(&st).await?;
    Ok(response(StatusCode::OK, &stored))
}

fn check_type(v: &Value, ty: &str) -> Result<(), AppError> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == ty => Ok(()),
        Some(t) => Err(AppError::BadRequest(
            Msg::new("error.fhir_wrong_type")
                .arg("expected", ty)
                .arg("got", t),
        )),
        None => Err(AppError::BadRequest(Msg::new("error.fhir_not_resource"))),
    }
}

/// One entry of a Bundle, checked for shape.
struct Entry {
    full_url: Option<String>,
    method: String,
    /// `Type` (POST) or `Type/id` (PUT).
    url: String,
    resource: Value,
}

fn entries(bundle: &Value) -> Result<Vec<Entry>, AppError> {
    let list = match bundle.get("entry") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(crate::fhir::invalid(
                "Bundle.entry",
                "Bundle.entry must be an array",
            ))
        }
    };
    if list.len() > MAX_BUNDLE_ENTRIES {
        return Err(AppError::BadRequest(
            Msg::new("error.fhir_bundle_size").arg("max", MAX_BUNDLE_ENTRIES.to_string()),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let at = |what: &str| crate::fhir::invalid(&format!("Bundle.entry[{i}]"), what);
        let method = e
            .pointer("/request/method")
            .and_then(Value::as_str)
            .ok_or_else(|| at("each entry needs request.method"))?
            .to_string();
        let url = e
            .pointer("/request/url")
            .and_then(Value::as_str)
            .ok_or_else(|| at("each entry needs request.url"))?
            .trim_start_matches('/')
            .to_string();
        let resource = e.get("resource").cloned().unwrap_or(Value::Null);
        out.push(Entry {
            full_url: e.get("fullUrl").and_then(Value::as_str).map(str::to_string),
            method,
            url,
            resource,
        });
    }
    Ok(out)
}

/// What one entry asks for, once its type and id are known.
struct Planned {
    index: usize,
    ty: String,
    id: String,
    create: bool,
    version: Option<i64>,
}

fn plan(entries: &[Entry], refs: &mut RefMap) -> Vec<Result<Planned, AppError>> {
    entries
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let at = |what: &str| crate::fhir::invalid(&format!("Bundle.entry[{index}]"), what);
            let rty = e
                .resource
                .get("resourceType")
                .and_then(Value::as_str)
                .ok_or_else(|| at("each POST or PUT entry needs a resource with a resourceType"))?
                .to_string();
            let path = e.url.split('?').next().unwrap_or("");
            match e.method.as_str() {
                "POST" => {
                    if path != rty {
                        return Err(at("request.url of a POST must be the resource type"));
                    }
                    let id = crate::new_id();
                    if let Some(f) = &e.full_url {
                        refs.insert(f, &rty, &id);
                    }
                    Ok(Planned {
                        index,
                        ty: rty,
                        id,
                        create: true,
                        version: None,
                    })
                }
                "PUT" => {
                    let (t, id) = path
                        .split_once('/')
                        .ok_or_else(|| at("request.url of a PUT must be Type/id"))?;
                    if t != rty {
                        return Err(at("request.url names another type than the resource"));
                    }
                    if let Some(f) = &e.full_url {
                        refs.insert(f, t, id);
                    }
                    Ok(Planned {
                        index,
                        ty: rty,
                        id: id.to_string(),
                        create: false,
                        version: None,
                    })
                }
                m => Err(at(&format!(
                    "request.method {m} is not supported in a Bundle here; use POST or PUT"
                ))),
            }
        })
        .collect()
}

async fn prepare(
    st: &Platform,
    who: &Principal,
    p: &Planned,
    resource: &Value,
    refs: &RefMap,
) -> Result<Prepared, AppError> {
    let t = type_of(st, &p.ty)?;
    if p.create {
        t.prepare_create(st, who, resource, p.id.clone(), refs)
            .await
    } else {
        t.prepare_update(st, who, resource, p.id.clone(), p.version, refs)
            .await
    }
}

/// Name the entry an error came from, keeping its status.
fn at_entry(index: usize, e: AppError) -> AppError {
    match e {
        AppError::Invalid(fields) => AppError::Invalid(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = format!("Bundle.entry[{index}].resource.{}", f.field);
                    f
                })
                .collect(),
        ),
        other => AppError::InEntry(index, Box::new(other)),
    }
}

fn entry_response(status: &str, ty: &str, id: &str, resource: Option<Value>) -> Value {
    let mut e = json!({"response": {"status": status, "location": format!("{ty}/{id}")}});
    if let (Some(r), Some(o)) = (resource, e.as_object_mut()) {
        o.insert("resource".into(), r);
    }
    e
}

/// Batch (each entry on its own) and transaction (all or nothing) Bundles.
#[utoipa::path(post, path = "/fhir/r4", tag = "fhir",
    request_body(content = String, content_type = "application/fhir+json", description = "A Bundle of type batch or transaction"),
    responses((status = 200, description = "batch-response or transaction-response Bundle"),
        (status = 400, description = "Not a batch or transaction Bundle"), (status = 422, description = "An entry broke a rule (transaction: nothing written)")),
    security(("bearer" = [])))]
async fn bundle(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let v = parse_resource(&headers, &body)?;
    check_type(&v, "Bundle")?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let list = entries(&v)?;
    let mut refs = RefMap::default();
    let planned = plan(&list, &mut refs);
    match kind {
        "transaction" => {
            let mut prepared = Vec::with_capacity(list.len());
            for p in planned {
                let p = p?;
                let prep = prepare(&st, &who, &p, &list[p.index].resource, &refs)
                    .await
                    .map_err(|e| at_entry(p.index, e))?;
                prepared.push(prep);
            }
            let heads: Vec<(&'static str, String, bool)> = prepared
                .iter()
                .map(|p| (p.resource_type, p.id.clone(), p.created))
                .collect();
            let stored: Vec<Value> = st
                .write(move |tx| {
                    Box::pin(async move {
                        let mut out = Vec::with_capacity(prepared.len());
                        for (i, p) in prepared.into_iter().enumerate() {
                            out.push((p.apply)(tx).await.map_err(|e| at_entry(i, e))?);
                        }
                        Ok(out)
                    })
                })
                .await?;
            let entry: Vec<Value> = heads
                .iter()
                .zip(stored)
                .map(|((ty, id, created), r)| {
                    entry_response(
                        if *created { "201 Created" } else { "200 OK" },
                        ty,
                        id,
                        Some(r),
                    )
                })
                .collect();
            Ok(response(
                StatusCode::OK,
                &json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entry}),
            ))
        }
        "batch" => {
            let mut entry = Vec::with_capacity(list.len());
            for p in planned {
                entry.push(match p {
                    Err(e) => outcome_entry(&st, &who, e),
                    Ok(p) => {
                        let r = async {
                            let prep =
                                prepare(&st, &who, &p, &list[p.index].resource, &refs).await?;
                            let created = prep.created;
                            let stored = prep.write(&st).await?.into_value()?;
                            Ok::<_, AppError>((created, stored))
                        }
                        .await;
                        match r {
                            Ok((created, stored)) => entry_response(
                                if created { "201 Created" } else { "200 OK" },
                                &p.ty,
                                &p.id,
                                Some(stored),
                            ),
                            Err(e) => outcome_entry(&st, &who, e),
                        }
                    }
                });
            }
            Ok(response(
                StatusCode::OK,
                &json!({"resourceType": "Bundle", "type": "batch-response", "entry": entry}),
            ))
        }
        other => Err(AppError::BadRequest(
            Msg::new("error.fhir_bundle_type").arg("type", other),
        )),
    }
}

/// The same, at the base URL with a trailing slash (where some clients post Bundles).
#[utoipa::path(post, path = "/fhir/r4/", tag = "fhir",
    request_body(content = String, content_type = "application/fhir+json", description = "A Bundle of type batch or transaction"),
    responses((status = 200, description = "batch-response or transaction-response Bundle")),
    security(("bearer" = [])))]
async fn bundle_at_base_slash(
    st: State<Platform>,
    who: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    bundle(st, who, headers, body).await
}

/// A failed batch entry: its status and an OperationOutcome in the reader's language.
fn outcome_entry(st: &Platform, who: &Principal, e: AppError) -> Value {
    let locale = crate::i18n::Locale::parse(&who.locale).unwrap_or(crate::i18n::Locale::En);
    let t = st.i18n.catalog(locale);
    let status = e.status();
    let message = t.msg(&e.msg());
    let fields: Vec<(String, String)> = e
        .fields()
        .iter()
        .map(|f| (f.field.clone(), t.msg(&f.msg)))
        .collect();
    let reason = status.canonical_reason().unwrap_or("");
    json!({"response": {
        "status": format!("{} {reason}", status.as_u16()),
        "outcome": crate::fhir::operation_outcome(status.as_u16(), &message, &fields),
    }})
}

/// Kept for the content type a FHIR answer carries.
pub const CONTENT_TYPE: &str = FHIR_JSON;

/// Count resources per type in a list of `(type, …)` (import reports).
pub fn tally<'a>(types: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut m: HashMap<String, usize> = HashMap::new();
    for t in types {
        *m.entry(t.to_string()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort();
    v
}
