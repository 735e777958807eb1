//! Roles as data: a role is a named set of permissions; a user holds one or more roles. The six
//! built-in roles are rows like any other. Permissions come from the modules' declarations;
//! [`install_permissions`] records each new one and grants it to the built-in roles its module
//! names (and to the administrator), once: what an administrator later changes is kept.
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Event};
use crate::auth::{bump_generation, Principal};
use crate::clock::Clock;
use crate::db::Db;
use crate::error::{AppError, Msg};
use crate::scope::{builtin, perms, PermissionDef};
use crate::{tx_exec, with_db};

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct RoleRow {
    pub code: String,
    /// Shown for roles an administrator created; built-in roles are named by the catalogue.
    pub label: String,
    pub builtin: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleDetail {
    pub code: String,
    pub label: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub users: i64,
}

pub const ROLE_AUDIT: &str = "role";

/// Record new permissions and grant them to their default roles (run at start-up).
pub async fn install_permissions(
    db: &Db,
    clock: &Clock,
    defs: Vec<(&'static str, PermissionDef)>,
) -> Result<Vec<String>, AppError> {
    let known: Vec<String> = with_db!(db, pool => sqlx::query_scalar("SELECT key FROM permissions")
        .fetch_all(pool).await)?;
    let new: Vec<(&'static str, PermissionDef)> = defs
        .into_iter()
        .filter(|(_, d)| !known.iter().any(|k| k == d.permission.0))
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = new
        .iter()
        .map(|(_, d)| d.permission.0.to_string())
        .collect();
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            for (module, d) in &new {
                let key = d.permission.0;
                tx_exec!(tx, sqlx::query("INSERT INTO permissions (key, module, installed_at) VALUES ($1, $2, $3)")
                    .bind(key).bind(*module).bind(&now))?;
                let mut roles: Vec<&str> = d.default_roles.to_vec();
                roles.push(builtin::ADMINISTRATOR);
                roles.sort_unstable();
                roles.dedup();
                for r in roles {
                    tx_exec!(tx, sqlx::query(
                        "INSERT INTO role_permissions (role_code, permission) SELECT code, $2 FROM roles WHERE code = $1 \
                         ON CONFLICT DO NOTHING")
                        .bind(r).bind(key))?;
                }
            }
            bump_generation(tx).await
        })
    })
    .await?;
    Ok(keys)
}

pub async fn list(db: &Db) -> Result<Vec<RoleDetail>, AppError> {
    let roles: Vec<RoleRow> = with_db!(db, pool => sqlx::query_as("SELECT code, label, builtin FROM roles ORDER BY builtin DESC, code")
        .fetch_all(pool).await)?;
    let grants: Vec<(String, String)> = with_db!(db, pool => sqlx::query_as(
        "SELECT role_code, permission FROM role_permissions ORDER BY permission").fetch_all(pool).await)?;
    let counts: Vec<(String, i64)> = with_db!(db, pool => sqlx::query_as(
        "SELECT role_code, COUNT(*) FROM user_roles GROUP BY role_code").fetch_all(pool).await)?;
    Ok(roles
        .into_iter()
        .map(|r| RoleDetail {
            permissions: grants
                .iter()
                .filter(|(c, _)| *c == r.code)
                .map(|(_, p)| p.clone())
                .collect(),
            users: counts
                .iter()
                .find(|(c, _)| *c == r.code)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            code: r.code,
            label: r.label,
            builtin: r.builtin != 0,
        })
        .collect())
}

pub async fn get(db: &Db, code: &str) -> Result<RoleDetail, AppError> {
    list(db)
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .ok_or(AppError::NotFound)
}

/// Every permission the installed modules declare, in key order.
pub async fn known_permissions(db: &Db) -> Result<Vec<(String, String)>, AppError> {
    Ok(
        with_db!(db, pool => sqlx::query_as("SELECT key, module FROM permissions ORDER BY key")
        .fetch_all(pool).await)?,
    )
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && code.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Create a role, or change an existing one's label and permissions (all of them at once).
pub async fn save(
    db: &Db,
    clock: &Clock,
    who: &Principal,
    code: &str,
    label: &str,
    permissions: Vec<String>,
    create: bool,
) -> Result<RoleDetail, AppError> {
    who.require(perms::USERS_MANAGE)?;
    let code = code.trim().to_string();
    let label = label.trim().to_string();
    if !valid_code(&code) {
        return Err(AppError::invalid("code", Msg::new("role.err.code")));
    }
    if label.chars().count() > 100 {
        return Err(AppError::invalid(
            "label",
            Msg::new("error.too_long").arg("max", "100"),
        ));
    }
    let known = known_permissions(db).await?;
    let mut grant: Vec<String> = Vec::new();
    for p in permissions {
        let p = p.trim().to_string();
        if p.is_empty() {
            continue;
        }
        if !known.iter().any(|(k, _)| *k == p) {
            return Err(AppError::invalid(
                "permissions",
                Msg::new("role.err.permission").arg("key", p),
            ));
        }
        if !grant.contains(&p) {
            grant.push(p);
        }
    }
    let exists: Option<String> = with_db!(db, pool => sqlx::query_scalar("SELECT code FROM roles WHERE code = $1")
        .bind(&code).fetch_optional(pool).await)?;
    match (create, exists.is_some()) {
        (true, true) => {
            return Err(AppError::Conflict(
                Msg::new("role.err.exists").arg("code", code.clone()),
            ))
        }
        (false, false) => return Err(AppError::NotFound),
        _ => {}
    }
    let who2 = who.clone();
    let code2 = code.clone();
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            let now = tx.now().to_string();
            if create {
                tx_exec!(tx, sqlx::query("INSERT INTO roles (code, label, builtin, created_at) VALUES ($1, $2, 0, $3)")
                    .bind(&code2).bind(&label).bind(&now))?;
            } else {
                tx_exec!(tx, sqlx::query("UPDATE roles SET label = $1 WHERE code = $2")
                    .bind(&label).bind(&code2))?;
                tx_exec!(tx, sqlx::query("DELETE FROM role_permissions WHERE role_code = $1")
                    .bind(&code2))?;
            }
            for p in &grant {
                tx_exec!(tx, sqlx::query("INSERT INTO role_permissions (role_code, permission) VALUES ($1, $2)")
                    .bind(&code2).bind(p))?;
            }
            bump_generation(tx).await?;
            let detail = format!("permissions: {}", grant.join(" "));
            let action = if create { Action::CREATE } else { Action::UPDATE };
            tx.record(&who2, Event::new(action, ROLE_AUDIT, &code2).detail(&detail));
            Ok(())
        })
    })
    .await?;
    get(db, &code).await
}

/// Delete a role nobody holds any more. Built-in roles stay.
pub async fn delete(db: &Db, clock: &Clock, who: &Principal, code: &str) -> Result<(), AppError> {
    who.require(perms::USERS_MANAGE)?;
    let r = get(db, code).await?;
    if r.builtin {
        return Err(AppError::Conflict(Msg::new("role.err.builtin")));
    }
    if r.users > 0 {
        return Err(AppError::Conflict(
            Msg::new("role.err.in_use").arg("n", r.users.to_string()),
        ));
    }
    let (who, code) = (who.clone(), code.to_string());
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM role_permissions WHERE role_code = $1").bind(&code)
            )?;
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM roles WHERE code = $1").bind(&code)
            )?;
            bump_generation(tx).await?;
            tx.record(
                &who,
                Event::new(Action::UPDATE, ROLE_AUDIT, &code).detail("deleted"),
            );
            Ok(())
        })
    })
    .await
}
