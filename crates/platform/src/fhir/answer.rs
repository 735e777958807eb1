//! What a FHIR request answers: resources as trees or as text written straight from rows,
//! the searchset Bundle around them, the response itself.
use serde_json::value::RawValue;
use serde_json::Value;

use super::FHIR_JSON;
use crate::error::AppError;

/// A resource ready to send: a JSON tree, or JSON text a module serialised straight from its
/// rows (no tree built and dropped per resource; a search page of 20 patients is the hot case).
pub enum Resource {
    Tree(Value),
    Text {
        resource_type: &'static str,
        id: String,
        json: Box<RawValue>,
    },
}

impl Resource {
    /// Serialise `r` (whose type and id are given, for a Bundle's `fullUrl`) to JSON text now.
    pub fn text(
        resource_type: &'static str,
        id: &str,
        r: &impl serde::Serialize,
    ) -> Result<Self, AppError> {
        let json = serde_json::value::to_raw_value(r)
            .map_err(|e| AppError::Internal(format!("{resource_type}/{id} as JSON: {e}")))?;
        Ok(Resource::Text {
            resource_type,
            id: id.to_string(),
            json,
        })
    }
    /// `(resourceType, id)`.
    pub fn type_and_id(&self) -> (&str, &str) {
        match self {
            Resource::Tree(v) => (
                v.get("resourceType").and_then(Value::as_str).unwrap_or(""),
                v.get("id").and_then(Value::as_str).unwrap_or(""),
            ),
            Resource::Text {
                resource_type, id, ..
            } => (resource_type, id),
        }
    }
    /// As a JSON tree (to go inside a Bundle built as one).
    pub fn into_value(self) -> Result<Value, AppError> {
        match self {
            Resource::Tree(v) => Ok(v),
            Resource::Text { json, .. } => serde_json::from_str(json.get())
                .map_err(|e| AppError::Internal(format!("resource text as JSON: {e}"))),
        }
    }
}

impl From<Value> for Resource {
    fn from(v: Value) -> Self {
        Resource::Tree(v)
    }
}

impl serde::Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Resource::Tree(v) => v.serialize(s),
            Resource::Text { json, .. } => json.serialize(s),
        }
    }
}

/// A searchset Bundle with `self` and `next` links, serialised as it is written out.
pub struct Searchset<'a> {
    pub base: &'a str,
    pub entries: &'a [Resource],
    pub total: Option<i64>,
    pub self_url: &'a str,
    pub next_url: Option<&'a str>,
}

impl serde::Serialize for Searchset<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Link<'a>(&'static str, &'a str);
        impl serde::Serialize for Link<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("relation", self.0)?;
                m.serialize_entry("url", self.1)?;
                m.end()
            }
        }
        struct Entry<'a>(&'a str, &'a Resource);
        impl serde::Serialize for Entry<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (ty, id) = self.1.type_and_id();
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("fullUrl", &format_args!("{}/{ty}/{id}", self.0))?;
                m.serialize_entry("resource", self.1)?;
                m.serialize_entry("search", &Mode("match"))?;
                m.end()
            }
        }
        struct Mode(&'static str);
        impl serde::Serialize for Mode {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("mode", self.0)?;
                m.end()
            }
        }
        struct Seq<'a>(&'a Searchset<'a>);
        impl serde::Serialize for Seq<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut q = s.serialize_seq(Some(self.0.entries.len()))?;
                for r in self.0.entries {
                    q.serialize_element(&Entry(self.0.base, r))?;
                }
                q.end()
            }
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("resourceType", "Bundle")?;
        m.serialize_entry("type", "searchset")?;
        if let Some(t) = self.total {
            m.serialize_entry("total", &t)?;
        }
        let mut links = vec![Link("self", self.self_url)];
        if let Some(n) = self.next_url {
            links.push(Link("next", n));
        }
        m.serialize_entry("link", &links)?;
        // FHIR JSON has no empty arrays: a page with no match (or `_summary=count`) has no
        // `entry` at all.
        if !self.entries.is_empty() {
            m.serialize_entry("entry", &Seq(self))?;
        }
        m.end()
    }
}

/// A FHIR JSON response.
pub fn response(
    status: axum::http::StatusCode,
    body: &impl serde::Serialize,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match serde_json::to_vec(body) {
        Ok(text) => (
            status,
            [(axum::http::header::CONTENT_TYPE, FHIR_JSON)],
            text,
        )
            .into_response(),
        Err(e) => AppError::Internal(format!("response as JSON: {e}")).into_response(),
    }
}

/// 201 with a `Location` and an `ETag`.
pub fn created_response(
    ty: &str,
    id: &str,
    body: &impl serde::Serialize,
) -> axum::response::Response {
    let mut r = response(axum::http::StatusCode::CREATED, body);
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/fhir/r4/{ty}/{id}")) {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    r
}

/// The server's base URL as the client reached it (for `fullUrl` and links).
pub fn base_url(h: &axum::http::HeaderMap) -> String {
    let host = h
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}/fhir/r4")
}
