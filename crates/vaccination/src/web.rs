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
        .route("/vaccination/devices/{id}", get(device_page))
        .route("/vaccination/devices/{id}/review", post(review_device))
        .route("/vaccination/lots/{id}/decision", post(decide_lot))
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
    /// Lots expiring before this day are flagged.
    soon: String,
}

#[derive(Deserialize, Default)]
struct HomeQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    aefi: String,
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
        soon: crate::domain::date_text(st.clock.now().date() + time::Duration::days(30)),
    })
}

#[derive(Template)]
#[template(path = "vacc_child.html")]
struct ChildPage {
    shell: Shell,
    r: ChildRecord,
    clinic: String,
    aefi: String,
    residence: Vec<crate::store::ResidenceRow>,
    reminders: Vec<svc::ReminderView>,
    today: String,
}

async fn child_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(hq): Query<HomeQuery>,
) -> Result<Response, AppError> {
    let r = svc::child_record(&st, &who, &id, None).await?;
    let residence = svc::residence(&st, &who, &r.patient_id).await?;
    let reminders = svc::child_reminders(&st, &who, &r.patient_id).await?;
    render(&ChildPage {
        residence,
        reminders,
        today: crate::domain::date_text(st.clock.now().date()),
        shell: Shell::new(ctx, &st, Some(&who)),
        r,
        clinic: hq.clinic,
        aefi: hq.aefi,
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

/// One point of the temperature chart (SVG coordinates) and whether it is out of range.
pub struct Point {
    pub x: i64,
    pub y: i64,
    pub out: bool,
    pub label: String,
}

#[derive(Template)]
#[template(path = "vacc_device.html")]
struct DevicePage {
    shell: Shell,
    d: svc::DeviceDetail,
    points: Vec<Point>,
    line: String,
    band: (i64, i64),
    can_stock: bool,
    range: String,
    excursions: Vec<String>,
}

fn celsius(tenths: i64) -> String {
    format!("{:.1}", tenths as f64 / 10.0)
}

const CHART_W: i64 = 600;
const CHART_H: i64 = 200;

async fn device_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let d = svc::device_detail(&st, &who, &id).await?;
    // Scale: the safe range with 6 °C of margin, or the readings' extremes if wider.
    let lo = d
        .readings
        .iter()
        .map(|r| r.tenths)
        .min()
        .unwrap_or(0)
        .min(d.device.min_tenths - 60);
    let hi = d
        .readings
        .iter()
        .map(|r| r.tenths)
        .max()
        .unwrap_or(0)
        .max(d.device.max_tenths + 60);
    let span = (hi - lo).max(1);
    let y = |t: i64| CHART_H - (t - lo) * CHART_H / span;
    let n = d.readings.len().max(2) as i64 - 1;
    let points: Vec<Point> = d
        .readings
        .iter()
        .enumerate()
        .map(|(i, r)| Point {
            x: i as i64 * CHART_W / n,
            y: y(r.tenths),
            out: r.tenths < d.device.min_tenths || r.tenths > d.device.max_tenths,
            label: format!("{} {:.1}", r.at, r.tenths as f64 / 10.0),
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let band = (
        y(d.device.max_tenths),
        y(d.device.min_tenths) - y(d.device.max_tenths),
    );
    let range = format!(
        "{} – {} °C",
        celsius(d.device.min_tenths),
        celsius(d.device.max_tenths)
    );
    let excursions = d
        .excursions
        .iter()
        .map(|e| {
            format!(
                "{} · {} min · {} °C",
                e.started_at,
                e.minutes,
                celsius(e.extreme_tenths)
            )
        })
        .collect();
    render(&DevicePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        can_stock: who.can(perms::STOCK),
        range,
        excursions,
        d,
        points,
        line,
        band,
    })
}

async fn review_device(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    svc::review_device(&st, &who, &id).await?;
    Ok(Redirect::to(&format!("/vaccination/devices/{id}")).into_response())
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

async fn decide_lot(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let decision = match f.decision.as_str() {
        "release" => svc::LotDecision::Release,
        "discard" => svc::LotDecision::Discard,
        "recall" => svc::LotDecision::Recall,
        _ => {
            return Err(AppError::invalid(
                "decision",
                tianshan_platform::Msg::new("vacc.err.lot_state"),
            ))
        }
    };
    let lot = svc::decide_lot(&st, &who, &id, decision, &f.reason).await?;
    let back = match lot.device_id {
        Some(d) if f.back.is_empty() => format!("/vaccination/devices/{d}"),
        _ => "/vaccination".to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}
