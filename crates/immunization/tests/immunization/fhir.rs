//! The FHIR faces: NDJSON streaming with line-numbered errors, and the Parameters shape.

use serde_json::{json, Value};
use tianshan_immunization::{forecast_ndjson, forecast_parameters, ForecastError};

use super::china_schedule;

fn request(assessment: &str, birth: &str, doses: &[(&str, &str, &str)]) -> Value {
    let mut parameter = vec![
        json!({ "name": "assessmentDate", "valueDate": assessment }),
        json!({ "name": "patient", "resource": { "resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "female" } }),
    ];
    for (id, cvx, date) in doses {
        parameter.push(json!({ "name": "immunization", "resource": {
            "resourceType": "Immunization", "id": id, "status": "completed",
            "vaccineCode": { "coding": [{ "system": "http://hl7.org/fhir/sid/cvx", "code": cvx }] },
            "patient": { "reference": "Patient/p1" }, "occurrenceDateTime": date } }));
    }
    json!({ "resourceType": "Parameters", "id": "req1", "parameter": parameter })
}

#[test]
fn parameters_answer_has_the_contracted_shape() {
    let schedule = china_schedule();
    let input = request(
        "2024-06-01",
        "2024-03-10",
        &[("imm1", "08", "2024-03-10"), ("imm2", "08", "2024-04-01")],
    );
    let out = forecast_parameters(&schedule, &input).unwrap();
    assert_eq!(out["resourceType"], "Parameters");
    let params = out["parameter"].as_array().unwrap();
    let evaluations: Vec<&Value> = params
        .iter()
        .filter(|p| p["name"] == "evaluation")
        .map(|p| &p["resource"])
        .collect();
    assert_eq!(evaluations.len(), 2);
    let second = evaluations
        .iter()
        .find(|e| e["immunizationEvent"]["reference"] == "Immunization/imm2")
        .unwrap();
    assert_eq!(second["resourceType"], "ImmunizationEvaluation");
    assert!(second["id"].as_str().is_some());
    let status = &second["doseStatus"]["coding"][0];
    assert_eq!(
        status["system"],
        "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status"
    );
    assert_eq!(status["code"], "notvalid");
    assert_eq!(second["doseStatusReason"][0]["text"], "Age: Too Young");
    let hepb = super::recommendation_for(&out, "HepB");
    assert_eq!(hepb["forecastStatus"]["text"], "Not complete");
    let codes: Vec<&str> = hepb["dateCriterion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"30981-5") && codes.contains(&"30980-7"),
        "{codes:?}"
    );
    assert_eq!(
        hepb["dateCriterion"][0]["code"]["coding"][0]["system"],
        "http://loinc.org"
    );
    // The next dose counts 28 days from the dose given too young (CALCDTINT-1).
    assert_eq!(hepb["dateCriterion"][0]["value"], "2024-04-29");
}

#[test]
fn ndjson_reports_bad_lines_by_number_and_goes_on() {
    let schedule = china_schedule();
    let good = request("2024-06-01", "2024-03-10", &[("imm1", "08", "2024-03-10")]).to_string();
    let input = format!("{good}\nnot json\n{{\"resourceType\":\"Patient\"}}\n\n{good}\n");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = forecast_ndjson(&schedule, input.as_bytes(), &mut out, &mut err).unwrap();
    assert_eq!((summary.read, summary.written, summary.failed), (4, 2, 2));
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("line 2: not JSON"), "{err}");
    assert!(
        err.contains("line 3: expected a FHIR Parameters resource"),
        "{err}"
    );
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 2);
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["resourceType"], "Parameters");
    }
}

#[test]
fn errors_are_human_messages() {
    let schedule = china_schedule();
    let no_date = json!({ "resourceType": "Parameters", "parameter": [] });
    assert_eq!(
        forecast_parameters(&schedule, &no_date),
        Err(ForecastError::MissingAssessmentDate)
    );
    let bad = request("2024-13-01", "2024-03-10", &[]);
    let message = forecast_parameters(&schedule, &bad)
        .unwrap_err()
        .to_string();
    assert!(message.contains("2024-13-01"), "{message}");
    let local = request(
        "2024-06-01",
        "2024-03-10",
        &[("x", "not-a-code", "2024-05-01")],
    );
    assert!(matches!(
        forecast_parameters(&schedule, &local),
        Err(ForecastError::UnknownVaccine { .. })
    ));
}

#[test]
fn explain_ndjson_prints_one_block_per_line_and_reports_bad_lines() {
    let schedule = china_schedule();
    let good = request("2024-06-01", "2024-03-10", &[("imm1", "08", "2024-03-10")]).to_string();
    let input = format!("{good}\nnot json\n{good}\n");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary =
        tianshan_immunization::explain_ndjson(&schedule, input.as_bytes(), &mut out, &mut err)
            .unwrap();
    assert_eq!((summary.read, summary.written, summary.failed), (3, 2, 1));
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches("# req1 (patient p1)").count(), 2);
    assert!(out.contains("== HepB =="), "{out}");
    assert!(out.contains("Target dose 1: satisfied by CVX 08"), "{out}");
    assert!(String::from_utf8(err).unwrap().contains("line 2: not JSON"));
}

/// The CDC underlying-conditions input of one case (Conditions as the CDC NDJSON carries them).
fn cdc_case(id: &str) -> Value {
    let path = super::data_dir()
        .join("cdsi/testcases-fhir-ndjson/underlying-conditions-test-cases-v4.6.ndjson");
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&format!("\"parameters-{id}")))
        .unwrap();
    serde_json::from_str(line).unwrap()
}

fn cdc() -> tianshan_immunization::Schedule {
    tianshan_immunization::load_schedule_dir(
        super::data_dir().join("cdsi/supporting-data-v4.64-508"),
    )
    .unwrap()
}

/// The conditions of each parameter of a case, mutable.
fn conditions(params: &mut Value) -> Vec<&mut Value> {
    params["parameter"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|p| p["name"] == "condition")
        .map(|p| &mut p["resource"])
        .collect()
}

fn status_of(answer: &Value, group: &str) -> String {
    super::recommendation_for(answer, group)["forecastStatus"]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn earliest_of(answer: &Value, group: &str) -> Option<String> {
    super::recommendation_for(answer, group)["dateCriterion"][0]["value"]
        .as_str()
        .map(str::to_owned)
}

/// Conditions as the CDC sends them drive series selection (a transplant and its date: the
/// risk series, 4 weeks after the dose), contraindications (adverse reaction: contraindicated)
/// and evidence of immunity (history of varicella: immune).
#[test]
fn cdc_conditions_drive_series_contraindications_and_immunity() {
    let schedule = cdc();
    let hsct = cdc_case("2016-UC-0069");
    let request = tianshan_immunization::fhir::read_parameters(&schedule, &hsct).unwrap();
    let codes: Vec<(&str, Option<String>)> = request
        .history
        .observations
        .iter()
        .map(|o| (o.code.as_str(), o.date.map(|d| d.to_string())))
        .collect();
    assert_eq!(codes, [("004", None), ("171", Some("2014-03-23".into()))]);
    let answer = forecast_parameters(&schedule, &hsct).unwrap();
    assert_eq!(earliest_of(&answer, "Hib").as_deref(), Some("2014-10-17"));
    let allergy = forecast_parameters(&schedule, &cdc_case("2017-UC-0017")).unwrap();
    assert_eq!(status_of(&allergy, "Cholera"), "Contraindicated");
    let varicella = forecast_parameters(&schedule, &cdc_case("2016-UC-0019")).unwrap();
    assert_eq!(status_of(&varicella, "Varicella"), "Immune");
}

/// A condition that is resolved, refuted, entered in error or ended before the assessment date
/// is not an active observation and changes nothing.
#[test]
fn inactive_conditions_are_not_observations() {
    let schedule = cdc();
    let plain = forecast_parameters(&schedule, &cdc_case("2016-UC-0019")).unwrap();
    assert_eq!(status_of(&plain, "Varicella"), "Immune");
    let variants: [(&str, Value); 4] = [
        (
            "clinicalStatus",
            json!({ "coding": [{ "code": "resolved" }] }),
        ),
        (
            "verificationStatus",
            json!({ "coding": [{ "code": "refuted" }] }),
        ),
        (
            "verificationStatus",
            json!({ "coding": [{ "code": "entered-in-error" }] }),
        ),
        ("abatementDateTime", json!("2005-03-01")),
    ];
    for (field, value) in variants {
        let mut case = cdc_case("2016-UC-0019");
        conditions(&mut case)[0][field] = value.clone();
        let answer = forecast_parameters(&schedule, &case).unwrap();
        assert_eq!(
            status_of(&answer, "Varicella"),
            "Not complete",
            "{field} {value}"
        );
    }
    let mut later = cdc_case("2016-UC-0019");
    conditions(&mut later)[0]["abatementDateTime"] = json!("2006-01-01");
    assert_eq!(
        status_of(
            &forecast_parameters(&schedule, &later).unwrap(),
            "Varicella"
        ),
        "Immune"
    );
}

/// An Observation whose answer (valueCodeableConcept) is the CDSi code counts like a Condition,
/// and SNOMED CT alone is read when it names one CDSi observation only.
#[test]
fn observations_and_unambiguous_snomed_codes_are_read() {
    let schedule = cdc();
    let expected = forecast_parameters(&schedule, &cdc_case("2016-UC-0019")).unwrap();
    let mut observation = cdc_case("2016-UC-0019");
    {
        let condition = conditions(&mut observation).remove(0);
        let value = condition["code"].clone();
        *condition = json!({
            "resourceType": "Observation", "status": "final",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "11450-4" }] },
            "valueCodeableConcept": value, "effectiveDateTime": "2005-04-01"
        });
    }
    for p in observation["parameter"].as_array_mut().unwrap() {
        if p["name"] == "condition" {
            p["name"] = json!("observation");
        }
    }
    assert_eq!(
        forecast_parameters(&schedule, &observation).unwrap(),
        expected
    );
    // SNOMED only: 38907003 (varicella) names one CDSi observation.
    let mut snomed = cdc_case("2016-UC-0019");
    {
        let condition = conditions(&mut snomed).remove(0);
        let codings = condition["code"]["coding"].as_array_mut().unwrap();
        codings.retain(|c| c["system"] == "http://snomed.info/sct");
    }
    assert_eq!(forecast_parameters(&schedule, &snomed).unwrap(), expected);
    // 86406008 is both "HIV infection" (186) and "HIV/AIDS" (026): left out, not guessed.
    let request = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "assessmentDate", "valueDate": "2024-01-01" },
        { "name": "patient", "resource": { "resourceType": "Patient", "birthDate": "1990-01-01" } },
        { "name": "condition", "resource": { "resourceType": "Condition",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "86406008" }] } } }
    ]});
    let read = tianshan_immunization::fhir::read_parameters(&schedule, &request).unwrap();
    assert!(read.history.observations.is_empty());
}
