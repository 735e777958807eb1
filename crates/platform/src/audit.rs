//! The audit log: who read or changed what, when, from where. Append-only: the product has
//! no path that edits or deletes an entry, and database triggers refuse it on both backends.
use serde::Serialize;

use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::AppError;
use crate::with_db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Search,
    Create,
    Update,
    Export,
    SignIn,
    SignInFailed,
    SignOut,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::Create => "create",
            Action::Update => "update",
            Action::Export => "export",
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in_failed",
            Action::SignOut => "sign_out",
        }
    }
}

/// One thing that happened to one record.
pub struct Event<'a> {
    pub action: Action,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    /// Set whenever the record is a patient's or about a patient, so a patient's
    /// access history is one query.
    pub patient_id: Option<&'a str>,
    pub detail: &'a str,
}

pub async fn record(
    db: &Db,
    clock: &Clock,
    who: &Principal,
    ev: Event<'_>,
) -> Result<(), AppError> {
    record_raw(
        db,
        clock,
        Actor {
            user_id: &who.user_id,
            username: &who.username,
            role: who.role.as_str(),
            channel: who.channel.as_str(),
            ip: &who.ip,
            user_agent: &who.user_agent,
        },
        ev,
    )
    .await
}

/// The acting party, for events with no signed-in principal (failed sign-in, CLI).
pub struct Actor<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub role: &'a str,
    pub channel: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub async fn record_raw(
    db: &Db,
    clock: &Clock,
    who: Actor<'_>,
    ev: Event<'_>,
) -> Result<(), AppError> {
    with_db!(db, pool => sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, role, action, entity_type, entity_id, patient_id, channel, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(clock.now_text()).bind(who.user_id).bind(who.username).bind(who.role)
        .bind(ev.action.as_str()).bind(ev.entity_type).bind(ev.entity_id).bind(ev.patient_id)
        .bind(who.channel).bind(who.ip).bind(who.user_agent).bind(ev.detail)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub username: String,
    pub role: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub patient_id: Option<String>,
    pub channel: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    pub username: Option<String>,
    pub action: Option<String>,
    pub patient_id: Option<String>,
    pub entity_type: Option<String>,
    /// Inclusive lower bound, `YYYY-MM-DD` or a full timestamp.
    pub from: Option<String>,
    /// Inclusive upper bound date.
    pub to: Option<String>,
    /// Entries older than this id (keyset paging, newest first).
    pub before: Option<i64>,
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Newest first, at most `limit` entries matching the filter.
pub async fn list(db: &Db, f: &Filter, limit: i64) -> Result<Vec<Entry>, AppError> {
    // Each optional filter is `($n IS NULL OR col = $n)`, so there is one statement to prepare.
    let to = nonempty(&f.to).map(|t| {
        if t.len() == 10 {
            format!("{t}T23:59:59Z")
        } else {
            t.to_string()
        }
    });
    let sql = "SELECT id, at, username, role, action, entity_type, entity_id, patient_id, channel, ip, user_agent, detail \
        FROM audit_log WHERE ($1 IS NULL OR username = $1) AND ($2 IS NULL OR action = $2) \
        AND ($3 IS NULL OR patient_id = $3) AND ($4 IS NULL OR entity_type = $4) \
        AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at <= $6) AND ($7 IS NULL OR id < $7) \
        ORDER BY id DESC LIMIT $8";
    let rows = with_db!(db, pool => sqlx::query_as::<_, Entry>(sql)
        .bind(nonempty(&f.username)).bind(nonempty(&f.action)).bind(nonempty(&f.patient_id))
        .bind(nonempty(&f.entity_type)).bind(nonempty(&f.from)).bind(to.as_deref()).bind(f.before)
        .bind(limit).fetch_all(pool).await)?;
    Ok(rows)
}

/// CSV of the entries, with a header row; fields quoted where needed.
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out = String::from("id,at,username,role,action,entity_type,entity_id,patient_id,channel,ip,user_agent,detail\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.clone(),
            e.username.clone(),
            e.role.clone(),
            e.action.clone(),
            e.entity_type.clone(),
            e.entity_id.clone(),
            e.patient_id.clone().unwrap_or_default(),
            e.channel.clone(),
            e.ip.clone(),
            e.user_agent.clone(),
            e.detail.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Quote a CSV field; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet
/// does not run it as a formula.
pub fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
