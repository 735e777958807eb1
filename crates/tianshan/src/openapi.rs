//! The OpenAPI 3.1 description of the `/api/v1` JSON API, hand-written in `openapi.json` and
//! served as it is; a test keeps it in step with the routes the modules declare.
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tianshan_platform::Platform;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes() -> Router<Platform> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

/// Changes with every release, and with the document's size when edited between releases.
fn etag() -> String {
    format!("\"{}-{}\"", tianshan_platform::VERSION, DOCUMENT.len())
}

/// `GET /api/v1/openapi.json`: public, so tools can read it before anyone has a token.
async fn document(headers: HeaderMap) -> Response {
    let tag = etag();
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        (header::ETAG, tag.clone()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag))
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Sources whose route declarations under /api/v1 the document must cover.
    const ROUTE_SOURCES: [(&str, &str); 3] = [
        (
            "registry/src/api.rs",
            include_str!("../../registry/src/api.rs"),
        ),
        (
            "platform/src/pages.rs",
            include_str!("../../platform/src/pages.rs"),
        ),
        ("tianshan/src/openapi.rs", include_str!("openapi.rs")),
    ];

    /// Paths of every `.route(` call whose first argument is a string literal starting
    /// with /api/v1, wherever rustfmt put the line breaks.
    fn declared_routes() -> BTreeSet<String> {
        let marker = ".route(";
        let mut found = BTreeSet::new();
        for (_, src) in ROUTE_SOURCES {
            for (i, _) in src.match_indices(marker) {
                let rest = src[i + marker.len()..].trim_start();
                let Some(literal) = rest.strip_prefix('"') else {
                    continue;
                };
                let path = literal.split('"').next().unwrap_or("");
                if path.starts_with("/api/v1") {
                    found.insert(path.to_string());
                }
            }
        }
        found
    }

    fn document() -> serde_json::Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    #[test]
    fn every_api_route_is_documented_and_nothing_else() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .cloned()
            .collect();
        let declared = declared_routes();
        assert!(
            declared.len() >= 9 && declared.contains("/api/v1/patients/{id}"),
            "the route scan found too little: {declared:?}"
        );
        let missing: Vec<_> = declared.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
        let stale: Vec<_> = documented.difference(&declared).collect();
        assert!(
            stale.is_empty(),
            "openapi.json documents routes that do not exist: {stale:?}"
        );
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r.to_string());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "unresolved {r}");
        }
    }

    #[test]
    fn every_operation_has_an_id_and_responses() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    op["operationId"].is_string(),
                    "{method} {path} has no operationId"
                );
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path} has no responses"
                );
            }
        }
    }
}
