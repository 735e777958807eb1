//! FHIR R4 plumbing shared by every module's resources: OperationOutcome, search Bundles,
//! and small readers for JSON elements that refuse wrong shapes with a precise location.
use serde_json::{json, Map, Value};

use crate::error::{AppError, Msg};

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

/// A searchset Bundle with `self` and `next` links.
pub fn searchset(
    base: &str,
    entries: Vec<Value>,
    total: Option<i64>,
    self_url: &str,
    next_url: Option<String>,
) -> Value {
    let mut links = vec![json!({"relation": "self", "url": self_url})];
    if let Some(n) = next_url {
        links.push(json!({"relation": "next", "url": n}));
    }
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|r| {
            let full = format!(
                "{base}/{}/{}",
                r.get("resourceType").and_then(Value::as_str).unwrap_or(""),
                r.get("id").and_then(Value::as_str).unwrap_or("")
            );
            json!({"fullUrl": full, "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let mut b =
        json!({"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entry});
    if let (Some(t), Some(obj)) = (total, b.as_object_mut()) {
        obj.insert("total".into(), json!(t));
    }
    b
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

/// FHIR `_count`: default 20, at most 200.
pub fn page_size(count: Option<&str>) -> Result<i64, AppError> {
    match count {
        None | Some("") => Ok(20),
        Some(c) => match c.parse::<i64>() {
            Ok(n) if (0..=200).contains(&n) => Ok(n),
            Ok(_) => Ok(200),
            Err(_) => Err(invalid(
                "_count",
                &format!("_count must be a whole number, not '{c}'"),
            )),
        },
    }
}
