//! Reminders to guardians (their delivery state is the outbox message's).
use serde::Serialize;
use tianshan_platform::db::{Arg, Db, Tx, Where};
use tianshan_platform::{bind_args, tx_exec, with_db, AppError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReminderRow {
    pub id: String,
    pub patient_id: String,
    pub patient_path: String,
    pub org_code: String,
    pub phone: String,
    pub overdue: String,
    pub message_id: i64,
    pub created_by: String,
    pub created_at: String,
}

const COLS: &str =
    "id, patient_id, patient_path, org_code, phone, overdue, message_id, created_by, created_at";

pub async fn insert_reminder(tx: &mut Tx, r: &ReminderRow) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query(
            &format!(
        "INSERT INTO vaccination_reminders ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        )
        .bind(&r.id)
        .bind(&r.patient_id)
        .bind(&r.patient_path)
        .bind(&r.org_code)
        .bind(&r.phone)
        .bind(&r.overdue)
        .bind(r.message_id)
        .bind(&r.created_by)
        .bind(&r.created_at)
    )?;
    Ok(())
}

/// The newest reminders of children registered under `[lo, hi)`.
pub async fn reminders_in(
    db: &Db,
    lo: &str,
    hi: &str,
    limit: i64,
) -> Result<Vec<ReminderRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM vaccination_reminders WHERE patient_path >= $1 AND patient_path < $2 \
         ORDER BY created_at DESC, id LIMIT $3"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, ReminderRow>(&sql)
        .bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?)
}

/// A child's reminders, newest first.
pub async fn reminders_of(db: &Db, patient_id: &str) -> Result<Vec<ReminderRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM vaccination_reminders WHERE patient_id = $1 ORDER BY created_at DESC, id LIMIT 50"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, ReminderRow>(&sql)
        .bind(patient_id).fetch_all(pool).await)?)
}

/// Which of `ids` already had a reminder at or after `since` (no second message the same day).
pub async fn reminded_since(db: &Db, ids: &[String], since: &str) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk.iter().map(|i| w.arg(Arg::Text(i.clone()))).collect();
        let s = w.arg(Arg::Text(since.to_string()));
        let sql = format!(
            "SELECT DISTINCT patient_id FROM vaccination_reminders WHERE patient_id IN ({}) AND created_at >= {s}",
            ps.join(", ")
        );
        let rows: Vec<(String,)> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, (String,)>(&sql), w.args).fetch_all(pool).await)?;
        out.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(out)
}
