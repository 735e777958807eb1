//! Transfer and share requests: insert, list for the owning side (by the record's place) and
//! for the requester, decide or withdraw a pending one with a conditional UPDATE.
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::scope::Scope;
use tianshan_platform::{tx_exec, with_db, AppError, Msg};

/// A request with the record it names (its current place and the facts a coordinator compares).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub id_number: String,
    pub patient_id: String,
    pub from_code: String,
    pub from_path: String,
    pub to_code: String,
    pub to_path: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_by_username: String,
    pub requested_by_name: String,
    pub requested_at: String,
    pub decided_by: String,
    pub decided_by_name: String,
    pub decided_at: Option<String>,
    pub note: String,
    pub p_full_name: String,
    pub p_name_ug: String,
    pub p_name_latin: String,
    pub p_sex: String,
    pub p_birth_date: Option<String>,
    pub p_org_code: String,
    pub p_org_path: String,
}

const COLS: &str = "r.id, r.kind, r.status, r.id_number, r.patient_id, r.from_code, r.from_path, r.to_code, \
    r.to_path, r.reason, r.requested_by, r.requested_by_username, r.requested_by_name, r.requested_at, \
    r.decided_by, r.decided_by_name, r.decided_at, r.note, p.full_name AS p_full_name, p.name_ug AS p_name_ug, \
    p.name_latin AS p_name_latin, p.sex AS p_sex, p.birth_date AS p_birth_date, p.org_code AS p_org_code, \
    p.org_path AS p_org_path";

/// A request to insert.
pub struct NewRequest<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub id_number: &'a str,
    pub patient_id: &'a str,
    pub from_code: &'a str,
    pub from_path: &'a str,
    pub to_code: &'a str,
    pub to_path: &'a str,
    pub reason: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
}

/// Insert a pending request. A pending request for the same record, organisation and kind
/// already exists: Conflict.
pub async fn insert(tx: &mut Tx, r: &NewRequest<'_>) -> Result<(), AppError> {
    let now = tx.now().to_string();
    tx_exec!(tx, sqlx::query("INSERT INTO patient_requests (id, kind, status, id_number, patient_id, from_code, from_path, \
            to_code, to_path, reason, requested_by, requested_by_username, requested_by_name, requested_at) \
            VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(r.id).bind(r.kind).bind(r.id_number).bind(r.patient_id).bind(r.from_code).bind(r.from_path)
        .bind(r.to_code).bind(r.to_path).bind(r.reason).bind(r.user_id).bind(r.username).bind(r.display_name)
        .bind(&now))
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict(Msg::new("request.err.pending")),
        other => other,
    })?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<RequestRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM patient_requests r JOIN patients p ON p.id = r.patient_id WHERE r.id = $1"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, RequestRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Requests about records in the scope (where the record is now, or was when asked), pending
/// first, newest first.
pub async fn incoming(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<RequestRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {COLS} FROM patient_requests r JOIN patients p ON p.id = r.patient_id \
         WHERE (p.org_path >= $1 AND p.org_path < $2) OR (r.from_path >= $1 AND r.from_path < $2) \
         ORDER BY CASE WHEN r.status = 'pending' THEN 0 ELSE 1 END, r.requested_at DESC, r.id LIMIT $3"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, RequestRow>(&sql)
        .bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?)
}

/// Requests a user made, newest first.
pub async fn outgoing(db: &Db, user_id: &str, limit: i64) -> Result<Vec<RequestRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM patient_requests r JOIN patients p ON p.id = r.patient_id \
         WHERE r.requested_by = $1 ORDER BY r.requested_at DESC, r.id LIMIT $2"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, RequestRow>(&sql)
        .bind(user_id).bind(limit).fetch_all(pool).await)?)
}

/// Close a pending request (approved, refused or withdrawn). Returns the rows changed: 0 when
/// it was no longer pending (someone decided first) — the caller answers Conflict.
pub async fn close(
    tx: &mut Tx,
    id: &str,
    status: &str,
    by_username: &str,
    by_name: &str,
    note: &str,
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(tx, sqlx::query("UPDATE patient_requests SET status = $1, decided_by = $2, decided_by_name = $3, decided_at = $4, \
            note = $5 WHERE id = $6 AND status = 'pending'")
        .bind(status).bind(by_username).bind(by_name).bind(&now).bind(note).bind(id))?)
}
