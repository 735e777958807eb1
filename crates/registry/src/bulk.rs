//! Bulk loading of generated patients for benchmarks and large trusted loads: validated drafts
//! written with multi-row inserts, no duplicate checks, no per-record audit (the load itself is
//! audited by whoever runs it). Not for data typed by people.
use tianshan_platform::{AppError, FieldError, Platform};

use crate::domain::PatientInput;
use crate::store::bulk::{insert_patients, BulkPatient};

pub use crate::domain::names::pinyin_initials;
pub use crate::domain::resident_id::check_char;
pub use crate::fhir::patient::RESIDENT_ID_SYSTEM;

/// A patient checked and ready to load.
pub struct LoadRow(BulkPatient);

/// The query forms a benchmark samples from a loaded patient.
pub struct Sample {
    pub full_name: String,
    pub id_number: Option<String>,
}

/// Check one patient (as of `today`) registered at an organisation with path `org_path`.
pub fn prepare(
    id: String,
    input: &PatientInput,
    today: time::Date,
    org_path: String,
) -> Result<(LoadRow, Sample), Vec<FieldError>> {
    let draft = input.validate(today)?;
    let sample = Sample {
        full_name: draft.full_name.clone(),
        id_number: draft.id_number.as_ref().map(|i| i.as_str().to_string()),
    };
    Ok((
        LoadRow(BulkPatient {
            id,
            draft,
            org_path,
        }),
        sample,
    ))
}

/// Write a batch in one transaction.
pub async fn insert(st: &Platform, rows: Vec<LoadRow>) -> Result<(), AppError> {
    let rows: Vec<BulkPatient> = rows.into_iter().map(|r| r.0).collect();
    st.write(move |tx| Box::pin(async move { insert_patients(tx, &rows).await }))
        .await
}

/// How many patients the database holds (all scopes; for benchmarks and operators).
pub async fn patient_count(st: &Platform) -> Result<i64, AppError> {
    crate::store::patients::count(&st.db).await
}

/// The villages of the organisation tree: (code, path).
pub async fn villages(st: &Platform) -> Result<Vec<(String, String)>, AppError> {
    let q = crate::store::orgs::OrgQuery {
        kinds: vec!["village"],
        limit: 10_000,
        ..Default::default()
    };
    Ok(crate::store::orgs::search(&st.db, &q)
        .await?
        .into_iter()
        .map(|o| (o.code, o.path))
        .collect())
}
