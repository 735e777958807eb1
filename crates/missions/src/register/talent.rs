//! The talent measures (特培): people in mentor groups by year, post and ethnicity,
//! competencies signed off per year, the open needs and their age, and how fast home
//! departments answer liaison requests — in the reader's scope, added up by the database from
//! the counts kept with each mentorship and sign-off (`missions_trainee_counts`,
//! `missions_signoff_counts`).
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tianshan_platform::api::ApiError;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Db;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{tabular, with_db, ApiRouter, AppError, Msg, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::web::FormatParam;
use crate::domain::age_days;
use crate::service::{perms, today};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TraineeCount {
    /// The year the mentorship started.
    pub year: String,
    pub post: String,
    pub ethnicity: String,
    pub trainees: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct YearCount {
    pub year: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TalentMeasures {
    /// People in mentor groups, by start year, post and ethnicity.
    pub trainees: Vec<TraineeCount>,
    /// Competencies signed off, by year.
    pub sign_offs: Vec<YearCount>,
    pub open_needs: i64,
    /// Median age of the open needs, in days.
    pub open_need_median_age_days: i64,
    pub oldest_open_need_days: i64,
    /// Liaison requests answered, and the median hours from asking to the answer.
    pub liaison_answered: i64,
    pub liaison_median_response_hours: i64,
}

const RANGE: &str =
    "((trainee_path >= $1 AND trainee_path < $2) OR (mentor_path >= $1 AND mentor_path < $2))";

async fn trainees(db: &Db, lo: &str, hi: &str) -> Result<Vec<TraineeCount>, AppError> {
    let sql = format!("SELECT year, post, ethnicity, CAST(SUM(trainees) AS BIGINT) AS trainees FROM missions_trainee_counts WHERE {RANGE} GROUP BY year, post, ethnicity ORDER BY 1, 2, 3");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TraineeCount>(&sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn sign_offs(db: &Db, lo: &str, hi: &str) -> Result<Vec<YearCount>, AppError> {
    let sql = format!("SELECT year, CAST(SUM(sign_offs) AS BIGINT) AS count FROM missions_signoff_counts WHERE {RANGE} GROUP BY year ORDER BY 1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, YearCount>(&sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn open_need_dates(db: &Db, lo: &str, hi: &str) -> Result<Vec<String>, AppError> {
    let sql = "SELECT posted_at FROM missions_needs WHERE status = 'open' AND org_path >= $1 AND org_path < $2";
    Ok(
        with_db!(db, pool => sqlx::query_scalar::<_, String>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn answer_times(db: &Db, lo: &str, hi: &str) -> Result<Vec<(String, String)>, AppError> {
    let sql = "SELECT asked_at, answered_at FROM missions_liaison WHERE answered_at IS NOT NULL \
               AND ((from_path >= $1 AND from_path < $2) OR (home_path >= $1 AND home_path < $2))";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, (String, String)>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

fn median(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Hours between two RFC 3339 timestamps (0 when either is unreadable).
pub fn hours_between(from: &str, to: &str) -> i64 {
    use time::format_description::well_known::Rfc3339;
    match (
        time::OffsetDateTime::parse(from, &Rfc3339),
        time::OffsetDateTime::parse(to, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => (b - a).whole_hours().max(0),
        _ => 0,
    }
}

pub async fn talent_measures(st: &Platform, who: &Principal) -> Result<TalentMeasures, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(TalentMeasures::default());
    }
    let (lo, hi) = who.scope.path_range();
    let today = today(st);
    let ages: Vec<i64> = open_need_dates(&st.db, &lo, &hi)
        .await?
        .iter()
        .map(|p| age_days(p, today))
        .collect();
    let answers: Vec<i64> = answer_times(&st.db, &lo, &hi)
        .await?
        .iter()
        .map(|(a, b)| hours_between(a, b))
        .collect();
    Ok(TalentMeasures {
        trainees: trainees(&st.db, &lo, &hi).await?,
        sign_offs: sign_offs(&st.db, &lo, &hi).await?,
        open_needs: ages.len() as i64,
        oldest_open_need_days: ages.iter().copied().max().unwrap_or(0),
        open_need_median_age_days: median(ages),
        liaison_answered: answers.len() as i64,
        liaison_median_response_hours: median(answers),
    })
}

pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(talent_measures_api))
        .routes(routes!(talent_export_api))
}

pub fn page_routes() -> Router<Platform> {
    Router::new()
        .route("/missions/measures/talent", get(talent_page))
        .route("/missions/measures/talent.csv", get(talent_file))
}

pub const TALENT_COLUMNS: [&str; 5] = ["figure", "year", "post", "ethnicity", "value"];

/// One line per figure: trainees by year, post and ethnicity, sign-offs by year, then the
/// needs' and requests' single figures.
pub fn talent_rows(m: &TalentMeasures) -> Vec<Vec<String>> {
    let line = |f: &str, y: &str, p: &str, e: &str, v: i64| {
        vec![f.into(), y.into(), p.into(), e.into(), v.to_string()]
    };
    let mut rows: Vec<Vec<String>> = m
        .trainees
        .iter()
        .map(|t| line("trainees", &t.year, &t.post, &t.ethnicity, t.trainees))
        .collect();
    rows.extend(
        m.sign_offs
            .iter()
            .map(|s| line("sign_offs", &s.year, "", "", s.count)),
    );
    for (f, v) in [
        ("open_needs", m.open_needs),
        ("open_need_median_age_days", m.open_need_median_age_days),
        ("oldest_open_need_days", m.oldest_open_need_days),
        ("liaison_answered", m.liaison_answered),
        (
            "liaison_median_response_hours",
            m.liaison_median_response_hours,
        ),
    ] {
        rows.push(line(f, "", "", "", v));
    }
    rows
}

pub async fn export_talent(
    st: &Platform,
    who: &Principal,
    format: Option<&str>,
) -> Result<Response, AppError> {
    let xlsx = match format.unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(AppError::BadRequest(Msg::new("missions.err.format"))),
    };
    let m = talent_measures(st, who).await?;
    let rows = talent_rows(&m);
    st.audit(
        who,
        Event::new(Action::EXPORT, "TalentMeasures", "").detail(&format!("{} lines", rows.len())),
    )
    .await?;
    Ok(if xlsx {
        tabular::download(
            "talent.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("talent", &TALENT_COLUMNS, &rows)?,
        )
    } else {
        tabular::download(
            "talent.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&TALENT_COLUMNS, &rows),
        )
    })
}

/// The talent figures as CSV or XLSX (`figure, year, post, ethnicity, value`).
#[utoipa::path(get, path = "/api/v1/missions/measures/talent/export", tag = "missions", params(FormatParam),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 400, body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn talent_export_api(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_talent(&st, &who, p.format.as_deref()).await
}

async fn talent_file(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_talent(&st, &who, p.format.as_deref()).await
}

/// People in mentor groups by year, post and ethnicity; competencies signed off per year;
/// open needs and their age; liaison requests' response time — in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/measures/talent", tag = "missions",
    responses((status = 200, body = TalentMeasures), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn talent_measures_api(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<TalentMeasures>, AppError> {
    Ok(Json(talent_measures(&st, &who).await?))
}

#[derive(Template)]
#[template(path = "missions_talent.html")]
struct TalentPage {
    shell: Shell,
    m: TalentMeasures,
}

async fn talent_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let m = talent_measures(&st, &who).await?;
    render(&TalentPage {
        m,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_hours_and_medians() {
        assert_eq!(
            hours_between("2025-10-08T03:00:00Z", "2025-10-09T01:00:00Z"),
            22
        );
        assert_eq!(hours_between("x", "2025-10-09T01:00:00Z"), 0);
        assert_eq!(median(vec![5, 1, 9]), 5);
        assert_eq!(median(Vec::new()), 0);
    }
}
