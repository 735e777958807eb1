//! The measures of the aid work per year and prefecture (page, JSON, CSV/XLSX).
use std::collections::{BTreeMap, BTreeSet};

use axum::response::Response;
use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Db;
use tianshan_platform::tabular;
use tianshan_platform::{with_db, AppError, Msg, Platform};
use utoipa::ToSchema;

use super::{independent_steps, techniques_in, TechniqueRow};
use crate::domain::team_members;
use crate::service::perms;
use crate::store::{ActivityRow, MissionRow};

/// One year and prefecture's figures.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct MeasureLine {
    pub year: String,
    pub prefecture_code: String,
    pub prefecture: String,
    pub missions: i64,
    pub experts: i64,
    pub days: i64,
    pub patients_seen: i64,
    pub operations: i64,
    pub teaching_sessions: i64,
    pub people_trained: i64,
    pub techniques_independent: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measures {
    /// Per year and prefecture, oldest year first.
    pub lines: Vec<MeasureLine>,
    /// Sum over all lines.
    pub total: MeasureLine,
}

pub const MEASURE_COLUMNS: [&str; 11] = [
    "year",
    "prefecture_code",
    "prefecture",
    "missions",
    "experts",
    "days",
    "patients_seen",
    "operations",
    "teaching_sessions",
    "people_trained",
    "techniques_independent",
];

/// The prefecture of a materialised path: its second level (`/650000/653100/...` → 653100).
pub fn prefecture_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs.get(1)
        .or(segs.first())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Add the figures up (pure).
pub fn build_measures(
    ms: &[MissionRow],
    acts: &[ActivityRow],
    techs: &[TechniqueRow],
    independent: &[(String, String)],
) -> BTreeMap<(String, String), MeasureLine> {
    let mut out: BTreeMap<(String, String), MeasureLine> = BTreeMap::new();
    let mut trained: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut key_of: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for m in ms {
        let key = (
            m.starts_on.get(..4).unwrap_or("").to_string(),
            prefecture_of(&m.site_path),
        );
        key_of.insert(&m.id, key.clone());
        let l = out.entry(key).or_default();
        l.missions += 1;
        l.experts += team_members(&m.team).len() as i64;
        l.days += crate::domain::overlap_days(&m.starts_on, &m.ends_on, &m.starts_on, &m.ends_on);
    }
    for a in acts {
        let Some(key) = key_of.get(a.mission_id.as_str()) else {
            continue;
        };
        let l = out.entry(key.clone()).or_default();
        match a.kind.as_str() {
            "clinic" => l.patients_seen += a.count,
            "operation" | "technique" => l.operations += a.count.max(1),
            "lecture" | "ward_round" => l.teaching_sessions += 1,
            _ => {}
        }
        if matches!(a.kind.as_str(), "operation" | "ward_round" | "technique") {
            let set = trained.entry(key.clone()).or_default();
            for p in team_members(&a.people) {
                set.insert(p);
            }
        }
    }
    for (key, set) in trained {
        out.entry(key).or_default().people_trained += set.len() as i64;
    }
    let paths: std::collections::HashMap<&str, &str> = techs
        .iter()
        .map(|t| (t.id.as_str(), t.org_path.as_str()))
        .collect();
    for (tid, on) in independent {
        if let Some(path) = paths.get(tid.as_str()) {
            let key = (on.get(..4).unwrap_or("").to_string(), prefecture_of(path));
            out.entry(key).or_default().techniques_independent += 1;
        }
    }
    for ((year, pref), l) in out.iter_mut() {
        l.year = year.clone();
        l.prefecture_code = pref.clone();
    }
    out
}

async fn missions_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<MissionRow>, AppError> {
    let sql = "SELECT id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at FROM missions_missions WHERE (site_path >= $1 AND site_path < $2) OR (lead_path >= $1 AND lead_path < $2)";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MissionRow>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn activities_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<ActivityRow>, AppError> {
    let sql = "SELECT a.id, a.mission_id, a.day, a.kind, a.topic, a.count, a.people, a.note, a.recorded_by, a.recorded_at FROM missions_activities a JOIN missions_missions m ON m.id = a.mission_id WHERE (m.site_path >= $1 AND m.site_path < $2) OR (m.lead_path >= $1 AND m.lead_path < $2)";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ActivityRow>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

pub async fn measures(st: &Platform, who: &Principal) -> Result<Measures, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Measures {
            lines: Vec::new(),
            total: MeasureLine::default(),
        });
    }
    let (lo, hi) = who.scope.path_range();
    let ms = missions_in(&st.db, &lo, &hi).await?;
    let acts = activities_in(&st.db, &lo, &hi).await?;
    let techs = techniques_in(&st.db, &lo, &hi).await?;
    let ind = independent_steps(&st.db).await?;
    let map = build_measures(&ms, &acts, &techs, &ind);
    let codes: Vec<String> = map.keys().map(|k| k.1.clone()).collect();
    let names: BTreeMap<String, String> = tianshan_registry::facade::orgs(st, &codes)
        .await?
        .into_iter()
        .map(|o| {
            (
                o.code.clone(),
                o.name(
                    tianshan_platform::i18n::Locale::parse(&who.locale)
                        .unwrap_or(tianshan_platform::i18n::Locale::En),
                )
                .to_string(),
            )
        })
        .collect();
    let mut total = MeasureLine::default();
    let lines: Vec<MeasureLine> = map
        .into_values()
        .map(|mut l| {
            l.prefecture = names
                .get(&l.prefecture_code)
                .cloned()
                .unwrap_or_else(|| l.prefecture_code.clone());
            total.missions += l.missions;
            total.experts += l.experts;
            total.days += l.days;
            total.patients_seen += l.patients_seen;
            total.operations += l.operations;
            total.teaching_sessions += l.teaching_sessions;
            total.people_trained += l.people_trained;
            total.techniques_independent += l.techniques_independent;
            l
        })
        .collect();
    Ok(Measures { lines, total })
}

fn measure_cells(l: &MeasureLine) -> Vec<String> {
    vec![
        l.year.clone(),
        l.prefecture_code.clone(),
        l.prefecture.clone(),
        l.missions.to_string(),
        l.experts.to_string(),
        l.days.to_string(),
        l.patients_seen.to_string(),
        l.operations.to_string(),
        l.teaching_sessions.to_string(),
        l.people_trained.to_string(),
        l.techniques_independent.to_string(),
    ]
}

pub async fn export_measures(
    st: &Platform,
    who: &Principal,
    format: Option<&str>,
) -> Result<Response, AppError> {
    let m = measures(st, who).await?;
    let rows: Vec<Vec<String>> = m.lines.iter().map(measure_cells).collect();
    st.audit(
        who,
        Event::new(Action::EXPORT, "MissionMeasures", "").detail(&format!("{} lines", rows.len())),
    )
    .await?;
    Ok(match format.unwrap_or("csv") {
        "csv" => tabular::download(
            "measures.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&MEASURE_COLUMNS, &rows),
        ),
        "xlsx" => tabular::download(
            "measures.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("measures", &MEASURE_COLUMNS, &rows)?,
        ),
        _ => return Err(AppError::BadRequest(Msg::new("missions.err.format"))),
    })
}
