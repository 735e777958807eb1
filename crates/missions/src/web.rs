//! The missions module's pages: the coordinator's board (needs and offers side by side, ranked,
//! converted in one click), the need and offer forms, the mission page with its day-log form
//! (kept across a dropped connection), the mission report (page and CSV) and the mentorship
//! page where the mentor signs off competencies. All go through the module's service.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::tabular;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};
use tianshan_registry::facade;

use crate::domain::{
    ActivityInput, ConvertInput, NeedInput, OfferInput, SignOffInput, ACTIVITY_KINDS,
    MISSION_KINDS, NEED_KINDS, PRIORITIES,
};
use crate::service::missions::{self, Report};
use crate::service::needs::{self, BoardLine};
use crate::service::{perms, talent};
use crate::store::{ActivityRow, MentorshipRow, MissionRow, NeedRow};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/missions", get(home))
        .route("/missions/needs/new", get(need_form).post(post_need))
        .route("/missions/offers/new", get(offer_form).post(post_offer))
        .route("/missions/needs/{id}/convert", post(convert))
        .route("/missions/m/{id}", get(mission_page))
        .route("/missions/m/{id}/activities", post(post_activity))
        .route("/missions/m/{id}/report", get(report_page))
        .route("/missions/m/{id}/report.csv", get(report_csv))
        .route("/missions/mentorships/{id}", get(mentorship_page))
        .route("/missions/mentorships/{id}/sign/{milestone}", post(sign))
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

fn choices(t: &Catalog, prefix: &str, values: &[&str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v.to_string(),
            label: t.get(&format!("{prefix}.{v}")).to_string(),
        })
        .collect()
}

fn label(t: &Catalog, prefix: &str, v: &str) -> String {
    t.get(&format!("{prefix}.{v}")).to_string()
}

async fn org_names(
    st: &Platform,
    t: &Catalog,
    codes: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, AppError> {
    let mut codes: Vec<String> = codes.into_iter().collect();
    codes.sort();
    codes.dedup();
    let mut names: HashMap<String, String> = codes.iter().map(|c| (c.clone(), c.clone())).collect();
    let found = facade::orgs(st, &codes).await?;
    // A department reads with its hospital: 神经内科 alone says nothing.
    let parents: Vec<String> = found
        .iter()
        .filter(|o| o.kind == "department")
        .filter_map(|o| o.parent_code.clone())
        .collect();
    let pnames: HashMap<String, String> = facade::orgs(st, &parents)
        .await?
        .into_iter()
        .map(|o| (o.code.clone(), o.name(t.locale).to_string()))
        .collect();
    for o in found {
        let own = o.name(t.locale).to_string();
        let full = match o.parent_code.as_ref().and_then(|p| pnames.get(p)) {
            Some(p) if o.kind == "department" => format!("{p} · {own}"),
            _ => own,
        };
        names.insert(o.code, full);
    }
    Ok(names)
}

/// Organisations the caller acts for, for a form's chooser (departments included).
async fn own_orgs(st: &Platform, who: &Principal, t: &Catalog) -> Result<Vec<Choice>, AppError> {
    let nodes = facade::scope_orgs(st, who, 3000).await?;
    let names = org_names(st, t, nodes.iter().map(|o| o.code.clone())).await?;
    Ok(nodes
        .iter()
        .filter(|o| {
            matches!(
                o.kind.as_str(),
                "hospital" | "clinic" | "department" | "rear_hospital"
            )
        })
        .map(|o| Choice {
            value: o.code.clone(),
            label: names
                .get(&o.code)
                .cloned()
                .unwrap_or_else(|| o.code.clone()),
        })
        .collect())
}

fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = HashMap::new();
    for e in errs {
        m.entry(e.field.clone())
            .and_modify(|s| {
                s.push(' ');
                s.push_str(&t.msg(&e.msg));
            })
            .or_insert_with(|| t.msg(&e.msg));
    }
    m
}

/// Field errors of a refused form, or the error itself.
fn form_errors(e: AppError) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Invalid(f) => Ok(f),
        other => Err(other),
    }
}

fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

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

fn mission_lines(
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
    needs: Vec<NeedLine>,
    kinds: Vec<Choice>,
    missions: Vec<MissionLine>,
    mentorships: Vec<MentorLine>,
}

fn need_line(t: &Catalog, names: &HashMap<String, String>, n: &NeedRow, age: i64) -> NeedLine {
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

async fn home(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let t = &ctx.t;
    let can_plan = who.can(perms::PLAN);
    let board: Vec<BoardLine> = if can_plan {
        needs::board(&st, &who).await?
    } else {
        let today = crate::service::today(&st);
        needs::needs(&st, &who, false)
            .await?
            .into_iter()
            .map(|n| BoardLine {
                age_days: crate::domain::age_days(&n.posted_at, today),
                need: n,
                matches: Vec::new(),
            })
            .collect()
    };
    let ms = missions::list(&st, &who).await?;
    let mentors: Vec<MentorshipRow> = talent::mentorships(&st, &who).await?;
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
        needs,
        missions,
        mentorships,
    })
}

#[derive(Deserialize)]
struct ConvertForm {
    offer_id: String,
    kind: String,
}

async fn convert(
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

async fn need_page(
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

async fn need_form(
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

async fn post_need(
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

async fn offer_page(
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

async fn offer_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    offer_page(&st, ctx, &who, OfferInput::default(), &[]).await
}

async fn post_offer(
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

// ---- the mission page and its day log

pub struct ActivityLine {
    pub day: String,
    pub kind: String,
    pub topic: String,
    pub count: i64,
    pub people: String,
    pub note: String,
}

fn activity_lines(t: &Catalog, acts: &[ActivityRow]) -> Vec<ActivityLine> {
    acts.iter()
        .map(|a| ActivityLine {
            day: a.day.clone(),
            kind: label(t, "missions.akind", &a.kind),
            topic: a.topic.clone(),
            count: a.count,
            people: a.people.clone(),
            note: a.note.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "missions_mission.html")]
struct MissionPage {
    shell: Shell,
    m: MissionLine,
    team: String,
    can_record: bool,
    activities: Vec<ActivityLine>,
    kinds: Vec<Choice>,
    f: ActivityForm,
    errors: HashMap<String, String>,
    from_server: bool,
    saved: bool,
}

impl MissionPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
struct ActivityForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn mission_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    f: ActivityForm,
    errs: &[FieldError],
    saved: bool,
) -> Result<Response, AppError> {
    let (m, acts) = missions::activities(st, who, id).await?;
    let names = org_names(st, &ctx.t, [m.site_code.clone(), m.lead_code.clone()]).await?;
    let from_server = !errs.is_empty();
    let page = MissionPage {
        m: mission_lines(&ctx.t, &names, std::slice::from_ref(&m)).remove(0),
        team: m.team.clone(),
        can_record: who.can(perms::RECORD),
        activities: activity_lines(&ctx.t, &acts),
        kinds: choices(&ctx.t, "missions.akind", &ACTIVITY_KINDS),
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
        f: if from_server {
            f
        } else {
            ActivityForm {
                day: m.starts_on.clone(),
                ..Default::default()
            }
        },
        from_server,
        saved,
    };
    render(&page)
}

async fn mission_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, AppError> {
    mission_view(
        &st,
        ctx,
        &who,
        &id,
        ActivityForm::default(),
        &[],
        q.saved.is_some(),
    )
    .await
}

async fn post_activity(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ActivityForm>,
) -> Result<Response, AppError> {
    let count = if f.count.trim().is_empty() {
        Ok(0)
    } else {
        f.count.trim().parse::<i64>()
    };
    let result = match count {
        Ok(count) => {
            let input = ActivityInput {
                day: f.day.clone(),
                kind: f.kind.clone(),
                topic: f.topic.clone(),
                count,
                people: f.people.clone(),
                note: f.note.clone(),
            };
            missions::record(&st, &who, &id, &input).await.map(|_| ())
        }
        Err(_) => Err(AppError::invalid(
            "count",
            tianshan_platform::Msg::new("missions.err.count"),
        )),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/missions/m/{id}?saved=1")).into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(
                mission_view(&st, ctx, &who, &id, f, &errs, false).await?,
            ))
        }
    }
}

// ---- the report

pub struct TotalLine {
    pub kind: String,
    pub entries: usize,
    pub count: i64,
}

pub struct ApprenticeLine {
    pub id: String,
    pub trainee: String,
    pub post: String,
    pub mentor: String,
    pub progress: String,
}

#[derive(Template)]
#[template(path = "missions_report.html")]
struct ReportPage {
    shell: Shell,
    m: MissionLine,
    need: String,
    team: Vec<String>,
    days: String,
    totals: Vec<TotalLine>,
    techniques: Vec<String>,
    people: Vec<String>,
    agreements: Vec<String>,
    apprentices: Vec<ApprenticeLine>,
    activities: Vec<ActivityLine>,
}

async fn report_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let r: Report = missions::report(&st, &who, &id).await?;
    let t = &ctx.t;
    let names = org_names(
        &st,
        t,
        [r.mission.site_code.clone(), r.mission.lead_code.clone()],
    )
    .await?;
    let page = ReportPage {
        m: mission_lines(t, &names, std::slice::from_ref(&r.mission)).remove(0),
        need: r
            .need
            .as_ref()
            .map(|n| format!("{} · {}", label(t, "missions.need_kind", &n.kind), n.topic))
            .unwrap_or_default(),
        team: r.team.clone(),
        days: t.fmt(
            "missions.report.days",
            &[
                ("logged", &r.days_logged.to_string()),
                ("planned", &r.days_planned.to_string()),
            ],
        ),
        totals: r
            .totals
            .iter()
            .map(|(k, v)| TotalLine {
                kind: label(t, "missions.akind", k),
                entries: v.entries,
                count: v.count,
            })
            .collect(),
        techniques: r.techniques.clone(),
        people: r.people_trained.clone(),
        agreements: r.agreements.clone(),
        apprentices: r
            .apprentices
            .iter()
            .map(|a| ApprenticeLine {
                id: a.mentorship_id.clone(),
                trainee: a.trainee_name.clone(),
                post: a.trainee_post.clone(),
                mentor: a.mentor_name.clone(),
                progress: format!("{}/{}", a.signed, a.total),
            })
            .collect(),
        activities: activity_lines(t, &r.activities),
        shell: Shell::new(ctx, &st, Some(&who)),
    };
    render(&page)
}

/// The report as CSV: one section of rows per part (figures, techniques, people trained).
async fn report_csv(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let r = missions::report(&st, &who, &id).await?;
    let t = &ctx.t;
    let mut rows: Vec<Vec<String>> = vec![
        vec!["mission".into(), r.mission.title.clone(), String::new()],
        vec![
            "period".into(),
            format!("{} – {}", r.mission.starts_on, r.mission.ends_on),
            String::new(),
        ],
        vec![
            "days_logged".into(),
            r.days_logged.to_string(),
            r.days_planned.to_string(),
        ],
    ];
    for (k, v) in &r.totals {
        rows.push(vec![
            format!("total.{k}"),
            v.count.to_string(),
            v.entries.to_string(),
        ]);
    }
    for s in &r.techniques {
        rows.push(vec!["technique".into(), s.clone(), String::new()]);
    }
    for s in &r.people_trained {
        rows.push(vec!["trained".into(), s.clone(), String::new()]);
    }
    for s in &r.agreements {
        rows.push(vec!["agreement".into(), s.clone(), String::new()]);
    }
    for a in &r.apprentices {
        rows.push(vec![
            "apprentice".into(),
            a.trainee_name.clone(),
            format!("{}/{}", a.signed, a.total),
        ]);
    }
    let headers = [
        t.get("missions.report.csv_item"),
        t.get("missions.report.csv_value"),
        t.get("missions.report.csv_more"),
    ];
    Ok(tabular::download(
        "mission-report.csv",
        tabular::CSV_TYPE,
        tabular::to_csv(&headers, &rows),
    ))
}

// ---- mentorship

pub struct MilestoneLine {
    pub id: String,
    pub position: i64,
    pub competency: String,
    pub signed_on: String,
    pub evidence: String,
}

#[derive(Template)]
#[template(path = "missions_mentorship.html")]
struct MentorshipPage {
    shell: Shell,
    id: String,
    trainee: String,
    post: String,
    org: String,
    mentor: String,
    goals: String,
    period: String,
    progress: String,
    is_mentor: bool,
    today: String,
    milestones: Vec<MilestoneLine>,
    error: String,
}

async fn mentorship_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    error: String,
) -> Result<Response, AppError> {
    let v = talent::mentorship(st, who, id).await?;
    let m = &v.mentorship;
    let names = org_names(st, &ctx.t, [m.trainee_code.clone()]).await?;
    let page = MentorshipPage {
        id: m.id.clone(),
        trainee: m.trainee_name.clone(),
        post: m.trainee_post.clone(),
        org: names.get(&m.trainee_code).cloned().unwrap_or_default(),
        mentor: m.mentor_name.clone(),
        goals: m.goals.clone(),
        period: format!("{} – {}", m.starts_on, m.ends_on),
        progress: format!("{}/{}", v.signed, v.milestones.len()),
        is_mentor: v.is_mentor,
        today: crate::service::today(st).to_string(),
        milestones: v
            .milestones
            .iter()
            .map(|s| MilestoneLine {
                id: s.id.clone(),
                position: s.position,
                competency: s.competency.clone(),
                signed_on: s.signed_on.clone().unwrap_or_default(),
                evidence: s.evidence.clone(),
            })
            .collect(),
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn mentorship_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    mentorship_view(&st, ctx, &who, &id, String::new()).await
}

async fn sign(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path((id, milestone)): Path<(String, String)>,
    Form(f): Form<SignOffInput>,
) -> Result<Response, AppError> {
    match talent::sign_off(&st, &who, &id, &milestone, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/missions/mentorships/{id}")).into_response()),
        Err(e) => {
            let errs = form_errors(e)?;
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            Ok(unprocessable(
                mentorship_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
    }
}
