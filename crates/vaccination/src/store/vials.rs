//! Opened multi-dose vials of a lot.
use serde::Serialize;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, with_tx, AppError};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct VialRow {
    pub id: String,
    pub lot_id: String,
    pub opened_at: String,
    /// When it must be discarded (`9999-12-31T00:00:00Z`: kept until empty).
    pub expires_at: String,
    pub doses_left: i64,
    /// open, used (emptied), wasted (discarded with doses left).
    pub status: String,
    pub closed_at: Option<String>,
    pub reason: String,
}

const COLS: &str = "id, lot_id, opened_at, expires_at, doses_left, status, closed_at, reason";

/// Take the lot's row lock first (a no-op update: PostgreSQL locks the row, SQLite has one
/// writer), so every transaction touching a lot and its vials locks them in the same order.
pub async fn lock_lot(tx: &mut Tx, lot_id: &str) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query("UPDATE vaccination_lots SET updated_at = updated_at WHERE id = $1")
            .bind(lot_id)
    )?;
    Ok(())
}

/// The lot's open vial, if any.
pub async fn open_vial_tx(tx: &mut Tx, lot_id: &str) -> Result<Option<VialRow>, AppError> {
    let sql =
        format!("SELECT {COLS} FROM vaccination_open_vials WHERE lot_id = $1 AND status = 'open'");
    Ok(
        with_tx!(tx, c => sqlx::query_as::<_, VialRow>(&sql).bind(lot_id).fetch_optional(&mut *c).await)?,
    )
}

pub async fn insert_vial(tx: &mut Tx, v: &VialRow) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query(&format!(
            "INSERT INTO vaccination_open_vials ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&v.id)
        .bind(&v.lot_id)
        .bind(&v.opened_at)
        .bind(&v.expires_at)
        .bind(v.doses_left)
        .bind(&v.status)
        .bind(&v.closed_at)
        .bind(&v.reason)
    )?;
    Ok(())
}

/// Take a dose from an open vial (emptied: used). Returns whether a dose was left in it.
pub async fn take_from_vial(tx: &mut Tx, id: &str) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(
        tx,
        sqlx::query(
            "UPDATE vaccination_open_vials SET doses_left = doses_left - 1, \
         status = CASE WHEN doses_left = 1 THEN 'used' ELSE status END, \
         closed_at = CASE WHEN doses_left = 1 THEN $2 ELSE closed_at END \
         WHERE id = $1 AND status = 'open' AND doses_left >= 1"
        )
        .bind(id)
        .bind(&now)
    )?;
    Ok(n == 1)
}

/// Close an open vial as wasted with a reason; returns whether it was still open.
pub async fn waste_vial(tx: &mut Tx, id: &str, reason: &str) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_open_vials SET status = 'wasted', closed_at = $2, reason = $3 WHERE id = $1 AND status = 'open'")
        .bind(id).bind(&now).bind(reason))?;
    Ok(n == 1)
}

/// Open vials past their discard time at `now`.
pub async fn expired_vials(db: &Db, now: &str, limit: i64) -> Result<Vec<VialRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM vaccination_open_vials WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, VialRow>(&sql).bind(now).bind(limit).fetch_all(pool).await)?,
    )
}

/// A lot's vials, newest first.
pub async fn vials_of(db: &Db, lot_id: &str, limit: i64) -> Result<Vec<VialRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM vaccination_open_vials WHERE lot_id = $1 ORDER BY opened_at DESC, id LIMIT $2"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, VialRow>(&sql).bind(lot_id).bind(limit).fetch_all(pool).await)?,
    )
}

/// The open vials of the lots held under `[lo, hi)`.
pub async fn open_vials_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<VialRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, VialRow>(
        "SELECT v.id, v.lot_id, v.opened_at, v.expires_at, v.doses_left, v.status, v.closed_at, v.reason \
         FROM vaccination_open_vials v JOIN vaccination_lots l ON l.id = v.lot_id \
         WHERE v.status = 'open' AND l.org_path >= $1 AND l.org_path < $2 ORDER BY v.opened_at")
        .bind(lo).bind(hi).fetch_all(pool).await)?)
}
