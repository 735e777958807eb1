//! Patients: insert and update with their search terms and guardians in one transaction,
//! scoped search, duplicate candidates, and shares with other organisations.
use serde::Serialize;
use sqlx::FromRow;
use tianshan_platform::db::{
    prefix_end, Arg, ColType, Db, Lookup, Pools, RowShape, Statements, Tx, Where,
};
use tianshan_platform::scope::Scope;
use tianshan_platform::{bind_args, tx_exec, with_db, with_tx, AppError, Msg};

use crate::domain::PatientDraft;

mod search;

pub use search::*;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GuardianRow {
    pub guardian_id: Option<String>,
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

/// The columns of a [`PatientRow`] (a macro, so that statements can be put together at compile time).
macro_rules! patient_cols {
    () => {
        "p.id, p.org_code, p.org_path, p.family_name, p.given_name, p.full_name, p.name_ug, p.name_latin, \
    p.sex, p.birth_date, p.ethnicity, p.id_number, p.phone, p.address, p.fhir_extra, p.created_at, p.updated_at, p.version"
    };
}

pub(crate) const COLS: &str = patient_cols!();

/// A row of [`COLS`] read on the asking thread (`Db::direct`), columns in that order.
fn direct_row(
    r: &tianshan_platform::db::direct::Row<'_>,
) -> tianshan_platform::db::direct::rusqlite::Result<PatientRow> {
    Ok(PatientRow {
        id: r.get(0)?,
        org_code: r.get(1)?,
        org_path: r.get(2)?,
        family_name: r.get(3)?,
        given_name: r.get(4)?,
        full_name: r.get(5)?,
        name_ug: r.get(6)?,
        name_latin: r.get(7)?,
        sex: r.get(8)?,
        birth_date: r.get(9)?,
        ethnicity: r.get(10)?,
        id_number: r.get(11)?,
        phone: r.get(12)?,
        address: r.get(13)?,
        fhir_extra: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        version: r.get(17)?,
    })
}

/// Insert a validated patient registered at an organisation with path `org_path`, with its
/// search terms and guardians (multi-row inserts), inside the caller's transaction.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: &str,
) -> Result<(), AppError> {
    let mut w = Statements::new(tx.now().to_string());
    insert_statements(&mut w, id, d, org_path, fhir_extra);
    w.run_on(tx).await
}

/// A patient row (see [`insert_statements`]).
static PATIENT_ROW: RowShape = RowShape {
    table: "patients",
    columns: &[
        ("id", ColType::Text),
        ("org_code", ColType::Text),
        ("org_path", ColType::Text),
        ("family_name", ColType::Text),
        ("given_name", ColType::Text),
        ("full_name", ColType::Text),
        ("name_ug", ColType::Text),
        ("name_latin", ColType::Text),
        ("sex", ColType::Text),
        ("birth_date", ColType::Text),
        ("ethnicity", ColType::Text),
        ("id_number", ColType::Text),
        ("phone", ColType::Text),
        ("address", ColType::Text),
        ("fhir_extra", ColType::Text),
        ("created_at", ColType::Text),
        ("updated_at", ColType::Text),
        ("version", ColType::Int),
    ],
};

/// A search term row. Each carries the name the results are sorted by, so a search picks its
/// page inside the index (`search.rs`).
static TERM_ROW: RowShape = RowShape {
    table: "patient_terms",
    columns: &[
        ("term", ColType::Text),
        ("org_path", ColType::Text),
        ("patient_id", ColType::Text),
        ("full_name", ColType::Text),
    ],
};

/// A guardian row.
static GUARDIAN_ROW: RowShape = RowShape {
    table: "patient_guardians",
    columns: &[
        ("patient_id", ColType::Text),
        ("position", ColType::Int),
        ("guardian_id", ColType::Text),
        ("name", ColType::Text),
        ("relationship", ColType::Text),
        ("phone", ColType::Text),
    ],
};

/// The row inserts of [`insert`] added to a write (`Db::write_statements`): the patient row,
/// its search terms, its guardians. On PostgreSQL a batch of registrations becomes one
/// statement (`platform::db::pg`).
pub fn insert_statements(
    w: &mut Statements,
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: &str,
) {
    let text = |s: &str| Arg::Text(s.to_string());
    let opt = |s: Option<String>| s.map(Arg::Text).unwrap_or(Arg::Null);
    let now = w.now().to_string();
    w.push_rows(
        &PATIENT_ROW,
        vec![
            text(id),
            text(&d.org_code),
            text(org_path),
            text(&d.family_name),
            text(&d.given_name),
            text(&d.full_name),
            text(&d.name_ug),
            text(&d.name_latin),
            text(d.sex.as_str()),
            opt(d.birth_date.map(|b| b.to_string())),
            text(&d.ethnicity),
            opt(d.id_number.as_ref().map(|i| i.as_str().to_string())),
            text(&d.phone),
            text(&d.address),
            text(fhir_extra),
            text(&now),
            Arg::Text(now),
            Arg::Int(1),
        ],
    );
    add_terms_and_guardians(w, id, org_path, d);
}

/// The patient's search terms and guardians as row inserts.
fn add_terms_and_guardians(w: &mut Statements, id: &str, org_path: &str, d: &PatientDraft) {
    let terms = d
        .search_terms()
        .into_iter()
        .flat_map(|t| {
            [
                Arg::Text(t),
                Arg::Text(org_path.to_string()),
                Arg::Text(id.to_string()),
                Arg::Text(d.full_name.clone()),
            ]
        })
        .collect();
    w.push_rows(&TERM_ROW, terms);
    let guardians = d
        .guardians
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            [
                Arg::Text(id.to_string()),
                Arg::Int(i as i64),
                g.patient_id.clone().map(Arg::Text).unwrap_or(Arg::Null),
                Arg::Text(g.name.clone()),
                Arg::Text(g.relationship.as_str().to_string()),
                Arg::Text(g.phone.clone()),
            ]
        })
        .collect();
    w.push_rows(&GUARDIAN_ROW, guardians);
}

/// Replace a patient's data if nobody changed it since `expected_version` was read.
/// Returns the new version.
pub async fn update(
    tx: &mut Tx,
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: Option<&str>,
    expected_version: Option<i64>,
) -> Result<i64, AppError> {
    let birth = d.birth_date.map(|b| b.to_string());
    let idn = d.id_number.as_ref().map(|i| i.as_str().to_string());
    let now = tx.now().to_string();
    let current: Option<i64> = with_tx!(tx, c => sqlx::query_scalar("SELECT version FROM patients WHERE id = $1")
        .bind(id).fetch_optional(&mut *c).await)?;
    let Some(v) = current else {
        return Err(AppError::NotFound);
    };
    if expected_version.is_some_and(|e| e != v) {
        return Err(AppError::Conflict(Msg::new("patient.err.stale")));
    }
    tx_exec!(tx, sqlx::query("UPDATE patients SET org_code = $1, org_path = $2, family_name = $3, given_name = $4, full_name = $5, name_ug = $6, \
            name_latin = $7, sex = $8, birth_date = $9, ethnicity = $10, id_number = $11, phone = $12, address = $13, \
            fhir_extra = COALESCE($14, fhir_extra), updated_at = $15, version = $16 WHERE id = $17")
            .bind(&d.org_code).bind(org_path).bind(&d.family_name).bind(&d.given_name).bind(&d.full_name).bind(&d.name_ug)
            .bind(&d.name_latin).bind(d.sex.as_str()).bind(&birth).bind(&d.ethnicity).bind(&idn).bind(&d.phone).bind(&d.address)
            .bind(fhir_extra).bind(&now).bind(v + 1).bind(id))?;
    tx_exec!(
        tx,
        sqlx::query("DELETE FROM patient_terms WHERE patient_id = $1").bind(id)
    )?;
    tx_exec!(
        tx,
        sqlx::query("DELETE FROM patient_guardians WHERE patient_id = $1").bind(id)
    )?;
    let mut w = Statements::new(now);
    add_terms_and_guardians(&mut w, id, org_path, d);
    w.run_on(tx).await?;
    // Search terms carry the organisation path: a move re-files the patient's shares too.
    Ok(v + 1)
}

/// A patient row as just written, without reading it back.
pub fn row_from_draft(
    id: &str,
    d: &PatientDraft,
    org_path: &str,
    fhir_extra: &str,
    created_at: &str,
    updated_at: &str,
    version: i64,
) -> PatientRow {
    PatientRow {
        id: id.to_string(),
        org_code: d.org_code.clone(),
        org_path: org_path.to_string(),
        family_name: d.family_name.clone(),
        given_name: d.given_name.clone(),
        full_name: d.full_name.clone(),
        name_ug: d.name_ug.clone(),
        name_latin: d.name_latin.clone(),
        sex: d.sex.as_str().to_string(),
        birth_date: d.birth_date.map(|b| b.to_string()),
        ethnicity: d.ethnicity.clone(),
        id_number: d.id_number.as_ref().map(|i| i.as_str().to_string()),
        phone: d.phone.clone(),
        address: d.address.clone(),
        fhir_extra: fhir_extra.to_string(),
        created_at: created_at.to_string(),
        updated_at: updated_at.to_string(),
        version,
    }
}

pub fn guardian_rows(d: &PatientDraft) -> Vec<GuardianRow> {
    d.guardians
        .iter()
        .map(|g| GuardianRow {
            guardian_id: g.patient_id.clone(),
            name: g.name.clone(),
            relationship: g.relationship.clone(),
            phone: g.phone.clone(),
        })
        .collect()
}

#[derive(Clone, sqlx::FromRow)]
struct FullRow {
    #[sqlx(flatten)]
    row: PatientRow,
    shares_json: String,
    guardians_json: String,
}

/// The paths a patient is shared with and its guardians, as JSON arrays (PostgreSQL).
macro_rules! pg_links {
    () => {
        "(SELECT coalesce(json_agg(s.org_path), '[]'::json)::text FROM patient_shares s WHERE s.patient_id = p.id) AS shares_json, \
            (SELECT coalesce(json_agg(json_build_object('guardian_id', g.guardian_id, 'name', g.name, 'relationship', g.relationship, 'phone', g.phone) \
             ORDER BY g.position), '[]'::json)::text FROM patient_guardians g WHERE g.patient_id = p.id) AS guardians_json"
    };
}

/// The same on SQLite.
const SQLITE_FULL: &str = concat!(
    "SELECT ",
    patient_cols!(),
    ", (SELECT json_group_array(s.org_path) FROM patient_shares s WHERE s.patient_id = p.id) AS shares_json, \
     (SELECT json_group_array(json_object('guardian_id', g.guardian_id, 'name', g.name, 'relationship', g.relationship, 'phone', g.phone)) \
     FROM (SELECT * FROM patient_guardians WHERE patient_id = p.id ORDER BY position) g) AS guardians_json \
     FROM patients p WHERE p.id = $1"
);

/// Patients read by id on PostgreSQL: the reads of concurrent requests in one query
/// (`Db::lookup`).
static PG_FULL: Lookup<FullRow> = Lookup {
    sql: concat!(
        "SELECT ",
        patient_cols!(),
        ", ",
        pg_links!(),
        " FROM UNNEST($1::text[]) AS k(id) JOIN patients p ON p.id = k.id"
    ),
    decode: |r| {
        let f = FullRow::from_row(r)?;
        Ok((f.row.id.clone(), f))
    },
};

/// A patient with the paths it is shared with and its guardians, in one query (one round trip
/// to the database for a read, however many shares and guardians; on PostgreSQL shared with
/// the reads of other requests).
pub async fn get_full(
    db: &Db,
    id: &str,
) -> Result<Option<(PatientRow, Vec<String>, Vec<GuardianRow>)>, AppError> {
    let row: Option<FullRow> = match (db.direct(), db.pools()) {
        (_, Pools::Postgres(_)) => db.lookup(&PG_FULL, id).await?,
        (Some(d), _) => d.row(SQLITE_FULL, &[Arg::Text(id.to_string())], |r| {
            Ok(FullRow {
                row: direct_row(r)?,
                shares_json: r.get(18)?,
                guardians_json: r.get(19)?,
            })
        })?,
        (None, Pools::Sqlite(pool)) => {
            sqlx::query_as::<_, FullRow>(SQLITE_FULL)
                .bind(id)
                .fetch_optional(pool)
                .await?
        }
    };
    let Some(r) = row else { return Ok(None) };
    let bad = |e: serde_json::Error| AppError::Internal(format!("patient {id} aggregate: {e}"));
    let shares: Vec<String> = serde_json::from_str(&r.shares_json).map_err(bad)?;
    let guardians: Vec<GuardianRow> = serde_json::from_str(&r.guardians_json).map_err(bad)?;
    Ok(Some((r.row, shares, guardians)))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<PatientRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM patients p WHERE p.id = $1");
    if let Some(d) = db.direct() {
        return d.row(&sql, &[Arg::Text(id.to_string())], direct_row);
    }
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, PatientRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Patients who name this patient as their guardian (a mother's children).
pub async fn wards(db: &Db, id: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT p.id, p.full_name FROM patient_guardians g JOIN patients p ON p.id = g.patient_id WHERE g.guardian_id = $1 ORDER BY p.full_name")
        .bind(id).fetch_all(pool).await)?)
}

/// Paths of the organisations a patient is shared with.
pub async fn shared_with(db: &Db, id: &str) -> Result<Vec<String>, AppError> {
    if let Some(d) = db.direct() {
        return d.rows(
            "SELECT org_path FROM patient_shares WHERE patient_id = $1",
            &[Arg::Text(id.to_string())],
            |r| r.get(0),
        );
    }
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT org_path FROM patient_shares WHERE patient_id = $1")
        .bind(id).fetch_all(pool).await)?,
    )
}

pub async fn share(
    tx: &mut Tx,
    id: &str,
    org_code: &str,
    org_path: &str,
    by: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    tx_exec!(tx, sqlx::query("INSERT INTO patient_shares (patient_id, org_code, org_path, shared_at, shared_by) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (patient_id, org_code) DO NOTHING")
        .bind(id).bind(org_code).bind(org_path).bind(&now).bind(by))?;
    Ok(())
}

/// Share a patient only if it is still registered at `owner_path` (a share approved by the
/// owner's coordinator must not follow a record moved meanwhile). Returns whether the record
/// was still there (shared now, or already before).
pub async fn share_if_at(
    tx: &mut Tx,
    id: &str,
    org_code: &str,
    org_path: &str,
    by: &str,
    owner_path: &str,
) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(
        tx,
        sqlx::query(
            "INSERT INTO patient_shares (patient_id, org_code, org_path, shared_at, shared_by) \
        SELECT p.id, $2, $3, $4, $5 FROM patients p WHERE p.id = $1 AND p.org_path = $6 \
        ON CONFLICT (patient_id, org_code) DO NOTHING"
        )
        .bind(id)
        .bind(org_code)
        .bind(org_path)
        .bind(&now)
        .bind(by)
        .bind(owner_path)
    )?;
    if n > 0 {
        return Ok(true);
    }
    let at: Option<String> = with_tx!(tx, c => sqlx::query_scalar("SELECT org_path FROM patients WHERE id = $1")
        .bind(id).fetch_optional(&mut *c).await)?;
    Ok(at.as_deref() == Some(owner_path))
}

pub async fn unshare(tx: &mut Tx, id: &str, org_code: &str) -> Result<u64, AppError> {
    Ok(tx_exec!(
        tx,
        sqlx::query("DELETE FROM patient_shares WHERE patient_id = $1 AND org_code = $2")
            .bind(id)
            .bind(org_code)
    )?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ShareRow {
    pub org_code: String,
    pub org_path: String,
    pub shared_at: String,
    /// Username of who shared it (`demo` for demo data).
    pub shared_by: String,
    /// Their display name, when the account exists.
    pub shared_by_name: String,
}

pub async fn shares(db: &Db, id: &str) -> Result<Vec<ShareRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, ShareRow>(
        "SELECT s.org_code, s.org_path, s.shared_at, s.shared_by, COALESCE(u.display_name, s.shared_by) AS shared_by_name \
         FROM patient_shares s LEFT JOIN users u ON u.username = s.shared_by WHERE s.patient_id = $1 ORDER BY s.shared_at, s.org_code")
        .bind(id).fetch_all(pool).await)?)
}

/// The patient with this resident ID number, wherever registered.
pub async fn by_id_number(db: &Db, id_number: &str) -> Result<Option<PatientRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM patients p WHERE p.id_number = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, PatientRow>(&sql).bind(id_number).fetch_optional(pool).await)?,
    )
}

/// Move a patient to another organisation (a transfer approved by the owner), with its search
/// terms, only if it is still at `from_path` (else 0: someone moved it meanwhile).
/// Returns the rows changed.
pub async fn move_to(
    tx: &mut Tx,
    id: &str,
    from_path: &str,
    org_code: &str,
    org_path: &str,
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(tx, sqlx::query("UPDATE patients SET org_code = $1, org_path = $2, updated_at = $3, version = version + 1 \
            WHERE id = $4 AND org_path = $5")
        .bind(org_code).bind(org_path).bind(&now).bind(id).bind(from_path))?;
    if n > 0 {
        tx_exec!(
            tx,
            sqlx::query("UPDATE patient_terms SET org_path = $1 WHERE patient_id = $2")
                .bind(org_path)
                .bind(id)
        )?;
    }
    Ok(n)
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
    if let Some(direct) = db.direct() {
        let text = |v: Option<&str>| v.map_or(Arg::Null, |v| Arg::Text(v.to_string()));
        let args = [
            text(idn.as_deref()),
            Arg::Text(d.full_name.clone()),
            text(birth.as_deref()),
            text(exclude),
        ];
        return direct.rows(&sql, &args, direct_row);
    }
    Ok(with_db!(db, pool => sqlx::query_as::<_, PatientRow>(&sql)
        .bind(&idn).bind(&d.full_name).bind(&birth).bind(exclude).fetch_all(pool).await)?)
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await)?,
    )
}

/// Patients by id, only those the scope may see (at most 1,000 ids a call).
pub async fn by_ids(db: &Db, ids: &[String], scope: &Scope) -> Result<Vec<PatientRow>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500).take(2) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk.iter().map(|i| w.arg(Arg::Text(i.clone()))).collect();
        if ps.is_empty() {
            continue;
        }
        w.push(format!("p.id IN ({})", ps.join(", ")));
        push_scope(&mut w, scope);
        let sql = format!(
            "SELECT {COLS} FROM patients p{} ORDER BY p.full_name, p.id",
            w.sql()
        );
        let rows: Vec<PatientRow> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, PatientRow>(&sql), w.args).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}
