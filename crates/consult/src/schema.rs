//! The consultation module's tables (migrations 300–399): cases with their thread and declines,
//! the response-time targets an administrator configures, department pairings, referrals.
use tianshan_platform::migrate::Migration;

const CASES: &str = r#"
CREATE TABLE consult_cases (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    p_name TEXT NOT NULL DEFAULT '',
    p_sex TEXT NOT NULL DEFAULT '',
    p_birth_date TEXT,
    p_id_number TEXT NOT NULL DEFAULT '',
    p_phone TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    urgency TEXT NOT NULL,
    specialty TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    from_code TEXT NOT NULL,
    from_path TEXT COLLATE BINARY NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_username TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_code TEXT NOT NULL DEFAULT '',
    target_path TEXT COLLATE BINARY NOT NULL DEFAULT '',
    target_expert TEXT NOT NULL DEFAULT '',
    assignee TEXT NOT NULL DEFAULT '',
    assignee_name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'zh',
    translated_summary TEXT NOT NULL DEFAULT '',
    deidentified BIGINT NOT NULL DEFAULT 0,
    pipl_consent BIGINT NOT NULL DEFAULT 0,
    complaint TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '',
    examination TEXT NOT NULL DEFAULT '',
    investigations TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    impression TEXT NOT NULL DEFAULT '',
    recommendations TEXT NOT NULL DEFAULT '',
    refer BIGINT NOT NULL DEFAULT 0,
    follow_up TEXT NOT NULL DEFAULT '',
    rating BIGINT,
    filed_at TEXT NOT NULL,
    half_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    accepted_at TEXT,
    answered_at TEXT,
    acknowledged_at TEXT,
    paused_at TEXT,
    escalated_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX consult_cases_target ON consult_cases(target_path, status);
CREATE INDEX consult_cases_from ON consult_cases(from_path, status);
CREATE INDEX consult_cases_status_half ON consult_cases(status, half_at);
CREATE INDEX consult_cases_status_due ON consult_cases(status, due_at);
CREATE INDEX consult_cases_patient ON consult_cases(patient_id);
CREATE TABLE consult_messages (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES consult_cases(id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    author_name TEXT NOT NULL,
    side TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX consult_messages_case ON consult_messages(case_id, seq);
CREATE TABLE consult_declines (
    case_id TEXT NOT NULL REFERENCES consult_cases(id),
    org_code TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (case_id, org_code)
);
CREATE TABLE consult_targets (
    urgency TEXT PRIMARY KEY,
    minutes BIGINT NOT NULL
);
INSERT INTO consult_targets (urgency, minutes) VALUES
    ('emergency', 60), ('urgent', 1440), ('routine', 4320), ('referral', 20160);
CREATE TABLE consult_pairings (
    local_code TEXT NOT NULL,
    local_path TEXT COLLATE BINARY NOT NULL,
    remote_code TEXT NOT NULL,
    remote_path TEXT COLLATE BINARY NOT NULL,
    specialty TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (local_code, remote_code)
);
CREATE TABLE consult_referrals (
    id TEXT PRIMARY KEY,
    case_id TEXT,
    patient_id TEXT NOT NULL,
    p_name TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    from_code TEXT NOT NULL,
    from_path TEXT COLLATE BINARY NOT NULL,
    to_code TEXT NOT NULL,
    to_path TEXT COLLATE BINARY NOT NULL,
    reason TEXT NOT NULL,
    care_plan TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    accepted_at TEXT,
    expected_arrival TEXT NOT NULL DEFAULT '',
    arrived_at TEXT,
    closed_at TEXT,
    outcome TEXT NOT NULL DEFAULT '',
    feedback TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX consult_referrals_from ON consult_referrals(from_path, status);
CREATE INDEX consult_referrals_to ON consult_referrals(to_path, status);
"#;

/// Attachments (JPEG, PNG, PDF, DICOM), type checked by content; the bytes are stored
/// base64-encoded in the row so both backends keep them with the case and its backups.
const ATTACHMENTS: &str = r#"
CREATE TABLE consult_attachments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES consult_cases(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_by_name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX consult_attachments_case ON consult_attachments(case_id, at);
"#;

/// The inboxes list a scope's open cases, earliest clock first, 200 at a time: walking the open
/// cases in clock order stops after 200 matches instead of sorting every open case of the scope.
/// The predicate is the text of `store::OPEN`, so the planners can match it.
const OPEN_BY_CLOCK: &str = "CREATE INDEX consult_cases_open_due ON consult_cases(due_at, id) \
    WHERE status IN ('filed', 'accepted', 'info_requested', 'answered');";

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(
            300,
            "consult cases, threads, targets, pairings, referrals",
            CASES,
        ),
        Migration::same(301, "consult attachments", ATTACHMENTS),
        Migration::same(302, "consult open cases by clock", OPEN_BY_CLOCK),
    ]
}
