//! The request guard that refuses U+0000 in bodies before any handler reads them.
use super::*;

/// Largest body the request guard reads to look for NUL characters (FHIR Bundles are the
/// largest bodies the server takes; multipart uploads are streamed past the guard).
pub const GUARD_BODY_LIMIT: usize = crate::fhir_rest::MAX_BUNDLE_BYTES;
/// The same for every path outside `/fhir/`.
pub const GUARD_OTHER_LIMIT: usize = 4 * 1024 * 1024;

/// Does a JSON text carry a U+0000 character (a raw NUL byte or a `\u0000` escape)?
pub fn json_has_nul(b: &[u8]) -> bool {
    if b.contains(&0) {
        return true;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'u') && b.get(i + 2..i + 6) == Some(b"0000".as_slice()) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Does URL-encoded text (a path, a query, a form body) decode to a U+0000 character?
pub fn urlencoded_has_nul(b: &[u8]) -> bool {
    b.contains(&0) || b.windows(3).any(|w| w == b"%00")
}

/// The one rule for U+0000, for every route of every module: a NUL character in the path,
/// the query or a JSON, form or text body is refused with 400 before any handler runs
/// (PostgreSQL cannot store it; SQLite would store junk). Multipart uploads are checked by the
/// importers' decoders, and the database error is mapped to 400 as a last guard.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let refused = || AppError::BadRequest(Msg::new("error.nul")).into_response();
    if urlencoded_has_nul(req.uri().path().as_bytes())
        || req
            .uri()
            .query()
            .is_some_and(|q| urlencoded_has_nul(q.as_bytes()))
    {
        return refused();
    }
    let ty = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let check: Option<fn(&[u8]) -> bool> = if ty.contains("json") {
        Some(json_has_nul)
    } else if ty.starts_with("application/x-www-form-urlencoded") {
        Some(urlencoded_has_nul)
    } else if ty.starts_with("text/") {
        Some(|b: &[u8]| b.contains(&0))
    } else {
        None
    };
    let Some(check) = check else {
        return next.run(req).await;
    };
    // FHIR takes Bundles; everything else is held to the extractors' 2 MB (with room for a
    // handler that allows a little more).
    let limit = if req.uri().path().starts_with("/fhir/") {
        GUARD_BODY_LIMIT
    } else {
        GUARD_OTHER_LIMIT
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    if check(&bytes) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
