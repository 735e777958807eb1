//! Doses: checked, written with their stock movement in one transaction, searched, imported
//! from CSV/XLSX and exported.
use super::*;

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

pub(crate) const SITES: &[&str] = &["", "LD", "RD", "LT", "RT", "LA", "RA", "PO", "NS"];
pub(crate) const ROUTES: &[&str] = &["", "IM", "SC", "ID", "PO", "IN"];

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
            id: tianshan_platform::new_id(),
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

pub(crate) fn refusal(r: LotRefusal, l: &LotRow) -> AppError {
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
        // An opened vial past its discard time is wasted first: its doses are not there.
        expire_lot_vial(tx, who, lot_id).await?;
        if !store::take_dose(tx, lot_id, today).await? {
            let l = store::lot_tx(tx, lot_id).await?.ok_or(AppError::NotFound)?;
            let status = LotStatus::parse(&l.status).unwrap_or(LotStatus::Discarded);
            let today = domain::parse_date(today).unwrap_or(Date::MIN);
            let r = domain::check_lot(status, &l.expiry, l.quantity, today)
                .err()
                .unwrap_or(LotRefusal::Empty);
            return Err(refusal(r, &l));
        }
        use_vial(tx, lot_id).await?;
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
