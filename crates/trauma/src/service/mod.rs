//! The trauma registry's operations, shared by pages, API and import: permission, scope (every
//! hospital of the chain and its ancestors), the domain checks, scores derived, and the write
//! with its audit entry in one transaction.
use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, ActionDef, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::{Permission, PermissionDef};
use tianshan_platform::{AppError, Msg, Platform};
use tianshan_registry::facade;
use utoipa::ToSchema;

use crate::domain::{self, Checked, RecordInput, StayInput};
use crate::indicators::{self, Indicators};
use crate::scoring::{self, InjuryType};
use crate::store::{self, Filter, InjuryRow, RecordRow, StayRow};

mod board;
mod export;
pub(crate) mod find;
mod prevention;

pub use board::*;
pub use export::*;
pub use find::*;
pub use prevention::*;

pub mod perms {
    use super::Permission;
    pub const READ: Permission = Permission("trauma.read");
    pub const WRITE: Permission = Permission("trauma.write");
    /// Mark a case reviewed with a finding (quality review).
    pub const REVIEW: Permission = Permission("trauma.review");
    /// Type injuries as AIS codes (the AIS dictionary is licensed: only licensed users).
    pub const AIS: Permission = Permission("trauma.ais");
}

pub fn permissions() -> Vec<PermissionDef> {
    use tianshan_platform::scope::builtin::*;
    vec![
        PermissionDef {
            permission: perms::READ,
            label: "perm.trauma.read",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL],
        },
        PermissionDef {
            permission: perms::WRITE,
            label: "perm.trauma.write",
            default_roles: &[CLINICIAN, NURSE],
        },
        PermissionDef {
            permission: perms::REVIEW,
            label: "perm.trauma.review",
            default_roles: &[COORDINATOR, CLINICIAN],
        },
        PermissionDef {
            permission: perms::AIS,
            label: "perm.trauma.ais",
            default_roles: &[],
        },
    ]
}

pub const REVIEW: Action = Action("trauma.review");
pub const ENTITY: &str = "TraumaRecord";

pub fn actions() -> Vec<ActionDef> {
    vec![ActionDef {
        action: REVIEW,
        label: "audit.act.trauma_review",
    }]
}

/// The coefficient set new scores are computed with.
pub fn triss_model() -> &'static str {
    scoring::DEFAULT_TRISS
}

/// A record with its chain and injuries, as pages and API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    #[serde(flatten)]
    pub record: RecordRow,
    pub stays: Vec<StayRow>,
    pub injuries: Vec<InjuryRow>,
    /// The patient's name when the reader may see the registry record, else empty.
    pub patient_name: String,
}

fn invalid(errs: Vec<tianshan_platform::error::FieldError>) -> AppError {
    AppError::Invalid(errs)
}

/// Builds the stored row (derived columns included) from a checked input.
pub(crate) fn build(
    c: &Checked,
    stays: &[StayRow],
    age: Option<u16>,
    sex: &str,
) -> (RecordRow, Vec<InjuryRow>) {
    let r = &c.input;
    let first = stays.first().cloned().unwrap_or_default();
    let last = stays.last().cloned().unwrap_or_default();
    let op_stay = (!r.operation_at.is_empty())
        .then(|| {
            domain::stay_at(
                &stays
                    .iter()
                    .map(|s| StayInput {
                        org_code: s.org_code.clone(),
                        arrived_at: s.arrived_at.clone(),
                        departed_at: s.departed_at.clone(),
                    })
                    .collect::<Vec<_>>(),
                &r.operation_at,
            )
        })
        .flatten()
        .and_then(|i| stays.get(i));
    let pre_start = if r.call_at.is_empty() {
        &r.injured_at
    } else {
        &r.call_at
    };
    let mut transfer = None;
    for w in stays.windows(2) {
        if let Some(m) = domain::minutes(&w[0].departed_at, &w[1].arrived_at) {
            transfer = Some(transfer.unwrap_or(0) + m);
        }
    }
    let died = match (r.outcome_discharge.as_str(), r.outcome_30d.as_str()) {
        ("dead", _) | (_, "dead") => Some(1),
        ("alive", _) => Some(0),
        _ => None,
    };
    let kind = domain::injury_type(&r.mechanism);
    let ps = match (c.rts, c.iss, age, scoring::triss_model(triss_model())) {
        (Some(rts), Some(iss), Some(age), Ok(m)) => Some(scoring::triss_ps(m, kind, rts, iss, age)),
        _ => None,
    };
    let month = tianshan_platform::clock::parse_timestamp(&first.arrived_at)
        .and_then(|t| {
            time::UtcOffset::from_hms(8, 0, 0)
                .ok()
                .map(|o| t.to_offset(o))
        })
        .map(|t| format!("{:04}-{:02}", t.year(), t.month() as u8))
        .unwrap_or_default();
    let row = RecordRow {
        id: String::new(),
        patient_id: r.patient_id.trim().to_string(),
        sex: sex.to_string(),
        age_years: age.map(i64::from),
        injured_at: r.injured_at.clone(),
        injury_place: r.injury_place.trim().to_string(),
        mechanism: r.mechanism.clone(),
        injury_type: match kind {
            InjuryType::Blunt => "blunt".into(),
            InjuryType::Penetrating => "penetrating".into(),
        },
        call_at: r.call_at.clone(),
        dispatch_at: r.dispatch_at.clone(),
        scene_at: r.scene_at.clone(),
        scene_departed_at: r.scene_departed_at.clone(),
        first_arrival_at: first.arrived_at.clone(),
        first_org_code: first.org_code.clone(),
        last_org_code: last.org_code.clone(),
        month,
        trauma_team_at: r.trauma_team_at.clone(),
        mdt_called_at: r.mdt_called_at.clone(),
        mdt_arrived_at: r.mdt_arrived_at.clone(),
        ct_at: r.ct_at.clone(),
        operation_at: r.operation_at.clone(),
        operation_org_code: op_stay.map(|s| s.org_code.clone()).unwrap_or_default(),
        icu_in_at: r.icu_in_at.clone(),
        icu_out_at: r.icu_out_at.clone(),
        discharge_at: r.discharge_at.clone(),
        rehab_at: r.rehab_at.clone(),
        psych_at: r.psych_at.clone(),
        gcs_eye: r.gcs_eye.map(i64::from),
        gcs_verbal: r.gcs_verbal.map(i64::from),
        gcs_motor: r.gcs_motor.map(i64::from),
        gcs: c.gcs.map(i64::from),
        sbp: r.sbp.map(i64::from),
        rr: r.rr.map(i64::from),
        rts_e4: c.rts.map(|v| (v * 10_000.0).round() as i64),
        iss: c.iss.map(i64::from),
        niss: c.niss.map(i64::from),
        ps_e6: ps.map(|p| (p * 1e6).round() as i64),
        triss_model: if ps.is_some() {
            triss_model().to_string()
        } else {
            String::new()
        },
        arrival_to_op_min: op_stay.and_then(|s| domain::minutes(&s.arrived_at, &r.operation_at)),
        prehospital_min: domain::minutes(pre_start, &first.arrived_at),
        transfer_min: transfer,
        outcome_discharge: r.outcome_discharge.clone(),
        outcome_30d: r.outcome_30d.clone(),
        died,
        disposition: r.disposition.clone(),
        ..Default::default()
    };
    let injuries = c
        .injuries
        .iter()
        .enumerate()
        .map(|(i, x)| InjuryRow {
            position: i as i64,
            icd10: x.icd10.clone(),
            ais_code: x.ais_code.clone(),
            region: x.region.as_str().to_string(),
            severity: i64::from(x.severity),
            source: x.source.clone(),
        })
        .collect();
    (row, injuries)
}

/// Resolve the stays' organisations (they must exist and be places that treat patients).
async fn resolve_stays(st: &Platform, stays: &[StayInput]) -> Result<Vec<StayRow>, AppError> {
    let codes: Vec<String> = stays.iter().map(|s| s.org_code.clone()).collect();
    let orgs = facade::orgs(st, &codes).await?;
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, s) in stays.iter().enumerate() {
        match orgs.iter().find(|o| o.code == s.org_code) {
            Some(o)
                if matches!(
                    o.kind.as_str(),
                    "hospital" | "clinic" | "department" | "rear_hospital"
                ) =>
            {
                out.push(StayRow {
                    position: i as i64,
                    org_code: o.code.clone(),
                    org_path: o.path.clone(),
                    arrived_at: s.arrived_at.clone(),
                    departed_at: s.departed_at.clone(),
                })
            }
            _ => errs.push(tianshan_platform::error::FieldError::new(
                format!("stays.{i}.org_code"),
                Msg::new("trauma.err.org").arg("code", s.org_code.clone()),
            )),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(invalid(errs))
    }
}

fn sees(who: &Principal, stays: &[StayRow]) -> bool {
    who.scope.subtree_applies() && stays.iter().any(|s| who.scope.covers(&s.org_path))
}

/// Check, derive and resolve everything a write needs (no writing).
pub(crate) async fn prepare(
    st: &Platform,
    who: &Principal,
    input: RecordInput,
) -> Result<(RecordRow, Vec<StayRow>, Vec<InjuryRow>), AppError> {
    let c = domain::check(input, who.can(perms::AIS)).map_err(invalid)?;
    let stays = resolve_stays(st, &c.input.stays).await?;
    if !sees(who, &stays) {
        return Err(AppError::invalid("stays", Msg::new("trauma.err.outside")));
    }
    let p = facade::require_patient(st, who, &c.input.patient_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound => AppError::invalid("patient_id", Msg::new("trauma.err.patient")),
            e => e,
        })?;
    let summary = facade::patient(st, who, &p.id).await?;
    let at = if c.input.injured_at.is_empty() {
        stays
            .first()
            .map(|s| s.arrived_at.clone())
            .unwrap_or_default()
    } else {
        c.input.injured_at.clone()
    };
    let age = summary
        .birth_date
        .as_deref()
        .and_then(|b| domain::age_at(b, &at))
        .or(c.input.age_years);
    let (row, injuries) = build(&c, &stays, age, &summary.sex);
    Ok((row, stays, injuries))
}

/// Begin a record (the first hospital is the first stay). Scores are computed here.
pub async fn create(
    st: &Platform,
    who: &Principal,
    input: RecordInput,
) -> Result<RecordView, AppError> {
    who.require(perms::WRITE)?;
    let (mut row, stays, injuries) = prepare(st, who, input).await?;
    row.id = tianshan_platform::new_id();
    row.created_by = who.username.clone();
    row.version = 1;
    let (w, r, s, i) = (who.clone(), row, stays, injuries);
    let id = st
        .write(move |tx| {
            Box::pin(async move {
                let mut r = r;
                r.created_at = tx.now().to_string();
                r.updated_at = r.created_at.clone();
                store::insert(tx, &r, &s, &i).await?;
                let detail = format!("ISS {:?} Ps {:?}", r.iss, r.ps_e6);
                tx.record(
                    &w,
                    Event::new(Action::CREATE, ENTITY, &r.id)
                        .patient(&r.patient_id)
                        .detail(&detail),
                );
                Ok(r.id)
            })
        })
        .await?;
    read_unaudited(st, who, &id).await
}

/// Replace a record (full form, or a transfer adding a stay). `version` must be the one read.
pub async fn update(
    st: &Platform,
    who: &Principal,
    id: &str,
    version: i64,
    input: RecordInput,
) -> Result<RecordView, AppError> {
    who.require(perms::WRITE)?;
    let old = visible(st, who, id).await?;
    if input.patient_id.trim() != old.record.patient_id {
        return Err(AppError::invalid(
            "patient_id",
            Msg::new("trauma.err.patient_changed"),
        ));
    }
    let (mut row, stays, injuries) = prepare(st, who, input).await?;
    row.id = old.record.id.clone();
    row.created_at = old.record.created_at.clone();
    row.created_by = old.record.created_by.clone();
    row.reviewed_at = old.record.reviewed_at.clone();
    row.reviewed_by = old.record.reviewed_by.clone();
    row.review_finding = old.record.review_finding.clone();
    row.version = version + 1;
    let (w, r, s, i) = (who.clone(), row, stays, injuries);
    let id = st
        .write(move |tx| {
            Box::pin(async move {
                let mut r = r;
                r.updated_at = tx.now().to_string();
                if !store::replace(tx, &r, version, &s, &i).await? {
                    return Err(AppError::Conflict(Msg::new("trauma.err.version")));
                }
                let detail = format!("v{} ISS {:?} Ps {:?}", r.version, r.iss, r.ps_e6);
                tx.record(
                    &w,
                    Event::new(Action::UPDATE, ENTITY, &r.id)
                        .patient(&r.patient_id)
                        .detail(&detail),
                );
                Ok(r.id)
            })
        })
        .await?;
    read_unaudited(st, who, &id).await
}

/// The record as input again (for a transfer or the full form).
pub fn to_input(v: &RecordView) -> RecordInput {
    let r = &v.record;
    RecordInput {
        patient_id: r.patient_id.clone(),
        age_years: r.age_years.and_then(|a| u16::try_from(a).ok()),
        injured_at: r.injured_at.clone(),
        injury_place: r.injury_place.clone(),
        mechanism: r.mechanism.clone(),
        call_at: r.call_at.clone(),
        dispatch_at: r.dispatch_at.clone(),
        scene_at: r.scene_at.clone(),
        scene_departed_at: r.scene_departed_at.clone(),
        stays: v
            .stays
            .iter()
            .map(|s| StayInput {
                org_code: s.org_code.clone(),
                arrived_at: s.arrived_at.clone(),
                departed_at: s.departed_at.clone(),
            })
            .collect(),
        trauma_team_at: r.trauma_team_at.clone(),
        mdt_called_at: r.mdt_called_at.clone(),
        mdt_arrived_at: r.mdt_arrived_at.clone(),
        ct_at: r.ct_at.clone(),
        operation_at: r.operation_at.clone(),
        icu_in_at: r.icu_in_at.clone(),
        icu_out_at: r.icu_out_at.clone(),
        discharge_at: r.discharge_at.clone(),
        rehab_at: r.rehab_at.clone(),
        psych_at: r.psych_at.clone(),
        gcs_eye: r.gcs_eye.and_then(|v| u8::try_from(v).ok()),
        gcs_verbal: r.gcs_verbal.and_then(|v| u8::try_from(v).ok()),
        gcs_motor: r.gcs_motor.and_then(|v| u8::try_from(v).ok()),
        sbp: r.sbp.and_then(|v| u16::try_from(v).ok()),
        rr: r.rr.and_then(|v| u16::try_from(v).ok()),
        injuries: v
            .injuries
            .iter()
            .map(|i| domain::InjuryInput {
                icd10: i.icd10.clone(),
                ais_code: i.ais_code.clone(),
                region: if i.source == "ais_licensed" {
                    i.region.clone()
                } else {
                    String::new()
                },
                severity: (i.source == "ais_licensed").then_some(i.severity as u8),
            })
            .collect(),
        outcome_discharge: r.outcome_discharge.clone(),
        outcome_30d: r.outcome_30d.clone(),
        disposition: r.disposition.clone(),
    }
}

/// A transfer: the current hospital's departure and the next hospital's arrival.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TransferInput {
    pub version: i64,
    /// The receiving hospital.
    pub org_code: String,
    pub departed_at: String,
    pub arrived_at: String,
}

/// Hand the patient on to another hospital: the last stay gets its departure and a new stay
/// begins. The receiving hospital sees the same record from then on.
pub async fn transfer(
    st: &Platform,
    who: &Principal,
    id: &str,
    t: TransferInput,
) -> Result<RecordView, AppError> {
    who.require(perms::WRITE)?;
    let v = visible(st, who, id).await?;
    let mut input = to_input(&v);
    if let Some(last) = input.stays.last_mut() {
        last.departed_at = t.departed_at.clone();
    }
    input.stays.push(StayInput {
        org_code: t.org_code.trim().to_string(),
        arrived_at: t.arrived_at,
        departed_at: String::new(),
    });
    update(st, who, id, t.version, input).await
}

/// Load a record the caller may see; NotFound otherwise (a refusal of a known record is
/// audited).
async fn visible(st: &Platform, who: &Principal, id: &str) -> Result<RecordView, AppError> {
    who.require(perms::READ)?;
    let Some(record) = store::get(&st.db, id).await? else {
        return Err(AppError::NotFound);
    };
    let stays = store::stays(&st.db, id).await?;
    if !sees(who, &stays) {
        st.audit(
            who,
            Event::new(Action::REFUSED, ENTITY, id)
                .patient(&record.patient_id)
                .detail("no stay in scope"),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    let injuries = store::injuries(&st.db, id).await?;
    Ok(RecordView {
        record,
        stays,
        injuries,
        patient_name: String::new(),
    })
}

async fn read_unaudited(st: &Platform, who: &Principal, id: &str) -> Result<RecordView, AppError> {
    let mut v = visible(st, who, id).await?;
    v.patient_name = patient_name(st, who, &v.record.patient_id).await;
    Ok(v)
}

/// The patient's name if the registry lets the reader see it (a receiving hospital in another
/// prefecture may not: it sees the record, not the registry entry).
async fn patient_name(st: &Platform, who: &Principal, id: &str) -> String {
    match facade::patient(st, who, id).await {
        Ok(p) => p.full_name,
        Err(_) => String::new(),
    }
}

/// One record, audited as a read.
pub async fn read(st: &Platform, who: &Principal, id: &str) -> Result<RecordView, AppError> {
    let v = read_unaudited(st, who, id).await?;
    st.audit(
        who,
        Event::new(Action::READ, ENTITY, id).patient(&v.record.patient_id),
    )
    .await?;
    Ok(v)
}
