//! The missions module's tables (migrations 200–299): needs, offers, missions and their
//! activity log, mentorships with milestones, aid staff rotations and department requests.
//! Each row keeps the materialised path of the organisations it belongs to, so scope filters
//! are index ranges.
use tianshan_platform::migrate::Migration;

const V200: &str = r#"
CREATE TABLE missions_needs (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    kind TEXT NOT NULL,
    specialty TEXT NOT NULL,
    topic TEXT NOT NULL,
    priority TEXT NOT NULL,
    wanted_from TEXT NOT NULL,
    wanted_to TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    mission_id TEXT,
    posted_by TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
CREATE INDEX missions_needs_path ON missions_needs(org_path);
CREATE INDEX missions_needs_status ON missions_needs(status, org_path);
CREATE TABLE missions_offers (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    specialty TEXT NOT NULL,
    topic TEXT NOT NULL,
    expert TEXT NOT NULL DEFAULT '',
    available_from TEXT NOT NULL,
    available_to TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    posted_by TEXT NOT NULL,
    posted_at TEXT NOT NULL
);
CREATE INDEX missions_offers_specialty ON missions_offers(specialty);
CREATE TABLE missions_missions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    site_code TEXT NOT NULL REFERENCES orgs(code),
    site_path TEXT COLLATE BINARY NOT NULL,
    lead_code TEXT NOT NULL REFERENCES orgs(code),
    lead_path TEXT COLLATE BINARY NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    need_id TEXT,
    offer_id TEXT,
    team TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX missions_missions_site ON missions_missions(site_path);
CREATE INDEX missions_missions_lead ON missions_missions(lead_path);
CREATE TABLE missions_activities (
    id TEXT PRIMARY KEY,
    mission_id TEXT NOT NULL REFERENCES missions_missions(id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    count BIGINT NOT NULL DEFAULT 0,
    people TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX missions_activities_mission ON missions_activities(mission_id, day);
CREATE TABLE missions_mentorships (
    id TEXT PRIMARY KEY,
    mentor_username TEXT NOT NULL,
    mentor_name TEXT NOT NULL,
    mentor_code TEXT NOT NULL REFERENCES orgs(code),
    mentor_path TEXT COLLATE BINARY NOT NULL,
    trainee_name TEXT NOT NULL,
    trainee_post TEXT NOT NULL DEFAULT '',
    trainee_ethnicity TEXT NOT NULL DEFAULT '',
    trainee_code TEXT NOT NULL REFERENCES orgs(code),
    trainee_path TEXT COLLATE BINARY NOT NULL,
    goals TEXT NOT NULL DEFAULT '',
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    mission_id TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX missions_mentorships_trainee ON missions_mentorships(trainee_path);
CREATE INDEX missions_mentorships_mentor ON missions_mentorships(mentor_path);
CREATE TABLE missions_milestones (
    id TEXT PRIMARY KEY,
    mentorship_id TEXT NOT NULL REFERENCES missions_mentorships(id),
    position BIGINT NOT NULL,
    competency TEXT NOT NULL,
    signed_on TEXT,
    evidence TEXT NOT NULL DEFAULT '',
    signed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX missions_milestones_mentorship ON missions_milestones(mentorship_id, position);
CREATE TABLE missions_staff (
    id TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    batch TEXT NOT NULL DEFAULT '',
    specialty TEXT NOT NULL DEFAULT '',
    home_code TEXT NOT NULL REFERENCES orgs(code),
    home_path TEXT COLLATE BINARY NOT NULL,
    post_code TEXT NOT NULL REFERENCES orgs(code),
    post_path TEXT COLLATE BINARY NOT NULL,
    arrived_on TEXT NOT NULL,
    leaves_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX missions_staff_post ON missions_staff(post_path);
CREATE TABLE missions_liaison (
    id TEXT PRIMARY KEY,
    from_code TEXT NOT NULL REFERENCES orgs(code),
    from_path TEXT COLLATE BINARY NOT NULL,
    home_code TEXT NOT NULL REFERENCES orgs(code),
    home_path TEXT COLLATE BINARY NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    asked_by TEXT NOT NULL,
    asked_by_name TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    answer_from TEXT,
    answer_to TEXT,
    answer_people TEXT NOT NULL DEFAULT '',
    answered_by TEXT NOT NULL DEFAULT '',
    answered_at TEXT,
    done_at TEXT
);
CREATE INDEX missions_liaison_from ON missions_liaison(from_path);
CREATE INDEX missions_liaison_home ON missions_liaison(home_path);
"#;

const V201: &str = r#"
CREATE TABLE missions_techniques (
    id TEXT PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs(code),
    org_path TEXT COLLATE BINARY NOT NULL,
    technique TEXT NOT NULL,
    mission_id TEXT REFERENCES missions_missions(id),
    status TEXT NOT NULL DEFAULT 'none',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX missions_techniques_path ON missions_techniques(org_path);
CREATE INDEX missions_techniques_mission ON missions_techniques(mission_id);
CREATE TABLE missions_technique_steps (
    id TEXT PRIMARY KEY,
    technique_id TEXT NOT NULL REFERENCES missions_techniques(id),
    status TEXT NOT NULL,
    on_date TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX missions_technique_steps_technique ON missions_technique_steps(technique_id, on_date);
CREATE INDEX missions_technique_steps_status ON missions_technique_steps(status);
"#;

const V202: &str = r#"
CREATE TABLE missions_certificates (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    title TEXT NOT NULL,
    issuer_code TEXT NOT NULL REFERENCES orgs(code),
    issuer_path TEXT COLLATE BINARY NOT NULL,
    mission_id TEXT NOT NULL REFERENCES missions_missions(id),
    activity_id TEXT,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE INDEX missions_certificates_mission ON missions_certificates(mission_id);
"#;

/// The register's statuses as the programme names them: none → introduced (first case, date,
/// with whom) → independent → excellent, with the cases done with aid and by the local team
/// alone as evidence at each step. The old `assisted` and `supervised` steps were both before
/// the local team worked alone: they become `introduced` entries (the later one an evidence
/// update), and the first step's date and signer become the first case.
const V203: &str = r#"
ALTER TABLE missions_techniques ADD COLUMN first_case_on TEXT;
ALTER TABLE missions_techniques ADD COLUMN first_case_with TEXT NOT NULL DEFAULT '';
ALTER TABLE missions_technique_steps ADD COLUMN cases_aided BIGINT NOT NULL DEFAULT 0;
ALTER TABLE missions_technique_steps ADD COLUMN cases_alone BIGINT NOT NULL DEFAULT 0;
UPDATE missions_technique_steps SET status = 'introduced' WHERE status IN ('assisted', 'supervised');
UPDATE missions_techniques SET status = 'introduced' WHERE status IN ('assisted', 'supervised');
UPDATE missions_techniques SET
    first_case_on = (SELECT MIN(s.on_date) FROM missions_technique_steps s WHERE s.technique_id = missions_techniques.id),
    first_case_with = COALESCE((SELECT s.signed_by FROM missions_technique_steps s WHERE s.technique_id = missions_techniques.id ORDER BY s.on_date, s.id LIMIT 1), '')
WHERE status <> 'none';
"#;

const V204: &str = r#"
CREATE TABLE missions_studios (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    expert_name TEXT NOT NULL,
    specialty TEXT NOT NULL DEFAULT '',
    home_code TEXT NOT NULL REFERENCES orgs(code),
    home_path TEXT COLLATE BINARY NOT NULL,
    host_code TEXT NOT NULL REFERENCES orgs(code),
    host_path TEXT COLLATE BINARY NOT NULL,
    opened_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX missions_studios_host ON missions_studios(host_path);
CREATE INDEX missions_studios_home ON missions_studios(home_path);
CREATE INDEX missions_mentorships_mentor_name ON missions_mentorships(mentor_name);
CREATE INDEX missions_milestones_signed ON missions_milestones(mentorship_id, signed_on);
CREATE TABLE missions_fellowship_reports (
    mission_id TEXT PRIMARY KEY REFERENCES missions_missions(id),
    supervisor TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reported_on TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
"#;

/// Figures kept up to date in the transaction of each write, so the measures pages add up a
/// few hundred rows instead of every day log and sign-off (docs/benchmarks.md, "Missions").
const V205: &str = r#"
CREATE TABLE missions_activity_sums (
    mission_id TEXT NOT NULL REFERENCES missions_missions(id),
    kind TEXT NOT NULL,
    entries BIGINT NOT NULL,
    total BIGINT NOT NULL,
    at_least_one BIGINT NOT NULL,
    PRIMARY KEY (mission_id, kind)
);
INSERT INTO missions_activity_sums (mission_id, kind, entries, total, at_least_one)
SELECT mission_id, kind, COUNT(*), COALESCE(SUM(count), 0),
       COALESCE(SUM(CASE WHEN count < 1 THEN 1 ELSE count END), 0)
FROM missions_activities GROUP BY mission_id, kind;
CREATE TABLE missions_trainee_counts (
    trainee_path TEXT COLLATE BINARY NOT NULL,
    mentor_path TEXT COLLATE BINARY NOT NULL,
    year TEXT NOT NULL,
    post TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    trainees BIGINT NOT NULL,
    PRIMARY KEY (trainee_path, mentor_path, year, post, ethnicity)
);
INSERT INTO missions_trainee_counts (trainee_path, mentor_path, year, post, ethnicity, trainees)
SELECT trainee_path, mentor_path, substr(starts_on, 1, 4), trainee_post, trainee_ethnicity, COUNT(*)
FROM missions_mentorships GROUP BY trainee_path, mentor_path, substr(starts_on, 1, 4), trainee_post, trainee_ethnicity;
CREATE TABLE missions_signoff_counts (
    trainee_path TEXT COLLATE BINARY NOT NULL,
    mentor_path TEXT COLLATE BINARY NOT NULL,
    year TEXT NOT NULL,
    sign_offs BIGINT NOT NULL,
    PRIMARY KEY (trainee_path, mentor_path, year)
);
INSERT INTO missions_signoff_counts (trainee_path, mentor_path, year, sign_offs)
SELECT m.trainee_path, m.mentor_path, substr(s.signed_on, 1, 4), COUNT(*)
FROM missions_milestones s JOIN missions_mentorships m ON m.id = s.mentorship_id
WHERE s.signed_on IS NOT NULL
GROUP BY m.trainee_path, m.mentor_path, substr(s.signed_on, 1, 4);
CREATE INDEX missions_mentorships_started ON missions_mentorships(starts_on, id);
"#;

/// SQLite only: the people lists of training entries read from the index alone. PostgreSQL
/// limits an index entry to a third of a page, and a long list could pass it; it does not
/// need the index for the measures' speed.
const V206_SQLITE: &str = "CREATE INDEX missions_activities_training ON missions_activities(kind, mission_id, people) WHERE kind IN ('operation', 'ward_round', 'technique');";

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(200, "missions_tables", V200),
        Migration::same(201, "missions_technique_register", V201),
        Migration::same(202, "missions_certificates", V202),
        Migration::same(203, "missions_technique_statuses", V203),
        Migration::same(204, "missions_studios_fellowship_reports", V204),
        Migration::same(205, "missions_summaries", V205),
        Migration {
            version: 206,
            name: "missions_training_people_index",
            sqlite: V206_SQLITE,
            postgres: "SELECT 1;",
        },
    ]
}
