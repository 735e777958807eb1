//! Talent development and the home department's backing: mentor groups (师带徒) whose
//! competencies only the mentor signs off, and department requests (一人援疆，全科援疆) from a
//! front-line aid doctor to their home department, tracked to done with their response time.
use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::clock::parse_timestamp;
use tianshan_platform::{AppError, Msg, Platform};

use super::{covers_any, known_org, new_id, own_org, perms, today, ANSWER, LIST_LIMIT, SIGN_OFF};
use crate::domain::{LiaisonAnswer, LiaisonInput, MentorshipInput, SignOffInput};
use crate::store::{self, LiaisonRow, MentorshipRow, MilestoneRow};

pub const MENTORSHIP: &str = "Mentorship";
pub const LIAISON: &str = "DepartmentRequest";

/// A mentorship with its competencies.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MentorshipView {
    pub mentorship: MentorshipRow,
    pub milestones: Vec<MilestoneRow>,
    pub signed: usize,
    /// The viewer is the mentor (may sign off).
    pub is_mentor: bool,
}

pub async fn create_mentorship(
    st: &Platform,
    who: &Principal,
    input: &MentorshipInput,
) -> Result<MentorshipView, AppError> {
    if !who.can(perms::MENTOR) && !who.can(perms::PLAN) {
        return Err(AppError::Forbidden);
    }
    let m = input.validate().map_err(AppError::Invalid)?;
    let mentor_org = known_org(st, "mentor_code", &m.mentor_code).await?;
    let trainee_org = known_org(st, "trainee_code", &m.trainee_code).await?;
    if !who.scope.owns(&trainee_org.path) && !who.scope.owns(&mentor_org.path) {
        return Err(AppError::invalid(
            "trainee_code",
            Msg::new("missions.err.org_outside"),
        ));
    }
    let mentor = tianshan_platform::users::by_username(&st.db, &m.mentor_username)
        .await
        .map_err(|_| {
            AppError::invalid("mentor_username", Msg::new("missions.err.mentor_unknown"))
        })?;
    if let Some(mid) = &m.mission_id {
        super::missions::get(st, who, mid).await.map_err(|_| {
            AppError::invalid("mission_id", Msg::new("missions.err.mission_unknown"))
        })?;
    }
    let row = MentorshipRow {
        id: new_id(),
        mentor_username: mentor.username,
        mentor_name: mentor.display_name,
        mentor_code: mentor_org.code,
        mentor_path: mentor_org.path,
        trainee_name: m.trainee_name,
        trainee_post: m.trainee_post,
        trainee_ethnicity: m.trainee_ethnicity,
        trainee_code: trainee_org.code,
        trainee_path: trainee_org.path,
        goals: m.goals,
        starts_on: m.starts_on,
        ends_on: m.ends_on,
        mission_id: m.mission_id,
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let steps: Vec<MilestoneRow> = m
        .competencies
        .iter()
        .enumerate()
        .map(|(i, c)| MilestoneRow {
            id: new_id(),
            mentorship_id: row.id.clone(),
            position: i as i64 + 1,
            competency: c.clone(),
            signed_on: None,
            evidence: String::new(),
            signed_by: String::new(),
        })
        .collect();
    let who2 = who.clone();
    let id = st
        .write(move |tx| {
            Box::pin(async move {
                let mut row = row;
                row.created_at = tx.now().to_string();
                store::insert_mentorship(tx, &row).await?;
                for s in &steps {
                    store::insert_milestone(tx, s).await?;
                }
                let detail = format!("{} mentors {}", row.mentor_username, row.trainee_name);
                tx.record(
                    &who2,
                    Event::new(Action::CREATE, MENTORSHIP, &row.id).detail(&detail),
                );
                Ok(row.id)
            })
        })
        .await?;
    mentorship(st, who, &id).await
}

async fn visible_mentorship(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<MentorshipRow, AppError> {
    match store::mentorship(&st.db, id).await? {
        Some(m)
            if covers_any(who, &[&m.trainee_path, &m.mentor_path])
                || m.mentor_username == who.username =>
        {
            Ok(m)
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn mentorship(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<MentorshipView, AppError> {
    if !who.can(perms::READ) && !who.can(perms::MENTOR) {
        return Err(AppError::Forbidden);
    }
    let m = visible_mentorship(st, who, id).await?;
    let milestones = store::milestones(&st.db, &m.id).await?;
    Ok(MentorshipView {
        signed: milestones.iter().filter(|s| s.signed_on.is_some()).count(),
        is_mentor: m.mentor_username == who.username,
        mentorship: m,
        milestones,
    })
}

pub async fn mentorships(st: &Platform, who: &Principal) -> Result<Vec<MentorshipRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    store::mentorships(&st.db, &who.scope, LIST_LIMIT).await
}

/// The mentor, and only the mentor, signs off one competency with date and evidence.
pub async fn sign_off(
    st: &Platform,
    who: &Principal,
    mentorship_id: &str,
    milestone_id: &str,
    input: &SignOffInput,
) -> Result<MentorshipView, AppError> {
    who.require(perms::MENTOR)?;
    let m = visible_mentorship(st, who, mentorship_id).await?;
    if m.mentor_username != who.username {
        return Err(AppError::invalid(
            "signed_by",
            Msg::new("missions.err.not_mentor"),
        ));
    }
    let s = input.validate(today(st)).map_err(AppError::Invalid)?;
    let (who2, mid, sid) = (who.clone(), m.id.clone(), milestone_id.to_string());
    st.write(move |tx| {
        Box::pin(async move {
            let n =
                store::sign_milestone(tx, &sid, &mid, &s.signed_on, &s.evidence, &who2.username)
                    .await?;
            if n == 0 {
                return Err(AppError::Conflict(Msg::new("missions.err.signed")));
            }
            let detail = format!("milestone {sid} on {}", s.signed_on);
            tx.record(
                &who2,
                Event::new(SIGN_OFF, MENTORSHIP, &mid).detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    mentorship(st, who, mentorship_id).await
}

// ---- department requests

/// A request with its response time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiaisonView {
    pub request: LiaisonRow,
    /// Hours from asking to the home department's answer.
    pub response_hours: Option<i64>,
    /// The viewer sits on the home department's side (answers).
    pub can_answer: bool,
    /// The viewer asked (closes it once done).
    pub can_close: bool,
}

fn liaison_view(who: &Principal, r: LiaisonRow) -> LiaisonView {
    let hours = match (
        parse_timestamp(&r.asked_at),
        r.answered_at.as_deref().and_then(parse_timestamp),
    ) {
        (Some(a), Some(b)) => Some((b - a).whole_hours()),
        _ => None,
    };
    LiaisonView {
        response_hours: hours,
        can_answer: r.status == "open" && who.can(perms::POST) && who.scope.owns(&r.home_path),
        can_close: r.status == "answered"
            && (r.asked_by == who.username || who.scope.owns(&r.from_path)),
        request: r,
    }
}

pub async fn ask(
    st: &Platform,
    who: &Principal,
    input: &LiaisonInput,
) -> Result<LiaisonView, AppError> {
    who.require(perms::POST)?;
    let l = input.validate().map_err(AppError::Invalid)?;
    let from = own_org(st, who, "from_code", &l.from_code).await?;
    let home = known_org(st, "home_code", &l.home_code).await?;
    let row = LiaisonRow {
        id: new_id(),
        from_code: from.code,
        from_path: from.path,
        home_code: home.code,
        home_path: home.path,
        kind: l.kind,
        subject: l.subject,
        status: "open".into(),
        asked_by: who.username.clone(),
        asked_by_name: who.display_name.clone(),
        asked_at: String::new(),
        answer: String::new(),
        answer_from: None,
        answer_to: None,
        answer_people: String::new(),
        answered_by: String::new(),
        answered_at: None,
        done_at: None,
    };
    let who2 = who.clone();
    let row = st
        .write(move |tx| {
            Box::pin(async move {
                let mut row = row;
                row.asked_at = tx.now().to_string();
                store::insert_liaison(tx, &row).await?;
                let detail = format!("{} asked of {}", row.kind, row.home_code);
                tx.record(
                    &who2,
                    Event::new(Action::CREATE, LIAISON, &row.id).detail(&detail),
                );
                Ok(row)
            })
        })
        .await?;
    Ok(liaison_view(who, row))
}

async fn visible_liaison(st: &Platform, who: &Principal, id: &str) -> Result<LiaisonRow, AppError> {
    match store::liaison(&st.db, id).await? {
        Some(r) if covers_any(who, &[&r.from_path, &r.home_path]) || r.asked_by == who.username => {
            Ok(r)
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn liaison(st: &Platform, who: &Principal, id: &str) -> Result<LiaisonView, AppError> {
    who.require(perms::READ)?;
    Ok(liaison_view(who, visible_liaison(st, who, id).await?))
}

pub async fn liaisons(st: &Platform, who: &Principal) -> Result<Vec<LiaisonView>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    Ok(store::liaisons(&st.db, &who.scope, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|r| liaison_view(who, r))
        .collect())
}

/// The home department commits dates and people.
pub async fn answer(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &LiaisonAnswer,
) -> Result<LiaisonView, AppError> {
    who.require(perms::POST)?;
    let r = visible_liaison(st, who, id).await?;
    if !who.scope.owns(&r.home_path) {
        return Err(AppError::NotFound);
    }
    let a = input.validate().map_err(AppError::Invalid)?;
    let (who2, rid) = (who.clone(), r.id.clone());
    st.write(move |tx| {
        Box::pin(async move {
            if store::answer_liaison(tx, &rid, &a, &who2.username).await? == 0 {
                return Err(AppError::Conflict(Msg::new("missions.err.answered")));
            }
            let detail = format!("{} {}–{}", a.answer_people, a.answer_from, a.answer_to);
            tx.record(&who2, Event::new(ANSWER, LIAISON, &rid).detail(&detail));
            Ok(())
        })
    })
    .await?;
    liaison(st, who, id).await
}

/// The asking side marks an answered request done.
pub async fn close(st: &Platform, who: &Principal, id: &str) -> Result<LiaisonView, AppError> {
    who.require(perms::POST)?;
    let r = visible_liaison(st, who, id).await?;
    if r.asked_by != who.username && !who.scope.owns(&r.from_path) {
        return Err(AppError::NotFound);
    }
    let (who2, rid) = (who.clone(), r.id.clone());
    st.write(move |tx| {
        Box::pin(async move {
            if store::close_liaison(tx, &rid).await? == 0 {
                return Err(AppError::Conflict(Msg::new("missions.err.not_answered")));
            }
            tx.record(
                &who2,
                Event::new(Action::UPDATE, LIAISON, &rid).detail("done"),
            );
            Ok(())
        })
    })
    .await?;
    liaison(st, who, id).await
}
