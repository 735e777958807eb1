//! The registry's front door for other modules: find a patient in the caller's scope, check
//! that the caller may see or change one, register one, and resolve organisations and
//! practitioners. Every patient lookup here applies the scope rule and writes the audit entry,
//! so a module cannot skip either; the registry's tables and row types stay private.
use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Tx;
use tianshan_platform::i18n::Locale;
use tianshan_platform::{AppError, Platform};

pub use crate::domain::patient::GuardianInput;
pub use crate::domain::PatientInput;
pub use crate::service::perms;
use crate::service::{self, directory, Checked, CreateOutcome, ReadDetail};
pub use crate::service::{CreateOptions, DuplicateView};
use crate::store::orgs::{Org, OrgQuery};
use crate::store::patients::{self, PatientQuery, PatientRow};

/// What a module needs to know of a patient.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PatientSummary {
    pub id: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub sex: String,
    pub birth_date: Option<String>,
    pub ethnicity: String,
    pub id_number: Option<String>,
    pub phone: String,
    pub address: String,
    /// The organisation the patient is registered at, and its path (for module records'
    /// own scope filters).
    pub org_code: String,
    pub org_path: String,
    pub guardians: Vec<Guardian>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Guardian {
    pub patient_id: Option<String>,
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

impl PatientSummary {
    fn from_row(r: PatientRow, guardians: Vec<Guardian>) -> Self {
        PatientSummary {
            id: r.id,
            full_name: r.full_name,
            name_ug: r.name_ug,
            name_latin: r.name_latin,
            sex: r.sex,
            birth_date: r.birth_date,
            ethnicity: r.ethnicity,
            id_number: r.id_number,
            phone: r.phone,
            address: r.address,
            org_code: r.org_code,
            org_path: r.org_path,
            guardians,
        }
    }

    /// The name to show in the reader's language: Uyghur script for Uyghur readers when known.
    pub fn display_name(&self, locale: Locale) -> &str {
        match locale {
            Locale::Ug if !self.name_ug.is_empty() => &self.name_ug,
            Locale::En if !self.name_latin.is_empty() => &self.name_latin,
            _ => &self.full_name,
        }
    }
}

fn guardians_of(rec: &service::PatientRecord) -> Vec<Guardian> {
    rec.guardians
        .iter()
        .map(|g| Guardian {
            patient_id: g.guardian_id.clone(),
            name: g.name.clone(),
            relationship: g.relationship.clone(),
            phone: g.phone.clone(),
        })
        .collect()
}

/// Read a patient the caller may see (audited as a read). Out of scope and unknown answer
/// the same NotFound.
pub async fn patient(st: &Platform, who: &Principal, id: &str) -> Result<PatientSummary, AppError> {
    let rec = service::read(st, who, id, ReadDetail::default()).await?;
    let g = guardians_of(&rec);
    Ok(PatientSummary::from_row(rec.row, g))
}

/// A patient reference checked for a module's own write about the patient (a dose, a case):
/// the scope rule applies, a refusal is audited, and the module records its own action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRef {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    /// The caller's own subtree holds the record (not only a share).
    pub owned: bool,
}

pub async fn require_patient(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<PatientRef, AppError> {
    let row = service::visible_row(st, who, id).await?;
    Ok(PatientRef {
        owned: who.scope.owns(&row.org_path),
        id: row.id,
        org_code: row.org_code,
        org_path: row.org_path,
    })
}

/// Find patients from one search box (name in any script, pinyin initials, ID number, phone),
/// inside the caller's scope, at most `limit`. Audited as a search listing what was shown.
pub async fn find_patients(
    st: &Platform,
    who: &Principal,
    text: &str,
    limit: i64,
) -> Result<Vec<PatientSummary>, AppError> {
    let mut q = service::query_from_box(text);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    q.limit = limit.clamp(1, 200);
    let rows = service::search(st, who, &q).await?;
    Ok(rows
        .into_iter()
        .map(|r| PatientSummary::from_row(r, Vec::new()))
        .collect())
}

/// Patients by id, keeping those the caller may see (others are silently left out, as a search
/// would). Audited as one search entry listing the ids returned.
pub async fn patients_by_ids(
    st: &Platform,
    who: &Principal,
    ids: &[String],
) -> Result<Vec<PatientSummary>, AppError> {
    who.require(perms::PATIENTS_READ)?;
    let rows = patients::by_ids(&st.db, ids, &who.scope).await?;
    let shown: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} by id: {}", rows.len(), shown.join(" "));
    st.audit(
        who,
        Event::new(Action::SEARCH, service::PATIENT, "").detail(&detail),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PatientSummary::from_row(r, Vec::new()))
        .collect())
}

pub enum Registered {
    Created(Box<PatientSummary>),
    /// Probable duplicates: nothing was written.
    Duplicates(Vec<DuplicateView>),
}

/// Register a patient (the registry's own rules: ID check digit, duplicates, scope).
pub async fn register_patient(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
    opts: CreateOptions,
) -> Result<Registered, AppError> {
    match service::create(st, who, input, opts).await? {
        CreateOutcome::Duplicates(d) => Ok(Registered::Duplicates(d)),
        CreateOutcome::Created(rec) => {
            let g = guardians_of(&rec);
            Ok(Registered::Created(Box::new(PatientSummary::from_row(
                rec.row, g,
            ))))
        }
    }
}

/// A registration checked and ready to write inside a module's own transaction (a trauma
/// record begun with a new patient is one transaction).
pub struct PendingPatient(Box<service::PatientWrite>);

impl PendingPatient {
    pub fn id(&self) -> &str {
        &self.0.id
    }
    pub async fn write(self, tx: &mut Tx, who: &Principal) -> Result<PatientSummary, AppError> {
        let rec = self.0.apply(tx, who).await?;
        let g = guardians_of(&rec);
        Ok(PatientSummary::from_row(rec.row, g))
    }
}

pub enum CheckedPatient {
    Ready(PendingPatient),
    Duplicates(Vec<DuplicateView>),
}

pub async fn check_patient(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
    opts: CreateOptions,
) -> Result<CheckedPatient, AppError> {
    Ok(match service::check_create(st, who, input, opts).await? {
        Checked::Ready(w) => CheckedPatient::Ready(PendingPatient(w)),
        Checked::Duplicates(d) => CheckedPatient::Duplicates(d),
    })
}

/// An organisation of the tree, as modules see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrgInfo {
    pub code: String,
    pub parent_code: Option<String>,
    pub path: String,
    /// region, prefecture, county, township, village, hospital, clinic, department,
    /// rear_hospital, partner, office.
    pub kind: String,
    pub name_zh: String,
    pub name_ug: String,
    pub name_en: String,
}

impl OrgInfo {
    pub fn name(&self, l: Locale) -> &str {
        match l {
            Locale::Ug if !self.name_ug.is_empty() => &self.name_ug,
            Locale::En if !self.name_en.is_empty() => &self.name_en,
            _ => &self.name_zh,
        }
    }
    /// Codes of the nodes from the root down to this one.
    pub fn lineage(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }
}

impl From<Org> for OrgInfo {
    fn from(o: Org) -> Self {
        OrgInfo {
            code: o.code,
            parent_code: o.parent_code,
            path: o.path,
            kind: o.kind,
            name_zh: o.name_zh,
            name_ug: o.name_ug,
            name_en: o.name_en,
        }
    }
}

/// Resolve an organisation code (the tree is not personal data: no permission needed).
pub async fn org(st: &Platform, code: &str) -> Result<Option<OrgInfo>, AppError> {
    Ok(directory::org(st, code).await?.map(OrgInfo::from))
}

/// Resolve many codes at once (for lists that name their organisations).
pub async fn orgs(st: &Platform, codes: &[String]) -> Result<Vec<OrgInfo>, AppError> {
    Ok(crate::store::orgs::by_codes(&st.db, codes)
        .await?
        .into_iter()
        .map(OrgInfo::from)
        .collect())
}

/// The nodes of the caller's scope, in tree order (for choosers in forms), at most `limit`.
pub async fn scope_orgs(
    st: &Platform,
    who: &Principal,
    limit: i64,
) -> Result<Vec<OrgInfo>, AppError> {
    Ok(directory::scope_orgs(st, who, limit)
        .await?
        .into_iter()
        .map(OrgInfo::from)
        .collect())
}

/// Organisations of given kinds anywhere in the network (rear hospitals, partners: targets of
/// requests that cross scopes), at most `limit`.
pub async fn orgs_of_kind(
    st: &Platform,
    kinds: &[&'static str],
    limit: i64,
) -> Result<Vec<OrgInfo>, AppError> {
    let q = OrgQuery {
        kinds: kinds.to_vec(),
        limit,
        ..Default::default()
    };
    Ok(crate::store::orgs::search(&st.db, &q)
        .await?
        .into_iter()
        .map(OrgInfo::from)
        .collect())
}

/// Direct children of a node.
pub async fn children(st: &Platform, code: &str) -> Result<Vec<OrgInfo>, AppError> {
    Ok(crate::store::orgs::children(&st.db, Some(code))
        .await?
        .into_iter()
        .map(OrgInfo::from)
        .collect())
}

/// A practitioner, as modules see one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PractitionerInfo {
    pub id: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub org_code: String,
    pub org_path: String,
    pub title: String,
    pub specialty: String,
}

pub async fn practitioner(st: &Platform, id: &str) -> Result<Option<PractitionerInfo>, AppError> {
    Ok(crate::store::practitioners::get(&st.db, id)
        .await?
        .map(|p| PractitionerInfo {
            id: p.id,
            full_name: p.full_name,
            name_ug: p.name_ug,
            name_latin: p.name_latin,
            org_code: p.org_code,
            org_path: p.org_path,
            title: p.title,
            specialty: p.specialty,
        }))
}

/// Is this the query of an empty search box?
pub fn is_empty_query(text: &str) -> bool {
    let q: PatientQuery = service::query_from_box(text);
    q.is_empty()
}

/// Demo data and operators' tools add organisation nodes a module needs (a county's clinics);
/// existing codes are left as they are.
pub async fn ensure_org(
    st: &Platform,
    code: &str,
    parent: Option<&str>,
    kind: &str,
    names: [&str; 3],
) -> Result<OrgInfo, AppError> {
    if let Some(o) = directory::org(st, code).await? {
        return Ok(o.into());
    }
    let path = crate::store::orgs::path_for(&st.db, code, parent).await?;
    let o = crate::store::orgs::NewOrg {
        code: code.to_string(),
        parent_code: parent.map(str::to_string),
        kind: kind.to_string(),
        name_zh: names[0].to_string(),
        name_ug: names[1].to_string(),
        name_en: names[2].to_string(),
    };
    let org = st
        .write(move |tx| Box::pin(async move { crate::store::orgs::insert(tx, &o, &path).await }))
        .await?;
    Ok(org.into())
}

pub use crate::domain::requests::{RequestKind, RequestStatus};

/// What a module learns of a transfer or share request it raised: where it stands and, once
/// approved (and while the caller may see it), the patient's id.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PatientRequestInfo {
    pub id: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    /// The requesting organisation.
    pub org_code: String,
    /// The decision's note (a refusal always has one).
    pub note: String,
    /// Only once approved and visible to the caller; never before.
    pub patient_id: Option<String>,
}

impl From<service::requests::RequestView> for PatientRequestInfo {
    fn from(v: service::requests::RequestView) -> Self {
        PatientRequestInfo {
            id: v.id,
            kind: v.kind,
            status: v.status,
            org_code: v.org_code,
            note: v.note,
            patient_id: v.patient.map(|p| p.id),
        }
    }
}

/// Ask the organisation that holds the record with this resident ID number (registered
/// elsewhere: `DuplicateView::elsewhere` from [`register_patient`] or [`check_patient`]) to
/// transfer it to, or share it with, `org_code` (an organisation in the caller's own subtree;
/// `None`: the caller's scope node) — the vaccination clinic's moved-in child. Needs
/// `registry.patients.write`; `reason` is required (at most 500 characters). The record is
/// never described to the caller before a coordinator of its organisation approves; the
/// request and the decision are audited. Errors: Invalid for a bad ID number, an ID number
/// that names no record or one the caller already owns; Conflict when the same request is
/// already pending.
pub async fn request_patient(
    st: &Platform,
    who: &Principal,
    id_number: &str,
    kind: RequestKind,
    org_code: Option<&str>,
    reason: &str,
) -> Result<PatientRequestInfo, AppError> {
    let input = crate::domain::requests::RequestInput {
        id_number: id_number.to_string(),
        kind: kind.as_str().to_string(),
        org_code: org_code.unwrap_or_default().to_string(),
        reason: reason.to_string(),
    };
    Ok(service::requests::create(st, who, &input).await?.into())
}

/// A request the caller raised (or may decide), as [`request_patient`] answers it; others
/// answer NotFound.
pub async fn patient_request(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<PatientRequestInfo, AppError> {
    Ok(service::requests::get(st, who, id).await?.into())
}

mod lists;
pub use lists::{ensure_practitioner, patient_page, patients_at, practitioners_at, PatientPage};
