//! Registry pages: patient search, registration and editing, the patient page with its shares,
//! requests to transfer or share a record held elsewhere, the practitioner directory and the
//! organisation tree. Every page goes through the registry's service.
use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::{AppError, Platform};

use crate::service::directory;

mod directory_pages;
mod patients;
mod requests;
mod shares;

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/patients", get(patients::patient_search))
        .route(
            "/patients/new",
            get(patients::new_patient_form).post(patients::create_patient),
        )
        .route("/patients/{id}", get(patients::patient_page))
        .route(
            "/patients/{id}/edit",
            get(patients::edit_patient_form).post(patients::update_patient),
        )
        .route(
            "/patients/{id}/share",
            get(shares::confirm_share).post(shares::share_patient),
        )
        .route("/patients/{id}/unshare", post(shares::unshare_patient))
        .route(
            "/patient-requests",
            get(requests::request_list).post(requests::create_request),
        )
        .route("/patient-requests/new", get(requests::new_request_form))
        .route("/patient-requests/{id}", get(requests::request_page))
        .route(
            "/patient-requests/{id}/decide",
            post(requests::decide_request),
        )
        .route(
            "/patient-requests/{id}/withdraw",
            post(requests::withdraw_request),
        )
        .route("/practitioners", get(directory_pages::practitioner_search))
        .route(
            "/practitioners/{id}",
            get(directory_pages::practitioner_page),
        )
        .route("/orgs", get(directory_pages::org_tree))
}

/// A value and its label in the reader's language, for select boxes.
pub struct Choice {
    pub value: String,
    pub label: String,
}

fn sex_label(t: &Catalog, sex: &str) -> String {
    t.get(&format!("sex.{sex}")).to_string()
}

/// Names of organisations in the reader's language, by code (codes not found keep the code).
async fn org_names(
    st: &Platform,
    t: &Catalog,
    codes: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, AppError> {
    let mut codes: Vec<String> = codes.into_iter().collect();
    codes.sort();
    codes.dedup();
    let mut names: HashMap<String, String> = codes.iter().map(|c| (c.clone(), c.clone())).collect();
    for o in directory::orgs_by_codes(st, &codes).await? {
        names.insert(o.code.clone(), o.name(t.locale).to_string());
    }
    Ok(names)
}

/// A timestamp as a person reads it: `2026-11-22 07:21` (UTC, as stored).
fn when(ts: &str) -> String {
    let s = ts.replace('T', " ");
    s.chars().take(16).collect()
}
