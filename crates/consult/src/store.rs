//! The consultation module's SQL: cases, their thread and declines, targets, pairings,
//! referrals. Every change of state is a conditional UPDATE on the state it expects, so two
//! people (or two server processes) never take the same step twice.
use tianshan_platform::db::{Backend, Db, Tx};
use tianshan_platform::scope::Scope;
use tianshan_platform::{tx_exec, with_db, with_tx, AppError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: String,
    pub patient_id: String,
    pub p_name: String,
    pub p_sex: String,
    pub p_birth_date: Option<String>,
    pub p_id_number: String,
    pub p_phone: String,
    pub kind: String,
    pub urgency: String,
    pub specialty: String,
    pub status: String,
    pub from_code: String,
    pub from_path: String,
    pub requested_by: String,
    pub requested_by_username: String,
    pub requested_by_name: String,
    pub target_kind: String,
    pub target_code: String,
    pub target_path: String,
    pub target_expert: String,
    pub assignee: String,
    pub assignee_name: String,
    pub language: String,
    pub translated_summary: String,
    pub deidentified: i64,
    pub pipl_consent: i64,
    pub complaint: String,
    pub history: String,
    pub examination: String,
    pub investigations: String,
    pub question: String,
    pub impression: String,
    pub recommendations: String,
    pub refer: i64,
    pub follow_up: String,
    pub rating: Option<i64>,
    pub filed_at: String,
    pub half_at: String,
    pub due_at: String,
    pub accepted_at: Option<String>,
    pub answered_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub paused_at: Option<String>,
    pub escalated_at: Option<String>,
    pub updated_at: String,
}

const CASE_COLS: &str = "id, patient_id, p_name, p_sex, p_birth_date, p_id_number, p_phone, kind, urgency, \
    specialty, status, from_code, from_path, requested_by, requested_by_username, requested_by_name, target_kind, \
    target_code, target_path, target_expert, assignee, assignee_name, language, translated_summary, deidentified, \
    pipl_consent, complaint, history, examination, investigations, question, impression, recommendations, refer, \
    follow_up, rating, filed_at, half_at, due_at, accepted_at, answered_at, acknowledged_at, paused_at, \
    escalated_at, updated_at";

pub async fn insert_case(tx: &mut Tx, r: &CaseRow) -> Result<(), AppError> {
    let sql = format!(
        "INSERT INTO consult_cases ({CASE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, \
         $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45)"
    );
    tx_exec!(
        tx,
        sqlx::query(&sql)
            .bind(&r.id)
            .bind(&r.patient_id)
            .bind(&r.p_name)
            .bind(&r.p_sex)
            .bind(&r.p_birth_date)
            .bind(&r.p_id_number)
            .bind(&r.p_phone)
            .bind(&r.kind)
            .bind(&r.urgency)
            .bind(&r.specialty)
            .bind(&r.status)
            .bind(&r.from_code)
            .bind(&r.from_path)
            .bind(&r.requested_by)
            .bind(&r.requested_by_username)
            .bind(&r.requested_by_name)
            .bind(&r.target_kind)
            .bind(&r.target_code)
            .bind(&r.target_path)
            .bind(&r.target_expert)
            .bind(&r.assignee)
            .bind(&r.assignee_name)
            .bind(&r.language)
            .bind(&r.translated_summary)
            .bind(r.deidentified)
            .bind(r.pipl_consent)
            .bind(&r.complaint)
            .bind(&r.history)
            .bind(&r.examination)
            .bind(&r.investigations)
            .bind(&r.question)
            .bind(&r.impression)
            .bind(&r.recommendations)
            .bind(r.refer)
            .bind(&r.follow_up)
            .bind(r.rating)
            .bind(&r.filed_at)
            .bind(&r.half_at)
            .bind(&r.due_at)
            .bind(&r.accepted_at)
            .bind(&r.answered_at)
            .bind(&r.acknowledged_at)
            .bind(&r.paused_at)
            .bind(&r.escalated_at)
            .bind(&r.updated_at)
    )?;
    Ok(())
}

pub async fn get_case(db: &Db, id: &str) -> Result<Option<CaseRow>, AppError> {
    let sql = format!("SELECT {CASE_COLS} FROM consult_cases WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CaseRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Which open cases a list wants.
pub enum Side<'a> {
    /// Addressed to an organisation in the scope.
    Target(&'a Scope),
    /// Filed from an organisation in the scope.
    Requester(&'a Scope),
}

const OPEN: &str = "('filed', 'accepted', 'info_requested', 'answered')";

/// Open cases on one side of the scope, the earliest clock first.
pub async fn open_cases(db: &Db, side: Side<'_>, limit: i64) -> Result<Vec<CaseRow>, AppError> {
    let (col, path_index, scope) = match side {
        Side::Target(s) => ("target_path", "consult_cases_target", s),
        Side::Requester(s) => ("from_path", "consult_cases_from", s),
    };
    let (lo, hi) = scope.path_range();
    // Without statistics SQLite walks every open case through (status, due_at) and sorts them,
    // whatever the scope. So it is told: a scope with many open cases (an index-only count
    // on the path index) walks the partial index in clock order and stops at the limit; a
    // scope with few reads them through the path index. PostgreSQL chooses from its statistics.
    let hint = match db.backend() {
        Backend::Sqlite => {
            let count = format!(
                "SELECT COUNT(*) FROM consult_cases INDEXED BY {path_index} \
                 WHERE {col} >= $1 AND {col} < $2 AND status IN {OPEN}"
            );
            let n: i64 = with_db!(db, pool => sqlx::query_scalar::<_, i64>(&count)
                .bind(&lo).bind(&hi).fetch_one(pool).await)?;
            if n > 2_000 {
                " INDEXED BY consult_cases_open_due".to_string()
            } else {
                format!(" INDEXED BY {path_index}")
            }
        }
        Backend::Postgres => String::new(),
    };
    let sql = format!(
        "SELECT {CASE_COLS} FROM consult_cases{hint} WHERE {col} >= $1 AND {col} < $2 AND status IN {OPEN} \
         ORDER BY due_at, id LIMIT $3"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, CaseRow>(&sql)
        .bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?)
}

/// Every case filed from (or addressed into) the scope, newest first: exports and measures.
pub async fn cases_in(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<CaseRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {CASE_COLS} FROM consult_cases WHERE (from_path >= $1 AND from_path < $2) \
         OR (target_path >= $1 AND target_path < $2) ORDER BY filed_at DESC, id LIMIT $3"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, CaseRow>(&sql)
        .bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?)
}

/// Change a case only if it still stands where the caller saw it; `cols` are set to `vals` in
/// order. Returns rows changed (0: someone else moved it first).
pub async fn set_status(
    tx: &mut Tx,
    id: &str,
    expect: &str,
    status: &str,
    cols: &[&str],
    vals: &[String],
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    let mut sets = String::from("status = $1, updated_at = $2");
    for (i, c) in cols.iter().enumerate() {
        sets.push_str(&format!(", {c} = ${}", i + 5));
    }
    let sql = format!("UPDATE consult_cases SET {sets} WHERE id = $3 AND status = $4");
    let n = with_tx!(tx, c => {
        let mut q = sqlx::query(&sql).bind(status).bind(&now).bind(id).bind(expect);
        for v in vals {
            q = q.bind(v.clone());
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(n)
}

/// Set columns that are integers or may be NULL (rating, refer, pausing).
pub async fn set_numbers(
    tx: &mut Tx,
    id: &str,
    refer: Option<i64>,
    rating: Option<i64>,
) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("UPDATE consult_cases SET refer = COALESCE($1, refer), rating = COALESCE($2, rating) WHERE id = $3")
        .bind(refer).bind(rating).bind(id))?;
    Ok(())
}

pub async fn clear_paused(
    tx: &mut Tx,
    id: &str,
    due_at: &str,
    half_at: &str,
) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query(
            "UPDATE consult_cases SET paused_at = NULL, due_at = $1, half_at = $2 WHERE id = $3"
        )
        .bind(due_at)
        .bind(half_at)
        .bind(id)
    )?;
    Ok(())
}

/// Send a filed case to a (new) target; the assignee is cleared.
pub async fn route(
    tx: &mut Tx,
    id: &str,
    expect: &str,
    target_kind: &str,
    code: &str,
    path: &str,
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(tx, sqlx::query("UPDATE consult_cases SET status = 'filed', target_kind = $1, target_code = $2, \
            target_path = $3, target_expert = '', assignee = '', assignee_name = '', accepted_at = NULL, updated_at = $4 \
            WHERE id = $5 AND status = $6")
        .bind(target_kind).bind(code).bind(path).bind(&now).bind(id).bind(expect))?)
}

pub async fn add_decline(tx: &mut Tx, id: &str, org: &str) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let sql = match tx.backend() {
        tianshan_platform::db::Backend::Sqlite => "INSERT OR IGNORE INTO consult_declines (case_id, org_code, at) VALUES ($1, $2, $3)",
        tianshan_platform::db::Backend::Postgres => "INSERT INTO consult_declines (case_id, org_code, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    };
    tx_exec!(tx, sqlx::query(sql).bind(id).bind(org).bind(&now))?;
    Ok(())
}

pub async fn declined(db: &Db, id: &str) -> Result<Vec<String>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, String>("SELECT org_code FROM consult_declines WHERE case_id = $1")
        .bind(id).fetch_all(pool).await)?,
    )
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct MessageRow {
    pub id: String,
    pub case_id: String,
    pub at: String,
    pub author: String,
    pub author_name: String,
    /// requester, target, coordinator or system.
    pub side: String,
    /// message, accept, decline, request_info, provide_info, answer, acknowledge, route,
    /// escalate, file.
    pub kind: String,
    pub body: String,
}

pub async fn add_message(
    tx: &mut Tx,
    case_id: &str,
    author: &str,
    author_name: &str,
    side: &str,
    kind: &str,
    body: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let id = tianshan_platform::new_id();
    // The thread's order is its own sequence: several steps can share one second.
    tx_exec!(tx, sqlx::query("INSERT INTO consult_messages (id, case_id, seq, at, author, author_name, side, kind, body) \
            VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM consult_messages WHERE case_id = $2), $3, $4, $5, $6, $7, $8)")
        .bind(&id).bind(case_id).bind(&now).bind(author).bind(author_name).bind(side).bind(kind).bind(body))?;
    Ok(())
}

pub async fn messages(db: &Db, case_id: &str) -> Result<Vec<MessageRow>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MessageRow>("SELECT id, case_id, at, author, author_name, side, kind, body \
            FROM consult_messages WHERE case_id = $1 ORDER BY seq")
        .bind(case_id).fetch_all(pool).await)?,
    )
}

/// Response-time target of an urgency (or `referral`), in minutes.
pub async fn target_minutes(db: &Db, urgency: &str) -> Result<i64, AppError> {
    let m: Option<i64> = with_db!(db, pool => sqlx::query_scalar("SELECT minutes FROM consult_targets WHERE urgency = $1")
        .bind(urgency).fetch_optional(pool).await)?;
    Ok(m.unwrap_or(4320))
}

pub async fn targets(db: &Db) -> Result<Vec<(String, i64)>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, (String, i64)>("SELECT urgency, minutes FROM consult_targets ORDER BY minutes")
        .fetch_all(pool).await)?,
    )
}

pub async fn set_target(tx: &mut Tx, urgency: &str, minutes: i64) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query("UPDATE consult_targets SET minutes = $1 WHERE urgency = $2")
            .bind(minutes)
            .bind(urgency)
    )?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Pairing {
    pub local_code: String,
    pub local_path: String,
    pub remote_code: String,
    pub remote_path: String,
    /// Empty: every specialty.
    pub specialty: String,
}

pub async fn pairings(db: &Db) -> Result<Vec<Pairing>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, Pairing>("SELECT local_code, local_path, remote_code, remote_path, specialty \
            FROM consult_pairings ORDER BY local_path, remote_code")
        .fetch_all(pool).await)?,
    )
}

pub async fn add_pairing(tx: &mut Tx, p: &Pairing) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO consult_pairings (local_code, local_path, remote_code, remote_path, specialty) \
            VALUES ($1, $2, $3, $4, $5)")
        .bind(&p.local_code).bind(&p.local_path).bind(&p.remote_code).bind(&p.remote_path).bind(&p.specialty))?;
    Ok(())
}

/// Cases the sweep should escalate now: still unaccepted at half their target, or accepted and
/// unanswered past it; not yet escalated.
pub async fn due_for_escalation(db: &Db, now: &str, limit: i64) -> Result<Vec<CaseRow>, AppError> {
    let sql = format!(
        "SELECT {CASE_COLS} FROM consult_cases WHERE escalated_at IS NULL AND \
         ((status = 'filed' AND half_at <= $1) OR (status = 'accepted' AND due_at <= $1)) ORDER BY due_at LIMIT $2"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CaseRow>(&sql).bind(now).bind(limit).fetch_all(pool).await)?,
    )
}

/// Mark one case escalated, once: 0 when another process (or sweep) did it first.
pub async fn mark_escalated(tx: &mut Tx, id: &str) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(
        tx,
        sqlx::query(
            "UPDATE consult_cases SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL \
            AND ((status = 'filed' AND half_at <= $1) OR (status = 'accepted' AND due_at <= $1))"
        )
        .bind(&now)
        .bind(id)
    )?)
}

// ---- referrals ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferralRow {
    pub id: String,
    pub case_id: Option<String>,
    pub patient_id: String,
    pub p_name: String,
    pub direction: String,
    pub status: String,
    pub from_code: String,
    pub from_path: String,
    pub to_code: String,
    pub to_path: String,
    pub reason: String,
    pub care_plan: String,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: String,
    pub due_at: String,
    pub accepted_at: Option<String>,
    pub expected_arrival: String,
    pub arrived_at: Option<String>,
    pub closed_at: Option<String>,
    pub outcome: String,
    pub feedback: String,
    pub updated_at: String,
}

const REF_COLS: &str = "id, case_id, patient_id, p_name, direction, status, from_code, from_path, to_code, to_path, \
    reason, care_plan, created_by, created_by_name, created_at, due_at, accepted_at, expected_arrival, arrived_at, \
    closed_at, outcome, feedback, updated_at";

pub async fn insert_referral(tx: &mut Tx, r: &ReferralRow) -> Result<(), AppError> {
    let sql = format!(
        "INSERT INTO consult_referrals ({REF_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    );
    tx_exec!(
        tx,
        sqlx::query(&sql)
            .bind(&r.id)
            .bind(&r.case_id)
            .bind(&r.patient_id)
            .bind(&r.p_name)
            .bind(&r.direction)
            .bind(&r.status)
            .bind(&r.from_code)
            .bind(&r.from_path)
            .bind(&r.to_code)
            .bind(&r.to_path)
            .bind(&r.reason)
            .bind(&r.care_plan)
            .bind(&r.created_by)
            .bind(&r.created_by_name)
            .bind(&r.created_at)
            .bind(&r.due_at)
            .bind(&r.accepted_at)
            .bind(&r.expected_arrival)
            .bind(&r.arrived_at)
            .bind(&r.closed_at)
            .bind(&r.outcome)
            .bind(&r.feedback)
            .bind(&r.updated_at)
    )?;
    Ok(())
}

pub async fn get_referral(db: &Db, id: &str) -> Result<Option<ReferralRow>, AppError> {
    let sql = format!("SELECT {REF_COLS} FROM consult_referrals WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ReferralRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Referrals sent from or to the scope, open first, newest first.
pub async fn referrals_in(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<ReferralRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {REF_COLS} FROM consult_referrals WHERE (from_path >= $1 AND from_path < $2) \
         OR (to_path >= $1 AND to_path < $2) \
         ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, created_at DESC, id LIMIT $3"
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, ReferralRow>(&sql)
        .bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?)
}

/// Move a referral on from the state the caller saw; `cols` are set to `vals` in order.
pub async fn referral_step(
    tx: &mut Tx,
    id: &str,
    expect: &str,
    status: &str,
    cols: &[&str],
    vals: &[String],
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    let mut sets = String::from("status = $1, updated_at = $2");
    for (i, c) in cols.iter().enumerate() {
        sets.push_str(&format!(", {c} = ${}", i + 5));
    }
    let sql = format!("UPDATE consult_referrals SET {sets} WHERE id = $3 AND status = $4");
    let n = with_tx!(tx, c => {
        let mut q = sqlx::query(&sql).bind(status).bind(&now).bind(id).bind(expect);
        for v in vals {
            q = q.bind(v.clone());
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(n)
}

// ---- attachments ----

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AttachmentMeta {
    pub id: String,
    pub case_id: String,
    pub name: String,
    /// Detected from the content: image/jpeg, image/png, application/pdf, application/dicom.
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_by: String,
    pub added_by_name: String,
    pub at: String,
}

const ATT_COLS: &str = "id, case_id, name, content_type, size, sha256, added_by, added_by_name, at";

pub async fn insert_attachment(
    tx: &mut Tx,
    m: &AttachmentMeta,
    data: &str,
) -> Result<(), AppError> {
    let sql = format!("INSERT INTO consult_attachments ({ATT_COLS}, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    tx_exec!(
        tx,
        sqlx::query(&sql)
            .bind(&m.id)
            .bind(&m.case_id)
            .bind(&m.name)
            .bind(&m.content_type)
            .bind(m.size)
            .bind(&m.sha256)
            .bind(&m.added_by)
            .bind(&m.added_by_name)
            .bind(&m.at)
            .bind(data)
    )?;
    Ok(())
}

pub async fn attachments(db: &Db, case_id: &str) -> Result<Vec<AttachmentMeta>, AppError> {
    let sql =
        format!("SELECT {ATT_COLS} FROM consult_attachments WHERE case_id = $1 ORDER BY at, id");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, AttachmentMeta>(&sql).bind(case_id).fetch_all(pool).await)?,
    )
}

pub async fn attachment_data(
    db: &Db,
    case_id: &str,
    id: &str,
) -> Result<Option<(AttachmentMeta, String)>, AppError> {
    let sql = format!("SELECT {ATT_COLS} FROM consult_attachments WHERE case_id = $1 AND id = $2");
    let meta = with_db!(db, pool => sqlx::query_as::<_, AttachmentMeta>(&sql).bind(case_id).bind(id).fetch_optional(pool).await)?;
    let Some(meta) = meta else { return Ok(None) };
    let data: String = with_db!(db, pool => sqlx::query_scalar("SELECT data FROM consult_attachments WHERE id = $1")
        .bind(id).fetch_one(pool).await)?;
    Ok(Some((meta, data)))
}

/// The case a thread message or an attachment belongs to (for FHIR reads by their own id).
pub async fn case_of(db: &Db, table: &str, id: &str) -> Result<Option<String>, AppError> {
    let sql = match table {
        "messages" => "SELECT case_id FROM consult_messages WHERE id = $1",
        _ => "SELECT case_id FROM consult_attachments WHERE id = $1",
    };
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, String>(sql).bind(id).fetch_optional(pool).await)?,
    )
}
