//! Certificates and the mission report as PDF (JSON API, documented), the issue form on the
//! report page, and the public verification page (no sign-in; every check audited).
use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::audit::{self, Action, Actor, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::{Catalog, Locale};
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{ApiRouter, AppError, Msg, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::CERTIFICATE;
use super::{get as get_cert, issue, of, verify, CertificateInput, CertificateRow, Verified};
use crate::pdf::{self, documents, FontError};
use crate::service::missions;
use crate::web::org_names;

pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(issue_certificate))
        .routes(routes!(get_certificate))
        .routes(routes!(certificate_pdf))
        .routes(routes!(mission_certificates))
        .routes(routes!(mission_report_pdf))
}

pub fn page_routes() -> Router<Platform> {
    Router::new()
        .route("/missions/m/{id}/certificates", post(issue_post))
        .route("/verify", get(verify_page))
        .route("/verify/{code}", get(verify_code_page))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangParam {
    /// `zh` (Simplified Chinese), `zh-Hant` or `en`; the caller's language by default
    /// (Chinese for Uyghur, whose script the PDF font lacks). Not `lang`, which would also
    /// switch the language of the pages.
    pub language: Option<String>,
}

/// The catalogue a PDF is written in.
fn pdf_catalog(st: &Platform, who: &Principal, lang: Option<&str>) -> Result<Catalog, AppError> {
    let locale = match lang.map(str::trim).filter(|l| !l.is_empty()) {
        None => match Locale::parse(&who.locale) {
            Some(Locale::En) => Locale::En,
            Some(Locale::ZhHant) => Locale::ZhHant,
            _ => Locale::ZhHans,
        },
        Some("zh" | "zh-Hans" | "zh-CN") => Locale::ZhHans,
        Some("zh-Hant" | "zh-TW") => Locale::ZhHant,
        Some("en") => Locale::En,
        Some(_) => return Err(AppError::BadRequest(Msg::new("missions.err.pdf_lang"))),
    };
    Ok(st.i18n.catalog(locale))
}

/// A PDF answer, or 503 with a message a person understands when no CJK font is installed.
fn pdf_response(t: &Catalog, name: &str, made: Result<Vec<u8>, FontError>) -> Response {
    match made {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            let key = match e {
                FontError::Missing => "missions.err.no_font",
                FontError::Unusable => "missions.err.bad_font",
            };
            tracing::error!(error = %e, "PDF not made");
            let body = serde_json::json!({"error": {"code": "unavailable",
                "message": t.get(key), "fields": []}});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

fn verify_url(headers: &HeaderMap, code: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}/verify/{code}")
}

/// The mission report as PDF: planned vs done, by whom, the figures, what it left behind.
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/report/pdf", tag = "missions",
    params(("id" = String, Path, description = "Mission id"), LangParam),
    responses((status = 200, description = "The report", content_type = "application/pdf"),
        (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 503, body = ApiError, description = "No CJK font on the server")),
    security(("bearer" = [])))]
async fn mission_report_pdf(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(p): Query<LangParam>,
) -> Result<Response, AppError> {
    let t = pdf_catalog(&st, &who, p.language.as_deref())?;
    let r = missions::report(&st, &who, &id).await?;
    let names = org_names(
        &st,
        &t,
        [r.mission.site_code.clone(), r.mission.lead_code.clone()],
    )
    .await?;
    let blocks = documents::report(&t, &r, &names);
    st.audit(
        &who,
        Event::new(
            Action::EXPORT,
            crate::service::needs::MISSION,
            &r.mission.id,
        )
        .detail("pdf"),
    )
    .await?;
    Ok(pdf_response(
        &t,
        "mission-report.pdf",
        pdf::render(&r.mission.title, &blocks, false),
    ))
}

/// Issue a certificate to someone the records show attended the lecture or course or
/// finished the fellowship; the answer carries its verification code. 422 with per-field
/// messages otherwise.
#[utoipa::path(post, path = "/api/v1/missions/certificates", tag = "missions", request_body = CertificateInput,
    responses((status = 201, body = CertificateRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn issue_certificate(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<CertificateInput>,
) -> Result<Response, AppError> {
    let c = issue(&st, &who, &input).await?;
    Ok(crate::api::created(
        format!("/api/v1/missions/certificates/{}", c.id),
        c,
    ))
}

/// One certificate (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/missions/certificates/{id}", tag = "missions",
    params(("id" = String, Path, description = "Certificate id")),
    responses((status = 200, body = CertificateRow), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn get_certificate(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<CertificateRow>, AppError> {
    Ok(Json(get_cert(&st, &who, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct CertificateList {
    certificates: Vec<CertificateRow>,
}

/// The certificates issued for a mission.
#[utoipa::path(get, path = "/api/v1/missions/missions/{id}/certificates", tag = "missions",
    params(("id" = String, Path, description = "Mission id")),
    responses((status = 200, body = CertificateList), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn mission_certificates(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<CertificateList>, AppError> {
    Ok(Json(CertificateList {
        certificates: of(&st, &who, &id).await?,
    }))
}

/// The certificate as PDF, with its verification code and the public page to check it.
#[utoipa::path(get, path = "/api/v1/missions/certificates/{id}/pdf", tag = "missions",
    params(("id" = String, Path, description = "Certificate id"), LangParam),
    responses((status = 200, description = "The certificate", content_type = "application/pdf"),
        (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 503, body = ApiError, description = "No CJK font on the server")),
    security(("bearer" = [])))]
async fn certificate_pdf(
    State(st): State<Platform>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<LangParam>,
) -> Result<Response, AppError> {
    let t = pdf_catalog(&st, &who, p.language.as_deref())?;
    let c = get_cert(&st, &who, &id).await?;
    let issuer = issuer_name(&st, &t, &c).await?;
    let blocks = documents::certificate(&t, &c, &issuer, &verify_url(&headers, &c.code));
    st.audit(
        &who,
        Event::new(Action::EXPORT, CERTIFICATE, &c.id).detail("pdf"),
    )
    .await?;
    Ok(pdf_response(
        &t,
        "certificate.pdf",
        pdf::render(&c.title, &blocks, true),
    ))
}

async fn issuer_name(st: &Platform, t: &Catalog, c: &CertificateRow) -> Result<String, AppError> {
    Ok(org_names(st, t, [c.issuer_code.clone()])
        .await?
        .remove(&c.issuer_code)
        .unwrap_or_else(|| c.issuer_code.clone()))
}

// ---- pages

#[derive(Deserialize)]
struct IssueForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    holder_name: String,
    #[serde(default)]
    activity_id: String,
    #[serde(default)]
    issuer_code: String,
}

/// The report page's issue form; refusals come back on the report page.
async fn issue_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<IssueForm>,
) -> Result<Response, AppError> {
    let input = CertificateInput {
        kind: f.kind,
        holder_name: f.holder_name,
        mission_id: id.clone(),
        activity_id: Some(f.activity_id).filter(|a| !a.trim().is_empty()),
        issuer_code: f.issuer_code,
    };
    match issue(&st, &who, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/missions/m/{id}/report#certificates")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(crate::web::unprocessable(
                crate::web::report_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "missions_verify.html")]
struct VerifyPage {
    shell: Shell,
    code: String,
    asked: bool,
    found: Option<Verified>,
}

#[derive(Deserialize, Default)]
struct CodeQuery {
    #[serde(default)]
    code: String,
}

async fn verify_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    conn: ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Result<Response, AppError> {
    verify_view(&st, ctx, conn, &headers, q.code).await
}

async fn verify_code_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    conn: ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    verify_view(&st, ctx, conn, &headers, code).await
}

/// Anyone may check a code; each check is in the audit log (who asked: the address and
/// browser), found or not, so a run of guesses shows.
async fn verify_view(
    st: &Platform,
    ctx: PageCtx,
    conn: ConnectInfo<std::net::SocketAddr>,
    headers: &HeaderMap,
    code: String,
) -> Result<Response, AppError> {
    let code: String = code.trim().chars().take(40).collect();
    let asked = !code.is_empty();
    let mut found = None;
    if asked {
        let cert = verify(st, &code).await?;
        let ip = conn.0.ip().to_string();
        let ua: String = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        let actor = Actor {
            user_id: "",
            username: "",
            role: "",
            channel: "web",
            ip: &ip,
            user_agent: &ua,
        };
        let (id, detail) = match &cert {
            Some(c) => (c.id.as_str(), format!("verified {}", c.code)),
            None => ("", format!("unknown code {code}")),
        };
        audit::record_raw(
            &st.db,
            &st.clock,
            actor,
            Event::new(Action::READ, CERTIFICATE, id).detail(&detail),
        )
        .await?;
        if let Some(c) = cert {
            let issuer = issuer_name(st, &ctx.t, &c).await?;
            found = Some(Verified {
                code: c.code,
                kind: ctx
                    .t
                    .get(&format!("missions.cert.title.{}", c.kind))
                    .to_string(),
                holder_name: c.holder_name,
                title: c.title,
                issuer,
                starts_on: c.starts_on,
                ends_on: c.ends_on,
                issued_on: c.issued_on,
            });
        }
    }
    let status = if asked && found.is_none() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut r = render(&VerifyPage {
        code,
        asked,
        found,
        shell: Shell::new(ctx, st, None),
    })?;
    *r.status_mut() = status;
    Ok(r)
}
