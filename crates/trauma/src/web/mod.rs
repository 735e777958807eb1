//! The trauma registry's pages: the list with its review tabs, the quick emergency form (large
//! fields, one-tap "now" buttons), the full form, the record page (chain of hospitals, scores,
//! transfer, review) and the indicators with their definitions. All through the service.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;

use crate::domain::{self, InjuryInput, RecordInput, StayInput, MECHANISMS};
use crate::indicators::Indicators;
use crate::service::{self, perms, Query as RecordQuery, RecordView, ReviewInput, TransferInput};
use crate::store::RecordRow;

mod form;
pub(crate) mod record;
mod reports;

use form::{create, edit_form, quick_form, update};
use record::{list_page, record_page, review, transfer};
use reports::{board_page, indicators_page};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/trauma", get(list_page))
        .route("/trauma/new", get(quick_form).post(create))
        .route("/trauma/quick.js", get(quick_js))
        .route("/trauma/indicators", get(indicators_page))
        .route("/trauma/board", get(board_page))
        .route("/trauma/records/{id}", get(record_page))
        .route("/trauma/records/{id}/edit", get(edit_form).post(update))
        .route("/trauma/records/{id}/transfer", post(transfer))
        .route("/trauma/records/{id}/review", post(review))
}

/// Fills a time field with the device's clock, as local China time, on one tap.
const QUICK_JS: &str = r#"document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-now]");
  if (!b) return;
  e.preventDefault();
  var input = document.getElementById(b.getAttribute("data-now"));
  var d = new Date(Date.now() + 8 * 3600 * 1000);
  input.value = d.toISOString().slice(0, 16);
  input.dispatchEvent(new Event("input", { bubbles: true }));
});
"#;

async fn quick_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        QUICK_JS,
    )
        .into_response()
}

/// A stored UTC time as China local time for a `datetime-local` field.
fn local(ts: &str) -> String {
    tianshan_platform::clock::parse_timestamp(ts)
        .and_then(|t| {
            time::UtcOffset::from_hms(8, 0, 0)
                .ok()
                .map(|o| t.to_offset(o))
        })
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

/// Readable local time: `2025-06-01 10:00`.
fn shown(ts: &str) -> String {
    local(ts).replace('T', " ")
}

fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = HashMap::new();
    for e in errs {
        let field = match e.field.as_str() {
            "stays.0.arrived_at" => "arrived_at".to_string(),
            "stays.0.org_code" | "stays" => "org_code".to_string(),
            f if f.starts_with("injuries") => "icd10".to_string(),
            f => f.to_string(),
        };
        m.entry(field)
            .and_modify(|s| {
                s.push(' ');
                s.push_str(&t.msg(&e.msg));
            })
            .or_insert_with(|| t.msg(&e.msg));
    }
    m
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

fn mechanism_choices(t: &Catalog) -> Vec<Choice> {
    MECHANISMS
        .iter()
        .map(|m| Choice {
            value: m.to_string(),
            label: t.get(&format!("trauma.mech.{m}")).to_string(),
        })
        .collect()
}

fn outcome_choices(t: &Catalog) -> Vec<Choice> {
    domain::OUTCOMES
        .iter()
        .map(|o| Choice {
            value: o.to_string(),
            label: t
                .get(&format!(
                    "trauma.outcome.{}",
                    if o.is_empty() { "unknown" } else { o }
                ))
                .to_string(),
        })
        .collect()
}

async fn hospital_choices(
    st: &Platform,
    who: &Principal,
    t: &Catalog,
) -> Result<Vec<Choice>, AppError> {
    Ok(facade::scope_orgs(st, who, 3000)
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind.as_str(), "hospital" | "clinic"))
        .map(|o| Choice {
            label: o.name(t.locale).to_string(),
            value: o.code,
        })
        .collect())
}

/// Network hospitals a patient may be transferred to (any in the network).
async fn transfer_targets(st: &Platform, t: &Catalog) -> Result<Vec<Choice>, AppError> {
    Ok(
        facade::orgs_of_kind(st, &["hospital", "rear_hospital"], 500)
            .await?
            .into_iter()
            .map(|o| Choice {
                label: o.name(t.locale).to_string(),
                value: o.code,
            })
            .collect(),
    )
}
