//! Patient operations shared by pages, the JSON API and FHIR: each checks permission and
//! scope, runs the domain rules, stores, and writes the audit entry. One path per operation,
//! so the three faces cannot drift apart on who may see what.
use serde::Serialize;
use tianshan_platform::audit::{self, Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::Permission;
use tianshan_platform::{AppError, FieldError, Msg, Platform};

use crate::domain::patient::{duplicate_kind, Existing};
use crate::domain::{DuplicateKind, PatientDraft, PatientInput};
use crate::store::orgs;
use crate::store::patients::{self, GuardianRow, PatientQuery, PatientRow};

/// A likely duplicate, shown to the person registering. Out-of-scope records are named
/// only as "registered elsewhere", never with their details.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub kind: &'static str,
    pub id: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
}

pub enum CreateOutcome {
    Created(String),
    Duplicates(Vec<DuplicateView>),
}

pub struct CreateOptions<'a> {
    /// The user saw the probable duplicates and confirmed this is someone else.
    pub confirmed_not_duplicate: bool,
    pub fhir_extra: &'a str,
    /// Keep a given id (FHIR update-as-create); otherwise a new UUID.
    pub id: Option<&'a str>,
}

fn today(st: &Platform) -> time::Date {
    st.clock.now().date()
}

/// Validate the input and check that its organisation exists and is inside the user's scope.
pub async fn validate(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
) -> Result<(PatientDraft, String), AppError> {
    let draft = input.validate(today(st)).map_err(AppError::Invalid)?;
    let org = orgs::get(&st.db, &draft.org_code).await?;
    let Some(org) = org else {
        return Err(AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_unknown").arg("code", draft.org_code.clone()),
        ));
    };
    if !who.scope.covers(&org.path) || !who.scope.subtree_applies() {
        return Err(AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_outside"),
        ));
    }
    Ok((draft, org.path))
}

fn duplicate_views(
    who: &Principal,
    draft: &PatientDraft,
    candidates: &[PatientRow],
) -> (bool, Vec<DuplicateView>) {
    let mut hard = false;
    let mut views = Vec::new();
    for c in candidates {
        let existing = Existing {
            id_number: c.id_number.as_deref(),
            full_name: &c.full_name,
            birth_date: c.birth_date.as_deref(),
            org_code: &c.org_code,
        };
        let Some(kind) = duplicate_kind(draft, &existing) else {
            continue;
        };
        hard |= kind == DuplicateKind::SameIdNumber;
        let visible = who.scope.can_see_patient(&c.org_path, &[]);
        views.push(DuplicateView {
            kind: match kind {
                DuplicateKind::SameIdNumber => "same_id_number",
                DuplicateKind::SameNameBirthPlace => "same_name_birth_place",
            },
            id: visible.then(|| c.id.clone()),
            full_name: visible.then(|| c.full_name.clone()),
            birth_date: if visible { c.birth_date.clone() } else { None },
        });
    }
    (hard, views)
}

pub async fn create(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
    opts: CreateOptions<'_>,
) -> Result<CreateOutcome, AppError> {
    who.require(Permission::WritePatients)?;
    let (draft, path) = validate(st, who, input).await?;
    let candidates = patients::duplicate_candidates(&st.db, &draft, None).await?;
    let (hard, dups) = duplicate_views(who, &draft, &candidates);
    if hard || (!dups.is_empty() && !opts.confirmed_not_duplicate) {
        // Showing a possible duplicate shows another patient's data: that is a read.
        for id in dups.iter().filter_map(|d| d.id.as_deref()) {
            let ev = Event {
                action: Action::Read,
                entity_type: "Patient",
                entity_id: id,
                patient_id: Some(id),
                detail: "shown as a possible duplicate",
            };
            audit::record(&st.db, &st.clock, who, ev).await?;
        }
        return Ok(CreateOutcome::Duplicates(dups));
    }
    check_guardians(st, who, &draft).await?;
    let id = match opts.id {
        Some(id) => {
            patients::insert_with_id(
                &st.db,
                id,
                &draft,
                &path,
                opts.fhir_extra,
                &st.clock.now_text(),
            )
            .await?;
            id.to_string()
        }
        None => {
            patients::insert(&st.db, &draft, &path, opts.fhir_extra, &st.clock.now_text()).await?
        }
    };
    audit::record(
        &st.db,
        &st.clock,
        who,
        Event {
            action: Action::Create,
            entity_type: "Patient",
            entity_id: &id,
            patient_id: Some(&id),
            detail: "",
        },
    )
    .await?;
    Ok(CreateOutcome::Created(id))
}

/// A guardian given by patient id must be a patient the user can see.
async fn check_guardians(
    st: &Platform,
    who: &Principal,
    draft: &PatientDraft,
) -> Result<(), AppError> {
    for (i, g) in draft.guardians.iter().enumerate() {
        if let Some(gid) = &g.patient_id {
            let visible = match patients::get(&st.db, gid).await? {
                Some(row) => who
                    .scope
                    .can_see_patient(&row.org_path, &patients::shared_with(&st.db, gid).await?),
                None => false,
            };
            if !visible {
                return Err(AppError::Invalid(vec![FieldError::new(
                    format!("guardians[{i}].patient_id"),
                    Msg::new("patient.err.guardian_unknown"),
                )]));
            }
        }
    }
    Ok(())
}

/// The patient, if it exists and the user may see it; otherwise NotFound (never revealing
/// that an out-of-scope record exists).
async fn visible_row(st: &Platform, who: &Principal, id: &str) -> Result<PatientRow, AppError> {
    who.require(Permission::ReadPatients)?;
    let row = patients::get(&st.db, id).await?.ok_or(AppError::NotFound)?;
    let shares = patients::shared_with(&st.db, id).await?;
    if !who.scope.can_see_patient(&row.org_path, &shares) {
        audit::record(
            &st.db,
            &st.clock,
            who,
            Event {
                action: Action::Read,
                entity_type: "Patient",
                entity_id: id,
                patient_id: Some(id),
                detail: "refused: outside scope",
            },
        )
        .await?;
        return Err(AppError::NotFound);
    }
    Ok(row)
}

pub struct PatientRecord {
    pub row: PatientRow,
    pub guardians: Vec<GuardianRow>,
    pub wards: Vec<(String, String)>,
}

pub async fn read(st: &Platform, who: &Principal, id: &str) -> Result<PatientRecord, AppError> {
    let row = visible_row(st, who, id).await?;
    let guardians = patients::guardians(&st.db, id).await?;
    let wards = patients::wards(&st.db, id).await?;
    audit::record(
        &st.db,
        &st.clock,
        who,
        Event {
            action: Action::Read,
            entity_type: "Patient",
            entity_id: id,
            patient_id: Some(id),
            detail: "",
        },
    )
    .await?;
    Ok(PatientRecord {
        row,
        guardians,
        wards,
    })
}

pub async fn update(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &PatientInput,
    expected_version: Option<i64>,
    fhir_extra: Option<&str>,
) -> Result<i64, AppError> {
    who.require(Permission::WritePatients)?;
    visible_row(st, who, id).await?;
    let (draft, path) = validate(st, who, input).await?;
    let candidates = patients::duplicate_candidates(&st.db, &draft, Some(id)).await?;
    if duplicate_views(who, &draft, &candidates).0 {
        return Err(AppError::invalid(
            "id_number",
            Msg::new("patient.err.id_taken"),
        ));
    }
    check_guardians(st, who, &draft).await?;
    let v = patients::update(
        &st.db,
        id,
        &draft,
        &path,
        fhir_extra,
        expected_version,
        &st.clock.now_text(),
    )
    .await?;
    audit::record(
        &st.db,
        &st.clock,
        who,
        Event {
            action: Action::Update,
            entity_type: "Patient",
            entity_id: id,
            patient_id: Some(id),
            detail: "",
        },
    )
    .await?;
    Ok(v)
}

/// Search inside the user's scope. The audit entry lists the records shown.
pub async fn search(
    st: &Platform,
    who: &Principal,
    q: &PatientQuery,
) -> Result<Vec<PatientRow>, AppError> {
    who.require(Permission::ReadPatients)?;
    let rows = patients::search(&st.db, q, &who.scope).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} results: {}", rows.len(), ids.join(" "));
    audit::record(
        &st.db,
        &st.clock,
        who,
        Event {
            action: Action::Search,
            entity_type: "Patient",
            entity_id: "",
            patient_id: None,
            detail: &detail,
        },
    )
    .await?;
    Ok(rows)
}

/// Share a patient with another organisation (a rear hospital or a partner) so its experts
/// can see the record.
pub async fn share(
    st: &Platform,
    who: &Principal,
    id: &str,
    org_code: &str,
) -> Result<(), AppError> {
    who.require(Permission::WritePatients)?;
    visible_row(st, who, id).await?;
    let org = orgs::get(&st.db, org_code).await?.ok_or_else(|| {
        AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_unknown").arg("code", org_code),
        )
    })?;
    patients::share(
        &st.db,
        id,
        &org.code,
        &org.path,
        &who.username,
        &st.clock.now_text(),
    )
    .await?;
    audit::record(
        &st.db,
        &st.clock,
        who,
        Event {
            action: Action::Update,
            entity_type: "Patient",
            entity_id: id,
            patient_id: Some(id),
            detail: &format!("shared with {}", org.code),
        },
    )
    .await?;
    Ok(())
}

/// Build a search from a single box: an 18-character ID number, a phone number, or a name.
pub fn query_from_box(q: &str) -> PatientQuery {
    let t = q.trim();
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let mut query = PatientQuery {
        limit: 50,
        ..Default::default()
    };
    if compact.chars().count() == 18 && compact.chars().take(17).all(|c| c.is_ascii_digit()) {
        query.id_number = Some(compact.to_uppercase());
    } else if compact.len() >= 5
        && compact
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
    {
        query.phone = Some(compact);
    } else if !t.is_empty() {
        query.term = Some(t.to_string());
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_box_recognises_id_phone_and_name() {
        assert_eq!(
            query_from_box("11010519491231002x").id_number.as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(
            query_from_box("13912345678").phone.as_deref(),
            Some("13912345678")
        );
        assert_eq!(query_from_box("zs").term.as_deref(), Some("zs"));
        assert_eq!(query_from_box("张三").term.as_deref(), Some("张三"));
        assert!(query_from_box("  ").is_empty());
        // 18 bytes of Chinese text is a name, not an ID number (and must not panic).
        assert_eq!(
            query_from_box("张三张三张三").term.as_deref(),
            Some("张三张三张三")
        );
    }
}
