//! The coordinator's board (needs and their best offers side by side, planned in one action)
//! and the need and offer forms.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};

use super::{choices, error_map, form_errors, label, org_names, own_orgs, unprocessable, Choice};

use crate::domain::{ConvertInput, NeedInput, OfferInput, MISSION_KINDS, NEED_KINDS, PRIORITIES};
use crate::service::needs::{self, BoardLine};
use crate::service::{missions, perms, talent};
use crate::store::{MentorshipRow, MissionRow, NeedRow};

// ---- the board

pub struct NeedLine {
    pub id: String,
    pub org: String,
    pub kind: String,
    pub specialty: String,
    pub topic: String,
    pub priority: String,
    pub priority_label: String,
    pub period: String,
    pub reason: String,
    pub age_days: i64,
    pub status: String,
    pub mission_id: String,
    pub matches: Vec<MatchLine>,
}

pub struct MatchLine {
    pub offer_id: String,
    pub org: String,
    pub expert: String,
    pub topic: String,
    pub period: String,
    pub score: u32,
    pub why: String,
}

pub struct MissionLine {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub site: String,
    pub lead: String,
    pub period: String,
}

pub(super) fn mission_lines(
    t: &Catalog,
    names: &HashMap<String, String>,
    ms: &[MissionRow],
) -> Vec<MissionLine> {
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    ms.iter()
        .map(|m| MissionLine {
            id: m.id.clone(),
            title: m.title.clone(),
            kind: label(t, "missions.mkind", &m.kind),
            site: name(&m.site_code),
            lead: name(&m.lead_code),
            period: format!("{} – {}", m.starts_on, m.ends_on),
        })
        .collect()
}

pub struct MentorLine {
    pub id: String,
    pub trainee: String,
    pub mentor: String,
    pub org: String,
}

#[derive(Template)]
#[template(path = "missions_home.html")]
struct HomePage {
    shell: Shell,
    can_plan: bool,
    can_post: bool,
    can_mentor: bool,
    needs: Vec<NeedLine>,
    kinds: Vec<Choice>,
    missions: Vec<MissionLine>,
    mentorships: Vec<MentorLine>,
    /// Said when a list is cut to the page's rows.
    more: String,
}

pub(super) fn need_line(
    t: &Catalog,
    names: &HashMap<String, String>,
    n: &NeedRow,
    age: i64,
) -> NeedLine {
    NeedLine {
        id: n.id.clone(),
        org: names
            .get(&n.org_code)
            .cloned()
            .unwrap_or_else(|| n.org_code.clone()),
        kind: label(t, "missions.need_kind", &n.kind),
        specialty: n.specialty.clone(),
        topic: n.topic.clone(),
        priority: n.priority.clone(),
        priority_label: label(t, "missions.priority", &n.priority),
        period: format!("{} – {}", n.wanted_from, n.wanted_to),
        reason: n.reason.clone(),
        age_days: age,
        status: label(t, "missions.status", &n.status),
        mission_id: n.mission_id.clone().unwrap_or_default(),
        matches: Vec::new(),
    }
}

pub(super) async fn home(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let t = &ctx.t;
    let can_plan = who.can(perms::PLAN);
    // A phone on a slow link gets the most urgent rows; the rest are in the exports and API.
    let (board, total): (Vec<BoardLine>, usize) = if can_plan {
        needs::board_top(&st, &who, PAGE_ROWS).await?
    } else {
        let today = crate::service::today(&st);
        let all = needs::needs(&st, &who, false).await?;
        let total = all.len();
        let lines = all
            .into_iter()
            .take(PAGE_ROWS)
            .map(|n| BoardLine {
                age_days: crate::domain::age_days(&n.posted_at, today),
                need: n,
                matches: Vec::new(),
            })
            .collect();
        (lines, total)
    };
    let mut ms = missions::list(&st, &who).await?;
    let mut mentors: Vec<MentorshipRow> = talent::mentorships(&st, &who).await?;
    let more = if total > board.len() || ms.len() > PAGE_ROWS || mentors.len() > PAGE_ROWS {
        t.fmt("missions.page_rows", &[("n", &PAGE_ROWS.to_string())])
    } else {
        String::new()
    };
    ms.truncate(PAGE_ROWS);
    mentors.truncate(PAGE_ROWS);
    let codes = board
        .iter()
        .flat_map(|b| {
            let mut c = vec![b.need.org_code.clone()];
            c.extend(b.matches.iter().map(|m| m.offer.org_code.clone()));
            c
        })
        .chain(
            ms.iter()
                .flat_map(|m| [m.site_code.clone(), m.lead_code.clone()]),
        )
        .chain(mentors.iter().map(|m| m.trainee_code.clone()))
        .collect::<Vec<_>>();
    let names = org_names(&st, t, codes).await?;
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let needs = board
        .iter()
        .map(|b| {
            let mut l = need_line(t, &names, &b.need, b.age_days);
            l.matches = b
                .matches
                .iter()
                .map(|m| {
                    let mut why = Vec::new();
                    if m.fit.specialty {
                        why.push(t.get("missions.why.specialty").to_string());
                    }
                    if m.fit.topic {
                        why.push(t.get("missions.why.topic").to_string());
                    }
                    if m.fit.overlap_days > 0 {
                        why.push(t.fmt(
                            "missions.why.days",
                            &[("n", &m.fit.overlap_days.to_string())],
                        ));
                    }
                    if m.fit.past_missions > 0 {
                        why.push(t.fmt(
                            "missions.why.past",
                            &[("n", &m.fit.past_missions.to_string())],
                        ));
                    }
                    MatchLine {
                        offer_id: m.offer.id.clone(),
                        org: name(&m.offer.org_code),
                        expert: m.offer.expert.clone(),
                        topic: m.offer.topic.clone(),
                        period: format!("{} – {}", m.offer.available_from, m.offer.available_to),
                        score: m.fit.score,
                        why: why.join(" · "),
                    }
                })
                .collect();
            l
        })
        .collect();
    let missions = mission_lines(t, &names, &ms);
    let mentorships = mentors
        .iter()
        .map(|m| MentorLine {
            id: m.id.clone(),
            trainee: m.trainee_name.clone(),
            mentor: m.mentor_name.clone(),
            org: name(&m.trainee_code),
        })
        .collect();
    render(&HomePage {
        kinds: choices(t, "missions.mkind", &MISSION_KINDS),
        shell: Shell::new(ctx, &st, Some(&who)),
        can_plan,
        can_post: who.can(perms::POST),
        can_mentor: who.can(perms::MENTOR) || who.can(perms::PLAN),
        needs,
        missions,
        mentorships,
        more,
    })
}

/// Rows of each list the board page shows.
const PAGE_ROWS: usize = 100;

#[derive(Deserialize)]
pub(super) struct ConvertForm {
    pub offer_id: String,
    pub kind: String,
}

pub(super) async fn convert(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ConvertForm>,
) -> Result<Response, AppError> {
    let input = ConvertInput {
        offer_id: f.offer_id,
        kind: f.kind,
        ..Default::default()
    };
    let m = needs::convert(&st, &who, &id, &input).await?;
    Ok(Redirect::to(&format!("/missions/m/{}", m.id)).into_response())
}

// ---- need and offer forms

#[derive(Template)]
#[template(path = "missions_need_form.html")]
struct NeedFormPage {
    shell: Shell,
    f: NeedInput,
    orgs: Vec<Choice>,
    kinds: Vec<Choice>,
    priorities: Vec<Choice>,
    errors: HashMap<String, String>,
}

impl NeedFormPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

pub(super) async fn need_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: NeedInput,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    who.require(perms::POST)?;
    let page = NeedFormPage {
        orgs: own_orgs(st, who, &ctx.t).await?,
        kinds: choices(&ctx.t, "missions.need_kind", &NEED_KINDS),
        priorities: choices(&ctx.t, "missions.priority", &PRIORITIES),
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
        f,
    };
    render(&page)
}

pub(super) async fn need_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let f = NeedInput {
        priority: "normal".into(),
        ..Default::default()
    };
    need_page(&st, ctx, &who, f, &[]).await
}

pub(super) async fn post_need(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<NeedInput>,
) -> Result<Response, AppError> {
    match needs::post_need(&st, &who, &f).await {
        Ok(_) => Ok(Redirect::to("/missions").into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(need_page(&st, ctx, &who, f, &errs).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "missions_offer_form.html")]
struct OfferFormPage {
    shell: Shell,
    f: OfferInput,
    orgs: Vec<Choice>,
    errors: HashMap<String, String>,
}

impl OfferFormPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

pub(super) async fn offer_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: OfferInput,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    who.require(perms::POST)?;
    let page = OfferFormPage {
        orgs: own_orgs(st, who, &ctx.t).await?,
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
        f,
    };
    render(&page)
}

pub(super) async fn offer_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    offer_page(&st, ctx, &who, OfferInput::default(), &[]).await
}

pub(super) async fn post_offer(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<OfferInput>,
) -> Result<Response, AppError> {
    match needs::post_offer(&st, &who, &f).await {
        Ok(_) => Ok(Redirect::to("/missions").into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(offer_page(&st, ctx, &who, f, &errs).await?))
        }
    }
}
