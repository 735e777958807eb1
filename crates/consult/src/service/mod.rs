//! Consultation cases: file, route, accept, decline, ask for information, answer, acknowledge,
//! talk in the thread; inboxes, measures and the export. Who may see a case: the requesting
//! side (clinicians whose subtree holds the requesting facility), the target side (the
//! department, expert or partner it is addressed to) and coordinators above either side;
//! anyone else is answered NotFound (and the refusal audited).
use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, ActionDef, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::clock::{parse_timestamp, timestamp_text};
use tianshan_platform::db::Tx;
use tianshan_platform::scope::{builtin, Permission, PermissionDef};
use tianshan_platform::{outbox, AppError, Msg, Platform};
use tianshan_registry::facade;
use utoipa::ToSchema;

use crate::domain::{self, checkbox, CaseInput, Sides, Status, Step, TargetKind};
use crate::store::{self, CaseRow, MessageRow};

mod inbox;
mod settings;
mod step;
pub use inbox::*;
pub use settings::*;
pub use step::*;

pub mod perms {
    use tianshan_platform::scope::Permission;
    /// File a case, answer questions about it, acknowledge the answer; send referrals.
    pub const REQUEST: Permission = Permission("consult.request");
    /// Accept, decline and answer cases addressed to one's department; receive referrals.
    pub const ANSWER: Permission = Permission("consult.answer");
    /// See every case of the scope with its clock, route, configure targets and pairings,
    /// measures and exports.
    pub const COORDINATE: Permission = Permission("consult.coordinate");
}

pub const FILE: Action = Action("consult.file");
pub const STEP: Action = Action("consult.step");
pub const ESCALATE: Action = Action("consult.escalate");
pub const CONFIGURE: Action = Action("consult.configure");
pub const REFERRAL: Action = Action("consult.referral");
pub const ENTITY: &str = "ConsultCase";
pub const REFERRAL_ENTITY: &str = "Referral";
/// Most cases one list shows.
pub const LIST_LIMIT: i64 = 200;

pub fn permissions() -> Vec<PermissionDef> {
    use builtin::*;
    let def = |permission: Permission, label, default_roles| PermissionDef {
        permission,
        label,
        default_roles,
    };
    vec![
        def(
            perms::REQUEST,
            "perm.consult.request",
            &[CLINICIAN, NURSE, COORDINATOR, PARTNER],
        ),
        def(perms::ANSWER, "perm.consult.answer", &[CLINICIAN, PARTNER]),
        def(perms::COORDINATE, "perm.consult.coordinate", &[COORDINATOR]),
    ]
}

pub fn actions() -> Vec<ActionDef> {
    [
        (FILE, "audit.act.consult.file"),
        (STEP, "audit.act.consult.step"),
        (ESCALATE, "audit.act.consult.escalate"),
        (CONFIGURE, "audit.act.consult.configure"),
        (REFERRAL, "audit.act.consult.referral"),
    ]
    .into_iter()
    .map(|(action, label)| ActionDef { action, label })
    .collect()
}

/// The patient as this viewer may see them. A partner abroad without the patient's PIPL
/// consent sees sex and age only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasePatient {
    pub id: Option<String>,
    pub name: Option<String>,
    pub sex: String,
    pub age: Option<i32>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub complaint: String,
    pub history: String,
    pub examination: String,
    pub investigations: String,
    pub question: String,
    pub translated_summary: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Opinion {
    pub impression: String,
    pub recommendations: String,
    pub refer: bool,
    pub follow_up: String,
}

/// A case as one viewer sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub status: Status,
    pub kind: String,
    pub urgency: String,
    pub specialty: String,
    pub language: String,
    pub patient: CasePatient,
    /// The target side sees no name, ID number, phone or birth date.
    pub deidentified: bool,
    pub pipl_consent: bool,
    pub from_code: String,
    pub requested_by: String,
    pub requested_by_name: String,
    pub target_kind: String,
    /// Empty while no department is routed (the coordinator's queue).
    pub target_code: String,
    pub target_expert: String,
    pub assignee: String,
    pub assignee_name: String,
    pub summary: Summary,
    pub opinion: Option<Opinion>,
    pub rating: Option<i64>,
    pub filed_at: String,
    pub due_at: String,
    pub accepted_at: Option<String>,
    pub answered_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub escalated_at: Option<String>,
    /// The clock stands still while the expert waits for information.
    pub paused: bool,
    pub overdue: bool,
    /// Minutes until the target (negative: overdue); frozen while paused; none once answered.
    pub minutes_left: Option<i64>,
    /// requester, target or coordinator.
    pub side: &'static str,
    /// Steps the viewer may take now.
    pub actions: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    pub thread: Vec<MessageRow>,
    pub attachments: Vec<store::AttachmentMeta>,
}

pub(crate) fn sides(who: &Principal, r: &CaseRow) -> Sides {
    let s = &who.scope;
    Sides {
        requester: s.subtree
            && s.covers(&r.from_path)
            && (who.can(perms::REQUEST) || who.can(perms::COORDINATE)),
        target: who.can(perms::ANSWER) && !r.target_path.is_empty() && s.covers(&r.target_path),
        // Coordinators above either side: the requesting one or the one it is addressed to.
        coordinator: who.can(perms::COORDINATE)
            && s.subtree
            && (s.covers(&r.from_path) || (!r.target_path.is_empty() && s.covers(&r.target_path))),
        assignee: !r.assignee.is_empty() && r.assignee == who.username,
    }
}

fn visible(s: Sides) -> bool {
    s.requester || s.target || s.coordinator
}

fn status_of(r: &CaseRow) -> Result<Status, AppError> {
    Status::parse(&r.status).ok_or_else(|| AppError::Internal(format!("case status {}", r.status)))
}

fn minutes_between(a: &str, b: time::OffsetDateTime) -> Option<i64> {
    parse_timestamp(a).map(|t| (t - b).whole_minutes())
}

pub(crate) fn view(
    st: &Platform,
    who: &Principal,
    r: CaseRow,
) -> Result<Option<CaseView>, AppError> {
    let s = sides(who, &r);
    if !visible(s) {
        return Ok(None);
    }
    let status = status_of(&r)?;
    let now = st.clock.now();
    // A de-identified case shows its patient only on the requesting side (which includes
    // coordinators above it), never to a coordinator above the receiving side only.
    let identified = r.deidentified != 1 || s.requester;
    let age = r
        .p_birth_date
        .as_deref()
        .and_then(|b| domain::age_on(b, now.date()));
    let paused = r.paused_at.is_some();
    let minutes_left = match status {
        Status::Filed | Status::Accepted => minutes_between(&r.due_at, now),
        Status::InfoRequested => r
            .paused_at
            .as_deref()
            .and_then(parse_timestamp)
            .and_then(|p| minutes_between(&r.due_at, p)),
        _ => None,
    };
    let overdue = minutes_left.is_some_and(|m| m < 0)
        || r.answered_at
            .as_deref()
            .is_some_and(|a| a > r.due_at.as_str());
    let side = if s.requester {
        "requester"
    } else if s.target {
        "target"
    } else {
        "coordinator"
    };
    Ok(Some(CaseView {
        patient: CasePatient {
            id: identified.then(|| r.patient_id.clone()),
            name: identified.then(|| r.p_name.clone()),
            sex: r.p_sex.clone(),
            age,
            birth_date: if identified {
                r.p_birth_date.clone()
            } else {
                None
            },
            id_number: identified
                .then(|| r.p_id_number.clone())
                .filter(|v| !v.is_empty()),
            phone: identified
                .then(|| r.p_phone.clone())
                .filter(|v| !v.is_empty()),
        },
        status,
        deidentified: r.deidentified == 1,
        pipl_consent: r.pipl_consent == 1,
        summary: Summary {
            complaint: r.complaint,
            history: r.history,
            examination: r.examination,
            investigations: r.investigations,
            question: r.question,
            translated_summary: r.translated_summary,
        },
        opinion: r.answered_at.is_some().then_some(Opinion {
            impression: r.impression,
            recommendations: r.recommendations,
            refer: r.refer == 1,
            follow_up: r.follow_up,
        }),
        actions: domain::allowed(status, s),
        side,
        paused,
        overdue,
        minutes_left,
        id: r.id,
        kind: r.kind,
        urgency: r.urgency,
        specialty: r.specialty,
        language: r.language,
        from_code: r.from_code,
        requested_by: r.requested_by_username,
        requested_by_name: r.requested_by_name,
        target_kind: r.target_kind,
        target_code: r.target_code,
        target_expert: r.target_expert,
        assignee: r.assignee,
        assignee_name: r.assignee_name,
        rating: r.rating,
        filed_at: r.filed_at,
        due_at: r.due_at,
        accepted_at: r.accepted_at,
        answered_at: r.answered_at,
        acknowledged_at: r.acknowledged_at,
        escalated_at: r.escalated_at,
    }))
}

/// Is this organisation (or the root it hangs from) an international partner?
async fn abroad(st: &Platform, org: &facade::OrgInfo) -> Result<bool, AppError> {
    if org.kind == "partner" {
        return Ok(true);
    }
    match org.lineage().first() {
        Some(root) if *root != org.code => Ok(facade::org(st, root)
            .await?
            .is_some_and(|o| o.kind == "partner")),
        _ => Ok(false),
    }
}

/// The department a pool case goes to: the pairing of the requesting side (nearest first) for
/// the specialty, skipping departments that declined it. None: the coordinator routes it.
async fn route_for(
    st: &Platform,
    from_path: &str,
    specialty: &str,
    declined: &[String],
) -> Result<Option<(String, String)>, AppError> {
    let mut ps: Vec<store::Pairing> = store::pairings(&st.db)
        .await?
        .into_iter()
        .filter(|p| from_path.starts_with(&p.local_path))
        .filter(|p| p.specialty.is_empty() || p.specialty.eq_ignore_ascii_case(specialty))
        .filter(|p| !declined.contains(&p.remote_code))
        .collect();
    ps.sort_by_key(|p| std::cmp::Reverse(p.local_path.len()));
    Ok(ps
        .into_iter()
        .next()
        .map(|p| (p.remote_code, p.remote_path)))
}

/// File a case about a patient the caller may see.
pub async fn file(st: &Platform, who: &Principal, input: &CaseInput) -> Result<CaseView, AppError> {
    who.require(perms::REQUEST)?;
    let d = input.validate().map_err(AppError::Invalid)?;
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
    let (target_code, target_path, is_abroad) = if d.target_kind == TargetKind::Pool {
        match route_for(st, &from.path, &d.specialty, &[]).await? {
            Some((c, path)) => {
                let o = facade::org(st, &c).await?;
                let ab = match &o {
                    Some(o) => abroad(st, o).await?,
                    None => false,
                };
                (c, path, ab)
            }
            None => (String::new(), String::new(), false),
        }
    } else {
        let Some(o) = facade::org(st, &d.target_code).await? else {
            return Err(AppError::invalid(
                "target_code",
                Msg::new("consult.err.target_unknown").arg("code", d.target_code.clone()),
            ));
        };
        let ab = abroad(st, &o).await?;
        if (d.target_kind == TargetKind::Partner) != ab || o.path == from.path {
            return Err(AppError::invalid(
                "target_code",
                Msg::new("consult.err.target_kind"),
            ));
        }
        (o.code, o.path, ab)
    };
    let minutes = store::target_minutes(&st.db, d.urgency.as_str()).await?;
    let now = st.clock.now();
    let (half, due) = domain::clock(now, minutes);
    let now_text = timestamp_text(now);
    let row = CaseRow {
        id: tianshan_platform::new_id(),
        patient_id: p.id.clone(),
        p_name: p.full_name.clone(),
        p_sex: p.sex.clone(),
        p_birth_date: p.birth_date.clone(),
        p_id_number: p.id_number.clone().unwrap_or_default(),
        p_phone: p.phone.clone(),
        kind: d.kind.as_str().into(),
        urgency: d.urgency.as_str().into(),
        specialty: d.specialty.clone(),
        status: Status::Filed.as_str().into(),
        from_code: from.code.clone(),
        from_path: from.path.clone(),
        requested_by: who.user_id.clone(),
        requested_by_username: who.username.clone(),
        requested_by_name: who.display_name.clone(),
        target_kind: d.target_kind.as_str().into(),
        target_code,
        target_path,
        target_expert: d.target_expert.clone(),
        assignee: String::new(),
        assignee_name: String::new(),
        language: d.language.clone(),
        translated_summary: d.translated_summary.clone(),
        deidentified: domain::deidentify(is_abroad, d.pipl_consent) as i64,
        pipl_consent: d.pipl_consent as i64,
        complaint: d.complaint,
        history: d.history,
        examination: d.examination,
        investigations: d.investigations,
        question: d.question,
        impression: String::new(),
        recommendations: String::new(),
        refer: 0,
        follow_up: String::new(),
        rating: None,
        filed_at: now_text.clone(),
        half_at: timestamp_text(half),
        due_at: timestamp_text(due),
        accepted_at: None,
        answered_at: None,
        acknowledged_at: None,
        paused_at: None,
        escalated_at: None,
        updated_at: now_text,
    };
    let (who2, r) = (who.clone(), row.clone());
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_case(tx, &r).await?;
            store::add_message(
                tx,
                &r.id,
                &who2.username,
                &who2.display_name,
                "requester",
                "file",
                "",
            )
            .await?;
            let detail = format!(
                "{} {} to {} {}",
                r.kind, r.urgency, r.target_kind, r.target_code
            );
            tx.record(
                &who2,
                Event::new(FILE, ENTITY, &r.id)
                    .patient(&r.patient_id)
                    .detail(&detail),
            );
            notify(tx, "consult.filed", &r).await?;
            Ok(())
        })
    })
    .await?;
    view(st, who, row)?.ok_or(AppError::NotFound)
}

/// A notification through the outbox (SMS or WeChat gateway): points at the case, carries no
/// patient data.
pub(crate) async fn notify(tx: &mut Tx, topic: &str, r: &CaseRow) -> Result<(), AppError> {
    outbox::enqueue(
        tx,
        topic,
        &serde_json::json!({
            "case": r.id, "urgency": r.urgency, "from": r.from_code, "target": r.target_code,
            "href": format!("/consult/{}", r.id),
        }),
    )
    .await?;
    Ok(())
}

/// A case the caller may see, or NotFound (refusals of existing cases are audited).
pub(crate) async fn visible_row(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<CaseRow, AppError> {
    let Some(r) = store::get_case(&st.db, id).await? else {
        return Err(AppError::NotFound);
    };
    if !visible(sides(who, &r)) {
        st.audit(
            who,
            Event::new(Action::REFUSED, ENTITY, id)
                .patient(&r.patient_id)
                .detail("outside both sides of the case"),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    Ok(r)
}

/// One case with its thread (audited as a read).
pub async fn get(st: &Platform, who: &Principal, id: &str) -> Result<CaseDetail, AppError> {
    if !who.can(perms::REQUEST) && !who.can(perms::ANSWER) && !who.can(perms::COORDINATE) {
        return Err(AppError::Forbidden);
    }
    let r = visible_row(st, who, id).await?;
    let pid = r.patient_id.clone();
    let case = view(st, who, r)?.ok_or(AppError::NotFound)?;
    let detail = format!("case opened ({})", case.side);
    st.audit(
        who,
        Event::new(Action::READ, ENTITY, id)
            .patient(&pid)
            .detail(&detail),
    )
    .await?;
    let thread = store::messages(&st.db, id).await?;
    let attachments = crate::attachments::list(st, id).await?;
    Ok(CaseDetail {
        case,
        thread,
        attachments,
    })
}
