//! Trainees (mentor groups, 师带徒) and a lecture's attendance in from CSV or XLSX: every row
//! checked first with its row number, nothing written from a file with errors unless asked to
//! skip the bad rows, each write and its audit entry in one transaction.
use std::collections::{HashMap, HashSet};

use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{check_rows, ImportReport, Table};
use tianshan_platform::{with_db, AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;

use crate::domain::MentorshipInput;
use crate::service::talent::MENTORSHIP;
use crate::service::{missions, new_id, perms};
use crate::store::{self, MentorshipRow, MilestoneRow};

pub mod api;
mod attendance;
mod export;

pub use attendance::{import_attendance, lectures_of};
pub use export::export_trainees;

/// The columns a trainee import takes; the first seven are required.
pub const TRAINEE_COLUMNS: [&str; 11] = [
    "trainee_name",
    "trainee_code",
    "mentor_username",
    "mentor_code",
    "starts_on",
    "ends_on",
    "competencies",
    "trainee_post",
    "trainee_ethnicity",
    "goals",
    "mission_id",
];

pub(crate) fn locale_of(who: &Principal) -> tianshan_platform::i18n::Locale {
    tianshan_platform::i18n::Locale::parse(&who.locale)
        .unwrap_or(tianshan_platform::i18n::Locale::En)
}

fn distinct(table: &Table, column: &str) -> Vec<String> {
    let mut v: Vec<String> = table
        .rows
        .iter()
        .map(|r| table.get(r, column).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn err(field: &str, msg: Msg) -> FieldError {
    FieldError::new(field, msg)
}

/// A trainee is the same person in the same mentor group when name, department, mentor and
/// start day agree.
type Key = (String, String, String, String);

async fn existing_keys(st: &Platform, codes: &[String]) -> Result<HashSet<Key>, AppError> {
    let sql = "SELECT trainee_name, trainee_code, mentor_username, starts_on FROM missions_mentorships WHERE trainee_code = $1";
    let mut out = HashSet::new();
    for c in codes {
        let rows: Vec<Key> =
            with_db!(&st.db, pool => sqlx::query_as::<_, Key>(sql).bind(c).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Import trainees with their mentor and competencies (`;`-separated). Needs `talent.mentor`
/// or `missions.plan`; the trainee's or the mentor's organisation must be in the caller's
/// subtree, as for one mentorship made on its page.
pub async fn import_trainees(
    st: &Platform,
    who: &Principal,
    table: &Table,
    skip_bad: bool,
) -> Result<ImportReport, AppError> {
    if !who.can(perms::MENTOR) && !who.can(perms::PLAN) {
        return Err(AppError::Forbidden);
    }
    table.require(&TRAINEE_COLUMNS[..7])?;
    let mut codes = distinct(table, "trainee_code");
    codes.extend(distinct(table, "mentor_code"));
    codes.sort();
    codes.dedup();
    let orgs: HashMap<String, String> = facade::orgs(st, &codes)
        .await?
        .into_iter()
        .map(|o| (o.code, o.path))
        .collect();
    let mut mentors = HashMap::new();
    for u in distinct(table, "mentor_username") {
        if let Ok(m) = tianshan_platform::users::by_username(&st.db, &u).await {
            mentors.insert(u, m.display_name);
        }
    }
    let mut mission_ok = HashSet::new();
    for id in distinct(table, "mission_id") {
        if missions::get(st, who, &id).await.is_ok() {
            mission_ok.insert(id);
        }
    }
    let existing = existing_keys(st, &distinct(table, "trainee_code")).await?;
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let (good, mut report) = check_rows(table, skip_bad, |t, r| {
        let input = MentorshipInput {
            mentor_username: t.get(r, "mentor_username").into(),
            mentor_code: t.get(r, "mentor_code").into(),
            trainee_name: t.get(r, "trainee_name").into(),
            trainee_post: t.get(r, "trainee_post").into(),
            trainee_ethnicity: t.get(r, "trainee_ethnicity").into(),
            trainee_code: t.get(r, "trainee_code").into(),
            goals: t.get(r, "goals").into(),
            starts_on: t.get(r, "starts_on").into(),
            ends_on: t.get(r, "ends_on").into(),
            competencies: t
                .get(r, "competencies")
                .split([';', '；', '\n'])
                .map(str::to_string)
                .collect(),
            mission_id: Some(t.get(r, "mission_id").to_string()),
        };
        let (m, mut errs) = match input.validate() {
            Ok(m) => (m, Vec::new()),
            Err(e) => (input.clone(), e),
        };
        let code = m.trainee_code.trim();
        let mcode = m.mentor_code.trim();
        let trainee_path = orgs.get(code);
        let mentor_path = orgs.get(mcode);
        for (field, c, p) in [
            ("trainee_code", code, trainee_path),
            ("mentor_code", mcode, mentor_path),
        ] {
            if p.is_none() && !c.is_empty() {
                errs.push(err(
                    field,
                    Msg::new("missions.err.org_unknown").arg("code", c.to_string()),
                ));
            }
        }
        if let (Some(tp), Some(mp)) = (trainee_path, mentor_path) {
            if !who.scope.owns(tp) && !who.scope.owns(mp) {
                errs.push(err("trainee_code", Msg::new("missions.err.org_outside")));
            }
        }
        let mentor = m.mentor_username.trim();
        let mentor_name = mentors.get(mentor);
        if mentor_name.is_none() && !mentor.is_empty() {
            errs.push(err(
                "mentor_username",
                Msg::new("missions.err.mentor_unknown"),
            ));
        }
        if let Some(id) = m.mission_id.as_deref().map(str::trim) {
            if !id.is_empty() && !mission_ok.contains(id) {
                errs.push(err("mission_id", Msg::new("missions.err.mission_unknown")));
            }
        }
        let key: Key = (
            m.trainee_name.trim().to_string(),
            code.to_string(),
            mentor.to_string(),
            m.starts_on.trim().to_string(),
        );
        if let Some(first) = seen.get(&key) {
            errs.push(err(
                "trainee_name",
                Msg::new("missions.err.duplicate_row").arg("row", first.to_string()),
            ));
        } else {
            seen.insert(key.clone(), r.number);
            if existing.contains(&key) {
                errs.push(err("trainee_name", Msg::new("missions.err.trainee_exists")));
            }
        }
        let (Some(tp), Some(mp), Some(mname), true) =
            (trainee_path, mentor_path, mentor_name, errs.is_empty())
        else {
            return Err(errs);
        };
        let row = MentorshipRow {
            id: new_id(),
            mentor_username: mentor.to_string(),
            mentor_name: mname.clone(),
            mentor_code: mcode.to_string(),
            mentor_path: mp.clone(),
            trainee_name: m.trainee_name,
            trainee_post: m.trainee_post,
            trainee_ethnicity: m.trainee_ethnicity,
            trainee_code: code.to_string(),
            trainee_path: tp.clone(),
            goals: m.goals,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            mission_id: m.mission_id,
            created_by: who.username.clone(),
            created_at: String::new(),
        };
        Ok(with_steps(row, &m.competencies))
    });
    report.localise(&st.i18n.catalog(locale_of(who)));
    if !good.is_empty() {
        insert(st, who, good.into_iter().map(|(_, g)| g).collect()).await?;
    }
    Ok(report)
}

/// The mentorship with one unsigned milestone per competency, in order.
fn with_steps(row: MentorshipRow, competencies: &[String]) -> (MentorshipRow, Vec<MilestoneRow>) {
    let steps = competencies
        .iter()
        .enumerate()
        .map(|(i, c)| MilestoneRow {
            id: new_id(),
            mentorship_id: row.id.clone(),
            position: i as i64 + 1,
            competency: c.clone(),
            signed_on: None,
            evidence: String::new(),
            signed_by: String::new(),
        })
        .collect();
    (row, steps)
}

async fn insert(
    st: &Platform,
    who: &Principal,
    rows: Vec<(MentorshipRow, Vec<MilestoneRow>)>,
) -> Result<usize, AppError> {
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let n = rows.len();
            for (mut row, steps) in rows {
                row.created_at = tx.now().to_string();
                store::insert_mentorship(tx, &row).await?;
                for s in &steps {
                    store::insert_milestone(tx, s).await?;
                }
                let detail = format!("{} mentors {}", row.mentor_username, row.trainee_name);
                tx.record(
                    &who2,
                    Event::new(Action::IMPORT, MENTORSHIP, &row.id).detail(&detail),
                );
            }
            Ok(n)
        })
    })
    .await
}
