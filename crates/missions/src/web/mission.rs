//! The mission page with its day-log form (kept across a dropped connection) and the mission
//! report as a page and as CSV.
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

use super::{choices, error_map, form_errors, label, org_names, unprocessable, Choice};
use tianshan_platform::tabular;

use super::board::{mission_lines, MissionLine};
use crate::domain::{ActivityInput, ACTIVITY_KINDS};
use crate::service::missions::{self, Report};
use crate::service::perms;
use crate::store::ActivityRow;

// ---- the mission page and its day log

pub struct ActivityLine {
    pub day: String,
    pub kind: String,
    pub topic: String,
    pub count: i64,
    pub people: String,
    pub note: String,
}

pub(super) fn activity_lines(t: &Catalog, acts: &[ActivityRow]) -> Vec<ActivityLine> {
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
pub(super) struct ActivityForm {
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
pub(super) struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(super) async fn mission_view(
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

pub(super) async fn mission_page(
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

pub(super) async fn post_activity(
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
    /// Techniques in the register introduced by this mission: id, name, status.
    registered: Vec<(String, String, String)>,
    certificates: Vec<CertLine>,
    can_issue: bool,
    cert_kinds: Vec<Choice>,
    /// Logged lectures a certificate can be for: id, label.
    lectures: Vec<Choice>,
    issuers: Vec<Choice>,
    error: String,
    /// A fellowship: its completion report (supervisor, outcome, summary, date), or the form.
    is_fellowship: bool,
    completion: Option<(String, String, String, String)>,
    can_complete: bool,
    outcomes: Vec<Choice>,
}

pub struct CertLine {
    pub id: String,
    pub code: String,
    pub kind: String,
    pub holder: String,
    pub title: String,
}

pub(super) async fn report_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    report_view(&st, ctx, &who, &id, String::new()).await
}

/// The report page, with a refusal of the certificate form when there is one.
pub(crate) async fn report_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    error: String,
) -> Result<Response, AppError> {
    let st = st.clone();
    let who = who.clone();
    let r: Report = missions::report(&st, &who, id).await?;
    let t = &ctx.t;
    let certificates = crate::certificates::of(&st, &who, &r.mission.id)
        .await?
        .into_iter()
        .map(|c| CertLine {
            kind: label(t, "missions.cert.title", &c.kind),
            id: c.id,
            code: c.code,
            holder: c.holder_name,
            title: c.title,
        })
        .collect();
    let can_issue = who.can(perms::RECORD);
    let issuers = if can_issue {
        super::own_orgs(&st, &who, t).await?
    } else {
        Vec::new()
    };
    let lectures = r
        .activities
        .iter()
        .filter(|a| a.kind == "lecture")
        .map(|a| Choice {
            value: a.id.clone(),
            label: format!("{} · {}", a.day, a.topic),
        })
        .collect();
    let is_fellowship = r.mission.kind == "fellowship";
    let completion = if is_fellowship {
        crate::fellowship::completion_of(&st.db, &r.mission.id)
            .await?
            .map(|c| {
                (
                    c.supervisor,
                    label(t, "missions.outcome", &c.outcome),
                    c.summary,
                    c.reported_on,
                )
            })
    } else {
        None
    };
    let can_complete = is_fellowship
        && completion.is_none()
        && who.can(perms::RECORD)
        && who.scope.owns(&r.mission.lead_path);
    let registered = crate::register::techniques_of_mission(&st.db, &r.mission.id)
        .await?
        .into_iter()
        .map(|x| {
            let status = label(t, "missions.tstatus", &x.status);
            (x.id, x.technique, status)
        })
        .collect();
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
        registered,
        certificates,
        can_issue,
        cert_kinds: choices(t, "missions.cert.title", &crate::certificates::CERT_KINDS),
        lectures,
        issuers,
        error,
        is_fellowship,
        completion,
        can_complete,
        outcomes: choices(t, "missions.outcome", &crate::fellowship::OUTCOMES),
        shell: Shell::new(ctx, &st, Some(&who)),
    };
    render(&page)
}

/// The report as CSV: one section of rows per part (figures, techniques, people trained).
pub(super) async fn report_csv(
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
