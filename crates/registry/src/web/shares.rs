//! Sharing a record from its page: choose the organisation, confirm on a page that names it
//! and says what sharing means, and stop sharing from the list on the patient page.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Msg, Platform};

use crate::service::{self, directory, perms, ReadDetail};

#[derive(Deserialize)]
pub(super) struct ShareForm {
    #[serde(default)]
    org_code: String,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Template)]
#[template(path = "share_confirm.html")]
struct ShareConfirmPage {
    shell: Shell,
    patient_id: String,
    org_code: String,
    question: String,
    button: String,
    abroad: bool,
}

/// The second step of sharing: what it means, for this record and this organisation.
pub(super) async fn confirm_share(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(f): Query<ShareForm>,
) -> Result<Response, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let rec = service::read(&st, &who, &id, ReadDetail::default()).await?;
    if !who.scope.owns(&rec.row.org_path) {
        return Err(AppError::NotFoundBecause(Msg::new(
            "patient.err.shared_read_only",
        )));
    }
    if f.org_code.trim().is_empty() {
        return Err(AppError::invalid("org_code", Msg::new("share.err.choose")));
    }
    let org = directory::org(&st, f.org_code.trim())
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "org_code",
                Msg::new("patient.err.org_unknown").arg("code", f.org_code.trim()),
            )
        })?;
    let org_name = org.name(ctx.t.locale).to_string();
    let question = ctx.t.fmt(
        "share.question",
        &[("name", &rec.row.full_name), ("org", &org_name)],
    );
    let button = ctx.t.fmt("share.confirm", &[("org", &org_name)]);
    render(&ShareConfirmPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        patient_id: id,
        org_code: org.code,
        question,
        button,
        abroad: org.kind == "partner",
    })
}

pub(super) async fn share_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ShareForm>,
) -> Result<Response, AppError> {
    let code = f.org_code.trim();
    if code.is_empty() {
        return Err(AppError::invalid("org_code", Msg::new("share.err.choose")));
    }
    service::share(&st, &who, &id, code).await?;
    Ok(Redirect::to(&format!("/patients/{id}?shared={}", encode(code))).into_response())
}

pub(super) async fn unshare_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ShareForm>,
) -> Result<Response, AppError> {
    let code = f.org_code.trim();
    service::unshare(&st, &who, &id, code).await?;
    Ok(Redirect::to(&format!("/patients/{id}?unshared={}", encode(code))).into_response())
}
