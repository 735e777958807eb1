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

use crate::domain::team_members;
use crate::service::perms;
use crate::store::MissionRow;

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
    /// Per year and sending hospital (a rear hospital, or the region's own hospital that led
    /// the mission), in `prefecture_code`/`prefecture`; techniques are counted per prefecture
    /// only.
    pub by_sender: Vec<MeasureLine>,
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

/// A mission's day-log entries of one kind, added up by the database.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KindSums {
    pub mission_id: String,
    pub kind: String,
    pub entries: i64,
    /// Sum of the counts.
    pub total: i64,
    /// Sum of the counts, each at least 1 (an operation logged without a count is one).
    pub at_least_one: i64,
}

/// The organisation that sent a mission: a rear hospital or partner (the root of its own
/// tree), or, for a mission led from inside the region, the leading hospital itself.
pub fn sender_of(lead_code: &str, lead_path: &str) -> String {
    let root = lead_path.split('/').find(|s| !s.is_empty()).unwrap_or("");
    if root.chars().all(|c| c.is_ascii_digit()) {
        lead_code.to_string()
    } else {
        root.to_string()
    }
}

/// Add the figures up (pure): missions, their day-log sums by kind, the distinct people
/// lists of training entries (mission id, people) and the techniques' first independent
/// step (organisation path, date).
pub fn build_measures(
    ms: &[MissionRow],
    sums: &[KindSums],
    people: &[(String, String)],
    independent: &[(String, String)],
) -> BTreeMap<(String, String), MeasureLine> {
    let mut out = build_by(ms, sums, people, |m| prefecture_of(&m.site_path));
    for (path, on) in independent {
        let key = (on.get(..4).unwrap_or("").to_string(), prefecture_of(path));
        let l = out.entry(key.clone()).or_default();
        l.techniques_independent += 1;
        (l.year, l.prefecture_code) = key;
    }
    out
}

/// The missions' figures per year and the group `group` names for each mission (pure).
pub fn build_by(
    ms: &[MissionRow],
    sums: &[KindSums],
    people: &[(String, String)],
    group: impl Fn(&MissionRow) -> String,
) -> BTreeMap<(String, String), MeasureLine> {
    let mut out: BTreeMap<(String, String), MeasureLine> = BTreeMap::new();
    let mut trained: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut key_of: std::collections::HashMap<&str, (String, String)> =
        std::collections::HashMap::with_capacity(ms.len());
    for m in ms {
        let key = (m.starts_on.get(..4).unwrap_or("").to_string(), group(m));
        key_of.insert(&m.id, key.clone());
        let l = out.entry(key).or_default();
        l.missions += 1;
        l.experts += team_members(&m.team).len() as i64;
        l.days += crate::domain::overlap_days(&m.starts_on, &m.ends_on, &m.starts_on, &m.ends_on);
    }
    for a in sums {
        let Some(key) = key_of.get(a.mission_id.as_str()) else {
            continue;
        };
        let l = out.entry(key.clone()).or_default();
        match a.kind.as_str() {
            "clinic" => l.patients_seen += a.total,
            "operation" | "technique" => l.operations += a.at_least_one,
            "lecture" | "ward_round" => l.teaching_sessions += a.entries,
            _ => {}
        }
    }
    for (mission_id, list) in people {
        let Some(key) = key_of.get(mission_id.as_str()) else {
            continue;
        };
        let set = trained.entry(key.clone()).or_default();
        for p in team_members(list) {
            set.insert(p);
        }
    }
    for (key, set) in trained {
        out.entry(key).or_default().people_trained += set.len() as i64;
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

/// The day logs of the scope's missions, added up per mission and kind (kept with each write).
async fn sums_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<KindSums>, AppError> {
    let sql = "SELECT a.mission_id, a.kind, a.entries, a.total, a.at_least_one \
               FROM missions_activity_sums a JOIN missions_missions m ON m.id = a.mission_id \
               WHERE (m.site_path >= $1 AND m.site_path < $2) OR (m.lead_path >= $1 AND m.lead_path < $2)";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, KindSums>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

/// The distinct people lists of the scope's training entries.
async fn people_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<(String, String)>, AppError> {
    let sql = "SELECT DISTINCT a.mission_id, a.people FROM missions_activities a \
               JOIN missions_missions m ON m.id = a.mission_id \
               WHERE a.kind IN ('operation', 'ward_round', 'technique') AND a.people <> '' \
               AND ((m.site_path >= $1 AND m.site_path < $2) OR (m.lead_path >= $1 AND m.lead_path < $2))";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, (String, String)>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

/// Each technique of the scope that became independent: its path and the date it first did
/// (evidence added later at the same status does not count again).
async fn independent_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<(String, String)>, AppError> {
    let sql = "SELECT t.org_path, MIN(s.on_date) FROM missions_technique_steps s \
               JOIN missions_techniques t ON t.id = s.technique_id \
               WHERE s.status = 'independent' AND t.org_path >= $1 AND t.org_path < $2 \
               GROUP BY t.id, t.org_path";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, (String, String)>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

pub async fn measures(st: &Platform, who: &Principal) -> Result<Measures, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Measures {
            lines: Vec::new(),
            total: MeasureLine::default(),
            by_sender: Vec::new(),
        });
    }
    let (lo, hi) = who.scope.path_range();
    let ms = missions_in(&st.db, &lo, &hi).await?;
    let sums = sums_in(&st.db, &lo, &hi).await?;
    let people = people_in(&st.db, &lo, &hi).await?;
    let ind = independent_in(&st.db, &lo, &hi).await?;
    let map = build_measures(&ms, &sums, &people, &ind);
    let senders = build_by(&ms, &sums, &people, |m| {
        sender_of(&m.lead_code, &m.lead_path)
    });
    let codes: Vec<String> = map
        .keys()
        .chain(senders.keys())
        .map(|k| k.1.clone())
        .collect();
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
    let by_sender = senders
        .into_values()
        .map(|mut l| {
            l.prefecture = names
                .get(&l.prefecture_code)
                .cloned()
                .unwrap_or_else(|| l.prefecture_code.clone());
            l
        })
        .collect();
    Ok(Measures {
        lines,
        total,
        by_sender,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mission_is_sent_by_its_rear_hospital_or_its_leading_hospital() {
        assert_eq!(
            sender_of("RH-BJ-PUMCH-NEU", "/RH-BJ-PUMCH/RH-BJ-PUMCH-NEU/"),
            "RH-BJ-PUMCH"
        );
        assert_eq!(
            sender_of("650100-H02", "/650000/650100/650100-H02/"),
            "650100-H02"
        );
    }
}
