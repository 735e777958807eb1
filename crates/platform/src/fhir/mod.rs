//! FHIR R4 plumbing shared by every module's resources: OperationOutcome, search Bundles,
//! and small readers for JSON elements that refuse wrong shapes with a precise location.
use std::collections::HashMap;

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::db::{Statements, Tx};
use crate::error::{AppError, Msg};
use crate::state::Platform;

mod answer;
mod search;

pub use answer::{base_url, created_response, response, Resource, Searchset};
pub use search::{page_size, Search};

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// OperationOutcome issue code for an HTTP status.
pub fn issue_code(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        409 => "duplicate",
        429 => "throttled",
        _ => "exception",
    }
}

pub fn operation_outcome(status: u16, message: &str, expressions: &[(String, String)]) -> Value {
    let mut issues = vec![json!({
        "severity": "error",
        "code": issue_code(status),
        "diagnostics": message,
    })];
    for (expr, msg) in expressions {
        issues.push(json!({
            "severity": "error",
            "code": issue_code(status),
            "diagnostics": msg,
            "expression": [expr],
        }));
    }
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// Refuse a resource whose `resourceType` is not the one the endpoint serves.
pub fn expect_type<'a>(v: &'a Value, ty: &str) -> Result<&'a Map<String, Value>, AppError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("$", "the body must be a JSON object (a FHIR resource)"))?;
    match obj.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == ty => Ok(obj),
        Some(t) => Err(invalid(
            "resourceType",
            &format!("this endpoint takes {ty} resources, not {t}"),
        )),
        None => Err(invalid("resourceType", "resourceType is missing")),
    }
}

pub fn invalid(expr: &str, detail: &str) -> AppError {
    AppError::Invalid(vec![crate::error::FieldError::new(
        expr,
        Msg::new("error.fhir_invalid").arg("detail", detail),
    )])
}

/// Most extensions one element may carry, how deep they may nest, and the longest `url`.
pub const MAX_EXTENSIONS: usize = 50;
pub const MAX_EXTENSION_DEPTH: usize = 5;
pub const MAX_EXTENSION_URL: usize = 1024;
/// Largest serialised size of all extensions of one resource.
pub const MAX_EXTENSION_BYTES: usize = 32 * 1024;

/// Check the shape of an `extension` array (FHIR R4 Extension): each an object with a string
/// `url`, and either one `value[x]` or nested `extension`s, nothing else but `id`. Refused
/// extensions are never stored or echoed.
pub fn check_extensions(list: &[Value], path: &str) -> Result<(), AppError> {
    let size = serde_json::to_string(list).map(|s| s.len()).unwrap_or(0);
    if size > MAX_EXTENSION_BYTES {
        return Err(invalid(
            path,
            &format!("{path}: extensions may take at most {MAX_EXTENSION_BYTES} bytes"),
        ));
    }
    check_extensions_at(list, path, 0)
}

fn check_extensions_at(list: &[Value], path: &str, depth: usize) -> Result<(), AppError> {
    if depth >= MAX_EXTENSION_DEPTH {
        return Err(invalid(path, &format!("{path}: extensions nest too deep")));
    }
    if list.len() > MAX_EXTENSIONS {
        return Err(invalid(
            path,
            &format!("{path}: at most {MAX_EXTENSIONS} extensions"),
        ));
    }
    for (i, e) in list.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(o) = e.as_object() else {
            return Err(invalid(&here, &format!("{here} must be an object")));
        };
        match o.get("url") {
            Some(Value::String(u))
                if !u.is_empty()
                    && u.len() <= MAX_EXTENSION_URL
                    && !u.contains(char::is_whitespace) => {}
            _ => {
                return Err(invalid(
                    &format!("{here}.url"),
                    &format!("{here}.url must be a URI (a non-empty string without spaces)"),
                ))
            }
        }
        let values: Vec<&String> = o.keys().filter(|k| k.starts_with("value")).collect();
        let nested = match o.get("extension") {
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                return Err(invalid(
                    &format!("{here}.extension"),
                    &format!("{here}.extension must be an array"),
                ))
            }
        };
        if let Some(k) = o
            .keys()
            .find(|k| !(k.starts_with("value") || matches!(k.as_str(), "url" | "id" | "extension")))
        {
            return Err(invalid(
                &format!("{here}.{k}"),
                &format!("{here}: unknown element {k}"),
            ));
        }
        match (values.len(), nested) {
            (1, None) => {
                if o.get(values[0].as_str()).is_some_and(Value::is_null) {
                    return Err(invalid(&here, &format!("{here}: {} is null", values[0])));
                }
            }
            (0, Some(a)) if !a.is_empty() => {
                check_extensions_at(a, &format!("{here}.extension"), depth + 1)?
            }
            _ => {
                return Err(invalid(
                    &here,
                    &format!("{here} needs exactly one value[x], or nested extensions"),
                ))
            }
        }
    }
    Ok(())
}

/// An optional string element; a present element of the wrong JSON type is an error.
pub fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, AppError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(
            &format!("{path}.{key}"),
            &format!("{path}.{key} must be a string"),
        )),
    }
}

/// An optional array element.
pub fn opt_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a [Value], AppError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a.as_slice()),
        Some(_) => Err(invalid(
            &format!("{path}.{key}"),
            &format!("{path}.{key} must be an array"),
        )),
    }
}

/// References between the entries of one Bundle (`urn:uuid:…` full URLs, or `Type/id` of an
/// entry) to the ids the server assigned, so an Immunization can point at the Patient created
/// by the entry before it.
#[derive(Debug, Default, Clone)]
pub struct RefMap(HashMap<String, (String, String)>);

impl RefMap {
    pub fn insert(&mut self, full_url: &str, resource_type: &str, id: &str) {
        self.0.insert(
            full_url.to_string(),
            (resource_type.to_string(), id.to_string()),
        );
    }

    /// The `(type, id)` a reference names: a bundle-local full URL, or a plain `Type/id`.
    pub fn resolve(&self, reference: &str) -> Option<(String, String)> {
        if let Some(hit) = self.0.get(reference) {
            return Some(hit.clone());
        }
        let tail = reference.rsplit("/fhir/r4/").next().unwrap_or(reference);
        let (ty, id) = tail.split_once('/')?;
        if ty.is_empty() || id.is_empty() || id.contains('/') {
            return None;
        }
        Some((ty.to_string(), id.to_string()))
    }

    /// The id of a reference that must name a resource of type `ty`.
    pub fn id_of(&self, reference: &str, ty: &str) -> Option<String> {
        self.resolve(reference)
            .filter(|(t, _)| t == ty)
            .map(|(_, id)| id)
    }
}

/// The write half of a checked create or update: run inside the transaction of the request
/// (or of the whole Bundle), it stores the record, records its audit entry, and returns the
/// resource as stored.
pub type ApplyFn =
    Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<Value, AppError>> + Send>;

pub struct Prepared {
    pub resource_type: &'static str,
    pub id: String,
    /// True when the write creates the record (201), false when it updates one (200).
    pub created: bool,
    pub apply: ApplyFn,
    /// The same write as a statement list, used when it is written on its own (a create or
    /// update request, a batch entry; not a transaction Bundle or an import, which need one
    /// transaction for many): the writer then runs it without a thread switch per statement.
    pub alone: Option<Alone>,
}

/// A write as statements (see [`Prepared::alone`]).
pub struct Alone {
    pub statements: Statements,
    /// The resource as it will be stored.
    pub stored: Resource,
    /// What a failed write's error becomes (a duplicate key names the field it concerns).
    pub on_error: fn(AppError) -> AppError,
}

impl Prepared {
    /// Write it on its own and return the resource as stored.
    pub async fn write(self, st: &Platform) -> Result<Resource, AppError> {
        match self.alone {
            Some(a) => {
                st.db
                    .write_statements(a.statements)
                    .await
                    .map_err(a.on_error)?;
                Ok(a.stored)
            }
            None => st.write(self.apply).await.map(Resource::Tree),
        }
    }
}

/// A FHIR resource type a module serves, as the Bundle processor and `tianshan import` see it.
/// Checking (`prepare_*`: validation, scope, references; reads only) is separate from writing
/// (`Prepared::apply`), so a transaction Bundle checks every entry first and then writes them
/// all in one database transaction.
pub trait FhirType: Send + Sync + 'static {
    fn resource_type(&self) -> &'static str;
    /// `(name, type)` of the search parameters, for the CapabilityStatement.
    fn search_params(&self) -> Vec<(&'static str, &'static str)>;
    /// `read`, `create`, `update`, `search-type`.
    fn interactions(&self) -> Vec<&'static str>;
    /// Extra words for the CapabilityStatement (`documentation` of the resource).
    fn documentation(&self) -> Option<&'static str> {
        None
    }
    /// Check a resource to be created with the given id.
    fn prepare_create<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>>;
    /// Check an update (PUT) of the resource with this id; `version` from `If-Match`. An
    /// unknown id answers 404 exactly as an id outside the caller's scope does (no update-as-
    /// create: it would tell one from the other). Types that cannot be updated say so.
    fn prepare_update<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        version: Option<i64>,
        refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        let _ = (st, who, resource, id, version, refs);
        Box::pin(async move { Err(self.not_supported("update")) })
    }
    /// Read one resource the caller may see (audited by the implementation).
    fn read<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FhirRead, AppError>> {
        let _ = (st, who, id);
        Box::pin(async move { Err(self.not_supported("read")) })
    }
    /// Search inside the caller's scope (audited by the implementation). Parameters were
    /// checked against [`FhirType::search_params`].
    fn search<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        search: &'a Search,
    ) -> BoxFuture<'a, Result<SearchResult, AppError>> {
        let _ = (st, who, search);
        Box::pin(async move { Err(self.not_supported("search-type")) })
    }
    fn not_supported(&self, interaction: &str) -> AppError {
        AppError::BadRequest(
            Msg::new("error.fhir_interaction")
                .arg("type", self.resource_type())
                .arg("interaction", interaction),
        )
    }
}

/// A resource read, with its version for the ETag.
pub struct FhirRead {
    pub resource: Resource,
    pub version: Option<i64>,
}

/// One page of a search; `total` when the implementation can count the matches cheaply.
pub struct SearchResult {
    pub resources: Vec<Resource>,
    pub total: Option<i64>,
}

/// Is this Content-Type one a FHIR write may carry? (`application/fhir+json`, `application/json`,
/// with parameters.) Anything else is refused with 415, so a form on another site cannot post.
pub fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| m == "application/fhir+json" || m == "application/json")
}

/// Read a FHIR write's body: 415 for a type that is not JSON, 400 for malformed JSON or a body
/// that is not a FHIR resource (no `resourceType`). Rules of the resource itself are the
/// caller's, and answer 422.
pub fn parse_resource(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<Value, AppError> {
    if !json_content_type(headers) {
        return Err(AppError::UnsupportedMediaType);
    }
    parse_json(body)
}

/// Parse JSON text as a FHIR resource (400 when it is not one).
pub fn parse_json(body: &[u8]) -> Result<Value, AppError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(Msg::new("error.fhir_bad_json").arg(
            "detail",
            format!("line {}, column {}: {e}", e.line(), e.column()),
        ))
    })?;
    match v.get("resourceType").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => Ok(v),
        _ => Err(AppError::BadRequest(Msg::new("error.fhir_not_resource"))),
    }
}
