//! Missions (专家服务团), fellowships and mentorship engagements: planned directly or from a
//! match, their day-by-day log of what was done, the report of what they left behind, and the
//! aid staff roster.
use std::collections::BTreeMap;

use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::{AppError, FieldError, Platform};

use super::needs::MISSION;
use super::{covers_any, known_org, new_id, own_org, perms, LIST_LIMIT};
use crate::domain::{team_members, ActivityInput, MissionInput, StaffInput};
use crate::store::{self, ActivityRow, MentorshipRow, MissionRow, NeedRow, StaffRow};

pub const ACTIVITY: &str = "MissionActivity";
pub const STAFF: &str = "AidStaff";

pub async fn create(
    st: &Platform,
    who: &Principal,
    input: &MissionInput,
) -> Result<MissionRow, AppError> {
    who.require(perms::PLAN)?;
    let m = input.validate().map_err(AppError::Invalid)?;
    let site = own_org(st, who, "site_code", &m.site_code).await?;
    let lead = known_org(st, "lead_code", &m.lead_code).await?;
    let row = MissionRow {
        id: new_id(),
        kind: m.kind,
        title: m.title,
        site_code: site.code,
        site_path: site.path,
        lead_code: lead.code,
        lead_path: lead.path,
        starts_on: m.starts_on,
        ends_on: m.ends_on,
        need_id: None,
        offer_id: None,
        team: m.team,
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            store::insert_mission(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, MISSION, &row.id).detail(&row.title),
            );
            Ok(row)
        })
    })
    .await
}

/// A mission whose site or leading hospital is in the caller's scope; otherwise NotFound.
pub async fn get(st: &Platform, who: &Principal, id: &str) -> Result<MissionRow, AppError> {
    who.require(perms::READ)?;
    match store::mission(&st.db, id).await? {
        Some(m) if covers_any(who, &[&m.site_path, &m.lead_path]) => Ok(m),
        _ => Err(AppError::NotFound),
    }
}

pub async fn list(st: &Platform, who: &Principal) -> Result<Vec<MissionRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    store::missions(&st.db, &who.scope, LIST_LIMIT).await
}

fn activity_row(who: &Principal, mission_id: &str, a: ActivityInput) -> ActivityRow {
    ActivityRow {
        id: new_id(),
        mission_id: mission_id.to_string(),
        day: a.day,
        kind: a.kind,
        topic: a.topic,
        count: a.count,
        people: a.people,
        note: a.note,
        recorded_by: who.username.clone(),
        recorded_at: String::new(),
    }
}

/// Check activities against the mission; every row's errors together.
pub fn check_activity(
    m: &MissionRow,
    input: &ActivityInput,
) -> Result<ActivityInput, Vec<FieldError>> {
    input.validate(&m.starts_on, &m.ends_on)
}

/// Log one entry of a mission day.
pub async fn record(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    input: &ActivityInput,
) -> Result<ActivityRow, AppError> {
    who.require(perms::RECORD)?;
    let m = get(st, who, mission_id).await?;
    let a = check_activity(&m, input).map_err(AppError::Invalid)?;
    let mut rows = insert_activities(st, who, &m, vec![a]).await?;
    rows.pop().ok_or(AppError::NotFound)
}

/// Write checked entries of one mission in one transaction.
pub async fn insert_activities(
    st: &Platform,
    who: &Principal,
    m: &MissionRow,
    entries: Vec<ActivityInput>,
) -> Result<Vec<ActivityRow>, AppError> {
    let rows: Vec<ActivityRow> = entries
        .into_iter()
        .map(|a| activity_row(who, &m.id, a))
        .collect();
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut out = Vec::with_capacity(rows.len());
            for mut row in rows {
                row.recorded_at = tx.now().to_string();
                store::insert_activity(tx, &row).await?;
                let detail = format!("{} {} {} on {}", row.kind, row.topic, row.count, row.day);
                tx.record(
                    &who2,
                    Event::new(Action::CREATE, ACTIVITY, &row.id).detail(&detail),
                );
                out.push(row);
            }
            Ok(out)
        })
    })
    .await
}

pub async fn activities(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
) -> Result<(MissionRow, Vec<ActivityRow>), AppError> {
    let m = get(st, who, mission_id).await?;
    let a = store::activities(&st.db, &m.id).await?;
    Ok((m, a))
}

/// An apprentice and how far they got.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Apprentice {
    pub mentorship_id: String,
    pub trainee_name: String,
    pub trainee_post: String,
    pub mentor_name: String,
    pub signed: usize,
    pub total: usize,
}

/// What a mission did and what it left behind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub mission: MissionRow,
    /// The need it answers, when made from one.
    pub need: Option<NeedRow>,
    pub team: Vec<String>,
    /// Days with at least one entry, of the days planned.
    pub days_logged: usize,
    pub days_planned: i64,
    /// Entries and their summed counts, by kind.
    pub totals: BTreeMap<String, KindTotal>,
    /// Techniques introduced or operations taught, distinct, in the order first logged.
    pub techniques: Vec<String>,
    /// Local staff named as assisting or attending, distinct.
    pub people_trained: Vec<String>,
    pub agreements: Vec<String>,
    pub apprentices: Vec<Apprentice>,
    pub activities: Vec<ActivityRow>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct KindTotal {
    pub entries: usize,
    pub count: i64,
}

fn push_distinct(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Build the report from the log (pure).
pub fn build_report(
    mission: MissionRow,
    need: Option<NeedRow>,
    activities: Vec<ActivityRow>,
    apprentices: Vec<Apprentice>,
) -> Report {
    let mut totals: BTreeMap<String, KindTotal> = BTreeMap::new();
    let (mut techniques, mut people, mut agreements) = (Vec::new(), Vec::new(), Vec::new());
    let mut days: Vec<&str> = Vec::new();
    for a in &activities {
        let t = totals.entry(a.kind.clone()).or_default();
        t.entries += 1;
        t.count += a.count;
        if !days.contains(&a.day.as_str()) {
            days.push(&a.day);
        }
        match a.kind.as_str() {
            "technique" | "operation" => push_distinct(&mut techniques, &a.topic),
            "agreement" => push_distinct(&mut agreements, &a.topic),
            _ => {}
        }
        // Local staff who assisted at an operation or a ward round; a lecture names its speaker.
        if matches!(a.kind.as_str(), "operation" | "ward_round" | "technique") {
            for p in team_members(&a.people) {
                push_distinct(&mut people, &p);
            }
        }
    }
    for a in &apprentices {
        push_distinct(&mut people, &a.trainee_name);
    }
    let days_logged = days.len();
    let days_planned = crate::domain::overlap_days(
        &mission.starts_on,
        &mission.ends_on,
        &mission.starts_on,
        &mission.ends_on,
    );
    Report {
        team: team_members(&mission.team),
        mission,
        need,
        days_logged,
        days_planned,
        totals,
        techniques,
        people_trained: people,
        agreements,
        apprentices,
        activities,
    }
}

pub async fn report(st: &Platform, who: &Principal, mission_id: &str) -> Result<Report, AppError> {
    let (m, acts) = activities(st, who, mission_id).await?;
    let need = match &m.need_id {
        Some(id) => store::need(&st.db, id).await?,
        None => None,
    };
    let mut apprentices = Vec::new();
    for ms in store::mentorships_of_mission(&st.db, &m.id).await? {
        apprentices.push(apprentice(st, ms).await?);
    }
    Ok(build_report(m, need, acts, apprentices))
}

pub async fn apprentice(st: &Platform, ms: MentorshipRow) -> Result<Apprentice, AppError> {
    let steps = store::milestones(&st.db, &ms.id).await?;
    Ok(Apprentice {
        signed: steps.iter().filter(|s| s.signed_on.is_some()).count(),
        total: steps.len(),
        mentorship_id: ms.id,
        trainee_name: ms.trainee_name,
        trainee_post: ms.trainee_post,
        mentor_name: ms.mentor_name,
    })
}

// ---- aid staff roster

pub async fn add_staff(
    st: &Platform,
    who: &Principal,
    input: &StaffInput,
) -> Result<StaffRow, AppError> {
    who.require(perms::PLAN)?;
    let s = input.validate().map_err(AppError::Invalid)?;
    let post = own_org(st, who, "post_code", &s.post_code).await?;
    let home = known_org(st, "home_code", &s.home_code).await?;
    let row = StaffRow {
        id: new_id(),
        full_name: s.full_name,
        batch: s.batch,
        specialty: s.specialty,
        home_code: home.code,
        home_path: home.path,
        post_code: post.code,
        post_path: post.path,
        arrived_on: s.arrived_on,
        leaves_on: s.leaves_on,
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            store::insert_staff(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, STAFF, &row.id).detail(&row.batch),
            );
            Ok(row)
        })
    })
    .await
}

pub async fn staff(st: &Platform, who: &Principal) -> Result<Vec<StaffRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    store::staff(&st.db, &who.scope, LIST_LIMIT).await
}
