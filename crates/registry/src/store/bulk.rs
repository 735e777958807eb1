//! Bulk loading of already-validated patients (benchmarks, large imports): multi-row INSERTs
//! into `patients` and `patient_terms`, one transaction per batch, one SQL body for both backends.
use sqlx::QueryBuilder;
use tianshan_platform::db::Tx;
use tianshan_platform::{with_tx, AppError};

use crate::domain::PatientDraft;

/// One patient to load: its id, validated data and the path of its organisation.
#[derive(Debug, Clone)]
pub struct BulkPatient {
    pub id: String,
    pub draft: PatientDraft,
    pub org_path: String,
}

/// Rows per INSERT statement. 18 binds a patient row and 4 a term row stay well under both
/// SQLite's (32,766) and PostgreSQL's (65,535) limit on binds per statement.
const PATIENT_ROWS: usize = 1_000;
const TERM_ROWS: usize = 5_000;

const PATIENT_INSERT: &str = "INSERT INTO patients (id, org_code, org_path, family_name, given_name, full_name, name_ug, name_latin, \
    sex, birth_date, ethnicity, id_number, phone, address, fhir_extra, created_at, updated_at, version) ";

/// Insert a batch of patients with their search terms in one transaction. Guardians are not
/// loaded; no duplicate checks are made (the caller generates distinct ID numbers).
pub async fn insert_patients(tx: &mut Tx, batch: &[BulkPatient]) -> Result<(), AppError> {
    let now = tx.now().to_string();
    let now = now.as_str();
    struct Row<'a> {
        p: &'a BulkPatient,
        birth: Option<String>,
        idn: Option<&'a str>,
    }
    let rows: Vec<Row<'_>> = batch
        .iter()
        .map(|p| Row {
            p,
            birth: p.draft.birth_date.map(|b| b.to_string()),
            idn: p.draft.id_number.as_ref().map(|i| i.as_str()),
        })
        .collect();
    let mut terms: Vec<(String, &str, &str, &str)> = batch
        .iter()
        .flat_map(|p| {
            p.draft.search_terms().into_iter().map(move |t| {
                (
                    t,
                    p.org_path.as_str(),
                    p.id.as_str(),
                    p.draft.full_name.as_str(),
                )
            })
        })
        .collect();
    // In key order, the index pages a batch touches are touched once each.
    terms.sort_unstable();
    terms.dedup();
    with_tx!(tx, c => {
        for chunk in rows.chunks(PATIENT_ROWS) {
            let mut q = QueryBuilder::new(PATIENT_INSERT);
            q.push_values(chunk, |mut b, r| {
                let d = &r.p.draft;
                b.push_bind(r.p.id.as_str()).push_bind(d.org_code.as_str()).push_bind(r.p.org_path.as_str())
                    .push_bind(d.family_name.as_str()).push_bind(d.given_name.as_str()).push_bind(d.full_name.as_str())
                    .push_bind(d.name_ug.as_str()).push_bind(d.name_latin.as_str()).push_bind(d.sex.as_str())
                    .push_bind(r.birth.as_deref()).push_bind(d.ethnicity.as_str()).push_bind(r.idn)
                    .push_bind(d.phone.as_str()).push_bind(d.address.as_str()).push_bind("{}")
                    .push_bind(now).push_bind(now).push_bind(1_i64);
            });
            q.build().execute(&mut *c).await?;
        }
        for chunk in terms.chunks(TERM_ROWS) {
            let mut q = QueryBuilder::new(
                "INSERT INTO patient_terms (term, org_path, patient_id, full_name) ",
            );
            q.push_values(chunk, |mut b, (term, path, id, name)| {
                b.push_bind(term.as_str())
                    .push_bind(*path)
                    .push_bind(*id)
                    .push_bind(*name);
            });
            q.build().execute(&mut *c).await?;
        }
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}
