//! The trauma network registry: one record carried from a township clinic to the regional
//! centre, scope by the hospitals of the chain, scores computed by the server, bad input
//! refused whole, indicators on a small data set computed by hand, review lists and marks.
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{audit_for, TestApp};

/// 张三 (born 1950-01-01), Tokkuzak town, the nurse's own township.
const ZHANG_SAN: &str = "demo-0001";
const NURSE_CLINIC: &str = "653121100-C01";
const REGIONAL_CENTRE: &str = "653100-H01";

async fn send(
    app: &TestApp,
    user: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = app.api(user).await;
    let mut rq = c.request(method, app.url(path));
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, user, reqwest::Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, user: &str, path: &str) -> (u16, Value) {
    send(app, user, reqwest::Method::GET, path, None).await
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A patient brought to the township clinic, transferred to the regional centre, operated
/// there: one record, both stays, seen by both sides and not by another prefecture.
async fn transfer_keeps_one_record(app: &TestApp) {
    let (s, rec) = post(
        app,
        "nurse",
        "/api/v1/trauma/records",
        json!({
            "patient_id": ZHANG_SAN,
            "mechanism": "road_traffic",
            "injury_place": "G314 near Tokkuzak",
            "injured_at": "2018-06-01T09:20",
            "call_at": "2018-06-01T09:25",
            "stays": [{"org_code": NURSE_CLINIC, "arrived_at": "2018-06-01T10:00"}],
            "gcs_eye": 3, "gcs_verbal": 4, "gcs_motor": 6,
            "sbp": 85, "rr": 24,
            "injuries": [{"icd10": "S36.1"}, {"icd10": "S27.0"}]
        }),
    )
    .await;
    assert_eq!(s, 201, "{rec}");
    let id = rec["id"].as_str().unwrap().to_string();
    // computed, not typed: GCS 13 (code 4), SBP 85 (3), RR 24 (4) → 3.7472 + 2.1978 + 1.1632
    assert_eq!(rec["gcs"], 13);
    assert_eq!(rec["rts_e4"], 71082);
    assert_eq!(rec["prehospital_min"], 35);
    assert_eq!(rec["age_years"], 68);
    assert_eq!(rec["injuries"][0]["source"], "icdpicr_roc_max_nis");
    assert!(rec["iss"].as_i64().unwrap() > 0);
    assert_eq!(rec["triss_model"], "MTOS_1995");

    // the regional centre cannot see it yet
    let (s, _) = get(app, "official", &format!("/api/v1/trauma/records/{id}")).await;
    assert_eq!(s, 404);

    let (s, rec) = post(
        app,
        "nurse",
        &format!("/api/v1/trauma/records/{id}/transfer"),
        json!({"version": 1, "org_code": REGIONAL_CENTRE,
               "departed_at": "2018-06-01T10:30", "arrived_at": "2018-06-01T12:00"}),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["transfer_min"], 90);
    assert_eq!(rec["stays"].as_array().unwrap().len(), 2);

    // the centre's doctor (Kashgar prefecture) completes it: operation 45 min after arrival
    let (s, mut rec) = get(app, "doctor", &format!("/api/v1/trauma/records/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(rec["id"], id.as_str());
    rec["operation_at"] = json!("2018-06-01T12:45");
    rec["outcome_discharge"] = json!("alive");
    let (s, rec) = send(
        app,
        "doctor",
        reqwest::Method::PUT,
        &format!("/api/v1/trauma/records/{id}"),
        Some(rec),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["arrival_to_op_min"], 45);
    assert_eq!(rec["operation_org_code"], REGIONAL_CENTRE);
    assert_eq!(rec["first_org_code"], NURSE_CLINIC);
    assert_eq!(rec["last_org_code"], REGIONAL_CENTRE);
    assert_eq!(rec["version"], 3);
    assert_eq!(rec["died"], 0);

    // the same record as FHIR R4: Encounter with both hospitals, a Condition per injury,
    // score Observations, the operation as a Procedure
    let (s, b) = get(app, "doctor", &format!("/api/v1/trauma/records/{id}/fhir")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["resourceType"], "Bundle");
    let res: Vec<&Value> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let of = |t: &str| res.iter().filter(|r| r["resourceType"] == t).count();
    assert_eq!(
        (of("Encounter"), of("Condition"), of("Procedure")),
        (3, 2, 1),
        "the record's Encounter and one per stay"
    );
    let enc = res.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(enc["location"].as_array().unwrap().len(), 2);
    assert_eq!(enc["subject"]["reference"], format!("Patient/{ZHANG_SAN}"));
    let gcs = res
        .iter()
        .find(|r| r["code"]["coding"][0]["code"] == "9269-2")
        .unwrap();
    assert_eq!(gcs["valueInteger"], 13);
    let triss = res
        .iter()
        .find(|r| r["code"]["coding"][0]["code"] == "triss-ps")
        .unwrap();
    assert_eq!(triss["note"][0]["text"], "coefficients MTOS_1995");
    let codes: Vec<&str> = res
        .iter()
        .filter(|r| r["resourceType"] == "Condition")
        .map(|r| r["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["S36.1", "S27.0"]);
    let (s, _) = get(
        app,
        "official",
        &format!("/api/v1/trauma/records/{id}/fhir"),
    )
    .await;
    assert_eq!(s, 404);

    // a stale version is refused
    let (s, _) = post(
        app,
        "nurse",
        &format!("/api/v1/trauma/records/{id}/transfer"),
        json!({"version": 1, "org_code": REGIONAL_CENTRE,
               "departed_at": "2018-06-02T10:30", "arrived_at": "2018-06-02T12:00"}),
    )
    .await;
    assert_eq!(s, 409);

    // one record for the patient, at both hospitals
    for (user, org) in [("doctor", REGIONAL_CENTRE), ("nurse", NURSE_CLINIC)] {
        let (s, list) = get(
            app,
            user,
            &format!("/api/v1/trauma/records?org={org}&from=2018-06-01&to=2018-06-02"),
        )
        .await;
        assert_eq!(s, 200, "{list}");
        let ids: Vec<&str> = list["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["patient_id"] == ZHANG_SAN)
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![id.as_str()], "{user}");
    }
    // another prefecture's official: 404; a partner holds no trauma permission: 403
    let (s, _) = get(app, "official", &format!("/api/v1/trauma/records/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = get(app, "partner", "/api/v1/trauma/records").await;
    assert_eq!(s, 403);
    let (s, _) = get(app, "official", "/api/v1/trauma/records?org=653100").await;
    assert_eq!(s, 422);

    let audit = audit_for(app, ZHANG_SAN).await;
    let acts: Vec<(&str, &str)> = audit.iter().map(|e| (e.0.as_str(), e.1.as_str())).collect();
    assert!(acts.contains(&("nurse", "create")), "{acts:?}");
    assert!(acts.contains(&("nurse", "update")), "{acts:?}");
    assert!(acts.contains(&("doctor", "read")), "{acts:?}");
    assert!(acts.contains(&("doctor", "update")), "{acts:?}");
    assert!(acts.contains(&("official", "refused")), "{acts:?}");
}
both!(transfer_keeps_one_record);

/// Times out of order, an impossible GCS, an unknown ICD-10 code, AIS without the licence:
/// each refused with its field named, nothing saved.
async fn bad_input_is_refused_whole(app: &TestApp) {
    let good = json!({
        "patient_id": ZHANG_SAN,
        "mechanism": "fall",
        "injured_at": "2018-06-01T09:20",
        "stays": [{"org_code": NURSE_CLINIC, "arrived_at": "2018-06-01T10:00"}],
        "gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6,
        "injuries": [{"icd10": "S06.5"}]
    });
    let cases: Vec<(&str, Value, &str)> = vec![
        ("call_at", json!("2018-06-01T09:00"), "call_at"),
        ("operation_at", json!("2018-06-01T09:50"), "operation_at"),
        ("gcs_eye", json!(5), "gcs"),
        ("gcs_motor", Value::Null, "gcs"),
        ("injuries", json!([{"icd10": "Q99.9"}]), "injuries.0.icd10"),
        (
            "injuries",
            json!([{"ais_code": "140652.5", "region": "head_neck", "severity": 5}]),
            "injuries.0",
        ),
        ("mechanism", json!("meteor"), "mechanism"),
        ("injured_at", json!("last tuesday"), "injured_at"),
        (
            "stays",
            json!([{"org_code": "653121100", "arrived_at": "2018-06-01T10:00"}]),
            "stays.0.org_code",
        ),
    ];
    for (key, value, field) in cases {
        let mut body = good.clone();
        body[key] = value;
        let (s, e) = post(app, "nurse", "/api/v1/trauma/records", body).await;
        assert_eq!(s, 422, "{key}: {e}");
        assert!(fields(&e).contains(&field.to_string()), "{key}: {e}");
        let msg = e["error"]["fields"][0]["message"].as_str().unwrap_or("");
        assert!(!msg.is_empty() && !msg.contains("trauma.err"), "{e}");
    }
    let (s, e) = post(
        app,
        "nurse",
        "/api/v1/trauma/records",
        json!({"patient_id": ZHANG_SAN, "mechanism": "fall",
               "stays": [{"org_code": NURSE_CLINIC, "arrived_at": "2018-06-01T10:00"}],
               "injuries": [{"icd10": "Q99.9"}]}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Q99.9"));
    // malformed JSON: a 4xx, not a 500
    let c = app.api("nurse").await;
    let r = c
        .post(app.url("/api/v1/trauma/records"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // a patient outside the nurse's area
    let mut body = good.clone();
    body["patient_id"] = json!("demo-0005");
    let (s, e) = post(app, "nurse", "/api/v1/trauma/records", body).await;
    assert_eq!(s, 422, "{e}");
    // the doctor (no AIS licence either) sees nothing saved
    let (s, list) = get(
        app,
        "coordinator",
        "/api/v1/trauma/records?from=2018-01-01&to=2018-12-31",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list["records"].as_array().unwrap().len(), 0, "{list}");
    // the administrator holds the AIS licence: the same AIS injury is accepted and marked
    let mut body = good.clone();
    body["injuries"] = json!([{"ais_code": "140652.5", "region": "head_neck", "severity": 5}]);
    let (s, rec) = post(app, "admin", "/api/v1/trauma/records", body).await;
    assert_eq!(s, 201, "{rec}");
    assert_eq!(rec["injuries"][0]["source"], "ais_licensed");
    assert_eq!(rec["iss"], 25);
}
both!(bad_input_is_refused_whole);

/// TRISS Ps by hand (MTOS 1995 coefficients, Champion 1995; trauma.org).
fn ps_blunt(rts: f64, iss: f64, age: u32) -> f64 {
    let b = -0.4499 + 0.8085 * rts - 0.0835 * iss - 1.7430 * if age >= 55 { 1.0 } else { 0.0 };
    1.0 / (1.0 + (-b).exp())
}

/// Four cases at the regional centre, June 2018 (before the demo's data), with answers worked out by hand.
async fn indicators_on_a_fixed_set(app: &TestApp) {
    let case = |pid: &str,
                call: &str,
                inj: &str,
                arr: &str,
                op: &str,
                gcs: [u8; 3],
                sbp: u16,
                rr: u16,
                icd: &str,
                out: &str| {
        json!({
            "patient_id": pid, "mechanism": "road_traffic",
            "injured_at": inj, "call_at": call,
            "stays": [{"org_code": REGIONAL_CENTRE, "arrived_at": arr}],
            "operation_at": op,
            "gcs_eye": gcs[0], "gcs_verbal": gcs[1], "gcs_motor": gcs[2], "sbp": sbp, "rr": rr,
            "injuries": [{"icd10": icd}],
            "outcome_discharge": out
        })
    };
    // R1 age 25, S06.5 (ISS 25), RTS 7.8408: pre 40, op after 30, alive
    // R2 age 39, S06.5 (ISS 25), GCS 12 SBP 80 RR 16 → RTS 6.1714: pre 90, op after 90, died
    // R3 age 54 (AgeIndex 0), S82.2 (ISS 1), RTS 7.8408: no call (injury → arrival 20), op after 45, alive
    // R4 age 61, S36.1 (ISS 9), RTS 7.8408: pre 30, no operation, outcome unknown
    let cases = [
        case(
            "demo-0007",
            "2018-06-03T08:00",
            "2018-06-03T07:50",
            "2018-06-03T08:40",
            "2018-06-03T09:10",
            [4, 5, 6],
            120,
            16,
            "S06.5",
            "alive",
        ),
        case(
            "demo-0013",
            "2018-06-04T10:00",
            "2018-06-04T09:55",
            "2018-06-04T11:30",
            "2018-06-04T13:00",
            [3, 4, 5],
            80,
            16,
            "S06.5",
            "dead",
        ),
        case(
            "demo-0003",
            "",
            "2018-06-05T07:00",
            "2018-06-05T07:20",
            "2018-06-05T08:05",
            [4, 5, 6],
            120,
            16,
            "S82.2",
            "alive",
        ),
        case(
            "demo-0002",
            "2018-06-06T12:00",
            "2018-06-06T11:50",
            "2018-06-06T12:30",
            "",
            [4, 5, 6],
            120,
            16,
            "S36.1",
            "",
        ),
    ];
    let mut ids = Vec::new();
    for c in cases {
        let (s, r) = post(app, "doctor", "/api/v1/trauma/records", c).await;
        assert_eq!(s, 201, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let (s, ind) = get(
        app,
        "doctor",
        "/api/v1/trauma/indicators?org=653100-H01&from=2018-06-01&to=2018-06-30",
    )
    .await;
    assert_eq!(s, 200, "{ind}");
    assert_eq!(ind["cases"], 4);
    // arrival to operation 30, 45, 90: median 45, p90 (rank ⌈2.7⌉ = 3) 90
    assert_eq!(
        ind["arrival_to_op"],
        json!({"n": 3, "median": 45, "p90": 90})
    );
    // pre-hospital 20, 30, 40, 90: median rank 2 = 30, p90 rank ⌈3.6⌉ = 4 → 90
    assert_eq!(ind["prehospital"], json!({"n": 4, "median": 30, "p90": 90}));
    assert_eq!(ind["transfer"]["n"], 0);
    // severe (ISS ≥ 16) operated: R1 (30), R2 (90) → 1 of 2 within 60
    assert_eq!(ind["severe_operated"], 2);
    assert_eq!(ind["severe_within_60"], 1);
    assert_eq!(ind["severe_within_60_share"], 0.5);
    // crude: 1 death of 3 known outcomes
    assert_eq!(ind["known_outcome"], 3);
    assert_eq!(ind["deaths"], 1);
    assert!((ind["crude_mortality"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    // TRISS over R1, R2, R3 (ISS of S82.2 is 1 in the NIS table)
    let ps = [
        ps_blunt(7.8408, 25.0, 25),
        ps_blunt(6.1714, 25.0, 39),
        ps_blunt(7.8408, 1.0, 54),
    ];
    let sum: f64 = ps.iter().sum();
    let w = (2.0 - sum) / (3.0 / 100.0);
    let var: f64 = ps.iter().map(|p| p * (1.0 - p)).sum();
    let t = &ind["triss"];
    assert_eq!(t["n"], 3);
    assert!((t["w"].as_f64().unwrap() - w).abs() < 1e-3, "{t} {w}");
    assert!(
        (t["z"].as_f64().unwrap() - (2.0 - sum) / var.sqrt()).abs() < 1e-3,
        "{t}"
    );
    assert!(
        (t["oe"].as_f64().unwrap() - 1.0 / (3.0 - sum)).abs() < 1e-3,
        "{t}"
    );
    assert_eq!(ind["months"][0]["month"], "2018-06");
    assert_eq!(ind["months"][0]["arrival_to_op_median"], 45);
    // another month: nothing
    let (_, none) = get(
        app,
        "doctor",
        "/api/v1/trauma/indicators?from=2018-07-01&to=2018-12-31",
    )
    .await;
    assert_eq!(none["cases"], 0);
    let (s, _) = get(app, "doctor", "/api/v1/trauma/indicators?from=june").await;
    assert_eq!(s, 422);

    // review lists: R2 broke the 60-minute target and died with Ps ≈ 0.92 (unexpected death)
    let (_, late) = get(
        app,
        "doctor",
        "/api/v1/trauma/records?review=time_target&from=2018-06-01&to=2018-06-30",
    )
    .await;
    let late: Vec<&str> = late["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(late, vec![ids[1].as_str()]);
    let (_, ud) = get(
        app,
        "doctor",
        "/api/v1/trauma/records?review=unexpected_death&from=2018-06-01&to=2018-06-30",
    )
    .await;
    assert_eq!(ud["records"].as_array().unwrap().len(), 1);
    assert!(ps[1] >= 0.5);
    let (_, us) = get(
        app,
        "doctor",
        "/api/v1/trauma/records?review=unexpected_survivor&from=2018-06-01&to=2018-06-30",
    )
    .await;
    assert_eq!(us["records"].as_array().unwrap().len(), 0);
    let (s, _) = get(app, "doctor", "/api/v1/trauma/records?review=whatever").await;
    assert_eq!(s, 422);

    // marked reviewed with a finding; the nurse may not review; an empty finding is refused
    let path = format!("/api/v1/trauma/records/{}/review", ids[1]);
    let (s, _) = post(app, "doctor", &path, json!({"finding": ""})).await;
    assert_eq!(s, 422);
    let (s, _) = post(app, "nurse", &path, json!({"finding": "x"})).await;
    assert_eq!(s, 403);
    let (s, r) = post(
        app,
        "doctor",
        &path,
        json!({"finding": "CT delayed: scanner down 2 h"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["review_finding"], "CT delayed: scanner down 2 h");
    assert_eq!(r["reviewed_by"], "doctor");
    let audit = audit_for(app, "demo-0013").await;
    assert!(
        audit
            .iter()
            .any(|e| e.0 == "doctor" && e.1 == "trauma.review"),
        "{audit:?}"
    );

    // export with the scores: CSV (header + the 4 records) and XLSX; a wrong format is refused
    let c = app.api("doctor").await;
    let r = c
        .get(app.url("/api/v1/trauma/export?format=csv&from=2018-06-01&to=2018-06-30"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("id,patient_id,sex,age_years"));
    let r2 = lines.iter().find(|l| l.contains("demo-0013")).unwrap();
    assert!(
        r2.contains(",25,25,")
            && r2.contains("6.1714")
            && r2.contains("MTOS_1995")
            && r2.contains("CT delayed"),
        "{r2}"
    );
    let x = c
        .get(app.url("/api/v1/trauma/export?format=xlsx&from=2018-06-01&to=2018-06-30"))
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    let (s, _) = get(app, "doctor", "/api/v1/trauma/export?format=pdf").await;
    assert_eq!(s, 422);
}
both!(indicators_on_a_fixed_set);

/// The quick emergency form on a 390 px phone in Chromium: "now" buttons fill the times, the
/// record is saved and its scores shown; a wrong GCS is shown beside its field.
mod browser {

    use std::path::Path;

    use std::time::Duration;

    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::json;

    use crate::helpers::{demo_password, spawn_app, Backend};

    const CHROMIUM: &str = "/usr/bin/chromium";
    const WAIT: Duration = Duration::from_secs(20);
    const PHONE_WIDTH: i64 = 390;

    use crate::browser::Chromedriver;

    async fn phone(driver: &Chromedriver, profile: &Path) -> Client {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args,
            "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium did not start through chromedriver: {e}"))
    }

    async fn fits(c: &Client, what: &str) {
        let v = c
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(v[0].as_i64().unwrap(), PHONE_WIDTH);
        assert!(
            v[1].as_i64().unwrap() <= PHONE_WIDTH,
            "{what} is wider than the phone: {v}"
        );
    }

    async fn css(c: &Client, sel: &str) -> fantoccini::elements::Element {
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css(sel))
            .await
            .unwrap_or_else(|e| panic!("no {sel}: {e}"))
    }

    async fn value(c: &Client, sel: &str) -> String {
        css(c, sel)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn scenario(c: Client, base: String) {
        c.goto(&format!("{base}/login")).await.unwrap();
        css(&c, "#username").await.send_keys("nurse").await.unwrap();
        css(&c, "#password")
            .await
            .send_keys(demo_password("nurse"))
            .await
            .unwrap();
        css(&c, "#signin").await.click().await.unwrap();
        css(&c, "header .who").await;
        c.goto(&format!("{base}/trauma/new")).await.unwrap();
        fits(&c, "the quick form").await;
        // the fields are large enough to tap
        let h = c
            .execute(
                "return document.getElementById('now-arrived_at').getBoundingClientRect().height",
                vec![],
            )
            .await
            .unwrap();
        assert!(h.as_f64().unwrap() >= 44.0, "now button {h} px high");
        css(&c, "#patient")
            .await
            .send_keys(super::ZHANG_SAN)
            .await
            .unwrap();
        for f in ["injured_at", "call_at", "arrived_at"] {
            css(&c, &format!("#now-{f}")).await.click().await.unwrap();
            let v = value(&c, &format!("#{f}")).await;
            assert_eq!(v.len(), 16, "{f} filled by now: {v:?}");
        }
        for (f, v) in [
            ("#gcs_eye", "5"),
            ("#gcs_verbal", "5"),
            ("#gcs_motor", "6"),
            ("#sbp", "120"),
            ("#rr", "16"),
            ("#icd10", "S06.5 S27.0"),
        ] {
            css(&c, f).await.send_keys(v).await.unwrap();
        }
        css(&c, "#save-record").await.click().await.unwrap();
        // eye 5 is impossible: the form comes back with the message beside the GCS
        css(&c, "#form-error").await;
        let gcs_err = css(&c, "fieldset.invalid .err").await.text().await.unwrap();
        assert!(gcs_err.contains("1-4"), "{gcs_err}");
        assert_eq!(
            value(&c, "#icd10").await,
            "S06.5 S27.0",
            "what was typed is kept"
        );
        let eye = css(&c, "#gcs_eye").await;
        eye.clear().await.unwrap();
        eye.send_keys("4").await.unwrap();
        css(&c, "#save-record").await.click().await.unwrap();
        css(&c, "#saved").await;
        fits(&c, "the record page").await;
        let scores = css(&c, "#scores").await.text().await.unwrap();
        assert!(scores.contains("7.8408"), "RTS shown: {scores}");
        assert!(scores.contains("MTOS_1995"), "{scores}");
        let stays = css(&c, "#stays").await.text().await.unwrap();
        assert!(!stays.trim().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nurse_fills_the_quick_form_on_a_phone() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let profile = tempfile::tempdir().unwrap();
        let c = phone(&driver, profile.path()).await;
        let r = tokio::spawn(scenario(c.clone(), app.base.clone())).await;
        if r.is_err() {
            if let Ok(png) = c.screenshot().await {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(dir.join("trauma-quick-form-failure.png"), png);
            }
        }
        let _ = c.close().await;
        drop(driver);
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// The demo network shows what the seed report claims, computed from the records: the
/// arrival-to-operation median near 8 h in 2019 and near 60 min in 2024, survival rising.
async fn demo_shows_the_reported_trend(app: &TestApp) {
    let year =
        |y: i32| format!("/api/v1/trauma/indicators?org=653100-H01&from={y}-01-01&to={y}-12-31");
    let (s, y2019) = get(app, "coordinator", &year(2019)).await;
    assert_eq!(s, 200, "{y2019}");
    let (_, y2024) = get(app, "coordinator", &year(2024)).await;
    assert_eq!(y2019["cases"], 60);
    let m19 = y2019["arrival_to_op"]["median"].as_i64().unwrap();
    let m24 = y2024["arrival_to_op"]["median"].as_i64().unwrap();
    assert!((240..=600).contains(&m19), "2019 median {m19} min");
    assert!((40..=90).contains(&m24), "2024 median {m24} min");
    let c19 = y2019["crude_mortality"].as_f64().unwrap();
    let c24 = y2024["crude_mortality"].as_f64().unwrap();
    assert!(c24 < c19 / 3.0, "mortality {c19} → {c24}");
    assert!(y2024["transfer"]["n"].as_u64().unwrap() > 5);
    // transferred patients are seen from the county hospital that sent them, too
    let (_, shufu) = get(app, "doctor", "/api/v1/trauma/records?org=653121-H01").await;
    assert!(!shufu["records"].as_array().unwrap().is_empty());
    // today's board: patients of the last 24 hours are in the list
    let (_, all) = get(app, "doctor", "/api/v1/trauma/records").await;
    assert!(all["records"].as_array().unwrap().len() >= 5);
    // the live board: the clock since arrival against the 60-minute target
    let (s, board) = get(app, "doctor", "/api/v1/trauma/board").await;
    assert_eq!(s, 200, "{board}");
    let pts = board["patients"].as_array().unwrap();
    assert_eq!(pts.len(), 5, "{board}");
    let first = &pts[0];
    assert_eq!(first["status"], "running", "{board}");
    assert!(
        (29..=31).contains(&first["minutes"].as_i64().unwrap()),
        "{first}"
    );
    assert!(pts.iter().any(|p| p["status"] == "operated"));
    let (_, other) = get(app, "official", "/api/v1/trauma/board").await;
    assert_eq!(other["patients"].as_array().unwrap().len(), 0);
    let (s, _) = get(app, "partner", "/api/v1/trauma/board").await;
    assert_eq!(s, 403);
    let page = app
        .browser("doctor")
        .await
        .get("/trauma/board")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"board\""), "{page}");
}
both!(demo_shows_the_reported_trend);

/// Past records from CSV: one bad row refuses the whole file with its row number; the fixed
/// file imports with scores computed; an XLSX file imports the same way; the export carries
/// the imported records back out.
async fn import_is_all_or_nothing(app: &TestApp) {
    let c = app.api("doctor").await;
    let send = |body: Vec<u8>, name: &'static str| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/trauma/import?filename={name}"));
        async move {
            let r = c.post(url).body(body).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let header = "patient_id,mechanism,org_code,arrived_at,injured_at,call_at,operation_at,gcs_eye,gcs_verbal,gcs_motor,sbp,rr,icd10,outcome_discharge,transfer_org_code,transfer_arrived_at,departed_at";
    let good1 = "demo-0007,fall,653121-H01,2017-03-01T10:00,2017-03-01T09:00,2017-03-01T09:10,2017-03-01T14:30,4,5,6,120,16,S72.0,alive,653100-H01,2017-03-01T13:00,2017-03-01T11:30";
    let bad = "demo-0013,road_traffic,653100-H01,2017-03-02T10:00,2017-03-02T09:00,2017-03-02T08:00,,4,5,6,120,16,S06.5 X99.9,dead,,,";
    let (s, rep) = send(
        format!("{header}\n{good1}\n{bad}\n").into_bytes(),
        "past.csv",
    )
    .await;
    assert_eq!(s, 422, "{rep}");
    assert_eq!(rep["refused"], true);
    let errs = rep["errors"].as_array().unwrap();
    assert!(errs.iter().all(|e| e["row"] == 3), "{rep}");
    assert!(errs.iter().any(|e| e["field"] == "call_at"), "{rep}");
    let (_, list) = get(
        app,
        "doctor",
        "/api/v1/trauma/records?from=2017-01-01&to=2017-12-31",
    )
    .await;
    assert_eq!(
        list["records"].as_array().unwrap().len(),
        0,
        "nothing half-saved"
    );

    let fixed = bad
        .replace("2017-03-02T08:00", "2017-03-02T09:05")
        .replace(" X99.9", "");
    let (s, rep) = send(
        format!("{header}\n{good1}\n{fixed}\n").into_bytes(),
        "past.csv",
    )
    .await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(rep["imported"], 2);
    // the same rows as XLSX (one more record for another day)
    let headers: Vec<&str> = header.split(',').collect();
    let row: Vec<String> = good1
        .replace("2017-03-01", "2017-03-05")
        .split(',')
        .map(str::to_string)
        .collect();
    let xlsx = tianshan_platform::tabular::to_xlsx("past", &headers, &[row]).unwrap();
    let (s, rep) = send(xlsx, "past.xlsx").await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(rep["imported"], 1);

    let r = c
        .get(app.url("/api/v1/trauma/export?format=csv&from=2017-01-01&to=2017-12-31"))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let transferred = lines
        .iter()
        .find(|l| l.contains("2017-03-01T02:00:00Z"))
        .unwrap();
    // first arrival 10:00 at the county hospital, operated 90 min after arriving at the centre
    // (13:00 → 14:30), call to first arrival 50 min, transfer 11:30 → 13:00
    assert!(
        transferred.contains(",653121-H01,653100-H01,"),
        "{transferred}"
    );
    assert!(transferred.contains(",90,50,90,"), "{transferred}");
}
both!(import_is_all_or_nothing);

/// The pages through a signed-in browser session: list and review tabs, record page, full
/// form (a wrong time comes back beside its field, 422), transfer and review forms, the
/// indicators with their definitions, in Uyghur too.
async fn pages_work_end_to_end(app: &TestApp) {
    let b = app.browser("doctor").await;
    let r = b
        .post_form(
            "/trauma/new",
            &[
                ("patient", "demo-0007"),
                ("mechanism", "machinery"),
                ("org_code", "653121-H01"),
                ("injured_at", "2018-09-01T07:00"),
                ("arrived_at", "2018-09-01T08:00"),
                ("gcs_eye", "4"),
                ("gcs_verbal", "5"),
                ("gcs_motor", "6"),
                ("sbp", "130"),
                ("rr", "18"),
                ("icd10", "S68.1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let url = r.headers()["location"].to_str().unwrap().to_string();
    assert!(url.starts_with("/trauma/records/"), "{url}");
    let id = url
        .trim_start_matches("/trauma/records/")
        .trim_end_matches("?saved=1")
        .to_string();
    let page = b.get(&url).await.text().await.unwrap();
    assert!(page.contains("id=\"saved\""));
    // a wrong time in the full form: 422, the message beside the field, nothing saved
    let r = b
        .post_form(
            &format!("/trauma/records/{id}/edit"),
            &[
                ("version", "1"),
                ("mechanism", "machinery"),
                ("arrived_at", "2018-09-01T08:00"),
                ("injured_at", "2018-09-01T07:00"),
                ("operation_at", "2018-09-01T07:30"),
                ("icd10", "S68.1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("form-error"));
    // transfer to the regional centre, then the full form with the operation there
    let r = b
        .post_form(
            &format!("/trauma/records/{id}/transfer"),
            &[
                ("version", "1"),
                ("org_code", "653100-H01"),
                ("departed_at", "2018-09-01T09:00"),
                ("arrived_at", "2018-09-01T10:30"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .post_form(
            &format!("/trauma/records/{id}/edit"),
            &[
                ("version", "2"),
                ("mechanism", "machinery"),
                ("arrived_at", "2018-09-01T08:00"),
                ("injured_at", "2018-09-01T07:00"),
                ("operation_at", "2018-09-01T11:10"),
                ("gcs_eye", "4"),
                ("gcs_verbal", "5"),
                ("gcs_motor", "6"),
                ("sbp", "130"),
                ("rr", "18"),
                ("icd10", "S68.1 S57.8"),
                ("outcome_discharge", "alive"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, rec) = get(app, "doctor", &format!("/api/v1/trauma/records/{id}")).await;
    assert_eq!(rec["arrival_to_op_min"], 40, "{rec}");
    assert_eq!(rec["transfer_min"], 90);
    assert_eq!(rec["injuries"].as_array().unwrap().len(), 2);
    assert_eq!(rec["stays"].as_array().unwrap().len(), 2);
    let r = b
        .post_form(
            &format!("/trauma/records/{id}/review"),
            &[("finding", "Transfer decided late")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = b
        .get(&format!("/trauma/records/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Transfer decided late"));
    for path in [
        "/trauma".to_string(),
        "/trauma?review=unexpected_death".to_string(),
        "/trauma/indicators?from=2024-01-01&to=2024-12-31".to_string(),
        format!("/trauma/records/{id}"),
        format!("/trauma/records/{id}/edit"),
        "/trauma/new".to_string(),
        "/trauma/board".to_string(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    let ind = b
        .get("/trauma/indicators?lang=ug")
        .await
        .text()
        .await
        .unwrap();
    assert!(ind.contains("id=\"definitions\""));
    let r = b.get("/trauma/indicators?from=soon").await;
    assert_eq!(r.status(), 422);
    // another prefecture's official: the record page is 404
    let o = app.browser("official").await;
    assert_eq!(o.get(&format!("/trauma/records/{id}")).await.status(), 404);
}
both!(pages_work_end_to_end);

/// Prevention (the last link of the chain): a township nurse records a road-safety session.
async fn prevention_activities(app: &TestApp) {
    let ok = json!({"org_code": "653121100", "held_on": "2025-09-12", "kind": "road_safety",
        "topic": "农机安全与头盔 / Farm machinery and helmets", "attendance": 86});
    let (s, row) = post(app, "nurse", "/api/v1/trauma/prevention", ok.clone()).await;
    assert_eq!(s, 201, "{row}");
    assert_eq!(row["attendance"], 86);
    for (k, v, field) in [
        ("held_on", json!("12/09/2025"), "held_on"),
        ("kind", json!("party"), "kind"),
        ("org_code", json!("653100-H01"), "org_code"),
        ("attendance", json!(-3), "attendance"),
    ] {
        let mut b = ok.clone();
        b[k] = v;
        let (s, e) = post(app, "nurse", "/api/v1/trauma/prevention", b).await;
        assert_eq!(s, 422, "{k}: {e}");
        assert!(fields(&e).contains(&field.to_string()), "{e}");
    }
    let (_, mine) = get(app, "doctor", "/api/v1/trauma/prevention").await;
    assert_eq!(mine["activities"].as_array().unwrap().len(), 1);
    let (_, other) = get(app, "official", "/api/v1/trauma/prevention").await;
    assert_eq!(other["activities"].as_array().unwrap().len(), 0);
    let (s, _) = get(app, "partner", "/api/v1/trauma/prevention").await;
    assert_eq!(s, 403);
}
both!(prevention_activities);

/// The record through the platform's FHIR REST layer (`/fhir/r4`): read and search of the
/// Encounter (record and each stay), Conditions, Observations and Procedure, with the values
/// the registry computed; 404 (and an audited refusal) for another prefecture's official; and
/// the same searches by a real FHIR client (fhirpy).
async fn fhir_r4_read_and_search(app: &TestApp) {
    let (s, rec) = post(
        app,
        "nurse",
        "/api/v1/trauma/records",
        json!({
            "patient_id": ZHANG_SAN,
            "mechanism": "road_traffic",
            "injured_at": "2018-06-01T09:20",
            "stays": [{"org_code": NURSE_CLINIC, "arrived_at": "2018-06-01T10:00"}],
            "gcs_eye": 3, "gcs_verbal": 4, "gcs_motor": 6,
            "sbp": 85, "rr": 24,
            "injuries": [{"icd10": "S36.1"}, {"icd10": "S27.0"}]
        }),
    )
    .await;
    assert_eq!(s, 201, "{rec}");
    let id = rec["id"].as_str().unwrap().to_string();
    let (s, rec) = post(
        app,
        "nurse",
        &format!("/api/v1/trauma/records/{id}/transfer"),
        json!({"version": 1, "org_code": REGIONAL_CENTRE,
               "departed_at": "2018-06-01T10:30", "arrived_at": "2018-06-01T12:00"}),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    let (_, mut rec) = get(app, "doctor", &format!("/api/v1/trauma/records/{id}")).await;
    rec["operation_at"] = json!("2018-06-01T12:45");
    let (s, rec) = send(
        app,
        "doctor",
        reqwest::Method::PUT,
        &format!("/api/v1/trauma/records/{id}"),
        Some(rec),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    let (iss, niss, ps) = (
        rec["iss"].as_i64().unwrap(),
        rec["niss"].as_i64().unwrap(),
        rec["ps_e6"].as_i64().unwrap(),
    );

    // read
    let (s, enc) = get(app, "doctor", &format!("/fhir/r4/Encounter/{id}")).await;
    assert_eq!(s, 200, "{enc}");
    assert_eq!(enc["resourceType"], "Encounter");
    assert_eq!(enc["location"].as_array().unwrap().len(), 2);
    assert_eq!(enc["subject"]["reference"], format!("Patient/{ZHANG_SAN}"));
    let (s, stay) = get(app, "doctor", &format!("/fhir/r4/Encounter/{id}-stay-2")).await;
    assert_eq!(s, 200, "{stay}");
    assert_eq!(stay["partOf"]["reference"], format!("Encounter/{id}"));
    assert_eq!(
        stay["serviceProvider"]["identifier"]["value"],
        REGIONAL_CENTRE
    );
    let (s, c) = get(app, "doctor", &format!("/fhir/r4/Condition/{id}-injury-1")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        c["code"]["coding"][0]["system"],
        "http://hl7.org/fhir/sid/icd-10"
    );
    assert_eq!(c["code"]["coding"][0]["code"], "S36.1");
    assert!(
        c["severity"]["coding"][0]["code"]
            .as_str()
            .unwrap()
            .parse::<u8>()
            .unwrap()
            >= 1
    );
    assert!(!c["bodySite"][0]["coding"][0]["code"]
        .as_str()
        .unwrap()
        .is_empty());
    let (s, p) = get(app, "doctor", &format!("/fhir/r4/Procedure/{id}-operation")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        p["performedDateTime"], "2018-06-01T04:45:00Z",
        "12:45 China time"
    );
    assert_eq!(p["encounter"]["reference"], format!("Encounter/{id}"));
    // a resource of another type under this id, or an id that is not there: 404
    let (s, _) = get(app, "doctor", &format!("/fhir/r4/Condition/{id}-operation")).await;
    assert_eq!(s, 404);
    let (s, _) = get(app, "doctor", "/fhir/r4/Encounter/no-such-record").await;
    assert_eq!(s, 404);

    // search by patient and by encounter
    let (s, b) = get(
        app,
        "doctor",
        &format!("/fhir/r4/Encounter?patient={ZHANG_SAN}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let ours: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .filter(|i| i.starts_with(id.as_str()))
        .collect();
    assert_eq!(ours.len(), 3, "record and two stays: {b}");
    let (s, b) = get(
        app,
        "doctor",
        &format!("/fhir/r4/Condition?encounter=Encounter/{id}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let codes: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["S36.1", "S27.0"]);
    let (s, b) = get(
        app,
        "doctor",
        &format!("/fhir/r4/Observation?patient=Patient/{ZHANG_SAN}&_count=50"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let obs: Vec<&Value> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let by_code = |code: &str| {
        obs.iter()
            .find(|o| o["code"]["coding"][0]["code"] == code)
            .unwrap_or_else(|| panic!("{code} missing: {b}"))
    };
    assert_eq!(by_code("9269-2")["valueInteger"], 13);
    assert_eq!(
        by_code("9269-2")["code"]["coding"][0]["system"],
        "http://loinc.org"
    );
    assert_eq!(by_code("rts")["valueDecimal"], 7.1082);
    assert_eq!(by_code("iss")["valueInteger"], iss);
    assert_eq!(by_code("niss")["valueInteger"], niss);
    assert_eq!(by_code("triss-ps")["valueDecimal"], ps as f64 / 1e6);
    assert_eq!(
        by_code("iss")["code"]["coding"][0]["system"],
        "https://tianshan.health/fhir/CodeSystem/trauma-score"
    );
    let (s, b) = get(
        app,
        "doctor",
        &format!("/fhir/r4/Procedure?encounter=Encounter/{id}"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 1);
    // no search parameter: refused, not the whole registry
    let (s, _) = get(app, "doctor", "/fhir/r4/Condition").await;
    assert!((400..500).contains(&s), "{s}");

    // another prefecture's official: 404 on read, nothing on search; no permission: 403
    for path in [
        format!("/fhir/r4/Encounter/{id}"),
        format!("/fhir/r4/Condition/{id}-injury-1"),
        format!("/fhir/r4/Observation/{id}-score-iss"),
        format!("/fhir/r4/Procedure/{id}-operation"),
    ] {
        let (s, b) = get(app, "official", &path).await;
        assert_eq!(s, 404, "{path}: {b}");
        assert_eq!(b["resourceType"], "OperationOutcome");
    }
    let (s, b) = get(
        app,
        "official",
        &format!("/fhir/r4/Encounter?patient={ZHANG_SAN}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(!b.to_string().contains(id.as_str()), "{b}");
    let (s, b) = get(
        app,
        "official",
        &format!("/fhir/r4/Condition?encounter={id}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total"], 0);
    let (s, _) = get(app, "partner", &format!("/fhir/r4/Encounter/{id}")).await;
    assert_eq!(s, 403);

    let audit = audit_for(app, ZHANG_SAN).await;
    let acts: Vec<(&str, &str)> = audit.iter().map(|e| (e.0.as_str(), e.1.as_str())).collect();
    assert!(acts.contains(&("doctor", "read")), "{acts:?}");
    assert!(acts.contains(&("doctor", "search")), "{acts:?}");
    assert!(acts.contains(&("official", "refused")), "{acts:?}");

    // a real FHIR client
    let token = app.token("doctor").await;
    let base = app.url("/fhir/r4");
    let script = format!(
        r#"
import sys
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound
c = SyncFHIRClient(sys.argv[1], authorization="Bearer " + sys.argv[2])
types = {{r["type"] for r in c.execute("metadata", method="get")["rest"][0]["resource"]}}
assert {{"Encounter", "Condition", "Observation", "Procedure"}} <= types, types
enc = c.reference("Encounter", "{id}").to_resource()
assert len(enc["location"]) == 2, enc
conds = c.resources("Condition").search(encounter="Encounter/{id}").fetch_all()
assert sorted(x["code"]["coding"][0]["code"] for x in conds) == ["S27.0", "S36.1"], conds
obs = c.resources("Observation").search(encounter="Encounter/{id}").fetch_all()
assert any(o["code"]["coding"][0]["code"] == "triss-ps" for o in obs), obs
procs = c.resources("Procedure").search(patient="{ZHANG_SAN}").fetch_all()
assert [p["id"] for p in procs if p["id"].startswith("{id}")] == ["{id}-operation"], procs
try:
    c.reference("Encounter", "no-such-record").to_resource()
    raise SystemExit("no 404")
except ResourceNotFound:
    pass
print("OK")
"#
    );
    let out = tokio::task::spawn_blocking(move || {
        let py = std::env::var_os("TIANSHAN_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/pyenv/bin/python")
            });
        std::process::Command::new(py)
            .arg("-c")
            .arg(script)
            .arg(base)
            .arg(token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "fhirpy failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
both!(fhir_r4_read_and_search);
