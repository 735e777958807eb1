//! The missions module's pages: the coordinator's board (needs and offers side by side, ranked,
//! converted in one click), the need and offer forms, the mission page with its day-log form
//! (kept across a dropped connection), the mission report (page and CSV) and the mentorship
//! page where the mentor signs off competencies. All go through the module's service.
use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::{AppError, FieldError, Platform};
use tianshan_registry::facade;

mod board;
mod imports;
mod mentorship;
mod mission;
mod requests;

use board::*;
use mentorship::*;
pub(crate) use mission::report_view;
use mission::*;

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/missions", get(home))
        .route("/missions/missions.js", get(script))
        .route("/missions/needs/new", get(need_form).post(post_need))
        .route("/missions/offers/new", get(offer_form).post(post_offer))
        .route("/missions/needs/{id}/convert", post(convert))
        .route("/missions/m/{id}", get(mission_page))
        .route("/missions/m/{id}/activities", post(post_activity))
        .route("/missions/m/{id}/report", get(report_page))
        .route("/missions/m/{id}/report.csv", get(report_csv))
        .route(
            "/missions/mentorships/new",
            get(new_mentorship).post(create_mentorship),
        )
        .route("/missions/mentorships/{id}", get(mentorship_page))
        .route("/missions/mentorships/{id}/sign/{milestone}", post(sign))
        .route(
            "/missions/requests",
            get(requests::requests_page).post(requests::ask),
        )
        .route("/missions/requests/{id}", get(requests::request_page))
        .route("/missions/requests/{id}/answer", post(requests::answer))
        .route("/missions/requests/{id}/done", post(requests::done))
        .route("/missions/staff", get(requests::staff_page))
        .merge(crate::register::page_routes())
        .merge(imports::routes())
        .merge(crate::roster::api::page_routes())
        .merge(crate::handover::page_routes())
        .merge(crate::certificates::page_routes())
        .merge(crate::studios::page_routes())
        .merge(crate::fellowship::page_routes())
}

/// The module's small script (the day-log form across a dropped link), cached for a year
/// under the versioned URL the page uses.
async fn script() -> Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=31536000, immutable",
            ),
        ],
        include_str!("../../static/missions.js"),
    )
        .into_response()
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

pub(crate) fn choices(t: &Catalog, prefix: &str, values: &[&str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v.to_string(),
            label: t.get(&format!("{prefix}.{v}")).to_string(),
        })
        .collect()
}

pub(crate) fn label(t: &Catalog, prefix: &str, v: &str) -> String {
    t.get(&format!("{prefix}.{v}")).to_string()
}

pub(crate) async fn org_names(
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
pub(crate) async fn own_orgs(
    st: &Platform,
    who: &Principal,
    t: &Catalog,
) -> Result<Vec<Choice>, AppError> {
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

pub(crate) fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
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

/// The messages of a refused form, in the reader's language, one after the other.
pub(crate) fn refusal(t: &Catalog, errs: &[FieldError]) -> String {
    errs.iter()
        .map(|e| t.msg(&e.msg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Field errors of a refused form, or the error itself.
pub(crate) fn form_errors(e: AppError) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Invalid(f) => Ok(f),
        other => Err(other),
    }
}

pub(crate) fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}
