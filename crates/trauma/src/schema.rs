//! The trauma registry's tables (migrations 500–599). One row per injured patient in
//! `trauma_records`, the hospitals of the chain in `trauma_stays` (their paths give the scope:
//! every hospital that treated the patient, and its ancestors, sees the record), the coded
//! injuries in `trauma_injuries`. Scores and intervals are derived columns written with the
//! record, never typed.
use tianshan_platform::migrate::Migration;

const RECORDS: &str = r#"
CREATE TABLE trauma_records (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    sex TEXT NOT NULL DEFAULT '',
    age_years BIGINT,
    injured_at TEXT NOT NULL DEFAULT '',
    injury_place TEXT NOT NULL DEFAULT '',
    mechanism TEXT NOT NULL,
    injury_type TEXT NOT NULL,
    call_at TEXT NOT NULL DEFAULT '',
    dispatch_at TEXT NOT NULL DEFAULT '',
    scene_at TEXT NOT NULL DEFAULT '',
    scene_departed_at TEXT NOT NULL DEFAULT '',
    first_arrival_at TEXT COLLATE BINARY NOT NULL,
    first_org_code TEXT NOT NULL,
    last_org_code TEXT NOT NULL,
    month TEXT NOT NULL,
    trauma_team_at TEXT NOT NULL DEFAULT '',
    mdt_called_at TEXT NOT NULL DEFAULT '',
    mdt_arrived_at TEXT NOT NULL DEFAULT '',
    ct_at TEXT NOT NULL DEFAULT '',
    operation_at TEXT NOT NULL DEFAULT '',
    operation_org_code TEXT NOT NULL DEFAULT '',
    icu_in_at TEXT NOT NULL DEFAULT '',
    icu_out_at TEXT NOT NULL DEFAULT '',
    discharge_at TEXT NOT NULL DEFAULT '',
    rehab_at TEXT NOT NULL DEFAULT '',
    psych_at TEXT NOT NULL DEFAULT '',
    gcs_eye BIGINT,
    gcs_verbal BIGINT,
    gcs_motor BIGINT,
    gcs BIGINT,
    sbp BIGINT,
    rr BIGINT,
    rts_e4 BIGINT,
    iss BIGINT,
    niss BIGINT,
    ps_e6 BIGINT,
    triss_model TEXT NOT NULL DEFAULT '',
    arrival_to_op_min BIGINT,
    prehospital_min BIGINT,
    transfer_min BIGINT,
    outcome_discharge TEXT NOT NULL DEFAULT '',
    outcome_30d TEXT NOT NULL DEFAULT '',
    died BIGINT,
    disposition TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT NOT NULL DEFAULT '',
    review_finding TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX trauma_records_patient ON trauma_records(patient_id);
CREATE INDEX trauma_records_arrival ON trauma_records(first_arrival_at);
CREATE TABLE trauma_stays (
    record_id TEXT NOT NULL REFERENCES trauma_records(id),
    position BIGINT NOT NULL,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    arrived_at TEXT NOT NULL,
    departed_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (record_id, position)
);
CREATE INDEX trauma_stays_path ON trauma_stays(org_path, record_id);
CREATE TABLE trauma_injuries (
    record_id TEXT NOT NULL REFERENCES trauma_records(id),
    position BIGINT NOT NULL,
    icd10 TEXT NOT NULL DEFAULT '',
    ais_code TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL,
    severity BIGINT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (record_id, position)
);
"#;

/// Public prevention activities (the last link of the chain): education sessions and who came.
const PREVENTION: &str = r#"
CREATE TABLE trauma_prevention (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    held_on TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    attendance BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX trauma_prevention_path ON trauma_prevention(org_path, held_on);
"#;

/// The record's first arrival on each of its stays, so the hospital-and-period filter of the
/// lists and indicators starts from one index (`org_path`, then the period).
const STAY_PERIOD: &str = r#"
ALTER TABLE trauma_stays ADD COLUMN record_at TEXT NOT NULL DEFAULT '';
UPDATE trauma_stays SET record_at = (SELECT r.first_arrival_at FROM trauma_records r WHERE r.id = trauma_stays.record_id);
CREATE INDEX trauma_stays_period ON trauma_stays(org_path, record_at, record_id);
"#;

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(500, "trauma records, stays, injuries", RECORDS),
        Migration::same(501, "trauma prevention activities", PREVENTION),
        Migration::same(
            502,
            "trauma stays carry the record's first arrival",
            STAY_PERIOD,
        ),
    ]
}
