//! Records out: CSV/XLSX export and the FHIR search of records.
use super::*;
use crate::service::find::filter;

/// Most rows one export holds.
pub const EXPORT_LIMIT: i64 = 100_000;

pub const EXPORT_COLUMNS: &[&str] = &[
    "id",
    "patient_id",
    "sex",
    "age_years",
    "mechanism",
    "injury_type",
    "injured_at",
    "call_at",
    "first_arrival_at",
    "first_org_code",
    "last_org_code",
    "operation_at",
    "operation_org_code",
    "gcs",
    "sbp",
    "rr",
    "rts",
    "iss",
    "niss",
    "ps",
    "triss_model",
    "arrival_to_op_min",
    "prehospital_min",
    "transfer_min",
    "outcome_discharge",
    "outcome_30d",
    "died",
    "reviewed_at",
    "review_finding",
];

/// The registry with its scores and intervals as table rows (the records chosen, at most
/// [`EXPORT_LIMIT`]); audited as one export entry.
pub async fn export(
    st: &Platform,
    who: &Principal,
    q: &Query,
) -> Result<Vec<Vec<String>>, AppError> {
    let f = filter(st, who, q, EXPORT_LIMIT).await?;
    let rows = store::list(&st.db, &f).await?;
    let detail = format!("trauma export {} records", rows.len());
    st.audit(who, Event::new(Action::EXPORT, ENTITY, "").detail(&detail))
        .await?;
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.patient_id.clone(),
                r.sex.clone(),
                n(r.age_years),
                r.mechanism.clone(),
                r.injury_type.clone(),
                r.injured_at.clone(),
                r.call_at.clone(),
                r.first_arrival_at.clone(),
                r.first_org_code.clone(),
                r.last_org_code.clone(),
                r.operation_at.clone(),
                r.operation_org_code.clone(),
                n(r.gcs),
                n(r.sbp),
                n(r.rr),
                r.rts_e4
                    .map(|v| format!("{:.4}", v as f64 / 10_000.0))
                    .unwrap_or_default(),
                n(r.iss),
                n(r.niss),
                r.ps_e6
                    .map(|v| format!("{:.6}", v as f64 / 1e6))
                    .unwrap_or_default(),
                r.triss_model.clone(),
                n(r.arrival_to_op_min),
                n(r.prehospital_min),
                n(r.transfer_min),
                r.outcome_discharge.clone(),
                r.outcome_30d.clone(),
                n(r.died),
                r.reviewed_at.clone(),
                r.review_finding.clone(),
            ]
        })
        .collect())
}

/// The export as a file: `csv` (UTF-8 with BOM) or `xlsx`.
pub async fn export_file(
    st: &Platform,
    who: &Principal,
    q: &Query,
    format: &str,
) -> Result<axum::response::Response, AppError> {
    use tianshan_platform::tabular;
    if !matches!(format, "csv" | "xlsx") {
        return Err(AppError::invalid("format", Msg::new("trauma.err.choice")));
    }
    let rows = export(st, who, q).await?;
    Ok(if format == "xlsx" {
        tabular::download(
            "trauma-registry.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("trauma", EXPORT_COLUMNS, &rows)?,
        )
    } else {
        tabular::download(
            "trauma-registry.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(EXPORT_COLUMNS, &rows),
        )
    })
}

/// The records a FHIR search names (a patient's, or one by id) that the caller sees; records
/// outside the scope are left out (their refusal audited), the rest audited as one search.
pub async fn fhir_records(
    st: &Platform,
    who: &Principal,
    patient: Option<&str>,
    record: Option<&str>,
) -> Result<Vec<RecordView>, AppError> {
    who.require(perms::READ)?;
    let ids = match (patient, record) {
        (_, Some(id)) => vec![id.to_string()],
        (Some(p), None) => store::ids_of_patient(&st.db, p).await?,
        (None, None) => Vec::new(),
    };
    let mut out = Vec::new();
    for id in ids {
        match visible(st, who, &id).await {
            Ok(v) if patient.is_none_or(|p| p == v.record.patient_id) => out.push(v),
            Ok(_) | Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    if !out.is_empty() {
        let ids: Vec<&str> = out.iter().map(|v| v.record.id.as_str()).collect();
        let detail = format!("trauma fhir {}: {}", out.len(), ids.join(" "));
        let mut ev = Event::new(Action::SEARCH, ENTITY, "").detail(&detail);
        if let Some(p) = patient {
            ev = ev.patient(p);
        }
        st.audit(who, ev).await?;
    }
    Ok(out)
}
