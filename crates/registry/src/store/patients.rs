//! Patients: insert and update with their search terms and guardians in one transaction,
//! scoped search, duplicate candidates, and shares with other organisations.
use serde::Serialize;
use tianshan_platform::db::{prefix_end, Arg, Db, Where};
use tianshan_platform::scope::Scope;
use tianshan_platform::{bind_args, with_db, AppError, Msg};

use crate::domain::patient::GuardianInput;
use crate::domain::PatientDraft;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PatientRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub family_name: String,
    pub given_name: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub sex: String,
    pub birth_date: Option<String>,
    pub ethnicity: String,
    pub id_number: Option<String>,
    pub phone: String,
    pub address: String,
    #[serde(skip)]
    pub fhir_extra: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GuardianRow {
    pub guardian_id: Option<String>,
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

const COLS: &str = "p.id, p.org_code, p.org_path, p.family_name, p.given_name, p.full_name, p.name_ug, p.name_latin, \
    p.sex, p.birth_date, p.ethnicity, p.id_number, p.phone, p.address, p.fhir_extra, p.created_at, p.updated_at, p.version";

/// Insert a validated patient registered at an organisation with path `org_path`.
pub async fn insert(
    db: &Db,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: &str,
    now: &str,
) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    insert_with_id(db, &id, d, org_path, fhir_extra, now).await?;
    Ok(id)
}

pub async fn insert_with_id(
    db: &Db,
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: &str,
    now: &str,
) -> Result<(), AppError> {
    let terms = d.search_terms();
    let birth = d.birth_date.map(|b| b.to_string());
    let idn = d.id_number.as_ref().map(|i| i.as_str().to_string());
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO patients (id, org_code, org_path, family_name, given_name, full_name, name_ug, name_latin, sex, birth_date, \
            ethnicity, id_number, phone, address, fhir_extra, created_at, updated_at, version) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, 1)")
            .bind(id).bind(&d.org_code).bind(org_path).bind(&d.family_name).bind(&d.given_name).bind(&d.full_name)
            .bind(&d.name_ug).bind(&d.name_latin).bind(d.sex.as_str()).bind(&birth).bind(&d.ethnicity).bind(&idn)
            .bind(&d.phone).bind(&d.address).bind(fhir_extra).bind(now)
            .execute(&mut *tx).await?;
        for t in &terms {
            sqlx::query("INSERT INTO patient_terms (term, org_path, patient_id) VALUES ($1, $2, $3)").bind(t).bind(org_path).bind(id).execute(&mut *tx).await?;
        }
        for (i, g) in d.guardians.iter().enumerate() {
            insert_guardian_sql(i as i64, id, g).execute(&mut *tx).await?;
        }
        tx.commit().await
    })?;
    Ok(())
}

fn insert_guardian_sql<'q, DB: sqlx::Database>(
    pos: i64,
    id: &'q str,
    g: &'q GuardianInput,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query("INSERT INTO patient_guardians (patient_id, position, guardian_id, name, relationship, phone) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(pos)
        .bind(g.patient_id.as_deref())
        .bind(g.name.as_str())
        .bind(g.relationship.as_str())
        .bind(g.phone.as_str())
}

enum UpdateOutcome {
    Missing,
    Stale,
    Done(i64),
}

/// Replace a patient's data if nobody changed it since `expected_version` was read.
/// Returns the new version.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: Option<&str>,
    expected_version: Option<i64>,
    now: &str,
) -> Result<i64, AppError> {
    let terms = d.search_terms();
    let birth = d.birth_date.map(|b| b.to_string());
    let idn = d.id_number.as_ref().map(|i| i.as_str().to_string());
    let outcome: Result<UpdateOutcome, sqlx::Error> = with_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM patients WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(v) = current else { return Ok(UpdateOutcome::Missing) };
        if expected_version.is_some_and(|e| e != v) {
            return Ok(UpdateOutcome::Stale);
        }
        sqlx::query("UPDATE patients SET org_code = $1, org_path = $2, family_name = $3, given_name = $4, full_name = $5, name_ug = $6, \
            name_latin = $7, sex = $8, birth_date = $9, ethnicity = $10, id_number = $11, phone = $12, address = $13, \
            fhir_extra = COALESCE($14, fhir_extra), updated_at = $15, version = $16 WHERE id = $17")
            .bind(&d.org_code).bind(org_path).bind(&d.family_name).bind(&d.given_name).bind(&d.full_name).bind(&d.name_ug)
            .bind(&d.name_latin).bind(d.sex.as_str()).bind(&birth).bind(&d.ethnicity).bind(&idn).bind(&d.phone).bind(&d.address)
            .bind(fhir_extra).bind(now).bind(v + 1).bind(id)
            .execute(&mut *tx).await?;
        sqlx::query("DELETE FROM patient_terms WHERE patient_id = $1").bind(id).execute(&mut *tx).await?;
        for t in &terms {
            sqlx::query("INSERT INTO patient_terms (term, org_path, patient_id) VALUES ($1, $2, $3)").bind(t).bind(org_path).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM patient_guardians WHERE patient_id = $1").bind(id).execute(&mut *tx).await?;
        for (i, g) in d.guardians.iter().enumerate() {
            insert_guardian_sql(i as i64, id, g).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(UpdateOutcome::Done(v + 1))
    }.await);
    match outcome? {
        UpdateOutcome::Missing => Err(AppError::NotFound),
        UpdateOutcome::Stale => Err(AppError::Conflict(Msg::new("patient.err.stale"))),
        UpdateOutcome::Done(v) => Ok(v),
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<PatientRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM patients p WHERE p.id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, PatientRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn guardians(db: &Db, id: &str) -> Result<Vec<GuardianRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, GuardianRow>(
        "SELECT guardian_id, name, relationship, phone FROM patient_guardians WHERE patient_id = $1 ORDER BY position")
        .bind(id).fetch_all(pool).await)?)
}

/// Patients who name this patient as their guardian (a mother's children).
pub async fn wards(db: &Db, id: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT p.id, p.full_name FROM patient_guardians g JOIN patients p ON p.id = g.patient_id WHERE g.guardian_id = $1 ORDER BY p.full_name")
        .bind(id).fetch_all(pool).await)?)
}

/// Paths of the organisations a patient is shared with.
pub async fn shared_with(db: &Db, id: &str) -> Result<Vec<String>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT org_path FROM patient_shares WHERE patient_id = $1")
        .bind(id).fetch_all(pool).await)?,
    )
}

pub async fn share(
    db: &Db,
    id: &str,
    org_code: &str,
    org_path: &str,
    by: &str,
    now: &str,
) -> Result<(), AppError> {
    with_db!(db, pool => sqlx::query("INSERT INTO patient_shares (patient_id, org_code, org_path, shared_at, shared_by) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (patient_id, org_code) DO NOTHING")
        .bind(id).bind(org_code).bind(org_path).bind(now).bind(by).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Registered patients with the same ID number, or the same name and birth date.
pub async fn duplicate_candidates(
    db: &Db,
    d: &PatientDraft,
    exclude: Option<&str>,
) -> Result<Vec<PatientRow>, AppError> {
    let idn = d.id_number.as_ref().map(|i| i.as_str().to_string());
    let birth = d.birth_date.map(|b| b.to_string());
    let sql = format!("SELECT {COLS} FROM patients p WHERE (p.id_number = $1 OR (p.full_name = $2 AND p.birth_date = $3)) \
        AND ($4 IS NULL OR p.id <> $4) LIMIT 20");
    Ok(with_db!(db, pool => sqlx::query_as::<_, PatientRow>(&sql)
        .bind(&idn).bind(&d.full_name).bind(&birth).bind(exclude).fetch_all(pool).await)?)
}

/// Comparison of a FHIR `birthdate` search value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOp {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// The most term rows a name search considers (inside the user's scope, closest terms first).
/// It bounds the work of a short query such as `w` or `zs` on a million patients; nobody reads
/// past the first page of such a list: the search page asks for more letters instead.
pub const TERM_MATCH_CAP: i64 = 400;

#[derive(Debug, Clone, Default)]
pub struct PatientQuery {
    /// A name in any script, pinyin initials or full pinyin: prefix match on search terms.
    pub term: Option<String>,
    pub family: Option<String>,
    pub given: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<(DateOp, String)>,
    pub sex: Option<String>,
    pub org_code: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl PatientQuery {
    pub fn is_empty(&self) -> bool {
        self.term.is_none()
            && self.family.is_none()
            && self.given.is_none()
            && self.id_number.is_none()
            && self.phone.is_none()
            && self.birth_date.is_none()
            && self.sex.is_none()
            && self.org_code.is_none()
    }
}

fn term_clause(w: &mut Where, value: &str, scope: &Scope) -> String {
    let q = crate::domain::names::normalize_query(value);
    let lo = w.arg(Arg::Text(q.clone()));
    let hi = w.arg(Arg::Text(prefix_end(&q)));
    let cap = w.arg(Arg::Int(TERM_MATCH_CAP));
    let range = format!("t.term >= {lo} AND t.term < {hi}");
    if scope.path.is_none() && scope.subtree_applies() {
        return format!(
            "p.id IN (SELECT t.patient_id FROM patient_terms t WHERE {range} ORDER BY t.term LIMIT {cap})"
        );
    }
    let (slo, shi) = scope.path_range();
    let slo = w.arg(Arg::Text(slo));
    let shi = w.arg(Arg::Text(shi));
    let shared = format!(
        "SELECT b.patient_id FROM (SELECT t.patient_id FROM patient_shares s \
         JOIN patient_terms t ON t.patient_id = s.patient_id \
         WHERE s.org_path >= {slo} AND s.org_path < {shi} AND {range} LIMIT {cap}) b"
    );
    if !scope.subtree_applies() {
        return format!("p.id IN ({shared})");
    }
    format!(
        "p.id IN (SELECT a.patient_id FROM (SELECT t.patient_id FROM patient_terms t \
         WHERE {range} AND t.org_path >= {slo} AND t.org_path < {shi} ORDER BY t.term LIMIT {cap}) a \
         UNION {shared})"
    )
}

/// Patients matching every given criterion, inside the scope, by name.
pub async fn search(db: &Db, q: &PatientQuery, scope: &Scope) -> Result<Vec<PatientRow>, AppError> {
    let mut w = Where::default();
    if let Some(t) = q.term.as_deref() {
        let c = term_clause(&mut w, t, scope);
        w.push(c);
    }
    // FHIR `family` and `given` match name terms too, so pinyin and initials work for them.
    for v in [&q.family, &q.given].into_iter().flatten() {
        let c = term_clause(&mut w, v, scope);
        w.push(c);
    }
    if let Some(v) = q.id_number.as_deref() {
        let p = w.arg(Arg::Text(v.trim().to_uppercase()));
        w.push(format!("p.id_number = {p}"));
    }
    if let Some(v) = q.phone.as_deref() {
        let p = w.arg(Arg::Text(v.trim().to_string()));
        w.push(format!("p.phone = {p}"));
    }
    if let Some((op, d)) = &q.birth_date {
        let p = w.arg(Arg::Text(d.clone()));
        let sym = match op {
            DateOp::Eq => "=",
            DateOp::Ge => ">=",
            DateOp::Le => "<=",
            DateOp::Gt => ">",
            DateOp::Lt => "<",
        };
        w.push(format!("p.birth_date {sym} {p}"));
    }
    if let Some(v) = q.sex.as_deref() {
        let p = w.arg(Arg::Text(v.to_string()));
        w.push(format!("p.sex = {p}"));
    }
    if let Some(v) = q.org_code.as_deref() {
        let p = w.arg(Arg::Text(v.to_string()));
        w.push(format!("p.org_code = {p}"));
    }
    push_scope(&mut w, scope);
    let lim = w.arg(Arg::Int(q.limit));
    let off = w.arg(Arg::Int(q.offset));
    let sql = format!(
        "SELECT {COLS} FROM patients p{} ORDER BY p.full_name, p.id LIMIT {lim} OFFSET {off}",
        w.sql()
    );
    Ok(
        with_db!(db, pool => bind_args!(sqlx::query_as::<_, PatientRow>(&sql), w.args).fetch_all(pool).await)?,
    )
}

/// Restrict to patients the scope may see: its subtree (not for partners) or shared into it.
pub fn push_scope(w: &mut Where, scope: &Scope) {
    if scope.path.is_none() && scope.subtree_applies() {
        return;
    }
    let (lo, hi) = scope.path_range();
    let lo = w.arg(Arg::Text(lo));
    let hi = w.arg(Arg::Text(hi));
    let shared = format!("EXISTS (SELECT 1 FROM patient_shares s WHERE s.patient_id = p.id AND s.org_path >= {lo} AND s.org_path < {hi})");
    if scope.subtree_applies() {
        w.push(format!(
            "((p.org_path >= {lo} AND p.org_path < {hi}) OR {shared})"
        ));
    } else {
        w.push(shared);
    }
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await)?,
    )
}
