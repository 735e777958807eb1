//! The trauma registry's SQL: records with their stays and injuries, scoped lists (a record is
//! seen from every hospital of its chain and their ancestors), review marks and the narrow rows
//! the indicators are computed from.
use serde::Serialize;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, with_tx, AppError};
use utoipa::ToSchema;

/// A record as stored, scores and intervals included.
#[derive(Debug, Clone, Default, sqlx::FromRow, Serialize, ToSchema, PartialEq)]
pub struct RecordRow {
    pub id: String,
    pub patient_id: String,
    pub sex: String,
    pub age_years: Option<i64>,
    pub injured_at: String,
    pub injury_place: String,
    pub mechanism: String,
    /// blunt / penetrating (from the mechanism).
    pub injury_type: String,
    pub call_at: String,
    pub dispatch_at: String,
    pub scene_at: String,
    pub scene_departed_at: String,
    pub first_arrival_at: String,
    pub first_org_code: String,
    pub last_org_code: String,
    /// Month of the first arrival, China time (`2024-05`).
    pub month: String,
    pub trauma_team_at: String,
    pub mdt_called_at: String,
    pub mdt_arrived_at: String,
    pub ct_at: String,
    pub operation_at: String,
    /// The hospital the patient was in when the first operation started.
    pub operation_org_code: String,
    pub icu_in_at: String,
    pub icu_out_at: String,
    pub discharge_at: String,
    pub rehab_at: String,
    pub psych_at: String,
    pub gcs_eye: Option<i64>,
    pub gcs_verbal: Option<i64>,
    pub gcs_motor: Option<i64>,
    pub gcs: Option<i64>,
    pub sbp: Option<i64>,
    pub rr: Option<i64>,
    /// RTS × 10 000 (RTS 7.8408 → 78408).
    pub rts_e4: Option<i64>,
    pub iss: Option<i64>,
    pub niss: Option<i64>,
    /// TRISS Ps × 1 000 000.
    pub ps_e6: Option<i64>,
    /// The coefficient set Ps was computed with (`MTOS_1995`).
    pub triss_model: String,
    /// Minutes from arrival at the operating hospital to the start of the first operation.
    pub arrival_to_op_min: Option<i64>,
    /// Minutes from the emergency call (or the injury when no call is known) to the first
    /// hospital arrival.
    pub prehospital_min: Option<i64>,
    /// Minutes between leaving one hospital and arriving at the next, summed over transfers.
    pub transfer_min: Option<i64>,
    pub outcome_discharge: String,
    pub outcome_30d: String,
    /// 1 dead at discharge or at 30 days, 0 alive at discharge (and not dead at 30 days).
    pub died: Option<i64>,
    pub disposition: String,
    pub reviewed_at: String,
    pub reviewed_by: String,
    pub review_finding: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub version: i64,
}

#[derive(Debug, Clone, Default, sqlx::FromRow, Serialize, ToSchema, PartialEq, Eq)]
pub struct StayRow {
    pub position: i64,
    pub org_code: String,
    pub org_path: String,
    pub arrived_at: String,
    pub departed_at: String,
}

#[derive(Debug, Clone, Default, sqlx::FromRow, Serialize, ToSchema, PartialEq, Eq)]
pub struct InjuryRow {
    pub position: i64,
    pub icd10: String,
    pub ais_code: String,
    pub region: String,
    pub severity: i64,
    /// `icdpicr_roc_max_nis` (mapped from ICD-10) or `ais_licensed` (typed as AIS).
    pub source: String,
}

const COLS: &[&str] = &[
    "id",
    "patient_id",
    "sex",
    "age_years",
    "injured_at",
    "injury_place",
    "mechanism",
    "injury_type",
    "call_at",
    "dispatch_at",
    "scene_at",
    "scene_departed_at",
    "first_arrival_at",
    "first_org_code",
    "last_org_code",
    "month",
    "trauma_team_at",
    "mdt_called_at",
    "mdt_arrived_at",
    "ct_at",
    "operation_at",
    "operation_org_code",
    "icu_in_at",
    "icu_out_at",
    "discharge_at",
    "rehab_at",
    "psych_at",
    "gcs_eye",
    "gcs_verbal",
    "gcs_motor",
    "gcs",
    "sbp",
    "rr",
    "rts_e4",
    "iss",
    "niss",
    "ps_e6",
    "triss_model",
    "arrival_to_op_min",
    "prehospital_min",
    "transfer_min",
    "outcome_discharge",
    "outcome_30d",
    "died",
    "disposition",
    "reviewed_at",
    "reviewed_by",
    "review_finding",
    "created_at",
    "created_by",
    "updated_at",
    "version",
];

fn cols(prefix: &str) -> String {
    COLS.iter()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! bind_record {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.id)
            .bind(&$r.patient_id)
            .bind(&$r.sex)
            .bind($r.age_years)
            .bind(&$r.injured_at)
            .bind(&$r.injury_place)
            .bind(&$r.mechanism)
            .bind(&$r.injury_type)
            .bind(&$r.call_at)
            .bind(&$r.dispatch_at)
            .bind(&$r.scene_at)
            .bind(&$r.scene_departed_at)
            .bind(&$r.first_arrival_at)
            .bind(&$r.first_org_code)
            .bind(&$r.last_org_code)
            .bind(&$r.month)
            .bind(&$r.trauma_team_at)
            .bind(&$r.mdt_called_at)
            .bind(&$r.mdt_arrived_at)
            .bind(&$r.ct_at)
            .bind(&$r.operation_at)
            .bind(&$r.operation_org_code)
            .bind(&$r.icu_in_at)
            .bind(&$r.icu_out_at)
            .bind(&$r.discharge_at)
            .bind(&$r.rehab_at)
            .bind(&$r.psych_at)
            .bind($r.gcs_eye)
            .bind($r.gcs_verbal)
            .bind($r.gcs_motor)
            .bind($r.gcs)
            .bind($r.sbp)
            .bind($r.rr)
            .bind($r.rts_e4)
            .bind($r.iss)
            .bind($r.niss)
            .bind($r.ps_e6)
            .bind(&$r.triss_model)
            .bind($r.arrival_to_op_min)
            .bind($r.prehospital_min)
            .bind($r.transfer_min)
            .bind(&$r.outcome_discharge)
            .bind(&$r.outcome_30d)
            .bind($r.died)
            .bind(&$r.disposition)
            .bind(&$r.reviewed_at)
            .bind(&$r.reviewed_by)
            .bind(&$r.review_finding)
            .bind(&$r.created_at)
            .bind(&$r.created_by)
            .bind(&$r.updated_at)
            .bind($r.version)
    };
}

fn placeholders(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn write_children(
    tx: &mut Tx,
    id: &str,
    record_at: &str,
    stays: &[StayRow],
    injuries: &[InjuryRow],
) -> Result<(), AppError> {
    tx_exec!(
        tx,
        sqlx::query("DELETE FROM trauma_stays WHERE record_id = $1").bind(id)
    )?;
    tx_exec!(
        tx,
        sqlx::query("DELETE FROM trauma_injuries WHERE record_id = $1").bind(id)
    )?;
    for s in stays {
        tx_exec!(tx, sqlx::query("INSERT INTO trauma_stays (record_id, position, org_code, org_path, arrived_at, departed_at, record_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(s.position).bind(&s.org_code).bind(&s.org_path).bind(&s.arrived_at).bind(&s.departed_at).bind(record_at))?;
    }
    for i in injuries {
        tx_exec!(tx, sqlx::query("INSERT INTO trauma_injuries (record_id, position, icd10, ais_code, region, severity, source) \
            VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(i.position).bind(&i.icd10).bind(&i.ais_code).bind(&i.region).bind(i.severity).bind(&i.source))?;
    }
    Ok(())
}

pub async fn insert(
    tx: &mut Tx,
    r: &RecordRow,
    stays: &[StayRow],
    injuries: &[InjuryRow],
) -> Result<(), AppError> {
    let sql = format!(
        "INSERT INTO trauma_records ({}) VALUES ({})",
        cols(""),
        placeholders(COLS.len(), 1)
    );
    tx_exec!(tx, bind_record!(sqlx::query(&sql), r))?;
    write_children(tx, &r.id, &r.first_arrival_at, stays, injuries).await
}

/// Replace a record whose stored version is `version` (the row carries `version + 1`).
/// Returns false when someone else changed it first.
pub async fn replace(
    tx: &mut Tx,
    r: &RecordRow,
    version: i64,
    stays: &[StayRow],
    injuries: &[InjuryRow],
) -> Result<bool, AppError> {
    let sets: Vec<String> = COLS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE trauma_records SET {} WHERE id = ${} AND version = ${}",
        sets.join(", "),
        COLS.len() + 1,
        COLS.len() + 2
    );
    let n = tx_exec!(
        tx,
        bind_record!(sqlx::query(&sql), r).bind(&r.id).bind(version)
    )?;
    if n == 0 {
        return Ok(false);
    }
    write_children(tx, &r.id, &r.first_arrival_at, stays, injuries).await?;
    Ok(true)
}

pub async fn set_review(tx: &mut Tx, id: &str, by: &str, finding: &str) -> Result<u64, AppError> {
    let now = tx.now().to_string();
    Ok(tx_exec!(tx, sqlx::query("UPDATE trauma_records SET reviewed_at = $1, reviewed_by = $2, review_finding = $3 WHERE id = $4")
        .bind(&now).bind(by).bind(finding).bind(id))?)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<RecordRow>, AppError> {
    let sql = format!("SELECT {} FROM trauma_records WHERE id = $1", cols(""));
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, RecordRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn stays(db: &Db, id: &str) -> Result<Vec<StayRow>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StayRow>("SELECT position, org_code, org_path, arrived_at, departed_at \
        FROM trauma_stays WHERE record_id = $1 ORDER BY position").bind(id).fetch_all(pool).await)?,
    )
}

pub async fn injuries(db: &Db, id: &str) -> Result<Vec<InjuryRow>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, InjuryRow>("SELECT position, icd10, ais_code, region, severity, source \
        FROM trauma_injuries WHERE record_id = $1 ORDER BY position").bind(id).fetch_all(pool).await)?,
    )
}

/// Which records a list or an indicator takes: those with a stay inside `[lo, hi)` (the
/// caller's scope, narrowed to a hospital or prefecture), first arrival in `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub lo: String,
    pub hi: String,
    pub from: String,
    pub to: String,
    /// `time_target`, `unexpected_death`, `unexpected_survivor` or empty.
    pub review: String,
    pub limit: i64,
}

/// The records with a stay under the organisation and a first arrival in the period start from
/// the stays' `(org_path, record_at)` index (`record_at` is the record's first arrival, kept on
/// every stay), so one hospital's month reads that month's stays, not every record.
fn where_sql(f: &Filter) -> String {
    let mut w = "r.id IN (SELECT s.record_id FROM trauma_stays s WHERE s.org_path >= $1 AND s.org_path < $2 \
        AND s.record_at >= $3 AND s.record_at < $4) \
        AND r.first_arrival_at >= $3 AND r.first_arrival_at < $4"
        .to_string();
    match f.review.as_str() {
        "time_target" => w.push_str(&format!(
            " AND ((r.iss >= 16 AND (r.arrival_to_op_min > {op} OR (r.operation_at = '' AND r.died = 1))) \
             OR r.prehospital_min > {pre} OR r.transfer_min > {tr})",
            op = crate::indicators::TARGET_OPERATION_MIN,
            pre = crate::indicators::TARGET_PREHOSPITAL_MIN,
            tr = crate::indicators::TARGET_TRANSFER_MIN
        )),
        "unexpected_death" => w.push_str(" AND r.ps_e6 >= 500000 AND r.died = 1"),
        "unexpected_survivor" => w.push_str(" AND r.ps_e6 < 500000 AND r.died = 0"),
        _ => {}
    }
    w
}

pub async fn list(db: &Db, f: &Filter) -> Result<Vec<RecordRow>, AppError> {
    let sql = format!(
        "SELECT {} FROM trauma_records r WHERE {} ORDER BY r.first_arrival_at DESC, r.id LIMIT $5",
        cols("r."),
        where_sql(f)
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, RecordRow>(&sql)
        .bind(&f.lo).bind(&f.hi).bind(&f.from).bind(&f.to).bind(f.limit).fetch_all(pool).await)?)
}

/// The few columns the indicators need.
#[derive(Debug, Clone, Default, sqlx::FromRow, PartialEq, Eq)]
pub struct IndicatorRow {
    pub month: String,
    pub iss: Option<i64>,
    pub ps_e6: Option<i64>,
    pub died: Option<i64>,
    pub arrival_to_op_min: Option<i64>,
    pub prehospital_min: Option<i64>,
    pub transfer_min: Option<i64>,
}

pub async fn indicator_rows(db: &Db, f: &Filter) -> Result<Vec<IndicatorRow>, AppError> {
    let sql = format!(
        "SELECT r.month, r.iss, r.ps_e6, r.died, r.arrival_to_op_min, r.prehospital_min, r.transfer_min \
         FROM trauma_records r WHERE {}",
        where_sql(f)
    );
    Ok(with_db!(db, pool => sqlx::query_as::<_, IndicatorRow>(&sql)
        .bind(&f.lo).bind(&f.hi).bind(&f.from).bind(&f.to).fetch_all(pool).await)?)
}

/// Benchmark fixture only (never the live path): the organisation rows and the one patient
/// that synthetic trauma records hang on, written straight into an empty database.
pub async fn bench_fixture(
    tx: &mut Tx,
    orgs: &[(&str, Option<&str>, &str, &str)],
    patient_id: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    for (code, parent, kind, path) in orgs {
        tx_exec!(tx, sqlx::query("INSERT INTO orgs (code, parent_code, path, kind, name_zh, created_at) VALUES ($1, $2, $3, $4, $1, $5)")
            .bind(*code).bind(*parent).bind(*path).bind(*kind).bind(&now))?;
    }
    let (code, _, _, path) = orgs.last().copied().unwrap_or_default();
    tx_exec!(tx, sqlx::query("INSERT INTO patients (id, org_code, org_path, full_name, sex, created_at, updated_at) \
        VALUES ($1, $2, $3, 'bench', 'male', $4, $4)")
        .bind(patient_id).bind(code).bind(path).bind(&now))?;
    Ok(())
}

/// Benchmark load: records and their stays with multi-row inserts.
pub async fn bench_insert(tx: &mut Tx, rows: &[(RecordRow, Vec<StayRow>)]) -> Result<(), AppError> {
    for chunk in rows.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|k| format!("({})", placeholders(COLS.len(), 1 + k * COLS.len())))
            .collect();
        let sql = format!(
            "INSERT INTO trauma_records ({}) VALUES {}",
            cols(""),
            values.join(", ")
        );
        with_tx!(tx, c => {
            let mut q = sqlx::query(&sql);
            for (r, _) in chunk {
                q = bind_record!(q, r);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        let stays: Vec<(&RecordRow, &StayRow)> = chunk
            .iter()
            .flat_map(|(r, s)| s.iter().map(move |s| (r, s)))
            .collect();
        let values: Vec<String> = (0..stays.len())
            .map(|k| format!("({})", placeholders(7, 1 + k * 7)))
            .collect();
        let sql = format!(
            "INSERT INTO trauma_stays (record_id, position, org_code, org_path, arrived_at, departed_at, record_at) VALUES {}",
            values.join(", ")
        );
        with_tx!(tx, c => {
            let mut q = sqlx::query(&sql);
            for (r, s) in &stays {
                q = q.bind(&r.id).bind(s.position).bind(&s.org_code).bind(&s.org_path).bind(&s.arrived_at).bind(&s.departed_at).bind(&r.first_arrival_at);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A public prevention activity.
#[derive(Debug, Clone, Default, sqlx::FromRow, Serialize, ToSchema, PartialEq, Eq)]
pub struct PreventionRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    /// school, village, road_safety, workplace, media.
    pub kind: String,
    pub topic: String,
    pub attendance: i64,
    pub created_by: String,
    pub created_at: String,
}

pub async fn insert_prevention(tx: &mut Tx, p: &PreventionRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO trauma_prevention (id, org_code, org_path, held_on, kind, topic, attendance, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&p.id).bind(&p.org_code).bind(&p.org_path).bind(&p.held_on).bind(&p.kind).bind(&p.topic)
        .bind(p.attendance).bind(&p.created_by).bind(&p.created_at))?;
    Ok(())
}

/// Activities held at organisations inside `[lo, hi)`, newest first.
pub async fn prevention(
    db: &Db,
    lo: &str,
    hi: &str,
    limit: i64,
) -> Result<Vec<PreventionRow>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, PreventionRow>("SELECT id, org_code, org_path, held_on, kind, topic, attendance, created_by, created_at \
        FROM trauma_prevention WHERE org_path >= $1 AND org_path < $2 ORDER BY held_on DESC, id LIMIT $3")
        .bind(lo).bind(hi).bind(limit).fetch_all(pool).await)?,
    )
}

/// The ids of a patient's records, oldest first.
pub async fn ids_of_patient(db: &Db, patient_id: &str) -> Result<Vec<String>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, String>("SELECT id FROM trauma_records WHERE patient_id = $1 ORDER BY first_arrival_at, id")
            .bind(patient_id).fetch_all(pool).await)?,
    )
}
