//! The technique register (从无到有、从有到优): a technique introduced at a department, usually
//! by a mission, climbing none → introduced (first case: date, with whom) → independent →
//! excellent, each step dated, signed by who saw it and carrying its evidence: the cases done
//! with aid and by the local team alone, to date. The measures of the aid work are in
//! `measures`, the pages and API in `web`.
mod charts;
mod demo;
mod measures;
mod talent;
mod web;

use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, AppError, FieldError, Msg, Platform};
use utoipa::ToSchema;

use crate::service::{covers_any, missions, new_id, own_org, perms, today};

pub use demo::demo;
pub use measures::{build_measures, KindSums};
pub use web::{api_routes, page_routes, FormatParam};

pub const TECHNIQUE: &str = "Technique";
/// The steps a technique climbs, in order.
pub const STATUSES: [&str; 4] = ["none", "introduced", "independent", "excellent"];
/// Cases by the local team alone before a technique may be called excellent (从有到优).
pub const EXCELLENT_CASES: i64 = 20;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TechniqueRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub technique: String,
    pub mission_id: Option<String>,
    /// `none`, `introduced`, `independent` or `excellent`.
    pub status: String,
    /// The first case (YYYY-MM-DD), once introduced.
    pub first_case_on: Option<String>,
    /// Who the first case was done with (the expert, the hospital).
    pub first_case_with: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct StepRow {
    pub id: String,
    pub technique_id: String,
    pub status: String,
    pub on_date: String,
    pub signed_by: String,
    pub note: String,
    /// Cases done with the aid of visiting or remote experts, to this date.
    pub cases_aided: i64,
    /// Cases done by the local team alone, to this date.
    pub cases_alone: i64,
}

/// A technique with its dated, signed steps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechniqueView {
    pub technique: TechniqueRow,
    pub steps: Vec<StepRow>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TechniqueInput {
    /// The department where it is introduced (in the caller's own subtree).
    #[serde(default)]
    pub org_code: String,
    #[serde(default)]
    pub technique: String,
    /// The mission that introduced it (optional; must be visible to the caller).
    #[serde(default)]
    pub mission_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StepInput {
    /// The next status (`introduced`, `independent`, `excellent`, one step at a time), or the
    /// current one to add evidence.
    #[serde(default)]
    pub status: String,
    /// The date it was reached (YYYY-MM-DD; for `introduced` the first case), not before the
    /// previous step nor in the future.
    #[serde(default)]
    pub on_date: String,
    /// For `introduced`: who the first case was done with.
    #[serde(default)]
    pub first_case_with: String,
    /// Cases done with aid to date (at least 1 from `introduced` on; never down).
    #[serde(default)]
    pub cases_aided: i64,
    /// Cases done by the local team alone to date (at least 1 for `independent`, at least
    /// 20 for `excellent`; never down).
    #[serde(default)]
    pub cases_alone: i64,
    /// The evidence in words (required for `excellent`).
    #[serde(default)]
    pub note: String,
}

const TECH_COLS: &str = "id, org_code, org_path, technique, mission_id, status, first_case_on, first_case_with, created_by, created_at";
const STEP_COLS: &str =
    "id, technique_id, status, on_date, signed_by, note, cases_aided, cases_alone";

pub(crate) async fn techniques_in(
    db: &Db,
    lo: &str,
    hi: &str,
) -> Result<Vec<TechniqueRow>, AppError> {
    let sql = format!("SELECT {TECH_COLS} FROM missions_techniques WHERE org_path >= $1 AND org_path < $2 ORDER BY technique, id LIMIT 2000");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn technique_row(db: &Db, id: &str) -> Result<Option<TechniqueRow>, AppError> {
    let sql = format!("SELECT {TECH_COLS} FROM missions_techniques WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn techniques_of_mission(
    db: &Db,
    mission_id: &str,
) -> Result<Vec<TechniqueRow>, AppError> {
    let sql = format!(
        "SELECT {TECH_COLS} FROM missions_techniques WHERE mission_id = $1 ORDER BY technique, id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(mission_id).fetch_all(pool).await)?,
    )
}

async fn steps(db: &Db, id: &str) -> Result<Vec<StepRow>, AppError> {
    let sql = format!("SELECT {STEP_COLS} FROM missions_technique_steps WHERE technique_id = $1 ORDER BY on_date, id");
    Ok(with_db!(db, pool => sqlx::query_as::<_, StepRow>(&sql).bind(id).fetch_all(pool).await)?)
}

pub async fn insert_technique(tx: &mut Tx, t: &TechniqueRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_techniques (id, org_code, org_path, technique, mission_id, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&t.id).bind(&t.org_code).bind(&t.org_path).bind(&t.technique).bind(&t.mission_id)
        .bind(&t.status).bind(&t.created_by).bind(&t.created_at))?;
    Ok(())
}

/// Add a step and move the technique to its status; `first_case_with` is set with the step
/// that introduces it.
pub async fn insert_step(
    tx: &mut Tx,
    s: &StepRow,
    first_case_with: Option<&str>,
) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_technique_steps (id, technique_id, status, on_date, signed_by, note, cases_aided, cases_alone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&s.id).bind(&s.technique_id).bind(&s.status).bind(&s.on_date).bind(&s.signed_by).bind(&s.note)
        .bind(s.cases_aided).bind(s.cases_alone))?;
    tx_exec!(
        tx,
        sqlx::query("UPDATE missions_techniques SET status = $1 WHERE id = $2")
            .bind(&s.status)
            .bind(&s.technique_id)
    )?;
    if let Some(with) = first_case_with {
        tx_exec!(
            tx,
            sqlx::query(
                "UPDATE missions_techniques SET first_case_on = $1, first_case_with = $2 WHERE id = $3"
            )
            .bind(&s.on_date)
            .bind(with)
            .bind(&s.technique_id)
        )?;
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

// ---- service

pub async fn register(
    st: &Platform,
    who: &Principal,
    input: &TechniqueInput,
) -> Result<TechniqueRow, AppError> {
    who.require(perms::RECORD)?;
    let name = input.technique.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid(
            "technique",
            Msg::new("missions.err.technique_missing"),
        ));
    }
    let org = own_org(st, who, "org_code", input.org_code.trim()).await?;
    let mission_id = match input.mission_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => match missions::get(st, who, id).await {
            Ok(m) => Some(m.id),
            Err(AppError::NotFound) => {
                return Err(AppError::invalid(
                    "mission_id",
                    Msg::new("missions.err.mission_unknown"),
                ))
            }
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let row = TechniqueRow {
        id: new_id(),
        org_code: org.code,
        org_path: org.path,
        technique: name,
        mission_id,
        status: "none".into(),
        first_case_on: None,
        first_case_with: String::new(),
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            insert_technique(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, TECHNIQUE, &row.id).detail(&row.technique),
            );
            Ok(row)
        })
    })
    .await
}

pub async fn technique(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<TechniqueView, AppError> {
    who.require(perms::READ)?;
    match technique_row(&st.db, id).await? {
        Some(t) if covers_any(who, &[&t.org_path]) => {
            let steps = steps(&st.db, &t.id).await?;
            Ok(TechniqueView {
                technique: t,
                steps,
            })
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn techniques(st: &Platform, who: &Principal) -> Result<Vec<TechniqueRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    let (lo, hi) = who.scope.path_range();
    techniques_in(&st.db, &lo, &hi).await
}

/// A step that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedStep {
    pub status: String,
    pub on_date: String,
    /// Set when the step introduces the technique.
    pub first_case_with: Option<String>,
    pub cases_aided: i64,
    pub cases_alone: i64,
}

/// Check a step against the technique's current state (pure): one status up, or the same
/// status with more evidence; the case counts are totals to date and never go down; each
/// status needs its evidence (first case with whom; a case alone; enough cases alone and the
/// evidence written for excellent).
pub fn check_step(
    view: &TechniqueView,
    input: &StepInput,
    today: time::Date,
) -> Result<CheckedStep, Vec<FieldError>> {
    let mut errs = Vec::new();
    let cur = STATUSES
        .iter()
        .position(|s| *s == view.technique.status)
        .unwrap_or(0);
    let next = STATUSES.get(cur + 1).copied();
    let status = input.status.trim();
    let same = cur > 0 && status == STATUSES[cur];
    if Some(status) != next && !same {
        errs.push(FieldError::new(
            "status",
            Msg::new("missions.err.step_order").arg("next", next.unwrap_or("-").to_string()),
        ));
    }
    match parse_date(&input.on_date) {
        None => errs.push(FieldError::new("on_date", Msg::new("missions.err.date"))),
        Some(d) => {
            let last = view.steps.last().and_then(|s| parse_date(&s.on_date));
            if d > today || last.is_some_and(|l| d < l) {
                errs.push(FieldError::new(
                    "on_date",
                    Msg::new("missions.err.step_date"),
                ));
            }
        }
    }
    let (aided, alone) = (input.cases_aided, input.cases_alone);
    let (prev_aided, prev_alone) = view
        .steps
        .last()
        .map(|s| (s.cases_aided, s.cases_alone))
        .unwrap_or((0, 0));
    if aided < prev_aided || alone < prev_alone || aided < 0 || alone < 0 {
        errs.push(FieldError::new(
            "cases_alone",
            Msg::new("missions.err.cases_down"),
        ));
    }
    let with = input.first_case_with.trim();
    let introducing = status == "introduced" && !same;
    if introducing && with.is_empty() {
        errs.push(FieldError::new(
            "first_case_with",
            Msg::new("missions.err.first_case_with"),
        ));
    }
    if status != "none" && aided < 1 {
        errs.push(FieldError::new(
            "cases_aided",
            Msg::new("missions.err.cases_aided"),
        ));
    }
    if status == "independent" && alone < 1 {
        errs.push(FieldError::new(
            "cases_alone",
            Msg::new("missions.err.cases_alone"),
        ));
    }
    if status == "excellent" && (alone < EXCELLENT_CASES || input.note.trim().is_empty()) {
        errs.push(FieldError::new(
            "cases_alone",
            Msg::new("missions.err.cases_excellent").arg("n", EXCELLENT_CASES.to_string()),
        ));
    }
    if errs.is_empty() {
        Ok(CheckedStep {
            status: status.to_string(),
            on_date: input.on_date.trim().to_string(),
            first_case_with: introducing.then(|| with.to_string()),
            cases_aided: aided,
            cases_alone: alone,
        })
    } else {
        Err(errs)
    }
}

/// Sign the next step of a technique (needs `missions.record`, department in one's scope).
pub async fn advance(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &StepInput,
) -> Result<TechniqueView, AppError> {
    let view = technique(st, who, id).await?;
    who.require(perms::RECORD)?;
    let checked = check_step(&view, input, today(st)).map_err(AppError::Invalid)?;
    let step = StepRow {
        id: new_id(),
        technique_id: view.technique.id.clone(),
        status: checked.status,
        on_date: checked.on_date,
        signed_by: who.display_name.clone(),
        note: input.note.trim().to_string(),
        cases_aided: checked.cases_aided,
        cases_alone: checked.cases_alone,
    };
    let with = checked.first_case_with;
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            insert_step(tx, &step, with.as_deref()).await?;
            let detail = format!(
                "{} {} aided {} alone {}",
                step.status, step.on_date, step.cases_aided, step.cases_alone
            );
            tx.record(
                &who2,
                Event::new(Action::UPDATE, TECHNIQUE, &step.technique_id).detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    technique(st, who, id).await
}
