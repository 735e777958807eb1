//! Vaccine stock: lots received from the county, their release, discard or recall, and
//! wastage and count adjustments with a reason.
use super::*;

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
    /// An opened vial of a multi-dose lot: `none` (kept until empty, the default), `hours`
    /// (discarded `open_hours` after opening), `session` (at the end of the clinic day).
    #[serde(default)]
    pub open_policy: String,
    #[serde(default)]
    pub open_hours: i64,
}

pub(crate) fn one() -> i64 {
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
    let policy = crate::domain::vial::OpenPolicy::parse(&input.open_policy, input.open_hours);
    if let Err(key) = policy {
        errs.push(FieldError::new("open_policy", Msg::new(key)));
    }
    let policy = policy.unwrap_or(crate::domain::vial::OpenPolicy::None);
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
        id: tianshan_platform::new_id(),
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
        open_policy: policy.code().to_string(),
        open_hours: match policy {
            crate::domain::vial::OpenPolicy::Hours(h) => h,
            _ => 0,
        },
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
