//! The vaccination module's operations, shared by its pages, JSON API, FHIR Immunization and
//! the MQTT subscriber: each checks permission and scope, runs the domain rules and writes
//! through the platform's write path with its audit entry in the same transaction.
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tianshan_immunization::{forecast, Cvx, DoseAdministered, Gender, PatientHistory, Schedule};
use tianshan_platform::audit::{Action, ActionDef, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::{Permission, PermissionDef};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::{self, LotRefusal, LotStatus, Screening, VisitStatus};
use crate::store::{self, AefiRow, DeviceRow, DoseRow, LotRow, ProductRow, VisitRow};

pub mod perms {
    use super::Permission;
    /// See children's vaccination records, due lists, the clinic board, coverage.
    pub const READ: Permission = Permission("vaccination.read");
    /// Run the clinic day and record doses and adverse events.
    pub const ADMINISTER: Permission = Permission("vaccination.administer");
    /// Receive and adjust vaccine stock, manage cold-chain devices, release quarantined lots.
    pub const STOCK: Permission = Permission("vaccination.stock");
}

pub const DOSE: Action = Action("vaccination.dose");
pub const VISIT: Action = Action("vaccination.visit");
pub const STOCK: Action = Action("vaccination.stock");
pub const AEFI: Action = Action("vaccination.aefi");
pub const COLD_CHAIN: Action = Action("vaccination.cold_chain");
pub const RESIDENCE: Action = Action("vaccination.residence");

pub fn permissions() -> Vec<PermissionDef> {
    use tianshan_platform::scope::builtin::*;
    vec![
        PermissionDef {
            permission: perms::READ,
            label: "perm.vaccination.read",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL],
        },
        PermissionDef {
            permission: perms::ADMINISTER,
            label: "perm.vaccination.administer",
            default_roles: &[CLINICIAN, NURSE],
        },
        PermissionDef {
            permission: perms::STOCK,
            label: "perm.vaccination.stock",
            default_roles: &[COORDINATOR, NURSE],
        },
    ]
}

pub fn actions() -> Vec<ActionDef> {
    vec![
        ActionDef {
            action: DOSE,
            label: "audit.act.vaccination_dose",
        },
        ActionDef {
            action: VISIT,
            label: "audit.act.vaccination_visit",
        },
        ActionDef {
            action: STOCK,
            label: "audit.act.vaccination_stock",
        },
        ActionDef {
            action: AEFI,
            label: "audit.act.vaccination_aefi",
        },
        ActionDef {
            action: COLD_CHAIN,
            label: "audit.act.vaccination_cold_chain",
        },
        ActionDef {
            action: RESIDENCE,
            label: "audit.act.vaccination_residence",
        },
    ]
}

fn invalid(field: &str, key: &'static str) -> AppError {
    AppError::Invalid(vec![FieldError::new(field, Msg::new(key))])
}

fn today(st: &Platform) -> Date {
    st.clock.now().date()
}

/// The China programme schedule, loaded once from the forecast engine's embedded files.
pub fn schedule() -> Result<&'static Schedule, AppError> {
    static CHINA: OnceLock<Result<Schedule, String>> = OnceLock::new();
    CHINA
        .get_or_init(|| Schedule::china().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::Internal(e.clone()))
}

/// Products, cached per server (the table changes only by migration).
#[derive(Default)]
struct ProductCache(std::sync::Mutex<Option<Arc<Vec<ProductRow>>>>);

pub async fn products(st: &Platform) -> Result<Arc<Vec<ProductRow>>, AppError> {
    let cache = st.cache::<ProductCache>();
    if let Ok(g) = cache.0.lock() {
        if let Some(p) = g.as_ref() {
            return Ok(p.clone());
        }
    }
    let rows = Arc::new(store::products(&st.db).await?);
    if let Ok(mut g) = cache.0.lock() {
        *g = Some(rows.clone());
    }
    Ok(rows)
}

async fn product(st: &Platform, code: &str) -> Result<ProductRow, AppError> {
    products(st)
        .await?
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(code.trim()))
        .cloned()
        .ok_or_else(|| invalid("product", "vacc.err.product"))
}

/// An organisation the caller owns (a clinic they work in); others answer 404.
async fn owned_org(
    st: &Platform,
    who: &Principal,
    code: &str,
) -> Result<facade::OrgInfo, AppError> {
    let org = facade::org(st, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.scope.owns(&org.path) {
        return Err(AppError::NotFound);
    }
    Ok(org)
}

// ---------------------------------------------------------------- stock

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LotInput {
    /// The clinic or store receiving the lot (an organisation of the caller's own area).
    pub org_code: String,
    pub product_code: String,
    pub lot_no: String,
    #[serde(default)]
    pub manufacturer: String,
    /// `YYYY-MM-DD`.
    pub expiry: String,
    /// Doses received.
    pub quantity: i64,
    #[serde(default = "one")]
    pub doses_per_vial: i64,
    /// The refrigerator it is stored in.
    #[serde(default)]
    pub device_id: Option<String>,
}

fn one() -> i64 {
    1
}

/// Receive a lot from the county (a receipt stock movement).
pub async fn receive_lot(
    st: &Platform,
    who: &Principal,
    input: LotInput,
) -> Result<LotRow, AppError> {
    who.require(perms::STOCK)?;
    let org = owned_org(st, who, &input.org_code).await?;
    let p = product(st, &input.product_code).await?;
    let mut errs = Vec::new();
    let lot_no = input.lot_no.trim().to_string();
    if lot_no.is_empty() || lot_no.chars().count() > 40 {
        errs.push(FieldError::new("lot_no", Msg::new("vacc.err.lot_no")));
    }
    let expiry = domain::parse_date(&input.expiry);
    if expiry.is_none() {
        errs.push(FieldError::new("expiry", Msg::new("vacc.err.date")));
    }
    if !(1..=1_000_000).contains(&input.quantity) {
        errs.push(FieldError::new("quantity", Msg::new("vacc.err.quantity")));
    }
    if !(1..=20).contains(&input.doses_per_vial) {
        errs.push(FieldError::new(
            "doses_per_vial",
            Msg::new("vacc.err.quantity"),
        ));
    }
    if let Some(d) = input.device_id.as_deref().filter(|d| !d.is_empty()) {
        match store::device(&st.db, d).await? {
            Some(dev) if dev.org_code == org.code => {}
            _ => errs.push(FieldError::new("device_id", Msg::new("vacc.err.device"))),
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let now = st.clock.now_text();
    let lot = LotRow {
        id: uuid::Uuid::new_v4().to_string(),
        org_code: org.code,
        org_path: org.path,
        product_code: p.code,
        lot_no,
        manufacturer: input.manufacturer.trim().to_string(),
        expiry: expiry.map(domain::date_text).unwrap_or_default(),
        doses_per_vial: input.doses_per_vial,
        device_id: input.device_id.filter(|d| !d.is_empty()),
        quantity: input.quantity,
        status: "active".into(),
        status_reason: String::new(),
        created_at: now.clone(),
        updated_at: now,
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_lot(tx, &lot).await?;
            store::insert_move(
                tx,
                &lot.id,
                "receipt",
                lot.quantity,
                "",
                None,
                &who2.username,
            )
            .await?;
            let detail = format!(
                "receipt {} {} x{}",
                lot.product_code, lot.lot_no, lot.quantity
            );
            tx.record(
                &who2,
                Event::new(STOCK, "VaccineLot", &lot.id).detail(&detail),
            );
            Ok(lot)
        })
    })
    .await
}

/// Lots of the caller's area.
pub async fn lots(st: &Platform, who: &Principal) -> Result<Vec<LotRow>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    store::lots_in(&st.db, &lo, &hi, 2000).await
}

pub async fn lot(st: &Platform, who: &Principal, id: &str) -> Result<LotRow, AppError> {
    who.require(perms::READ)?;
    match store::lot(&st.db, id).await? {
        Some(l) if who.scope.covers(&l.org_path) => Ok(l),
        _ => Err(AppError::NotFound),
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LotDecision {
    /// A person reviewed a quarantined lot and found it usable.
    Release,
    /// Discard a quarantined or recalled lot: its doses leave the stock.
    Discard,
    /// The manufacturer or the county recalled the lot.
    Recall,
}

/// Release, discard or recall a lot (with a reason). Releasing the device's last quarantined
/// lot closes its excursion.
pub async fn decide_lot(
    st: &Platform,
    who: &Principal,
    id: &str,
    decision: LotDecision,
    reason: &str,
) -> Result<LotRow, AppError> {
    who.require(perms::STOCK)?;
    let l = lot(st, who, id).await?;
    if !who.scope.owns(&l.org_path) {
        return Err(AppError::NotFound);
    }
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(invalid("reason", "vacc.err.reason"));
    }
    let (from, to): (&[&str], &str) = match decision {
        LotDecision::Release => (&["quarantined"], "active"),
        LotDecision::Discard => (&["quarantined", "recalled", "active"], "discarded"),
        LotDecision::Recall => (&["active", "quarantined"], "recalled"),
    };
    if !from.contains(&l.status.as_str()) {
        return Err(AppError::Conflict(Msg::new("vacc.err.lot_state")));
    }
    let (id, who2) = (l.id.clone(), who.clone());
    let status = l.status.clone();
    st.write(move |tx| {
        Box::pin(async move {
            if !store::set_lot_status(tx, &id, &status, to, &reason).await? {
                return Err(AppError::Conflict(Msg::new("vacc.err.lot_state")));
            }
            let l = store::lot_tx(tx, &id).await?.ok_or(AppError::NotFound)?;
            if to == "discarded" && l.quantity > 0 {
                store::adjust_quantity(tx, &id, -l.quantity).await?;
                store::insert_move(
                    tx,
                    &id,
                    "discard",
                    -l.quantity,
                    &reason,
                    None,
                    &who2.username,
                )
                .await?;
            }
            let detail = format!("{status} -> {to}: {reason}");
            tx.record(&who2, Event::new(STOCK, "VaccineLot", &id).detail(&detail));
            store::lot_tx(tx, &id).await?.ok_or(AppError::NotFound)
        })
    })
    .await
}

/// Wastage (opened vials) or a count adjustment, with a reason; never below zero.
pub async fn adjust_lot(
    st: &Platform,
    who: &Principal,
    id: &str,
    delta: i64,
    kind: &str,
    reason: &str,
) -> Result<LotRow, AppError> {
    who.require(perms::STOCK)?;
    let l = lot(st, who, id).await?;
    if !who.scope.owns(&l.org_path) {
        return Err(AppError::NotFound);
    }
    if !matches!(kind, "wastage" | "adjustment" | "issue" | "receipt") || delta == 0 {
        return Err(invalid("kind", "vacc.err.adjust"));
    }
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(invalid("reason", "vacc.err.reason"));
    }
    let (id, who2, kind) = (l.id, who.clone(), kind.to_string());
    st.write(move |tx| {
        Box::pin(async move {
            if !store::adjust_quantity(tx, &id, delta).await? {
                return Err(AppError::Conflict(Msg::new("vacc.err.below_zero")));
            }
            store::insert_move(tx, &id, &kind, delta, &reason, None, &who2.username).await?;
            let detail = format!("{kind} {delta}: {reason}");
            tx.record(&who2, Event::new(STOCK, "VaccineLot", &id).detail(&detail));
            store::lot_tx(tx, &id).await?.ok_or(AppError::NotFound)
        })
    })
    .await
}

// ---------------------------------------------------------------- doses

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DoseInput {
    pub patient_id: String,
    /// Product code (`HepB`); may be left empty when the lot names it.
    #[serde(default)]
    pub product_code: String,
    /// The lot number as printed on the vial. For a dose given here it must name a lot of the
    /// caller's area; for one given elsewhere it is recorded as written.
    #[serde(default)]
    pub lot_no: String,
    /// `YYYY-MM-DD`; today when empty (a dose given here is always today).
    #[serde(default)]
    pub given_on: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub vaccinator: String,
    /// The dose was given elsewhere (entered from a vaccination card): no stock is taken.
    #[serde(default)]
    pub elsewhere: bool,
    /// The clinic where the dose is given (defaults to the lot's).
    #[serde(default)]
    pub org_code: String,
}

/// A dose checked against everything that can be checked by reading, ready to write.
pub struct PreparedDose {
    pub row: DoseRow,
}

const SITES: &[&str] = &["", "LD", "RD", "LT", "RT", "LA", "RA", "PO", "NS"];
const ROUTES: &[&str] = &["", "IM", "SC", "ID", "PO", "IN"];

/// Check a dose (permission, child in scope, product, lot found in the caller's area, dates).
/// The lot's state and count are checked again when written.
pub async fn prepare_dose(
    st: &Platform,
    who: &Principal,
    input: &DoseInput,
    source: &str,
) -> Result<PreparedDose, AppError> {
    who.require(perms::ADMINISTER)?;
    let child = facade::require_patient(st, who, input.patient_id.trim()).await?;
    let today = today(st);
    let mut errs = Vec::new();
    let given_on = if input.given_on.trim().is_empty() {
        Some(today)
    } else {
        domain::parse_date(&input.given_on)
    };
    match given_on {
        None => errs.push(FieldError::new("given_on", Msg::new("vacc.err.date"))),
        Some(d) if d > today => errs.push(FieldError::new("given_on", Msg::new("vacc.err.future"))),
        Some(d) if !input.elsewhere && d != today => {
            errs.push(FieldError::new("given_on", Msg::new("vacc.err.not_today")))
        }
        _ => {}
    }
    let site = input.site.trim().to_uppercase();
    if !SITES.contains(&site.as_str()) {
        errs.push(FieldError::new("site", Msg::new("vacc.err.site")));
    }
    let route = input.route.trim().to_uppercase();
    if !ROUTES.contains(&route.as_str()) {
        errs.push(FieldError::new("route", Msg::new("vacc.err.route")));
    }
    let lot_no = input.lot_no.trim().to_string();
    let mut lot: Option<LotRow> = None;
    let mut product_code = input.product_code.trim().to_string();
    if !input.elsewhere {
        if lot_no.is_empty() {
            errs.push(FieldError::new("lot_no", Msg::new("vacc.err.lot_no")));
        } else {
            let (lo, hi) = who.scope.path_range();
            let found = store::lots_by_number(&st.db, &lot_no, &lo, &hi).await?;
            let found: Vec<LotRow> = found
                .into_iter()
                .filter(|l| {
                    (product_code.is_empty() || l.product_code.eq_ignore_ascii_case(&product_code))
                        && (input.org_code.trim().is_empty() || l.org_code == input.org_code.trim())
                })
                .collect();
            match found.into_iter().next() {
                None => errs.push(FieldError::new("lot_no", Msg::new("vacc.err.lot_unknown"))),
                Some(l) => {
                    if product_code.is_empty() {
                        product_code = l.product_code.clone();
                    }
                    lot = Some(l);
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let p = product(st, &product_code).await?;
    if let Some(l) = &lot {
        let status = LotStatus::parse(&l.status).unwrap_or(LotStatus::Discarded);
        if let Err(r) = domain::check_lot(status, &l.expiry, l.quantity, today) {
            return Err(refusal(r, l));
        }
    }
    let now = st.clock.now_text();
    let route = if route.is_empty() && lot.is_some() {
        p.route.clone()
    } else {
        route
    };
    Ok(PreparedDose {
        row: DoseRow {
            id: uuid::Uuid::new_v4().to_string(),
            patient_id: child.id,
            patient_path: child.org_path,
            org_code: lot
                .as_ref()
                .map(|l| l.org_code.clone())
                .unwrap_or_else(|| input.org_code.trim().to_string()),
            product_code: p.code,
            cvx: p.cvx,
            lot_id: lot.as_ref().map(|l| l.id.clone()),
            lot_no,
            given_on: given_on.map(domain::date_text).unwrap_or_default(),
            site,
            route,
            vaccinator: if input.vaccinator.trim().is_empty() {
                who.display_name.clone()
            } else {
                input.vaccinator.trim().to_string()
            },
            source: source.to_string(),
            visit_id: None,
            status: "completed".into(),
            recorded_by: who.username.clone(),
            created_at: now,
        },
    })
}

fn refusal(r: LotRefusal, l: &LotRow) -> AppError {
    AppError::Conflict(Msg::new(r.key()).arg("lot", l.lot_no.clone()))
}

/// Write a prepared dose inside a transaction: the stock is taken in the same transaction,
/// and refused (409) when the lot went bad or empty meanwhile.
pub async fn write_dose(
    tx: &mut tianshan_platform::db::Tx,
    who: &Principal,
    d: &DoseRow,
    today: &str,
) -> Result<(), AppError> {
    if let Some(lot_id) = &d.lot_id {
        if !store::take_dose(tx, lot_id, today).await? {
            let l = store::lot_tx(tx, lot_id).await?.ok_or(AppError::NotFound)?;
            let status = LotStatus::parse(&l.status).unwrap_or(LotStatus::Discarded);
            let today = domain::parse_date(today).unwrap_or(Date::MIN);
            let r = domain::check_lot(status, &l.expiry, l.quantity, today)
                .err()
                .unwrap_or(LotRefusal::Empty);
            return Err(refusal(r, &l));
        }
    }
    store::insert_dose(tx, d).await?;
    if let Some(lot_id) = &d.lot_id {
        store::insert_move(tx, lot_id, "dose", -1, "", Some(&d.id), &who.username).await?;
    }
    let detail = format!("{} {} {}", d.product_code, d.lot_no, d.given_on);
    tx.record(
        who,
        Event::new(DOSE, "Immunization", &d.id)
            .patient(&d.patient_id)
            .detail(&detail),
    );
    Ok(())
}

/// Record one dose (given here from a lot of the caller's area, or elsewhere by hand).
pub async fn record_dose(
    st: &Platform,
    who: &Principal,
    input: &DoseInput,
) -> Result<DoseRow, AppError> {
    let source = if input.elsewhere { "manual" } else { "clinic" };
    let d = prepare_dose(st, who, input, source).await?.row;
    let who2 = who.clone();
    let today = domain::date_text(today(st));
    st.write(move |tx| {
        Box::pin(async move {
            write_dose(tx, &who2, &d, &today).await?;
            Ok(d)
        })
    })
    .await
}

/// One dose the caller may see (audited).
pub async fn dose(st: &Platform, who: &Principal, id: &str) -> Result<DoseRow, AppError> {
    who.require(perms::READ)?;
    let d = store::dose(&st.db, id).await?.ok_or(AppError::NotFound)?;
    // The registry decides (scope and shares) and audits the refusal.
    facade::require_patient(st, who, &d.patient_id).await?;
    st.audit(
        who,
        Event::new(Action::READ, "Immunization", &d.id).patient(&d.patient_id),
    )
    .await?;
    Ok(d)
}

#[derive(Debug, Clone, Default)]
pub struct DoseQuery {
    pub patient: Option<String>,
    pub cvx: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: i64,
}

/// Doses of children of the caller's area (or of one child, checked through the registry),
/// newest first; audited as a search listing the doses shown.
pub async fn search_doses(
    st: &Platform,
    who: &Principal,
    q: &DoseQuery,
) -> Result<Vec<DoseRow>, AppError> {
    who.require(perms::READ)?;
    for d in [&q.from, &q.to].into_iter().flatten() {
        if domain::parse_date(d).is_none() {
            return Err(invalid("date", "vacc.err.date"));
        }
    }
    if let Some(p) = &q.patient {
        facade::require_patient(st, who, p).await?;
    }
    let (lo, hi) = match &q.patient {
        // A child shared into the caller's area: its own doses, wherever registered.
        Some(_) => (String::new(), "\u{10FFFF}".to_string()),
        None => who.scope.path_range(),
    };
    let rows = store::search_doses(
        &st.db,
        &lo,
        &hi,
        q.patient.as_deref(),
        q.cvx,
        q.from.as_deref(),
        q.to.as_deref(),
        q.limit.clamp(1, 500),
    )
    .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} doses: {}", rows.len(), ids.join(" "));
    let mut ev = Event::new(Action::SEARCH, "Immunization", "").detail(&detail);
    if let Some(p) = &q.patient {
        ev = ev.patient(p);
    }
    st.audit(who, ev).await?;
    Ok(rows)
}

// ---------------------------------------------------------------- import and export

/// Columns of a dose file (import and export share them).
pub const DOSE_COLUMNS: [&str; 13] = [
    "dose_id",
    "patient_id",
    "name",
    "product_code",
    "product_name",
    "cvx",
    "given_on",
    "lot_no",
    "site",
    "route",
    "vaccinator",
    "org_code",
    "source",
];

/// Import doses given elsewhere from a CSV or XLSX file (columns `patient_id`, `product_code`
/// or `cvx`, `given_on`, and optionally `lot_no`, `site`, `route`, `vaccinator`, `org_code`).
/// Every row is checked first; a file with a bad row writes nothing unless `skip_bad`, and the
/// good rows are then written in one transaction.
pub async fn import_doses(
    st: &Platform,
    who: &Principal,
    bytes: &[u8],
    filename: &str,
    skip_bad: bool,
) -> Result<tianshan_platform::tabular::ImportReport, AppError> {
    use tianshan_platform::tabular;
    who.require(perms::ADMINISTER)?;
    let table = tabular::read(bytes, filename)?;
    table.require(&["patient_id", "given_on"])?;
    let products = products(st).await?;
    let mut report = tabular::ImportReport {
        rows: table.rows.len(),
        ..Default::default()
    };
    let mut good = Vec::new();
    for row in &table.rows {
        let get = |c: &str| table.get(row, c).to_string();
        let mut product = get("product_code");
        if product.is_empty() {
            let cvx = get("cvx");
            product = cvx
                .parse::<i64>()
                .ok()
                .and_then(|c| products.iter().find(|p| p.cvx == c))
                .map(|p| p.code.clone())
                .unwrap_or(cvx);
        }
        let input = DoseInput {
            patient_id: get("patient_id"),
            product_code: product,
            lot_no: get("lot_no"),
            given_on: get("given_on"),
            site: get("site"),
            route: get("route"),
            vaccinator: get("vaccinator"),
            elsewhere: true,
            org_code: get("org_code"),
        };
        let checked = if input.given_on.is_empty() {
            Err(invalid("given_on", "vacc.err.date"))
        } else {
            prepare_dose(st, who, &input, "import").await
        };
        match checked {
            Ok(p) => good.push(p.row),
            Err(AppError::Invalid(f)) => report.row_failed(row.number, f),
            Err(AppError::NotFound) => report.row_failed(
                row.number,
                vec![FieldError::new("patient_id", Msg::new("vacc.err.patient"))],
            ),
            Err(e) => return Err(e),
        }
    }
    let bad = report.bad_rows();
    if bad > 0 && !skip_bad {
        report.refused = true;
        return Ok(report);
    }
    report.skipped = bad;
    report.imported = good.len();
    let who2 = who.clone();
    let today = domain::date_text(today(st));
    let detail = format!(
        "{filename}: {} doses imported, {bad} rows skipped",
        good.len()
    );
    st.write(move |tx| {
        Box::pin(async move {
            for d in &good {
                write_dose(tx, &who2, d, &today).await?;
            }
            tx.record(
                &who2,
                Event::new(Action::IMPORT, "Immunization", "").detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    Ok(report)
}

/// The doses of a query as file rows ([`DOSE_COLUMNS`]), with the children's names; audited
/// as an export.
pub async fn export_doses(
    st: &Platform,
    who: &Principal,
    q: &DoseQuery,
) -> Result<Vec<Vec<String>>, AppError> {
    let rows = search_doses(st, who, q).await?;
    let mut ids: Vec<String> = rows.iter().map(|d| d.patient_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let people = facade::patients_by_ids(st, who, &ids).await?;
    let products = products(st).await?;
    let detail = format!("{} doses", rows.len());
    st.audit(
        who,
        Event::new(Action::EXPORT, "Immunization", "").detail(&detail),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            vec![
                d.id.clone(),
                d.patient_id.clone(),
                people
                    .iter()
                    .find(|p| p.id == d.patient_id)
                    .map(|p| p.full_name.clone())
                    .unwrap_or_default(),
                d.product_code.clone(),
                products
                    .iter()
                    .find(|p| p.code == d.product_code)
                    .map(|p| p.name_zh.clone())
                    .unwrap_or_default(),
                d.cvx.to_string(),
                d.given_on,
                d.lot_no,
                d.site,
                d.route,
                d.vaccinator,
                d.org_code,
                d.source,
            ]
        })
        .collect())
}

// ---------------------------------------------------------------- the child's record

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductName {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    pub vaccine_group: String,
    /// valid, not_valid, extraneous.
    pub status: String,
    /// Reason codes (`age_too_young`, `interval_too_soon`, ...).
    pub reasons: Vec<String>,
    pub dose_number: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoseView {
    #[serde(flatten)]
    pub dose: DoseRow,
    pub product_name_zh: String,
    pub evaluations: Vec<Evaluation>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueItem {
    pub vaccine_group: String,
    /// due, overdue, not_yet_due, complete, immune, contraindicated, not_recommended, aged_out.
    pub status: String,
    pub dose_number: Option<u32>,
    pub earliest: Option<String>,
    pub recommended: Option<String>,
    pub past_due: Option<String>,
    /// Products of the product table that fit the next dose.
    pub products: Vec<ProductName>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildRecord {
    pub patient_id: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub sex: String,
    pub guardian: String,
    pub guardian_phone: String,
    pub org_code: String,
    pub assessment_date: String,
    pub doses: Vec<DoseView>,
    pub due: Vec<DueItem>,
}

fn classify(status: &str, as_of: Date, earliest: Option<Date>, past_due: Option<Date>) -> String {
    if status != "not_complete" {
        return status.to_string();
    }
    if past_due.is_some_and(|p| as_of >= p) {
        "overdue".into()
    } else if earliest.is_some_and(|e| as_of >= e) {
        "due".into()
    } else {
        "not_yet_due".into()
    }
}

/// The engine's evaluation and forecast for a child's doses on `as_of`.
pub fn evaluate(
    products: &[ProductRow],
    birth: Date,
    sex: &str,
    doses: Vec<DoseRow>,
    as_of: Date,
) -> Result<(Vec<DoseView>, Vec<DueItem>), AppError> {
    let schedule = schedule()?;
    let mut history = PatientHistory::new(birth);
    history.gender = Gender::from_fhir(sex);
    for d in &doses {
        if let (Some(date), Ok(cvx)) = (domain::parse_date(&d.given_on), u16::try_from(d.cvx)) {
            history.doses.push(DoseAdministered {
                id: d.id.clone(),
                date,
                cvx: Cvx(cvx),
                mvx: None,
            });
        }
    }
    let f = forecast(schedule, &history, as_of);
    let name_of = |cvx: i64| products.iter().find(|p| p.cvx == cvx);
    let mut views = Vec::with_capacity(doses.len());
    for d in doses {
        let idx = history.doses.iter().position(|h| h.id == d.id);
        let mut evaluations: Vec<Evaluation> = Vec::new();
        if let Some(i) = idx {
            for e in f.evaluations.iter().filter(|e| e.dose == i) {
                if evaluations
                    .iter()
                    .any(|x| x.vaccine_group == e.vaccine_group)
                {
                    continue;
                }
                if let Some((status, reasons)) = f.dose_status(i, e.vaccine_group) {
                    evaluations.push(Evaluation {
                        vaccine_group: e.vaccine_group.to_string(),
                        status: status.code().to_string(),
                        reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
                        dose_number: e.target_dose,
                    });
                }
            }
        }
        views.push(DoseView {
            product_name_zh: name_of(d.cvx)
                .map(|p| p.name_zh.clone())
                .unwrap_or_default(),
            dose: d,
            evaluations,
        });
    }
    let due = f
        .vaccine_groups
        .iter()
        .map(|g| DueItem {
            vaccine_group: g.vaccine_group.to_string(),
            status: classify(g.status.code(), as_of, g.earliest, g.past_due),
            dose_number: g.dose_number,
            earliest: g.earliest.map(domain::date_text),
            recommended: g.recommended.map(domain::date_text),
            past_due: g.past_due.map(domain::date_text),
            products: g
                .vaccines
                .iter()
                .filter_map(|c| name_of(i64::from(c.0)))
                .map(|p| ProductName {
                    code: p.code.clone(),
                    name_zh: p.name_zh.clone(),
                    name_en: p.name_en.clone(),
                })
                .collect(),
        })
        .collect();
    Ok((views, due))
}

/// A child's record: doses with their evaluation and the due list on `as_of` (today when
/// `None`). Read through the registry's facade (scope checked, read audited).
pub async fn child_record(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
    as_of: Option<Date>,
) -> Result<ChildRecord, AppError> {
    who.require(perms::READ)?;
    let p = facade::patient(st, who, patient_id).await?;
    let as_of = as_of.unwrap_or_else(|| today(st));
    let birth = p
        .birth_date
        .as_deref()
        .and_then(domain::parse_date)
        .ok_or_else(|| invalid("birth_date", "vacc.err.no_birth_date"))?;
    let doses = store::doses_of(&st.db, &p.id).await?;
    let products = products(st).await?;
    let (doses, due) = evaluate(&products, birth, &p.sex, doses, as_of)?;
    let g = p.guardians.first();
    Ok(ChildRecord {
        name: p.full_name.clone(),
        birth_date: p.birth_date.clone(),
        sex: p.sex.clone(),
        guardian: g.map(|g| g.name.clone()).unwrap_or_default(),
        guardian_phone: g
            .map(|g| g.phone.clone())
            .unwrap_or_else(|| p.phone.clone()),
        org_code: p.org_code.clone(),
        patient_id: p.id,
        assessment_date: domain::date_text(as_of),
        doses,
        due,
    })
}

// ---------------------------------------------------------------- the clinic day

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CheckIn {
    pub clinic_code: String,
    pub patient_id: String,
}

fn visit_topic(clinic: &str) -> String {
    format!("vaccination.queue:{clinic}")
}

async fn publish(st: &Platform, v: &VisitRow) {
    let payload =
        serde_json::json!({"visit": v.id, "queue_no": v.queue_no, "status": v.status}).to_string();
    st.events
        .publish(&visit_topic(&v.clinic_code), &payload)
        .await;
}

/// Check a child in at a clinic: a queue number for today.
pub async fn check_in(
    st: &Platform,
    who: &Principal,
    input: &CheckIn,
) -> Result<VisitRow, AppError> {
    who.require(perms::ADMINISTER)?;
    let clinic = owned_org(st, who, &input.clinic_code).await?;
    let child = facade::require_patient(st, who, input.patient_id.trim()).await?;
    let day = domain::date_text(today(st));
    let now = st.clock.now_text();
    let who2 = who.clone();
    let v = st
        .write(move |tx| {
            Box::pin(async move {
                let queue_no = store::next_queue_no(tx, &clinic.code, &day).await?;
                let v = VisitRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    clinic_code: clinic.code,
                    clinic_path: clinic.path,
                    patient_id: child.id,
                    patient_path: child.org_path,
                    day,
                    queue_no,
                    status: VisitStatus::CheckedIn.as_str().into(),
                    screening: String::new(),
                    deferral_reason: String::new(),
                    return_date: None,
                    planned: String::new(),
                    consent_by: String::new(),
                    consent_at: None,
                    obs_start: None,
                    obs_end: None,
                    early_leave: 0,
                    next_date: None,
                    checked_in_at: now.clone(),
                    updated_at: now,
                };
                store::insert_visit(tx, &v).await?;
                let detail = format!("check-in #{}", v.queue_no);
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail(&detail),
                );
                Ok(v)
            })
        })
        .await?;
    publish(st, &v).await;
    Ok(v)
}

/// A visit of a clinic the caller owns.
pub async fn visit(st: &Platform, who: &Principal, id: &str) -> Result<VisitRow, AppError> {
    who.require(perms::READ)?;
    match store::visit(&st.db, id).await? {
        Some(v) if who.scope.covers(&v.clinic_path) => Ok(v),
        _ => Err(AppError::NotFound),
    }
}

/// Move a visit from `from` to its new state (one transaction, conditional on `from`).
async fn advance<F>(
    st: &Platform,
    who: &Principal,
    id: &str,
    from: VisitStatus,
    change: F,
    detail: String,
) -> Result<VisitRow, AppError>
where
    F: FnOnce(&mut VisitRow) + Send + 'static,
{
    who.require(perms::ADMINISTER)?;
    let mut v = visit(st, who, id).await?;
    if !who.scope.owns(&v.clinic_path) {
        return Err(AppError::NotFound);
    }
    if v.status != from.as_str() {
        return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
    }
    change(&mut v);
    v.updated_at = st.clock.now_text();
    let who2 = who.clone();
    let v = st
        .write(move |tx| {
            Box::pin(async move {
                if !store::update_visit(tx, &v, from.as_str()).await? {
                    return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
                }
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail(&detail),
                );
                Ok(v)
            })
        })
        .await?;
    publish(st, &v).await;
    Ok(v)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ScreeningInput {
    #[serde(flatten)]
    pub answers: Screening,
    /// When deferred: the day to come back (`YYYY-MM-DD`); required with a contraindication.
    #[serde(default)]
    pub return_date: String,
}

pub async fn screen(
    st: &Platform,
    who: &Principal,
    id: &str,
    s: ScreeningInput,
) -> Result<VisitRow, AppError> {
    let defers = s.answers.defers();
    let return_date = if defers {
        match domain::parse_date(&s.return_date) {
            Some(d) if d > today(st) => Some(domain::date_text(d)),
            _ => return Err(invalid("return_date", "vacc.err.return_date")),
        }
    } else {
        None
    };
    let reasons = s.answers.reasons().join(",");
    let answers =
        serde_json::to_string(&s.answers).map_err(|e| AppError::Internal(e.to_string()))?;
    let detail = if defers {
        format!("deferred: {reasons}")
    } else {
        "screened".to_string()
    };
    advance(
        st,
        who,
        id,
        VisitStatus::CheckedIn,
        move |v| {
            v.screening = answers;
            if defers {
                v.status = VisitStatus::Deferred.as_str().into();
                v.deferral_reason = reasons;
                v.return_date = return_date;
            } else {
                v.status = VisitStatus::Screened.as_str().into();
            }
        },
        detail,
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Registration {
    /// Product codes chosen from the due list.
    pub products: Vec<String>,
    /// The guardian who gave consent (name).
    pub consent_by: String,
}

pub async fn register(
    st: &Platform,
    who: &Principal,
    id: &str,
    r: Registration,
) -> Result<VisitRow, AppError> {
    let mut codes = Vec::new();
    for p in &r.products {
        codes.push(product(st, p).await?.code);
    }
    if codes.is_empty() {
        return Err(invalid("products", "vacc.err.no_products"));
    }
    let consent = r.consent_by.trim().to_string();
    if consent.is_empty() || consent.chars().count() > 100 {
        return Err(invalid("consent_by", "vacc.err.consent"));
    }
    let now = st.clock.now_text();
    let planned = codes.join(",");
    let detail = format!("registered {planned}; consent {consent}");
    advance(
        st,
        who,
        id,
        VisitStatus::Screened,
        move |v| {
            v.status = VisitStatus::Registered.as_str().into();
            v.planned = planned;
            v.consent_by = consent;
            v.consent_at = Some(now);
        },
        detail,
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct VaccinationInput {
    /// One entry per dose given now.
    pub doses: Vec<VaccinationDose>,
    #[serde(default)]
    pub vaccinator: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct VaccinationDose {
    #[serde(default)]
    pub product_code: String,
    pub lot_no: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub route: String,
}

/// Vaccinate: every dose, its stock movement and the visit's move to observation commit
/// together, or nothing does.
pub async fn vaccinate(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: VaccinationInput,
) -> Result<(VisitRow, Vec<DoseRow>), AppError> {
    who.require(perms::ADMINISTER)?;
    let mut v = visit(st, who, id).await?;
    if !who.scope.owns(&v.clinic_path) {
        return Err(AppError::NotFound);
    }
    if v.status != VisitStatus::Registered.as_str() {
        return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
    }
    if input.doses.is_empty() || input.doses.len() > 6 {
        return Err(invalid("doses", "vacc.err.no_products"));
    }
    let mut rows = Vec::new();
    for (i, d) in input.doses.iter().enumerate() {
        let di = DoseInput {
            patient_id: v.patient_id.clone(),
            product_code: d.product_code.clone(),
            lot_no: d.lot_no.clone(),
            site: d.site.clone(),
            route: d.route.clone(),
            vaccinator: input.vaccinator.clone(),
            org_code: v.clinic_code.clone(),
            ..Default::default()
        };
        let mut p = prepare_dose(st, who, &di, "clinic")
            .await
            .map_err(|e| match e {
                AppError::Invalid(f) => AppError::Invalid(
                    f.into_iter()
                        .map(|x| FieldError::new(format!("doses[{i}].{}", x.field), x.msg))
                        .collect(),
                ),
                e => e,
            })?;
        p.row.visit_id = Some(v.id.clone());
        rows.push(p.row);
    }
    let now = st.clock.now_text();
    v.status = VisitStatus::Observing.as_str().into();
    v.obs_start = Some(now.clone());
    v.updated_at = now;
    let who2 = who.clone();
    let today = domain::date_text(today(st));
    let out = st
        .write(move |tx| {
            Box::pin(async move {
                for d in &rows {
                    write_dose(tx, &who2, d, &today).await?;
                }
                if !store::update_visit(tx, &v, VisitStatus::Registered.as_str()).await? {
                    return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
                }
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail("vaccinated"),
                );
                Ok((v, rows))
            })
        })
        .await?;
    publish(st, &out.0).await;
    Ok(out)
}

/// The child leaves: flagged when before the end of the 30-minute observation; the next
/// appointment is the earliest due date of the child's record.
pub async fn leave(st: &Platform, who: &Principal, id: &str) -> Result<VisitRow, AppError> {
    let v = visit(st, who, id).await?;
    let now = st.clock.now();
    let early = v
        .obs_start
        .as_deref()
        .and_then(tianshan_platform::clock::parse_timestamp)
        .is_some_and(|s| domain::leaves_early(s, now));
    let next = next_appointment(st, who, &v.patient_id)
        .await
        .ok()
        .flatten();
    let now_text = st.clock.now_text();
    let detail = if early {
        "left early".to_string()
    } else {
        "left".to_string()
    };
    advance(
        st,
        who,
        id,
        VisitStatus::Observing,
        move |v| {
            v.status = VisitStatus::Left.as_str().into();
            v.obs_end = Some(now_text);
            v.early_leave = i64::from(early);
            v.next_date = next;
        },
        detail,
    )
    .await
}

async fn next_appointment(
    st: &Platform,
    who: &Principal,
    patient: &str,
) -> Result<Option<String>, AppError> {
    let r = child_record(st, who, patient, Some(today(st) + time::Duration::days(1))).await?;
    Ok(r.due
        .iter()
        .filter(|d| matches!(d.status.as_str(), "due" | "overdue" | "not_yet_due"))
        .filter_map(|d| d.recommended.clone().or(d.earliest.clone()))
        .min())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    pub visit_id: String,
    pub queue_no: i64,
    pub patient_id: String,
    pub name: String,
    pub status: String,
    /// The station the child waits for: screening, registration, vaccination, observation, done.
    pub station: String,
    /// Seconds of observation left (observing children).
    pub observation_left: Option<i64>,
    pub early_leave: bool,
}

/// Today's visits of a clinic, for the stations and the queue board.
pub async fn board(
    st: &Platform,
    who: &Principal,
    clinic: &str,
) -> Result<Vec<BoardLine>, AppError> {
    who.require(perms::READ)?;
    let org = facade::org(st, clinic.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.scope.covers(&org.path) {
        return Err(AppError::NotFound);
    }
    let day = domain::date_text(today(st));
    let visits = store::visits_of_day(&st.db, &org.code, &day).await?;
    let ids: Vec<String> = visits.iter().map(|v| v.patient_id.clone()).collect();
    let people = facade::patients_by_ids(st, who, &ids).await?;
    let now = st.clock.now();
    Ok(visits
        .into_iter()
        .map(|v| {
            let status = VisitStatus::parse(&v.status).unwrap_or(VisitStatus::Left);
            let left = (status == VisitStatus::Observing)
                .then(|| {
                    v.obs_start
                        .as_deref()
                        .and_then(tianshan_platform::clock::parse_timestamp)
                })
                .flatten()
                .map(|s| {
                    let end = s + time::Duration::minutes(domain::OBSERVATION_MINUTES);
                    (end - now).whole_seconds().max(0)
                });
            BoardLine {
                name: people
                    .iter()
                    .find(|p| p.id == v.patient_id)
                    .map(|p| p.full_name.clone())
                    .unwrap_or_default(),
                visit_id: v.id,
                queue_no: v.queue_no,
                patient_id: v.patient_id,
                station: status.station().into(),
                status: v.status,
                observation_left: left,
                early_leave: v.early_leave == 1,
            }
        })
        .collect())
}

// ---------------------------------------------------------------- AEFI

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AefiInput {
    pub patient_id: String,
    #[serde(default)]
    pub dose_id: Option<String>,
    /// `YYYY-MM-DD` or an RFC 3339 time.
    pub onset: String,
    pub symptoms: String,
    /// mild, moderate, severe.
    pub severity: String,
    #[serde(default)]
    pub treatment: String,
    /// recovered, recovering, not_recovered, sequelae, died, unknown.
    pub outcome: String,
    /// Serious (death, life-threatening, hospitalisation, disability, cluster): alerts the
    /// county coordinator at once.
    #[serde(default)]
    pub serious: bool,
}

pub async fn report_aefi(
    st: &Platform,
    who: &Principal,
    input: AefiInput,
) -> Result<AefiRow, AppError> {
    who.require(perms::ADMINISTER)?;
    let child = facade::require_patient(st, who, input.patient_id.trim()).await?;
    let mut errs = Vec::new();
    let onset = input.onset.trim().to_string();
    if domain::parse_date(&onset).is_none()
        && tianshan_platform::clock::parse_timestamp(&onset).is_none()
    {
        errs.push(FieldError::new("onset", Msg::new("vacc.err.date")));
    }
    if input.symptoms.trim().is_empty() || input.symptoms.chars().count() > 2000 {
        errs.push(FieldError::new("symptoms", Msg::new("vacc.err.symptoms")));
    }
    if !matches!(input.severity.as_str(), "mild" | "moderate" | "severe") {
        errs.push(FieldError::new("severity", Msg::new("vacc.err.severity")));
    }
    if !matches!(
        input.outcome.as_str(),
        "recovered" | "recovering" | "not_recovered" | "sequelae" | "died" | "unknown"
    ) {
        errs.push(FieldError::new("outcome", Msg::new("vacc.err.outcome")));
    }
    let mut lot_id = None;
    if let Some(d) = input.dose_id.as_deref().filter(|d| !d.is_empty()) {
        match store::dose(&st.db, d).await? {
            Some(dose) if dose.patient_id == child.id => lot_id = dose.lot_id,
            _ => errs.push(FieldError::new("dose_id", Msg::new("vacc.err.dose"))),
        }
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let serious = input.serious || input.outcome == "died";
    let row = AefiRow {
        id: uuid::Uuid::new_v4().to_string(),
        patient_id: child.id,
        patient_path: child.org_path,
        dose_id: input.dose_id.filter(|d| !d.is_empty()),
        lot_id,
        onset,
        symptoms: input.symptoms.trim().to_string(),
        severity: input.severity,
        treatment: input.treatment.trim().to_string(),
        outcome: input.outcome,
        serious: i64::from(serious),
        reported_by: who.username.clone(),
        reported_at: st.clock.now_text(),
    };
    let who2 = who.clone();
    let row = st
        .write(move |tx| {
            Box::pin(async move {
                store::insert_aefi(tx, &row).await?;
                if row.serious == 1 {
                    let msg = format!(
                        "serious AEFI: {}",
                        row.symptoms.chars().take(200).collect::<String>()
                    );
                    store::insert_alert(
                        tx,
                        "aefi_serious",
                        &county_path(&row.patient_path),
                        &row.id,
                        &msg,
                    )
                    .await?;
                }
                tx.record(
                    &who2,
                    Event::new(AEFI, "AdverseEvent", &row.id)
                        .patient(&row.patient_id)
                        .detail(if row.serious == 1 {
                            "serious"
                        } else {
                            "not serious"
                        }),
                );
                Ok(row)
            })
        })
        .await?;
    if row.serious == 1 {
        st.events
            .publish(
                "vaccination.alert",
                &serde_json::json!({"kind": "aefi_serious", "id": row.id}).to_string(),
            )
            .await;
    }
    Ok(row)
}

/// The county node of a path (`/650000/653100/653121/...` → `/650000/653100/653121/`): alerts
/// are kept there, so a county coordinator and everyone above sees them.
fn county_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let keep = parts.len().min(3);
    format!("/{}/", parts[..keep].join("/"))
}

pub async fn aefi_list(st: &Platform, who: &Principal) -> Result<Vec<AefiRow>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    let rows = store::aefi_in(&st.db, &lo, &hi, 500).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let detail = format!("{} AEFI reports: {}", rows.len(), ids.join(" "));
    st.audit(
        who,
        Event::new(Action::SEARCH, "AdverseEvent", "").detail(&detail),
    )
    .await?;
    Ok(rows)
}

/// Alerts about the caller's area, and those kept at the county above a narrower scope.
pub async fn alerts(st: &Platform, who: &Principal) -> Result<Vec<store::AlertRow>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = match &who.scope.path {
        Some(p) => {
            let c = county_path(p);
            let lo = if c.len() < p.len() { c } else { p.clone() };
            (lo.clone(), tianshan_platform::db::prefix_end(&lo))
        }
        None => who.scope.path_range(),
    };
    store::alerts_in(&st.db, &lo, &hi, 200).await
}

// ---------------------------------------------------------------- cold chain

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DeviceInput {
    pub id: String,
    pub org_code: String,
    pub name: String,
    /// refrigerator, freezer, cold_box.
    #[serde(default)]
    pub kind: String,
    /// Safe range in °C (default 2–8).
    #[serde(default)]
    pub min_c: Option<f64>,
    #[serde(default)]
    pub max_c: Option<f64>,
    /// Cumulative minutes out of range within 24 hours that make an excursion (default 60).
    #[serde(default)]
    pub excursion_minutes: Option<i64>,
}

pub async fn create_device(
    st: &Platform,
    who: &Principal,
    input: DeviceInput,
) -> Result<DeviceRow, AppError> {
    who.require(perms::STOCK)?;
    let org = owned_org(st, who, &input.org_code).await?;
    let id = input.id.trim().to_string();
    let mut errs = Vec::new();
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errs.push(FieldError::new("id", Msg::new("vacc.err.device_id")));
    }
    let kind = if input.kind.is_empty() {
        "refrigerator".to_string()
    } else {
        input.kind.clone()
    };
    if !matches!(kind.as_str(), "refrigerator" | "freezer" | "cold_box") {
        errs.push(FieldError::new("kind", Msg::new("vacc.err.device_kind")));
    }
    let min = input
        .min_c
        .map(domain::temperature_tenths)
        .unwrap_or(Some(domain::DEFAULT_MIN_TENTHS));
    let max = input
        .max_c
        .map(domain::temperature_tenths)
        .unwrap_or(Some(domain::DEFAULT_MAX_TENTHS));
    let (min, max) = match (min, max) {
        (Some(a), Some(b)) if a < b => (a, b),
        _ => {
            errs.push(FieldError::new("min_c", Msg::new("vacc.err.range")));
            (0, 0)
        }
    };
    let minutes = input
        .excursion_minutes
        .unwrap_or(domain::DEFAULT_EXCURSION_MINUTES);
    if !(1..=1440).contains(&minutes) {
        errs.push(FieldError::new(
            "excursion_minutes",
            Msg::new("vacc.err.minutes"),
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let row = DeviceRow {
        id,
        org_code: org.code,
        org_path: org.path,
        name: input.name.trim().to_string(),
        kind,
        min_tenths: min,
        max_tenths: max,
        excursion_minutes: minutes,
        status: "ok".into(),
        created_at: st.clock.now_text(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_device(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(COLD_CHAIN, "Device", &row.id).detail("created"),
            );
            Ok(row)
        })
    })
    .await
}

pub async fn devices(st: &Platform, who: &Principal) -> Result<Vec<DeviceRow>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    store::devices_in(&st.db, &lo, &hi).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceDetail {
    pub device: DeviceRow,
    pub readings: Vec<store::ReadingRow>,
    pub excursions: Vec<store::ExcursionRow>,
    pub lots: Vec<LotRow>,
}

pub async fn device_detail(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<DeviceDetail, AppError> {
    who.require(perms::READ)?;
    let device = match store::device(&st.db, id).await? {
        Some(d) if who.scope.covers(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let readings = store::readings(&st.db, id, 500).await?;
    let excursions = store::excursions(&st.db, id).await?;
    let lots = store::lots_in(
        &st.db,
        &device.org_path,
        &tianshan_platform::db::prefix_end(&device.org_path),
        500,
    )
    .await?
    .into_iter()
    .filter(|l| l.device_id.as_deref() == Some(id))
    .collect();
    Ok(DeviceDetail {
        device,
        readings,
        excursions,
        lots,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReadingInput {
    /// When the sensor read it (RFC 3339).
    pub at: String,
    /// °C.
    pub celsius: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadingOutcome {
    /// false when the device already had a reading at that instant (sent twice).
    pub stored: bool,
    /// Minutes out of range in the last 24 hours.
    pub minutes_out: i64,
    /// An excursion was raised by this reading: the lots quarantined.
    pub quarantined: Vec<String>,
}

/// Check a reading's payload: a time and a temperature a sensor can read.
pub fn check_reading(r: &ReadingInput) -> Result<(OffsetDateTime, i64), AppError> {
    let at = tianshan_platform::clock::parse_timestamp(r.at.trim())
        .ok_or_else(|| invalid("at", "vacc.err.time"))?;
    let t = domain::temperature_tenths(r.celsius)
        .ok_or_else(|| invalid("celsius", "vacc.err.temperature"))?;
    Ok((at, t))
}

/// A reading from the HTTP API (person or device token with `vaccination.stock`).
pub async fn add_reading(
    st: &Platform,
    who: &Principal,
    device: &str,
    r: &ReadingInput,
) -> Result<ReadingOutcome, AppError> {
    who.require(perms::STOCK)?;
    let d = match store::device(&st.db, device).await? {
        Some(d) if who.scope.owns(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let (at, t) = check_reading(r)?;
    ingest(st, who, d, at, t).await
}

/// Store a reading and recount the device's time out of range over the last 24 hours from the
/// stored readings (late readings fall into place; one sent twice is stored once). Crossing the
/// device's threshold raises one excursion: an alert and its active lots quarantined.
pub async fn ingest(
    st: &Platform,
    who: &Principal,
    d: DeviceRow,
    at: OffsetDateTime,
    tenths: i64,
) -> Result<ReadingOutcome, AppError> {
    let at_text = tianshan_platform::clock::timestamp_text(at);
    let dev_id = d.id.clone();
    let who2 = who.clone();
    let now = st.clock.now();
    let out = st
        .write(move |tx| {
            Box::pin(async move {
                let stored = store::insert_reading(tx, &d.id, &at_text, tenths).await?;
                let window_start = now.min(at) - time::Duration::hours(domain::WINDOW_HOURS);
                let mut since = tianshan_platform::clock::timestamp_text(window_start);
                if let Some(r) = store::last_reviewed_excursion_tx(tx, &d.id).await? {
                    if r > since {
                        since = r;
                    }
                }
                let rows = store::readings_since_tx(tx, &d.id, &since).await?;
                let pts: Vec<(i64, i64)> = rows
                    .iter()
                    .filter_map(|r| {
                        tianshan_platform::clock::parse_timestamp(&r.at)
                            .map(|t| (t.unix_timestamp(), r.tenths))
                    })
                    .collect();
                let (secs, extreme) = domain::out_of_range(&pts, d.min_tenths, d.max_tenths);
                let minutes_out = secs / 60;
                let mut quarantined = Vec::new();
                if stored && d.status == "ok" && minutes_out >= d.excursion_minutes {
                    let start = domain::excursion_start(&pts, d.min_tenths, d.max_tenths)
                        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                        .map(tianshan_platform::clock::timestamp_text)
                        .unwrap_or_else(|| at_text.clone());
                    let e = store::ExcursionRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        device_id: d.id.clone(),
                        started_at: start,
                        detected_at: tx.now().to_string(),
                        minutes: minutes_out,
                        extreme_tenths: extreme.unwrap_or(tenths),
                        reviewed: 0,
                    };
                    if store::open_excursion(tx, &e).await? {
                        let reason =
                            format!("cold-chain excursion {} min on {}", minutes_out, d.name);
                        quarantined = store::quarantine_device_lots(tx, &d.id, &reason).await?;
                        let msg = format!(
                            "{}: {} min out of range, extreme {:.1} °C; {} lot(s) quarantined",
                            d.name,
                            minutes_out,
                            e.extreme_tenths as f64 / 10.0,
                            quarantined.len()
                        );
                        store::insert_alert(tx, "cold_chain_excursion", &d.org_path, &e.id, &msg)
                            .await?;
                        let detail = format!("excursion; quarantined {}", quarantined.join(" "));
                        tx.record(
                            &who2,
                            Event::new(COLD_CHAIN, "Device", &d.id).detail(&detail),
                        );
                    }
                }
                Ok(ReadingOutcome {
                    stored,
                    minutes_out,
                    quarantined,
                })
            })
        })
        .await?;
    if !out.quarantined.is_empty() {
        st.events
            .publish(
                "vaccination.alert",
                &serde_json::json!({"kind": "cold_chain_excursion", "device": dev_id}).to_string(),
            )
            .await;
    }
    Ok(out)
}

/// A person reviewed the device: the excursion is closed (its readings no longer count). Each
/// quarantined lot is released or discarded on its own ([`decide_lot`]).
pub async fn review_device(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<DeviceRow, AppError> {
    who.require(perms::STOCK)?;
    let d = match store::device(&st.db, id).await? {
        Some(d) if who.scope.owns(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            if !store::close_excursion(tx, &d.id).await? {
                return Err(AppError::Conflict(Msg::new("vacc.err.no_excursion")));
            }
            tx.record(
                &who2,
                Event::new(COLD_CHAIN, "Device", &d.id).detail("excursion reviewed"),
            );
            store::device_tx(tx, &d.id).await?.ok_or(AppError::NotFound)
        })
    })
    .await
}

// ---------------------------------------------------------------- coverage

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AntigenCoverage {
    pub product_code: String,
    pub name_zh: String,
    /// Children with at least one, two and three doses of the product.
    pub dose1: i64,
    pub dose2: i64,
    pub dose3: i64,
    /// Percent of the place's children with at least one dose.
    pub coverage1: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceCoverage {
    /// The village (or other organisation) the children are registered at.
    pub org_code: String,
    pub name: String,
    /// Children of the place with at least one recorded dose (the denominator).
    pub children: i64,
    pub antigens: Vec<AntigenCoverage>,
    /// DTaP dropout 1 → 3, percent of those who started.
    pub dtap_dropout: Option<f64>,
}

/// Coverage per village and product in the caller's area. The denominator is the children of
/// each place with at least one recorded dose.
pub async fn coverage(st: &Platform, who: &Principal) -> Result<Vec<PlaceCoverage>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    let rows = store::coverage(&st.db, &lo, &hi).await?;
    let totals = store::children_per_place(&st.db, &lo, &hi).await?;
    let code_of = |path: &str| {
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let codes: Vec<String> = totals.iter().map(|(p, _)| code_of(p)).collect();
    let orgs = facade::orgs(st, &codes).await?;
    let products = products(st).await?;
    let locale = tianshan_platform::i18n::Locale::ZhHans;
    let mut out = Vec::new();
    for (path, children) in totals {
        let code = code_of(&path);
        let antigens: Vec<AntigenCoverage> = rows
            .iter()
            .filter(|r| r.patient_path == path)
            .map(|r| AntigenCoverage {
                product_code: r.product_code.clone(),
                name_zh: products
                    .iter()
                    .find(|p| p.code == r.product_code)
                    .map(|p| p.name_zh.clone())
                    .unwrap_or_default(),
                dose1: r.dose1,
                dose2: r.dose2,
                dose3: r.dose3,
                coverage1: if children > 0 {
                    (r.dose1 as f64 * 1000.0 / children as f64).round() / 10.0
                } else {
                    0.0
                },
            })
            .collect();
        let dtap_dropout = antigens
            .iter()
            .find(|a| a.product_code == "DTaP" && a.dose1 > 0)
            .map(|a| ((a.dose1 - a.dose3) as f64 * 1000.0 / a.dose1 as f64).round() / 10.0);
        out.push(PlaceCoverage {
            name: orgs
                .iter()
                .find(|o| o.code == code)
                .map(|o| o.name(locale).to_string())
                .unwrap_or_else(|| code.clone()),
            org_code: code,
            children,
            antigens,
            dtap_dropout,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- residence and follow-up

pub const RESIDENCE_STATUSES: [&str; 3] = ["resident", "moved_in", "moved_out"];

/// Record a change of a child's residence status (resident, moved in, moved out) from a date.
pub async fn set_residence(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
    status: &str,
    since: &str,
    note: &str,
) -> Result<store::ResidenceRow, AppError> {
    who.require(perms::ADMINISTER)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    let mut errs = Vec::new();
    if !RESIDENCE_STATUSES.contains(&status) {
        errs.push(FieldError::new("status", Msg::new("vacc.err.residence")));
    }
    let since_date = domain::parse_date(since.trim());
    match since_date {
        None => errs.push(FieldError::new("since", Msg::new("vacc.err.date"))),
        Some(d) if d > today(st) => errs.push(FieldError::new("since", Msg::new("vacc.err.date"))),
        _ => {}
    }
    if note.chars().count() > 500 {
        errs.push(FieldError::new("note", Msg::new("vacc.err.reason")));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let row = store::ResidenceRow {
        id: uuid::Uuid::new_v4().to_string(),
        patient_id: child.id,
        patient_path: child.org_path,
        status: status.to_string(),
        since: since_date.map(domain::date_text).unwrap_or_default(),
        note: note.trim().to_string(),
        recorded_by: who.username.clone(),
        recorded_at: st.clock.now_text(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_residence(tx, &row).await?;
            let detail = format!("{} since {}", row.status, row.since);
            tx.record(
                &who2,
                Event::new(RESIDENCE, "ChildResidence", &row.id)
                    .patient(&row.patient_id)
                    .detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

/// A child's residence history, newest first (the child is read through the facade first).
pub async fn residence(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
) -> Result<Vec<store::ResidenceRow>, AppError> {
    who.require(perms::READ)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    store::residence_of(&st.db, &child.id).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueChild {
    pub patient_id: String,
    pub name: String,
    pub birth_date: String,
    pub guardian: String,
    pub guardian_phone: String,
    /// resident, moved_in (children with no recorded status count as resident).
    pub residence: String,
    /// The overdue vaccine groups with the dose number and the past-due date.
    pub overdue: Vec<String>,
}

/// Children of a village (or any organisation of the caller's area) overdue for any dose on
/// today's date, with the guardian's phone; children who moved out are left out. The children
/// are those registered at the place and those with a dose or a residence entry there.
pub async fn overdue(
    st: &Platform,
    who: &Principal,
    org_code: &str,
) -> Result<Vec<OverdueChild>, AppError> {
    who.require(perms::READ)?;
    let org = facade::org(st, org_code.trim())
        .await?
        .filter(|o| who.scope.can_see(&o.path, &[]))
        .ok_or(AppError::NotFound)?;
    let hi = tianshan_platform::db::prefix_end(&org.path);
    // The children registered at the place (the registry), and those the module knows there
    // (a dose or a residence entry: moved in, or registered at a place below it).
    let mut ids: Vec<String> = facade::patients_at(st, who, &org.code, 2000)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    for id in store::children_in(&st.db, &org.path, &hi, 2000).await? {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let statuses = store::residence_now(&st.db, &ids).await?;
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| !statuses.iter().any(|(p, s)| p == id && s == "moved_out"))
        .collect();
    let products = products(st).await?;
    let as_of = today(st);
    let mut out = Vec::new();
    for id in ids {
        let p = match facade::patient(st, who, &id).await {
            Ok(p) => p,
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let Some(birth) = p.birth_date.as_deref().and_then(domain::parse_date) else {
            continue;
        };
        let doses = store::doses_of(&st.db, &p.id).await?;
        let (_, due) = evaluate(&products, birth, &p.sex, doses, as_of)?;
        let overdue: Vec<String> = due
            .iter()
            .filter(|d| d.status == "overdue")
            .map(|d| match d.dose_number {
                Some(n) => format!("{} #{}", d.vaccine_group, n),
                None => d.vaccine_group.clone(),
            })
            .collect();
        if overdue.is_empty() {
            continue;
        }
        let g = p.guardians.first();
        out.push(OverdueChild {
            residence: statuses
                .iter()
                .find(|(x, _)| *x == p.id)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| "resident".into()),
            name: p.full_name.clone(),
            birth_date: p.birth_date.clone().unwrap_or_default(),
            guardian: g.map(|g| g.name.clone()).unwrap_or_default(),
            guardian_phone: g
                .map(|g| g.phone.clone())
                .unwrap_or_else(|| p.phone.clone()),
            patient_id: p.id,
            overdue,
        });
    }
    out.sort_by(|a, b| a.birth_date.cmp(&b.birth_date).then(a.name.cmp(&b.name)));
    Ok(out)
}
