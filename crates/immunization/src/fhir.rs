//! The FHIR faces of the engine: reads an `$immds-forecast` Parameters resource (assessment
//! date, Patient, Immunization, Condition) and writes the Parameters answer (ImmunizationEvaluation
//! and ImmunizationRecommendation), one resource or one NDJSON stream at a time.

use std::io::{self, BufRead, Write};

use serde_json::{json, Map, Value};
use time::Date;

use crate::engine::{forecast, Forecast};
use crate::evaluate::EvalStatus;
use crate::forecast::SeriesStatus;
use crate::patient::{DoseAdministered, Gender, PatientHistory, PatientObservation};
use crate::schedule::Schedule;
use crate::span::parse_date;

const CVX_SYSTEM: &str = "http://hl7.org/fhir/sid/cvx";
const MVX_SYSTEM: &str = "http://hl7.org/fhir/sid/mvx";
const CDSI_OBSERVATION_SYSTEM: &str = "https://www.cdc.gov/vaccines/programs/iis/cdsi.html";
const SNOMED_SYSTEM: &str = "http://snomed.info/sct";
const DOSE_STATUS_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status";
const LOINC: &str = "http://loinc.org";
const RECOMMENDATION_STATUS_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status";

/// Why a Parameters resource could not be forecast. Messages are meant for people.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForecastError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("expected a FHIR Parameters resource, got {0}")]
    NotParameters(String),
    #[error("parameter `assessmentDate` is missing (valueDate, e.g. 2025-11-10)")]
    MissingAssessmentDate,
    #[error("parameter `patient` is missing (a Patient resource)")]
    MissingPatient,
    #[error("the Patient has no birthDate")]
    MissingBirthDate,
    #[error("{field}: `{value}` is not a date (use YYYY-MM-DD)")]
    BadDate { field: String, value: String },
    #[error("Immunization {id}: no vaccine code this schedule knows (CVX or local product code)")]
    UnknownVaccine { id: String },
    #[error("Immunization {id}: no occurrenceDateTime")]
    MissingOccurrence { id: String },
}

/// A parsed `$immds-forecast` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForecastRequest {
    pub id: Option<String>,
    pub patient_id: Option<String>,
    pub assessment_date: Date,
    pub history: PatientHistory,
}

/// Counts of an NDJSON run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub read: usize,
    pub written: usize,
    pub failed: usize,
}

fn date_field(field: &str, value: Option<&Value>) -> Result<Option<Date>, ForecastError> {
    match value.and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .map_err(|_| ForecastError::BadDate {
                field: field.to_owned(),
                value: text.to_owned(),
            }),
    }
}

fn codings(concept: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("system")?.as_str().unwrap_or_default(),
                c.get("code")?.as_str()?,
            ))
        })
}

/// Reads the inputs of an `$immds-forecast` Parameters resource.
pub fn read_parameters(
    schedule: &Schedule,
    params: &Value,
) -> Result<ForecastRequest, ForecastError> {
    let kind = params
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("nothing");
    if kind != "Parameters" {
        return Err(ForecastError::NotParameters(kind.to_owned()));
    }
    let list = params
        .get("parameter")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut assessment = None;
    let mut patient = None;
    let mut doses = Vec::new();
    let mut observations = Vec::new();
    for p in list {
        let resource = p.get("resource");
        match p.get("name").and_then(Value::as_str).unwrap_or_default() {
            "assessmentDate" => {
                let value = p.get("valueDate").or_else(|| p.get("valueDateTime"));
                assessment = date_field("assessmentDate", value)?;
            }
            "patient" => patient = resource,
            "immunization" => {
                let Some(imm) = resource else { continue };
                let status = imm
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("completed");
                if status != "completed" {
                    continue;
                }
                let id = imm
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let code = imm.get("vaccineCode");
                let cvx = codings(code)
                    .find(|(s, _)| *s == CVX_SYSTEM)
                    .and_then(|(_, c)| crate::model::Cvx::parse(c))
                    .or_else(|| codings(code).find_map(|(_, c)| schedule.resolve_product(c)))
                    .ok_or_else(|| ForecastError::UnknownVaccine { id: id.clone() })?;
                let mvx = codings(code)
                    .find(|(s, _)| *s == MVX_SYSTEM)
                    .map(|(_, c)| c.to_owned());
                let date = date_field(
                    "Immunization.occurrenceDateTime",
                    imm.get("occurrenceDateTime"),
                )?
                .ok_or_else(|| ForecastError::MissingOccurrence { id: id.clone() })?;
                doses.push(DoseAdministered { id, date, cvx, mvx });
            }
            "condition" | "observation" => {
                let Some(res) = resource else { continue };
                if !is_active(res) {
                    continue;
                }
                let date = date_field(
                    "onsetDateTime",
                    res.get("onsetDateTime")
                        .or_else(|| res.get("effectiveDateTime")),
                )?;
                let abated = date_field("abatementDateTime", res.get("abatementDateTime"))?;
                for code in observation_codes(schedule, res) {
                    observations.push((PatientObservation { code, date }, abated));
                }
            }
            _ => {}
        }
    }
    let assessment_date = assessment.ok_or(ForecastError::MissingAssessmentDate)?;
    // A condition that ended on or before the assessment date is no longer active.
    let observations = observations
        .into_iter()
        .filter(|(_, abated)| abated.is_none_or(|a| a > assessment_date))
        .map(|(o, _)| o)
        .collect();
    let patient = patient.ok_or(ForecastError::MissingPatient)?;
    let birth_date = date_field("Patient.birthDate", patient.get("birthDate"))?
        .ok_or(ForecastError::MissingBirthDate)?;
    let gender = Gender::from_fhir(
        patient
            .get("gender")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    Ok(ForecastRequest {
        id: params.get("id").and_then(Value::as_str).map(str::to_owned),
        patient_id: patient.get("id").and_then(Value::as_str).map(str::to_owned),
        assessment_date,
        history: PatientHistory {
            birth_date,
            gender,
            doses,
            observations,
        },
    })
}

/// Whether a Condition or Observation describes something active for the patient: not a
/// condition that is inactive, in remission or resolved, nor one refuted or entered in error,
/// nor an observation cancelled or entered in error (CDSi counts active observations only).
fn is_active(res: &Value) -> bool {
    let coded = |field: &str, codes: &[&str]| {
        res.get(field)
            .and_then(|c| c.get("coding"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("code").and_then(Value::as_str))
            .any(|code| codes.contains(&code))
    };
    let status = res
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    !coded("clinicalStatus", &["inactive", "remission", "resolved"])
        && !coded("verificationStatus", &["refuted", "entered-in-error"])
        && !matches!(status, "cancelled" | "entered-in-error")
}

/// The CDSi observation codes of a Condition or Observation: its codings in the CDSi system,
/// in `code` or (an Observation's answer) `valueCodeableConcept`. A resource with no CDSi coding
/// but SNOMED CT codes is read as the CDSi observation whose coded values hold all of them, when
/// exactly one does; an ambiguous code (86406008 is both "HIV infection" and "HIV/AIDS") is left
/// out, as CDSi leaves out indications it cannot resolve.
fn observation_codes(schedule: &Schedule, res: &Value) -> Vec<String> {
    let concepts = [res.get("code"), res.get("valueCodeableConcept")];
    let cdsi: Vec<String> = concepts
        .iter()
        .flat_map(|c| codings(*c))
        .filter(|(system, _)| *system == CDSI_OBSERVATION_SYSTEM)
        .map(|(_, code)| code.to_owned())
        .collect();
    if !cdsi.is_empty() {
        return cdsi;
    }
    let snomed: Vec<&str> = concepts
        .iter()
        .flat_map(|c| codings(*c))
        .filter(|(system, _)| *system == SNOMED_SYSTEM)
        .map(|(_, code)| code)
        .collect();
    schedule
        .observation_for_snomed(&snomed)
        .map(|code| vec![code.to_owned()])
        .unwrap_or_default()
}

/// `POST /fhir/r4/$immds-forecast`: Parameters in, Parameters out.
pub fn forecast_parameters(schedule: &Schedule, params: &Value) -> Result<Value, ForecastError> {
    let request = read_parameters(schedule, params)?;
    let result = forecast(schedule, &request.history, request.assessment_date);
    Ok(write_parameters(schedule, &request, &result))
}

/// Reads one Parameters per line, writes one Parameters per line; bad lines are reported on
/// `err` as `line N: ...` and skipped.
pub fn forecast_ndjson(
    schedule: &Schedule,
    input: impl BufRead,
    mut out: impl Write,
    err: impl Write,
) -> io::Result<RunSummary> {
    each_line(
        input,
        err,
        |params| {
            let value = forecast_parameters(schedule, params)?;
            Ok(move |out: &mut dyn Write| -> io::Result<()> {
                serde_json::to_writer(&mut *out, &value)?;
                out.write_all(b"\n")
            })
        },
        &mut out,
    )
}

/// Reads one Parameters per line and writes the plain-text explanation of each forecast
/// (`tianshan forecast --explain`), one block per line read; bad lines as in
/// [`forecast_ndjson`].
pub fn explain_ndjson(
    schedule: &Schedule,
    input: impl BufRead,
    mut out: impl Write,
    err: impl Write,
) -> io::Result<RunSummary> {
    each_line(
        input,
        err,
        |params| {
            let request = read_parameters(schedule, params)?;
            let text = crate::explain::explain(schedule, &request.history, request.assessment_date)
                .to_text();
            let title = format!(
                "# {} (patient {})",
                request.id.as_deref().unwrap_or("Parameters"),
                request.patient_id.as_deref().unwrap_or("unknown")
            );
            Ok(move |out: &mut dyn Write| -> io::Result<()> { writeln!(out, "{title}\n{text}") })
        },
        &mut out,
    )
}

/// The NDJSON loop shared by both faces: blank lines skipped, each line answered by `answer`
/// or reported on `err` as `line N: <message>`.
fn each_line<W: FnOnce(&mut dyn Write) -> io::Result<()>>(
    input: impl BufRead,
    mut err: impl Write,
    answer: impl Fn(&Value) -> Result<W, ForecastError>,
    out: &mut dyn Write,
) -> io::Result<RunSummary> {
    let mut summary = RunSummary::default();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        summary.read += 1;
        let answer = serde_json::from_str::<Value>(&line)
            .map_err(|e| ForecastError::Json(e.to_string()))
            .and_then(|params| answer(&params));
        match answer {
            Ok(write) => {
                write(out)?;
                summary.written += 1;
            }
            Err(e) => {
                writeln!(err, "line {}: {e}", n + 1)?;
                summary.failed += 1;
            }
        }
    }
    out.flush()?;
    Ok(summary)
}

fn fhir_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Builds the `$immds-forecast` output Parameters.
pub fn write_parameters(
    schedule: &Schedule,
    request: &ForecastRequest,
    result: &Forecast<'_>,
) -> Value {
    let patient_ref = json!({ "reference": format!("Patient/{}", request.patient_id.as_deref().unwrap_or("unknown")) });
    let date = fhir_date(request.assessment_date);
    let authority = json!({ "display": "Tianshan immunization engine (CDSi logic)" });
    let mut parameters = Vec::new();
    for (i, dose) in request.history.doses.iter().enumerate() {
        for group in &schedule.vaccine_groups {
            let Some((status, reason)) = result.dose_status(i, &group.name) else {
                continue;
            };
            let evals: Vec<_> = result
                .evaluations
                .iter()
                .filter(|e| e.dose == i && e.vaccine_group == group.name)
                .collect();
            let antigens: Vec<&str> = evals.iter().map(|e| e.antigen).collect();
            let (code, display) = match status {
                EvalStatus::Valid => ("valid", "Valid"),
                _ => ("notvalid", "Not valid"),
            };
            let mut evaluation = Map::new();
            evaluation.insert("resourceType".into(), json!("ImmunizationEvaluation"));
            evaluation.insert(
                "id".into(),
                json!(format!(
                    "{}-eval-{}",
                    safe_id(&dose.id, i),
                    parameters.len() + 1
                )),
            );
            evaluation.insert("status".into(), json!("completed"));
            evaluation.insert("patient".into(), patient_ref.clone());
            evaluation.insert("date".into(), json!(date));
            evaluation.insert("authority".into(), authority.clone());
            evaluation.insert(
                "targetDisease".into(),
                json!({ "text": antigens.join(", ") }),
            );
            evaluation.insert(
                "immunizationEvent".into(),
                json!({ "reference": format!("Immunization/{}", dose.id) }),
            );
            evaluation.insert(
                "doseStatus".into(),
                json!({ "coding": [{ "system": DOSE_STATUS_SYSTEM, "code": code, "display": display }], "text": status.as_str() }),
            );
            if !reason.is_empty() {
                let list: Vec<Value> = reason
                    .iter()
                    .map(|r| json!({ "text": r.as_str() }))
                    .collect();
                evaluation.insert("doseStatusReason".into(), Value::Array(list));
            }
            if let Some(first) = evals.first() {
                evaluation.insert("series".into(), json!(first.series));
                if let Some(n) = first.target_dose {
                    evaluation.insert("doseNumberPositiveInt".into(), json!(n));
                }
            }
            parameters.push(json!({ "name": "evaluation", "resource": Value::Object(evaluation) }));
        }
    }
    let recommendations: Vec<Value> = result
        .vaccine_groups
        .iter()
        .map(|g| {
            let codings: Vec<Value> = g
                .vaccines
                .iter()
                .map(|cvx| {
                    let mut c = json!({ "system": CVX_SYSTEM, "code": cvx.to_string() });
                    if let Some(name) = schedule.cvx_name(*cvx) {
                        c["display"] = json!(name);
                    }
                    c
                })
                .collect();
            let mut criteria = Vec::new();
            for (loinc, display, value) in [
                ("30981-5", "Earliest date to give", g.earliest),
                ("30980-7", "Date vaccine due", g.recommended),
                ("59778-1", "Date when overdue for immunization", g.past_due),
                ("59777-3", "Latest date to give immunization", g.latest),
            ] {
                if let Some(value) = value {
                    criteria.push(json!({
                        "code": { "coding": [{ "system": LOINC, "code": loinc, "display": display }] },
                        "value": fhir_date(value),
                    }));
                }
            }
            let mut entry = json!({
                "vaccineCode": [{ "coding": codings, "text": g.vaccine_group }],
                "targetDisease": { "text": g.vaccine_group },
                "forecastStatus": forecast_status(g, request.assessment_date),
            });
            if !criteria.is_empty() {
                entry["dateCriterion"] = json!(criteria);
            }
            if let Some(series) = g.series.first() {
                entry["series"] = json!(series);
            }
            if let Some(n) = g.dose_number {
                entry["doseNumberPositiveInt"] = json!(n);
            }
            entry
        })
        .collect();
    let recommendation = json!({
        "resourceType": "ImmunizationRecommendation",
        "id": format!("{}-recommendation", request.patient_id.as_deref().map_or("patient".to_owned(), |p| safe_id(p, 0))),
        "patient": patient_ref,
        "date": date,
        "authority": authority,
        "recommendation": recommendations,
    });
    parameters.push(json!({ "name": "recommendation", "resource": recommendation }));
    let mut out = json!({ "resourceType": "Parameters", "parameter": parameters });
    if let Some(id) = &request.id {
        out["id"] = json!(format!("{}-result", safe_id(id, 0)));
    }
    out
}

/// `forecastStatus`: the CDSi status as text, with the HL7 recommendation-status code when one fits.
fn forecast_status(group: &crate::engine::VaccineGroupForecast<'_>, assessment: Date) -> Value {
    let code = match group.status {
        SeriesStatus::NotComplete if group.past_due.is_some_and(|d| d < assessment) => {
            Some("overdue")
        }
        SeriesStatus::NotComplete => Some("due"),
        SeriesStatus::Complete => Some("complete"),
        SeriesStatus::Immune => Some("immune"),
        SeriesStatus::Contraindicated => Some("contraindicated"),
        SeriesStatus::NotRecommended | SeriesStatus::AgedOut => None,
    };
    match code {
        Some(code) => json!({
            "coding": [{ "system": RECOMMENDATION_STATUS_SYSTEM, "code": code }],
            "text": group.status.as_str(),
        }),
        None => json!({ "text": group.status.as_str() }),
    }
}

/// FHIR ids allow `[A-Za-z0-9\-\.]{1,64}`.
fn safe_id(raw: &str, fallback: usize) -> String {
    let id: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if id.is_empty() {
        format!("dose{fallback}")
    } else {
        id
    }
}
