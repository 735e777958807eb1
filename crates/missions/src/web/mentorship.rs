//! The mentorship page: competencies and progress; the mentor signs off here.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};

use std::collections::HashMap;

use super::{error_map, form_errors, org_names, own_orgs, unprocessable, Choice};
use crate::domain::MentorshipInput;
use crate::service::perms;

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
            let msg = crate::web::refusal(&ctx.t, &errs);
            Ok(unprocessable(
                mentorship_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
    }
}

/// The new-mentorship form as posted: competencies one per line.
#[derive(serde::Deserialize, Default)]
pub(super) struct MentorshipForm {
    #[serde(default)]
    mentor_username: String,
    #[serde(default)]
    mentor_code: String,
    #[serde(default)]
    trainee_name: String,
    #[serde(default)]
    trainee_post: String,
    #[serde(default)]
    trainee_ethnicity: String,
    #[serde(default)]
    trainee_code: String,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    competencies: String,
}

impl MentorshipForm {
    fn input(&self) -> MentorshipInput {
        MentorshipInput {
            mentor_username: self.mentor_username.clone(),
            mentor_code: self.mentor_code.clone(),
            trainee_name: self.trainee_name.clone(),
            trainee_post: self.trainee_post.clone(),
            trainee_ethnicity: self.trainee_ethnicity.clone(),
            trainee_code: self.trainee_code.clone(),
            goals: self.goals.clone(),
            starts_on: self.starts_on.clone(),
            ends_on: self.ends_on.clone(),
            competencies: self.competencies.lines().map(str::to_string).collect(),
            mission_id: None,
        }
    }
}

#[derive(Template)]
#[template(path = "missions_mentorship_form.html")]
struct MentorshipFormPage {
    shell: Shell,
    f: MentorshipForm,
    orgs: Vec<Choice>,
    mentor_orgs: Vec<Choice>,
    /// The professional titles a post may be.
    posts: &'static [&'static str],
    errors: HashMap<String, String>,
}

impl MentorshipFormPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

async fn form_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    f: MentorshipForm,
    errs: &[FieldError],
) -> Result<Response, AppError> {
    if !who.can(perms::MENTOR) && !who.can(perms::PLAN) {
        return Err(AppError::Forbidden);
    }
    let orgs = own_orgs(st, who, &ctx.t).await?;
    let mut mentor_orgs = super::requests::home_orgs(st, &ctx.t).await?;
    mentor_orgs.extend(own_orgs(st, who, &ctx.t).await?);
    let page = MentorshipFormPage {
        posts: &crate::domain::values::TRAINEE_POSTS,
        orgs,
        mentor_orgs,
        errors: error_map(&ctx.t, errs),
        shell: Shell::new(ctx, st, Some(who)),
        f,
    };
    render(&page)
}

pub(super) async fn new_mentorship(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let f = MentorshipForm {
        mentor_username: who.username.clone(),
        ..Default::default()
    };
    form_view(&st, ctx, &who, f, &[]).await
}

pub(super) async fn create_mentorship(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<MentorshipForm>,
) -> Result<Response, AppError> {
    match talent::create_mentorship(&st, &who, &f.input()).await {
        Ok(v) => {
            Ok(Redirect::to(&format!("/missions/mentorships/{}", v.mentorship.id)).into_response())
        }
        Err(e) => {
            let errs = form_errors(e)?;
            Ok(unprocessable(form_view(&st, ctx, &who, f, &errs).await?))
        }
    }
}
