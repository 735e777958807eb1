//! A child's facts kept by the module: the birth facility and the residence history.
use serde::Serialize;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, AppError};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct BirthFacility {
    /// The organisation (hospital, clinic) the child was born at; empty when named in words.
    pub code: String,
    /// Its name, or the place in words (born at home, in another county).
    pub name: String,
    pub updated_by: String,
    pub updated_at: String,
}

/// Set (or replace) a child's birth facility.
pub async fn upsert_birth_facility(
    tx: &mut Tx,
    patient_id: &str,
    patient_path: &str,
    f: &BirthFacility,
) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_children (patient_id, patient_path, birth_facility_code, birth_facility_name, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (patient_id) DO UPDATE SET patient_path = $2, \
         birth_facility_code = $3, birth_facility_name = $4, updated_by = $5, updated_at = $6")
        .bind(patient_id).bind(patient_path).bind(&f.code).bind(&f.name).bind(&f.updated_by).bind(&f.updated_at))?;
    Ok(())
}

pub async fn birth_facility(db: &Db, patient_id: &str) -> Result<Option<BirthFacility>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, BirthFacility>(
        "SELECT birth_facility_code AS code, birth_facility_name AS name, updated_by, updated_at \
         FROM vaccination_children WHERE patient_id = $1")
        .bind(patient_id).fetch_optional(pool).await)?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ResidenceRow {
    pub id: String,
    pub patient_id: String,
    #[serde(skip)]
    pub patient_path: String,
    /// resident, moved_in, moved_out.
    pub status: String,
    /// `YYYY-MM-DD`.
    pub since: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

const RESIDENCE_COLS: &str =
    "id, patient_id, patient_path, status, since, note, recorded_by, recorded_at";

pub async fn insert_residence(tx: &mut Tx, r: &ResidenceRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_residence (id, patient_id, patient_path, status, since, note, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&r.id).bind(&r.patient_id).bind(&r.patient_path).bind(&r.status).bind(&r.since)
        .bind(&r.note).bind(&r.recorded_by).bind(&r.recorded_at))?;
    Ok(())
}

/// A child's residence history, newest first.
pub async fn residence_of(db: &Db, patient_id: &str) -> Result<Vec<ResidenceRow>, AppError> {
    let sql = format!(
        "SELECT {RESIDENCE_COLS} FROM vaccination_residence WHERE patient_id = $1 ORDER BY since DESC, recorded_at DESC"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ResidenceRow>(&sql).bind(patient_id).fetch_all(pool).await)?,
    )
}

/// Children known to the module under `[lo, hi)`: those with a recorded dose or a residence
/// entry there.
pub async fn children_in(db: &Db, lo: &str, hi: &str, limit: i64) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String,)> = with_db!(db, pool => sqlx::query_as::<_, (String,)>(
        "SELECT patient_id FROM vaccination_doses WHERE patient_path >= $1 AND patient_path < $2 \
         UNION SELECT patient_id FROM vaccination_residence WHERE patient_path >= $1 AND patient_path < $2 \
         ORDER BY 1 LIMIT $3")
        .bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
