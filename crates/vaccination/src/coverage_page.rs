//! The coverage page: a place's coverage per birth cohort and village, township or county, with
//! the same report as CSV or XLSX.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;

use crate::api_followup::{coverage_file, CoverageParams};
use crate::service::{self as svc, perms, CoverageReport, COVERAGE_LEVELS};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/vaccination/coverage", get(coverage_page))
        .route("/vaccination/coverage/file", get(coverage_download))
}

#[derive(Template)]
#[template(path = "vacc_coverage.html")]
struct CoveragePage {
    shell: Shell,
    /// Counties, townships and villages of the caller's area, for the chooser.
    places: Vec<(String, String)>,
    levels: &'static [&'static str],
    report: CoverageReport,
    /// The query string of the report, for the file links.
    query: String,
}

async fn coverage_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CoverageParams>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let locale = ctx.t.locale;
    let report = svc::coverage(&st, &who, &p.query(), locale).await?;
    let places = facade::scope_orgs(&st, &who, 500)
        .await?
        .into_iter()
        .filter(|o| COVERAGE_LEVELS.contains(&o.kind.as_str()))
        .map(|o| (o.code.clone(), o.name(locale).to_string()))
        .collect();
    let query = format!(
        "org={}&level={}&from_year={}&to_year={}&as_of={}",
        report.org_code, report.level, report.from_year, report.to_year, report.as_of
    );
    render(&CoveragePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        places,
        levels: &COVERAGE_LEVELS,
        report,
        query,
    })
}

async fn coverage_download(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<CoverageParams>,
) -> Result<Response, AppError> {
    let report = svc::coverage(&st, &who, &p.query(), ctx.t.locale).await?;
    coverage_file(&report, &p.format)
}
