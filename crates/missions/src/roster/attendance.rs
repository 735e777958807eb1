//! Who attended one lecture that took place: the names join the lecture's attendance list
//! (the list certificates are checked against); each must be a known trainee of the caller's
//! area or of the mission's hospitals.
use std::collections::{HashMap, HashSet};

use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{check_rows, ImportReport, Table};
use tianshan_platform::{tx_exec, with_db, AppError, FieldError, Msg, Platform};

use super::{distinct, locale_of};
use crate::domain::{parse_date, team_members};
use crate::service::{missions, perms, today};
use crate::store::MissionRow;

pub const ATTENDANCE_COLUMNS: [&str; 2] = ["name", "org_code"];

/// Where each named trainee works (code, path), among the trainees the caller may name.
async fn known_trainees(
    st: &Platform,
    who: &Principal,
    m: &MissionRow,
    names: &[String],
) -> Result<HashMap<String, Vec<String>>, AppError> {
    let sql = "SELECT DISTINCT trainee_code, trainee_path FROM missions_mentorships WHERE trainee_name = $1";
    let mut out = HashMap::new();
    for n in names {
        let rows: Vec<(String, String)> = with_db!(&st.db, pool => sqlx::query_as::<_, (String, String)>(sql).bind(n).fetch_all(pool).await)?;
        let codes: Vec<String> = rows
            .into_iter()
            .filter(|(_, p)| {
                who.scope.owns(p) || p.starts_with(&m.site_path) || p.starts_with(&m.lead_path)
            })
            .map(|(c, _)| c)
            .collect();
        if !codes.is_empty() {
            out.insert(n.clone(), codes);
        }
    }
    Ok(out)
}

/// Import the attendance of one logged lecture of a mission: columns `name` and, optionally,
/// `org_code`. A lecture not logged for the mission, or dated after today, refuses the file
/// (400) and writes nothing. Needs `missions.record`.
pub async fn import_attendance(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    lecture_id: &str,
    table: &Table,
    skip_bad: bool,
) -> Result<ImportReport, AppError> {
    who.require(perms::RECORD)?;
    let (m, acts) = missions::activities(st, who, mission_id).await?;
    let Some(lecture) = acts
        .into_iter()
        .find(|a| a.id == lecture_id.trim() && a.kind == "lecture")
    else {
        return Err(AppError::BadRequest(Msg::new(
            "missions.err.lecture_unknown",
        )));
    };
    if parse_date(&lecture.day).is_none_or(|d| d > today(st)) {
        return Err(AppError::BadRequest(
            Msg::new("missions.err.lecture_not_held").arg("day", lecture.day.clone()),
        ));
    }
    table.require(&ATTENDANCE_COLUMNS[..1])?;
    let known = known_trainees(st, who, &m, &distinct(table, "name")).await?;
    let listed: HashSet<String> = team_members(&lecture.people).into_iter().collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (good, mut report) = check_rows(table, skip_bad, |t, r| {
        let name = t.get(r, "name").trim().to_string();
        let code = t.get(r, "org_code").trim();
        if name.is_empty() {
            return Err(vec![FieldError::new(
                "name",
                Msg::new("missions.err.required"),
            )]);
        }
        let mut errs = Vec::new();
        match known.get(&name) {
            Some(codes) if code.is_empty() || codes.iter().any(|c| c == code) => {}
            _ => errs.push(FieldError::new(
                "name",
                Msg::new("missions.err.trainee_unknown").arg("name", name.clone()),
            )),
        }
        if let Some(first) = seen.get(&name) {
            errs.push(FieldError::new(
                "name",
                Msg::new("missions.err.duplicate_row").arg("row", first.to_string()),
            ));
        } else {
            seen.insert(name.clone(), r.number);
        }
        if errs.is_empty() {
            Ok(name)
        } else {
            Err(errs)
        }
    });
    report.localise(&st.i18n.catalog(locale_of(who)));
    let new: Vec<String> = good
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| !listed.contains(n))
        .collect();
    if !new.is_empty() {
        let mut people = lecture.people.trim().to_string();
        for n in &new {
            if !people.is_empty() {
                people.push('、');
            }
            people.push_str(n);
        }
        let count = lecture.count.max(team_members(&people).len() as i64);
        let (who2, id) = (who.clone(), lecture.id.clone());
        st.write(move |tx| {
            Box::pin(async move {
                tx_exec!(
                    tx,
                    sqlx::query(
                        "UPDATE missions_activities SET people = $1, count = $2 WHERE id = $3"
                    )
                    .bind(&people)
                    .bind(count)
                    .bind(&id)
                )?;
                let detail = format!("{} attended: {}", new.len(), new.join("、"));
                tx.record(
                    &who2,
                    Event::new(Action::IMPORT, missions::ACTIVITY, &id).detail(&detail),
                );
                Ok(())
            })
        })
        .await?;
    }
    Ok(report)
}

/// Lectures already given in the missions the caller may record for: (mission id, lecture
/// id, label), newest first, for the import page.
pub async fn lectures_of(
    st: &Platform,
    mission_ids: &[(String, String)],
) -> Result<Vec<(String, String, String)>, AppError> {
    let sql = "SELECT id, day, topic FROM missions_activities WHERE mission_id = $1 AND kind = 'lecture' AND day <= $2 ORDER BY day DESC, id";
    let today = today(st).to_string();
    let mut out = Vec::new();
    for (mid, title) in mission_ids.iter().take(100) {
        let rows: Vec<(String, String, String)> = with_db!(&st.db, pool => sqlx::query_as::<_, (String, String, String)>(sql).bind(mid).bind(&today).fetch_all(pool).await)?;
        out.extend(
            rows.into_iter()
                .map(|(id, day, topic)| (mid.clone(), id, format!("{day} · {topic} · {title}"))),
        );
    }
    Ok(out)
}
