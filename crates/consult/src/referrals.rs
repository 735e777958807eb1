//! Two-way referral (双向转诊): up the network or back home with a care plan. The receiving
//! facility accepts with an expected arrival, records arrival, then the outcome and feedback,
//! which the sending side reads. A referral not closed within its target is an open loop.
use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::clock::{parse_timestamp, timestamp_text};
use tianshan_platform::{AppError, Msg, Platform};
use tianshan_registry::facade;
use utoipa::ToSchema;

use crate::domain::{step_text, Direction, ReferralStatus};
use crate::service::{perms, LIST_LIMIT, REFERRAL, REFERRAL_ENTITY};
use crate::store::{self, ReferralRow};

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ReferralInput {
    pub patient_id: String,
    /// up or down.
    #[serde(default)]
    pub direction: String,
    /// The receiving facility.
    #[serde(default)]
    pub to_code: String,
    #[serde(default)]
    pub reason: String,
    /// The care plan (for a referral down, back home).
    #[serde(default)]
    pub care_plan: String,
    /// The consultation that led to it, if any.
    #[serde(default)]
    pub case_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralView {
    pub id: String,
    pub case_id: Option<String>,
    pub patient_id: String,
    pub patient_name: String,
    pub direction: Direction,
    pub status: ReferralStatus,
    pub from_code: String,
    pub to_code: String,
    pub reason: String,
    pub care_plan: String,
    pub created_by_name: String,
    pub created_at: String,
    pub due_at: String,
    pub accepted_at: Option<String>,
    pub expected_arrival: String,
    pub arrived_at: Option<String>,
    pub closed_at: Option<String>,
    pub outcome: String,
    pub feedback: String,
    /// Not closed within its target.
    pub open_loop: bool,
    /// The viewer is on the receiving side.
    pub receiving: bool,
    /// accept, arrive, close: what the viewer may do now.
    pub actions: Vec<&'static str>,
}

fn sides(who: &Principal, r: &ReferralRow) -> (bool, bool) {
    let s = &who.scope;
    let sender = s.subtree
        && s.covers(&r.from_path)
        && (who.can(perms::REQUEST) || who.can(perms::COORDINATE));
    let receiver = s.covers(&r.to_path) && (who.can(perms::ANSWER) || who.can(perms::REQUEST));
    (sender, receiver)
}

pub(crate) fn is_open_loop(
    status: ReferralStatus,
    due_at: &str,
    now: time::OffsetDateTime,
) -> bool {
    status != ReferralStatus::Closed && parse_timestamp(due_at).is_some_and(|d| now > d)
}

fn view(st: &Platform, who: &Principal, r: ReferralRow) -> Result<Option<ReferralView>, AppError> {
    let (sender, receiver) = sides(who, &r);
    if !sender && !receiver {
        return Ok(None);
    }
    let bad = || AppError::Internal(format!("referral {}", r.id));
    let status = ReferralStatus::parse(&r.status).ok_or_else(bad)?;
    let direction = Direction::parse(&r.direction).ok_or_else(bad)?;
    let actions = match status {
        ReferralStatus::Sent if receiver => vec!["accept"],
        ReferralStatus::Accepted if receiver => vec!["arrive"],
        ReferralStatus::Arrived if receiver => vec!["close"],
        _ => vec![],
    };
    Ok(Some(ReferralView {
        open_loop: is_open_loop(status, &r.due_at, st.clock.now()),
        receiving: receiver,
        actions,
        status,
        direction,
        id: r.id,
        case_id: r.case_id,
        patient_id: r.patient_id,
        patient_name: r.p_name,
        from_code: r.from_code,
        to_code: r.to_code,
        reason: r.reason,
        care_plan: r.care_plan,
        created_by_name: r.created_by_name,
        created_at: r.created_at,
        due_at: r.due_at,
        accepted_at: r.accepted_at,
        expected_arrival: r.expected_arrival,
        arrived_at: r.arrived_at,
        closed_at: r.closed_at,
        outcome: r.outcome,
        feedback: r.feedback,
    }))
}

pub async fn create(
    st: &Platform,
    who: &Principal,
    input: &ReferralInput,
) -> Result<ReferralView, AppError> {
    who.require(perms::REQUEST)?;
    let mut errs = Vec::new();
    let direction = Direction::parse(input.direction.trim());
    if direction.is_none() {
        errs.push(tianshan_platform::FieldError::new(
            "direction",
            Msg::new("consult.err.choice"),
        ));
    }
    if let Err(e) = step_text("reason", &input.reason) {
        errs.extend(e);
    }
    let to = facade::org(st, input.to_code.trim()).await?;
    if to.is_none() {
        errs.push(tianshan_platform::FieldError::new(
            "to_code",
            Msg::new("consult.err.target_unknown").arg("code", input.to_code.trim().to_string()),
        ));
    }
    let (Some(direction), Some(to), true) = (direction, to, errs.is_empty()) else {
        return Err(AppError::Invalid(errs));
    };
    let p = match facade::patient(st, who, input.patient_id.trim()).await {
        Ok(p) => p,
        Err(AppError::NotFound) => {
            return Err(AppError::invalid(
                "patient_id",
                Msg::new("consult.err.patient"),
            ))
        }
        Err(e) => return Err(e),
    };
    let from_code = who.scope_code.clone().unwrap_or(p.org_code.clone());
    let from = facade::org(st, &from_code)
        .await?
        .ok_or_else(|| AppError::invalid("patient_id", Msg::new("consult.err.patient")))?;
    let minutes = store::target_minutes(&st.db, "referral").await?;
    let now = st.clock.now();
    let row = ReferralRow {
        id: tianshan_platform::new_id(),
        case_id: Some(input.case_id.trim().to_string()).filter(|s| !s.is_empty()),
        patient_id: p.id.clone(),
        p_name: p.full_name.clone(),
        direction: direction.as_str().into(),
        status: ReferralStatus::Sent.as_str().into(),
        from_code: from.code,
        from_path: from.path,
        to_code: to.code,
        to_path: to.path,
        reason: input.reason.trim().into(),
        care_plan: input.care_plan.trim().into(),
        created_by: who.username.clone(),
        created_by_name: who.display_name.clone(),
        created_at: timestamp_text(now),
        due_at: timestamp_text(now + time::Duration::minutes(minutes)),
        accepted_at: None,
        expected_arrival: String::new(),
        arrived_at: None,
        closed_at: None,
        outcome: String::new(),
        feedback: String::new(),
        updated_at: timestamp_text(now),
    };
    let (who2, r) = (who.clone(), row.clone());
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_referral(tx, &r).await?;
            let detail = format!("{} from {} to {}", r.direction, r.from_code, r.to_code);
            tx.record(
                &who2,
                Event::new(REFERRAL, REFERRAL_ENTITY, &r.id)
                    .patient(&r.patient_id)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    view(st, who, row)?.ok_or(AppError::NotFound)
}

async fn visible_row(st: &Platform, who: &Principal, id: &str) -> Result<ReferralRow, AppError> {
    let Some(r) = store::get_referral(&st.db, id).await? else {
        return Err(AppError::NotFound);
    };
    let (a, b) = sides(who, &r);
    if !a && !b {
        st.audit(
            who,
            Event::new(Action::REFUSED, REFERRAL_ENTITY, id).patient(&r.patient_id),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    Ok(r)
}

pub async fn get(st: &Platform, who: &Principal, id: &str) -> Result<ReferralView, AppError> {
    let r = visible_row(st, who, id).await?;
    st.audit(
        who,
        Event::new(Action::READ, REFERRAL_ENTITY, id).patient(&r.patient_id),
    )
    .await?;
    view(st, who, r)?.ok_or(AppError::NotFound)
}

pub async fn list(st: &Platform, who: &Principal) -> Result<Vec<ReferralView>, AppError> {
    if !who.can(perms::REQUEST) && !who.can(perms::ANSWER) {
        return Err(AppError::Forbidden);
    }
    let mut out = Vec::new();
    for r in store::referrals_in(&st.db, &who.scope, LIST_LIMIT).await? {
        if let Some(v) = view(st, who, r)? {
            out.push(v);
        }
    }
    let ids: Vec<&str> = out.iter().map(|v| v.patient_id.as_str()).collect();
    if !ids.is_empty() {
        let detail = format!("referrals: {}", ids.join(" "));
        st.audit(
            who,
            Event::new(Action::SEARCH, REFERRAL_ENTITY, "").detail(&detail),
        )
        .await?;
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ReferralStep {
    /// accept (with expected_arrival), arrive, close (with outcome, optional feedback).
    pub step: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
    #[serde(default)]
    pub expected_arrival: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub feedback: String,
}

pub async fn step(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &ReferralStep,
) -> Result<ReferralView, AppError> {
    let r = visible_row(st, who, id).await?;
    let (_, receiver) = sides(who, &r);
    let now = timestamp_text(st.clock.now());
    let (expect, to, cols, vals): (ReferralStatus, ReferralStatus, Vec<&str>, Vec<String>) =
        match input.step.trim() {
            "accept" => {
                let ea = input.expected_arrival.trim();
                let ok = ea.len() >= 10
                    && ea.len() <= 16
                    && time::Date::parse(
                        ea.get(..10).unwrap_or(""),
                        &time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .is_ok();
                if !ok {
                    return Err(AppError::invalid(
                        "expected_arrival",
                        Msg::new("consult.err.date"),
                    ));
                }
                (
                    ReferralStatus::Sent,
                    ReferralStatus::Accepted,
                    vec!["accepted_at", "expected_arrival"],
                    vec![now.clone(), ea.to_string()],
                )
            }
            "arrive" => (
                ReferralStatus::Accepted,
                ReferralStatus::Arrived,
                vec!["arrived_at"],
                vec![now.clone()],
            ),
            "close" => {
                let outcome = step_text("outcome", &input.outcome).map_err(AppError::Invalid)?;
                (
                    ReferralStatus::Arrived,
                    ReferralStatus::Closed,
                    vec!["closed_at", "outcome", "feedback"],
                    vec![now.clone(), outcome, input.feedback.trim().to_string()],
                )
            }
            _ => return Err(AppError::invalid("step", Msg::new("consult.err.choice"))),
        };
    if !receiver || r.status != expect.as_str() {
        return Err(AppError::Conflict(Msg::new("consult.err.step")));
    }
    let (who2, rid, pid) = (who.clone(), r.id.clone(), r.patient_id.clone());
    st.write(move |tx| {
        Box::pin(async move {
            let n =
                store::referral_step(tx, &rid, expect.as_str(), to.as_str(), &cols, &vals).await?;
            if n == 0 {
                return Err(AppError::Conflict(Msg::new("consult.err.moved")));
            }
            let detail = format!("{} -> {}", expect.as_str(), to.as_str());
            tx.record(
                &who2,
                Event::new(REFERRAL, REFERRAL_ENTITY, &rid)
                    .patient(&pid)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    let r = store::get_referral(&st.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    view(st, who, r)?.ok_or(AppError::NotFound)
}
