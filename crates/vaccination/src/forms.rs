//! Pages for the stock clerk and the nurse beyond the clinic day: receiving a lot from the
//! county, adjusting a count or recording wastage with a reason, and filing an adverse event
//! report (WHO core variables). They use the same services as the JSON API.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Msg, Platform};
use tianshan_registry::facade;

use crate::service::{self as svc, perms};
use crate::store::{DeviceRow, LotRow, ProductRow};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/vaccination/stock", get(stock_page).post(receive))
        .route(
            "/vaccination/stock/lots/{id}/adjust",
            axum::routing::post(adjust),
        )
        .route(
            "/vaccination/children/{id}/aefi",
            get(aefi_page).post(aefi_post),
        )
        .route(
            "/vaccination/children/{id}/residence",
            axum::routing::post(residence_post),
        )
        .route(
            "/vaccination/children/{id}/birth-facility",
            axum::routing::post(birth_facility_post),
        )
        .route("/vaccination/overdue", get(overdue_page))
        .route("/vaccination/overdue.csv", get(overdue_csv))
        .route("/vaccination/overdue.xlsx", get(overdue_xlsx))
        .route(
            "/vaccination/overdue/reminders",
            axum::routing::post(reminders_post),
        )
}

/// Adjustment kinds offered on the page (a receipt is a new lot).
pub const KINDS: [&str; 3] = ["wastage", "adjustment", "issue"];
pub const SEVERITIES: [&str; 3] = ["mild", "moderate", "severe"];
pub const OUTCOMES: [&str; 6] = [
    "recovered",
    "recovering",
    "not_recovered",
    "sequelae",
    "died",
    "unknown",
];

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "vacc_stock.html")]
struct StockPage {
    shell: Shell,
    clinics: Vec<(String, String)>,
    products: Vec<ProductRow>,
    devices: Vec<DeviceRow>,
    lots: Vec<LotRow>,
    open_vials: Vec<crate::store::VialRow>,
    kinds: Vec<&'static str>,
    done: bool,
}

async fn stock_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    who.require(perms::STOCK)?;
    let locale = ctx.t.locale;
    let clinics = facade::scope_orgs(&st, &who, 500)
        .await?
        .into_iter()
        .filter(|o| o.kind == "clinic")
        .map(|o| (o.code.clone(), o.name(locale).to_string()))
        .collect();
    let products = svc::products(&st).await?.as_ref().clone();
    let devices = svc::devices(&st, &who).await?;
    let lots = svc::lots(&st, &who).await?;
    let open_vials = svc::open_vials(&st, &who).await?;
    render(&StockPage {
        open_vials,
        shell: Shell::new(ctx, &st, Some(&who)),
        clinics,
        products,
        devices,
        lots,
        kinds: KINDS.to_vec(),
        done: !q.done.is_empty(),
    })
}

fn number(field: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .trim_start_matches('+')
        .replace('−', "-")
        .parse::<i64>()
        .map_err(|_| AppError::invalid(field, Msg::new("vacc.err.quantity")))
}

#[derive(Deserialize, Default)]
struct ReceiveForm {
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    product_code: String,
    #[serde(default)]
    lot_no: String,
    #[serde(default)]
    manufacturer: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    doses_per_vial: String,
    #[serde(default)]
    device_id: String,
    #[serde(default)]
    open_policy: String,
    #[serde(default)]
    open_hours: String,
}

async fn receive(
    State(st): State<Platform>,
    who: Principal,
    Form(f): Form<ReceiveForm>,
) -> Result<Response, AppError> {
    let quantity = number("quantity", &f.quantity)?;
    let doses_per_vial = if f.doses_per_vial.trim().is_empty() {
        1
    } else {
        number("doses_per_vial", &f.doses_per_vial)?
    };
    svc::receive_lot(
        &st,
        &who,
        svc::LotInput {
            org_code: f.org_code,
            product_code: f.product_code,
            lot_no: f.lot_no,
            manufacturer: f.manufacturer,
            expiry: f.expiry,
            quantity,
            doses_per_vial,
            device_id: Some(f.device_id).filter(|d| !d.is_empty()),
            open_hours: if f.open_hours.trim().is_empty() {
                0
            } else {
                number("open_hours", &f.open_hours)?
            },
            open_policy: f.open_policy,
        },
    )
    .await?;
    Ok(Redirect::to("/vaccination/stock?done=1").into_response())
}

#[derive(Deserialize, Default)]
struct AdjustForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    delta: String,
    #[serde(default)]
    reason: String,
}

async fn adjust(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<AdjustForm>,
) -> Result<Response, AppError> {
    if !KINDS.contains(&f.kind.as_str()) {
        return Err(AppError::invalid("kind", Msg::new("vacc.err.adjust")));
    }
    let mut delta = number("delta", &f.delta)?;
    // Wastage and issues take doses out: a nurse types the count, not its sign.
    if f.kind != "adjustment" {
        delta = -delta.abs();
    }
    if f.reason.chars().count() > 500 {
        return Err(AppError::invalid("reason", Msg::new("vacc.err.reason")));
    }
    svc::adjust_lot(&st, &who, &id, delta, &f.kind, &f.reason).await?;
    Ok(Redirect::to("/vaccination/stock?done=1").into_response())
}

#[derive(Template)]
#[template(path = "vacc_aefi.html")]
struct AefiPage {
    shell: Shell,
    r: svc::ChildRecord,
    today: String,
    severities: Vec<&'static str>,
    outcomes: Vec<&'static str>,
}

async fn aefi_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(perms::ADMINISTER)?;
    let r = svc::child_record(&st, &who, &id, None).await?;
    render(&AefiPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        r,
        today: crate::domain::date_text(st.clock.now().date()),
        severities: SEVERITIES.to_vec(),
        outcomes: OUTCOMES.to_vec(),
    })
}

#[derive(Deserialize, Default)]
struct AefiForm {
    #[serde(default)]
    dose_id: String,
    #[serde(default)]
    onset: String,
    #[serde(default)]
    symptoms: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    serious: String,
}

async fn aefi_post(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<AefiForm>,
) -> Result<Response, AppError> {
    let row = svc::report_aefi(
        &st,
        &who,
        svc::AefiInput {
            patient_id: id.clone(),
            dose_id: Some(f.dose_id).filter(|d| !d.is_empty()),
            onset: f.onset,
            symptoms: f.symptoms,
            severity: f.severity,
            treatment: f.treatment,
            outcome: f.outcome,
            serious: !f.serious.is_empty(),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/vaccination/children/{id}?aefi={}", row.id)).into_response())
}

#[derive(Deserialize, Default)]
struct ResidenceForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    note: String,
}

async fn residence_post(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ResidenceForm>,
) -> Result<Response, AppError> {
    svc::set_residence(&st, &who, &id, &f.status, &f.since, &f.note).await?;
    Ok(Redirect::to(&format!("/vaccination/children/{id}")).into_response())
}

#[derive(Deserialize, Default)]
struct OverdueQuery {
    #[serde(default)]
    org: String,
}

#[derive(Template)]
#[template(path = "vacc_overdue.html")]
struct OverduePage {
    shell: Shell,
    places: Vec<(String, String)>,
    org: String,
    groups: Vec<svc::OverduePlace>,
    reminders: Vec<svc::ReminderView>,
}

/// Villages (and other places below a township) of the caller's area, for the chooser.
async fn places(
    st: &Platform,
    who: &Principal,
    locale: tianshan_platform::i18n::Locale,
) -> Result<Vec<(String, String)>, AppError> {
    Ok(facade::scope_orgs(st, who, 500)
        .await?
        .into_iter()
        .filter(|o| o.kind == "village" || o.kind == "township")
        .map(|o| (o.code.clone(), o.name(locale).to_string()))
        .collect())
}

async fn overdue_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<OverdueQuery>,
) -> Result<Response, AppError> {
    who.require(perms::READ)?;
    let places = places(&st, &who, ctx.t.locale).await?;
    // A village doctor (or township) user sees their own place's list without choosing.
    let org = match q.org.trim() {
        "" => who
            .scope_code
            .clone()
            .filter(|c| places.iter().any(|p| &p.0 == c))
            .unwrap_or_default(),
        o => o.to_string(),
    };
    let (groups, reminders) = if org.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (
            svc::overdue_by_village(&st, &who, &org, ctx.t.locale).await?,
            svc::reminders(&st, &who, &org).await?,
        )
    };
    render(&OverduePage {
        shell: Shell::new(ctx, &st, Some(&who)),
        places,
        org,
        groups,
        reminders,
    })
}

/// Columns of the overdue file: one line per child, with the village (the list it belongs
/// to) and its village doctor(s).
const OVERDUE_COLS: [&str; 10] = [
    "village",
    "village_doctors",
    "patient_id",
    "name",
    "birth_date",
    "org_code",
    "guardian",
    "guardian_phone",
    "residence",
    "overdue",
];

async fn overdue_rows(
    st: &Platform,
    who: &Principal,
    org: &str,
    locale: tianshan_platform::i18n::Locale,
) -> Result<Vec<Vec<String>>, AppError> {
    let groups = svc::overdue_by_village(st, who, org, locale).await?;
    Ok(groups
        .into_iter()
        .flat_map(|g| {
            let doctors = g
                .doctors
                .iter()
                .map(|d| {
                    if d.title.is_empty() {
                        d.name.clone()
                    } else {
                        format!("{} ({})", d.name, d.title)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let village = g.name;
            g.children.into_iter().map(move |c| {
                vec![
                    village.clone(),
                    doctors.clone(),
                    c.patient_id,
                    c.name,
                    c.birth_date,
                    c.org_code,
                    c.guardian,
                    c.guardian_phone,
                    c.residence,
                    c.overdue.join("; "),
                ]
            })
        })
        .collect())
}

async fn overdue_csv(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<OverdueQuery>,
) -> Result<Response, AppError> {
    use tianshan_platform::tabular;
    let rows = overdue_rows(&st, &who, &q.org, ctx.t.locale).await?;
    Ok(tabular::download(
        "overdue.csv",
        tabular::CSV_TYPE,
        tabular::to_csv(&OVERDUE_COLS, &rows),
    ))
}

async fn overdue_xlsx(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<OverdueQuery>,
) -> Result<Response, AppError> {
    use tianshan_platform::tabular;
    let rows = overdue_rows(&st, &who, &q.org, ctx.t.locale).await?;
    Ok(tabular::download(
        "overdue.xlsx",
        tabular::XLSX_TYPE,
        tabular::to_xlsx("overdue", &OVERDUE_COLS, &rows)?,
    ))
}

#[derive(Deserialize, Default)]
struct RemindForm {
    #[serde(default)]
    org: String,
}

async fn reminders_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<RemindForm>,
) -> Result<Response, AppError> {
    svc::send_reminders(&st, &who, &f.org, &ctx.t).await?;
    Ok(Redirect::to(&format!("/vaccination/overdue?org={}", f.org.trim())).into_response())
}

#[derive(Deserialize, Default)]
struct BirthFacilityForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

async fn birth_facility_post(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<BirthFacilityForm>,
) -> Result<Response, AppError> {
    svc::set_birth_facility(&st, &who, &id, &f.code, &f.name).await?;
    Ok(Redirect::to(&format!("/vaccination/children/{id}")).into_response())
}
