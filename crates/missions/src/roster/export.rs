//! Trainees out as CSV or XLSX in the columns the trainee import takes (competencies joined
//! with `;`), every mentor group of the caller's scope.
use std::collections::HashMap;

use axum::response::Response;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular;
use tianshan_platform::{with_db, AppError, Msg, Platform};

use super::TRAINEE_COLUMNS;
use crate::service::perms;
use crate::service::talent::MENTORSHIP;

const RANGE: &str =
    "((m.trainee_path >= $1 AND m.trainee_path < $2) OR (m.mentor_path >= $1 AND m.mentor_path < $2))";

type Line = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

pub async fn export_trainees(
    st: &Platform,
    who: &Principal,
    format: Option<&str>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let xlsx = match format.unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(AppError::BadRequest(Msg::new("missions.err.format"))),
    };
    let (mut lines, mut steps): (Vec<Line>, Vec<(String, String)>) = (Vec::new(), Vec::new());
    if who.scope.subtree_applies() {
        let (lo, hi) = who.scope.path_range();
        let sql = format!("SELECT m.id, m.trainee_name, m.trainee_code, m.mentor_username, m.mentor_code, m.starts_on, m.ends_on, m.trainee_post, m.trainee_ethnicity, m.goals, COALESCE(m.mission_id, '') FROM missions_mentorships m WHERE {RANGE} ORDER BY m.starts_on, m.id");
        lines = with_db!(&st.db, pool => sqlx::query_as::<_, Line>(&sql).bind(&lo).bind(&hi).fetch_all(pool).await)?;
        let sql = format!("SELECT s.mentorship_id, s.competency FROM missions_milestones s JOIN missions_mentorships m ON m.id = s.mentorship_id WHERE {RANGE} ORDER BY s.mentorship_id, s.position");
        steps = with_db!(&st.db, pool => sqlx::query_as::<_, (String, String)>(&sql).bind(&lo).bind(&hi).fetch_all(pool).await)?;
    }
    let mut competencies: HashMap<String, Vec<String>> = HashMap::new();
    for (id, c) in steps {
        competencies.entry(id).or_default().push(c);
    }
    let rows: Vec<Vec<String>> = lines
        .into_iter()
        .map(
            |(id, name, code, mentor, mcode, from, to, post, eth, goals, mission)| {
                let c = competencies
                    .get(&id)
                    .map(|v| v.join(";"))
                    .unwrap_or_default();
                vec![
                    name, code, mentor, mcode, from, to, c, post, eth, goals, mission,
                ]
            },
        )
        .collect();
    st.audit(
        who,
        Event::new(Action::EXPORT, MENTORSHIP, "").detail(&format!("{} trainees", rows.len())),
    )
    .await?;
    Ok(if xlsx {
        tabular::download(
            "trainees.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("trainees", &TRAINEE_COLUMNS, &rows)?,
        )
    } else {
        tabular::download(
            "trainees.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&TRAINEE_COLUMNS, &rows),
        )
    })
}
