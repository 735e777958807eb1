//! Pages of patients with their guardians for modules' lists (a village doctor's overdue
//! children, a birth cohort's coverage): keyset paging by id under an organisation subtree.
use tianshan_platform::db::{Arg, Db, Where};
use tianshan_platform::scope::Scope;
use tianshan_platform::{bind_args, with_db, AppError};

use super::patients::{push_scope, GuardianRow, PatientRow, COLS};

/// What [`page_with_guardians`] selects: patients registered under `[lo, hi)` (when given),
/// or with one of `ids`, born in `[born_from, born_to]` (`YYYY-MM-DD`, when given), with an id
/// after `after` (keyset paging), at most `limit`.
#[derive(Debug, Default, Clone)]
pub struct PageQuery {
    pub under: Option<(String, String)>,
    pub ids: Vec<String>,
    pub born_from: Option<String>,
    pub born_to: Option<String>,
    pub after: String,
    pub limit: i64,
}

/// A page of patients the scope may see, ordered by id, each with its guardians: two queries
/// however long the page (the patients, then the guardians of the page).
pub async fn page_with_guardians(
    db: &Db,
    q: &PageQuery,
    scope: &Scope,
) -> Result<Vec<(PatientRow, Vec<GuardianRow>)>, AppError> {
    let mut w = Where::default();
    if let Some((lo, hi)) = &q.under {
        let lo = w.arg(Arg::Text(lo.clone()));
        let hi = w.arg(Arg::Text(hi.clone()));
        w.push(format!("p.org_path >= {lo} AND p.org_path < {hi}"));
    }
    if !q.ids.is_empty() {
        let ps: Vec<String> = q
            .ids
            .iter()
            .take(1000)
            .map(|i| w.arg(Arg::Text(i.clone())))
            .collect();
        w.push(format!("p.id IN ({})", ps.join(", ")));
    }
    if let Some(d) = &q.born_from {
        let d = w.arg(Arg::Text(d.clone()));
        w.push(format!("p.birth_date >= {d}"));
    }
    if let Some(d) = &q.born_to {
        let d = w.arg(Arg::Text(d.clone()));
        w.push(format!("p.birth_date <= {d}"));
    }
    if !q.after.is_empty() {
        let a = w.arg(Arg::Text(q.after.clone()));
        w.push(format!("p.id > {a}"));
    }
    push_scope(&mut w, scope);
    let limit = w.arg(Arg::Int(q.limit.clamp(1, 5000)));
    let sql = format!(
        "SELECT {COLS} FROM patients p{} ORDER BY p.id LIMIT {limit}",
        w.sql()
    );
    let rows: Vec<PatientRow> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, PatientRow>(&sql), w.args).fetch_all(pool).await)?;
    let mut guardians: std::collections::HashMap<String, Vec<GuardianRow>> =
        std::collections::HashMap::new();
    for chunk in rows.chunks(1000) {
        let mut w = Where::default();
        let ps: Vec<String> = chunk
            .iter()
            .map(|r| w.arg(Arg::Text(r.id.clone())))
            .collect();
        let sql = format!(
            "SELECT patient_id, guardian_id, name, relationship, phone FROM patient_guardians \
             WHERE patient_id IN ({}) ORDER BY patient_id, position",
            ps.join(", ")
        );
        let part: Vec<(String, Option<String>, String, String, String)> = with_db!(db, pool => bind_args!(sqlx::query_as::<_, (String, Option<String>, String, String, String)>(&sql), w.args).fetch_all(pool).await)?;
        for (p, guardian_id, name, relationship, phone) in part {
            guardians.entry(p).or_default().push(GuardianRow {
                guardian_id,
                name,
                relationship,
                phone,
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let g = guardians.remove(&r.id).unwrap_or_default();
            (r, g)
        })
        .collect())
}
