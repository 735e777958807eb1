//! Requests to transfer or share a record held elsewhere: the requester's form (reached from
//! the duplicate refusal with the ID number filled in), the list of one's own requests and of
//! those about records of one's area, and the page where a coordinator compares the record with
//! the requesting organisation and approves or refuses.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};

use super::patients::{error_map, org_choices};
use super::{org_names, sex_label, when, Choice};
use crate::domain::requests::{RequestInput, RequestStatus};
use crate::service::requests::{self as reqs, RequestView};
use crate::service::{directory, perms};

/// A request as lists and its page show it, with labels in the reader's language.
pub struct RequestLine {
    pub id: String,
    pub kind: &'static str,
    pub kind_label: String,
    pub status: &'static str,
    pub status_label: String,
    pub id_number: String,
    pub org: String,
    pub org_kind: String,
    pub from_org: String,
    pub by: String,
    pub at: String,
    pub reason: String,
    pub decided_at: String,
    pub decided_by: String,
    pub note: String,
    pub patient_id: String,
    pub patient_name: String,
    pub patient_facts: String,
    pub patient_org: String,
    pub can_decide: bool,
    pub can_withdraw: bool,
    pub owner_side: bool,
}

async fn lines(
    st: &Platform,
    t: &Catalog,
    views: Vec<RequestView>,
) -> Result<Vec<RequestLine>, AppError> {
    let codes = views.iter().flat_map(|v| {
        let mut c = vec![v.org_code.clone()];
        c.extend(v.from_org_code.clone());
        c.extend(v.patient.as_ref().map(|p| p.org_code.clone()));
        c
    });
    let names = org_names(st, t, codes.collect::<Vec<_>>()).await?;
    let kinds: HashMap<String, String> = directory::orgs_by_codes(
        st,
        &views.iter().map(|v| v.org_code.clone()).collect::<Vec<_>>(),
    )
    .await?
    .into_iter()
    .map(|o| (o.code, t.get(&format!("org.kind.{}", o.kind)).to_string()))
    .collect();
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    Ok(views
        .into_iter()
        .map(|v| {
            let (patient_id, patient_name, patient_facts, patient_org) = match &v.patient {
                Some(p) => (
                    p.id.clone(),
                    p.full_name.clone(),
                    [
                        sex_label(t, &p.sex),
                        p.birth_date.clone().unwrap_or_default(),
                    ]
                    .join(" · "),
                    name(&p.org_code),
                ),
                None => Default::default(),
            };
            RequestLine {
                kind: v.kind.as_str(),
                kind_label: t
                    .get(&format!("request.kind.{}", v.kind.as_str()))
                    .to_string(),
                status: v.status.as_str(),
                status_label: t
                    .get(&format!("request.status.{}", v.status.as_str()))
                    .to_string(),
                org: name(&v.org_code),
                org_kind: kinds.get(&v.org_code).cloned().unwrap_or_default(),
                from_org: v.from_org_code.as_deref().map(name).unwrap_or_default(),
                by: format!("{} ({})", v.requested_by_name, v.requested_by),
                at: when(&v.requested_at),
                decided_at: v.decided_at.as_deref().map(when).unwrap_or_default(),
                decided_by: v.decided_by_name.clone().unwrap_or_default(),
                id: v.id,
                id_number: v.id_number,
                reason: v.reason,
                note: v.note,
                patient_id,
                patient_name,
                patient_facts,
                patient_org,
                can_decide: v.can_decide,
                can_withdraw: v.can_withdraw,
                owner_side: v.owner_side,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    shell: Shell,
    can_ask: bool,
    can_decide: bool,
    incoming: Vec<RequestLine>,
    outgoing: Vec<RequestLine>,
    waiting: usize,
}

pub(super) async fn request_list(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let can_ask = who.can(perms::PATIENTS_WRITE);
    let can_decide = who.can(perms::PATIENTS_TRANSFER);
    if !can_ask && !can_decide {
        return Err(AppError::Forbidden);
    }
    let incoming = if can_decide {
        reqs::incoming(&st, &who).await?
    } else {
        Vec::new()
    };
    let waiting = reqs::pending(&incoming);
    let outgoing = if can_ask {
        reqs::outgoing(&st, &who).await?
    } else {
        Vec::new()
    };
    let incoming = lines(&st, &ctx.t, incoming).await?;
    let outgoing = lines(&st, &ctx.t, outgoing).await?;
    render(&RequestsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        can_ask,
        can_decide,
        incoming,
        outgoing,
        waiting,
    })
}

#[derive(Template)]
#[template(path = "request_form.html")]
struct RequestForm {
    shell: Shell,
    f: RequestInput,
    orgs: Vec<Choice>,
    errors: HashMap<String, String>,
    /// A refusal that belongs to no one field (a pending request exists).
    general: String,
}

impl RequestForm {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
    fn has_err(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }
}

async fn form_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: RequestInput,
    errs: &[FieldError],
    general: String,
) -> Result<Response, AppError> {
    let orgs = org_choices(st, who, &ctx.t).await?;
    let errors = error_map(&ctx.t, errs);
    let status = if errs.is_empty() && general.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp = render(&RequestForm {
        shell: Shell::new(ctx, st, Some(who)),
        f,
        orgs,
        errors,
        general,
    })?;
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Deserialize, Default)]
pub(super) struct NewRequestQuery {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    kind: String,
}

pub(super) async fn new_request_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<NewRequestQuery>,
) -> Result<Response, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let f = RequestInput {
        id_number: q.id_number,
        kind: if q.kind.is_empty() {
            "transfer".into()
        } else {
            q.kind
        },
        org_code: who.scope_code.clone().unwrap_or_default(),
        reason: String::new(),
    };
    form_page(&st, ctx, &who, f, &[], String::new()).await
}

pub(super) async fn create_request(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<RequestInput>,
) -> Result<Response, AppError> {
    match reqs::create(&st, &who, &f).await {
        Ok(v) => Ok(Redirect::to(&format!("/patient-requests/{}?sent=1", v.id)).into_response()),
        Err(AppError::Invalid(errs)) => form_page(&st, ctx, &who, f, &errs, String::new()).await,
        Err(AppError::Conflict(m)) => {
            let general = ctx.t.msg(&m);
            form_page(&st, ctx, &who, f, &[], general).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    shell: Shell,
    r: RequestLine,
    notice: String,
    note: String,
    note_error: String,
}

#[derive(Deserialize, Default)]
pub(super) struct RequestPageQuery {
    sent: Option<String>,
    decided: Option<String>,
    withdrawn: Option<String>,
}

async fn request_view_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    v: RequestView,
    notice: String,
    note: String,
    note_error: String,
) -> Result<Response, AppError> {
    let failed = !note_error.is_empty();
    let r = lines(st, &ctx.t, vec![v])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let mut resp = render(&RequestPage {
        shell: Shell::new(ctx, st, Some(who)),
        r,
        notice,
        note,
        note_error,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

pub(super) async fn request_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<RequestPageQuery>,
) -> Result<Response, AppError> {
    let v = reqs::get(&st, &who, &id).await?;
    // A bookmarked "sent" page shows the outcome later, not the old message.
    let notice = if q.sent.is_some() && v.status == RequestStatus::Pending {
        ctx.t.get("request.sent").to_string()
    } else if q.decided.is_some() || q.withdrawn.is_some() {
        ctx.t.get("request.saved").to_string()
    } else {
        String::new()
    };
    request_view_page(&st, ctx, &who, v, notice, String::new(), String::new()).await
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn decide_request(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(AppError::invalid(
                "decision",
                tianshan_platform::Msg::new("request.err.decision"),
            ))
        }
    };
    match reqs::decide(&st, &who, &id, approve, &f.note).await {
        Ok(_) => Ok(Redirect::to(&format!("/patient-requests/{id}?decided=1")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let v = reqs::get(&st, &who, &id).await?;
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            request_view_page(&st, ctx, &who, v, String::new(), f.note, msg).await
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn withdraw_request(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    reqs::withdraw(&st, &who, &id).await?;
    Ok(Redirect::to(&format!("/patient-requests/{id}?withdrawn=1")).into_response())
}
