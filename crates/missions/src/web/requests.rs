//! Pages for department requests (一人援疆，全科援疆): the list with response times, the ask
//! form, one request with the home department's answer form and the asker's "done"; and the
//! aid staff roster.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};
use tianshan_registry::facade;

use super::{choices, error_map, form_errors, org_names, own_orgs, unprocessable, Choice};
use crate::domain::{LiaisonAnswer, LiaisonInput, LIAISON_KINDS};
use crate::service::talent::{self, LiaisonView};
use crate::service::{missions, perms};

pub struct RequestLine {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub from: String,
    pub home: String,
    pub status: String,
    pub status_label: String,
    pub asked: String,
    pub asked_by: String,
    pub response: String,
    pub answer: String,
    pub answer_dates: String,
    pub answer_people: String,
    pub can_answer: bool,
    pub can_close: bool,
}

async fn lines(
    st: &Platform,
    t: &Catalog,
    views: Vec<LiaisonView>,
) -> Result<Vec<RequestLine>, AppError> {
    let names = org_names(
        st,
        t,
        views
            .iter()
            .flat_map(|v| [v.request.from_code.clone(), v.request.home_code.clone()]),
    )
    .await?;
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    Ok(views
        .into_iter()
        .map(|v| {
            let r = v.request;
            RequestLine {
                kind: t.get(&format!("missions.lkind.{}", r.kind)).to_string(),
                from: name(&r.from_code),
                home: name(&r.home_code),
                status_label: t.get(&format!("missions.lstatus.{}", r.status)).to_string(),
                asked: r.asked_at.replace('T', " ").chars().take(16).collect(),
                response: v
                    .response_hours
                    .map(|h| t.fmt("missions.req.hours", &[("n", &h.to_string())]))
                    .unwrap_or_default(),
                answer_dates: match (&r.answer_from, &r.answer_to) {
                    (Some(a), Some(b)) => format!("{a} – {b}"),
                    _ => String::new(),
                },
                id: r.id,
                subject: r.subject,
                status: r.status,
                asked_by: r.asked_by_name,
                answer: r.answer,
                answer_people: r.answer_people,
                can_answer: v.can_answer,
                can_close: v.can_close,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "missions_requests.html")]
struct RequestsPage {
    shell: Shell,
    requests: Vec<RequestLine>,
    can_ask: bool,
    f: LiaisonInput,
    from_orgs: Vec<Choice>,
    home_orgs: Vec<Choice>,
    kinds: Vec<Choice>,
    errors: HashMap<String, String>,
}

impl RequestsPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

/// Rear hospitals and their departments: where a home department is.
pub(super) async fn home_orgs(st: &Platform, t: &Catalog) -> Result<Vec<Choice>, AppError> {
    let mut codes = Vec::new();
    for h in facade::orgs_of_kind(st, &["rear_hospital"], 200).await? {
        codes.push(h.code.clone());
        codes.extend(
            facade::children(st, &h.code)
                .await?
                .into_iter()
                .map(|c| c.code),
        );
    }
    let names = org_names(st, t, codes.clone()).await?;
    Ok(codes
        .into_iter()
        .map(|c| Choice {
            label: names.get(&c).cloned().unwrap_or_else(|| c.clone()),
            value: c,
        })
        .collect())
}

async fn requests_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: LiaisonInput,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    let views = talent::liaisons(st, who).await?;
    let can_ask = who.can(perms::POST);
    let page = RequestsPage {
        requests: lines(st, &ctx.t, views).await?,
        can_ask,
        from_orgs: if can_ask {
            own_orgs(st, who, &ctx.t).await?
        } else {
            Vec::new()
        },
        home_orgs: if can_ask {
            home_orgs(st, &ctx.t).await?
        } else {
            Vec::new()
        },
        kinds: choices(&ctx.t, "missions.lkind", &LIAISON_KINDS),
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
        f,
    };
    render(&page)
}

pub async fn requests_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    requests_view(&st, ctx, &who, LiaisonInput::default(), &[]).await
}

pub async fn ask(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<LiaisonInput>,
) -> Result<Response, AppError> {
    match talent::ask(&st, &who, &f).await {
        Ok(v) => Ok(Redirect::to(&format!("/missions/requests/{}", v.request.id)).into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(
                requests_view(&st, ctx, &who, f, &errs).await?,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "missions_request.html")]
struct RequestPage {
    shell: Shell,
    r: RequestLine,
    f: LiaisonAnswer,
    errors: HashMap<String, String>,
}

impl RequestPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

async fn request_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    f: LiaisonAnswer,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    let v = talent::liaison(st, who, id).await?;
    let r = lines(st, &ctx.t, vec![v]).await?.remove(0);
    let page = RequestPage {
        r,
        f,
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

pub async fn request_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    request_view(&st, ctx, &who, &id, LiaisonAnswer::default(), &[]).await
}

pub async fn answer(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<LiaisonAnswer>,
) -> Result<Response, AppError> {
    match talent::answer(&st, &who, &id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/missions/requests/{id}")).into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(
                request_view(&st, ctx, &who, &id, f, &errs).await?,
            ))
        }
    }
}

pub async fn done(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    talent::close(&st, &who, &id).await?;
    Ok(Redirect::to(&format!("/missions/requests/{id}")).into_response())
}

pub struct StaffLine {
    pub id: String,
    pub name: String,
    pub batch: String,
    pub specialty: String,
    pub home: String,
    pub post: String,
    pub period: String,
}

#[derive(Template)]
#[template(path = "missions_staff.html")]
struct StaffPage {
    shell: Shell,
    staff: Vec<StaffLine>,
}

pub async fn staff_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let rows = missions::staff(&st, &who).await?;
    let names = org_names(
        &st,
        &ctx.t,
        rows.iter()
            .flat_map(|s| [s.home_code.clone(), s.post_code.clone()]),
    )
    .await?;
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let staff = rows
        .iter()
        .map(|s| StaffLine {
            id: s.id.clone(),
            name: s.full_name.clone(),
            batch: s.batch.clone(),
            specialty: s.specialty.clone(),
            home: name(&s.home_code),
            post: name(&s.post_code),
            period: format!("{} – {}", s.arrived_on, s.leaves_on),
        })
        .collect();
    render(&StaffPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        staff,
    })
}
