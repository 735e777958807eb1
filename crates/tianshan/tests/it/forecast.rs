//! The immunization forecast's faces: `tianshan forecast` over NDJSON and
//! `POST /fhir/r4/$immds-forecast` on the server (China schedule by default).
use std::process::Command;

use serde_json::Value;

use crate::both;
use crate::helpers::TestApp;

fn data(path: &str) -> std::path::PathBuf {
    crate::helpers::shared_data().join(path)
}

fn first_cases(n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(data(
        "cdsi/testcases-fhir-ndjson/healthy-test-cases-v4.45.ndjson",
    ))
    .unwrap();
    text.lines().take(n).map(str::to_string).collect()
}

#[test]
fn cli_answers_each_line_and_reports_bad_ones_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = first_cases(4);
    lines.insert(2, "{\"resourceType\": \"Parameters\"".to_string());
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tianshan"))
        .args([
            "forecast",
            "--schedule",
            data("cdsi/supporting-data-v4.64-508").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a failed line makes the exit code say so"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3:"), "{stderr}");
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 4);
    for a in &answers {
        assert_eq!(a["resourceType"], "Parameters");
        let rec = a["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "recommendation")
            .unwrap();
        let groups: Vec<&str> = rec["resource"]["recommendation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["vaccineCode"][0]["text"].as_str().unwrap())
            .collect();
        assert!(groups.contains(&"DTaP/Tdap/Td"), "{groups:?}");
    }
    let ok = Command::new(env!("CARGO_BIN_EXE_tianshan"))
        .args(["forecast", "--input", "/nonexistent.ndjson"])
        .output()
        .unwrap();
    assert!(!ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stderr).contains("cannot open /nonexistent.ndjson"));
}

async fn server_forecast_operation(app: &TestApp) {
    let c = app.api("nurse").await;
    let body = first_cases(1).remove(0);
    let r = c
        .post(app.url("/fhir/r4/$immds-forecast"))
        .header("content-type", "application/fhir+json")
        .header("content-type", "application/fhir+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resourceType"], "Parameters");
    assert!(v["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "recommendation"));
    let r = c
        .post(app.url("/fhir/r4/$immds-forecast"))
        .header("content-type", "application/fhir+json")
        .body("{\"resourceType\": \"Patient\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resourceType"], "OperationOutcome");
    let r = reqwest::Client::new()
        .post(app.url("/fhir/r4/$immds-forecast"))
        .header("content-type", "application/fhir+json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
both!(server_forecast_operation);
