//! FHIR R4: CapabilityStatement, Patient round trip and search, official examples and
//! Synthea patients accepted or refused with an OperationOutcome.
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{audit_for, TestApp};

fn shared_data() -> PathBuf {
    crate::helpers::shared_data()
}

async fn fhir_post(c: &reqwest::Client, app: &TestApp, ty: &str, body: &Value) -> (u16, Value) {
    let r = c
        .post(app.url(&format!("/fhir/r4/{ty}")))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn is_outcome(v: &Value) -> bool {
    v["resourceType"] == "OperationOutcome"
        && v["issue"].as_array().is_some_and(|i| {
            !i.is_empty() && i[0]["diagnostics"].as_str().is_some_and(|d| !d.is_empty())
        })
}

async fn capability_statement(app: &TestApp) {
    let c = app.api("nurse").await;
    let r = c.get(app.url("/fhir/r4/metadata")).send().await.unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/fhir+json"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resourceType"], "CapabilityStatement");
    assert_eq!(v["fhirVersion"], "4.0.1");
    let types: Vec<&str> = v["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    // The registry's four first, then every type the other modules declare, each once.
    let declared: Vec<&str> = tianshan::app::modules()
        .iter()
        .flat_map(|m| m.fhir.iter().map(|t| t.resource_type()))
        .collect();
    assert_eq!(
        types[..4],
        ["Patient", "Practitioner", "Organization", "Location"]
    );
    assert_eq!(types, declared);
}
both!(capability_statement);

async fn patient_round_trip_and_search(app: &TestApp) {
    let c = app.api("nurse").await;
    let digits: Vec<u32> = "65312120190612002"
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let idn = format!(
        "65312120190612002{}",
        tianshan_registry::bulk::check_char(&digits)
    );
    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": idn}, {"system": "urn:example:mrn", "value": "MRN-77"}],
        "name": [{"family": "阿", "given": ["依古丽"]}, {"text": "ئايگۈل"}, {"text": "Aygul"}],
        "gender": "female",
        "birthDate": "2019-06-12",
        "telecom": [{"system": "phone", "value": "13912345678"}, {"system": "email", "value": "a@example.org"}],
        "managingOrganization": {"reference": "Organization/653121100201"},
        "communication": [{"language": {"text": "Uyghur"}}]
    });
    let (status, created) = fhir_post(&c, app, "Patient", &patient).await;
    let created = if status == 201 {
        created
    } else {
        let d = created["issue"][1]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .to_string();
        panic!("create refused ({status}): {created} {d}");
    };
    let id = created["id"].as_str().unwrap().to_string();
    let read: Value = c
        .get(app.url(&format!("/fhir/r4/Patient/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["gender"], "female");
    assert_eq!(read["birthDate"], "2019-06-12");
    assert_eq!(read["name"][0]["family"], "阿");
    assert_eq!(
        read["managingOrganization"]["reference"],
        "Organization/653121100201"
    );
    // Nothing lost: the second identifier, the e-mail and `communication` come back.
    assert!(read["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["value"] == "MRN-77"));
    assert!(read["telecom"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["value"] == "a@example.org"));
    assert_eq!(read["communication"][0]["language"]["text"], "Uyghur");
    let by_id = format!("identifier=urn:oid:2.16.156.10011.1.1|{idn}");
    for q in [
        by_id.as_str(),
        "name=ayg",
        "name=aygl",
        "family=阿",
        "birthdate=2019-06-12",
        "birthdate=ge2019-06-01&gender=female",
        "name=ئايگۈل",
    ] {
        let b: Value = c
            .get(app.url(&format!("/fhir/r4/Patient?{q}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(b["resourceType"], "Bundle");
        assert!(
            b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["resource"]["id"] == id.as_str()),
            "search {q} missed the patient: {b}"
        );
    }
    // Paging: _count=2 gives a next link that continues the list.
    let b: Value = c
        .get(app.url("/fhir/r4/Patient?name=a&_count=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["entry"].as_array().unwrap().len(), 2);
    let next = b["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let b2: Value = c.get(next).send().await.unwrap().json().await.unwrap();
    assert_ne!(
        b2["entry"][0]["resource"]["id"],
        b["entry"][0]["resource"]["id"]
    );
    // Update with If-Match; audit has FHIR-channel entries.
    let mut upd = read.clone();
    upd["telecom"] = json!([{"system": "phone", "value": "13900000000"}]);
    let r = c
        .put(app.url(&format!("/fhir/r4/Patient/{id}")))
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/fhir+json")
        .body(upd.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .put(app.url(&format!("/fhir/r4/Patient/{id}")))
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/fhir+json")
        .body(upd.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(is_outcome(&r.json().await.unwrap()));
    let entries = audit_for(app, &id).await;
    assert!(entries.iter().any(|e| e.1 == "create" && e.2 == "fhir"));
    assert!(entries.iter().any(|e| e.1 == "read" && e.2 == "fhir"));
    // Out of scope over FHIR too.
    let r = app
        .api("official")
        .await
        .get(app.url(&format!("/fhir/r4/Patient/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(is_outcome(&r.json().await.unwrap()));
}
both!(patient_round_trip_and_search);

async fn bad_resources_get_operation_outcomes(app: &TestApp) {
    let c = app.api("nurse").await;
    let r = c
        .post(app.url("/fhir/r4/Patient"))
        .header("content-type", "application/fhir+json")
        .body("{\"resourceType\": \"Patient\",")
        .send()
        .await
        .unwrap();
    // Malformed JSON is a bad request (400); a resource that breaks a rule is 422.
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(is_outcome(&v));
    assert!(
        v.to_string().contains("JSON") && v.to_string().contains("line 1, column 27"),
        "{v}"
    );
    let (s, v) = fhir_post(
        &c,
        app,
        "Patient",
        &json!({"resourceType": "Patient", "gender": "M"}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["issue"][1]["expression"][0], "Patient.gender");
    let (s, v) = fhir_post(
        &c,
        app,
        "Patient",
        &json!({"resourceType": "Observation", "status": "final"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("Observation"),
        "{v}"
    );
    let (s, v) = fhir_post(&c, app, "Goal", &json!({"resourceType": "Goal"})).await;
    // A type no module serves (Observation is the trauma registry's now).
    assert_eq!(s, 404);
    assert!(is_outcome(&v));
    let r = c
        .get(app.url("/fhir/r4/Patient?birthdate=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = reqwest::get(app.url("/fhir/r4/Patient?name=a"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(is_outcome(&r.json().await.unwrap()));
}
both!(bad_resources_get_operation_outcomes);

/// Every official example: a supported type is created (201, same type back) or refused
/// with an OperationOutcome that says why; other types are refused as unsupported.
async fn official_examples_accepted_or_refused(app: &TestApp) {
    let dir = shared_data().join("fhir-r4-examples/examples");
    let admin = app.api("admin").await;
    let doctor = app.api("doctor").await;
    let (mut created, mut refused) = (std::collections::BTreeMap::<String, u32>::new(), 0u32);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let ty = v["resourceType"].as_str().unwrap().to_string();
        let client = if ty == "Patient" { &doctor } else { &admin };
        let (status, body) = fhir_post(client, app, &ty, &v).await;
        if status == 201 {
            assert_eq!(body["resourceType"], ty.as_str(), "{}", f.display());
            *created.entry(ty).or_default() += 1;
        } else {
            assert!((400..500).contains(&status), "{}: {status}", f.display());
            assert!(is_outcome(&body), "{}: {body}", f.display());
            refused += 1;
        }
    }
    // Patients naming an organisation this network does not have (Organization/1) or no name
    // at all are refused (see below); the others must be taken.
    assert!(
        created.get("Patient").copied().unwrap_or(0) >= 5,
        "{created:?}"
    );
    assert!(
        created.get("Organization").copied().unwrap_or(0) >= 8,
        "{created:?}"
    );
    assert!(
        created.get("Location").copied().unwrap_or(0) >= 4,
        "{created:?}"
    );
    assert!(refused > 300);
    // The refusals say why, in the reader's language.
    let ex: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("Patient-example.json")).unwrap())
            .unwrap();
    let r = doctor
        .post(app.url("/fhir/r4/Patient"))
        .header("accept-language", "en")
        .header("content-type", "application/fhir+json")
        .body(ex.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["issue"][1]["diagnostics"],
        "There is no organisation with code 1."
    );
    assert_eq!(
        v["issue"][1]["expression"][0],
        "Patient.managingOrganization"
    );
}
both!(official_examples_accepted_or_refused);

async fn synthea_patients_round_trip(app: &TestApp) {
    let dir = shared_data().join("synthea-fhir-r4/bundles");
    let doctor = app.api("doctor").await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut n = 0;
    for f in files.iter().take(20) {
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let patient = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Patient")
            .unwrap()
            .clone();
        let (status, created) = fhir_post(&doctor, app, "Patient", &patient).await;
        assert_eq!(status, 201, "{}: {created}", f.display());
        let id = created["id"].as_str().unwrap();
        let read: Value = doctor
            .get(app.url(&format!("/fhir/r4/Patient/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(read["birthDate"], patient["birthDate"]);
        assert_eq!(read["gender"], patient["gender"]);
        assert_eq!(read["name"][0]["family"], patient["name"][0]["family"]);
        assert_eq!(
            read["identifier"].as_array().unwrap().len(),
            patient["identifier"].as_array().unwrap().len()
        );
        assert_eq!(read["address"], patient["address"]);
        n += 1;
    }
    assert_eq!(n, 20);
}
both!(synthea_patients_round_trip);

/// Sixteen registrations of one resident ID at once. The duplicate check (a read) can let
/// several through before any is written; the unique key stops all but one at the write, in
/// the middle of the writer's batch, and each refused one is told why (409 from the check, 422
/// naming the ID from the write). One record, one creation entry; the batch's other writes
/// and audit entries are not lost with the refused ones.
async fn one_id_registered_once_in_a_race(app: &TestApp) {
    let c = app.api("nurse").await;
    let base = "65312120200101003";
    let digits: Vec<u32> = base.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let idn = format!("{base}{}", tianshan_registry::bulk::check_char(&digits));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (c, url, idn) = (c.clone(), app.url("/fhir/r4/Patient"), idn.clone());
        tasks.push(tokio::spawn(async move {
            // Every other request registers someone else in the same moment.
            let ident = if i % 2 == 0 {
                json!([{"system": "urn:oid:2.16.156.10011.1.1", "value": idn}])
            } else {
                json!([])
            };
            let body = json!({"resourceType": "Patient", "identifier": ident,
                "name": [{"family": "竞", "given": [format!("争{i}")]}], "gender": "male",
                "birthDate": "2020-01-01", "managingOrganization": {"reference": "Organization/653121100201"}});
            let r = c
                .post(url)
                .header("content-type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (i, status, r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let (mut same_id, mut others, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for t in tasks {
        let (i, status, v) = t.await.unwrap();
        match (status, i % 2) {
            (201, 0) => same_id.push(v["id"].as_str().unwrap().to_string()),
            (201, _) => others.push(v["id"].as_str().unwrap().to_string()),
            (409 | 422, 0) => {
                assert!(is_outcome(&v), "{v}");
                // A whole sentence about the ID, not an introduction to a list nobody sends.
                let said = v["issue"][0]["diagnostics"].as_str().unwrap_or("");
                assert!(!said.ends_with(':') && !said.ends_with('：'), "{v}");
                refused.push(status);
            }
            (s, _) => panic!("request {i}: {s} {v}"),
        }
    }
    assert_eq!(
        same_id.len(),
        1,
        "one ID, one record (refused: {refused:?})"
    );
    assert_eq!(others.len(), 8, "the other registrations all went through");
    let found: Value = c
        .get(app.url(&format!(
            "/fhir/r4/Patient?identifier=urn:oid:2.16.156.10011.1.1|{idn}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["entry"].as_array().map(Vec::len), Some(1), "{found}");
    for id in same_id.iter().chain(&others) {
        let created = audit_for(app, id).await;
        let n = created.iter().filter(|(_, a, _)| a == "create").count();
        assert_eq!(n, 1, "{id}: {created:?}");
    }
    eprintln!("race on one ID, {:?}: refused {refused:?}", app.backend);
}
both!(one_id_registered_once_in_a_race);
