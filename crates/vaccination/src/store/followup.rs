//! A child's facts kept by the module (the birth facility).
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
