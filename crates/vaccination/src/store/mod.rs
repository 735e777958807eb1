//! The vaccination module's SQL (the only folder of the module that has any).
use serde::Serialize;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, with_tx, AppError};
use utoipa::ToSchema;

mod batch;
mod cold_chain;
mod followup;
mod reminders;
mod vials;
pub use batch::*;
pub use cold_chain::*;
pub use followup::*;
pub use reminders::*;
pub use vials::*;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ProductRow {
    /// Product code (`HepB`, `MMR`, `JE-L`).
    pub code: String,
    pub name_en: String,
    /// Chinese name (乙肝疫苗).
    pub name_zh: String,
    /// CVX code the forecast engine knows the product by (9000+ are local codes).
    pub cvx: i64,
    /// Default route: IM, SC, ID, PO.
    pub route: String,
    /// 1 for a live vaccine.
    pub live: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LotRow {
    pub id: String,
    /// The clinic (or county store) holding the lot.
    pub org_code: String,
    #[serde(skip)]
    pub org_path: String,
    pub product_code: String,
    pub lot_no: String,
    pub manufacturer: String,
    /// `YYYY-MM-DD`: no dose from this lot after this day.
    pub expiry: String,
    pub doses_per_vial: i64,
    /// The refrigerator or freezer the lot is stored in.
    pub device_id: Option<String>,
    /// Doses on hand.
    pub quantity: i64,
    /// active, quarantined, recalled, discarded.
    pub status: String,
    pub status_reason: String,
    pub created_at: String,
    pub updated_at: String,
    /// What happens to an opened multi-dose vial: none (kept until empty), hours (discarded
    /// `open_hours` after opening), session (discarded at the end of the clinic day).
    pub open_policy: String,
    pub open_hours: i64,
}

const LOT_COLS: &str =
    "id, org_code, org_path, product_code, lot_no, manufacturer, expiry, doses_per_vial, \
    device_id, quantity, status, status_reason, created_at, updated_at, open_policy, open_hours";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DoseRow {
    pub id: String,
    pub patient_id: String,
    #[serde(skip)]
    pub patient_path: String,
    /// Where the dose was given (empty for a dose given elsewhere and entered from a card).
    pub org_code: String,
    pub product_code: String,
    pub cvx: i64,
    pub lot_id: Option<String>,
    pub lot_no: String,
    /// `YYYY-MM-DD`.
    pub given_on: String,
    /// Body site (left deltoid `LD`, right thigh `RT`, ...).
    pub site: String,
    pub route: String,
    pub vaccinator: String,
    /// clinic, manual, import, fhir.
    pub source: String,
    pub visit_id: Option<String>,
    pub status: String,
    pub recorded_by: String,
    pub created_at: String,
}

pub(crate) const DOSE_COLS: &str =
    "id, patient_id, patient_path, org_code, product_code, cvx, lot_id, lot_no, given_on, site, \
    route, vaccinator, source, visit_id, status, recorded_by, created_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct VisitRow {
    pub id: String,
    pub clinic_code: String,
    #[serde(skip)]
    pub clinic_path: String,
    pub patient_id: String,
    #[serde(skip)]
    pub patient_path: String,
    pub day: String,
    pub queue_no: i64,
    /// checked_in, screened, deferred, registered, observing, left.
    pub status: String,
    /// The screening answers (JSON).
    pub screening: String,
    pub deferral_reason: String,
    pub return_date: Option<String>,
    /// Product codes chosen at registration, comma-separated.
    pub planned: String,
    pub consent_by: String,
    pub consent_at: Option<String>,
    pub obs_start: Option<String>,
    pub obs_end: Option<String>,
    pub early_leave: i64,
    pub next_date: Option<String>,
    pub checked_in_at: String,
    pub updated_at: String,
}

const VISIT_COLS: &str = "id, clinic_code, clinic_path, patient_id, patient_path, day, queue_no, status, screening, \
    deferral_reason, return_date, planned, consent_by, consent_at, obs_start, obs_end, early_leave, next_date, \
    checked_in_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct AefiRow {
    pub id: String,
    pub patient_id: String,
    #[serde(skip)]
    pub patient_path: String,
    pub dose_id: Option<String>,
    pub lot_id: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`.
    pub onset: String,
    pub symptoms: String,
    /// mild, moderate, severe.
    pub severity: String,
    pub treatment: String,
    /// recovered, recovering, not_recovered, sequelae, died, unknown.
    pub outcome: String,
    pub serious: i64,
    pub reported_by: String,
    pub reported_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct AlertRow {
    pub id: String,
    /// aefi_serious, cold_chain_excursion.
    pub kind: String,
    #[serde(skip)]
    pub org_path: String,
    pub ref_id: String,
    pub message: String,
    pub created_at: String,
    pub acknowledged_by: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DeviceRow {
    pub id: String,
    pub org_code: String,
    #[serde(skip)]
    pub org_path: String,
    pub name: String,
    /// refrigerator, freezer, cold_box.
    pub kind: String,
    /// Safe range in tenths of °C (20 = 2.0 °C).
    pub min_tenths: i64,
    pub max_tenths: i64,
    /// Cumulative minutes out of range (within 24 hours) that make an excursion.
    pub excursion_minutes: i64,
    /// ok, excursion.
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ExcursionRow {
    pub id: String,
    pub device_id: String,
    pub started_at: String,
    pub detected_at: String,
    pub minutes: i64,
    pub extreme_tenths: i64,
    pub reviewed: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReadingRow {
    pub at: String,
    pub tenths: i64,
}

// ---------------------------------------------------------------- products

pub async fn products(db: &Db) -> Result<Vec<ProductRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, ProductRow>(
        "SELECT code, name_en, name_zh, cvx, route, live FROM vaccination_products ORDER BY code")
        .fetch_all(pool).await)?)
}

// ---------------------------------------------------------------- lots

pub async fn insert_lot(tx: &mut Tx, l: &LotRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(&format!("INSERT INTO vaccination_lots ({LOT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"))
        .bind(&l.id).bind(&l.org_code).bind(&l.org_path).bind(&l.product_code).bind(&l.lot_no)
        .bind(&l.manufacturer).bind(&l.expiry).bind(l.doses_per_vial).bind(&l.device_id)
        .bind(l.quantity).bind(&l.status).bind(&l.status_reason).bind(&l.created_at).bind(&l.updated_at)
        .bind(&l.open_policy).bind(l.open_hours))?;
    Ok(())
}

pub async fn lot(db: &Db, id: &str) -> Result<Option<LotRow>, AppError> {
    let sql = format!("SELECT {LOT_COLS} FROM vaccination_lots WHERE id = $1");
    Ok(with_db!(db, pool => sqlx::query_as::<_, LotRow>(&sql).bind(id).fetch_optional(pool).await)?)
}

pub async fn lot_tx(tx: &mut Tx, id: &str) -> Result<Option<LotRow>, AppError> {
    let sql = format!("SELECT {LOT_COLS} FROM vaccination_lots WHERE id = $1");
    Ok(with_tx!(tx, c => sqlx::query_as::<_, LotRow>(&sql).bind(id).fetch_optional(&mut *c).await)?)
}

/// Lots with this lot number held inside `[lo, hi)` (a scanned or typed lot number).
pub async fn lots_by_number(
    db: &Db,
    lot_no: &str,
    lo: &str,
    hi: &str,
) -> Result<Vec<LotRow>, AppError> {
    let sql = format!(
        "SELECT {LOT_COLS} FROM vaccination_lots WHERE lot_no = $1 AND org_path >= $2 AND org_path < $3 ORDER BY expiry"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LotRow>(&sql).bind(lot_no).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

pub async fn lots_in(db: &Db, lo: &str, hi: &str, limit: i64) -> Result<Vec<LotRow>, AppError> {
    let sql = format!(
        "SELECT {LOT_COLS} FROM vaccination_lots WHERE org_path >= $1 AND org_path < $2 ORDER BY org_code, product_code, expiry LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LotRow>(&sql).bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?,
    )
}

/// Take one dose: only from an active, unexpired lot with a dose left. One conditional
/// statement, so two stations racing for the last dose cannot both win (the row lock on
/// PostgreSQL, the single writer on SQLite). Returns whether a dose was taken.
pub async fn take_dose(tx: &mut Tx, lot_id: &str, today: &str) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(
        tx,
        sqlx::query(
            "UPDATE vaccination_lots SET quantity = quantity - 1, updated_at = $2 \
         WHERE id = $1 AND status = 'active' AND expiry >= $3 AND quantity >= 1"
        )
        .bind(lot_id)
        .bind(&now)
        .bind(today)
    )?;
    Ok(n == 1)
}

/// Change a lot's count by `delta` (receipt, wastage, count adjustment), never below zero.
pub async fn adjust_quantity(tx: &mut Tx, lot_id: &str, delta: i64) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_lots SET quantity = quantity + $2, updated_at = $3 WHERE id = $1 AND quantity + $2 >= 0")
        .bind(lot_id).bind(delta).bind(&now))?;
    Ok(n == 1)
}

/// Set a lot's status when it is currently `from`.
pub async fn set_lot_status(
    tx: &mut Tx,
    lot_id: &str,
    from: &str,
    to: &str,
    reason: &str,
) -> Result<bool, AppError> {
    let now = tx.now().to_string();
    let n = tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_lots SET status = $3, status_reason = $4, updated_at = $5 WHERE id = $1 AND status = $2")
        .bind(lot_id).bind(from).bind(to).bind(reason).bind(&now))?;
    Ok(n == 1)
}

/// Quarantine every active lot stored in a device; returns their ids.
pub async fn quarantine_device_lots(
    tx: &mut Tx,
    device_id: &str,
    reason: &str,
) -> Result<Vec<String>, AppError> {
    let ids: Vec<String> = with_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM vaccination_lots WHERE device_id = $1 AND status = 'active' ORDER BY id")
        .bind(device_id).fetch_all(&mut *c).await)?;
    for id in &ids {
        set_lot_status(tx, id, "active", "quarantined", reason).await?;
    }
    Ok(ids)
}

pub async fn insert_move(
    tx: &mut Tx,
    lot_id: &str,
    kind: &str,
    delta: i64,
    reason: &str,
    dose_id: Option<&str>,
    by: &str,
) -> Result<(), AppError> {
    let id = tianshan_platform::new_id();
    let now = tx.now().to_string();
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_stock_moves (id, lot_id, kind, delta, reason, dose_id, at, by_user) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&id).bind(lot_id).bind(kind).bind(delta).bind(reason).bind(dose_id).bind(&now).bind(by))?;
    Ok(())
}

// ---------------------------------------------------------------- doses

pub async fn insert_dose(tx: &mut Tx, d: &DoseRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(&format!("INSERT INTO vaccination_doses ({DOSE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"))
        .bind(&d.id).bind(&d.patient_id).bind(&d.patient_path).bind(&d.org_code).bind(&d.product_code)
        .bind(d.cvx).bind(&d.lot_id).bind(&d.lot_no).bind(&d.given_on).bind(&d.site).bind(&d.route)
        .bind(&d.vaccinator).bind(&d.source).bind(&d.visit_id).bind(&d.status).bind(&d.recorded_by)
        .bind(&d.created_at))?;
    Ok(())
}

pub async fn doses_of(db: &Db, patient_id: &str) -> Result<Vec<DoseRow>, AppError> {
    let sql = format!(
        "SELECT {DOSE_COLS} FROM vaccination_doses WHERE patient_id = $1 AND status = 'completed' ORDER BY given_on, created_at"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DoseRow>(&sql).bind(patient_id).fetch_all(pool).await)?,
    )
}

pub async fn dose(db: &Db, id: &str) -> Result<Option<DoseRow>, AppError> {
    let sql = format!("SELECT {DOSE_COLS} FROM vaccination_doses WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DoseRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Doses of patients registered in `[lo, hi)`, optionally of one patient, vaccine (CVX) and
/// date range, newest first.
#[allow(clippy::too_many_arguments)]
pub async fn search_doses(
    db: &Db,
    lo: &str,
    hi: &str,
    patient: Option<&str>,
    cvx: Option<i64>,
    from: Option<&str>,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<DoseRow>, AppError> {
    let sql = format!(
        "SELECT {DOSE_COLS} FROM vaccination_doses WHERE patient_path >= $1 AND patient_path < $2 \
         AND ($3 IS NULL OR patient_id = $3) AND ($4 IS NULL OR cvx = $4) \
         AND ($5 IS NULL OR given_on >= $5) AND ($6 IS NULL OR given_on <= $6) \
         ORDER BY given_on DESC, id LIMIT $7"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, DoseRow>(&sql).bind(lo).bind(hi).bind(patient).bind(cvx)
        .bind(from).bind(to).bind(limit).fetch_all(pool).await)?,
    )
}

// ---------------------------------------------------------------- visits

/// The next queue number of a clinic on a day, drawn by one upsert (never twice the same).
pub async fn next_queue_no(tx: &mut Tx, clinic: &str, day: &str) -> Result<i64, AppError> {
    let n: i64 = with_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO vaccination_queue_numbers (clinic_code, day, last_no) VALUES ($1, $2, 1) \
         ON CONFLICT (clinic_code, day) DO UPDATE SET last_no = vaccination_queue_numbers.last_no + 1 \
         RETURNING last_no")
        .bind(clinic).bind(day).fetch_one(&mut *c).await)?;
    Ok(n)
}

pub async fn insert_visit(tx: &mut Tx, v: &VisitRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(&format!("INSERT INTO vaccination_visits ({VISIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"))
        .bind(&v.id).bind(&v.clinic_code).bind(&v.clinic_path).bind(&v.patient_id).bind(&v.patient_path)
        .bind(&v.day).bind(v.queue_no).bind(&v.status).bind(&v.screening).bind(&v.deferral_reason)
        .bind(&v.return_date).bind(&v.planned).bind(&v.consent_by).bind(&v.consent_at).bind(&v.obs_start)
        .bind(&v.obs_end).bind(v.early_leave).bind(&v.next_date).bind(&v.checked_in_at).bind(&v.updated_at))?;
    Ok(())
}

pub async fn visit(db: &Db, id: &str) -> Result<Option<VisitRow>, AppError> {
    let sql = format!("SELECT {VISIT_COLS} FROM vaccination_visits WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, VisitRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Write a visit's new state if it is still in `from` (two stations cannot both move it).
pub async fn update_visit(tx: &mut Tx, v: &VisitRow, from: &str) -> Result<bool, AppError> {
    let n = tx_exec!(tx, sqlx::query(
        "UPDATE vaccination_visits SET status = $2, screening = $3, deferral_reason = $4, return_date = $5, \
         planned = $6, consent_by = $7, consent_at = $8, obs_start = $9, obs_end = $10, early_leave = $11, \
         next_date = $12, updated_at = $13 WHERE id = $1 AND status = $14")
        .bind(&v.id).bind(&v.status).bind(&v.screening).bind(&v.deferral_reason).bind(&v.return_date)
        .bind(&v.planned).bind(&v.consent_by).bind(&v.consent_at).bind(&v.obs_start).bind(&v.obs_end)
        .bind(v.early_leave).bind(&v.next_date).bind(&v.updated_at).bind(from))?;
    Ok(n == 1)
}

pub async fn visits_of_day(db: &Db, clinic: &str, day: &str) -> Result<Vec<VisitRow>, AppError> {
    let sql = format!(
        "SELECT {VISIT_COLS} FROM vaccination_visits WHERE clinic_code = $1 AND day = $2 ORDER BY queue_no"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, VisitRow>(&sql).bind(clinic).bind(day).fetch_all(pool).await)?,
    )
}

// ---------------------------------------------------------------- AEFI and alerts

pub async fn insert_aefi(tx: &mut Tx, a: &AefiRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_aefi (id, patient_id, patient_path, dose_id, lot_id, onset, symptoms, severity, \
         treatment, outcome, serious, reported_by, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(&a.id).bind(&a.patient_id).bind(&a.patient_path).bind(&a.dose_id).bind(&a.lot_id).bind(&a.onset)
        .bind(&a.symptoms).bind(&a.severity).bind(&a.treatment).bind(&a.outcome).bind(a.serious)
        .bind(&a.reported_by).bind(&a.reported_at))?;
    Ok(())
}

pub async fn aefi_in(db: &Db, lo: &str, hi: &str, limit: i64) -> Result<Vec<AefiRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, AefiRow>(
        "SELECT id, patient_id, patient_path, dose_id, lot_id, onset, symptoms, severity, treatment, outcome, serious, \
         reported_by, reported_at FROM vaccination_aefi WHERE patient_path >= $1 AND patient_path < $2 \
         ORDER BY reported_at DESC LIMIT $3")
        .bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?)
}

pub async fn insert_alert(
    tx: &mut Tx,
    kind: &str,
    org_path: &str,
    ref_id: &str,
    message: &str,
) -> Result<String, AppError> {
    let id = tianshan_platform::new_id();
    let now = tx.now().to_string();
    tx_exec!(tx, sqlx::query(
        "INSERT INTO vaccination_alerts (id, kind, org_path, ref_id, message, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id).bind(kind).bind(org_path).bind(ref_id).bind(message).bind(&now))?;
    Ok(id)
}

/// Alerts about organisations inside `[lo, hi)` and their ancestors' concerns: an alert is
/// kept at the path of the clinic or patient it is about.
pub async fn alerts_in(db: &Db, lo: &str, hi: &str, limit: i64) -> Result<Vec<AlertRow>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, AlertRow>(
        "SELECT id, kind, org_path, ref_id, message, created_at, acknowledged_by FROM vaccination_alerts \
         WHERE org_path >= $1 AND org_path < $2 ORDER BY created_at DESC LIMIT $3")
        .bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?)
}

// ---------------------------------------------------------------- bench

/// A clinic node and one lot of `quantity` doses, for the benchmark's empty database.
pub async fn bench_clinic(
    tx: &mut Tx,
    code: &str,
    lot_id: &str,
    quantity: i64,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let path = format!("/{code}/");
    tx_exec!(tx, sqlx::query("INSERT INTO orgs (code, path, kind, name_zh, created_at) VALUES ($1, $2, 'clinic', $1, $3)")
        .bind(code).bind(&path).bind(&now))?;
    insert_lot(
        tx,
        &LotRow {
            id: lot_id.to_string(),
            org_code: code.to_string(),
            org_path: path,
            product_code: "HepB".into(),
            lot_no: format!("L-{code}"),
            manufacturer: String::new(),
            expiry: "2099-12-31".into(),
            doses_per_vial: 1,
            device_id: None,
            quantity,
            status: "active".into(),
            status_reason: String::new(),
            created_at: now.clone(),
            updated_at: now,
            open_policy: "none".into(),
            open_hours: 0,
        },
    )
    .await
}
