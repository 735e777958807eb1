//! Expert studios (专家工作室): a named expert's standing studio at a hospital or department.
//! What it did is read from the records, not typed twice: its visits are the missions at the
//! host whose team names the expert, its teaching operations their logged operations, its
//! apprentices the mentorships the expert leads.
mod web;

use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, AppError, Platform};

use crate::domain::{team_members, Check};
use crate::service::missions::{apprentice, Apprentice};
use crate::service::{covers_any, known_org, new_id, own_org, perms, LIST_LIMIT};
use crate::store::{self, ActivityRow, MentorshipRow, MissionRow};

pub use web::{api_routes, page_routes};

pub const STUDIO: &str = "ExpertStudio";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StudioRow {
    pub id: String,
    /// e.g. 吴勤奋神经介入专家工作室.
    pub name: String,
    /// The expert, as written in mission teams and as mentor.
    pub expert_name: String,
    pub specialty: String,
    /// The expert's home hospital or department (a rear hospital, or a Xinjiang one).
    pub home_code: String,
    pub home_path: String,
    /// Where the studio stands.
    pub host_code: String,
    pub host_path: String,
    pub opened_on: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StudioInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expert_name: String,
    #[serde(default)]
    pub specialty: String,
    /// The expert's home organisation (any known one).
    #[serde(default)]
    pub home_code: String,
    /// The host hospital or department, in the caller's own subtree.
    #[serde(default)]
    pub host_code: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub opened_on: String,
}

/// A studio and what the records show it did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudioView {
    pub studio: StudioRow,
    /// Missions at the host with the expert in the team, newest first.
    pub visits: Vec<MissionRow>,
    /// Operations done or taught on those visits.
    pub teaching_operations: Vec<ActivityRow>,
    /// The expert's apprentices and how far each got.
    pub apprentices: Vec<Apprentice>,
}

const COLS: &str = "id, name, expert_name, specialty, home_code, home_path, host_code, host_path, opened_on, created_by, created_at";

pub(crate) async fn insert(tx: &mut Tx, s: &StudioRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_studios (id, name, expert_name, specialty, home_code, home_path, host_code, host_path, opened_on, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(&s.id).bind(&s.name).bind(&s.expert_name).bind(&s.specialty).bind(&s.home_code)
        .bind(&s.home_path).bind(&s.host_code).bind(&s.host_path).bind(&s.opened_on)
        .bind(&s.created_by).bind(&s.created_at))?;
    Ok(())
}

async fn row(db: &Db, id: &str) -> Result<Option<StudioRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM missions_studios WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StudioRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

async fn rows_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<StudioRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM missions_studios WHERE (host_path >= $1 AND host_path < $2) OR (home_path >= $1 AND home_path < $2) ORDER BY opened_on DESC, id LIMIT $3");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StudioRow>(&sql).bind(lo).bind(hi).bind(LIST_LIMIT).fetch_all(pool).await)?,
    )
}

async fn missions_at(db: &Db, lo: &str, hi: &str) -> Result<Vec<MissionRow>, AppError> {
    let sql = "SELECT id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at FROM missions_missions WHERE site_path >= $1 AND site_path < $2 ORDER BY starts_on DESC, id LIMIT 2000";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MissionRow>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn mentorships_of(db: &Db, mentor: &str) -> Result<Vec<MentorshipRow>, AppError> {
    let sql = "SELECT id, mentor_username, mentor_name, mentor_code, mentor_path, trainee_name, trainee_post, trainee_ethnicity, trainee_code, trainee_path, goals, starts_on, ends_on, mission_id, created_by, created_at FROM missions_mentorships WHERE mentor_name = $1 ORDER BY starts_on, id";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MentorshipRow>(sql).bind(mentor).fetch_all(pool).await)?,
    )
}

/// Does a team list name this expert (alone or with their hospital in brackets)?
pub fn names_expert(team: &str, expert: &str) -> bool {
    team_members(team).iter().any(|m| {
        m == expert
            || m.strip_prefix(expert)
                .is_some_and(|rest| rest.starts_with(['（', '(', ' ']))
    })
}

/// Open a studio (needs `missions.plan`; the host in the caller's own subtree).
pub async fn open(
    st: &Platform,
    who: &Principal,
    input: &StudioInput,
) -> Result<StudioRow, AppError> {
    who.require(perms::PLAN)?;
    let mut c = Check::default();
    let name = c.text("name", &input.name, true);
    let expert = c.text("expert_name", &input.expert_name, true);
    let specialty = c.text("specialty", &input.specialty, false);
    let opened = c.date("opened_on", &input.opened_on);
    let mut errs = c.0;
    let home = match known_org(st, "home_code", input.home_code.trim()).await {
        Ok(o) => Some(o),
        Err(AppError::Invalid(mut e)) => {
            errs.append(&mut e);
            None
        }
        Err(e) => return Err(e),
    };
    let host = match own_org(st, who, "host_code", input.host_code.trim()).await {
        Ok(o) => Some(o),
        Err(AppError::Invalid(mut e)) => {
            errs.append(&mut e);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(home), Some(host), Some(opened), true) = (home, host, opened, errs.is_empty()) else {
        return Err(AppError::Invalid(errs));
    };
    let row = StudioRow {
        id: new_id(),
        name,
        expert_name: expert,
        specialty,
        home_code: home.code,
        home_path: home.path,
        host_code: host.code,
        host_path: host.path,
        opened_on: opened.to_string(),
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            insert(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, STUDIO, &row.id).detail(&row.name),
            );
            Ok(row)
        })
    })
    .await
}

/// The studios at or from organisations in the caller's scope.
pub async fn list(st: &Platform, who: &Principal) -> Result<Vec<StudioRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    let (lo, hi) = who.scope.path_range();
    rows_in(&st.db, &lo, &hi).await
}

/// One studio with its visits, teaching operations and apprentices (404 outside the scope;
/// apprentices shown only where the caller sees their mentorship).
pub async fn view(st: &Platform, who: &Principal, id: &str) -> Result<StudioView, AppError> {
    who.require(perms::READ)?;
    let s = match row(&st.db, id).await? {
        Some(s) if covers_any(who, &[&s.host_path, &s.home_path]) => s,
        _ => return Err(AppError::NotFound),
    };
    let hi = format!("{}\u{10FFFF}", s.host_path);
    let visits: Vec<MissionRow> = missions_at(&st.db, &s.host_path, &hi)
        .await?
        .into_iter()
        .filter(|m| names_expert(&m.team, &s.expert_name))
        .collect();
    let mut teaching_operations = Vec::new();
    for m in &visits {
        teaching_operations.extend(
            store::activities(&st.db, &m.id)
                .await?
                .into_iter()
                .filter(|a| matches!(a.kind.as_str(), "operation" | "technique")),
        );
    }
    let mut apprentices = Vec::new();
    for ms in mentorships_of(&st.db, &s.expert_name).await? {
        if covers_any(who, &[&ms.trainee_path, &ms.mentor_path]) {
            apprentices.push(apprentice(st, ms).await?);
        }
    }
    st.audit(who, Event::new(Action::READ, STUDIO, &s.id))
        .await?;
    Ok(StudioView {
        studio: s,
        visits,
        teaching_operations,
        apprentices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expert_is_found_in_a_team_with_or_without_the_hospital() {
        let team = "尹森（山东大学齐鲁医院）\n吴勤奋（新疆医科大学第二附属医院）";
        assert!(names_expert(team, "吴勤奋"));
        assert!(names_expert("吴勤奋、张俊", "吴勤奋"));
        assert!(!names_expert(team, "吴勤"));
        assert!(!names_expert(team, "陈立新"));
    }
}
