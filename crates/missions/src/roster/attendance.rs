//! Who attended a lecture, or the lectures of a course, that took place: the names join each
//! lecture's attendance list (the list certificates are checked against); each must be a known
//! trainee of the caller's area or of the mission's hospitals.
use std::collections::{HashMap, HashSet};

use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{check_rows, ImportReport, Table};
use tianshan_platform::{tx_exec, with_db, AppError, FieldError, Msg, Platform};

use super::{distinct, locale_of};
use crate::domain::{parse_date, team_members};
use crate::service::{missions, perms, today};
use crate::store::{ActivityRow, MissionRow};

/// Columns of an attendance file: `day` and `topic` only for a whole course.
pub const ATTENDANCE_COLUMNS: [&str; 4] = ["name", "org_code", "day", "topic"];

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

/// Import attendance: for one logged lecture of a mission (`lecture_id`), columns `name` and,
/// optionally, `org_code`; a lecture not logged for the mission, or dated after today, refuses
/// the file (400) and writes nothing. For the whole course (no `lecture_id`), a `day` column
/// (and `topic` when two lectures share a day) says which lecture each row attended, and a
/// day without a lecture given is that row's error. Needs `missions.record`.
pub async fn import_attendance(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    lecture_id: Option<&str>,
    table: &Table,
    skip_bad: bool,
) -> Result<ImportReport, AppError> {
    who.require(perms::RECORD)?;
    let (m, acts) = missions::activities(st, who, mission_id).await?;
    let today = today(st);
    let held = |a: &ActivityRow| parse_date(&a.day).is_some_and(|d| d <= today);
    let lectures: Vec<ActivityRow> = acts.into_iter().filter(|a| a.kind == "lecture").collect();
    let one = match lecture_id.map(str::trim).filter(|l| !l.is_empty()) {
        Some(id) => {
            let Some(l) = lectures.iter().find(|a| a.id == id) else {
                return Err(AppError::BadRequest(Msg::new(
                    "missions.err.lecture_unknown",
                )));
            };
            if !held(l) {
                return Err(AppError::BadRequest(
                    Msg::new("missions.err.lecture_not_held").arg("day", l.day.clone()),
                ));
            }
            table.require(&ATTENDANCE_COLUMNS[..1])?;
            Some(l.id.clone())
        }
        None => {
            table.require(&["name", "day"])?;
            None
        }
    };
    let known = known_trainees(st, who, &m, &distinct(table, "name")).await?;
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let (good, mut report) = check_rows(table, skip_bad, |t, r| {
        let name = t.get(r, "name").trim().to_string();
        let code = t.get(r, "org_code").trim();
        let mut errs = Vec::new();
        let lecture = match &one {
            Some(id) => Some(id.clone()),
            None => which_lecture(&lectures, t.get(r, "day"), t.get(r, "topic"), &held)
                .map_err(|e| errs.push(e))
                .ok(),
        };
        if name.is_empty() {
            errs.push(FieldError::new("name", Msg::new("missions.err.required")));
        } else {
            match known.get(&name) {
                Some(codes) if code.is_empty() || codes.iter().any(|c| c == code) => {}
                _ => errs.push(FieldError::new(
                    "name",
                    Msg::new("missions.err.trainee_unknown").arg("name", name.clone()),
                )),
            }
        }
        match lecture {
            Some(l) if errs.is_empty() => {
                let key = (l, name);
                if let Some(first) = seen.get(&key) {
                    return Err(vec![FieldError::new(
                        "name",
                        Msg::new("missions.err.duplicate_row").arg("row", first.to_string()),
                    )]);
                }
                seen.insert(key.clone(), r.number);
                Ok(key)
            }
            _ => Err(errs),
        }
    });
    report.localise(&st.i18n.catalog(locale_of(who)));
    let mut updates = Vec::new();
    for l in &lectures {
        let listed: HashSet<String> = team_members(&l.people).into_iter().collect();
        let new: Vec<String> = good
            .iter()
            .filter(|(_, (id, n))| *id == l.id && !listed.contains(n))
            .map(|(_, (_, n))| n.clone())
            .collect();
        if new.is_empty() {
            continue;
        }
        let mut people = l.people.trim().to_string();
        for n in &new {
            if !people.is_empty() {
                people.push('、');
            }
            people.push_str(n);
        }
        let count = l.count.max(team_members(&people).len() as i64);
        updates.push((l.id.clone(), l.mission_id.clone(), people, count, new));
    }
    if !updates.is_empty() {
        let who2 = who.clone();
        st.write(move |tx| {
            Box::pin(async move {
                for (id, mission_id, people, count, new) in updates {
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
                    crate::store::refresh_activity_sums(tx, &mission_id).await?;
                }
                Ok(())
            })
        })
        .await?;
    }
    Ok(report)
}

/// The lecture a course attendance row names by its day (and topic, when two share the day).
fn which_lecture(
    lectures: &[ActivityRow],
    day: &str,
    topic: &str,
    held: &dyn Fn(&ActivityRow) -> bool,
) -> Result<String, FieldError> {
    let (day, topic) = (day.trim(), topic.trim());
    if parse_date(day).is_none() {
        return Err(FieldError::new("day", Msg::new("missions.err.date")));
    }
    let on_day: Vec<&ActivityRow> = lectures
        .iter()
        .filter(|a| a.day == day && (topic.is_empty() || a.topic == topic))
        .collect();
    match on_day.as_slice() {
        [] => Err(FieldError::new(
            "day",
            Msg::new("missions.err.no_lecture_on").arg("day", day.to_string()),
        )),
        [l] if !held(l) => Err(FieldError::new(
            "day",
            Msg::new("missions.err.lecture_later").arg("day", day.to_string()),
        )),
        [l] => Ok(l.id.clone()),
        _ => Err(FieldError::new(
            "topic",
            Msg::new("missions.err.lecture_which"),
        )),
    }
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
