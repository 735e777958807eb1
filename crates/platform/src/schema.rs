//! The platform's own tables: the organisation tree (scopes are nodes of it), users, sessions,
//! API tokens and the append-only audit log.
use crate::migrate::Migration;

const CORE: &str = r#"
CREATE TABLE orgs (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES orgs(code),
    path TEXT COLLATE BINARY NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_ug TEXT NOT NULL DEFAULT '',
    name_en TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX orgs_parent ON orgs(parent_code);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_code TEXT REFERENCES orgs(code),
    display_name TEXT NOT NULL,
    locale TEXT NOT NULL DEFAULT 'zh-Hans',
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"#;

const AUDIT_SQLITE: &str = r#"
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    patient_id TEXT,
    channel TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_patient ON audit_log(patient_id);
CREATE INDEX audit_user ON audit_log(username);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"#;

const AUDIT_POSTGRES: &str = r#"
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    patient_id TEXT,
    channel TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_patient ON audit_log(patient_id);
CREATE INDEX audit_user ON audit_log(username);
CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"#;

/// Roles as data (a user may hold several), the permissions the installed modules declared,
/// and the generation every process watches to drop cached sign-ins.
const ROLES: &str = r#"
CREATE TABLE roles (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL DEFAULT '',
    builtin BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE permissions (
    key TEXT PRIMARY KEY,
    module TEXT NOT NULL,
    installed_at TEXT NOT NULL
);
CREATE TABLE role_permissions (
    role_code TEXT NOT NULL REFERENCES roles(code),
    permission TEXT NOT NULL,
    PRIMARY KEY (role_code, permission)
);
CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id),
    role_code TEXT NOT NULL REFERENCES roles(code),
    PRIMARY KEY (user_id, role_code)
);
CREATE INDEX user_roles_role ON user_roles(role_code);
INSERT INTO roles (code, label, builtin, created_at) VALUES
    ('administrator', '', 1, ''), ('coordinator', '', 1, ''), ('clinician', '', 1, ''),
    ('nurse', '', 1, ''), ('official', '', 1, ''), ('partner', '', 1, '');
INSERT INTO user_roles (user_id, role_code) SELECT id, role FROM users WHERE role IN
    ('administrator', 'coordinator', 'clinician', 'nurse', 'official', 'partner');
CREATE TABLE auth_state (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO auth_state (id, generation) VALUES (1, 1);
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
CREATE INDEX api_tokens_user ON api_tokens(user_id);
"#;

/// Outbound notifications (see `outbox`) and where each topic goes.
macro_rules! const_format_outbox {
    ($id:literal) => {
        concat!(
            "CREATE TABLE outbox (
    id ",
            $id,
            ",
    topic TEXT COLLATE BINARY NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(status, next_at);
CREATE INDEX outbox_topic ON outbox(topic);
CREATE TABLE webhooks (
    topic_prefix TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT ''
);
"
        )
    };
}

const OUTBOX_SQLITE: &str = const_format_outbox!("INTEGER PRIMARY KEY AUTOINCREMENT");
const OUTBOX_POSTGRES: &str = const_format_outbox!("BIGSERIAL PRIMARY KEY");

/// Where a resumable `tianshan import` of an NDJSON file stopped, and the ids given to the
/// file's resources (so later lines' references still resolve after a restart).
const IMPORTS: &str = r#"
CREATE TABLE import_progress (
    file_key TEXT PRIMARY KEY,
    line BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE import_ids (
    file_key TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (file_key, source_ref)
);
"#;

/// Sign-in failures per (username, address) and per username (`ip = '*'`), shared by every
/// server process (see `ratelimit`).
const SIGNIN: &str = r#"
CREATE TABLE signin_failures (
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_at TEXT NOT NULL,
    locked_until TEXT NOT NULL,
    PRIMARY KEY (username, ip)
);
"#;

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(1, "orgs, users, sessions, tokens", CORE),
        Migration {
            version: 2,
            name: "append-only audit log",
            sqlite: AUDIT_SQLITE,
            postgres: AUDIT_POSTGRES,
        },
        Migration::same(3, "roles as data, permissions, auth generation", ROLES),
        Migration {
            version: 4,
            name: "outbound notifications",
            sqlite: OUTBOX_SQLITE,
            postgres: OUTBOX_POSTGRES,
        },
        Migration::same(10, "resumable imports", IMPORTS),
        Migration::same(11, "shared sign-in failure counters", SIGNIN),
    ]
}
