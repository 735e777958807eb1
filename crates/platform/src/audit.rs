//! The audit log: who read or changed what, when, from where. Append-only: the product has
//! no path that edits or deletes an entry, and database triggers refuse it on both backends.
use std::sync::LazyLock;

use serde::Serialize;

use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::statements::{ColType, RowShape};
use crate::db::{Db, Tx, TxConn};
use crate::error::AppError;
use crate::with_db;

/// What was done. Modules declare their own (`Action("dose.record")`) in their declaration,
/// with a catalogue label, so the audit page can name and filter them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(pub &'static str);

impl Action {
    pub const READ: Action = Action("read");
    pub const SEARCH: Action = Action("search");
    pub const CREATE: Action = Action("create");
    pub const UPDATE: Action = Action("update");
    pub const EXPORT: Action = Action("export");
    pub const IMPORT: Action = Action("import");
    pub const SIGN_IN: Action = Action("sign_in");
    pub const SIGN_IN_FAILED: Action = Action("sign_in_failed");
    pub const SIGN_OUT: Action = Action("sign_out");
    /// A request refused because the record is outside the caller's scope.
    pub const REFUSED: Action = Action("refused");

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// An audit action as a module declares it, with the catalogue key of its label.
#[derive(Debug, Clone, Copy)]
pub struct ActionDef {
    pub action: Action,
    pub label: &'static str,
}

pub fn platform_actions() -> Vec<ActionDef> {
    [
        (Action::READ, "audit.act.read"),
        (Action::SEARCH, "audit.act.search"),
        (Action::CREATE, "audit.act.create"),
        (Action::UPDATE, "audit.act.update"),
        (Action::EXPORT, "audit.act.export"),
        (Action::IMPORT, "audit.act.import"),
        (Action::SIGN_IN, "audit.act.sign_in"),
        (Action::SIGN_IN_FAILED, "audit.act.sign_in_failed"),
        (Action::SIGN_OUT, "audit.act.sign_out"),
        (Action::REFUSED, "audit.act.refused"),
    ]
    .into_iter()
    .map(|(action, label)| ActionDef { action, label })
    .collect()
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

impl<'a> Event<'a> {
    pub fn new(action: Action, entity_type: &'a str, entity_id: &'a str) -> Self {
        Event {
            action,
            entity_type,
            entity_id,
            patient_id: None,
            detail: "",
        }
    }
    pub fn patient(mut self, id: &'a str) -> Self {
        self.patient_id = Some(id);
        self
    }
    pub fn detail(mut self, d: &'a str) -> Self {
        self.detail = d;
        self
    }
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

/// An audit entry ready to insert.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: String,
    pub user_id: String,
    pub username: String,
    pub role: String,
    pub action: &'static str,
    pub entity_type: String,
    pub entity_id: String,
    pub patient_id: Option<String>,
    pub channel: &'static str,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

/// Longest detail kept (a search lists the ids it showed).
const DETAIL_MAX: usize = 8000;

impl AuditRow {
    pub fn new(at: &str, who: &Principal, ev: Event<'_>) -> AuditRow {
        AuditRow {
            at: at.to_string(),
            user_id: who.user_id.clone(),
            username: who.username.clone(),
            role: who.roles_text(),
            action: ev.action.0,
            entity_type: ev.entity_type.to_string(),
            entity_id: ev.entity_id.to_string(),
            patient_id: ev.patient_id.map(str::to_string),
            channel: who.channel.as_str(),
            ip: who.ip.clone(),
            user_agent: who.user_agent.clone(),
            detail: clip(ev.detail),
        }
    }

    pub fn raw(at: &str, who: Actor<'_>, ev: Event<'_>) -> AuditRow {
        AuditRow {
            at: at.to_string(),
            user_id: who.user_id.to_string(),
            username: who.username.to_string(),
            role: who.role.to_string(),
            action: ev.action.0,
            entity_type: ev.entity_type.to_string(),
            entity_id: ev.entity_id.to_string(),
            patient_id: ev.patient_id.map(str::to_string),
            channel: channel_static(who.channel),
            ip: who.ip.to_string(),
            user_agent: who.user_agent.to_string(),
            detail: clip(ev.detail),
        }
    }
}

fn channel_static(c: &str) -> &'static str {
    match c {
        "web" => "web",
        "api" => "api",
        "fhir" => "fhir",
        "cli" => "cli",
        _ => "other",
    }
}

fn clip(s: &str) -> String {
    if s.len() <= DETAIL_MAX {
        return s.to_string();
    }
    let mut end = DETAIL_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl Tx {
    /// Record an audit entry by the signed-in user, committed with this transaction.
    pub fn record(&mut self, who: &Principal, ev: Event<'_>) {
        let row = AuditRow::new(self.now(), who, ev);
        self.audit(row);
    }
}

/// Record an entry on its own (a read, a search, a refusal) and wait until it is committed.
pub async fn record(
    db: &Db,
    clock: &Clock,
    who: &Principal,
    ev: Event<'_>,
) -> Result<(), AppError> {
    db.audit(vec![AuditRow::new(&clock.now_text(), who, ev)])
        .await
}

pub async fn record_raw(
    db: &Db,
    clock: &Clock,
    who: Actor<'_>,
    ev: Event<'_>,
) -> Result<(), AppError> {
    db.audit(vec![AuditRow::raw(&clock.now_text(), who, ev)])
        .await
}

const AUDIT_COLS: usize = 12;
/// Rows per INSERT statement (12 binds each; far under both backends' limits).
const ROWS_PER_INSERT: usize = 400;

/// The audit log's columns, in the order [`bind_pg`] binds them (all text).
pub(crate) const SHAPE: RowShape = RowShape {
    table: "audit_log",
    columns: &[
        ("at", ColType::Text),
        ("user_id", ColType::Text),
        ("username", ColType::Text),
        ("role", ColType::Text),
        ("action", ColType::Text),
        ("entity_type", ColType::Text),
        ("entity_id", ColType::Text),
        ("patient_id", ColType::Text),
        ("channel", ColType::Text),
        ("ip", ColType::Text),
        ("user_agent", ColType::Text),
        ("detail", ColType::Text),
    ],
};

/// Bind audit rows as the twelve arrays of an `UNNEST` of [`SHAPE`] (PostgreSQL).
pub(crate) fn bind_pg<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    rows: &'q [AuditRow],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn col<'a, T: ?Sized + 'a>(
        rows: &'a [AuditRow],
        f: impl Fn(&'a AuditRow) -> &'a T,
    ) -> Vec<&'a T> {
        rows.iter().map(f).collect()
    }
    q.bind(col(rows, |r| r.at.as_str()))
        .bind(col(rows, |r| r.user_id.as_str()))
        .bind(col(rows, |r| r.username.as_str()))
        .bind(col(rows, |r| r.role.as_str()))
        .bind(col(rows, |r| r.action))
        .bind(col(rows, |r| r.entity_type.as_str()))
        .bind(col(rows, |r| r.entity_id.as_str()))
        .bind(
            rows.iter()
                .map(|r| r.patient_id.as_deref())
                .collect::<Vec<Option<&str>>>(),
        )
        .bind(col(rows, |r| r.channel))
        .bind(col(rows, |r| r.ip.as_str()))
        .bind(col(rows, |r| r.user_agent.as_str()))
        .bind(col(rows, |r| r.detail.as_str()))
}

/// Insert audit rows on a transaction's connection: one `UNNEST` statement on PostgreSQL (one
/// statement text, parsed and planned once per connection, where a `VALUES` list of each length
/// was a new statement), multi-row INSERTs on SQLite.
pub(crate) async fn insert_rows<'c>(
    conn: impl Into<TxConn<'c>>,
    rows: &[AuditRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut conn = conn.into();
    if let TxConn::Postgres(c) = &mut conn {
        static SQL: LazyLock<String> = LazyLock::new(|| crate::db::pg::unnest_insert(&SHAPE, 1));
        bind_pg(sqlx::query(&SQL), rows).execute(&mut **c).await?;
        return Ok(());
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_log (at, user_id, username, role, action, entity_type, entity_id, patient_id, channel, ip, user_agent, detail) VALUES {}",
            crate::db::values_list(chunk.len(), AUDIT_COLS)
        );
        if let TxConn::Sqlite(c) = &mut conn {
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(&r.at)
                    .bind(&r.user_id)
                    .bind(&r.username)
                    .bind(&r.role)
                    .bind(r.action)
                    .bind(&r.entity_type)
                    .bind(&r.entity_id)
                    .bind(&r.patient_id)
                    .bind(r.channel)
                    .bind(&r.ip)
                    .bind(&r.user_agent)
                    .bind(&r.detail);
            }
            q.execute(&mut **c).await?;
        }
    }
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
    /// Entries older than this id (keyset paging, newest first). Text, because query strings
    /// are read through `serde(flatten)`, which cannot read numbers from them.
    pub before: Option<String>,
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Newest first, at most `limit` entries matching the filter.
pub async fn list(db: &Db, f: &Filter, limit: i64) -> Result<Vec<Entry>, AppError> {
    let before: Option<i64> = match nonempty(&f.before) {
        None => None,
        Some(b) => Some(b.parse().map_err(|_| {
            AppError::invalid(
                "before",
                crate::Msg::new("audit.err.before").arg("value", b),
            )
        })?),
    };
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
        .bind(nonempty(&f.entity_type)).bind(nonempty(&f.from)).bind(to.as_deref()).bind(before)
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
