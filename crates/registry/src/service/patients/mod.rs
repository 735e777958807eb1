//! Patient operations: register (checked first, then written with its audit entry in one
//! transaction), read, search, change, move between organisations, share and unshare.
use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Statements, Tx};
use tianshan_platform::{AppError, FieldError, Msg, Platform};

use super::perms;
use crate::domain::patient::{duplicate_kind, Existing};
use crate::domain::{DuplicateKind, PatientDraft, PatientInput};
use crate::store::patients::{self, GuardianRow, PatientQuery, PatientRow, ShareRow};

mod shares;

pub use shares::*;

pub const PATIENT: &str = "Patient";
/// A patient registered at one organisation now registered at another.
pub const MOVE: Action = Action("patient.move");
pub const SHARE: Action = Action("patient.share");
pub const UNSHARE: Action = Action("patient.unshare");
/// The kinds of organisation the patient page offers to share with: rear hospitals and
/// international partners (inside the network, records are seen through the tree or a request).
pub const SHARE_KINDS: [&str; 2] = ["rear_hospital", "partner"];

/// A likely duplicate, shown to the person registering. A record outside the user's scope is
/// never named or linked: only "a record with this ID exists in the network".
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub kind: &'static str,
    pub id: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
    /// The record is outside the user's scope: ask its organisation to transfer or share it.
    pub elsewhere: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatientRecord {
    #[serde(flatten)]
    pub row: PatientRow,
    pub guardians: Vec<GuardianRow>,
    /// Patients who name this one as their guardian (id, name). Only on the patient page.
    #[serde(skip)]
    pub wards: Vec<(String, String)>,
}

pub enum CreateOutcome {
    Created(Box<PatientRecord>),
    Duplicates(Vec<DuplicateView>),
}

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The user saw the probable duplicates (same name, birth date and village) and confirmed
    /// this is someone else. A same-ID duplicate is never overridden: one ID is one person.
    pub confirmed_not_duplicate: bool,
    pub fhir_extra: String,
    /// Keep a given id (FHIR Bundle entries are given theirs before any is written).
    pub id: Option<String>,
}

/// A registration that passed every check, ready to be written.
#[derive(Debug, Clone)]
pub struct PatientWrite {
    pub id: String,
    draft: PatientDraft,
    path: String,
    fhir_extra: String,
}

pub enum Checked {
    Ready(Box<PatientWrite>),
    Duplicates(Vec<DuplicateView>),
}

fn today(st: &Platform) -> time::Date {
    st.clock.now().date()
}

/// Validate the input and check that its organisation exists and is one the user registers
/// patients at (their own subtree; never through a share).
pub async fn validate(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
) -> Result<(PatientDraft, String), AppError> {
    let draft = input.validate(today(st)).map_err(AppError::Invalid)?;
    let Some(org) = super::directory::org(st, &draft.org_code).await? else {
        return Err(AppError::invalid(
            "org_code",
            Msg::new("patient.err.org_unknown").arg("code", draft.org_code.clone()),
        ));
    };
    if !who.scope.owns(&org.path) {
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
    candidates: &[(PatientRow, Vec<String>)],
) -> (bool, Vec<DuplicateView>) {
    let mut hard = false;
    let mut views = Vec::new();
    for (c, shares) in candidates {
        let existing = Existing {
            id_number: c.id_number.as_deref(),
            full_name: &c.full_name,
            birth_date: c.birth_date.as_deref(),
            org_code: &c.org_code,
        };
        let Some(kind) = duplicate_kind(draft, &existing) else {
            continue;
        };
        let visible = who.scope.can_see(&c.org_path, shares);
        // A same-name record the user cannot see is no business of theirs: it is not shown and
        // does not stop them. A same-ID record stops them either way (one ID is one person).
        if kind == DuplicateKind::SameNameBirthPlace && !visible {
            continue;
        }
        hard |= kind == DuplicateKind::SameIdNumber;
        views.push(DuplicateView {
            kind: match kind {
                DuplicateKind::SameIdNumber => "same_id_number",
                DuplicateKind::SameNameBirthPlace => "same_name_birth_place",
            },
            id: visible.then(|| c.id.clone()),
            full_name: visible.then(|| c.full_name.clone()),
            birth_date: if visible { c.birth_date.clone() } else { None },
            elsewhere: !visible,
        });
    }
    (hard, views)
}

async fn candidates(
    st: &Platform,
    draft: &PatientDraft,
    exclude: Option<&str>,
) -> Result<Vec<(PatientRow, Vec<String>)>, AppError> {
    let rows = patients::duplicate_candidates(&st.db, draft, exclude).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let s = patients::shared_with(&st.db, &r.id).await?;
        out.push((r, s));
    }
    Ok(out)
}

/// Every check of a registration, with reads only.
pub async fn check_create(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
    opts: CreateOptions,
) -> Result<Checked, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let (draft, path) = validate(st, who, input).await?;
    let found = candidates(st, &draft, None).await?;
    let (hard, dups) = duplicate_views(who, &draft, &found);
    if hard || (!dups.is_empty() && !opts.confirmed_not_duplicate) {
        // Showing a possible duplicate shows another patient's data: that is a read.
        let shown: Vec<&str> = dups.iter().filter_map(|d| d.id.as_deref()).collect();
        for id in shown {
            st.audit(
                who,
                Event::new(Action::READ, PATIENT, id)
                    .patient(id)
                    .detail("shown as a possible duplicate"),
            )
            .await?;
        }
        return Ok(Checked::Duplicates(dups));
    }
    check_guardians(st, who, &draft, &[]).await?;
    let id = match opts.id {
        Some(id) => id,
        None => tianshan_platform::new_id(),
    };
    Ok(Checked::Ready(Box::new(PatientWrite {
        id,
        draft,
        path,
        fhir_extra: opts.fhir_extra,
    })))
}

impl PatientWrite {
    fn extra(&self) -> String {
        if self.fhir_extra.is_empty() {
            "{}".to_string()
        } else {
            self.fhir_extra.clone()
        }
    }

    fn record(self, extra: &str, now: &str) -> PatientRecord {
        PatientRecord {
            row: patients::row_from_draft(&self.id, &self.draft, &self.path, extra, now, now, 1),
            guardians: patients::guardian_rows(&self.draft),
            wards: Vec::new(),
        }
    }

    /// Write the registration and its audit entry in the caller's transaction.
    pub async fn apply(self, tx: &mut Tx, who: &Principal) -> Result<PatientRecord, AppError> {
        let extra = self.extra();
        patients::insert(tx, &self.id, &self.draft, &self.path, &extra)
            .await
            .map_err(id_taken)?;
        tx.record(
            who,
            Event::new(Action::CREATE, PATIENT, &self.id).patient(&self.id),
        );
        let now = tx.now().to_string();
        Ok(self.record(&extra, &now))
    }

    /// The registration and its audit entry as a statement list, and the record as it will be
    /// stored (see `Db::write_statements`).
    pub fn statements(&self, st: &Platform, who: &Principal) -> (Statements, PatientRecord) {
        let extra = self.extra();
        let mut w = st.statements();
        let now = w.now().to_string();
        patients::insert_statements(&mut w, &self.id, &self.draft, &self.path, &extra);
        w.record(
            who,
            Event::new(Action::CREATE, PATIENT, &self.id).patient(&self.id),
        );
        (w, self.clone().record(&extra, &now))
    }

    /// Write the registration and its audit entry on their own, as a statement list: the
    /// writer runs it without handing each statement to another thread.
    pub async fn write_alone(
        self,
        st: &Platform,
        who: &Principal,
    ) -> Result<PatientRecord, AppError> {
        let (w, rec) = self.statements(st, who);
        st.db.write_statements(w).await.map_err(id_taken)?;
        Ok(rec)
    }
}

/// Two registrations of one ID raced each other: the second is a duplicate.
pub fn id_taken(e: AppError) -> AppError {
    match e {
        AppError::Conflict(_) => AppError::invalid("id_number", Msg::new("patient.err.id_taken")),
        other => other,
    }
}

/// Register a patient: check, then write with its audit entry; answers with what was stored.
pub async fn create(
    st: &Platform,
    who: &Principal,
    input: &PatientInput,
    opts: CreateOptions,
) -> Result<CreateOutcome, AppError> {
    match check_create(st, who, input, opts).await? {
        Checked::Duplicates(d) => Ok(CreateOutcome::Duplicates(d)),
        Checked::Ready(w) => {
            let rec = w.write_alone(st, who).await?;
            Ok(CreateOutcome::Created(Box::new(rec)))
        }
    }
}

/// A guardian given by patient id must be a patient the user can see, unless the record already
/// names them: a child transferred from another county keeps the link to a mother whose record
/// stayed there, and its new owners can still save it.
async fn check_guardians(
    st: &Platform,
    who: &Principal,
    draft: &PatientDraft,
    already: &[String],
) -> Result<(), AppError> {
    for (i, g) in draft.guardians.iter().enumerate() {
        if let Some(gid) = g.patient_id.as_ref().filter(|g| !already.contains(g)) {
            let visible = match patients::get(&st.db, gid).await? {
                Some(row) => who
                    .scope
                    .can_see(&row.org_path, &patients::shared_with(&st.db, gid).await?),
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
/// that an out-of-scope record exists). A refusal is audited.
pub async fn visible_row(st: &Platform, who: &Principal, id: &str) -> Result<PatientRow, AppError> {
    Ok(visible(st, who, id).await?.0)
}

/// [`visible_row`] with the patient's guardians, in one query.
async fn visible(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<(PatientRow, Vec<GuardianRow>), AppError> {
    who.require(perms::PATIENTS_READ)?;
    match patients::get_full(&st.db, id).await? {
        Some((row, shares, guardians)) if who.scope.can_see(&row.org_path, &shares) => {
            Ok((row, guardians))
        }
        Some(_) => {
            st.audit(
                who,
                Event::new(Action::REFUSED, PATIENT, id)
                    .patient(id)
                    .detail("outside scope"),
            )
            .await?;
            Err(AppError::NotFound)
        }
        None => Err(AppError::NotFound),
    }
}

/// How much of a patient a read returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadDetail {
    /// The patients who name this one as guardian (the patient page).
    pub wards: bool,
}

pub async fn read(
    st: &Platform,
    who: &Principal,
    id: &str,
    detail: ReadDetail,
) -> Result<PatientRecord, AppError> {
    let (row, guardians) = visible(st, who, id).await?;
    let wards = if detail.wards {
        patients::wards(&st.db, id).await?
    } else {
        Vec::new()
    };
    st.audit(who, Event::new(Action::READ, PATIENT, id).patient(id))
        .await?;
    Ok(PatientRecord {
        row,
        guardians,
        wards,
    })
}

/// A change that passed every check, ready to be written.
pub struct PatientUpdate {
    id: String,
    draft: PatientDraft,
    path: String,
    fhir_extra: Option<String>,
    expected_version: Option<i64>,
    moved_from: Option<String>,
    created_at: String,
}

/// Check a change of a patient. Only their owners (users whose own subtree holds the record)
/// may: a share grants reading, never changing. Changing the home organisation needs rights
/// over both the old and the new organisation, and is audited as a move.
pub async fn check_update(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &PatientInput,
    expected_version: Option<i64>,
    fhir_extra: Option<String>,
) -> Result<PatientUpdate, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let (old, old_guardians) = visible(st, who, id).await?;
    if !who.scope.owns(&old.org_path) {
        return Err(AppError::NotFoundBecause(Msg::new(
            "patient.err.shared_read_only",
        )));
    }
    let (draft, path) = validate(st, who, input).await?;
    let found = candidates(st, &draft, Some(id)).await?;
    if duplicate_views(who, &draft, &found).0 {
        return Err(AppError::invalid(
            "id_number",
            Msg::new("patient.err.id_taken"),
        ));
    }
    let linked: Vec<String> = old_guardians
        .into_iter()
        .filter_map(|g| g.guardian_id)
        .collect();
    check_guardians(st, who, &draft, &linked).await?;
    Ok(PatientUpdate {
        id: id.to_string(),
        moved_from: (old.org_code != draft.org_code).then(|| old.org_code.clone()),
        draft,
        path,
        fhir_extra,
        expected_version,
        created_at: old.created_at,
    })
}

impl PatientUpdate {
    pub async fn apply(self, tx: &mut Tx, who: &Principal) -> Result<PatientRecord, AppError> {
        let version = patients::update(
            tx,
            &self.id,
            &self.draft,
            &self.path,
            self.fhir_extra.as_deref(),
            self.expected_version,
        )
        .await?;
        let id = &self.id;
        if let Some(from) = &self.moved_from {
            let detail = format!("from {from} to {}", self.draft.org_code);
            tx.record(
                who,
                Event::new(MOVE, PATIENT, id).patient(id).detail(&detail),
            );
        }
        tx.record(who, Event::new(Action::UPDATE, PATIENT, id).patient(id));
        let now = tx.now().to_string();
        let extra = self.fhir_extra.unwrap_or_else(|| "{}".into());
        Ok(PatientRecord {
            row: patients::row_from_draft(
                id,
                &self.draft,
                &self.path,
                &extra,
                &self.created_at,
                &now,
                version,
            ),
            guardians: patients::guardian_rows(&self.draft),
            wards: Vec::new(),
        })
    }
}

/// Change a patient (see [`check_update`]); answers with what was stored.
pub async fn update(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &PatientInput,
    expected_version: Option<i64>,
    fhir_extra: Option<String>,
) -> Result<PatientRecord, AppError> {
    let u = check_update(st, who, id, input, expected_version, fhir_extra).await?;
    let who2 = who.clone();
    st.write(move |tx| Box::pin(async move { u.apply(tx, &who2).await }))
        .await
}

/// Search inside the user's scope. The audit entry lists the records shown.
pub async fn search(
    st: &Platform,
    who: &Principal,
    q: &PatientQuery,
) -> Result<Vec<PatientRow>, AppError> {
    who.require(perms::PATIENTS_READ)?;
    let rows = patients::search(&st.db, q, &who.scope).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} results: {}", rows.len(), ids.join(" "));
    st.audit(who, Event::new(Action::SEARCH, PATIENT, "").detail(&detail))
        .await?;
    Ok(rows)
}

/// Search with the number of matches (FHIR `total`) when `count` asks for it or it is free,
/// audited as [`search`]. With a limit of 0
/// only the count is taken (`_summary=count`).
pub async fn search_counted(
    st: &Platform,
    who: &Principal,
    q: &PatientQuery,
    count: bool,
) -> Result<(Vec<PatientRow>, Option<i64>), AppError> {
    who.require(perms::PATIENTS_READ)?;
    let rows = if q.limit > 0 {
        patients::search(&st.db, q, &who.scope).await?
    } else {
        Vec::new()
    };
    // A first page that is not full already says how many there are; otherwise the matches
    // are counted only when `count` asks for it (a second query as long as the search).
    let total = if q.limit > 0 && q.offset == 0 && (rows.len() as i64) < q.limit {
        Some(rows.len() as i64)
    } else if count {
        patients::count_matches(&st.db, q, &who.scope).await?
    } else {
        None
    };
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} results: {}", rows.len(), ids.join(" "));
    st.audit(who, Event::new(Action::SEARCH, PATIENT, "").detail(&detail))
        .await?;
    Ok((rows, total))
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
