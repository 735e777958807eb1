//! The OpenAPI 3.1 document of the JSON API and FHIR routes, generated from the modules'
//! annotated handlers (`utoipa`): a route added through a module's `api` router is in it by
//! construction. Served at `/api/v1/openapi.json`.
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tianshan_platform::Platform;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{InfoBuilder, OpenApi, ServerBuilder};
use utoipa::Modify;

/// Title, version, servers, tags and the bearer scheme.
pub fn describe(doc: &mut OpenApi) {
    doc.info = InfoBuilder::new()
        .title("Tianshan API")
        .version(tianshan_platform::VERSION)
        .description(Some(
            "JSON API and HL7 FHIR R4 of a Tianshan medical-aid network server. Every read and \
             write is limited to the caller's scope and recorded in the audit log. Errors are \
             `{\"error\": {\"code\", \"message\", \"fields\"}}` under /api/v1 and \
             OperationOutcome under /fhir/r4, in the caller's language.",
        ))
        .build();
    doc.servers = Some(vec![ServerBuilder::new().url("/").build()]);
    // Every response needs a description (OpenAPI 3.1): where a handler gave none, the status's
    // reason phrase.
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for (status, r) in op.responses.responses.iter_mut() {
                if let utoipa::openapi::RefOr::T(resp) = r {
                    if resp.description.is_empty() {
                        resp.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Response")
                            .to_string();
                    }
                }
            }
        }
    }
    unique_operation_ids(doc);
    tianshan_platform::api::BearerAuth.modify(doc);
    let mut tags: Vec<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|item| {
            [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
                .flat_map(|op| op.tags.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .collect();
    tags.sort();
    tags.dedup();
    doc.tags = Some(
        tags.into_iter()
            .map(|t| TagBuilder::new().name(t).build())
            .collect(),
    );
}

pub fn routes(doc: OpenApi) -> Router<Platform> {
    let text = doc.to_json().unwrap_or_else(|_| "{}".into());
    let tag = format!("\"{}-{}\"", tianshan_platform::VERSION, text.len());
    let shared = Arc::new((text, tag));
    Router::new().route(
        "/api/v1/openapi.json",
        get(move |headers: HeaderMap| {
            let shared = shared.clone();
            async move { document(&shared.0, &shared.1, &headers) }
        }),
    )
}

/// `GET /api/v1/openapi.json`: public, so tools can read it before anyone has a token.
fn document(text: &str, tag: &str, headers: &HeaderMap) -> Response {
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        (header::ETAG, tag.to_string()),
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
        text.to_string(),
    )
        .into_response()
}

/// The document as the server serves it, for tests and `tianshan openapi`.
pub fn document_json() -> String {
    let (_, doc) = crate::app::api(crate::app::modules());
    doc.to_pretty_json().unwrap_or_default()
}

/// utoipa names an operation after its handler function, and two modules may both have a
/// `board`: an operation id used more than once gets the path's first segment after `/api/v1/`
/// or `/fhir/r4/` in front (`vaccination_board`, `missions_board`), so clients generated from
/// the document have one name per operation.
fn unique_operation_ids(doc: &mut OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values() {
        for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .into_iter()
            .flatten()
        {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let segment = path
            .trim_start_matches("/api/v1/")
            .trim_start_matches("/fhir/r4/")
            .split('/')
            .next()
            .unwrap_or("")
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(id) = &op.operation_id {
                if seen.get(id).copied().unwrap_or(0) > 1 && !segment.is_empty() {
                    op.operation_id = Some(format!("{segment}_{id}"));
                }
            }
        }
    }
}
