//! HTTP plumbing shared by every module: who is asking (session or bearer token), which
//! language, CSRF protection for forms, the page shell, static assets, the request log and
//! the one place where errors are rendered (HTML page, JSON API error or FHIR OperationOutcome).
use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use crate::auth::{self, Channel, Principal};
use crate::error::{AppError, ErrorReport, Msg};
use crate::i18n::{Catalog, Locale, LOCALES};
use crate::scope::Permission;
use crate::state::Platform;

mod errors;
mod guard;

use errors::render_error;
pub use guard::{
    json_has_nul, refuse_nul, urlencoded_has_nul, GUARD_BODY_LIMIT, GUARD_OTHER_LIMIT,
};

pub const SESSION_COOKIE: &str = "ts_session";
pub const CSRF_COOKIE: &str = "ts_csrf";
pub const LANG_COOKIE: &str = "ts_lang";
pub const CSRF_FIELD: &str = "_csrf";
/// Header carrying the CSRF token on cookie-authenticated API and FHIR writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body accepted by page routes.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /, Secure when configured.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Where a request came from, for the audit log.
pub fn client_meta(parts: &Parts) -> (String, String) {
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let ua = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    (ip, ua)
}

fn channel_of(path: &str) -> Channel {
    if path.starts_with("/api/") {
        Channel::Api
    } else if path.starts_with("/fhir/") {
        Channel::Fhir
    } else {
        Channel::Web
    }
}

impl FromRequestParts<Platform> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Platform) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let channel = channel_of(parts.uri.path());
        let (ip, ua) = client_meta(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let found = if let Some(token) = bearer {
            auth::principal_from_token(&st.db, &st.auth, token, channel, &ip, &ua).await?
        } else if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            auth::principal_from_session(&st.db, &st.auth, secret, &st.clock, channel, &ip, &ua)
                .await?
        } else {
            None
        };
        let p = found.ok_or(AppError::Unauthorized)?;
        parts.extensions.insert(p.clone());
        Ok(p)
    }
}

/// The language and CSRF token of this request, set by [`frame`].
#[derive(Debug, Clone)]
pub struct RequestLocale(pub Locale);
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Everything a page handler needs to draw the shell: language, CSRF token, current path.
pub struct PageCtx {
    pub t: Catalog,
    pub csrf: String,
    pub path: String,
}

impl FromRequestParts<Platform> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Platform) -> Result<Self, Self::Rejection> {
        let locale = parts
            .extensions
            .get::<RequestLocale>()
            .map(|l| l.0)
            .unwrap_or(Locale::ZhHans);
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        Ok(PageCtx {
            t: st.i18n.catalog(locale),
            csrf,
            path: parts.uri.path().to_string(),
        })
    }
}

pub struct NavView {
    pub label: String,
    pub href: &'static str,
    pub current: bool,
}

pub struct LangView {
    pub tag: &'static str,
    pub name: &'static str,
    pub current: bool,
}

pub struct UserView {
    pub name: String,
    pub role: String,
}

/// What `base.html` draws around every page.
pub struct Shell {
    pub t: Catalog,
    pub lang: &'static str,
    pub dir: &'static str,
    pub csrf: String,
    pub user: Option<UserView>,
    pub nav: Vec<NavView>,
    pub langs: Vec<LangView>,
    pub version: &'static str,
    pub path: String,
}

impl Shell {
    pub fn new(ctx: PageCtx, st: &Platform, who: Option<&Principal>) -> Shell {
        let nav = match who {
            None => Vec::new(),
            Some(p) => st
                .config
                .nav
                .iter()
                .filter(|n| n.needs.is_none_or(|perm: Permission| p.can(perm)))
                .map(|n| NavView {
                    label: ctx.t.get(n.label).to_string(),
                    href: n.href,
                    current: n.href != "/" && ctx.path.starts_with(n.href),
                })
                .collect(),
        };
        let locale = ctx.t.locale;
        Shell {
            lang: locale.tag(),
            dir: locale.dir(),
            csrf: ctx.csrf,
            user: who.map(|p| UserView {
                name: p.display_name.clone(),
                role: p
                    .roles
                    .iter()
                    .map(|r| role_label(&ctx.t, r))
                    .collect::<Vec<_>>()
                    .join(" · "),
            }),
            nav,
            langs: LOCALES
                .iter()
                .map(|l| LangView {
                    tag: l.tag(),
                    name: l.native_name(),
                    current: *l == locale,
                })
                .collect(),
            version: crate::VERSION,
            path: ctx.path,
            t: ctx.t,
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.t.get(key).to_string()
    }

    /// A message with one `{name}` placeholder filled in.
    pub fn t_with(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.t.fmt(key, &[(name, &value.to_string())])
    }
}

/// A role's name: the catalogue's for built-in roles, the code for roles made by an administrator.
pub fn role_label(t: &Catalog, code: &str) -> String {
    let key = format!("role.{code}");
    match t.lookup(&key) {
        Some(s) => s.to_string(),
        None => code.to_string(),
    }
}

/// Render a page template, turning a template failure into a logged 500.
pub fn render<T: Template>(page: &T) -> Result<Response, AppError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    message: String,
}

fn resolve_locale(parts: &Parts) -> (Locale, bool) {
    let from_query = parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Locale::parse(&v))
    });
    if let Some(l) = from_query {
        return (l, true);
    }
    if let Some(l) = cookie(&parts.headers, LANG_COOKIE).and_then(Locale::parse) {
        return (l, false);
    }
    let from_header = parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language);
    (from_header.unwrap_or(Locale::ZhHans), false)
}

fn new_csrf() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The CSRF token of a signed-in session: derived from the session secret, which only the
/// browser holding the session cookie (HttpOnly) and the server know.
pub fn session_csrf(session_secret: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tianshan-csrf\0");
    h.update(session_secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/fhir/") || path == "/healthz")
}

/// The frame around every request: language, CSRF cookie and check, and error rendering.
pub async fn frame(State(st): State<Platform>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let (locale, lang_chosen) = resolve_locale(&parts);
    let existing = cookie(&parts.headers, CSRF_COOKIE).map(str::to_string);
    let session = cookie(&parts.headers, SESSION_COOKIE)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    // Signed in: the token is derived from the session secret (bound to the session; a cookie
    // planted by another site cannot match it). Before sign-in: the double-submit cookie.
    let expected = session.as_deref().map(session_csrf).or(existing.clone());
    let csrf = expected.clone().unwrap_or_else(new_csrf);
    parts.extensions.insert(RequestLocale(locale));
    parts.extensions.insert(CsrfToken(csrf.clone()));
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);

    let mut req = Request::from_parts(parts, body);
    if req.method() == Method::POST && is_page_path(&path) {
        match check_csrf(req, expected.as_deref()).await {
            Ok(r) => req = r,
            Err(e) => {
                let mut r = render_error(&st, locale, &path, e.into_response(), &csrf).await;
                security_headers(r.headers_mut(), &path, st.config.secure_cookies);
                return r;
            }
        }
    } else if !safe && !bearer && session.is_some() && !is_page_path(&path) {
        // A write to the API or FHIR with the session cookie: only this site's own pages know
        // the token, so another site cannot make the browser write.
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let ok =
            matches!((expected.as_deref(), sent), (Some(e), Some(s)) if constant_time_eq(e, s));
        if !ok {
            let e = AppError::ForbiddenBecause(Msg::new("error.csrf_api"));
            let mut r = render_error(&st, locale, &path, e.into_response(), &csrf).await;
            security_headers(r.headers_mut(), &path, st.config.secure_cookies);
            return r;
        }
    }
    let resp = next.run(req).await;
    let mut resp = render_error(&st, locale, &path, resp, &csrf).await;
    let h = resp.headers_mut();
    if existing.is_none() && session.is_none() && is_page_path(&path) {
        h.append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &csrf, None, true, st.config.secure_cookies),
        );
    }
    security_headers(h, &path, st.config.secure_cookies);
    if lang_chosen {
        h.append(
            header::SET_COOKIE,
            set_cookie(
                LANG_COOKIE,
                locale.tag(),
                Some(31_536_000),
                true,
                st.config.secure_cookies,
            ),
        );
    }
    resp
}

/// The Content-Security-Policy of every answer: scripts, styles and forms only from this
/// server, no framing, no plugins.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Headers on every answer: CSP, no framing, no type sniffing, no referrer to other sites,
/// nothing stored by caches (patient data) except the versioned static assets, and HSTS when
/// the server is configured for HTTPS (`--secure-cookies`).
pub fn security_headers(h: &mut HeaderMap, path: &str, secure: bool) {
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !path.starts_with("/static/") && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// Form posts must carry the `_csrf` field (or the header): the session's token when signed
/// in, else the CSRF cookie (double submit). The session cookie is SameSite=Lax as well.
///
/// A file upload (`multipart/form-data`) carries the token in its action URL's query,
/// `?_csrf=…`, so the body (files of megabytes) streams to the handler unread; the token is
/// bound to the session and the Referrer-Policy keeps URLs on this site.
async fn check_csrf(req: Request, cookie_token: Option<&str>) -> Result<Request, AppError> {
    let (parts, body) = req.into_parts();
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if multipart {
        let query_token = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        return match (cookie_token, query_token.or(header_token)) {
            (Some(c), Some(s)) if constant_time_eq(c, &s) => Ok(Request::from_parts(parts, body)),
            _ => Err(AppError::BadRequest(Msg::new("error.csrf"))),
        };
    }
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::BadRequest(Msg::new("error.too_large")))?;
    let form_token = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    let sent = form_token.or(header_token);
    match (cookie_token, sent) {
        (Some(c), Some(s)) if constant_time_eq(c, &s) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::BadRequest(Msg::new("error.csrf"))),
    }
}

/// One structured log line per request: method, path, status, latency and request id.
/// Never the query string, which may carry patient names.
pub async fn request_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.uri().path().to_string();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let mut resp = next.run(req).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, route, status = resp.status().as_u16(), latency_ms, request_id, "request");
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

pub const APP_CSS: &str = include_str!("../../static/app.css");
pub const APP_JS: &str = include_str!("../../static/app.js");

/// Static assets: versioned URLs, cached for a year.
pub async fn static_asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, ty) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return AppError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// `GET /healthz`: version and database status.
pub async fn healthz(State(st): State<Platform>) -> Response {
    let ok = st.db.ping().await;
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": crate::VERSION,
        "database": {"backend": st.db.backend().name(), "ok": ok, "writer": st.db.writer_stats()},
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Fallback for unknown routes (a message of its own: "no such address", not "no such record").
pub async fn not_found() -> AppError {
    AppError::NotFoundBecause(Msg::new("error.no_route"))
}

/// Every template must escape; this is for hidden form values and URLs built in Rust.
pub fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; ts_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, "ts_session"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn csrf_compare() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
