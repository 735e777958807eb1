//! Who is asking: passwords (argon2id), browser sessions and API bearer tokens, resolved to a
//! [`Principal`] with its roles' permissions and its scope. Secrets are random 32-byte values;
//! only their SHA-256 is stored. Resolved principals are cached by secret hash; the cache is
//! emptied whenever the `auth_state` generation moves (a token revoked, a user disabled, a role
//! changed — in this process or any other on the same database), which every process checks
//! four times a second.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::clock::{parse_timestamp, timestamp_text, Clock};
use crate::db::Db;
use crate::error::AppError;
use crate::scope::{perms, PermSet, Permission, Scope};
use crate::{tx_exec, with_db, with_tx};

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;
/// How often each process looks for revocations made elsewhere.
pub const GENERATION_POLL: StdDuration = StdDuration::from_millis(250);

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

/// A signed-in user as stored: roles, permissions, scope.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Arc<[String]>,
    pub perms: Arc<PermSet>,
    pub scope: Scope,
    pub scope_code: Option<String>,
    pub locale: String,
}

/// The signed-in person (or program) making a request, with where the request came from.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Arc<[String]>,
    pub perms: Arc<PermSet>,
    pub scope: Scope,
    pub scope_code: Option<String>,
    pub locale: String,
    pub channel: Channel,
    pub ip: String,
    pub user_agent: String,
}

impl Principal {
    pub fn from_identity(id: &Identity, channel: Channel, ip: &str, ua: &str) -> Principal {
        Principal {
            user_id: id.user_id.clone(),
            username: id.username.clone(),
            display_name: id.display_name.clone(),
            roles: id.roles.clone(),
            perms: id.perms.clone(),
            scope: id.scope.clone(),
            scope_code: id.scope_code.clone(),
            locale: id.locale.clone(),
            channel,
            ip: ip.to_string(),
            user_agent: ua.to_string(),
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.perms.has(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn has_role(&self, code: &str) -> bool {
        self.roles.iter().any(|r| r == code)
    }

    /// Roles as the audit log records them (`nurse+vaccinator`).
    pub fn roles_text(&self) -> String {
        self.roles.join("+")
    }

    /// A principal for work the command line does on the operator's behalf.
    pub fn cli(username: &str) -> Principal {
        Principal {
            user_id: String::new(),
            username: username.to_string(),
            display_name: username.to_string(),
            roles: Arc::from(Vec::<String>::new()),
            perms: Arc::new(PermSet::default()),
            scope: Scope {
                path: None,
                subtree: true,
            },
            scope_code: None,
            locale: "en".into(),
            channel: Channel::Cli,
            ip: String::new(),
            user_agent: String::new(),
        }
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

/// Hash off the async threads (argon2 takes tens of milliseconds on purpose).
pub async fn hash_password_blocking(password: &str) -> Result<String, AppError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    scope_code: Option<String>,
    scope_path: Option<String>,
    display_name: String,
    locale: String,
    /// Only in session lookups.
    #[sqlx(default)]
    expires_at: Option<String>,
}

const USER_SELECT: &str =
    "SELECT u.id, u.username, u.password_hash, u.scope_code, o.path AS scope_path, \
     u.display_name, u.locale FROM users u LEFT JOIN orgs o ON o.code = u.scope_code";
const USER_SELECT_EXP: &str =
    "SELECT u.id, u.username, u.password_hash, u.scope_code, o.path AS scope_path, \
     u.display_name, u.locale, s.expires_at FROM users u LEFT JOIN orgs o ON o.code = u.scope_code";

/// A user's roles and the union of their permissions.
async fn roles_and_perms(db: &Db, user_id: &str) -> Result<(Vec<String>, PermSet), AppError> {
    let roles: Vec<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT role_code FROM user_roles WHERE user_id = $1 ORDER BY role_code")
        .bind(user_id).fetch_all(pool).await)?;
    let perms: Vec<String> = with_db!(db, pool => sqlx::query_scalar(
        "SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role_code = ur.role_code \
         WHERE ur.user_id = $1")
        .bind(user_id).fetch_all(pool).await)?;
    Ok((roles, PermSet::new(perms)))
}

async fn identity(db: &Db, row: UserRow) -> Result<Identity, AppError> {
    let (roles, perms) = roles_and_perms(db, &row.id).await?;
    let scope = Scope {
        path: row.scope_path,
        subtree: perms.has(perms::SUBTREE),
    };
    Ok(Identity {
        user_id: row.id,
        username: row.username,
        display_name: row.display_name,
        roles: roles.into(),
        perms: Arc::new(perms),
        scope,
        scope_code: row.scope_code,
        locale: row.locale,
    })
}

/// Resolved sessions and tokens, by secret hash, valid while the generation stays the same.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, Cached>>,
    generation: AtomicI64,
}

#[derive(Clone)]
struct Cached {
    identity: Arc<Identity>,
    /// Sessions expire; tokens do not.
    expires_at: Option<OffsetDateTime>,
}

/// Most entries kept; past it the cache starts again (a few milliseconds of database reads).
const CACHE_MAX: usize = 50_000;

impl AuthCache {
    fn get(&self, key: &str, now: OffsetDateTime) -> Option<Arc<Identity>> {
        let map = self.entries.lock().ok()?;
        let c = map.get(key)?;
        if c.expires_at.is_some_and(|e| e <= now) {
            return None;
        }
        Some(c.identity.clone())
    }

    fn put(&self, key: String, identity: Arc<Identity>, expires_at: Option<OffsetDateTime>) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(
                key,
                Cached {
                    identity,
                    expires_at,
                },
            );
        }
    }

    /// Forget everything (something changed: a revocation, a role, a user).
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }

    /// The auth generation last seen: caches of rarely changing data (the organisation tree)
    /// compare it to know when to start again.
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Compare with the database's generation; empty the cache when it moved.
    pub async fn refresh(&self, db: &Db) -> Result<(), AppError> {
        let g: i64 = with_db!(db, pool => sqlx::query_scalar("SELECT generation FROM auth_state WHERE id = 1")
            .fetch_one(pool).await)?;
        if self.generation.swap(g, Ordering::SeqCst) != g {
            self.clear();
        }
        Ok(())
    }

    /// Watch the generation for as long as the process runs.
    pub fn watch(self: &Arc<Self>, db: Db) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(GENERATION_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(cache) = me.upgrade() else { return };
                if let Err(e) = cache.refresh(&db).await {
                    tracing::warn!(error = %e, "cannot read the auth generation");
                    // Be safe: without an answer, trust nothing cached.
                    cache.clear();
                }
            }
        });
    }
}

/// Make every process drop its cached principals (run inside the write that revokes).
pub async fn bump_generation(tx: &mut crate::db::Tx) -> Result<(), AppError> {
    with_tx!(tx, c => sqlx::query("UPDATE auth_state SET generation = generation + 1 WHERE id = 1")
        .execute(&mut *c).await.map(|_| ()))?;
    Ok(())
}

/// An active user's identity by username (the command line acts as a named user).
pub async fn identity_by_username(db: &Db, username: &str) -> Result<Option<Identity>, AppError> {
    let sql = format!("{USER_SELECT} WHERE u.username = $1 AND u.active = 1");
    let row: Option<UserRow> =
        with_db!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)?;
    match row {
        Some(r) => Ok(Some(identity(db, r).await?)),
        None => Ok(None),
    }
}

/// Check a username and password. Runs argon2 off the async threads.
pub async fn authenticate(
    db: &Db,
    username: &str,
    password: &str,
) -> Result<Option<Identity>, AppError> {
    let sql = format!("{USER_SELECT} WHERE u.username = $1 AND u.active = 1");
    let row: Option<UserRow> =
        with_db!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)?;
    let Some(row) = row else {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        let _ = hash_password_blocking(password).await;
        return Ok(None);
    };
    let pw = password.to_string();
    let hash = row.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if ok {
        Ok(Some(identity(db, row).await?))
    } else {
        Ok(None)
    }
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
    let (hash, user_id, ip, ua) = (
        secret_hash(&secret),
        user_id.to_string(),
        ip.to_string(),
        ua.to_string(),
    );
    let expires = timestamp_text(now + Duration::hours(SESSION_HOURS));
    db.write(timestamp_text(now), move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            tx_exec!(tx, sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&hash).bind(&user_id).bind(&now).bind(&expires).bind(&ip).bind(&ua)
                )?;
            Ok(())
        })
    })
    .await?;
    Ok(secret)
}

/// End a session (sign-out); other processes forget it within a generation poll.
pub async fn end_session(
    db: &Db,
    cache: &AuthCache,
    clock: &Clock,
    secret: &str,
) -> Result<(), AppError> {
    let hash = secret_hash(secret);
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(&hash)
            )?;
            bump_generation(tx).await
        })
    })
    .await?;
    cache.clear();
    Ok(())
}

pub async fn principal_from_session(
    db: &Db,
    cache: &AuthCache,
    secret: &str,
    clock: &Clock,
    channel: Channel,
    ip: &str,
    ua: &str,
) -> Result<Option<Principal>, AppError> {
    let key = format!("s:{}", secret_hash(secret));
    let now = clock.now();
    if let Some(id) = cache.get(&key, now) {
        return Ok(Some(Principal::from_identity(&id, channel, ip, ua)));
    }
    let sql = format!("{USER_SELECT_EXP} JOIN sessions s ON s.user_id = u.id WHERE s.id_hash = $1 AND u.active = 1 AND s.expires_at > $2");
    let row: Option<UserRow> = with_db!(db, pool => sqlx::query_as(&sql)
        .bind(&key[2..]).bind(timestamp_text(now)).fetch_optional(pool).await)?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let expires = row.expires_at.take();
    let id = Arc::new(identity(db, row).await?);
    cache.put(
        key,
        id.clone(),
        expires.as_deref().and_then(parse_timestamp),
    );
    Ok(Some(Principal::from_identity(&id, channel, ip, ua)))
}

pub async fn principal_from_token(
    db: &Db,
    cache: &AuthCache,
    token: &str,
    channel: Channel,
    ip: &str,
    ua: &str,
) -> Result<Option<Principal>, AppError> {
    let key = format!("t:{}", secret_hash(token));
    if let Some(id) = cache.get(&key, OffsetDateTime::UNIX_EPOCH) {
        return Ok(Some(Principal::from_identity(&id, channel, ip, ua)));
    }
    let sql = format!("{USER_SELECT} JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1");
    let row: Option<UserRow> = with_db!(db, pool => sqlx::query_as(&sql)
        .bind(&key[2..]).fetch_optional(pool).await)?;
    let Some(row) = row else { return Ok(None) };
    let id = Arc::new(identity(db, row).await?);
    cache.put(key, id.clone(), None);
    Ok(Some(Principal::from_identity(&id, channel, ip, ua)))
}

pub async fn user_count(db: &Db) -> Result<i64, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)?,
    )
}

/// Sessions past their expiry are removed at start-up and on sign-in.
pub async fn purge_expired_sessions(db: &Db, clock: &Clock) -> Result<(), AppError> {
    db.write(clock.now_text(), |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(&now)
            )?;
            Ok(())
        })
    })
    .await
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
