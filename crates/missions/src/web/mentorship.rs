//! The mentorship page: competencies and progress; the mentor signs off here.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Platform};

use super::{form_errors, org_names, unprocessable};

use crate::domain::SignOffInput;
use crate::service::talent;

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

pub(super) async fn mentorship_view(
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

pub(super) async fn mentorship_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    mentorship_view(&st, ctx, &who, &id, String::new()).await
}

pub(super) async fn sign(
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
