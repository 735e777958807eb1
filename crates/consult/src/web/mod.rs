//! Consultation pages: the inbox (what waits for me, with clocks), filing a case, the case
//! page with its thread and the forms of each step, referrals. Light pages usable at 390 px.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;

use crate::attachments;
use crate::domain::{CaseInput, Kind, TargetKind, Urgency, MAX_ATTACHMENT};
use crate::referrals::{self, ReferralInput, ReferralStep, ReferralView};
use crate::service::{self, perms, CaseView, StepInput};
use crate::store::MessageRow;

mod reports;
use reports::*;

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/consult", get(inbox_page).post(file_case))
        .route("/consult/new", get(new_case_form))
        .route("/consult/export.csv", get(export_csv))
        .route("/consult/measures", get(measures_page))
        .route(
            "/consult/referrals",
            get(referrals_page).post(create_referral),
        )
        .route("/consult/referrals/{id}/steps", post(referral_step))
        .route("/consult/{id}", get(case_page))
        .route("/consult/{id}/steps", post(case_step))
        .route("/consult/{id}/attachments", post(upload_attachment))
        .route("/consult/{id}/attachments/{attachment}", get(attachment))
        // An upload may carry a file at the limit and the case form's text; larger bodies
        // stop reading with the "too large" message.
        .layer(DefaultBodyLimit::max(MAX_ATTACHMENT + 1024 * 1024))
}

/// A page upload (`multipart/form-data`): its text fields and the file of the `file` field.
#[derive(Default)]
struct Upload {
    fields: Vec<(String, String)>,
    file: Option<(String, Vec<u8>)>,
    too_big: bool,
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn unreadable() -> AppError {
    AppError::BadRequest(Msg::new("consult.err.upload"))
}

/// Read an upload; a file over the limit is read to its end (so the browser gets the page,
/// not a broken connection) but not kept.
async fn read_upload(st: &Platform, req: Request) -> Result<Upload, AppError> {
    let mut mp = Multipart::from_request(req, st)
        .await
        .map_err(|_| unreadable())?;
    let mut up = Upload::default();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            attachments::too_big()
        } else {
            unreadable()
        }
    };
    while let Some(mut field) = mp.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let mut data = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                    if data.len() + chunk.len() > MAX_ATTACHMENT {
                        up.too_big = true;
                        data.clear();
                    } else if !up.too_big {
                        data.extend_from_slice(&chunk);
                    }
                }
                // A form sent without a chosen file carries an empty, nameless part.
                if name == "file" && !(file_name.is_empty() && data.is_empty()) {
                    up.file = Some((file_name, data));
                }
            }
            None => {
                let text = field.text().await.map_err(too_large)?;
                up.fields.push((name, text));
            }
        }
    }
    Ok(up)
}

/// The checks of an uploaded file, before anything is written.
fn checked_file(up: &Upload) -> Result<(), AppError> {
    if up.too_big {
        return Err(attachments::too_big());
    }
    match &up.file {
        Some((_, bytes)) => attachments::check(bytes).map(|_| ()),
        None => Ok(()),
    }
}

/// A case in a list, labelled in the reader's language.
pub struct CaseLine {
    pub id: String,
    pub kind: String,
    pub urgency: String,
    pub urgency_code: String,
    pub status: String,
    pub status_code: &'static str,
    pub patient: String,
    pub target: String,
    pub clock: String,
    pub overdue: bool,
    pub escalated: bool,
}

fn patient_label(t: &Catalog, v: &CaseView) -> String {
    let sex = t.get(&format!("sex.{}", v.patient.sex)).to_string();
    let age = v
        .patient
        .age
        .map(|a| t.fmt("consult.age", &[("age", &a.to_string())]))
        .unwrap_or_default();
    match &v.patient.name {
        Some(n) => format!("{n} · {sex} {age}"),
        None => format!("{} · {sex} {age}", t.get("consult.deidentified")),
    }
}

fn clock_label(t: &Catalog, v: &CaseView) -> String {
    match v.minutes_left {
        Some(m) if v.paused => t.fmt("consult.clock.paused", &[("time", &span(m))]),
        Some(m) if m < 0 => t.fmt("consult.clock.overdue", &[("time", &span(-m))]),
        Some(m) => t.fmt("consult.clock.left", &[("time", &span(m))]),
        None => String::new(),
    }
}

fn span(minutes: i64) -> String {
    if minutes >= 1440 {
        format!("{}d {}h", minutes / 1440, minutes % 1440 / 60)
    } else {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    }
}

async fn names(
    st: &Platform,
    t: &Catalog,
    codes: Vec<String>,
) -> Result<HashMap<String, String>, AppError> {
    let mut codes = codes;
    codes.retain(|c| !c.is_empty());
    codes.sort();
    codes.dedup();
    let orgs = facade::orgs(st, &codes).await?;
    // A department is named with its hospital: "北京协和医院 · 心内科".
    let parents: Vec<String> = orgs
        .iter()
        .filter(|o| o.kind == "department")
        .filter_map(|o| o.parent_code.clone())
        .collect();
    let parents: HashMap<String, String> = facade::orgs(st, &parents)
        .await?
        .into_iter()
        .map(|o| (o.code.clone(), o.name(t.locale).to_string()))
        .collect();
    Ok(orgs
        .into_iter()
        .map(|o| {
            let own = o.name(t.locale).to_string();
            let name = match o.parent_code.as_ref().and_then(|p| parents.get(p)) {
                Some(p) if o.kind == "department" => format!("{p} · {own}"),
                _ => own,
            };
            (o.code, name)
        })
        .collect())
}

async fn lines(st: &Platform, t: &Catalog, views: &[CaseView]) -> Result<Vec<CaseLine>, AppError> {
    let n = names(st, t, views.iter().map(|v| v.target_code.clone()).collect()).await?;
    Ok(views
        .iter()
        .map(|v| CaseLine {
            id: v.id.clone(),
            kind: t.get(&format!("consult.kind.{}", v.kind)).to_string(),
            urgency: t.get(&format!("consult.urgency.{}", v.urgency)).to_string(),
            urgency_code: v.urgency.clone(),
            status: t
                .get(&format!("consult.status.{}", v.status.as_str()))
                .to_string(),
            status_code: v.status.as_str(),
            patient: patient_label(t, v),
            target: if v.target_code.is_empty() {
                t.get("consult.target.unrouted").to_string()
            } else {
                n.get(&v.target_code)
                    .cloned()
                    .unwrap_or(v.target_code.clone())
            },
            clock: clock_label(t, v),
            overdue: v.overdue,
            escalated: v.escalated_at.is_some(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "consult_inbox.html")]
struct InboxPage {
    shell: Shell,
    can_file: bool,
    coordinator: bool,
    to_accept: Vec<CaseLine>,
    to_answer: Vec<CaseLine>,
    waiting: Vec<CaseLine>,
    mine: Vec<CaseLine>,
    all: Vec<CaseLine>,
}

async fn inbox_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let i = service::inbox(&st, &who).await?;
    let t = &ctx.t;
    let page = InboxPage {
        can_file: who.can(perms::REQUEST),
        coordinator: who.can(perms::COORDINATE),
        to_accept: lines(&st, t, &i.to_accept).await?,
        to_answer: lines(&st, t, &i.to_answer).await?,
        waiting: lines(&st, t, &i.waiting_on_me).await?,
        mine: lines(&st, t, &i.my_requests).await?,
        all: lines(&st, t, &i.coordinator).await?,
        shell: Shell::new(ctx, &st, Some(&who)),
    };
    render(&page)
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "consult_form.html")]
struct CaseForm {
    shell: Shell,
    f: CaseInput,
    q: String,
    patients: Vec<Choice>,
    kinds: Vec<Choice>,
    urgencies: Vec<Choice>,
    target_kinds: Vec<Choice>,
    targets: Vec<Choice>,
    errors: HashMap<String, String>,
}

impl CaseForm {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

fn choices<T: Copy>(
    t: &Catalog,
    prefix: &str,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|k| Choice {
            value: code(*k).to_string(),
            label: t.get(&format!("{prefix}.{}", code(*k))).to_string(),
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    patient: String,
}

async fn form_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: CaseInput,
    q: String,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    let t = &ctx.t;
    let mut patients = Vec::new();
    if !q.trim().is_empty() {
        for p in facade::find_patients(st, who, &q, 20).await? {
            patients.push(Choice {
                label: format!(
                    "{} · {} · {}",
                    p.display_name(t.locale),
                    t.get(&format!("sex.{}", p.sex)),
                    p.birth_date.clone().unwrap_or_default()
                ),
                value: p.id,
            });
        }
    }
    let mut targets = Vec::new();
    for o in facade::orgs_of_kind(
        st,
        &["rear_hospital", "partner", "department", "hospital"],
        200,
    )
    .await?
    {
        targets.push(Choice {
            label: o.name(t.locale).to_string(),
            value: o.code,
        });
    }
    let errors: HashMap<String, String> = errs
        .iter()
        .map(|e| (e.field.clone(), t.msg(&e.msg)))
        .collect();
    let failed = !errs.is_empty();
    let page = CaseForm {
        kinds: choices(t, "consult.kind", Kind::ALL, Kind::as_str),
        urgencies: choices(t, "consult.urgency", Urgency::ALL, Urgency::as_str),
        target_kinds: choices(
            t,
            "consult.target_kind",
            TargetKind::ALL,
            TargetKind::as_str,
        ),
        targets,
        patients,
        f,
        q,
        errors,
        shell: Shell::new(ctx, st, Some(who)),
    };
    let mut resp = render(&page)?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn new_case_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    who.require(perms::REQUEST)?;
    let f = CaseInput {
        patient_id: q.patient,
        kind: "opinion".into(),
        urgency: "routine".into(),
        target_kind: "pool".into(),
        ..Default::default()
    };
    form_page(&st, ctx, &who, f, q.q, &[]).await
}

async fn file_case(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    req: Request,
) -> Result<Response, AppError> {
    who.require(perms::REQUEST)?;
    // The form is a file upload (the case with its first attachment); a plain form still works.
    let up = if is_multipart(&req) {
        read_upload(&st, req).await?
    } else {
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(req, &st)
            .await
            .map_err(|_| AppError::BadRequest(Msg::new("error.bad_request")))?;
        Upload {
            fields,
            ..Default::default()
        }
    };
    let encoded = serde_urlencoded::to_string(&up.fields).map_err(|_| unreadable())?;
    let f: CaseInput = serde_urlencoded::from_str(&encoded)
        .map_err(|_| AppError::BadRequest(Msg::new("error.bad_request")))?;
    if let Err(AppError::Invalid(errs)) = checked_file(&up) {
        return form_page(&st, ctx, &who, f, String::new(), &errs).await;
    }
    match service::file(&st, &who, &f).await {
        Ok(v) => {
            if let Some((name, bytes)) = &up.file {
                attachments::attach(&st, &who, &v.id, name, bytes).await?;
            }
            Ok(Redirect::to(&format!("/consult/{}", v.id)).into_response())
        }
        Err(AppError::Invalid(errs)) => form_page(&st, ctx, &who, f, String::new(), &errs).await,
        Err(e) => Err(e),
    }
}

/// A file added from the case page; a refusal is shown on the page (4xx), nothing written.
async fn upload_attachment(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, AppError> {
    let up = read_upload(&st, req).await?;
    let done = match checked_file(&up) {
        Err(e) => Err(e),
        Ok(()) => match &up.file {
            Some((name, bytes)) => attachments::attach(&st, &who, &id, name, bytes)
                .await
                .map(|_| ()),
            None => Err(AppError::invalid("file", Msg::new("consult.err.required"))),
        },
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/consult/{id}")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            show_case(&st, ctx, &who, &id, msg).await
        }
        Err(AppError::Conflict(m)) => {
            let msg = ctx.t.msg(&m);
            show_case(&st, ctx, &who, &id, msg).await
        }
        Err(e) => Err(e),
    }
}

pub struct MessageLine {
    pub at: String,
    pub who: String,
    pub side: String,
    pub what: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "consult_case.html")]
struct CasePage {
    shell: Shell,
    c: CaseView,
    line: CaseLine,
    from: String,
    thread: Vec<MessageLine>,
    attachments: Vec<crate::store::AttachmentMeta>,
    can: Vec<&'static str>,
    can_attach: bool,
    error: String,
}

impl CasePage {
    fn may(&self, step: &str) -> bool {
        self.can.contains(&step)
    }
}

fn when(ts: &str) -> String {
    ts.replace('T', " ").chars().take(16).collect()
}

async fn show_case(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    error: String,
) -> Result<Response, AppError> {
    let d = service::get(st, who, id).await?;
    let t = &ctx.t;
    let line = lines(st, t, std::slice::from_ref(&d.case))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let from = names(st, t, vec![d.case.from_code.clone()])
        .await?
        .remove(&d.case.from_code)
        .unwrap_or_default();
    let thread = d
        .thread
        .iter()
        .map(|m: &MessageRow| MessageLine {
            at: when(&m.at),
            who: if m.author_name.is_empty() {
                t.get("consult.side.system").to_string()
            } else {
                m.author_name.clone()
            },
            side: m.side.clone(),
            what: t.get(&format!("consult.msg.{}", m.kind)).to_string(),
            body: m.body.clone(),
        })
        .collect();
    let failed = !error.is_empty();
    let page = CasePage {
        can: d.case.actions.iter().map(|s| s.as_str()).collect(),
        can_attach: d.case.side != "coordinator" && d.case.status.as_str() != "acknowledged",
        c: d.case,
        attachments: d.attachments,
        line,
        from,
        thread,
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    let mut resp = render(&page)?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn case_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    show_case(&st, ctx, &who, &id, String::new()).await
}

async fn case_step(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<StepInput>,
) -> Result<Response, AppError> {
    match service::step(&st, &who, &id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/consult/{id}")).into_response()),
        // Declined and routed elsewhere: back to the inbox.
        Err(AppError::NotFound) if f.step == "decline" => {
            Ok(Redirect::to("/consult").into_response())
        }
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            show_case(&st, ctx, &who, &id, msg).await
        }
        Err(AppError::Conflict(m)) => {
            let msg = ctx.t.msg(&m);
            show_case(&st, ctx, &who, &id, msg).await
        }
        Err(e) => Err(e),
    }
}

async fn attachment(
    State(st): State<Platform>,
    who: Principal,
    Path((id, aid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (m, bytes) = crate::attachments::open(&st, &who, &id, &aid).await?;
    Ok(crate::attachments::response(&m, bytes))
}
