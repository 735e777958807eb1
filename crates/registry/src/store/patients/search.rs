//! Patient search: by name, initials, ID number, phone, birth date and sex, inside the
//! caller's scope, with bounded name walks and a capped count.
use super::*;

/// Comparison of a FHIR `birthdate` search value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOp {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// The most term rows a name search considers (inside the user's scope, closest terms first).
/// It bounds the work of a short query such as `w` or `zs` on a million patients; nobody reads
/// past the first page of such a list: the search page asks for more letters instead.
pub const TERM_MATCH_CAP: i64 = 400;

#[derive(Debug, Clone, Default)]
pub struct PatientQuery {
    /// A name in any script, pinyin initials or full pinyin: prefix match on search terms.
    pub term: Option<String>,
    pub family: Option<String>,
    pub given: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<(DateOp, String)>,
    pub sex: Option<String>,
    pub org_code: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl PatientQuery {
    pub fn is_empty(&self) -> bool {
        self.term.is_none()
            && self.family.is_none()
            && self.given.is_none()
            && self.id_number.is_none()
            && self.phone.is_none()
            && self.birth_date.is_none()
            && self.sex.is_none()
            && self.org_code.is_none()
    }
}

/// The closest search terms matching `value` inside the scope, at most [`TERM_MATCH_CAP`] of
/// them, as rows `(patient_id, full_name)` (a patient may come more than once).
fn term_walk(w: &mut Where, value: &str, scope: &Scope) -> String {
    let q = crate::domain::names::normalize_query(value);
    let lo = w.arg(Arg::Text(q.clone()));
    let hi = w.arg(Arg::Text(prefix_end(&q)));
    let cap = w.arg(Arg::Int(TERM_MATCH_CAP));
    let range = format!("t.term >= {lo} AND t.term < {hi}");
    if scope.path.is_none() && scope.subtree_applies() {
        return format!(
            "SELECT t.patient_id, t.full_name FROM patient_terms t WHERE {range} ORDER BY t.term LIMIT {cap}"
        );
    }
    let (slo, shi) = scope.path_range();
    let slo = w.arg(Arg::Text(slo));
    let shi = w.arg(Arg::Text(shi));
    let shared = format!(
        "SELECT b.patient_id, b.full_name FROM (SELECT t.patient_id, t.full_name FROM patient_shares s \
         JOIN patient_terms t ON t.patient_id = s.patient_id \
         WHERE s.org_path >= {slo} AND s.org_path < {shi} AND {range} LIMIT {cap}) b"
    );
    if !scope.subtree_applies() {
        return shared;
    }
    format!(
        "SELECT a.patient_id, a.full_name FROM (SELECT t.patient_id, t.full_name FROM patient_terms t \
         WHERE {range} AND t.org_path >= {slo} AND t.org_path < {shi} ORDER BY t.term LIMIT {cap}) a \
         UNION {shared}"
    )
}

/// Patients among the closest terms matching `value`.
fn term_clause(w: &mut Where, value: &str, scope: &Scope) -> String {
    let walk = term_walk(w, value, scope);
    format!("p.id IN (SELECT m.patient_id FROM ({walk}) m)")
}

/// The first `first` of them in the order results are shown (name, then id), chosen from the
/// term rows alone: only the patients on the page are read. The term walk is already inside
/// the scope, so this is the page when the name is the only criterion.
fn term_page_clause(w: &mut Where, value: &str, scope: &Scope, first: i64) -> String {
    let walk = term_walk(w, value, scope);
    let first = w.arg(Arg::Int(first));
    format!(
        "p.id IN (SELECT n.patient_id FROM (SELECT DISTINCT m.patient_id, m.full_name FROM ({walk}) m \
         ORDER BY m.full_name, m.patient_id LIMIT {first}) n)"
    )
}

/// The one name of a search that has nothing else to match on but the scope.
fn name_alone(q: &PatientQuery) -> Option<&str> {
    let names: Vec<&str> = [&q.term, &q.family, &q.given]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let others = q.id_number.is_some()
        || q.phone.is_some()
        || q.birth_date.is_some()
        || q.sex.is_some()
        || q.org_code.is_some();
    match names.as_slice() {
        [one] if !others => Some(one),
        _ => None,
    }
}

/// The conditions of a search; with `page` (offset + limit) a name searched alone picks its
/// page among the term rows ([`term_page_clause`]); counts take every match.
fn search_where(q: &PatientQuery, scope: &Scope, page: Option<i64>) -> Where {
    let mut w = Where::default();
    if let (Some(first), Some(name)) = (page, name_alone(q)) {
        let c = term_page_clause(&mut w, name, scope, first);
        w.push(c);
        push_scope(&mut w, scope);
        return w;
    }
    if let Some(t) = q.term.as_deref() {
        let c = term_clause(&mut w, t, scope);
        w.push(c);
    }
    // FHIR `family` and `given` match name terms too, so pinyin and initials work for them.
    for v in [&q.family, &q.given].into_iter().flatten() {
        let c = term_clause(&mut w, v, scope);
        w.push(c);
    }
    if let Some(v) = q.id_number.as_deref() {
        let p = w.arg(Arg::Text(v.trim().to_uppercase()));
        w.push(format!("p.id_number = {p}"));
    }
    if let Some(v) = q.phone.as_deref() {
        let p = w.arg(Arg::Text(v.trim().to_string()));
        w.push(format!("p.phone = {p}"));
    }
    if let Some((op, d)) = &q.birth_date {
        let p = w.arg(Arg::Text(d.clone()));
        let sym = match op {
            DateOp::Eq => "=",
            DateOp::Ge => ">=",
            DateOp::Le => "<=",
            DateOp::Gt => ">",
            DateOp::Lt => "<",
        };
        w.push(format!("p.birth_date {sym} {p}"));
    }
    if let Some(v) = q.sex.as_deref() {
        let p = w.arg(Arg::Text(v.to_string()));
        w.push(format!("p.sex = {p}"));
    }
    if let Some(v) = q.org_code.as_deref() {
        let p = w.arg(Arg::Text(v.to_string()));
        w.push(format!("p.org_code = {p}"));
    }
    push_scope(&mut w, scope);
    w
}

/// Patients matching every given criterion, inside the scope, by name.
pub async fn search(db: &Db, q: &PatientQuery, scope: &Scope) -> Result<Vec<PatientRow>, AppError> {
    let page = q.offset.saturating_add(q.limit);
    let mut w = search_where(q, scope, Some(page));
    let lim = w.arg(Arg::Int(q.limit));
    let off = w.arg(Arg::Int(q.offset));
    let sql = format!(
        "SELECT {COLS} FROM patients p{} ORDER BY p.full_name, p.id LIMIT {lim} OFFSET {off}",
        w.sql()
    );
    // Bounded: the name and initials walks stop after 400 terms (`term_walk`).
    if let Some(d) = db.direct() {
        return d.rows(&sql, &w.args, direct_row);
    }
    Ok(
        with_db!(db, pool => bind_args!(sqlx::query_as::<_, PatientRow>(&sql), w.args).fetch_all(pool).await)?,
    )
}

/// Most matches a search counts; past it the count is not given (a FHIR Bundle then has no
/// `total`, and the client pages with `next`).
pub const COUNT_CAP: i64 = 10_000;

/// How many patients match, up to [`COUNT_CAP`] (None past it).
pub async fn count_matches(
    db: &Db,
    q: &PatientQuery,
    scope: &Scope,
) -> Result<Option<i64>, AppError> {
    let mut w = search_where(q, scope, None);
    let cap = w.arg(Arg::Int(COUNT_CAP + 1));
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM patients p{} LIMIT {cap}) c",
        w.sql()
    );
    let n: i64 = match db.direct() {
        Some(d) => d.row(&sql, &w.args, |r| r.get(0))?.unwrap_or(0),
        None => {
            with_db!(db, pool => bind_args!(sqlx::query_scalar(&sql), w.args).fetch_one(pool).await)?
        }
    };
    Ok((n <= COUNT_CAP).then_some(n))
}

/// Restrict to patients the scope may see: its subtree (not for partners) or shared into it.
pub fn push_scope(w: &mut Where, scope: &Scope) {
    if scope.path.is_none() && scope.subtree_applies() {
        return;
    }
    let (lo, hi) = scope.path_range();
    let lo = w.arg(Arg::Text(lo));
    let hi = w.arg(Arg::Text(hi));
    let shared = format!("EXISTS (SELECT 1 FROM patient_shares s WHERE s.patient_id = p.id AND s.org_path >= {lo} AND s.org_path < {hi})");
    if scope.subtree_applies() {
        w.push(format!(
            "((p.org_path >= {lo} AND p.org_path < {hi}) OR {shared})"
        ));
    } else {
        w.push(shared);
    }
}
