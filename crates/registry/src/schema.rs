//! The registry's tables (migrations 100–199). The organisation tree itself is the
//! platform's (`orgs`), because scopes are nodes of it.
use tianshan_platform::migrate::Migration;

/// Search terms of patients (names in every script, pinyin, initials), one row per term.
/// The patient's `org_path` is copied in so that a scoped search walks one index range,
/// `term` then scope, without visiting `patients`. On SQLite the table is its own index
/// (`WITHOUT ROWID`): about half the size of a rowid table plus a primary-key index.
macro_rules! terms_table {
    ($option:literal) => {
        concat!(
            "CREATE TABLE patient_terms (
    term TEXT COLLATE BINARY NOT NULL,
    org_path TEXT COLLATE BINARY NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    PRIMARY KEY (term, org_path, patient_id)
)",
            $option,
            ";
CREATE INDEX patient_terms_patient ON patient_terms(patient_id);
"
        )
    };
}

/// A name search shows its page sorted by name among the closest terms (`search.rs`). With the
/// name in the term row the page is chosen inside the index, and only the patients shown are
/// read, not every one of the 400 closest. On SQLite the `WITHOUT ROWID` table is its own index;
/// on PostgreSQL the primary key carries the name (`INCLUDE`) for index-only scans.
const TERMS_NAME_SQLITE: &str = r#"
ALTER TABLE patient_terms ADD COLUMN full_name TEXT NOT NULL DEFAULT '';
UPDATE patient_terms SET full_name = (SELECT p.full_name FROM patients p WHERE p.id = patient_terms.patient_id);
"#;
const TERMS_NAME_POSTGRES: &str = r#"
ALTER TABLE patient_terms ADD COLUMN full_name TEXT NOT NULL DEFAULT '';
UPDATE patient_terms t SET full_name = p.full_name FROM patients p WHERE p.id = t.patient_id;
ALTER TABLE patient_terms DROP CONSTRAINT patient_terms_pkey,
    ADD PRIMARY KEY (term, org_path, patient_id) INCLUDE (full_name);
"#;

const PATIENTS: &str = r#"
CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    family_name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    full_name TEXT NOT NULL,
    name_ug TEXT NOT NULL DEFAULT '',
    name_latin TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL,
    birth_date TEXT,
    ethnicity TEXT NOT NULL DEFAULT '',
    id_number TEXT UNIQUE,
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    fhir_extra TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX patients_org_path ON patients(org_path);
CREATE INDEX patients_phone ON patients(phone);
CREATE INDEX patients_name_birth ON patients(full_name, birth_date);
CREATE TABLE patient_guardians (
    patient_id TEXT NOT NULL REFERENCES patients(id),
    position BIGINT NOT NULL,
    guardian_id TEXT REFERENCES patients(id),
    name TEXT NOT NULL DEFAULT '',
    relationship TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (patient_id, position)
);
CREATE TABLE patient_shares (
    patient_id TEXT NOT NULL REFERENCES patients(id),
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    shared_at TEXT NOT NULL,
    shared_by TEXT NOT NULL,
    PRIMARY KEY (patient_id, org_code)
);
CREATE INDEX patient_shares_path ON patient_shares(org_path);
CREATE TABLE practitioners (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    family_name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    full_name TEXT NOT NULL,
    name_ug TEXT NOT NULL DEFAULT '',
    name_latin TEXT NOT NULL DEFAULT '',
    initials TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT 'unknown',
    title TEXT NOT NULL DEFAULT '',
    specialty TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    license_no TEXT NOT NULL DEFAULT '',
    fhir_extra TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX practitioners_org ON practitioners(org_path);
CREATE INDEX practitioners_name ON practitioners(full_name);
"#;

/// Requests to transfer or share a patient registered elsewhere. `patient_id` is the record the
/// ID number named when asked (never shown to the requester before approval); `from_path` is
/// where it was then, `to_code`/`to_path` the requesting organisation. One pending request per
/// record, requesting organisation and kind (a partial unique index closes the race of two
/// identical clicks).
const REQUESTS: &str = r#"
CREATE TABLE patient_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    id_number TEXT NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    from_code TEXT NOT NULL,
    from_path TEXT COLLATE BINARY NOT NULL,
    to_code TEXT NOT NULL REFERENCES orgs(code),
    to_path TEXT COLLATE BINARY NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_username TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_by_name TEXT NOT NULL DEFAULT '',
    decided_at TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX patient_requests_from ON patient_requests(from_path);
CREATE INDEX patient_requests_patient ON patient_requests(patient_id);
CREATE INDEX patient_requests_by ON patient_requests(requested_by, requested_at);
CREATE UNIQUE INDEX patient_requests_one_pending ON patient_requests(patient_id, to_code, kind)
    WHERE status = 'pending';
"#;

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(100, "patients, guardians, shares, practitioners", PATIENTS),
        Migration {
            version: 101,
            name: "patient search terms",
            sqlite: terms_table!(" WITHOUT ROWID"),
            postgres: terms_table!(""),
        },
        Migration::same(102, "patient transfer and share requests", REQUESTS),
        Migration {
            version: 103,
            name: "search terms carry the name results are sorted by",
            sqlite: TERMS_NAME_SQLITE,
            postgres: TERMS_NAME_POSTGRES,
        },
    ]
}
