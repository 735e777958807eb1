//! Requests to transfer or share a patient registered elsewhere (流动人口, moved-in children).
//!
//! A user who registers patients asks, by resident ID number, for the record the network
//! already holds: to be transferred to their organisation or shared with it, with a reason.
//! They learn nothing of the record (not its name, id or place) unless it is approved. A
//! coordinator who owns the record (holds `registry.patients.transfer` and the record is in
//! their own subtree) sees the request beside the record and approves or refuses it with a
//! note. Approving a transfer moves the patient (audited as `patient.move`); approving a share
//! adds a read share (`patient.share`). Every step is audited on both sides.
use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::{AppError, Msg, Platform};

use super::patients::{MOVE, PATIENT, SHARE};
use super::perms;
use crate::domain::requests::{decision_note, RequestInput, RequestKind, RequestStatus};
use crate::store::patients;
use crate::store::requests::{self, NewRequest, RequestRow};

pub const REQUEST: Action = Action("patient.request");
pub const REQUEST_APPROVE: Action = Action("patient.request.approve");
pub const REQUEST_REFUSE: Action = Action("patient.request.refuse");
pub const REQUEST_WITHDRAW: Action = Action("patient.request.withdraw");
/// The audit entity type of a request.
pub const ENTITY: &str = "PatientRequest";

/// Most requests a list shows.
pub const LIST_LIMIT: i64 = 200;

/// The record a request names, as far as the viewer may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestPatient {
    pub id: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub sex: String,
    pub birth_date: Option<String>,
    /// Where the record is registered now.
    pub org_code: String,
}

/// A request as one viewer sees it. The requester sees what they typed and the outcome; the
/// record itself only once a request is approved (and while they may see the record). The
/// owning side sees the record beside the requesting organisation and person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub id: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    /// The ID number the requester typed.
    pub id_number: String,
    /// The requesting organisation.
    pub org_code: String,
    pub reason: String,
    /// Username and name of who asked.
    pub requested_by: String,
    pub requested_by_name: String,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// The decision's note (a refusal always has one).
    pub note: String,
    /// Who decided: only to the owning side.
    pub decided_by: Option<String>,
    pub decided_by_name: Option<String>,
    /// The organisation that held the record when asked: only to the owning side.
    pub from_org_code: Option<String>,
    pub patient: Option<RequestPatient>,
    /// The viewer may approve or refuse it now.
    pub can_decide: bool,
    /// The viewer asked and may withdraw it now.
    pub can_withdraw: bool,
    /// The viewer is on the owning side (otherwise: the requester).
    pub owner_side: bool,
}

fn kind_of(row: &RequestRow) -> Result<RequestKind, AppError> {
    RequestKind::parse(&row.kind)
        .ok_or_else(|| AppError::Internal(format!("request kind {}", row.kind)))
}

fn status_of(row: &RequestRow) -> Result<RequestStatus, AppError> {
    RequestStatus::parse(&row.status)
        .ok_or_else(|| AppError::Internal(format!("request status {}", row.status)))
}

/// Whether the viewer sits on the owning side of a request: they approve or refuse requests
/// and the record is (or was, when asked) in their own subtree.
fn owner_side(who: &Principal, row: &RequestRow) -> bool {
    who.can(perms::PATIENTS_TRANSFER)
        && (who.scope.owns(&row.p_org_path) || who.scope.owns(&row.from_path))
}

fn is_requester(who: &Principal, row: &RequestRow) -> bool {
    row.requested_by == who.user_id
}

/// The request as this viewer may see it, or None if it is none of their business.
async fn view(
    st: &Platform,
    who: &Principal,
    row: RequestRow,
) -> Result<Option<RequestView>, AppError> {
    let owner = owner_side(who, &row);
    let mine = is_requester(who, &row);
    if !owner && !mine {
        return Ok(None);
    }
    let status = status_of(&row)?;
    let pending = status == RequestStatus::Pending;
    let show_patient = if owner {
        who.scope.owns(&row.p_org_path)
    } else {
        status == RequestStatus::Approved
            && who.scope.can_see(
                &row.p_org_path,
                &patients::shared_with(&st.db, &row.patient_id).await?,
            )
    };
    let patient = show_patient.then(|| RequestPatient {
        id: row.patient_id.clone(),
        full_name: row.p_full_name.clone(),
        name_ug: row.p_name_ug.clone(),
        name_latin: row.p_name_latin.clone(),
        sex: row.p_sex.clone(),
        birth_date: row.p_birth_date.clone(),
        org_code: row.p_org_code.clone(),
    });
    Ok(Some(RequestView {
        kind: kind_of(&row)?,
        status,
        can_decide: pending && who.can(perms::PATIENTS_TRANSFER) && who.scope.owns(&row.p_org_path),
        can_withdraw: pending && mine,
        owner_side: owner,
        decided_by: owner
            .then(|| row.decided_by.clone())
            .filter(|s| !s.is_empty()),
        decided_by_name: owner
            .then(|| row.decided_by_name.clone())
            .filter(|s| !s.is_empty()),
        from_org_code: owner.then(|| row.from_code.clone()),
        patient,
        id: row.id,
        id_number: row.id_number,
        org_code: row.to_code,
        reason: row.reason,
        requested_by: row.requested_by_username,
        requested_by_name: row.requested_by_name,
        requested_at: row.requested_at,
        decided_at: row.decided_at,
        note: row.note,
    }))
}

/// Showing requests with their records shows patients' data: one audit entry lists them.
async fn audit_shown(
    st: &Platform,
    who: &Principal,
    views: &[RequestView],
) -> Result<(), AppError> {
    let ids: Vec<&str> = views
        .iter()
        .filter_map(|v| v.patient.as_ref().map(|p| p.id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let detail = format!(
        "{} records shown with requests: {}",
        ids.len(),
        ids.join(" ")
    );
    st.audit(who, Event::new(Action::SEARCH, PATIENT, "").detail(&detail))
        .await
}

/// Ask for the record with an ID number to be transferred to (or shared with) an organisation
/// of the caller's own area. The record is looked up but never described in the answer.
pub async fn create(
    st: &Platform,
    who: &Principal,
    input: &RequestInput,
) -> Result<RequestView, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let d = input.validate().map_err(AppError::Invalid)?;
    let code = if d.org_code.is_empty() {
        who.scope_code
            .clone()
            .ok_or_else(|| AppError::invalid("org_code", Msg::new("patient.err.org_required")))?
    } else {
        d.org_code.clone()
    };
    let org = super::directory::org(st, &code).await?.ok_or_else(|| {
        AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_unknown").arg("code", code.clone()),
        )
    })?;
    if !who.scope.owns(&org.path) || org.kind == "department" {
        return Err(AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_outside"),
        ));
    }
    let Some(rec) = patients::by_id_number(&st.db, d.id_number.as_str()).await? else {
        return Err(AppError::invalid(
            "id_number",
            Msg::new("request.err.no_record"),
        ));
    };
    if who.scope.owns(&rec.org_path) {
        return Err(AppError::invalid(
            "id_number",
            Msg::new("request.err.yours"),
        ));
    }
    if d.kind == RequestKind::Share
        && who.scope.can_see(
            &rec.org_path,
            &patients::shared_with(&st.db, &rec.id).await?,
        )
    {
        return Err(AppError::invalid(
            "id_number",
            Msg::new("request.err.already_shared"),
        ));
    }
    let id = tianshan_platform::new_id();
    let row = RequestRow {
        id: id.clone(),
        kind: d.kind.as_str().to_string(),
        status: RequestStatus::Pending.as_str().to_string(),
        id_number: d.id_number.as_str().to_string(),
        patient_id: rec.id.clone(),
        from_code: rec.org_code.clone(),
        from_path: rec.org_path.clone(),
        to_code: org.code.clone(),
        to_path: org.path.clone(),
        reason: d.reason.clone(),
        requested_by: who.user_id.clone(),
        requested_by_username: who.username.clone(),
        requested_by_name: who.display_name.clone(),
        requested_at: String::new(),
        decided_by: String::new(),
        decided_by_name: String::new(),
        decided_at: None,
        note: String::new(),
        p_full_name: rec.full_name,
        p_name_ug: rec.name_ug,
        p_name_latin: rec.name_latin,
        p_sex: rec.sex,
        p_birth_date: rec.birth_date,
        p_org_code: rec.org_code,
        p_org_path: rec.org_path,
    };
    let (who2, r) = (who.clone(), row.clone());
    let at = st
        .write(move |tx| {
            Box::pin(async move {
                requests::insert(
                    tx,
                    &NewRequest {
                        id: &r.id,
                        kind: &r.kind,
                        id_number: &r.id_number,
                        patient_id: &r.patient_id,
                        from_code: &r.from_code,
                        from_path: &r.from_path,
                        to_code: &r.to_code,
                        to_path: &r.to_path,
                        reason: &r.reason,
                        user_id: &who2.user_id,
                        username: &who2.username,
                        display_name: &who2.display_name,
                    },
                )
                .await?;
                let detail = format!("{} to {} asked of {}", r.kind, r.to_code, r.from_code);
                tx.record(
                    &who2,
                    Event::new(REQUEST, ENTITY, &r.id)
                        .patient(&r.patient_id)
                        .detail(&detail),
                );
                Ok(tx.now().to_string())
            })
        })
        .await?;
    let mut row = row;
    row.requested_at = at;
    view(st, who, row).await?.ok_or(AppError::NotFound)
}

/// A request the caller made or may decide; otherwise NotFound (a refusal is audited).
async fn visible(st: &Platform, who: &Principal, id: &str) -> Result<RequestView, AppError> {
    let row = requests::get(&st.db, id).await?;
    let pid = row.as_ref().map(|r| r.patient_id.clone());
    let found = match row {
        Some(r) => view(st, who, r).await?,
        None => None,
    };
    match (found, pid) {
        (Some(v), _) => Ok(v),
        (None, Some(pid)) => {
            st.audit(
                who,
                Event::new(Action::REFUSED, ENTITY, id)
                    .patient(&pid)
                    .detail("not the requester nor the owner's coordinator"),
            )
            .await?;
            Err(AppError::NotFound)
        }
        (None, None) => Err(AppError::NotFound),
    }
}

/// One request, to its requester or the owning side.
pub async fn get(st: &Platform, who: &Principal, id: &str) -> Result<RequestView, AppError> {
    if !who.can(perms::PATIENTS_WRITE) && !who.can(perms::PATIENTS_TRANSFER) {
        return Err(AppError::Forbidden);
    }
    let v = visible(st, who, id).await?;
    if let Some(p) = &v.patient {
        let detail = format!("request {id}");
        st.audit(
            who,
            Event::new(Action::READ, PATIENT, &p.id)
                .patient(&p.id)
                .detail(&detail),
        )
        .await?;
    }
    Ok(v)
}

/// Requests about records in the caller's own subtree (they approve or refuse these).
pub async fn incoming(st: &Platform, who: &Principal) -> Result<Vec<RequestView>, AppError> {
    who.require(perms::PATIENTS_TRANSFER)?;
    let mut out = Vec::new();
    for r in requests::incoming(&st.db, &who.scope, LIST_LIMIT).await? {
        if let Some(v) = view(st, who, r).await? {
            out.push(v);
        }
    }
    audit_shown(st, who, &out).await?;
    Ok(out)
}

/// Requests the caller made.
pub async fn outgoing(st: &Platform, who: &Principal) -> Result<Vec<RequestView>, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let mut out = Vec::new();
    for r in requests::outgoing(&st.db, &who.user_id, LIST_LIMIT).await? {
        if let Some(v) = view(st, who, r).await? {
            out.push(v);
        }
    }
    audit_shown(st, who, &out).await?;
    Ok(out)
}

/// Approve or refuse a pending request. Only a coordinator whose own subtree holds the record
/// may; approving a transfer moves the record to the requesting organisation, approving a
/// share shares it with them. The decision, the move or share and their audit entries commit
/// together; a request decided meanwhile (or a record moved meanwhile) answers Conflict.
pub async fn decide(
    st: &Platform,
    who: &Principal,
    id: &str,
    approve: bool,
    note: &str,
) -> Result<RequestView, AppError> {
    who.require(perms::PATIENTS_TRANSFER)?;
    let Some(row) = requests::get(&st.db, id).await? else {
        return Err(AppError::NotFound);
    };
    if !who.scope.owns(&row.p_org_path) {
        st.audit(
            who,
            Event::new(Action::REFUSED, ENTITY, id)
                .patient(&row.patient_id)
                .detail("decision outside scope"),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    let note = decision_note(note, !approve).map_err(AppError::Invalid)?;
    if status_of(&row)? != RequestStatus::Pending {
        return Err(AppError::Conflict(Msg::new("request.err.decided")));
    }
    let kind = kind_of(&row)?;
    let (who2, r) = (who.clone(), row.clone());
    st.write(move |tx| {
        Box::pin(async move {
            let status = if approve {
                RequestStatus::Approved
            } else {
                RequestStatus::Refused
            };
            let n = requests::close(
                tx,
                &r.id,
                status.as_str(),
                &who2.username,
                &who2.display_name,
                &note,
            )
            .await?;
            if n == 0 {
                return Err(AppError::Conflict(Msg::new("request.err.decided")));
            }
            let pid = r.patient_id.as_str();
            if approve {
                match kind {
                    RequestKind::Transfer => {
                        let moved =
                            patients::move_to(tx, pid, &r.p_org_path, &r.to_code, &r.to_path)
                                .await?;
                        if moved == 0 {
                            return Err(AppError::Conflict(Msg::new("request.err.moved")));
                        }
                        let detail =
                            format!("from {} to {} (request {})", r.p_org_code, r.to_code, r.id);
                        tx.record(
                            &who2,
                            Event::new(MOVE, PATIENT, pid).patient(pid).detail(&detail),
                        );
                    }
                    RequestKind::Share => {
                        let at_owner = patients::share_if_at(
                            tx,
                            pid,
                            &r.to_code,
                            &r.to_path,
                            &who2.username,
                            &r.p_org_path,
                        )
                        .await?;
                        if !at_owner {
                            return Err(AppError::Conflict(Msg::new("request.err.moved")));
                        }
                        let detail = format!("with {} (request {})", r.to_code, r.id);
                        tx.record(
                            &who2,
                            Event::new(SHARE, PATIENT, pid).patient(pid).detail(&detail),
                        );
                    }
                }
            }
            let action = if approve {
                REQUEST_APPROVE
            } else {
                REQUEST_REFUSE
            };
            let detail = format!("{} to {} by {}", r.kind, r.to_code, r.requested_by_username);
            tx.record(
                &who2,
                Event::new(action, ENTITY, &r.id)
                    .patient(pid)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    let row = requests::get(&st.db, id).await?.ok_or(AppError::NotFound)?;
    view(st, who, row).await?.ok_or(AppError::NotFound)
}

/// The requester takes back a pending request.
pub async fn withdraw(st: &Platform, who: &Principal, id: &str) -> Result<RequestView, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let row = requests::get(&st.db, id).await?;
    let Some(row) = row.filter(|r| is_requester(who, r)) else {
        return Err(AppError::NotFound);
    };
    let (who2, r) = (who.clone(), row.clone());
    st.write(move |tx| {
        Box::pin(async move {
            let n = requests::close(
                tx,
                &r.id,
                RequestStatus::Withdrawn.as_str(),
                &who2.username,
                &who2.display_name,
                "",
            )
            .await?;
            if n == 0 {
                return Err(AppError::Conflict(Msg::new("request.err.decided")));
            }
            tx.record(
                &who2,
                Event::new(REQUEST_WITHDRAW, ENTITY, &r.id).patient(&r.patient_id),
            );
            Ok(())
        })
    })
    .await?;
    let row = requests::get(&st.db, id).await?.ok_or(AppError::NotFound)?;
    view(st, who, row).await?.ok_or(AppError::NotFound)
}

/// An ID number as typed, as a request takes it: no spaces, a capital X.
pub fn typed_id_number(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// How many pending requests wait for this user's decision (for the requests page heading).
pub fn pending(views: &[RequestView]) -> usize {
    views.iter().filter(|v| v.can_decide).count()
}
