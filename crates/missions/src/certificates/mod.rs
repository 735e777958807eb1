//! Certificates for a course (a mission's lectures), one lecture or a fellowship (进修): issued
//! only to someone the records show attended or completed it, each with a verification code
//! anyone can check on a public page that shows what the certificate states and no more.
mod web;

use serde::{Deserialize, Serialize};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::{tx_exec, with_db, AppError, FieldError, Msg, Platform};

use crate::domain::{parse_date, team_members, Check};
use crate::service::{covers_any, missions, new_id, own_org, perms, today};

pub use web::{api_routes, page_routes};

pub const CERTIFICATE: &str = "Certificate";
/// What a certificate attests.
pub const CERT_KINDS: [&str; 3] = ["course", "lecture", "fellowship"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CertificateRow {
    pub id: String,
    /// The verification code printed on the certificate (e.g. `K7QM-3RTA-9XPD`).
    pub code: String,
    /// `course`, `lecture` or `fellowship`.
    pub kind: String,
    pub holder_name: String,
    /// What was attended or completed: the lecture's topic, the course's or fellowship's title.
    pub title: String,
    pub issuer_code: String,
    pub issuer_path: String,
    pub mission_id: String,
    pub activity_id: Option<String>,
    pub starts_on: String,
    pub ends_on: String,
    pub issued_on: String,
    pub issued_by: String,
    pub issued_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CertificateInput {
    /// `course` (attended lectures of the mission), `lecture` (one logged lecture) or
    /// `fellowship` (a finished fellowship).
    #[serde(default)]
    pub kind: String,
    /// As written in the attendance list (lecture, course) or the fellowship's team.
    #[serde(default)]
    pub holder_name: String,
    /// The mission (or fellowship) the certificate is about.
    #[serde(default)]
    pub mission_id: String,
    /// For `lecture`: the logged lecture.
    #[serde(default)]
    pub activity_id: Option<String>,
    /// The issuing organisation, in the caller's own subtree.
    #[serde(default)]
    pub issuer_code: String,
}

/// What the public page shows: what the certificate states, nothing else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verified {
    pub code: String,
    pub kind: String,
    pub holder_name: String,
    pub title: String,
    pub issuer: String,
    pub starts_on: String,
    pub ends_on: String,
    pub issued_on: String,
}

const COLS: &str = "id, code, kind, holder_name, title, issuer_code, issuer_path, mission_id, activity_id, starts_on, ends_on, issued_on, issued_by, issued_at";

async fn insert(tx: &mut Tx, c: &CertificateRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_certificates (id, code, kind, holder_name, title, issuer_code, issuer_path, mission_id, activity_id, starts_on, ends_on, issued_on, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(&c.id).bind(&c.code).bind(&c.kind).bind(&c.holder_name).bind(&c.title)
        .bind(&c.issuer_code).bind(&c.issuer_path).bind(&c.mission_id).bind(&c.activity_id)
        .bind(&c.starts_on).bind(&c.ends_on).bind(&c.issued_on).bind(&c.issued_by).bind(&c.issued_at))?;
    Ok(())
}

async fn by(db: &Db, column: &str, value: &str) -> Result<Option<CertificateRow>, AppError> {
    let sql = format!("SELECT {COLS} FROM missions_certificates WHERE {column} = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CertificateRow>(&sql).bind(value).fetch_optional(pool).await)?,
    )
}

async fn of_mission(db: &Db, mission_id: &str) -> Result<Vec<CertificateRow>, AppError> {
    let sql = format!(
        "SELECT {COLS} FROM missions_certificates WHERE mission_id = $1 ORDER BY issued_at, id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, CertificateRow>(&sql).bind(mission_id).fetch_all(pool).await)?,
    )
}

/// A verification code: 12 characters of an alphabet without look-alikes (no 0/O, 1/I/L),
/// grouped by four; 60 bits of randomness, so codes cannot be guessed one after another.
pub fn new_code() -> String {
    const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut n = u128::from_be_bytes(bytes);
    let mut s = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[(n % 31) as usize]));
        n /= 31;
    }
    s
}

/// A code as typed by a person: case and spaces do not matter.
pub fn normalise_code(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    clean
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn holder_listed(list: &str, holder: &str) -> bool {
    team_members(list)
        .iter()
        .any(|p| p == holder || p.split_whitespace().any(|w| w == holder))
}

/// Issue a certificate: the holder must appear in the records it attests (a lecture's
/// attendance, a course's lectures, a finished fellowship's team), the issuer must be the
/// caller's own organisation. Needs `missions.record`.
pub async fn issue(
    st: &Platform,
    who: &Principal,
    input: &CertificateInput,
) -> Result<CertificateRow, AppError> {
    who.require(perms::RECORD)?;
    let mut c = Check::default();
    let kind = c.one_of("kind", &input.kind, &CERT_KINDS);
    let holder = c.text("holder_name", &input.holder_name, true);
    let mission = match missions::activities(st, who, input.mission_id.trim()).await {
        Ok(x) => Some(x),
        Err(AppError::NotFound) => {
            c.fail("mission_id", "missions.err.mission_unknown");
            None
        }
        Err(e) => return Err(e),
    };
    let mut errs = c.0;
    let today = today(st);
    let mut cert = None;
    if let (Some((m, acts)), true) = (&mission, errs.is_empty()) {
        let lectures = acts.iter().filter(|a| a.kind == "lecture");
        let (title, activity_id, from, to) = match kind.as_str() {
            "lecture" => {
                let id = input.activity_id.as_deref().unwrap_or("").trim();
                match acts.iter().find(|a| a.id == id) {
                    Some(a) if a.kind == "lecture" => {
                        if !holder_listed(&a.people, &holder) {
                            errs.push(field("holder_name", "missions.err.cert_not_attended"));
                        }
                        (
                            a.topic.clone(),
                            Some(a.id.clone()),
                            a.day.clone(),
                            a.day.clone(),
                        )
                    }
                    _ => {
                        errs.push(field("activity_id", "missions.err.cert_no_lecture"));
                        Default::default()
                    }
                }
            }
            "course" => {
                let attended: Vec<_> = lectures
                    .filter(|a| holder_listed(&a.people, &holder))
                    .collect();
                if attended.is_empty() {
                    errs.push(field("holder_name", "missions.err.cert_not_attended"));
                }
                (
                    m.title.clone(),
                    None,
                    m.starts_on.clone(),
                    m.ends_on.clone(),
                )
            }
            _ => {
                if m.kind != "fellowship" {
                    errs.push(field("mission_id", "missions.err.cert_not_fellowship"));
                } else if !holder_listed(&m.team, &holder) {
                    errs.push(field("holder_name", "missions.err.cert_not_fellow"));
                } else if parse_date(&m.ends_on).is_some_and(|e| e > today) {
                    errs.push(field("mission_id", "missions.err.cert_unfinished"));
                } else if crate::fellowship::completion_of(&st.db, &m.id)
                    .await?
                    .is_none_or(|c| c.outcome != "completed")
                {
                    errs.push(field("mission_id", "missions.err.cert_no_completion"));
                }
                (
                    m.title.clone(),
                    None,
                    m.starts_on.clone(),
                    m.ends_on.clone(),
                )
            }
        };
        cert = Some((m.id.clone(), title, activity_id, from, to));
    }
    let issuer = match own_org(st, who, "issuer_code", input.issuer_code.trim()).await {
        Ok(o) => Some(o),
        Err(AppError::Invalid(mut e)) => {
            errs.append(&mut e);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some((mission_id, title, activity_id, starts_on, ends_on)), Some(issuer), true) =
        (cert, issuer, errs.is_empty())
    else {
        return Err(AppError::Invalid(errs));
    };
    let row = CertificateRow {
        id: new_id(),
        code: new_code(),
        kind,
        holder_name: holder,
        title,
        issuer_code: issuer.code,
        issuer_path: issuer.path,
        mission_id,
        activity_id,
        starts_on,
        ends_on,
        issued_on: today.to_string(),
        issued_by: who.display_name.clone(),
        issued_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.issued_at = tx.now().to_string();
            insert(tx, &row).await?;
            let detail = format!("{} {} {}", row.kind, row.code, row.holder_name);
            tx.record(
                &who2,
                Event::new(Action::CREATE, CERTIFICATE, &row.id).detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

fn field(f: &str, key: &'static str) -> FieldError {
    FieldError::new(f, Msg::new(key))
}

/// One certificate, to those who see its mission or its issuer.
pub async fn get(st: &Platform, who: &Principal, id: &str) -> Result<CertificateRow, AppError> {
    who.require(perms::READ)?;
    let Some(c) = by(&st.db, "id", id).await? else {
        return Err(AppError::NotFound);
    };
    if covers_any(who, &[&c.issuer_path]) {
        return Ok(c);
    }
    missions::get(st, who, &c.mission_id).await?;
    Ok(c)
}

/// The certificates issued for a mission the caller sees.
pub async fn of(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
) -> Result<Vec<CertificateRow>, AppError> {
    let m = missions::get(st, who, mission_id).await?;
    of_mission(&st.db, &m.id).await
}

/// Check a code, for anyone: the certificate's statement, or None. The caller audits.
pub async fn verify(st: &Platform, code: &str) -> Result<Option<CertificateRow>, AppError> {
    let code = normalise_code(code);
    if code.len() != 14 {
        return Ok(None);
    }
    by(&st.db, "code", &code).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_read_back_however_typed() {
        let c = new_code();
        assert_eq!(c.len(), 14);
        assert_eq!(c.matches('-').count(), 2);
        assert_ne!(c, new_code());
        assert_eq!(normalise_code(&c.to_lowercase().replace('-', " ")), c);
    }

    #[test]
    fn a_holder_is_found_in_an_attendance_list() {
        assert!(holder_listed("阿依古丽、努尔兰", "努尔兰"));
        assert!(holder_listed("伊吾县人民医院 努尔兰, 王芳", "努尔兰"));
        assert!(!holder_listed("阿依古丽、努尔兰", "王芳"));
    }
}
