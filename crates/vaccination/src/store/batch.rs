//! Reads of many children at once (an overdue list, a cohort's coverage): one query per
//! thousand children instead of one per child.
use tianshan_platform::db::{Arg, Db, Where};
use tianshan_platform::{bind_args, with_db, AppError};

use serde::Serialize;

/// What a list over many children needs of a dose.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DoseBrief {
    pub id: String,
    pub patient_id: String,
    pub product_code: String,
    pub cvx: i64,
    /// `YYYY-MM-DD`.
    pub given_on: String,
}

/// The completed doses of each of `ids` in brief, by child then date.
pub async fn dose_briefs_of_many(db: &Db, ids: &[String]) -> Result<Vec<DoseBrief>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk.iter().map(|i| w.arg(Arg::Text(i.clone()))).collect();
        let sql = format!(
            "SELECT id, patient_id, product_code, cvx, given_on FROM vaccination_doses \
             WHERE status = 'completed' AND patient_id IN ({}) ORDER BY patient_id, given_on, created_at",
            ps.join(", ")
        );
        let rows: Vec<DoseBrief> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, DoseBrief>(&sql), w.args).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The current residence status of each of `ids` that has one (the latest `since`, then
/// `recorded_at`).
pub async fn residence_now(db: &Db, ids: &[String]) -> Result<Vec<(String, String)>, AppError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for chunk in ids.chunks(1000) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk.iter().map(|i| w.arg(Arg::Text(i.clone()))).collect();
        let sql = format!(
            "SELECT patient_id, status FROM vaccination_residence WHERE patient_id IN ({}) \
             ORDER BY patient_id, since, recorded_at",
            ps.join(", ")
        );
        let rows: Vec<(String, String)> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, (String, String)>(&sql), w.args).fetch_all(pool).await)?;
        for (p, s) in rows {
            match out.last_mut() {
                Some(last) if last.0 == p => last.1 = s,
                _ => out.push((p, s)),
            }
        }
    }
    Ok(out)
}
