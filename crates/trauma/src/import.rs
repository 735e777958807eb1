//! Import of past records from CSV or XLSX: every row is checked with the same rules as the
//! form (times in order, GCS, ICD-10 codes, hospitals, the patient in the importer's area);
//! one bad row refuses the whole file with every row's errors, otherwise all rows are written
//! in one transaction with their audit entries.
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::error::FieldError;
use tianshan_platform::tabular::{self, ImportReport, Row, Table};
use tianshan_platform::{AppError, Msg, Platform};

use crate::domain::{InjuryInput, RecordInput, StayInput};
use crate::service::{self, perms, ENTITY};
use crate::store;

/// Columns of an import file (the first three are required).
pub const COLUMNS: &[&str] = &[
    "patient_id",
    "mechanism",
    "org_code",
    "arrived_at",
    "departed_at",
    "transfer_org_code",
    "transfer_arrived_at",
    "injured_at",
    "injury_place",
    "call_at",
    "dispatch_at",
    "scene_at",
    "scene_departed_at",
    "trauma_team_at",
    "mdt_called_at",
    "mdt_arrived_at",
    "ct_at",
    "operation_at",
    "icu_in_at",
    "icu_out_at",
    "discharge_at",
    "rehab_at",
    "psych_at",
    "gcs_eye",
    "gcs_verbal",
    "gcs_motor",
    "sbp",
    "rr",
    "icd10",
    "outcome_discharge",
    "outcome_30d",
    "disposition",
    "age_years",
];

fn row_input(t: &Table, r: &Row) -> Result<RecordInput, Vec<FieldError>> {
    let g = |c: &str| t.get(r, c).trim().to_string();
    let mut errs = Vec::new();
    let mut num = |c: &str| -> Option<u16> {
        let v = g(c);
        if v.is_empty() {
            return None;
        }
        v.parse::<u16>().map_or_else(
            |_| {
                errs.push(FieldError::new(c, Msg::new("trauma.err.number")));
                None
            },
            Some,
        )
    };
    let small = |v: Option<u16>| v.map(|n| u8::try_from(n).unwrap_or(u8::MAX));
    let (gcs_eye, gcs_verbal, gcs_motor) = (
        small(num("gcs_eye")),
        small(num("gcs_verbal")),
        small(num("gcs_motor")),
    );
    let (sbp, rr, age_years) = (num("sbp"), num("rr"), num("age_years"));
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut stays = vec![StayInput {
        org_code: g("org_code"),
        arrived_at: g("arrived_at"),
        departed_at: g("departed_at"),
    }];
    if !g("transfer_org_code").is_empty() {
        stays.push(StayInput {
            org_code: g("transfer_org_code"),
            arrived_at: g("transfer_arrived_at"),
            departed_at: String::new(),
        });
    }
    Ok(RecordInput {
        patient_id: g("patient_id"),
        age_years,
        injured_at: g("injured_at"),
        injury_place: g("injury_place"),
        mechanism: g("mechanism"),
        call_at: g("call_at"),
        dispatch_at: g("dispatch_at"),
        scene_at: g("scene_at"),
        scene_departed_at: g("scene_departed_at"),
        stays,
        trauma_team_at: g("trauma_team_at"),
        mdt_called_at: g("mdt_called_at"),
        mdt_arrived_at: g("mdt_arrived_at"),
        ct_at: g("ct_at"),
        operation_at: g("operation_at"),
        icu_in_at: g("icu_in_at"),
        icu_out_at: g("icu_out_at"),
        discharge_at: g("discharge_at"),
        rehab_at: g("rehab_at"),
        psych_at: g("psych_at"),
        gcs_eye,
        gcs_verbal,
        gcs_motor,
        sbp,
        rr,
        injuries: g("icd10")
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|c| InjuryInput {
                icd10: c.to_string(),
                ..Default::default()
            })
            .collect(),
        outcome_discharge: g("outcome_discharge"),
        outcome_30d: g("outcome_30d"),
        disposition: g("disposition"),
    })
}

/// Check and import a file. The report lists every row's errors; `refused` when nothing was
/// written.
pub async fn import(
    st: &Platform,
    who: &Principal,
    bytes: &[u8],
    filename: &str,
) -> Result<ImportReport, AppError> {
    who.require(perms::WRITE)?;
    let table = tabular::read(bytes, filename)?;
    table.require(&["patient_id", "mechanism", "org_code", "arrived_at"])?;
    let mut report = ImportReport {
        rows: table.rows.len(),
        ..Default::default()
    };
    let mut good = Vec::new();
    for row in &table.rows {
        let input = match row_input(&table, row) {
            Ok(i) => i,
            Err(errs) => {
                report.row_failed(row.number, errs);
                continue;
            }
        };
        match service::prepare(st, who, input).await {
            Ok(p) => good.push(p),
            Err(AppError::Invalid(errs)) => report.row_failed(row.number, errs),
            Err(e) => return Err(e),
        }
    }
    if report.bad_rows() > 0 {
        report.refused = true;
        report.skipped = report.bad_rows();
        return Ok(report);
    }
    report.imported = good.len();
    let who2 = who.clone();
    let name = filename.to_string();
    st.write(move |tx| {
        Box::pin(async move {
            let n = good.len();
            for (mut r, s, i) in good {
                r.id = tianshan_platform::new_id();
                r.created_by = who2.username.clone();
                r.version = 1;
                r.created_at = tx.now().to_string();
                r.updated_at = r.created_at.clone();
                store::insert(tx, &r, &s, &i).await?;
                tx.record(
                    &who2,
                    Event::new(Action::CREATE, ENTITY, &r.id)
                        .patient(&r.patient_id)
                        .detail("import"),
                );
            }
            let detail = format!("{n} trauma records from {name}");
            tx.record(
                &who2,
                Event::new(Action::IMPORT, ENTITY, "").detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    Ok(report)
}
