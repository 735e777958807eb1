//! FHIR as integrators meet it: a real client nobody here wrote (fhirpy), Bundles, totals and
//! `_summary=count`, unknown search parameters, `tianshan import` of Synthea bundles and
//! resumable NDJSON, and the generated OpenAPI document checked by an OpenAPI validator.
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{shared_data, TestApp};

/// The Python with fhirpy and openapi-spec-validator that `scripts/test` installs
/// (`target/pyenv`), or `TIANSHAN_PYTHON`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TIANSHAN_PYTHON") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test (it creates target/pyenv with fhirpy and openapi-spec-validator), \
         or set TIANSHAN_PYTHON to a Python that has them",
        p.display()
    );
    p
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

async fn a_real_fhir_client_works(app: &TestApp) {
    let token = app.token("doctor").await;
    let base = app.url("/fhir/r4");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script("fhirpy_client.py"))
            .arg(base)
            .arg(token)
            .arg("653121100201")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "fhirpy client failed:\n{stdout}\n{stderr}"
    );
}
both!(a_real_fhir_client_works);

async fn post(app: &TestApp, user: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = app
        .api(user)
        .await
        .post(app.url(path))
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, user: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.api(user).await.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn patient(family: &str, gender: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Aygul"]}],
           "gender": gender, "birthDate": "2016-04-01"})
}

fn entry(full: &str, r: Value) -> Value {
    let ty = r["resourceType"].as_str().unwrap_or("").to_string();
    json!({"fullUrl": full, "resource": r, "request": {"method": "POST", "url": ty}})
}

async fn bundles_searches_and_totals(app: &TestApp) {
    // Transaction: all or nothing. A good entry and a bad one: nothing is written.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:a", patient("Bundleone", "female")),
        entry("urn:uuid:b", patient("Bundleone", "sometimes")),
    ]});
    let (s, v) = post(app, "nurse", "/fhir/r4", &tx).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["resourceType"], "OperationOutcome");
    assert!(v.to_string().contains("Bundle.entry[1]"), "{v}");
    let (_, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&_summary=count",
        &[],
    )
    .await;
    assert_eq!(v["total"], 0, "{v}");
    assert!(
        v.get("entry").is_none(),
        "FHIR JSON has no empty arrays: {v}"
    );

    // The same with the bad entry fixed: both written, 201 each.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("urn:uuid:a", patient("Bundleone", "female")),
        entry("urn:uuid:b", patient("Bundleone", "male")),
    ]});
    let (s, v) = post(app, "nurse", "/fhir/r4", &tx).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["type"], "transaction-response");
    for e in v["entry"].as_array().unwrap() {
        assert_eq!(e["response"]["status"], "201 Created");
        assert!(e["response"]["location"]
            .as_str()
            .unwrap()
            .starts_with("Patient/"));
    }

    // Batch: each entry on its own, with its own status and outcome.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        entry("urn:uuid:c", patient("Batchtwo", "female")),
        entry("urn:uuid:d", patient("Batchtwo", "sometimes")),
        // A type no module serves (Encounter was one until the trauma registry).
        entry("urn:uuid:e", json!({"resourceType": "Goal", "lifecycleStatus": "active"})),
    ]});
    let (s, v) = post(app, "nurse", "/fhir/r4", &batch).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["type"], "batch-response");
    let statuses: Vec<&str> = v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "201 Created");
    assert!(statuses[1].starts_with("422"), "{statuses:?}");
    assert!(statuses[2].starts_with("404"), "{statuses:?}");
    assert_eq!(
        v["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );

    // total and _summary=count.
    let (s, v) = get(app, "nurse", "/fhir/r4/Patient?family=Bundleone", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["entry"].as_array().unwrap().len(), 2);
    let (_, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&_summary=count",
        &[],
    )
    .await;
    assert_eq!(v["total"], 2);
    assert!(v.get("entry").is_none(), "{v}");
    let (_, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&_count=1",
        &[],
    )
    .await;
    // A full page is not counted unless asked (`_total`, FHIR): it has a next link.
    assert!(v.get("total").is_none(), "{v}");
    assert!(v["link"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["relation"] == "next"));
    let (_, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&_count=1&_total=accurate",
        &[],
    )
    .await;
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["entry"].as_array().unwrap().len(), 1);
    let (s, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&_total=lots",
        &[],
    )
    .await;
    assert_eq!(s, 400);
    assert!(v.to_string().contains("_total=lots"), "{v}");

    // An unknown parameter is refused, or with lenient handling ignored and left out of self.
    let (s, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&shoe=42",
        &[],
    )
    .await;
    assert_eq!(s, 400);
    assert!(v.to_string().contains("shoe"), "{v}");
    let (s, v) = get(
        app,
        "nurse",
        "/fhir/r4/Patient?family=Bundleone&shoe=42",
        &[("prefer", "handling=lenient")],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 2);
    let me = v["link"][0]["url"].as_str().unwrap();
    assert!(
        !me.contains("shoe") && me.contains("family=Bundleone"),
        "{me}"
    );

    // Not a Bundle type that can be posted; not JSON; not FHIR JSON.
    let (s, _) = post(
        app,
        "nurse",
        "/fhir/r4",
        &json!({"resourceType": "Bundle", "type": "collection"}),
    )
    .await;
    assert_eq!(s, 400);
    let r = app
        .api("nurse")
        .await
        .post(app.url("/fhir/r4/Patient"))
        .header("content-type", "text/plain")
        .body(patient("Plain", "male").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // The capability statement names the types, Bundles and the create default.
    let (_, v) = get(app, "nurse", "/fhir/r4/metadata", &[]).await;
    let rest = &v["rest"][0];
    assert!(rest["interaction"].to_string().contains("transaction"));
    let patient = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap();
    assert_eq!(patient["updateCreate"], false);
    assert!(patient["documentation"]
        .as_str()
        .unwrap()
        .contains("managingOrganization"));
}
both!(bundles_searches_and_totals);

/// `tianshan import` on a Synthea transaction bundle and on NDJSON, as the CLI runs it.
async fn import_synthea_and_resumable_ndjson(app: &TestApp) {
    use tianshan_platform::auth::{identity_by_username, Channel, Principal};
    use tianshan_platform::import;
    let id = identity_by_username(&app.db, "doctor")
        .await
        .unwrap()
        .unwrap();
    let mut who = Principal::from_identity(&id, Channel::Cli, "", "test");
    who.scope_code = Some("653121100201".into());
    let dir = shared_data().join("synthea-fhir-r4/bundles");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let no_progress = |_: usize, _: usize| {};
    let mut patients = 0;
    for f in files.iter().take(3) {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        // Synthea's own hospitals (Organization) are not nodes of this network: all or
        // nothing refuses the file, naming the entry...
        let err = import::bundle(&app.st, &who, &v, false, &no_progress)
            .await
            .unwrap_err();
        assert!(
            matches!(err, tianshan_platform::AppError::InEntry(..)),
            "{err:?}"
        );
        // ... and with --skip-bad the Patient comes in and the refused entries are listed.
        let out = import::bundle(&app.st, &who, &v, true, &no_progress)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        assert_eq!(
            out.created.get("Patient"),
            Some(&1),
            "{}: {out:?}",
            f.display()
        );
        assert!(!out.refused.is_empty(), "{out:?}");
        patients += 1;
        // Types no module handles yet are reported with their counts, not dropped silently.
        assert!(
            out.unhandled.get("Claim").copied().unwrap_or(0) > 0,
            "{out:?}"
        );
    }
    assert_eq!(patients, 3);

    // NDJSON: the third line breaks a rule; lines 1-2 are kept, a run after the fix continues
    // with line 3 and writes nothing twice.
    let line = |family: &str, gender: &str| patient(family, gender).to_string();
    let bad = [
        line("Ndone", "male"),
        line("Ndtwo", "female"),
        line("Ndthree", "sometimes"),
    ]
    .join("\n");
    let err = import::ndjson(&app.st, &who, bad.as_bytes(), false, &no_progress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, tianshan_platform::AppError::InEntry(3, _)),
        "{err:?}"
    );
    let count = |family: &'static str| async move {
        get(
            app,
            "doctor",
            &format!("/fhir/r4/Patient?family={family}&_summary=count"),
            &[],
        )
        .await
        .1["total"]
            .as_i64()
            .unwrap()
    };
    // The chunk holding the bad line was not written: the file is all one chunk here.
    assert_eq!(count("Ndone").await, 0);
    let good = [
        line("Ndone", "male"),
        line("Ndtwo", "female"),
        line("Ndthree", "male"),
    ]
    .join("\n");
    let out = import::ndjson(&app.st, &who, good.as_bytes(), false, &no_progress)
        .await
        .unwrap();
    assert_eq!(out.created.get("Patient"), Some(&3));
    let again = import::ndjson(&app.st, &who, good.as_bytes(), false, &no_progress)
        .await
        .unwrap();
    assert_eq!(
        again.total_written(),
        0,
        "a finished file is not imported twice"
    );
    assert_eq!(again.resumed_after, 3);
    assert_eq!(count("Ndone").await, 1);
    // Lines that are not JSON are found before anything is written.
    let junk = format!("{}\nnot json\n", line("Ndfour", "male"));
    let err = import::ndjson(&app.st, &who, junk.as_bytes(), false, &no_progress)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("import.bad_line"), "{err:?}");
    assert_eq!(count("Ndfour").await, 0);
}
both!(import_synthea_and_resumable_ndjson);

/// The generated OpenAPI document is valid OpenAPI 3 (checked by openapi-spec-validator), and
/// every documented path is a real route.
async fn openapi_document_is_valid_and_complete(app: &TestApp) {
    let r = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let path = std::env::temp_dir().join(format!("tianshan-openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, &text).unwrap();
    let p2 = path.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg("-c")
            .arg("import sys, json\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')")
            .arg(&p2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/patients/{id}"));
    assert!(paths.contains_key("/fhir/r4/{type}/{id}"));
    // Every documented path answers with something other than "no such route": substitute the
    // parameters and ask as the administrator.
    let admin = app.api("admin").await;
    let no_route = admin
        .get(app.url("/api/v1/no-such-route-here"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(no_route.contains("not_found"), "{no_route}");
    for (p, item) in paths {
        let url = p
            .replace("{type}", "Patient")
            .replace("{id}", "demo-0001")
            .replace("{org_code}", "RH-BJ-PUMCH")
            .replace("{code}", "650000");
        for method in item.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => admin.get(app.url(&url)),
                "post" => admin.post(app.url(&url)),
                "put" => admin.put(app.url(&url)),
                "delete" => admin.delete(app.url(&url)),
                _ => continue,
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            assert!(
                status != 405 && body != no_route,
                "{method} {p} is documented but not routed ({status} {body})"
            );
        }
    }
}
both!(openapi_document_is_valid_and_complete);

/// A route the router serves under /api or /fhir that bypasses the documented routers would be
/// missing from the document: no source file may declare one with a plain `.route(`.
#[test]
fn no_api_route_escapes_the_document() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![root];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() && name != "target" && name != "tests" && !name.starts_with('.') {
                stack.push(p);
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, _) in text.match_indices(".route(") {
                    let rest = text[i + 7..].trim_start();
                    if (rest.starts_with("\"/api/") || rest.starts_with("\"/fhir/"))
                        && !(p.ends_with("openapi.rs")
                            && rest.starts_with("\"/api/v1/openapi.json\""))
                    {
                        offenders.push(format!("{}: {}", p.display(), &rest[..rest.len().min(40)]));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "undocumented API routes: {offenders:?}"
    );
}
