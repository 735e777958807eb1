//! Users, passwords (argon2id), browser sessions and API bearer tokens.
//! Secrets are random 32-byte values; only their SHA-256 is stored.
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::clock::{parse_timestamp, timestamp_text, Clock};
use crate::db::Db;
use crate::error::{AppError, Msg};
use crate::scope::{Role, Scope};
use crate::with_db;

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Api,
    Fhir,
    Cli,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Fhir => "fhir",
            Channel::Cli => "cli",
        }
    }
}

/// The signed-in person (or program) making a request, with where the request came from.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub scope_code: Option<String>,
    pub locale: String,
    pub channel: Channel,
    pub ip: String,
    pub user_agent: String,
}

impl Principal {
    pub fn require(&self, p: crate::scope::Permission) -> Result<(), AppError> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    role: String,
    scope_code: Option<String>,
    scope_path: Option<String>,
    display_name: String,
    locale: String,
}

const USER_SELECT: &str =
    "SELECT u.id, u.username, u.password_hash, u.role, u.scope_code, o.path AS scope_path, \
     u.display_name, u.locale FROM users u LEFT JOIN orgs o ON o.code = u.scope_code";

impl UserRow {
    fn into_principal(self, channel: Channel, ip: &str, user_agent: &str) -> Option<Principal> {
        let role = Role::parse(&self.role)?;
        Some(Principal {
            user_id: self.id,
            username: self.username,
            display_name: self.display_name,
            role,
            scope: Scope {
                role,
                path: self.scope_path,
            },
            scope_code: self.scope_code,
            locale: self.locale,
            channel,
            ip: ip.to_string(),
            user_agent: user_agent.to_string(),
        })
    }
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub scope_code: Option<&'a str>,
    pub display_name: &'a str,
    pub locale: &'a str,
}

/// Minimum password length for new accounts.
pub const MIN_PASSWORD: usize = 8;

pub async fn create_user(db: &Db, user: NewUser<'_>, clock: &Clock) -> Result<String, AppError> {
    if user.username.trim().is_empty() || user.username.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            "username",
            Msg::new("user.username_invalid"),
        ));
    }
    if user.password.chars().count() < MIN_PASSWORD {
        return Err(AppError::invalid(
            "password",
            Msg::new("user.password_short").arg("min", MIN_PASSWORD.to_string()),
        ));
    }
    if user.role != Role::Administrator && user.scope_code.is_none() {
        return Err(AppError::invalid("scope", Msg::new("user.scope_required")));
    }
    if let Some(code) = user.scope_code {
        let found: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT code FROM orgs WHERE code = $1")
            .bind(code).fetch_optional(pool).await)?;
        if found.is_none() {
            return Err(AppError::invalid(
                "scope",
                Msg::new("user.scope_unknown").arg("code", code),
            ));
        }
    }
    let password = user.password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let id = uuid::Uuid::new_v4().to_string();
    with_db!(db, pool => sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, scope_code, display_name, locale, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)")
        .bind(&id).bind(user.username).bind(&hash).bind(user.role.as_str())
        .bind(user.scope_code).bind(user.display_name).bind(user.locale).bind(clock.now_text())
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(id)
}

/// Check a username and password. Runs argon2 off the async threads.
pub async fn authenticate(
    db: &Db,
    username: &str,
    password: &str,
    ip: &str,
    ua: &str,
) -> Result<Option<Principal>, AppError> {
    let sql = format!("{USER_SELECT} WHERE u.username = $1 AND u.active = 1");
    let row: Option<UserRow> =
        with_db!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)?;
    let Some(row) = row else {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        let pw = password.to_string();
        let _ = tokio::task::spawn_blocking(move || hash_password(&pw)).await;
        return Ok(None);
    };
    let pw = password.to_string();
    let hash = row.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(if ok {
        row.into_principal(Channel::Web, ip, ua)
    } else {
        None
    })
}

/// Start a browser session; returns the cookie value.
pub async fn create_session(
    db: &Db,
    user_id: &str,
    clock: &Clock,
    ip: &str,
    ua: &str,
) -> Result<String, AppError> {
    let secret = random_secret("");
    let now = clock.now();
    with_db!(db, pool => sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(secret_hash(&secret)).bind(user_id).bind(timestamp_text(now))
        .bind(timestamp_text(now + Duration::hours(SESSION_HOURS))).bind(ip).bind(ua)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(secret)
}

pub async fn end_session(db: &Db, secret: &str) -> Result<(), AppError> {
    with_db!(db, pool => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(secret_hash(secret)).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn principal_from_session(
    db: &Db,
    secret: &str,
    clock: &Clock,
    channel: Channel,
    ip: &str,
    ua: &str,
) -> Result<Option<Principal>, AppError> {
    let sql = format!("{USER_SELECT} JOIN sessions s ON s.user_id = u.id WHERE s.id_hash = $1 AND u.active = 1 AND s.expires_at > $2");
    let row: Option<UserRow> = with_db!(db, pool => sqlx::query_as(&sql)
        .bind(secret_hash(secret)).bind(clock.now_text()).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.into_principal(channel, ip, ua)))
}

pub async fn principal_from_token(
    db: &Db,
    token: &str,
    channel: Channel,
    ip: &str,
    ua: &str,
) -> Result<Option<Principal>, AppError> {
    let sql = format!("{USER_SELECT} JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1");
    let row: Option<UserRow> = with_db!(db, pool => sqlx::query_as(&sql)
        .bind(secret_hash(token)).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.into_principal(channel, ip, ua)))
}

/// Create a bearer token for a user (`tianshan token create`). Returns the token, shown once.
pub async fn create_api_token(db: &Db, username: &str, clock: &Clock) -> Result<String, AppError> {
    let user_id: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT id FROM users WHERE username = $1 AND active = 1")
        .bind(username).fetch_optional(pool).await)?;
    let Some(user_id) = user_id else {
        return Err(AppError::invalid(
            "user",
            Msg::new("user.unknown").arg("name", username),
        ));
    };
    let token = random_secret("ts_");
    with_db!(db, pool => sqlx::query("INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(uuid::Uuid::new_v4().to_string()).bind(&user_id).bind(secret_hash(&token)).bind(clock.now_text())
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(token)
}

pub async fn set_locale(db: &Db, user_id: &str, locale: &str) -> Result<(), AppError> {
    with_db!(db, pool => sqlx::query("UPDATE users SET locale = $1 WHERE id = $2").bind(locale).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn user_count(db: &Db) -> Result<i64, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)?,
    )
}

/// Sessions past their expiry are removed at start-up and on sign-in.
pub async fn purge_expired_sessions(db: &Db, clock: &Clock) -> Result<(), AppError> {
    with_db!(db, pool => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(clock.now_text()).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub fn is_expired(expires_at: &str, clock: &Clock) -> bool {
    parse_timestamp(expires_at).is_none_or(|t| t <= clock.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_roundtrip_and_wrong_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret("ts_");
        let b = random_secret("ts_");
        assert_ne!(a, b);
        assert!(a.starts_with("ts_") && a.len() > 40);
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
