//! The missions module's SQL: one query body for SQLite and PostgreSQL. Lists filter by the
//! scope's path range on the organisation paths each row keeps.
use serde::Serialize;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::scope::Scope;
use tianshan_platform::{tx_exec, with_db, AppError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NeedRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub kind: String,
    pub specialty: String,
    pub topic: String,
    pub priority: String,
    pub wanted_from: String,
    pub wanted_to: String,
    pub reason: String,
    /// `open`, `planned` (turned into an engagement) or `closed`.
    pub status: String,
    pub mission_id: Option<String>,
    pub posted_by: String,
    pub posted_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OfferRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub specialty: String,
    pub topic: String,
    pub expert: String,
    pub available_from: String,
    pub available_to: String,
    pub note: String,
    pub posted_by: String,
    pub posted_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MissionRow {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub site_code: String,
    pub site_path: String,
    pub lead_code: String,
    pub lead_path: String,
    pub starts_on: String,
    pub ends_on: String,
    pub need_id: Option<String>,
    pub offer_id: Option<String>,
    pub team: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ActivityRow {
    pub id: String,
    pub mission_id: String,
    pub day: String,
    pub kind: String,
    pub topic: String,
    pub count: i64,
    pub people: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MentorshipRow {
    pub id: String,
    pub mentor_username: String,
    pub mentor_name: String,
    pub mentor_code: String,
    pub mentor_path: String,
    pub trainee_name: String,
    pub trainee_post: String,
    pub trainee_ethnicity: String,
    pub trainee_code: String,
    pub trainee_path: String,
    pub goals: String,
    pub starts_on: String,
    pub ends_on: String,
    pub mission_id: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MilestoneRow {
    pub id: String,
    pub mentorship_id: String,
    pub position: i64,
    pub competency: String,
    pub signed_on: Option<String>,
    pub evidence: String,
    pub signed_by: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StaffRow {
    pub id: String,
    pub full_name: String,
    pub batch: String,
    pub specialty: String,
    pub home_code: String,
    pub home_path: String,
    pub post_code: String,
    pub post_path: String,
    pub arrived_on: String,
    pub leaves_on: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LiaisonRow {
    pub id: String,
    pub from_code: String,
    pub from_path: String,
    pub home_code: String,
    pub home_path: String,
    pub kind: String,
    pub subject: String,
    /// `open`, `answered` or `done`.
    pub status: String,
    pub asked_by: String,
    pub asked_by_name: String,
    pub asked_at: String,
    pub answer: String,
    pub answer_from: Option<String>,
    pub answer_to: Option<String>,
    pub answer_people: String,
    pub answered_by: String,
    pub answered_at: Option<String>,
    pub done_at: Option<String>,
}

const NEED_COLS: &str = "id, org_code, org_path, kind, specialty, topic, priority, wanted_from, wanted_to, reason, status, mission_id, posted_by, posted_at";
const OFFER_COLS: &str = "id, org_code, org_path, specialty, topic, expert, available_from, available_to, note, posted_by, posted_at";
const MISSION_COLS: &str = "id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at";
const ACTIVITY_COLS: &str =
    "id, mission_id, day, kind, topic, count, people, note, recorded_by, recorded_at";
const MENTOR_COLS: &str = "id, mentor_username, mentor_name, mentor_code, mentor_path, trainee_name, trainee_post, trainee_ethnicity, trainee_code, trainee_path, goals, starts_on, ends_on, mission_id, created_by, created_at";
const MILESTONE_COLS: &str =
    "id, mentorship_id, position, competency, signed_on, evidence, signed_by";
const STAFF_COLS: &str = "id, full_name, batch, specialty, home_code, home_path, post_code, post_path, arrived_on, leaves_on, created_by, created_at";
const LIAISON_COLS: &str = "id, from_code, from_path, home_code, home_path, kind, subject, status, asked_by, asked_by_name, asked_at, answer, answer_from, answer_to, answer_people, answered_by, answered_at, done_at";

// ---- needs

pub async fn insert_need(tx: &mut Tx, n: &NeedRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_needs (id, org_code, org_path, kind, specialty, topic, priority, wanted_from, wanted_to, reason, status, mission_id, posted_by, posted_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(&n.id).bind(&n.org_code).bind(&n.org_path).bind(&n.kind).bind(&n.specialty).bind(&n.topic)
        .bind(&n.priority).bind(&n.wanted_from).bind(&n.wanted_to).bind(&n.reason).bind(&n.status)
        .bind(&n.mission_id).bind(&n.posted_by).bind(&n.posted_at))?;
    Ok(())
}

pub async fn need(db: &Db, id: &str) -> Result<Option<NeedRow>, AppError> {
    let sql = format!("SELECT {NEED_COLS} FROM missions_needs WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, NeedRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Needs in the scope; `open_only` keeps open ones. Oldest first among open ones, so the
/// longest-waiting need leads.
pub async fn needs(
    db: &Db,
    scope: &Scope,
    open_only: bool,
    limit: i64,
) -> Result<Vec<NeedRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let status = if open_only { "AND status = 'open'" } else { "" };
    let sql = format!(
        "SELECT {NEED_COLS} FROM missions_needs WHERE org_path >= $1 AND org_path < $2 {status} \
         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, \
         CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, posted_at, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, NeedRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

/// Mark an open need planned; 0 rows when it was no longer open.
pub async fn plan_need(tx: &mut Tx, id: &str, mission_id: &str) -> Result<u64, AppError> {
    Ok(tx_exec!(tx, sqlx::query("UPDATE missions_needs SET status = 'planned', mission_id = $1 WHERE id = $2 AND status = 'open'")
        .bind(mission_id).bind(id))?)
}

// ---- offers

pub async fn insert_offer(tx: &mut Tx, o: &OfferRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_offers (id, org_code, org_path, specialty, topic, expert, available_from, available_to, note, posted_by, posted_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(&o.id).bind(&o.org_code).bind(&o.org_path).bind(&o.specialty).bind(&o.topic).bind(&o.expert)
        .bind(&o.available_from).bind(&o.available_to).bind(&o.note).bind(&o.posted_by).bind(&o.posted_at))?;
    Ok(())
}

pub async fn offer(db: &Db, id: &str) -> Result<Option<OfferRow>, AppError> {
    let sql = format!("SELECT {OFFER_COLS} FROM missions_offers WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, OfferRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Offers still available on `today` (the whole network: rear hospitals are roots of their
/// own), soonest first.
pub async fn current_offers(db: &Db, today: &str, limit: i64) -> Result<Vec<OfferRow>, AppError> {
    let sql = format!(
        "SELECT {OFFER_COLS} FROM missions_offers WHERE available_to >= $1 ORDER BY available_from, id LIMIT $2"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, OfferRow>(&sql).bind(today).bind(limit).fetch_all(pool).await)?,
    )
}

/// Offers posted by organisations in the scope.
pub async fn offers_in(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<OfferRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {OFFER_COLS} FROM missions_offers WHERE org_path >= $1 AND org_path < $2 ORDER BY available_from DESC, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, OfferRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

/// `(lead_code, site_code)` of every mission at sites under `site_prefix`: past missions per
/// rear hospital and place, for the ranking.
pub async fn mission_pairs(db: &Db, lo: &str, hi: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT lead_path, site_path FROM missions_missions WHERE site_path >= $1 AND site_path < $2")
        .bind(lo).bind(hi).fetch_all(pool).await)?)
}

// ---- missions

pub async fn insert_mission(tx: &mut Tx, m: &MissionRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_missions (id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(&m.id).bind(&m.kind).bind(&m.title).bind(&m.site_code).bind(&m.site_path).bind(&m.lead_code)
        .bind(&m.lead_path).bind(&m.starts_on).bind(&m.ends_on).bind(&m.need_id).bind(&m.offer_id)
        .bind(&m.team).bind(&m.created_by).bind(&m.created_at))?;
    Ok(())
}

pub async fn mission(db: &Db, id: &str) -> Result<Option<MissionRow>, AppError> {
    let sql = format!("SELECT {MISSION_COLS} FROM missions_missions WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MissionRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

/// Missions whose site or leading hospital is in the scope, newest first.
pub async fn missions(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<MissionRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {MISSION_COLS} FROM missions_missions WHERE (site_path >= $1 AND site_path < $2) \
         OR (lead_path >= $1 AND lead_path < $2) ORDER BY starts_on DESC, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MissionRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

pub async fn insert_activity(tx: &mut Tx, a: &ActivityRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_activities (id, mission_id, day, kind, topic, count, people, note, recorded_by, recorded_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(&a.id).bind(&a.mission_id).bind(&a.day).bind(&a.kind).bind(&a.topic).bind(a.count)
        .bind(&a.people).bind(&a.note).bind(&a.recorded_by).bind(&a.recorded_at))?;
    tx_exec!(tx, sqlx::query("INSERT INTO missions_activity_sums (mission_id, kind, entries, total, at_least_one) VALUES ($1, $2, 1, $3, $4) \
        ON CONFLICT (mission_id, kind) DO UPDATE SET entries = missions_activity_sums.entries + 1, \
        total = missions_activity_sums.total + $3, at_least_one = missions_activity_sums.at_least_one + $4")
        .bind(&a.mission_id).bind(&a.kind).bind(a.count).bind(a.count.max(1)))?;
    Ok(())
}

/// Add one mission's day log up again (after entries were changed in place).
pub async fn refresh_activity_sums(tx: &mut Tx, mission_id: &str) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query("DELETE FROM missions_activity_sums WHERE mission_id = $1").bind(mission_id)
    )?;
    tx_exec!(tx, sqlx::query("INSERT INTO missions_activity_sums (mission_id, kind, entries, total, at_least_one) \
        SELECT mission_id, kind, COUNT(*), COALESCE(SUM(count), 0), COALESCE(SUM(CASE WHEN count < 1 THEN 1 ELSE count END), 0) \
        FROM missions_activities WHERE mission_id = $1 GROUP BY mission_id, kind").bind(mission_id))?;
    Ok(())
}

pub async fn activities(db: &Db, mission_id: &str) -> Result<Vec<ActivityRow>, AppError> {
    let sql = format!(
        "SELECT {ACTIVITY_COLS} FROM missions_activities WHERE mission_id = $1 ORDER BY day, recorded_at, id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ActivityRow>(&sql).bind(mission_id).fetch_all(pool).await)?,
    )
}

// ---- mentorships

pub async fn insert_mentorship(tx: &mut Tx, m: &MentorshipRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_mentorships (id, mentor_username, mentor_name, mentor_code, mentor_path, trainee_name, trainee_post, trainee_ethnicity, trainee_code, trainee_path, goals, starts_on, ends_on, mission_id, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
        .bind(&m.id).bind(&m.mentor_username).bind(&m.mentor_name).bind(&m.mentor_code).bind(&m.mentor_path)
        .bind(&m.trainee_name).bind(&m.trainee_post).bind(&m.trainee_ethnicity).bind(&m.trainee_code)
        .bind(&m.trainee_path).bind(&m.goals).bind(&m.starts_on).bind(&m.ends_on).bind(&m.mission_id)
        .bind(&m.created_by).bind(&m.created_at))?;
    tx_exec!(tx, sqlx::query("INSERT INTO missions_trainee_counts (trainee_path, mentor_path, year, post, ethnicity, trainees) \
        VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (trainee_path, mentor_path, year, post, ethnicity) \
        DO UPDATE SET trainees = missions_trainee_counts.trainees + 1")
        .bind(&m.trainee_path).bind(&m.mentor_path).bind(m.starts_on.get(..4).unwrap_or(""))
        .bind(&m.trainee_post).bind(&m.trainee_ethnicity))?;
    Ok(())
}

/// Count one sign-off of a mentorship's competency in its year.
async fn count_sign_off(tx: &mut Tx, mentorship_id: &str, signed_on: &str) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_signoff_counts (trainee_path, mentor_path, year, sign_offs) \
        SELECT trainee_path, mentor_path, $2, 1 FROM missions_mentorships WHERE id = $1 \
        ON CONFLICT (trainee_path, mentor_path, year) DO UPDATE SET sign_offs = missions_signoff_counts.sign_offs + 1")
        .bind(mentorship_id).bind(signed_on.get(..4).unwrap_or("")))?;
    Ok(())
}

pub async fn insert_milestone(tx: &mut Tx, m: &MilestoneRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_milestones (id, mentorship_id, position, competency, signed_on, evidence, signed_by) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&m.id).bind(&m.mentorship_id).bind(m.position).bind(&m.competency).bind(&m.signed_on)
        .bind(&m.evidence).bind(&m.signed_by))?;
    if let Some(on) = &m.signed_on {
        count_sign_off(tx, &m.mentorship_id, on).await?;
    }
    Ok(())
}

pub async fn mentorship(db: &Db, id: &str) -> Result<Option<MentorshipRow>, AppError> {
    let sql = format!("SELECT {MENTOR_COLS} FROM missions_mentorships WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MentorshipRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn mentorships(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<MentorshipRow>, AppError> {
    let (lo, hi) = scope.path_range();
    // SQLite would gather the scope's mentorships through both path indexes and sort them all
    // (50,000 in a region: 50–130 ms); walking them newest first and stopping at the limit
    // takes 1–2 ms, and 18 ms for a scope with none.
    let walk = match db.backend() {
        tianshan_platform::db::Backend::Sqlite => "INDEXED BY missions_mentorships_started",
        tianshan_platform::db::Backend::Postgres => "",
    };
    let sql = format!(
        "SELECT {MENTOR_COLS} FROM missions_mentorships {walk} WHERE (trainee_path >= $1 AND trainee_path < $2) \
         OR (mentor_path >= $1 AND mentor_path < $2) ORDER BY starts_on DESC, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MentorshipRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

pub async fn mentorships_of_mission(
    db: &Db,
    mission_id: &str,
) -> Result<Vec<MentorshipRow>, AppError> {
    let sql = format!(
        "SELECT {MENTOR_COLS} FROM missions_mentorships WHERE mission_id = $1 ORDER BY trainee_name, id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MentorshipRow>(&sql).bind(mission_id).fetch_all(pool).await)?,
    )
}

pub async fn milestones(db: &Db, mentorship_id: &str) -> Result<Vec<MilestoneRow>, AppError> {
    let sql = format!(
        "SELECT {MILESTONE_COLS} FROM missions_milestones WHERE mentorship_id = $1 ORDER BY position"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MilestoneRow>(&sql).bind(mentorship_id).fetch_all(pool).await)?,
    )
}

/// Sign off a milestone not yet signed; 0 rows when it already was.
pub async fn sign_milestone(
    tx: &mut Tx,
    id: &str,
    mentorship_id: &str,
    signed_on: &str,
    evidence: &str,
    by: &str,
) -> Result<u64, AppError> {
    let n = tx_exec!(
        tx,
        sqlx::query(
            "UPDATE missions_milestones SET signed_on = $1, evidence = $2, signed_by = $3 \
        WHERE id = $4 AND mentorship_id = $5 AND signed_on IS NULL"
        )
        .bind(signed_on)
        .bind(evidence)
        .bind(by)
        .bind(id)
        .bind(mentorship_id)
    )?;
    if n == 1 {
        count_sign_off(tx, mentorship_id, signed_on).await?;
    }
    Ok(n)
}

// ---- aid staff

pub async fn insert_staff(tx: &mut Tx, s: &StaffRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_staff (id, full_name, batch, specialty, home_code, home_path, post_code, post_path, arrived_on, leaves_on, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(&s.id).bind(&s.full_name).bind(&s.batch).bind(&s.specialty).bind(&s.home_code).bind(&s.home_path)
        .bind(&s.post_code).bind(&s.post_path).bind(&s.arrived_on).bind(&s.leaves_on).bind(&s.created_by)
        .bind(&s.created_at))?;
    Ok(())
}

pub async fn staff(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<StaffRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {STAFF_COLS} FROM missions_staff WHERE (post_path >= $1 AND post_path < $2) \
         OR (home_path >= $1 AND home_path < $2) ORDER BY arrived_on DESC, full_name, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StaffRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

// ---- department requests

pub async fn insert_liaison(tx: &mut Tx, l: &LiaisonRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_liaison (id, from_code, from_path, home_code, home_path, kind, subject, status, asked_by, asked_by_name, asked_at, \
        answer, answer_from, answer_to, answer_people, answered_by, answered_at, done_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)")
        .bind(&l.id).bind(&l.from_code).bind(&l.from_path).bind(&l.home_code).bind(&l.home_path)
        .bind(&l.kind).bind(&l.subject).bind(&l.status).bind(&l.asked_by).bind(&l.asked_by_name).bind(&l.asked_at)
        .bind(&l.answer).bind(&l.answer_from).bind(&l.answer_to).bind(&l.answer_people).bind(&l.answered_by)
        .bind(&l.answered_at).bind(&l.done_at))?;
    Ok(())
}

/// How many missions there are (the demo loads once).
pub async fn mission_count(db: &Db) -> Result<i64, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM missions_missions").fetch_one(pool).await)?,
    )
}

pub async fn liaison(db: &Db, id: &str) -> Result<Option<LiaisonRow>, AppError> {
    let sql = format!("SELECT {LIAISON_COLS} FROM missions_liaison WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LiaisonRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn liaisons(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<LiaisonRow>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql = format!(
        "SELECT {LIAISON_COLS} FROM missions_liaison WHERE (from_path >= $1 AND from_path < $2) \
         OR (home_path >= $1 AND home_path < $2) \
         ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'answered' THEN 1 ELSE 2 END, asked_at DESC, id LIMIT $3"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, LiaisonRow>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

pub async fn answer_liaison(
    tx: &mut Tx,
    id: &str,
    a: &crate::domain::LiaisonAnswer,
    by: &str,
) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(tx, sqlx::query("UPDATE missions_liaison SET status = 'answered', answer = $1, answer_from = $2, answer_to = $3, \
        answer_people = $4, answered_by = $5, answered_at = $6 WHERE id = $7 AND status = 'open'")
        .bind(&a.answer).bind(&a.answer_from).bind(&a.answer_to).bind(&a.answer_people).bind(by).bind(&now).bind(id))?)
}

pub async fn close_liaison(tx: &mut Tx, id: &str) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(tx, sqlx::query("UPDATE missions_liaison SET status = 'done', done_at = $1 WHERE id = $2 AND status = 'answered'")
        .bind(&now).bind(id))?)
}
