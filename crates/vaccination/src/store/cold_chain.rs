//! Cold-chain devices, their readings and excursions.
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, with_tx, AppError};

use super::{DeviceRow, ExcursionRow, ReadingRow};

pub async fn insert_device(tx: &mut Tx, d: &DeviceRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_devices (id, org_code, org_path, name, kind, min_tenths, max_tenths, excursion_minutes, \
         status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(&d.id).bind(&d.org_code).bind(&d.org_path).bind(&d.name).bind(&d.kind).bind(d.min_tenths)
        .bind(d.max_tenths).bind(d.excursion_minutes).bind(&d.status).bind(&d.created_at))?;
    Ok(())
}

const DEVICE_COLS: &str =
    "id, org_code, org_path, name, kind, min_tenths, max_tenths, excursion_minutes, status, created_at";

pub async fn device(db: &Db, id: &str) -> Result<Option<DeviceRow>, AppError> {
    let sql = format!("SELECT {DEVICE_COLS} FROM vaccination_devices WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DeviceRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn device_tx(tx: &mut Tx, id: &str) -> Result<Option<DeviceRow>, AppError> {
    let sql = format!("SELECT {DEVICE_COLS} FROM vaccination_devices WHERE id = $1");
    Ok(
        with_tx!(tx, c => sqlx::query_as::<_, DeviceRow>(&sql).bind(id).fetch_optional(&mut *c).await)?,
    )
}

pub async fn devices_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<DeviceRow>, AppError> {
    let sql = format!(
        "SELECT {DEVICE_COLS} FROM vaccination_devices WHERE org_path >= $1 AND org_path < $2 ORDER BY org_code, name"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DeviceRow>(&sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

/// Store a reading unless the device already has one at that instant; returns whether it was new.
pub async fn insert_reading(
    tx: &mut Tx,
    device: &str,
    at: &str,
    tenths: i64,
) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_readings (device_id, at, tenths, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (device_id, at) DO NOTHING")
        .bind(device).bind(at).bind(tenths).bind(&now))?;
    Ok(n == 1)
}

pub async fn readings_since_tx(
    tx: &mut Tx,
    device: &str,
    since: &str,
) -> Result<Vec<ReadingRow>, AppError> {
    Ok(with_tx!(tx, c => sqlx::query_as::<_, ReadingRow>(
        "SELECT at, tenths FROM vaccination_readings WHERE device_id = $1 AND at >= $2 ORDER BY at")
        .bind(device).bind(since).fetch_all(&mut *c).await)?)
}

pub async fn readings(db: &Db, device: &str, limit: i64) -> Result<Vec<ReadingRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, ReadingRow>(
        "SELECT at, tenths FROM (SELECT at, tenths FROM vaccination_readings WHERE device_id = $1 ORDER BY at DESC LIMIT $2) r ORDER BY at")
        .bind(device).bind(limit).fetch_all(pool).await)?)
}

/// Mark a device in excursion if it is not already; returns whether this call did it (two
/// server processes seeing the same readings raise one excursion).
pub async fn open_excursion(tx: &mut Tx, e: &ExcursionRow) -> Result<bool, AppError> {
    let n =
        tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_devices SET status = 'excursion' WHERE id = $1 AND status = 'ok'")
        .bind(&e.device_id))?;
    if n == 0 {
        return Ok(false);
    }
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_excursions (id, device_id, started_at, detected_at, minutes, extreme_tenths) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&e.id).bind(&e.device_id).bind(&e.started_at).bind(&e.detected_at).bind(e.minutes).bind(e.extreme_tenths))?;
    Ok(true)
}

/// The device is back in range and reviewed: readings before now no longer count.
pub async fn close_excursion(tx: &mut Tx, device: &str) -> Result<bool, AppError> {
    let n =
        tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_devices SET status = 'ok' WHERE id = $1 AND status = 'excursion'")
        .bind(device))?;
    tx_exec!(
        tx,
        sqlx::query("UPDATE vaccination_excursions SET reviewed = 1 WHERE device_id = $1")
            .bind(device)
    )?;
    Ok(n == 1)
}

pub async fn last_reviewed_excursion_tx(
    tx: &mut Tx,
    device: &str,
) -> Result<Option<String>, AppError> {
    Ok(with_tx!(tx, c => sqlx::query_scalar::<_, Option<String>>(
        "SELECT MAX(detected_at) FROM vaccination_excursions WHERE device_id = $1 AND reviewed = 1")
        .bind(device).fetch_one(&mut *c).await)?)
}

pub async fn excursions(db: &Db, device: &str) -> Result<Vec<ExcursionRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, ExcursionRow>(
        "SELECT id, device_id, started_at, detected_at, minutes, extreme_tenths, reviewed FROM vaccination_excursions \
         WHERE device_id = $1 ORDER BY started_at DESC")
        .bind(device).fetch_all(pool).await)?)
}
