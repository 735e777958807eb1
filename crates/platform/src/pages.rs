//! The platform's own pages and API: sign-in, sign-out, language, home, and the audit log
//! (browse, filter, export) for administrators.
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use crate::audit::{self, Action, Actor, Event, Filter};
use crate::auth::{self, Channel, Principal};
use crate::error::AppError;
use crate::i18n::{CatalogueSource, Locale};
use crate::scope::perms;
use crate::state::Platform;
use crate::web::{self, render, set_cookie, PageCtx, Shell, LANG_COOKIE, SESSION_COOKIE};

pub fn catalogues() -> Vec<CatalogueSource> {
    crate::catalogues!("platform")
}

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/settings/language", post(set_language))
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit.csv", get(audit_csv))
        .merge(crate::admin::pages())
        .route("/healthz", get(web::healthz))
        .route("/static/{name}", get(web::static_asset))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    shell: Shell,
    welcome: String,
    scope: String,
}

async fn home(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let welcome = ctx.t.fmt("home.welcome", &[("name", &who.display_name)]);
    let scope = match &who.scope_code {
        None => ctx.t.get("home.scope_all").to_string(),
        Some(code) => {
            let name = org_name(&st, code, ctx.t.locale).await?;
            ctx.t.fmt("home.scope", &[("scope", &name)])
        }
    };
    render(&HomePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        welcome,
        scope,
    })
}

/// An organisation's name in the reader's language, falling back to Chinese.
pub async fn org_name(st: &Platform, code: &str, locale: Locale) -> Result<String, AppError> {
    let row: Option<(String, String, String)> = crate::with_db!(&st.db, pool =>
        sqlx::query_as("SELECT name_zh, name_ug, name_en FROM orgs WHERE code = $1").bind(code).fetch_optional(pool).await)?;
    Ok(row
        .map(|(zh, ug, en)| match locale {
            Locale::Ug if !ug.is_empty() => ug,
            Locale::En if !en.is_empty() => en,
            _ => zh,
        })
        .unwrap_or_else(|| code.to_string()))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Shell,
    username: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    out: Option<String>,
}

async fn login_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let notice = q.out.map(|_| ctx.t.get("login.signed_out").to_string());
    render(&LoginPage {
        shell: Shell::new(ctx, &st, None),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
        notice,
    })
}

/// Only local paths are followed after sign-in, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(st): State<Platform>,
    ctx: PageCtx,
    headers: axum::http::HeaderMap,
    parts: ConnMeta,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let (ip, ua) = (parts.ip, parts.ua);
    let username = f.username.trim().to_string();
    let held = match crate::ratelimit::check(&st, &username, &ip).await {
        Ok(()) => None,
        Err(AppError::RateLimitedUntil(m)) => Some(m),
        Err(e) => return Err(e),
    };
    if let Some(m) = held {
        let error = Some(ctx.t.msg(&m));
        let page = LoginPage {
            shell: Shell::new(ctx, &st, None),
            username,
            next: safe_next(f.next.as_deref()),
            error,
            notice: None,
        };
        let mut resp = render(&page)?;
        *resp.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
        return Ok(resp);
    }
    match auth::authenticate(&st.db, &username, &f.password).await? {
        Some(id) => {
            let p = Principal::from_identity(&id, Channel::Web, &ip, &ua);
            crate::ratelimit::succeeded(&st, &username).await?;
            auth::purge_expired_sessions(&st.db, &st.clock).await?;
            let secret = auth::create_session(&st.db, &p.user_id, &st.clock, &ip, &ua).await?;
            st.audit(&p, Event::new(Action::SIGN_IN, "user", &p.user_id))
                .await?;
            let _ = headers;
            let mut resp = Redirect::to(&safe_next(f.next.as_deref())).into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &secret,
                    Some(auth::SESSION_HOURS * 3600),
                    true,
                    st.config.secure_cookies,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    LANG_COOKIE,
                    &p.locale,
                    Some(31_536_000),
                    true,
                    st.config.secure_cookies,
                ),
            );
            Ok(resp)
        }
        None => {
            crate::ratelimit::failed(&st, &username, &ip).await?;
            let actor = Actor {
                user_id: "",
                username: &username,
                role: "",
                channel: "web",
                ip: &ip,
                user_agent: &ua,
            };
            audit::record_raw(
                &st.db,
                &st.clock,
                actor,
                Event::new(Action::SIGN_IN_FAILED, "user", ""),
            )
            .await?;
            let error = Some(ctx.t.get("login.failed").to_string());
            let page = LoginPage {
                shell: Shell::new(ctx, &st, None),
                username,
                next: safe_next(f.next.as_deref()),
                error,
                notice: None,
            };
            let mut resp = render(&page)?;
            *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(resp)
        }
    }
}

/// Client address and user agent, for handlers that run before anyone is signed in.
pub struct ConnMeta {
    pub ip: String,
    pub ua: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ConnMeta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let (ip, ua) = web::client_meta(parts);
        Ok(ConnMeta { ip, ua })
    }
}

async fn logout(
    State(st): State<Platform>,
    who: Principal,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    if let Some(secret) = web::cookie(&headers, SESSION_COOKIE) {
        auth::end_session(&st.db, &st.auth, &st.clock, secret).await?;
    }
    st.audit(&who, Event::new(Action::SIGN_OUT, "user", &who.user_id))
        .await?;
    let mut resp = Redirect::to("/login?out=1").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), true, st.config.secure_cookies),
    );
    Ok(resp)
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    back: Option<String>,
}

async fn set_language(
    State(st): State<Platform>,
    who: Principal,
    Form(f): Form<LanguageForm>,
) -> Result<Response, AppError> {
    let locale = Locale::parse(&f.lang)
        .ok_or_else(|| AppError::invalid("lang", crate::Msg::new("error.bad_request")))?;
    crate::users::set_locale(&st.db, &st.clock, &who.user_id, locale.tag()).await?;
    let mut resp = Redirect::to(&safe_next(f.back.as_deref())).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            locale.tag(),
            Some(31_536_000),
            true,
            st.config.secure_cookies,
        ),
    );
    Ok(resp)
}

const AUDIT_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    entries: Vec<audit::Entry>,
    f: Filter,
    older: Option<String>,
    export: String,
}

fn filter_query(f: &Filter) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("username", &f.username),
        ("action", &f.action),
        ("patient_id", &f.patient_id),
        ("entity_type", &f.entity_type),
        ("from", &f.from),
        ("to", &f.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

async fn audit_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    who.require(perms::AUDIT_READ)?;
    let entries = audit::list(&st.db, &f, AUDIT_PAGE).await?;
    let base = filter_query(&f);
    let older = (entries.len() as i64 == AUDIT_PAGE)
        .then(|| entries.last().map(|e| format!("?{base}&before={}", e.id)))
        .flatten();
    let export = format!("/admin/audit.csv?{base}");
    render(&AuditPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        entries,
        f,
        older,
        export,
    })
}

/// Entries read per query while an export streams.
const EXPORT_BATCH: i64 = 2_000;

/// The whole filtered log as CSV, newest first, streamed in batches (keyset paging on the
/// id): a date range of any size, never cut off. The export itself is audited first.
async fn audit_csv(
    State(st): State<Platform>,
    who: Principal,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    who.require(perms::AUDIT_READ)?;
    stream_audit_csv(st, who, f).await
}

async fn stream_audit_csv(st: Platform, who: Principal, f: Filter) -> Result<Response, AppError> {
    // Refuse a bad filter now, as a 4xx, rather than in the middle of the stream.
    audit::list(&st.db, &f, 1).await?;
    let detail = format!("csv; {}", filter_query(&f));
    st.audit(
        &who,
        Event::new(Action::EXPORT, "audit_log", "").detail(&detail),
    )
    .await?;
    let db = st.db.clone();
    let header = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(axum::body::Bytes::from(audit::to_csv(&[])))
    });
    let rows = futures_util::stream::unfold(Some(f), move |state| {
        let db = db.clone();
        async move {
            let mut f = state?;
            match audit::list(&db, &f, EXPORT_BATCH).await {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let more = batch.len() as i64 == EXPORT_BATCH;
                    f.before = batch.last().map(|e| e.id.to_string());
                    let text = audit::to_csv(&batch);
                    // Without its header line.
                    let body = text
                        .split_once('\n')
                        .map(|(_, b)| b.to_string())
                        .unwrap_or_default();
                    Some((Ok(axum::body::Bytes::from(body)), more.then_some(f)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    use futures_util::StreamExt;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        axum::body::Body::from_stream(header.chain(rows).fuse()),
    )
        .into_response())
}

/// Query of `GET /api/v1/audit` and `GET /api/v1/audit.csv`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub username: Option<String>,
    /// An action code (`read`, `update`, `sign_in_failed`, ...).
    pub action: Option<String>,
    pub patient_id: Option<String>,
    pub entity_type: Option<String>,
    /// Inclusive lower bound, `YYYY-MM-DD` or an RFC 3339 timestamp.
    pub from: Option<String>,
    /// Inclusive upper bound, `YYYY-MM-DD` (the whole day) or a timestamp.
    pub to: Option<String>,
    /// Entries older than this id: pass the previous page's `next_before`.
    pub before: Option<String>,
    /// 1–1000, default 100 (JSON only; the CSV has every matching entry).
    pub limit: Option<String>,
}

impl AuditQuery {
    fn filter(self) -> (Filter, Option<String>) {
        (
            Filter {
                username: self.username,
                action: self.action,
                patient_id: self.patient_id,
                entity_type: self.entity_type,
                from: self.from,
                to: self.to,
                before: self.before,
            },
            self.limit,
        )
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuditPageOut {
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<audit::Entry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The audit log, newest first, a page at a time (keyset paging with `before`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPageOut), (status = 403, body = crate::api::ApiError),
        (status = 422, body = crate::api::ApiError)),
    security(("bearer" = [])))]
async fn audit_api(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPageOut>, AppError> {
    who.require(perms::AUDIT_READ)?;
    let (f, limit) = q.filter();
    let limit = match limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| AppError::invalid("limit", crate::Msg::new("error.bad_request")))?
            .clamp(1, 1000),
    };
    let entries = audit::list(&st.db, &f, limit).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPageOut {
        entries,
        next_before,
    }))
}

/// Every matching entry as CSV (a date range of any size), streamed.
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "text/csv, every matching entry"),
        (status = 403, body = crate::api::ApiError), (status = 422, body = crate::api::ApiError)),
    security(("bearer" = [])))]
async fn audit_api_csv(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    who.require(perms::AUDIT_READ)?;
    stream_audit_csv(st, who, q.filter().0).await
}

pub fn audit_api_routes() -> crate::ApiRouter {
    crate::ApiRouter::new()
        .routes(utoipa_axum::routes!(audit_api))
        .routes(utoipa_axum::routes!(audit_api_csv))
}

/// The platform as a module: sign-in, home, languages, the audit log, accounts and roles.
pub fn module() -> crate::Module {
    use crate::state::NavItem;
    crate::Module {
        permissions: crate::scope::platform_permissions(),
        actions: audit::platform_actions(),
        migrations: crate::schema::migrations(),
        catalogues: catalogues(),
        nav: vec![
            NavItem::new("nav.home", "/", None),
            NavItem::new("nav.users", "/admin/users", Some(perms::USERS_MANAGE)),
            NavItem::new("nav.roles", "/admin/roles", Some(perms::USERS_MANAGE)),
            NavItem::new("nav.audit", "/admin/audit", Some(perms::AUDIT_READ)),
        ],
        pages: routes(),
        api: crate::fhir_rest::routes()
            .merge(crate::admin::api())
            .merge(audit_api_routes()),
        ..crate::Module::new("platform")
    }
}
