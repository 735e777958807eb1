//! Adverse events following immunization: reports, the county coordinator's alerts.
use super::*;

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
        id: tianshan_platform::new_id(),
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
pub(crate) fn county_path(path: &str) -> String {
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
