//! Vaccination pages: the start page (find a child, the clinics, alerts), the child's record
//! with the due list, one page per clinic station and the queue board.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;

use crate::domain::Screening;
use crate::service::{self as svc, perms, BoardLine, ChildRecord};
use crate::store::{AlertRow, DeviceRow, LotRow};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/vaccination", get(home))
        .route("/vaccination/vaccination.js", get(script))
        .route("/vaccination/children/{id}", get(child_page))
        .route("/vaccination/coverage", get(coverage_page))
        .route("/vaccination/clinics/{code}", get(clinic_page))
        .route("/vaccination/clinics/{code}/checkin", post(check_in))
        .route("/vaccination/clinics/{code}/board", get(board_page))
        .route("/vaccination/clinics/{code}/events", get(board_events))
        .route("/vaccination/visits/{id}/screening", post(screen))
        .route("/vaccination/visits/{id}/registration", post(register))
        .route("/vaccination/visits/{id}/vaccination", post(vaccinate))
        .route("/vaccination/visits/{id}/leave", post(leave))
}

pub struct ChildLine {
    pub id: String,
    pub name: String,
    pub birth_date: String,
}

#[derive(Template)]
#[template(path = "vacc_home.html")]
struct HomePage {
    shell: Shell,
    q: String,
    children: Vec<ChildLine>,
    searched: bool,
    clinics: Vec<(String, String)>,
    alerts: Vec<AlertRow>,
    lots: Vec<LotRow>,
    devices: Vec<DeviceRow>,
}

#[derive(Deserialize, Default)]
struct HomeQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    clinic: String,
}

async fn home(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(hq): Query<HomeQuery>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let searched = !hq.q.trim().is_empty();
    let children = if searched {
        facade::find_patients(&st, &who, &hq.q, 30)
            .await?
            .into_iter()
            .map(|p| ChildLine {
                id: p.id,
                name: p.full_name,
                birth_date: p.birth_date.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let locale = ctx.t.locale;
    let clinics = facade::scope_orgs(&st, &who, 500)
        .await?
        .into_iter()
        .filter(|o| o.kind == "clinic")
        .map(|o| (o.code.clone(), o.name(locale).to_string()))
        .collect();
    let alerts = svc::alerts(&st, &who).await?;
    let lots = svc::lots(&st, &who).await?;
    let devices = svc::devices(&st, &who).await?;
    render(&HomePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q: hq.q,
        children,
        searched,
        clinics,
        alerts,
        lots,
        devices,
    })
}

#[derive(Template)]
#[template(path = "vacc_child.html")]
struct ChildPage {
    shell: Shell,
    r: ChildRecord,
    clinic: String,
}

async fn child_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(hq): Query<HomeQuery>,
) -> Result<Response, AppError> {
    let r = svc::child_record(&st, &who, &id, None).await?;
    render(&ChildPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        r,
        clinic: hq.clinic,
    })
}

pub struct StationVisit {
    pub line: BoardLine,
    pub due: Vec<(String, String, String)>,
    pub planned: Vec<String>,
}

#[derive(Template)]
#[template(path = "vacc_clinic.html")]
struct ClinicPage {
    shell: Shell,
    code: String,
    name: String,
    station: String,
    q: String,
    found: Vec<ChildLine>,
    visits: Vec<StationVisit>,
    today_plus_7: String,
}

#[derive(Deserialize, Default)]
struct StationQuery {
    #[serde(default)]
    station: String,
    #[serde(default)]
    q: String,
}

async fn clinic_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(code): Path<String>,
    Query(sq): Query<StationQuery>,
) -> Result<Response, AppError> {
    let lines = svc::board(&st, &who, &code).await?;
    let org = facade::org(&st, &code).await?.ok_or(AppError::NotFound)?;
    let station = if sq.station.is_empty() {
        "checkin".to_string()
    } else {
        sq.station.clone()
    };
    let found = if station == "checkin" && !sq.q.trim().is_empty() {
        facade::find_patients(&st, &who, &sq.q, 20)
            .await?
            .into_iter()
            .map(|p| ChildLine {
                id: p.id,
                name: p.full_name,
                birth_date: p.birth_date.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut visits = Vec::new();
    for line in lines {
        let mut due = Vec::new();
        let mut planned = Vec::new();
        if station == "registration" && line.station == "registration" {
            if let Ok(r) = svc::child_record(&st, &who, &line.patient_id, None).await {
                for d in r
                    .due
                    .iter()
                    .filter(|d| d.status == "due" || d.status == "overdue")
                {
                    for p in &d.products {
                        due.push((p.code.clone(), p.name_zh.clone(), d.status.clone()));
                    }
                }
            }
        }
        if station == "vaccination" && line.station == "vaccination" {
            if let Ok(v) = svc::visit(&st, &who, &line.visit_id).await {
                planned = v
                    .planned
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
            }
        }
        visits.push(StationVisit { line, due, planned });
    }
    let next_week = st.clock.now().date() + time::Duration::days(7);
    render(&ClinicPage {
        name: org.name(ctx.t.locale).to_string(),
        shell: Shell::new(ctx, &st, Some(&who)),
        code,
        station,
        q: sq.q,
        found,
        visits,
        today_plus_7: crate::domain::date_text(next_week),
    })
}

#[derive(Template)]
#[template(path = "vacc_board.html")]
struct BoardPage {
    shell: Shell,
    code: String,
    name: String,
    visits: Vec<BoardLine>,
}

async fn board_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let visits = svc::board(&st, &who, &code).await?;
    let org = facade::org(&st, &code).await?.ok_or(AppError::NotFound)?;
    render(&BoardPage {
        name: org.name(ctx.t.locale).to_string(),
        shell: Shell::new(ctx, &st, Some(&who)),
        code,
        visits: visits.into_iter().filter(|v| v.station != "done").collect(),
    })
}

async fn board_events(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    svc::board(&st, &who, &code).await?;
    Ok(
        tianshan_platform::events::sse(&st.events, format!("vaccination.queue:{code}"))
            .into_response(),
    )
}

fn back(code: &str, station: &str) -> Response {
    Redirect::to(&format!("/vaccination/clinics/{code}?station={station}")).into_response()
}

#[derive(Deserialize)]
struct CheckInForm {
    patient_id: String,
}

async fn check_in(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
    Form(f): Form<CheckInForm>,
) -> Result<Response, AppError> {
    svc::check_in(
        &st,
        &who,
        &svc::CheckIn {
            clinic_code: code.clone(),
            patient_id: f.patient_id,
        },
    )
    .await?;
    Ok(back(&code, "screening"))
}

fn has(pairs: &[(String, String)], k: &str) -> bool {
    pairs.iter().any(|(a, b)| a == k && !b.is_empty())
}

fn val<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(a, _)| a == k)
        .map(|(_, b)| b.as_str())
        .unwrap_or("")
}

async fn screen(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let s = svc::ScreeningInput {
        answers: Screening {
            fever: has(&f, "fever"),
            acute_illness: has(&f, "acute_illness"),
            severe_allergy: has(&f, "severe_allergy"),
            immunodeficiency: has(&f, "immunodeficiency"),
            neurological: has(&f, "neurological"),
            notes: val(&f, "notes").to_string(),
        },
        return_date: val(&f, "return_date").to_string(),
    };
    let v = svc::screen(&st, &who, &id, s).await?;
    Ok(back(&v.clinic_code, "registration"))
}

async fn register(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let r = svc::Registration {
        products: f
            .iter()
            .filter(|(k, _)| k == "products")
            .map(|(_, v)| v.clone())
            .collect(),
        consent_by: val(&f, "consent_by").to_string(),
    };
    let v = svc::register(&st, &who, &id, r).await?;
    Ok(back(&v.clinic_code, "vaccination"))
}

async fn vaccinate(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let doses = f
        .iter()
        .filter(|(k, _)| k == "product")
        .map(|(_, code)| svc::VaccinationDose {
            product_code: code.clone(),
            lot_no: val(&f, &format!("lot_{code}")).to_string(),
            site: val(&f, &format!("site_{code}")).to_string(),
            route: val(&f, &format!("route_{code}")).to_string(),
        })
        .collect();
    let (v, _) = svc::vaccinate(
        &st,
        &who,
        &id,
        svc::VaccinationInput {
            doses,
            vaccinator: val(&f, "vaccinator").to_string(),
        },
    )
    .await?;
    Ok(back(&v.clinic_code, "observation"))
}

async fn leave(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let v = svc::leave(&st, &who, &id).await?;
    Ok(back(&v.clinic_code, "observation"))
}

/// The module's small script (observation timers, the board's live reload), cached for a year
/// under the versioned URL the pages use.
async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=31536000, immutable",
            ),
        ],
        include_str!("../static/vaccination.js"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "vacc_coverage.html")]
struct CoveragePage {
    shell: Shell,
    places: Vec<svc::PlaceCoverage>,
}

async fn coverage_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let places = svc::coverage(&st, &who).await?;
    render(&CoveragePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        places,
    })
}
