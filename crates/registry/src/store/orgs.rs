//! The organisation tree: region → prefecture → county → township → village, facilities and
//! departments under them, rear hospitals and international partners as roots of their own.
use serde::Serialize;
use tianshan_platform::db::{Arg, Db, Tx, Where};
use tianshan_platform::i18n::Locale;
use tianshan_platform::scope::Scope;
use tianshan_platform::{bind_args, tx_exec, with_db, AppError, Msg};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Org {
    pub code: String,
    pub parent_code: Option<String>,
    pub path: String,
    pub kind: String,
    pub name_zh: String,
    pub name_ug: String,
    pub name_en: String,
}

/// Kinds that are places (FHIR Location) rather than bodies (FHIR Organization).
pub const AREA_KINDS: [&str; 5] = ["region", "prefecture", "county", "township", "village"];
pub const ORG_KINDS: [&str; 6] = [
    "hospital",
    "clinic",
    "department",
    "rear_hospital",
    "partner",
    "office",
];

impl Org {
    pub fn name(&self, l: Locale) -> &str {
        match l {
            Locale::Ug if !self.name_ug.is_empty() => &self.name_ug,
            Locale::En if !self.name_en.is_empty() => &self.name_en,
            _ => &self.name_zh,
        }
    }
    pub fn is_area(&self) -> bool {
        AREA_KINDS.contains(&self.kind.as_str())
    }
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(2)
    }
}

const COLS: &str = "code, parent_code, path, kind, name_zh, name_ug, name_en";

pub async fn get(db: &Db, code: &str) -> Result<Option<Org>, AppError> {
    let sql = format!("SELECT {COLS} FROM orgs WHERE code = $1");
    Ok(with_db!(db, pool => sqlx::query_as::<_, Org>(&sql).bind(code).fetch_optional(pool).await)?)
}

/// Direct children of a node, or the roots.
pub async fn children(db: &Db, parent: Option<&str>) -> Result<Vec<Org>, AppError> {
    let sql = match parent {
        Some(_) => format!("SELECT {COLS} FROM orgs WHERE parent_code = $1 ORDER BY kind, code"),
        None => format!("SELECT {COLS} FROM orgs WHERE parent_code IS NULL ORDER BY code"),
    };
    Ok(with_db!(db, pool => {
        let q = sqlx::query_as::<_, Org>(&sql);
        let q = match parent { Some(p) => q.bind(p), None => q };
        q.fetch_all(pool).await
    })?)
}

/// Every node the scope covers (its subtree), in tree order.
pub async fn subtree(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<Org>, AppError> {
    let (lo, hi) = scope.path_range();
    let sql =
        format!("SELECT {COLS} FROM orgs WHERE path >= $1 AND path < $2 ORDER BY path LIMIT $3");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, Org>(&sql).bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?,
    )
}

#[derive(Debug, Default, Clone)]
pub struct OrgQuery {
    pub name: Option<String>,
    pub kinds: Vec<&'static str>,
    pub parent: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn search(db: &Db, q: &OrgQuery) -> Result<Vec<Org>, AppError> {
    let mut w = Where::default();
    if let Some(n) = q.name.as_deref().filter(|n| !n.is_empty()) {
        let like = format!("%{}%", n.to_lowercase());
        let p = w.arg(Arg::Text(like));
        w.push(format!("(LOWER(name_zh) LIKE {p} OR LOWER(name_ug) LIKE {p} OR LOWER(name_en) LIKE {p} OR code LIKE {p})"));
    }
    if !q.kinds.is_empty() {
        let ps: Vec<String> = q
            .kinds
            .iter()
            .map(|k| w.arg(Arg::Text((*k).to_string())))
            .collect();
        w.push(format!("kind IN ({})", ps.join(", ")));
    }
    if let Some(p) = &q.parent {
        let ph = w.arg(Arg::Text(p.clone()));
        w.push(format!("parent_code = {ph}"));
    }
    let lim = w.arg(Arg::Int(q.limit));
    let off = w.arg(Arg::Int(q.offset));
    let sql = format!(
        "SELECT {COLS} FROM orgs{} ORDER BY path LIMIT {lim} OFFSET {off}",
        w.sql()
    );
    Ok(
        with_db!(db, pool => bind_args!(sqlx::query_as::<_, Org>(&sql), w.args).fetch_all(pool).await)?,
    )
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub code: String,
    pub parent_code: Option<String>,
    pub kind: String,
    pub name_zh: String,
    pub name_ug: String,
    pub name_en: String,
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The path a new node will have under its parent (checked before the write).
pub async fn path_for(db: &Db, code: &str, parent: Option<&str>) -> Result<String, AppError> {
    if !valid_code(code) {
        return Err(AppError::invalid("code", Msg::new("org.err.code")));
    }
    Ok(match parent {
        Some(p) => {
            let parent = get(db, p).await?.ok_or_else(|| {
                AppError::invalid("parent", Msg::new("org.err.parent").arg("code", p))
            })?;
            format!("{}{}/", parent.path, code)
        }
        None => format!("/{code}/"),
    })
}

/// Insert a node under its parent with the path [`path_for`] gave.
pub async fn insert(tx: &mut Tx, o: &NewOrg, path: &str) -> Result<Org, AppError> {
    let now = tx.now().to_string();
    tx_exec!(tx, sqlx::query(
        "INSERT INTO orgs (code, parent_code, path, kind, name_zh, name_ug, name_en, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&o.code).bind(&o.parent_code).bind(path).bind(&o.kind).bind(&o.name_zh).bind(&o.name_ug).bind(&o.name_en).bind(&now))?;
    Ok(Org {
        code: o.code.clone(),
        parent_code: o.parent_code.clone(),
        path: path.to_string(),
        kind: o.kind.clone(),
        name_zh: o.name_zh.clone(),
        name_ug: o.name_ug.clone(),
        name_en: o.name_en.clone(),
    })
}

/// Rename a node (its place in the tree does not change: scopes hang on it).
pub async fn rename(
    tx: &mut Tx,
    code: &str,
    kind: &str,
    zh: &str,
    ug: &str,
    en: &str,
) -> Result<(), AppError> {
    let n = tx_exec!(
        tx,
        sqlx::query(
            "UPDATE orgs SET kind = $1, name_zh = $2, name_ug = $3, name_en = $4 WHERE code = $5"
        )
        .bind(kind)
        .bind(zh)
        .bind(ug)
        .bind(en)
        .bind(code)
    )?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Nodes by code (at most 1,000 codes a call).
pub async fn by_codes(db: &Db, codes: &[String]) -> Result<Vec<Org>, AppError> {
    let mut out = Vec::new();
    for chunk in codes.chunks(500).take(2) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk.iter().map(|c| w.arg(Arg::Text(c.clone()))).collect();
        if ps.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT {COLS} FROM orgs WHERE code IN ({}) ORDER BY path",
            ps.join(", ")
        );
        let rows: Vec<Org> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, Org>(&sql), w.args).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}
