//! Accounts: create users with their roles and scope, disable and enable them, change their
//! roles, and manage their API tokens and browser sessions. Every change that takes rights away
//! moves the auth generation in the same transaction, so every server process stops honouring
//! the old rights within a generation poll (a quarter of a second).
use serde::Serialize;

use crate::audit::{Action, Actor, AuditRow, Event};
use crate::auth::{bump_generation, hash_password_blocking, random_secret, secret_hash, Principal};
use crate::clock::Clock;
use crate::db::Db;
use crate::error::{AppError, Msg};
use crate::scope::builtin;
use crate::{tx_exec, with_db, with_tx};

pub const USER_AUDIT: &str = "user";
pub const TOKEN_AUDIT: &str = "api_token";
pub const SESSION_AUDIT: &str = "session";

/// Minimum password length for new accounts.
pub const MIN_PASSWORD: usize = 8;

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub roles: Vec<String>,
    pub scope_code: Option<&'a str>,
    pub display_name: &'a str,
    pub locale: &'a str,
}

/// Who did it: a signed-in administrator, or the command line.
pub enum By<'a> {
    User(&'a Principal),
    Cli,
}

impl By<'_> {
    pub(crate) fn row(&self, at: &str, ev: Event<'_>) -> AuditRow {
        match self {
            By::User(p) => AuditRow::new(at, p, ev),
            By::Cli => AuditRow::raw(
                at,
                Actor {
                    user_id: "",
                    username: "(command line)",
                    role: "",
                    channel: "cli",
                    ip: "",
                    user_agent: "",
                },
                ev,
            ),
        }
    }
}

async fn check_roles(db: &Db, roles: &[String]) -> Result<(), AppError> {
    if roles.is_empty() {
        return Err(AppError::invalid("roles", Msg::new("user.roles_required")));
    }
    for r in roles {
        let found: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT code FROM roles WHERE code = $1")
            .bind(r).fetch_optional(pool).await)?;
        if found.is_none() {
            return Err(AppError::invalid(
                "roles",
                Msg::new("user.role_unknown").arg("role", r.clone()),
            ));
        }
    }
    Ok(())
}

pub async fn create_user(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    user: NewUser<'_>,
) -> Result<String, AppError> {
    if user.username.trim().is_empty()
        || user.username.chars().any(char::is_whitespace)
        || user.username.chars().count() > 64
    {
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
    let mut roles = user.roles.clone();
    roles.sort();
    roles.dedup();
    check_roles(db, &roles).await?;
    if !roles.iter().any(|r| r == builtin::ADMINISTRATOR) && user.scope_code.is_none() {
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
    let hash = hash_password_blocking(user.password).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::CREATE, USER_AUDIT, &id).detail(&format!(
            "{} roles={} scope={}",
            user.username,
            roles.join("+"),
            user.scope_code.unwrap_or("")
        )),
    );
    let (id2, username, scope, display, locale) = (
        id.clone(),
        user.username.to_string(),
        user.scope_code.map(str::to_string),
        user.display_name.to_string(),
        user.locale.to_string(),
    );
    db.write(at, move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            let primary = roles.first().cloned().unwrap_or_default();
            tx_exec!(tx, sqlx::query(
                "INSERT INTO users (id, username, password_hash, role, scope_code, display_name, locale, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)")
                .bind(&id2).bind(&username).bind(&hash).bind(&primary)
                .bind(&scope).bind(&display).bind(&locale).bind(&now)
                )
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict(_) => AppError::invalid("username", Msg::new("user.username_taken").arg("name", username.clone())),
                other => other,
            })?;
            for r in &roles {
                tx_exec!(tx, sqlx::query("INSERT INTO user_roles (user_id, role_code) VALUES ($1, $2)")
                    .bind(&id2).bind(r))?;
            }
            tx.audit(audit);
            Ok(())
        })
    })
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub scope_code: Option<String>,
    pub locale: String,
    pub active: i64,
    pub created_at: String,
    /// Role codes joined by `+`.
    #[sqlx(default)]
    pub roles: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionInfo {
    /// First characters of the stored hash: enough to tell sessions apart, useless to a thief.
    pub id: String,
    pub created_at: String,
    pub expires_at: String,
    pub ip: String,
    pub user_agent: String,
}

const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.scope_code, u.locale, u.active, u.created_at";

async fn with_roles(db: &Db, mut users: Vec<UserSummary>) -> Result<Vec<UserSummary>, AppError> {
    let all: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
        "SELECT user_id, role_code FROM user_roles ORDER BY role_code").fetch_all(pool).await)?;
    for u in &mut users {
        u.roles = all
            .iter()
            .filter(|(id, _)| *id == u.id)
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>()
            .join("+");
    }
    Ok(users)
}

/// Users by name, at most `limit`.
pub async fn list(db: &Db, q: Option<&str>, limit: i64) -> Result<Vec<UserSummary>, AppError> {
    let like = format!("%{}%", q.unwrap_or("").trim().to_lowercase());
    let sql = format!(
        "SELECT {USER_COLS} FROM users u WHERE LOWER(u.username) LIKE $1 OR LOWER(u.display_name) LIKE $1 \
         ORDER BY u.username LIMIT $2"
    );
    let users: Vec<UserSummary> =
        with_db!(db, pool => sqlx::query_as(&sql).bind(&like).bind(limit).fetch_all(pool).await)?;
    with_roles(db, users).await
}

pub async fn by_username(db: &Db, username: &str) -> Result<UserSummary, AppError> {
    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.username = $1");
    let u: Option<UserSummary> =
        with_db!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)?;
    let u = u.ok_or(AppError::NotFound)?;
    Ok(with_roles(db, vec![u]).await?.remove(0))
}

pub async fn tokens(db: &Db, user_id: &str) -> Result<Vec<TokenInfo>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, label, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")
        .bind(user_id).fetch_all(pool).await)?)
}

pub async fn sessions(db: &Db, clock: &Clock, user_id: &str) -> Result<Vec<SessionInfo>, AppError> {
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT SUBSTR(id_hash, 1, 12) AS id, created_at, expires_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC")
        .bind(user_id).bind(clock.now_text()).fetch_all(pool).await)?)
}

/// Disable (or enable again) an account. A disabled user's sessions end and their tokens stop
/// working at once, in every process.
pub async fn set_active(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    username: &str,
    active: bool,
) -> Result<(), AppError> {
    let u = by_username(db, username).await?;
    let at = clock.now_text();
    let what = if active { "enabled" } else { "disabled" };
    let audit = by.row(
        &at,
        Event::new(Action::UPDATE, USER_AUDIT, &u.id).detail(what),
    );
    db.write(at, move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
                    .bind(i64::from(active))
                    .bind(&u.id)
            )?;
            if !active {
                tx_exec!(
                    tx,
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&u.id)
                )?;
            }
            bump_generation(tx).await?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await
}

/// Replace a user's roles.
pub async fn set_roles(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    username: &str,
    roles: Vec<String>,
) -> Result<(), AppError> {
    let u = by_username(db, username).await?;
    let mut roles = roles;
    roles.retain(|r| !r.trim().is_empty());
    roles.sort();
    roles.dedup();
    check_roles(db, &roles).await?;
    if u.scope_code.is_none() && !roles.iter().any(|r| r == builtin::ADMINISTRATOR) {
        return Err(AppError::invalid("scope", Msg::new("user.scope_required")));
    }
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::UPDATE, USER_AUDIT, &u.id).detail(&format!("roles={}", roles.join("+"))),
    );
    db.write(at, move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(&u.id)
            )?;
            for r in &roles {
                tx_exec!(
                    tx,
                    sqlx::query("INSERT INTO user_roles (user_id, role_code) VALUES ($1, $2)")
                        .bind(&u.id)
                        .bind(r)
                )?;
            }
            let primary = roles.first().cloned().unwrap_or_default();
            tx_exec!(
                tx,
                sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(&primary)
                    .bind(&u.id)
            )?;
            bump_generation(tx).await?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await
}

/// Create a bearer token for a user. Returns the token, shown once.
pub async fn create_api_token(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    username: &str,
    label: &str,
) -> Result<String, AppError> {
    let user_id: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT id FROM users WHERE username = $1 AND active = 1")
        .bind(username).fetch_optional(pool).await)?;
    let Some(user_id) = user_id else {
        return Err(AppError::invalid(
            "user",
            Msg::new("user.unknown").arg("name", username),
        ));
    };
    let token = random_secret("ts_");
    let (hash, id) = (secret_hash(&token), uuid::Uuid::new_v4().to_string());
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::CREATE, TOKEN_AUDIT, &id).detail(&format!("for {username}")),
    );
    let label: String = label.trim().chars().take(100).collect();
    db.write(at, move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            tx_exec!(tx, sqlx::query("INSERT INTO api_tokens (id, user_id, token_hash, created_at, label) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id).bind(&user_id).bind(&hash).bind(&now).bind(&label)
                )?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await?;
    Ok(token)
}

/// Revoke a token, named by its id or by the token itself.
pub async fn revoke_token(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    token_or_id: &str,
) -> Result<(), AppError> {
    let hash = secret_hash(token_or_id);
    let id: Option<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM api_tokens WHERE (id = $1 OR token_hash = $2) AND revoked_at IS NULL")
        .bind(token_or_id).bind(&hash).fetch_optional(pool).await)?;
    let id = id.ok_or(AppError::NotFoundBecause(Msg::new("token.unknown")))?;
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::UPDATE, TOKEN_AUDIT, &id).detail("revoked"),
    );
    db.write(at, move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            tx_exec!(
                tx,
                sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
                    .bind(&now)
                    .bind(&id)
            )?;
            bump_generation(tx).await?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await
}

/// End one of a user's sessions, named by the prefix [`SessionInfo::id`] shows.
pub async fn end_session_by_id(
    db: &Db,
    clock: &Clock,
    by: By<'_>,
    user_id: &str,
    id_prefix: &str,
) -> Result<(), AppError> {
    if id_prefix.len() < 8 || !id_prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::UPDATE, SESSION_AUDIT, id_prefix).detail("ended"),
    );
    let (user_id, lo, hi) = (
        user_id.to_string(),
        id_prefix.to_string(),
        crate::db::prefix_end(id_prefix),
    );
    db.write(at, move |tx| {
        Box::pin(async move {
            let n = with_tx!(tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash >= $2 AND id_hash < $3")
                .bind(&user_id).bind(&lo).bind(&hi).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            if n == 0 {
                return Err(AppError::NotFound);
            }
            bump_generation(tx).await?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await
}

pub async fn set_locale(
    db: &Db,
    clock: &Clock,
    user_id: &str,
    locale: &str,
) -> Result<(), AppError> {
    let (user_id, locale) = (user_id.to_string(), locale.to_string());
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
                    .bind(&locale)
                    .bind(&user_id)
            )?;
            bump_generation(tx).await
        })
    })
    .await
}
