//! Practitioners: doctors, nurses and experts, each attached to an organisation or department.
use serde::Serialize;
use tianshan_platform::db::{Arg, Db, Tx, Where};
use tianshan_platform::{bind_args, tx_exec, with_db, AppError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PractitionerRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub family_name: String,
    pub given_name: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub initials: String,
    pub sex: String,
    pub title: String,
    pub specialty: String,
    pub phone: String,
    pub license_no: String,
    #[serde(skip)]
    pub fhir_extra: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLS: &str = "id, org_code, org_path, family_name, given_name, full_name, name_ug, name_latin, initials, sex, title, \
    specialty, phone, license_no, fhir_extra, created_at, updated_at";

/// A practitioner as stored (validated by the caller).
#[derive(Debug, Clone, Default)]
pub struct PractitionerData {
    pub org_code: String,
    pub family_name: String,
    pub given_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub sex: String,
    pub title: String,
    pub specialty: String,
    pub phone: String,
    pub license_no: String,
    pub fhir_extra: String,
}

/// The row as written, without reading it back.
pub fn row_from_data(id: &str, p: &PractitionerData, org_path: &str, now: &str) -> PractitionerRow {
    let full_name = p.full_name();
    PractitionerRow {
        id: id.to_string(),
        org_code: p.org_code.clone(),
        org_path: org_path.to_string(),
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        initials: crate::domain::names::pinyin_initials(&full_name),
        full_name,
        name_ug: p.name_ug.clone(),
        name_latin: p.name_latin.clone(),
        sex: p.sex.clone(),
        title: p.title.clone(),
        specialty: p.specialty.clone(),
        phone: p.phone.clone(),
        license_no: p.license_no.clone(),
        fhir_extra: p.fhir_extra.clone(),
        created_at: now.to_string(),
        updated_at: now.to_string(),
    }
}

impl PractitionerData {
    fn full_name(&self) -> String {
        let f = crate::domain::names::full_name(&self.family_name, &self.given_name);
        if f.is_empty() {
            if self.name_ug.is_empty() {
                self.name_latin.clone()
            } else {
                self.name_ug.clone()
            }
        } else {
            f
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    id: &str,
    p: &PractitionerData,
    org_path: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let full = p.full_name();
    let initials = crate::domain::names::pinyin_initials(&full);
    tx_exec!(tx, sqlx::query(
        "INSERT INTO practitioners (id, org_code, org_path, family_name, given_name, full_name, name_ug, name_latin, initials, sex, title, \
         specialty, phone, license_no, fhir_extra, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)")
        .bind(id).bind(&p.org_code).bind(org_path).bind(&p.family_name).bind(&p.given_name).bind(&full).bind(&p.name_ug)
        .bind(&p.name_latin).bind(&initials).bind(&p.sex).bind(&p.title).bind(&p.specialty).bind(&p.phone).bind(&p.license_no)
        .bind(&p.fhir_extra).bind(&now))?;
    Ok(())
}

pub async fn update(
    tx: &mut Tx,
    id: &str,
    p: &PractitionerData,
    org_path: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let full = p.full_name();
    let initials = crate::domain::names::pinyin_initials(&full);
    let n = tx_exec!(tx, sqlx::query(
        "UPDATE practitioners SET org_code = $1, org_path = $2, family_name = $3, given_name = $4, full_name = $5, name_ug = $6, name_latin = $7, \
         initials = $8, sex = $9, title = $10, specialty = $11, phone = $12, license_no = $13, fhir_extra = $14, updated_at = $15 WHERE id = $16")
        .bind(&p.org_code).bind(org_path).bind(&p.family_name).bind(&p.given_name).bind(&full).bind(&p.name_ug).bind(&p.name_latin)
        .bind(&initials).bind(&p.sex).bind(&p.title).bind(&p.specialty).bind(&p.phone).bind(&p.license_no).bind(&p.fhir_extra)
        .bind(&now).bind(id))?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<PractitionerRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM practitioners WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, PractitionerRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

#[derive(Debug, Clone, Default)]
pub struct PractitionerQuery {
    pub name: Option<String>,
    pub org_code: Option<String>,
    pub sex: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Name in any script, pinyin initials or specialty; the practitioner directory is visible
/// to every signed-in user (it holds no health data).
pub async fn search(db: &Db, q: &PractitionerQuery) -> Result<Vec<PractitionerRow>, AppError> {
    let mut w = Where::default();
    if let Some(n) = q.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let norm = crate::domain::names::normalize(n);
        let like = w.arg(Arg::Text(format!("%{norm}%")));
        let pre = w.arg(Arg::Text(format!("{norm}%")));
        w.push(format!("(LOWER(REPLACE(full_name, ' ', '')) LIKE {like} OR LOWER(REPLACE(name_latin, ' ', '')) LIKE {like} \
            OR REPLACE(name_ug, ' ', '') LIKE {like} OR initials LIKE {pre} OR LOWER(specialty) LIKE {like})"));
    }
    if let Some(o) = &q.org_code {
        let p = w.arg(Arg::Text(o.clone()));
        w.push(format!("org_code = {p}"));
    }
    if let Some(s) = &q.sex {
        let p = w.arg(Arg::Text(s.clone()));
        w.push(format!("sex = {p}"));
    }
    let lim = w.arg(Arg::Int(q.limit));
    let off = w.arg(Arg::Int(q.offset));
    let sql = format!(
        "SELECT {COLS} FROM practitioners{} ORDER BY full_name, id LIMIT {lim} OFFSET {off}",
        w.sql()
    );
    Ok(
        with_db!(db, pool => bind_args!(sqlx::query_as::<_, PractitionerRow>(&sql), w.args).fetch_all(pool).await)?,
    )
}
