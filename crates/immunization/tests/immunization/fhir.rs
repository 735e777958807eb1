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
