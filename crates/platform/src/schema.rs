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

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::same(1, "orgs, users, sessions, tokens", CORE),
        Migration {
            version: 2,
            name: "append-only audit log",
            sqlite: AUDIT_SQLITE,
            postgres: AUDIT_POSTGRES,
        },
    ]
}
