//! Measures of the network's consultations (time to accept, time to answer, share answered
//! within target, volume by specialty, facility and month, open-loop referrals) and the CSV or
//! XLSX export of cases for reporting (no patient identity in it).
use std::collections::BTreeMap;

use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::clock::parse_timestamp;
use tianshan_platform::{tabular, AppError, Platform};
use utoipa::ToSchema;

use crate::domain::ReferralStatus;
use crate::service::{perms, ENTITY};
use crate::store::{self, CaseRow};

/// Most cases a report reads.
const REPORT_LIMIT: i64 = 100_000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Count {
    pub key: String,
    pub cases: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measures {
    pub cases: i64,
    pub open: i64,
    pub answered: i64,
    /// Percent of answered cases answered within their target.
    pub answered_within_target_pct: Option<f64>,
    pub median_minutes_to_accept: Option<i64>,
    pub median_minutes_to_answer: Option<i64>,
    pub escalated: i64,
    pub by_specialty: Vec<Count>,
    pub by_facility: Vec<Count>,
    pub by_month: Vec<Count>,
    pub referrals: i64,
    pub open_loop_referrals: i64,
}

fn minutes(a: &str, b: Option<&str>) -> Option<i64> {
    let (a, b) = (parse_timestamp(a)?, parse_timestamp(b?)?);
    Some((b - a).whole_minutes())
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn counts(m: BTreeMap<String, i64>) -> Vec<Count> {
    m.into_iter()
        .map(|(key, cases)| Count { key, cases })
        .collect()
}

pub async fn measures(st: &Platform, who: &Principal) -> Result<Measures, AppError> {
    who.require(perms::COORDINATE)?;
    let rows = store::cases_in(&st.db, &who.scope, REPORT_LIMIT).await?;
    let (mut spec, mut fac, mut month) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut to_accept, mut to_answer) = (Vec::new(), Vec::new());
    let (mut answered, mut within, mut open, mut escalated) = (0, 0, 0, 0);
    for r in &rows {
        *spec.entry(r.specialty.clone()).or_insert(0) += 1;
        *fac.entry(r.from_code.clone()).or_insert(0) += 1;
        *month
            .entry(r.filed_at.chars().take(7).collect())
            .or_insert(0) += 1;
        if r.status != "acknowledged" {
            open += 1;
        }
        if r.escalated_at.is_some() {
            escalated += 1;
        }
        to_accept.extend(minutes(&r.filed_at, r.accepted_at.as_deref()));
        if let Some(a) = &r.answered_at {
            answered += 1;
            if a.as_str() <= r.due_at.as_str() {
                within += 1;
            }
            to_answer.extend(minutes(&r.filed_at, Some(a)));
        }
    }
    let refs = store::referrals_in(&st.db, &who.scope, REPORT_LIMIT).await?;
    let now = st.clock.now();
    let open_loops = refs
        .iter()
        .filter(|r| {
            ReferralStatus::parse(&r.status)
                .is_some_and(|s| crate::referrals::is_open_loop(s, &r.due_at, now))
        })
        .count();
    Ok(Measures {
        cases: rows.len() as i64,
        open,
        answered,
        answered_within_target_pct: (answered > 0)
            .then(|| (within as f64 * 1000.0 / answered as f64).round() / 10.0),
        median_minutes_to_accept: median(to_accept),
        median_minutes_to_answer: median(to_answer),
        escalated,
        by_specialty: counts(spec),
        by_facility: counts(fac),
        by_month: counts(month),
        referrals: refs.len() as i64,
        open_loop_referrals: open_loops as i64,
    })
}

pub const EXPORT_HEADERS: &[&str] = &[
    "id",
    "filed_at",
    "kind",
    "urgency",
    "specialty",
    "status",
    "from_code",
    "target_kind",
    "target_code",
    "assignee",
    "due_at",
    "accepted_at",
    "answered_at",
    "minutes_to_accept",
    "minutes_to_answer",
    "within_target",
    "escalated_at",
    "rating",
];

fn export_row(r: &CaseRow) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    vec![
        r.id.clone(),
        r.filed_at.clone(),
        r.kind.clone(),
        r.urgency.clone(),
        r.specialty.clone(),
        r.status.clone(),
        r.from_code.clone(),
        r.target_kind.clone(),
        r.target_code.clone(),
        r.assignee.clone(),
        r.due_at.clone(),
        opt(&r.accepted_at),
        opt(&r.answered_at),
        num(minutes(&r.filed_at, r.accepted_at.as_deref())),
        num(minutes(&r.filed_at, r.answered_at.as_deref())),
        match &r.answered_at {
            Some(a) => (a.as_str() <= r.due_at.as_str()).to_string(),
            None => String::new(),
        },
        opt(&r.escalated_at),
        num(r.rating),
    ]
}

/// The cases of the caller's scope as a CSV or XLSX file (audited as an export).
pub async fn export(
    st: &Platform,
    who: &Principal,
    xlsx: bool,
) -> Result<axum::response::Response, AppError> {
    who.require(perms::COORDINATE)?;
    let rows = store::cases_in(&st.db, &who.scope, REPORT_LIMIT).await?;
    let table: Vec<Vec<String>> = rows.iter().map(export_row).collect();
    let detail = format!("{} cases", table.len());
    st.audit(who, Event::new(Action::EXPORT, ENTITY, "").detail(&detail))
        .await?;
    Ok(if xlsx {
        tabular::download(
            "consult-cases.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            tabular::to_xlsx("cases", EXPORT_HEADERS, &table)?,
        )
    } else {
        tabular::download(
            "consult-cases.csv",
            "text/csv; charset=utf-8",
            tabular::to_csv(EXPORT_HEADERS, &table),
        )
    })
}
