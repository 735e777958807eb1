//! The vaccination JSON API under `/api/v1/vaccination`: the same operations as the pages.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{self, ImportReport};
use tianshan_platform::web::PageCtx;
use tianshan_platform::{ApiRouter, AppError, Msg, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::domain;
use crate::service::{self as svc, *};
use crate::store::{AefiRow, AlertRow, DeviceRow, DoseRow, LotRow, ProductRow, VisitRow};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(list_lots, receive_lot))
        .routes(routes!(decide_lot))
        .routes(routes!(adjust_lot))
        .routes(routes!(record_dose, list_doses))
        .routes(routes!(import_doses))
        .routes(routes!(export_doses))
        .routes(routes!(child_record))
        .routes(routes!(check_in))
        .routes(routes!(get_visit))
        .routes(routes!(screen))
        .routes(routes!(register))
        .routes(routes!(vaccinate))
        .routes(routes!(leave))
        .routes(routes!(board))
        .routes(routes!(report_aefi, list_aefi))
        .routes(routes!(export_aefi))
        .routes(routes!(list_alerts))
        .routes(routes!(list_devices, create_device))
        .routes(routes!(get_device))
        .routes(routes!(add_reading))
        .routes(routes!(review_device))
        .merge(crate::api_followup::routes())
        .merge(crate::api_vials::routes())
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

#[derive(Serialize, ToSchema)]
struct Products {
    products: Vec<ProductRow>,
}

/// The vaccine products (code, Chinese and English names, CVX, route).
#[utoipa::path(get, path = "/api/v1/vaccination/products", tag = "vaccination",
    responses((status = 200, body = Products)), security(("bearer" = [])))]
async fn list_products(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Products>, AppError> {
    who.require(perms::READ)?;
    Ok(Json(Products {
        products: svc::products(&st).await?.to_vec(),
    }))
}

#[derive(Serialize, ToSchema)]
struct Lots {
    lots: Vec<LotRow>,
}

/// Vaccine lots of the caller's area with their counts and status.
#[utoipa::path(get, path = "/api/v1/vaccination/lots", tag = "vaccination",
    responses((status = 200, body = Lots), (status = 403, body = ApiError)), security(("bearer" = [])))]
async fn list_lots(State(st): State<Platform>, who: Principal) -> Result<Json<Lots>, AppError> {
    Ok(Json(Lots {
        lots: svc::lots(&st, &who).await?,
    }))
}

/// Receive a lot at a clinic of the caller's own area (a receipt movement). 422 on a bad
/// product, date or quantity; 409 when the clinic already holds that lot number.
#[utoipa::path(post, path = "/api/v1/vaccination/lots", tag = "vaccination", request_body = LotInput,
    responses((status = 201, body = LotRow), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)), security(("bearer" = [])))]
async fn receive_lot(
    State(st): State<Platform>,
    who: Principal,
    Json(i): Json<LotInput>,
) -> Result<Response, AppError> {
    Ok(created(svc::receive_lot(&st, &who, i).await?))
}

#[derive(Deserialize, ToSchema)]
struct Decision {
    decision: LotDecision,
    reason: String,
}

/// Release (after review), discard or recall a lot, with a reason.
#[utoipa::path(post, path = "/api/v1/vaccination/lots/{id}/decision", tag = "vaccination",
    params(("id" = String, Path, description = "Lot id")), request_body = Decision,
    responses((status = 200, body = LotRow), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn decide_lot(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(d): Json<Decision>,
) -> Result<Json<LotRow>, AppError> {
    Ok(Json(
        svc::decide_lot(&st, &who, &id, d.decision, &d.reason).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct Adjustment {
    /// wastage, adjustment, issue, receipt.
    kind: String,
    /// Doses added (positive) or removed (negative).
    delta: i64,
    reason: String,
}

/// Wastage (opened vials), issue to another clinic, or a count adjustment; never below zero (409).
#[utoipa::path(post, path = "/api/v1/vaccination/lots/{id}/adjust", tag = "vaccination",
    params(("id" = String, Path, description = "Lot id")), request_body = Adjustment,
    responses((status = 200, body = LotRow), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn adjust_lot(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(a): Json<Adjustment>,
) -> Result<Json<LotRow>, AppError> {
    Ok(Json(
        svc::adjust_lot(&st, &who, &id, a.delta, &a.kind, &a.reason).await?,
    ))
}

/// Record a dose: given here (the lot must be usable; the stock is taken in the same
/// transaction; 409 for an expired, quarantined, recalled or empty lot) or given elsewhere
/// (`elsewhere: true`, from a vaccination card). A child out of scope answers 404.
#[utoipa::path(post, path = "/api/v1/vaccination/doses", tag = "vaccination", request_body = DoseInput,
    responses((status = 201, body = DoseRow), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)), security(("bearer" = [])))]
async fn record_dose(
    State(st): State<Platform>,
    who: Principal,
    Json(i): Json<DoseInput>,
) -> Result<Response, AppError> {
    Ok(created(svc::record_dose(&st, &who, &i).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DoseSearch {
    /// Patient id.
    patient: Option<String>,
    /// CVX code of the vaccine.
    cvx: Option<i64>,
    /// Given on or after (`YYYY-MM-DD`).
    from: Option<String>,
    /// Given on or before (`YYYY-MM-DD`).
    to: Option<String>,
    /// 1–500, default 100.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct Doses {
    doses: Vec<DoseRow>,
}

/// Doses of the caller's area, or of one child; newest first (audited).
#[utoipa::path(get, path = "/api/v1/vaccination/doses", tag = "vaccination", params(DoseSearch),
    responses((status = 200, body = Doses), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn list_doses(
    State(st): State<Platform>,
    who: Principal,
    Query(q): Query<DoseSearch>,
) -> Result<Json<Doses>, AppError> {
    let q = DoseQuery {
        patient: q.patient,
        cvx: q.cvx,
        from: q.from,
        to: q.to,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(Doses {
        doses: svc::search_doses(&st, &who, &q).await?,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// The file's name (`doses.csv`, `doses.xlsx`); XLSX is also recognised by its content.
    #[serde(default)]
    filename: String,
    /// Write the good rows and skip the bad ones (otherwise a file with a bad row writes nothing).
    #[serde(default)]
    skip_bad: bool,
}

/// Import doses given elsewhere from a CSV or XLSX file (the body). Columns: `patient_id`,
/// `product_code` or `cvx`, `given_on`, optional `lot_no`, `site`, `route`, `vaccinator`,
/// `org_code` (an export's file is accepted as it is). Every row is checked first; errors name
/// the row number. 422 with the report when refused; 200 with the report when written.
#[utoipa::path(post, path = "/api/v1/vaccination/doses/import", tag = "vaccination", params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "CSV (UTF-8 or GB18030) or XLSX"),
    responses((status = 200, body = ImportReport), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 422, body = ImportReport)),
    security(("bearer" = [])))]
async fn import_doses(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let name = if p.filename.is_empty() {
        "doses.csv"
    } else {
        p.filename.as_str()
    };
    let mut report = svc::import_doses(&st, &who, &body, name, p.skip_bad).await?;
    report.localise(&ctx.t);
    let status = if report.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    format: String,
    patient: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The dose register of the caller's area (or one child) as CSV or XLSX (audited as an export).
#[utoipa::path(get, path = "/api/v1/vaccination/doses/export", tag = "vaccination", params(ExportParams),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn export_doses(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<ExportParams>,
) -> Result<Response, AppError> {
    let q = DoseQuery {
        patient: p.patient,
        from: p.from,
        to: p.to,
        limit: 500,
        ..Default::default()
    };
    let rows = svc::export_doses(&st, &who, &q).await?;
    Ok(if p.format == "xlsx" {
        tabular::download(
            "doses.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("doses", &DOSE_COLUMNS, &rows)?,
        )
    } else {
        tabular::download(
            "doses.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&DOSE_COLUMNS, &rows),
        )
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AsOf {
    /// Assessment date `YYYY-MM-DD` (today by default).
    as_of: Option<String>,
}

/// A child's doses, each valid or not (with the reasons), and the due list from the forecast
/// engine: due, overdue, not yet due, with earliest and recommended dates and the products.
#[utoipa::path(get, path = "/api/v1/vaccination/children/{id}", tag = "vaccination",
    params(("id" = String, Path, description = "Patient id"), AsOf),
    responses((status = 200, body = ChildRecord), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn child_record(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<ChildRecord>, AppError> {
    let as_of = match q.as_of.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            domain::parse_date(s)
                .ok_or_else(|| AppError::invalid("as_of", Msg::new("vacc.err.date")))?,
        ),
    };
    Ok(Json(svc::child_record(&st, &who, &id, as_of).await?))
}

/// Check a child in at a clinic: today's next queue number.
#[utoipa::path(post, path = "/api/v1/vaccination/visits", tag = "vaccination", request_body = CheckIn,
    responses((status = 201, body = VisitRow), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn check_in(
    State(st): State<Platform>,
    who: Principal,
    Json(i): Json<CheckIn>,
) -> Result<Response, AppError> {
    Ok(created(svc::check_in(&st, &who, &i).await?))
}

/// One visit.
#[utoipa::path(get, path = "/api/v1/vaccination/visits/{id}", tag = "vaccination",
    params(("id" = String, Path, description = "Visit id")),
    responses((status = 200, body = VisitRow), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_visit(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<VisitRow>, AppError> {
    Ok(Json(svc::visit(&st, &who, &id).await?))
}

/// Health screening: a contraindication defers the visit (a return date is required).
/// 409 when the visit is not waiting for screening.
#[utoipa::path(post, path = "/api/v1/vaccination/visits/{id}/screening", tag = "vaccination",
    params(("id" = String, Path, description = "Visit id")), request_body = ScreeningInput,
    responses((status = 200, body = VisitRow), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn screen(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(s): Json<ScreeningInput>,
) -> Result<Json<VisitRow>, AppError> {
    Ok(Json(svc::screen(&st, &who, &id, s).await?))
}

/// Registration: the doses chosen from the due list and the guardian's consent.
#[utoipa::path(post, path = "/api/v1/vaccination/visits/{id}/registration", tag = "vaccination",
    params(("id" = String, Path, description = "Visit id")), request_body = Registration,
    responses((status = 200, body = VisitRow), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn register(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(r): Json<Registration>,
) -> Result<Json<VisitRow>, AppError> {
    Ok(Json(svc::register(&st, &who, &id, r).await?))
}

#[derive(Serialize, ToSchema)]
struct Vaccinated {
    visit: VisitRow,
    doses: Vec<DoseRow>,
}

/// Vaccination: the doses (lot, site, route), the stock taken and the observation started, in
/// one transaction. 409 when a lot is expired, quarantined, recalled or empty.
#[utoipa::path(post, path = "/api/v1/vaccination/visits/{id}/vaccination", tag = "vaccination",
    params(("id" = String, Path, description = "Visit id")), request_body = VaccinationInput,
    responses((status = 200, body = Vaccinated), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn vaccinate(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(i): Json<VaccinationInput>,
) -> Result<Json<Vaccinated>, AppError> {
    let (visit, doses) = svc::vaccinate(&st, &who, &id, i).await?;
    Ok(Json(Vaccinated { visit, doses }))
}

/// The child leaves observation (flagged when before 30 minutes); the next appointment is set.
#[utoipa::path(post, path = "/api/v1/vaccination/visits/{id}/leave", tag = "vaccination",
    params(("id" = String, Path, description = "Visit id")),
    responses((status = 200, body = VisitRow), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn leave(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<VisitRow>, AppError> {
    Ok(Json(svc::leave(&st, &who, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct Board {
    visits: Vec<BoardLine>,
}

/// Today's queue of a clinic: each child's station and observation time left.
#[utoipa::path(get, path = "/api/v1/vaccination/clinics/{code}/board", tag = "vaccination",
    params(("code" = String, Path, description = "Clinic organisation code")),
    responses((status = 200, body = Board), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn board(
    State(st): State<Platform>,
    who: Principal,
    Path(code): Path<String>,
) -> Result<Json<Board>, AppError> {
    Ok(Json(Board {
        visits: svc::board(&st, &who, &code).await?,
    }))
}

/// Report an adverse event following immunization (WHO core variables). A serious one raises
/// an alert for the county at once.
#[utoipa::path(post, path = "/api/v1/vaccination/aefi", tag = "vaccination", request_body = AefiInput,
    responses((status = 201, body = AefiRow), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn report_aefi(
    State(st): State<Platform>,
    who: Principal,
    Json(i): Json<AefiInput>,
) -> Result<Response, AppError> {
    Ok(created(svc::report_aefi(&st, &who, i).await?))
}

#[derive(Serialize, ToSchema)]
struct AefiList {
    reports: Vec<AefiRow>,
}

/// AEFI reports of the caller's area (audited).
#[utoipa::path(get, path = "/api/v1/vaccination/aefi", tag = "vaccination",
    responses((status = 200, body = AefiList), (status = 403, body = ApiError)), security(("bearer" = [])))]
async fn list_aefi(State(st): State<Platform>, who: Principal) -> Result<Json<AefiList>, AppError> {
    Ok(Json(AefiList {
        reports: svc::aefi_list(&st, &who).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct Alerts {
    alerts: Vec<AlertRow>,
}

/// Alerts (serious AEFI, cold-chain excursions) of the caller's area and county.
#[utoipa::path(get, path = "/api/v1/vaccination/alerts", tag = "vaccination",
    responses((status = 200, body = Alerts), (status = 403, body = ApiError)), security(("bearer" = [])))]
async fn list_alerts(State(st): State<Platform>, who: Principal) -> Result<Json<Alerts>, AppError> {
    Ok(Json(Alerts {
        alerts: svc::alerts(&st, &who).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct Devices {
    devices: Vec<DeviceRow>,
}

/// Refrigerators and freezers of the caller's area.
#[utoipa::path(get, path = "/api/v1/vaccination/devices", tag = "vaccination",
    responses((status = 200, body = Devices), (status = 403, body = ApiError)), security(("bearer" = [])))]
async fn list_devices(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Devices>, AppError> {
    Ok(Json(Devices {
        devices: svc::devices(&st, &who).await?,
    }))
}

/// Register a refrigerator or freezer with its safe range and excursion threshold.
#[utoipa::path(post, path = "/api/v1/vaccination/devices", tag = "vaccination", request_body = DeviceInput,
    responses((status = 201, body = DeviceRow), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn create_device(
    State(st): State<Platform>,
    who: Principal,
    Json(i): Json<DeviceInput>,
) -> Result<Response, AppError> {
    Ok(created(svc::create_device(&st, &who, i).await?))
}

/// A device with its last 500 readings, excursions and the lots stored in it.
#[utoipa::path(get, path = "/api/v1/vaccination/devices/{id}", tag = "vaccination",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceDetail), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_device(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<DeviceDetail>, AppError> {
    Ok(Json(svc::device_detail(&st, &who, &id).await?))
}

/// A temperature reading. One already stored for that instant is not counted again; late
/// readings fall into place. 422 for a time that is not RFC 3339 or an impossible temperature.
#[utoipa::path(post, path = "/api/v1/vaccination/devices/{id}/readings", tag = "vaccination",
    params(("id" = String, Path, description = "Device id")), request_body = ReadingInput,
    responses((status = 200, body = ReadingOutcome), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn add_reading(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(r): Json<ReadingInput>,
) -> Result<Json<ReadingOutcome>, AppError> {
    Ok(Json(svc::add_reading(&st, &who, &id, &r).await?))
}

/// A person reviewed the device after an excursion: it counts afresh. The quarantined lots are
/// released or discarded one by one.
#[utoipa::path(post, path = "/api/v1/vaccination/devices/{id}/review", tag = "vaccination",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceRow), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn review_device(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<DeviceRow>, AppError> {
    Ok(Json(svc::review_device(&st, &who, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AefiExport {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    format: String,
}

/// AEFI reports of the caller's area as CSV or XLSX, for reporting upwards (audited).
#[utoipa::path(get, path = "/api/v1/vaccination/aefi/export", tag = "vaccination", params(AefiExport),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn export_aefi(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<AefiExport>,
) -> Result<Response, AppError> {
    let rows = svc::aefi_list(&st, &who).await?;
    const COLS: [&str; 12] = [
        "id",
        "patient_id",
        "dose_id",
        "lot_id",
        "onset",
        "symptoms",
        "severity",
        "treatment",
        "outcome",
        "serious",
        "reported_by",
        "reported_at",
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|a| {
            vec![
                a.id,
                a.patient_id,
                a.dose_id.unwrap_or_default(),
                a.lot_id.unwrap_or_default(),
                a.onset,
                a.symptoms,
                a.severity,
                a.treatment,
                a.outcome,
                a.serious.to_string(),
                a.reported_by,
                a.reported_at,
            ]
        })
        .collect();
    Ok(if p.format == "xlsx" {
        tabular::download(
            "aefi.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("aefi", &COLS, &rows)?,
        )
    } else {
        tabular::download("aefi.csv", tabular::CSV_TYPE, tabular::to_csv(&COLS, &rows))
    })
}
