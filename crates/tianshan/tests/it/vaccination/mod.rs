//! The vaccination clinic over HTTP on both backends: one child from check-in to leave, two
//! stations racing for the last dose of a lot, bad lots and bad input refused with nothing
//! written, the cold chain (HTTP and the real MQTT broker) quarantining lots, serious AEFI
//! alerting the county, and the clinic day in Chromium at 390 px.
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{audit_for, TestApp};

#[cfg(test)]
mod bench;
mod concurrency;
mod doctors;
mod followup;
mod moved_in;
mod reminders;
mod vials;

const CLINIC: &str = "653121100-VC";
const VILLAGE: &str = "653121100201";
/// A child in Shule county: outside the demo nurse's township.
const SHULE_CHILD: &str = "demo-0004";

async fn get_json(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn days_ago(n: i64) -> String {
    let d = tianshan_platform::clock::Clock::system().now().date() - time::Duration::days(n);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Register an infant in the nurse's village; returns the patient id.
async fn infant(app: &TestApp, given: &str, age_days: i64) -> String {
    let (s, body) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/patients?confirm_not_duplicate=true"),
        json!({"family_name": "测", "given_name": given, "sex": "female", "birth_date": days_ago(age_days),
               "org_code": VILLAGE, "guardians": [{"name": "测母", "relationship": "mother", "phone": "13900001111"}]}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body["patient"]["id"].as_str().unwrap().to_string()
}

async fn lot(
    app: &TestApp,
    product: &str,
    lot_no: &str,
    qty: i64,
    expiry: &str,
    device: Option<&str>,
) -> Value {
    let (s, body) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/vaccination/lots"),
        json!({"org_code": CLINIC, "product_code": product, "lot_no": lot_no, "quantity": qty,
               "expiry": expiry, "manufacturer": "北京生物制品研究所", "device_id": device}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body
}

async fn lot_quantity(app: &TestApp, id: &str) -> (i64, String) {
    let (s, body) = get_json(&app.api("nurse").await, app.url("/api/v1/vaccination/lots")).await;
    assert_eq!(s, 200);
    let l = body["lots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .cloned()
        .unwrap();
    (
        l["quantity"].as_i64().unwrap(),
        l["status"].as_str().unwrap().to_string(),
    )
}

/// Check in, screen and register a child for `product`; returns the visit id.
async fn to_vaccination(app: &TestApp, c: &reqwest::Client, child: &str, product: &str) -> String {
    let (s, v) = post_json(
        c,
        app.url("/api/v1/vaccination/visits"),
        json!({"clinic_code": CLINIC, "patient_id": child}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = post_json(
        c,
        app.url(&format!("/api/v1/vaccination/visits/{id}/screening")),
        json!({}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("screened")), "{v}");
    let (s, v) = post_json(
        c,
        app.url(&format!("/api/v1/vaccination/visits/{id}/registration")),
        json!({"products": [product], "consent_by": "测母"}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("registered")), "{v}");
    id
}

const FAR: &str = "2030-12-31";

async fn clinic_flow(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "一号", 61).await;
    // The due list at two months: DTaP, polio due; products named in Chinese.
    let (s, rec) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{child}")),
    )
    .await;
    assert_eq!(s, 200, "{rec}");
    let polio = rec["due"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["vaccine_group"] == "Polio")
        .unwrap();
    assert!(
        matches!(polio["status"].as_str(), Some("due" | "overdue")),
        "{polio}"
    );
    assert!(
        polio["products"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name_zh"] == "脊灰灭活疫苗"),
        "{polio}"
    );
    let hepb = rec["due"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["vaccine_group"] == "HepB")
        .unwrap();
    assert!(hepb["earliest"].as_str().is_some());

    let l = lot(app, "IPV", "IPV-FLOW-1", 5, FAR, None).await;
    let lot_id = l["id"].as_str().unwrap();
    let (s, v) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/visits"),
        json!({"clinic_code": CLINIC, "patient_id": child}),
    )
    .await;
    assert_eq!(s, 201);
    let visit = v["id"].as_str().unwrap().to_string();
    let first_no = v["queue_no"].as_i64().unwrap();
    assert!(first_no >= 1);
    // Registration before screening: 409, the visit unchanged.
    let (s, e) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/visits/{visit}/registration")),
        json!({"products": ["IPV"], "consent_by": "测母"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    let (s, _) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/visits/{visit}/screening")),
        json!({"neurological": true}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/visits/{visit}/registration")),
        json!({"products": ["IPV"], "consent_by": "测母"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, out) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/visits/{visit}/vaccination")),
        json!({"doses": [{"lot_no": "IPV-FLOW-1", "site": "LT"}]}),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["visit"]["status"], "observing");
    assert_eq!(out["doses"][0]["product_code"], "IPV");
    assert_eq!(out["doses"][0]["route"], "IM");
    assert_eq!(lot_quantity(app, lot_id).await, (4, "active".to_string()));
    // The board shows the child under observation with about 30 minutes left.
    let (s, b) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/clinics/{CLINIC}/board")),
    )
    .await;
    assert_eq!(s, 200);
    let line = b["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["visit_id"] == visit.as_str())
        .unwrap();
    assert_eq!(line["station"], "observation");
    let left = line["observation_left"].as_i64().unwrap();
    assert!((1700..=1800).contains(&left), "{left}");
    // Leaving now is leaving early; the next appointment is set.
    let (s, v) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/visits/{visit}/leave")),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "left");
    assert_eq!(v["early_leave"], 1);
    assert!(v["next_date"].as_str().is_some(), "{v}");
    // The dose is in the record and evaluated valid for polio.
    let (_, rec) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{child}")),
    )
    .await;
    let d = &rec["doses"][0];
    assert_eq!(d["product_name_zh"], "脊灰灭活疫苗");
    assert!(
        d["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["vaccine_group"] == "Polio" && e["status"] == "valid"),
        "{d}"
    );
    // A dose given at the wrong age is not valid, with the reason.
    let (s, _) = post_json(&nurse, app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "product_code": "MMR", "given_on": days_ago(30), "elsewhere": true, "lot_no": "card"})).await;
    assert_eq!(s, 201);
    let (_, rec) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{child}")),
    )
    .await;
    let mmr = rec["doses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["product_code"] == "MMR")
        .unwrap();
    let e = &mmr["evaluations"][0];
    assert_eq!(e["status"], "not_valid", "{mmr}");
    assert!(
        e["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "age_too_young"),
        "{mmr}"
    );
    // Audited: each step, with the patient.
    let audit = audit_for(app, &child).await;
    let acts: Vec<&str> = audit
        .iter()
        .filter(|a| a.0 == "nurse")
        .map(|a| a.1.as_str())
        .collect();
    assert!(acts.contains(&"vaccination.dose"), "{acts:?}");
    assert!(
        acts.iter().filter(|a| **a == "vaccination.visit").count() >= 5,
        "{acts:?}"
    );
}
both!(clinic_flow);

/// Two stations vaccinate from a lot with one dose left, at the same moment: one dose is
/// recorded, the other station gets a clear 409, the count is 0, never below.
async fn concurrent_last_dose(app: &TestApp) {
    let a = app.api("nurse").await;
    let b = app.api("nurse").await;
    let l = lot(app, "HepB", "HEPB-LAST-1", 1, FAR, None).await;
    let lot_id = l["id"].as_str().unwrap().to_string();
    let c1 = infant(app, "甲", 40).await;
    let c2 = infant(app, "乙", 41).await;
    let v1 = to_vaccination(app, &a, &c1, "HepB").await;
    let v2 = to_vaccination(app, &b, &c2, "HepB").await;
    let body = json!({"doses": [{"lot_no": "HEPB-LAST-1", "site": "RT"}]});
    let (r1, r2) = tokio::join!(
        post_json(
            &a,
            app.url(&format!("/api/v1/vaccination/visits/{v1}/vaccination")),
            body.clone()
        ),
        post_json(
            &b,
            app.url(&format!("/api/v1/vaccination/visits/{v2}/vaccination")),
            body.clone()
        ),
    );
    let mut codes = [r1.0, r2.0];
    codes.sort();
    assert_eq!(codes, [200, 409], "{r1:?} {r2:?}");
    let refused = if r1.0 == 409 { &r1.1 } else { &r2.1 };
    assert_eq!(refused["error"]["code"], "conflict");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HEPB-LAST-1"),
        "{refused}"
    );
    assert_eq!(lot_quantity(app, &lot_id).await, (0, "active".to_string()));
    // Exactly one dose from that lot, and the refused child is still waiting for vaccination.
    let (_, d1) = get_json(
        &a,
        app.url(&format!("/api/v1/vaccination/doses?patient={c1}")),
    )
    .await;
    let (_, d2) = get_json(
        &a,
        app.url(&format!("/api/v1/vaccination/doses?patient={c2}")),
    )
    .await;
    assert_eq!(
        d1["doses"].as_array().unwrap().len() + d2["doses"].as_array().unwrap().len(),
        1
    );
    let waiting = if r1.0 == 409 { &v1 } else { &v2 };
    let (_, v) = get_json(
        &a,
        app.url(&format!("/api/v1/vaccination/visits/{waiting}")),
    )
    .await;
    assert_eq!(v["status"], "registered");
}
both!(concurrent_last_dose);

async fn bad_lots_and_input(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "丙", 70).await;
    let dose = |lot_no: &str| json!({"patient_id": child, "lot_no": lot_no, "site": "LT"});
    // Unknown lot: 422 naming the field.
    let (s, e) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        dose("NO-SUCH-LOT"),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "lot_no");
    // Expired lot: 409, stock unchanged.
    let expired = lot(app, "DTaP", "DTAP-OLD", 10, &days_ago(1), None).await;
    let (s, e) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        dose("DTAP-OLD"),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("DTAP-OLD"));
    assert_eq!(
        lot_quantity(app, expired["id"].as_str().unwrap()).await.0,
        10
    );
    // Recalled lot: 409.
    let recalled = lot(app, "DTaP", "DTAP-RECALL", 10, FAR, None).await;
    let rid = recalled["id"].as_str().unwrap();
    let (s, _) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/lots/{rid}/decision")),
        json!({"decision": "recall", "reason": "厂家召回通知"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        dose("DTAP-RECALL"),
    )
    .await;
    assert_eq!(s, 409);
    // A child out of the nurse's scope: 404, as for an unknown child, and the refusal audited.
    let good = lot(app, "DTaP", "DTAP-GOOD", 10, FAR, None).await;
    let (s, _) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": SHULE_CHILD, "lot_no": "DTAP-GOOD"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{SHULE_CHILD}")),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(lot_quantity(app, good["id"].as_str().unwrap()).await.0, 10);
    // An official may read but not vaccinate: 403.
    let official = app.api("official").await;
    let (s, _) = post_json(
        &official,
        app.url("/api/v1/vaccination/doses"),
        dose("DTAP-GOOD"),
    )
    .await;
    assert_eq!(s, 403);
    // Bad values: a future date, an unknown site, a malformed body.
    let (s, e) = post_json(&nurse, app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "product_code": "DTaP", "elsewhere": true, "given_on": "2099-01-01", "site": "XX"})).await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"given_on") && fields.contains(&"site"),
        "{fields:?}"
    );
    let r = nurse
        .post(app.url("/api/v1/vaccination/doses"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // Stock never below zero by adjustment either.
    let (s, _) = post_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/lots/{}/adjust",
            good["id"].as_str().unwrap()
        )),
        json!({"kind": "wastage", "delta": -11, "reason": "开瓶"}),
    )
    .await;
    assert_eq!(s, 409);
    let (_, d) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/doses?patient={child}")),
    )
    .await;
    assert_eq!(d["doses"].as_array().unwrap().len(), 0, "nothing written");
    // A clinic outside the nurse's scope: 404.
    let (s, _) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/visits"),
        json!({"clinic_code": "653129100-VC", "patient_id": child}),
    )
    .await;
    assert_eq!(s, 404);
}
both!(bad_lots_and_input);

fn at(minutes_ago: i64) -> String {
    let t = tianshan_platform::clock::Clock::system().now() - time::Duration::minutes(minutes_ago);
    tianshan_platform::clock::timestamp_text(t)
}

async fn device(app: &TestApp, id: &str, minutes: i64) {
    let (s, d) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/vaccination/devices"),
        json!({"id": id, "org_code": CLINIC, "name": "冷藏冰箱", "excursion_minutes": minutes}),
    )
    .await;
    assert_eq!(s, 201, "{d}");
}

async fn cold_chain_http(app: &TestApp) {
    let nurse = app.api("nurse").await;
    device(app, "TEST-F1", 30).await;
    let inside = lot(app, "MMR", "MMR-FRIDGE", 20, FAR, Some("TEST-F1")).await;
    let outside = lot(app, "MMR", "MMR-BOX", 20, FAR, None).await;
    let read = |a: String, c: f64| json!({"at": a, "celsius": c});
    let url = app.url("/api/v1/vaccination/devices/TEST-F1/readings");
    // Impossible temperature and malformed time: 422, nothing stored.
    let (s, e) = post_json(&nurse, url.clone(), read(at(100), 400.0)).await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = post_json(
        &nurse,
        url.clone(),
        json!({"at": "yesterday", "celsius": 4.0}),
    )
    .await;
    assert_eq!(s, 422);
    // 10-minute readings: 20 minutes out of range, then the same reading sent twice.
    for (m, c) in [(60, 5.0), (50, 9.5), (40, 10.0)] {
        let (s, o) = post_json(&nurse, url.clone(), read(at(m), c)).await;
        assert_eq!(s, 200, "{o}");
    }
    let (_, o) = post_json(&nurse, url.clone(), read(at(40), 10.0)).await;
    assert_eq!(o["stored"], false, "a duplicate is not stored again");
    assert_eq!(o["minutes_out"], 10);
    let (_, o) = post_json(&nurse, url.clone(), read(at(30), 9.0)).await;
    assert_eq!(o["minutes_out"], 20);
    assert_eq!(o["quarantined"].as_array().unwrap().len(), 0);
    // A late reading fills the gap: 30 minutes cumulative → excursion.
    let (_, o) = post_json(&nurse, url.clone(), read(at(20), 4.0)).await;
    assert_eq!(o["minutes_out"], 30, "{o}");
    assert_eq!(o["quarantined"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(
        lot_quantity(app, inside["id"].as_str().unwrap()).await.1,
        "quarantined"
    );
    assert_eq!(
        lot_quantity(app, outside["id"].as_str().unwrap()).await.1,
        "active"
    );
    // The alert reaches the county coordinator.
    let (_, al) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/vaccination/alerts"),
    )
    .await;
    assert!(
        al["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "cold_chain_excursion"),
        "{al}"
    );
    // No dose from the quarantined lot.
    let child = infant(app, "丁", 400).await;
    let (s, e) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "lot_no": "MMR-FRIDGE"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    // The device page charts the readings with the excursion marked and offers the decision.
    let b = app.browser("nurse").await;
    let page = b
        .get("/vaccination/devices/TEST-F1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("class=\"excursion-point\"").count(),
        3,
        "three readings out of range"
    );
    assert!(page.contains("id=\"release-MMR-FRIDGE\""));
    // A person releases it, with a reason; then it can be used.
    let lid = inside["id"].as_str().unwrap();
    let (s, _) = post_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/lots/{lid}/decision")),
        json!({"decision": "release", "reason": ""}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, l) = post_json(&nurse, app.url(&format!("/api/v1/vaccination/lots/{lid}/decision")),
        json!({"decision": "release", "reason": "温度记录核查：累计30分钟≤10℃，稳定性数据支持继续使用"})).await;
    assert_eq!((s, l["status"].as_str()), (200, Some("active")));
    let (s, _) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "lot_no": "MMR-FRIDGE", "site": "RD"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, d) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/devices/TEST-F1/review"),
        json!({}),
    )
    .await;
    assert_eq!((s, d["status"].as_str()), (200, Some("ok")));
}
both!(cold_chain_http);

/// Readings published to the real local Mosquitto broker reach the device; a duplicate does not
/// count twice; a malformed payload is dropped.
async fn cold_chain_mqtt(app: &TestApp) {
    let dev = format!("MQ-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    device(app, &dev, 30).await;
    let l = lot(app, "BCG", &format!("BCG-{dev}"), 50, FAR, Some(&dev)).await;
    // Let the subscriber connect.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let topic = format!("tianshan/coldchain/{dev}/reading");
    let publish = |payload: String| {
        let st = std::process::Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                "1883",
                "-q",
                "1",
                "-t",
                &topic,
                "-m",
                &payload,
            ])
            .status()
            .unwrap();
        assert!(st.success());
    };
    publish("{malformed".to_string());
    for (m, c) in [(60, 12.0), (50, 12.5), (50, 12.5), (40, 11.0)] {
        publish(json!({"at": at(m), "celsius": c}).to_string());
    }
    let nurse = app.api("nurse").await;
    let mut readings = 0;
    for _ in 0..50 {
        let (_, d) = get_json(
            &nurse,
            app.url(&format!("/api/v1/vaccination/devices/{dev}")),
        )
        .await;
        readings = d["readings"].as_array().map(Vec::len).unwrap_or(0);
        if readings == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(readings, 3, "the duplicate is stored once");
    assert_eq!(
        lot_quantity(app, l["id"].as_str().unwrap()).await.1,
        "active",
        "20 minutes is not yet 30"
    );
    publish(json!({"at": at(30), "celsius": 6.0}).to_string());
    let mut status = String::new();
    for _ in 0..50 {
        status = lot_quantity(app, l["id"].as_str().unwrap()).await.1;
        if status == "quarantined" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "quarantined");
    let (_, d) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/devices/{dev}")),
    )
    .await;
    assert_eq!(d["device"]["status"], "excursion");
    assert_eq!(d["excursions"][0]["minutes"], 30);
}
both!(cold_chain_mqtt);

async fn aefi_serious_alerts_county(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "戊", 90).await;
    lot(app, "DTaP", "DTAP-AEFI", 5, FAR, None).await;
    let (s, d) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "lot_no": "DTAP-AEFI", "site": "LT"}),
    )
    .await;
    assert_eq!(s, 201);
    let dose = d["id"].as_str().unwrap();
    let (s, e) = post_json(&nurse, app.url("/api/v1/vaccination/aefi"),
        json!({"patient_id": child, "dose_id": dose, "onset": days_ago(0), "symptoms": "x", "severity": "terrible", "outcome": "recovered"})).await;
    assert_eq!(s, 422, "{e}");
    let (s, a) = post_json(&nurse, app.url("/api/v1/vaccination/aefi"),
        json!({"patient_id": child, "dose_id": dose, "onset": days_ago(0), "symptoms": "高热惊厥，39.6℃", "severity": "severe",
               "treatment": "送县医院", "outcome": "recovering", "serious": true})).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["serious"], 1);
    let (_, al) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/vaccination/alerts"),
    )
    .await;
    assert!(
        al["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "aefi_serious" && x["ref_id"] == a["id"]),
        "{al}"
    );
    let audit = audit_for(app, &child).await;
    assert!(audit.iter().any(|e| e.1 == "vaccination.aefi"));
    let csv = nurse
        .get(app.url("/api/v1/vaccination/aefi/export"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}id,patient_id") && csv.contains("高热惊厥"),
        "{csv}"
    );
}
both!(aefi_serious_alerts_county);

async fn fhir_immunization(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "己", 100).await;
    lot(app, "DTaP", "DTAP-FHIR", 3, FAR, None).await;
    let post = |body: Value| {
        let nurse = nurse.clone();
        let url = app.url("/fhir/r4/Immunization");
        async move {
            let r = nurse
                .post(url)
                .header("content-type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Given elsewhere (a vaccination card): CVX 10 is IPV.
    let (s, r) = post(json!({"resourceType": "Immunization", "status": "completed", "patient": {"reference": format!("Patient/{child}")},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "10"}]},
        "occurrenceDateTime": days_ago(40), "primarySource": false, "lotNumber": "CARD-1"})).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["vaccineCode"]["text"], "脊灰灭活疫苗");
    let id = r["id"].as_str().unwrap().to_string();
    // Given here from stock: the lot is taken.
    let (s, r) = post(json!({"resourceType": "Immunization", "status": "completed", "patient": {"reference": format!("Patient/{child}")},
        "vaccineCode": {"coding": [{"system": "https://tianshan.health/fhir/CodeSystem/vaccine-product", "code": "DTaP"}]},
        "occurrenceDateTime": days_ago(0), "primarySource": true, "lotNumber": "DTAP-FHIR",
        "route": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "code": "IM"}]}})).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["route"]["coding"][0]["code"], "IM");
    // A vaccine code nobody knows: 422 OperationOutcome; an out-of-scope child: 404.
    let (s, r) = post(json!({"resourceType": "Immunization", "status": "completed", "patient": {"reference": format!("Patient/{child}")},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "999"}]}, "occurrenceDateTime": days_ago(1)})).await;
    assert!(s == 422 || s == 400, "{s} {r}");
    assert_eq!(r["resourceType"], "OperationOutcome");
    let (s, _) = post(json!({"resourceType": "Immunization", "status": "completed", "patient": {"reference": format!("Patient/{SHULE_CHILD}")},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "10"}]}, "occurrenceDateTime": days_ago(1)})).await;
    assert_eq!(s, 404);
    // Read and search by patient, vaccine code and date.
    let (s, r) = get_json(&nurse, app.url(&format!("/fhir/r4/Immunization/{id}"))).await;
    assert_eq!((s, r["lotNumber"].as_str()), (200, Some("CARD-1")));
    let (_, b) = get_json(
        &nurse,
        app.url(&format!("/fhir/r4/Immunization?patient=Patient/{child}")),
    )
    .await;
    assert_eq!(b["total"], 2, "{b}");
    let (_, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/Immunization?patient={child}&vaccine-code=10"
        )),
    )
    .await;
    assert_eq!(b["total"], 1);
    let (_, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/Immunization?patient={child}&date=ge{}",
            days_ago(10)
        )),
    )
    .await;
    assert_eq!(b["total"], 1);
    // The same doses as the JSON API.
    let (_, d) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/doses?patient={child}")),
    )
    .await;
    assert_eq!(d["doses"].as_array().unwrap().len(), 2);
    // A partner sees only what is shared with them: not this dose.
    let (s, _) = get_json(
        &app.api("partner").await,
        app.url(&format!("/fhir/r4/Immunization/{id}")),
    )
    .await;
    assert!(s == 404 || s == 403, "{s}");
}
both!(fhir_immunization);

async fn import_and_export(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "庚", 200).await;
    let csv = format!(
        "patient_id,product_code,cvx,given_on,lot_no,site\n\
         {child},HepB,,{d1},H1,RT\n\
         {child},NOPE,,{d2},X,LT\n\
         {SHULE_CHILD},HepB,,{d2},H2,RT\n\
         {child},,10,{d2},P1,LT\n\
         {child},DTaP,,not-a-date,D1,LT\n",
        d1 = days_ago(190),
        d2 = days_ago(120)
    );
    let import = |body: Vec<u8>, q: &str| {
        let nurse = nurse.clone();
        let url = app.url(&format!("/api/v1/vaccination/doses/import?{q}"));
        async move {
            let r = nurse.post(url).body(body).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    // Refused: every bad row named by its line, nothing written.
    let (s, rep) = import(csv.clone().into_bytes(), "filename=doses.csv").await;
    assert_eq!(s, 422, "{rep}");
    assert_eq!(rep["refused"], true);
    let rows: Vec<(i64, &str)> = rep["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![(3, "product"), (4, "patient_id"), (6, "given_on")],
        "{rep}"
    );
    assert!(!rep["errors"][0]["message"].as_str().unwrap().is_empty());
    let (_, d) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/doses?patient={child}")),
    )
    .await;
    assert_eq!(
        d["doses"].as_array().unwrap().len(),
        0,
        "nothing half-imported"
    );
    // Skipping the bad rows writes the two good ones.
    let (s, rep) = import(csv.into_bytes(), "filename=doses.csv&skip_bad=true").await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(
        (rep["imported"].as_i64(), rep["skipped"].as_i64()),
        (Some(2), Some(3))
    );
    // Export as XLSX and CSV; the XLSX file imports again as it is (a round trip).
    let r = nurse
        .get(app.url(&format!(
            "/api/v1/vaccination/doses/export?format=csv&patient={child}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("脊灰灭活疫苗") && text.contains("测庚"),
        "{text}"
    );
    let r = nurse
        .get(app.url(&format!(
            "/api/v1/vaccination/doses/export?format=xlsx&patient={child}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let xlsx = r.bytes().await.unwrap().to_vec();
    assert!(xlsx.starts_with(b"PK"));
    let (s, rep) = import(xlsx, "filename=doses.xlsx").await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(rep["imported"], 2);
    let (_, d) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/doses?patient={child}")),
    )
    .await;
    let doses = d["doses"].as_array().unwrap();
    assert_eq!(doses.len(), 4);
    assert!(doses.iter().all(|d| d["source"] == "import"));
    assert_eq!(
        doses
            .iter()
            .filter(|d| d["lot_no"] == "P1" && d["product_code"] == "IPV")
            .count(),
        2
    );
    // An official may read but not import.
    let r = app
        .api("official")
        .await
        .post(app.url("/api/v1/vaccination/doses/import"))
        .body("patient_id,given_on\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let audit = audit_for(app, &child).await;
    assert!(audit.iter().any(|e| e.1 == "vaccination.dose"));
}
both!(import_and_export);

/// Every page answers for the nurse (the demo clinic mid-morning), and refuses those without
/// the permission or outside the scope.
async fn pages_render(app: &TestApp) {
    let b = app.browser("nurse").await;
    let home = b.get("/vaccination?q=zs").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("托克扎克镇预防接种门诊") && html.contains("张三"),
        "the clinic and the search"
    );
    for station in [
        "checkin",
        "screening",
        "registration",
        "vaccination",
        "observation",
    ] {
        let r = b
            .get(&format!("/vaccination/clinics/{CLINIC}?station={station}"))
            .await;
        assert_eq!(r.status(), 200, "{station}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("name=\"_csrf\"") || station == "checkin",
            "{station} forms carry the CSRF field"
        );
    }
    let r = b
        .get(&format!(
            "/vaccination/clinics/{CLINIC}?station=observation"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        r.contains("data-left="),
        "children under observation have a timer (demo)"
    );
    let board = b
        .get(&format!("/vaccination/clinics/{CLINIC}/board"))
        .await
        .text()
        .await
        .unwrap();
    assert!(board.contains("data-events="));
    let child = infant(app, "癸", 30).await;
    let r = b.get(&format!("/vaccination/children/{child}")).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("乙肝疫苗"));
    // Out of scope: 404; a partner without the permission: 403.
    assert_eq!(
        b.get(&format!("/vaccination/children/{SHULE_CHILD}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        b.get("/vaccination/clinics/653129100-VC").await.status(),
        404
    );
    assert_eq!(
        app.browser("partner")
            .await
            .get("/vaccination")
            .await
            .status(),
        403
    );
    // A station form posted twice: the second is refused with a message, not a 500.
    let (s, v) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/vaccination/visits"),
        json!({"clinic_code": CLINIC, "patient_id": child}),
    )
    .await;
    assert_eq!(s, 201);
    let id = v["id"].as_str().unwrap();
    let r = b
        .post_form(&format!("/vaccination/visits/{id}/screening"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .post_form(&format!("/vaccination/visits/{id}/screening"), &[])
        .await;
    assert_eq!(r.status(), 409);
    // Uyghur: right to left.
    let ug = app.browser("nurse").await;
    let r = ug
        .post_form(
            "/settings/language",
            &[("lang", "ug"), ("back", "/vaccination")],
        )
        .await;
    assert!(r.status().is_redirection());
    let html = ug
        .get(&format!("/vaccination/children/{child}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("dir=\"rtl\"") && html.contains("ئەملىنىدىغانلار"),
        "Uyghur page, right to left"
    );
}
both!(pages_render);

/// The stock page: a lot received from the county, wastage and a count adjustment with
/// reasons, bad input refused with nothing written, never below zero; refusals by permission.
async fn stock_pages(app: &TestApp) {
    let b = app.browser("nurse").await;
    let html = b.get("/vaccination/stock").await.text().await.unwrap();
    assert!(
        html.contains("name=\"_csrf\"") && html.contains(CLINIC) && html.contains("乙肝疫苗"),
        "the receive form offers the clinic and the products"
    );
    let receive = |lot_no: &'static str, qty: &'static str, expiry: &'static str| {
        vec![
            ("org_code", CLINIC),
            ("product_code", "HepB"),
            ("lot_no", lot_no),
            ("manufacturer", "深圳康泰生物制品"),
            ("expiry", expiry),
            ("quantity", qty),
            ("doses_per_vial", "1"),
            ("device_id", ""),
        ]
    };
    let r = b
        .post_form("/vaccination/stock", &receive("PG-HEPB-1", "20", FAR))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/vaccination/stock?done=1"
    );
    let (_, body) = get_json(&app.api("nurse").await, app.url("/api/v1/vaccination/lots")).await;
    let lots = body["lots"].as_array().unwrap().clone();
    let l = lots.iter().find(|l| l["lot_no"] == "PG-HEPB-1").unwrap();
    assert_eq!(l["quantity"], 20);
    assert_eq!(l["manufacturer"], "深圳康泰生物制品");
    let id = l["id"].as_str().unwrap().to_string();
    // Bad input: a count that is not a number, an impossible expiry: 422, nothing written.
    for (qty, expiry) in [("twenty", FAR), ("5", "2030-13-45")] {
        let r = b
            .post_form("/vaccination/stock", &receive("PG-HEPB-BAD", qty, expiry))
            .await;
        assert_eq!(r.status(), 422, "{qty} {expiry}");
    }
    let (_, body) = get_json(&app.api("nurse").await, app.url("/api/v1/vaccination/lots")).await;
    assert!(!body.to_string().contains("PG-HEPB-BAD"));
    // Wastage: the nurse types 3, three doses go out.
    let adjust = format!("/vaccination/stock/lots/{id}/adjust");
    let r = b
        .post_form(
            &adjust,
            &[
                ("kind", "wastage"),
                ("delta", "3"),
                ("reason", "开瓶超过 30 分钟"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(lot_quantity(app, &id).await.0, 17);
    // A count adjustment up, with a reason.
    let r = b
        .post_form(
            &adjust,
            &[("kind", "adjustment"), ("delta", "+2"), ("reason", "盘点")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(lot_quantity(app, &id).await.0, 19);
    // Below zero: 409; no reason, an unknown kind, not a number: 422; nothing changes.
    let r = b
        .post_form(
            &adjust,
            &[("kind", "adjustment"), ("delta", "-40"), ("reason", "盘点")],
        )
        .await;
    assert_eq!(r.status(), 409);
    for f in [
        [("kind", "wastage"), ("delta", "1"), ("reason", " ")],
        [("kind", "theft"), ("delta", "1"), ("reason", "x")],
        [("kind", "wastage"), ("delta", "many"), ("reason", "x")],
    ] {
        let r = b.post_form(&adjust, &f).await;
        assert_eq!(r.status(), 422, "{f:?}");
    }
    assert_eq!(lot_quantity(app, &id).await.0, 19);
    // The movements are audited against the lot.
    let f = tianshan_platform::audit::Filter {
        action: Some("vaccination.stock".into()),
        entity_type: Some("VaccineLot".into()),
        ..Default::default()
    };
    let moves: Vec<String> = tianshan_platform::audit::list(&app.db, &f, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entity_id == id)
        .map(|e| e.detail)
        .collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    assert!(
        moves
            .iter()
            .any(|d| d.contains("wastage -3") && d.contains("开瓶")),
        "{moves:?}"
    );
    // A partner without the permission: 403.
    assert_eq!(
        app.browser("partner")
            .await
            .get("/vaccination/stock")
            .await
            .status(),
        403
    );
    // Uyghur, right to left.
    let ug = app.browser("nurse").await;
    ug.post_form(
        "/settings/language",
        &[("lang", "ug"), ("back", "/vaccination")],
    )
    .await;
    let html = ug.get("/vaccination/stock").await.text().await.unwrap();
    assert!(
        html.contains("dir=\"rtl\"") && html.contains("ئىسراپ"),
        "Uyghur stock page"
    );
}
both!(stock_pages);

/// The adverse event form: WHO core variables from the child's page; a serious report alerts
/// the county at once, a mild one does not; bad input 422; out of scope 404.
async fn aefi_form(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "己", 100).await;
    lot(app, "DTaP", "DTAP-FORM", 5, FAR, None).await;
    let (s, d) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": child, "lot_no": "DTAP-FORM", "site": "LT"}),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    let dose = d["id"].as_str().unwrap().to_string();
    let b = app.browser("nurse").await;
    let page = format!("/vaccination/children/{child}/aefi");
    let html = b.get(&page).await.text().await.unwrap();
    assert!(
        html.contains("DTAP-FORM") && html.contains(&dose) && html.contains("name=\"_csrf\""),
        "the form offers the child's doses"
    );
    let alerts = |a: Value| -> Vec<Value> {
        a["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "aefi_serious")
            .cloned()
            .collect()
    };
    let coordinator = app.api("coordinator").await;
    let before = alerts(
        get_json(&coordinator, app.url("/api/v1/vaccination/alerts"))
            .await
            .1,
    )
    .len();
    // Bad input: unknown severity; a dose of another child.
    let onset = days_ago(0);
    let r = b
        .post_form(
            &page,
            &[
                ("dose_id", &dose),
                ("onset", &onset),
                ("symptoms", "发热"),
                ("severity", "terrible"),
                ("outcome", "recovered"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let other = infant(app, "庚", 100).await;
    let r = b
        .post_form(
            &format!("/vaccination/children/{other}/aefi"),
            &[
                ("dose_id", &dose),
                ("onset", &onset),
                ("symptoms", "发热"),
                ("severity", "mild"),
                ("outcome", "recovered"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // Mild, not serious: filed, no alert.
    let r = b
        .post_form(
            &page,
            &[
                ("dose_id", &dose),
                ("onset", &onset),
                ("symptoms", "注射部位红肿"),
                ("severity", "mild"),
                ("treatment", "冷敷"),
                ("outcome", "recovered"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("/vaccination/children/{child}?aefi=")));
    assert_eq!(
        alerts(
            get_json(&coordinator, app.url("/api/v1/vaccination/alerts"))
                .await
                .1
        )
        .len(),
        before
    );
    // Serious: the county coordinator is alerted, linked to the report.
    let r = b
        .post_form(
            &page,
            &[
                ("dose_id", &dose),
                ("onset", &onset),
                ("symptoms", "高热惊厥 39.8℃"),
                ("severity", "severe"),
                ("treatment", "送伽师县人民医院"),
                ("outcome", "recovering"),
                ("serious", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let report = loc.rsplit('=').next().unwrap().to_string();
    let now = alerts(
        get_json(&coordinator, app.url("/api/v1/vaccination/alerts"))
            .await
            .1,
    );
    assert_eq!(now.len(), before + 1);
    assert!(
        now.iter().any(|a| a["ref_id"] == report.as_str()),
        "{now:?}"
    );
    let (_, list) = get_json(&nurse, app.url("/api/v1/vaccination/aefi")).await;
    let mine: Vec<&Value> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["patient_id"] == child.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "{list}");
    let serious = mine.iter().find(|r| r["id"] == report.as_str()).unwrap();
    assert_eq!(serious["serious"], 1);
    assert_eq!(serious["severity"], "severe");
    assert_eq!(serious["treatment"], "送伽师县人民医院");
    assert!(serious["lot_id"].is_string(), "linked to the lot");
    // The child's page confirms the report.
    let html = b.get(&loc).await.text().await.unwrap();
    assert!(html.contains("id=\"aefi-done\""));
    // Out of scope: 404; without the permission: 403.
    assert_eq!(
        b.get(&format!("/vaccination/children/{SHULE_CHILD}/aefi"))
            .await
            .status(),
        404
    );
    assert_eq!(app.browser("partner").await.get(&page).await.status(), 403);
}
both!(aefi_form);

/// The demo: a Jiashi clinic mid-morning with a past fridge excursion (quarantined lots, an
/// alert), a lot near expiry, children at every station.
async fn demo_clinic(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let (_, lots) = get_json(&coord, app.url("/api/v1/vaccination/lots")).await;
    let lots = lots["lots"].as_array().unwrap();
    let jiashi: Vec<&Value> = lots
        .iter()
        .filter(|l| l["org_code"] == "653129100-VC")
        .collect();
    assert!(
        jiashi
            .iter()
            .filter(|l| l["status"] == "quarantined")
            .count()
            >= 1
    );
    assert!(
        jiashi
            .iter()
            .any(|l| l["product_code"] == "MMR" && l["status"] == "active"),
        "the near-expiry lot"
    );
    let (_, al) = get_json(&coord, app.url("/api/v1/vaccination/alerts")).await;
    assert!(al["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "cold_chain_excursion"));
    let (_, b) = get_json(
        &coord,
        app.url("/api/v1/vaccination/clinics/653129100-VC/board"),
    )
    .await;
    let stations: Vec<&str> = b["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["station"].as_str().unwrap())
        .collect();
    for s in ["screening", "registration", "vaccination", "observation"] {
        assert!(stations.contains(&s), "{s} in {stations:?}");
    }
}
both!(demo_clinic);

/// One child through every station in Chromium at 390 px: check-in by name, screening,
/// registration from the due list with consent, vaccination by lot number, the observation
/// timer, and the queue board showing them. Screenshots in `target/screenshots/`.
mod browser {

    use std::path::{Path, PathBuf};

    use std::time::Duration;

    use fantoccini::elements::Element;
    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::json;

    use super::{infant, lot, CLINIC, FAR};
    use crate::helpers::{demo_password, spawn_app, Backend, TestApp};

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
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
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

    fn screenshot_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    async fn shot(c: &Client, name: &str) {
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(name), png).unwrap();
    }

    async fn fits(c: &Client, what: &str) {
        let v = c
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth, \
                 Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5).join(' ')]",
                vec![],
            )
            .await
            .unwrap();
        let (inner, scroll) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
        assert_eq!(inner, PHONE_WIDTH);
        assert!(
            scroll <= inner,
            "{what} is {scroll} px wide on a {inner} px screen: {}",
            v[2]
        );
    }

    async fn find(c: &Client, css: &str) -> Element {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    async fn click(c: &Client, css: &str) {
        find(c, css).await.click().await.unwrap();
    }

    async fn wait_for(c: &Client, css: &str) -> Element {
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("expected {css}: {e}"))
    }

    async fn queue_no(app: &TestApp, child: &str) -> i64 {
        let b: serde_json::Value = app
            .api("nurse")
            .await
            .get(app.url(&format!("/api/v1/vaccination/clinics/{CLINIC}/board")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        b["visits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["patient_id"] == child)
            .unwrap()["queue_no"]
            .as_i64()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_child_through_every_station_at_phone_width() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let child = infant(&app, "浏览器", 62).await;
        lot(&app, "IPV", "IPV-BROWSER-1", 10, FAR, None).await;
        let profile = tempfile::tempdir().unwrap();
        let c = phone(&driver, profile.path()).await;
        let run = tokio::spawn(scenario(c.clone(), app.base.clone(), child.clone())).await;
        let result = match run {
            Ok(()) => {
                let no = queue_no(&app, &child).await;
                tokio::spawn(board(c.clone(), app.base.clone(), no)).await
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            if let Ok(png) = c.screenshot().await {
                let _ = std::fs::write(screenshot_dir().join("vaccination-failure.png"), png);
            }
        }
        let _ = c.close().await;
        drop(driver);
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn scenario(c: Client, base: String, child: String) {
        c.goto(&format!("{base}/login")).await.unwrap();
        find(&c, "#username")
            .await
            .send_keys("nurse")
            .await
            .unwrap();
        find(&c, "#password")
            .await
            .send_keys(demo_password("nurse"))
            .await
            .unwrap();
        click(&c, "#signin").await;
        wait_for(&c, "header .who").await;
        // Check-in: find the child by name, take a queue number.
        c.goto(&format!(
            "{base}/vaccination/clinics/{CLINIC}?station=checkin"
        ))
        .await
        .unwrap();
        find(&c, "#q").await.send_keys("测浏览器").await.unwrap();
        click(&c, "#find").await;
        wait_for(&c, &format!("#checkin-{child}")).await;
        fits(&c, "check-in").await;
        shot(&c, "vaccination-1-checkin.png").await;
        click(&c, &format!("#checkin-{child}")).await;
        // Screening: the child waits with a number; no contraindication.
        wait_for(&c, "button[id^='screen-']").await;
        let items = c.find_all(Locator::Css("#queue li")).await.unwrap();
        let mut no = String::new();
        for it in items {
            if it.text().await.unwrap().contains("测浏览器") {
                no = it
                    .attr("id")
                    .await
                    .unwrap()
                    .unwrap()
                    .trim_start_matches("visit-")
                    .to_string();
            }
        }
        assert!(!no.is_empty(), "the child is in the screening queue");
        fits(&c, "screening").await;
        shot(&c, "vaccination-2-screening.png").await;
        click(&c, &format!("#screen-{no}")).await;
        // Registration: the due list offers IPV (脊灰灭活疫苗); the guardian consents.
        let ipv = wait_for(&c, &format!("#product-IPV-{no}")).await;
        let label = c
            .find(Locator::Css(&format!("#visit-{no}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(label.contains("脊灰灭活疫苗"), "{label}");
        ipv.click().await.unwrap();
        find(&c, &format!("#consent-{no}"))
            .await
            .send_keys("测母")
            .await
            .unwrap();
        fits(&c, "registration").await;
        shot(&c, "vaccination-3-registration.png").await;
        click(&c, &format!("#register-{no}")).await;
        // Vaccination: type the lot number, choose the site.
        wait_for(&c, &format!("#lot-IPV-{no}"))
            .await
            .send_keys("IPV-BROWSER-1")
            .await
            .unwrap();
        fits(&c, "vaccination").await;
        shot(&c, "vaccination-4-vaccination.png").await;
        click(&c, &format!("#vaccinate-{no}")).await;
        // Observation: the timer counts down from 30 minutes.
        let timer = wait_for(&c, &format!("#timer-{no}")).await;
        let first = timer.text().await.unwrap();
        assert!(
            first.starts_with("29:") || first.starts_with("30:"),
            "{first}"
        );
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let later = timer.text().await.unwrap();
        assert_ne!(first, later, "the timer runs");
        fits(&c, "observation").await;
        shot(&c, "vaccination-5-observation.png").await;
        // The child's page shows the dose.
        c.goto(&format!("{base}/vaccination/children/{child}"))
            .await
            .unwrap();
        let doses = wait_for(&c, "#doses").await.text().await.unwrap();
        assert!(doses.contains("脊灰灭活疫苗"), "{doses}");
        fits(&c, "child page").await;
        shot(&c, "vaccination-6-child.png").await;
        // An adverse event reported from the child's page, at phone width.
        click(&c, "#aefi-link").await;
        wait_for(&c, "#symptoms")
            .await
            .send_keys("注射部位红肿 2 cm")
            .await
            .unwrap();
        click(&c, "#severity-mild").await;
        fits(&c, "AEFI form").await;
        shot(&c, "vaccination-8-aefi.png").await;
        click(&c, "#aefi-submit").await;
        wait_for(&c, "#aefi-done").await;
        // The stock page: receive and adjust forms fit the phone too.
        c.goto(&format!("{base}/vaccination/stock")).await.unwrap();
        wait_for(&c, "#receive").await;
        fits(&c, "stock page").await;
        shot(&c, "vaccination-9-stock.png").await;
        // Coverage tables and the overdue list of the village fit the phone as well.
        c.goto(&format!("{base}/vaccination/coverage"))
            .await
            .unwrap();
        wait_for(&c, "#coverage-form").await;
        fits(&c, "coverage page").await;
        shot(&c, "vaccination-10-coverage.png").await;
        c.goto(&format!("{base}/vaccination/overdue?org=653121100201"))
            .await
            .unwrap();
        wait_for(&c, "#csv").await;
        fits(&c, "overdue list").await;
        shot(&c, "vaccination-11-overdue.png").await;
    }

    async fn board(c: Client, base: String, no: i64) {
        c.goto(&format!("{base}/vaccination/clinics/{CLINIC}/board"))
            .await
            .unwrap();
        let row = wait_for(&c, &format!("#board-{no}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(row.contains("测浏览器"), "{row}");
        assert!(row.contains("留观"), "{row}");
        fits(&c, "queue board").await;
        shot(&c, "vaccination-7-board.png").await;
    }
}

/// Residence status with its history on the child's page (bad input refused, audited), and the
/// overdue list of a village (page and CSV, guardian's phone, moved-out children left out).
async fn residence_and_overdue(app: &TestApp) {
    let b = app.browser("nurse").await;
    let stays = infant(app, "辛", 200).await;
    let gone = infant(app, "壬", 200).await;
    // Registered in the village, never seen at the clinic: traced all the same.
    let never = infant(app, "子", 200).await;
    let res = |id: &str| format!("/vaccination/children/{id}/residence");
    let (d100, d10) = (days_ago(100), days_ago(10));
    for (id, status, since, note) in [
        (&stays, "resident", d100.as_str(), ""),
        (&stays, "moved_in", d10.as_str(), "随父母从巴楚县迁入"),
        (&gone, "moved_out", d10.as_str(), "迁往乌鲁木齐"),
    ] {
        let r = b
            .post_form(
                &res(id),
                &[("status", status), ("since", since), ("note", note)],
            )
            .await;
        assert_eq!(r.status(), 303, "{status}");
    }
    // Bad input: an unknown status, a date in the future: 422, nothing written.
    let future = days_ago(-5);
    for (status, since) in [("gone", d10.as_str()), ("resident", future.as_str())] {
        let r = b
            .post_form(&res(&stays), &[("status", status), ("since", since)])
            .await;
        assert_eq!(r.status(), 422, "{status} {since}");
    }
    let html = b
        .get(&format!("/vaccination/children/{stays}"))
        .await
        .text()
        .await
        .unwrap();
    let current = html.split("id=\"residence\">").nth(1).unwrap();
    assert!(
        current.split("</dd>").next().unwrap().contains("迁入"),
        "the current status is the latest: {current}"
    );
    let history = html.split("id=\"residence-history\">").nth(1).unwrap();
    let history = history.split("</ul>").next().unwrap();
    assert_eq!(history.matches("<li>").count(), 2, "{history}");
    assert!(history.contains("巴楚县") && history.contains(&d100));
    assert!(
        html.contains("测母") && html.contains("13900001111"),
        "guardian shown"
    );
    let audit = audit_for(app, &stays).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.1 == "vaccination.residence")
            .count(),
        2
    );
    // The overdue list of the village: the moved-in child with the guardian's phone; not the
    // child who moved out.
    let html = b
        .get(&format!("/vaccination/overdue?org={VILLAGE}"))
        .await
        .text()
        .await
        .unwrap();
    let row = html
        .split(&format!("id=\"od-{stays}\""))
        .nth(1)
        .expect("the overdue child is listed");
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("13900001111") && row.contains("迁入"), "{row}");
    assert!(row.contains("HepB"), "{row}");
    assert!(!html.contains(&gone), "a child who moved out is not traced");
    let row = html
        .split(&format!("id=\"od-{never}\""))
        .nth(1)
        .expect("a child with no record at the clinic is listed");
    assert!(row.split("</tr>").next().unwrap().contains("常住"), "{row}");
    let csv = b
        .get(&format!("/vaccination/overdue.csv?org={VILLAGE}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}village,village_doctors,patient_id,name"),
        "{csv}"
    );
    let line = csv.lines().find(|l| l.contains(stays.as_str())).unwrap();
    assert!(
        line.contains("13900001111") && line.contains("moved_in"),
        "{line}"
    );
    assert!(!csv.contains(&gone));
    // Out of scope: 404 (a Shule township, a Shule child); without the permission: 403.
    assert_eq!(
        b.get("/vaccination/overdue?org=653122100").await.status(),
        404
    );
    assert_eq!(
        b.post_form(
            &res(SHULE_CHILD),
            &[("status", "resident"), ("since", &d10)]
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.browser("partner")
            .await
            .get(&format!("/vaccination/overdue?org={VILLAGE}"))
            .await
            .status(),
        403
    );
}
both!(residence_and_overdue);

/// FHIR ImmunizationRecommendation read and search by patient: the engine's due list, the same
/// as the JSON API's; out of scope 404 (read) or nothing (search); search needs a patient.
async fn fhir_recommendation(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let child = infant(app, "癸", 200).await;
    let (s, r) = get_json(
        &nurse,
        app.url(&format!("/fhir/r4/ImmunizationRecommendation/{child}")),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["resourceType"], "ImmunizationRecommendation");
    assert_eq!(r["patient"]["reference"], format!("Patient/{child}"));
    assert_eq!(r["date"], days_ago(0));
    let (s, api) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{child}")),
    )
    .await;
    assert_eq!(s, 200);
    let due = api["due"].as_array().unwrap();
    let recs = r["recommendation"].as_array().unwrap();
    assert_eq!(recs.len(), due.len());
    for (d, rec) in due.iter().zip(recs) {
        assert_eq!(rec["vaccineCode"][0]["text"], d["vaccine_group"]);
        assert_eq!(rec["forecastStatus"]["coding"][0]["code"], d["status"]);
    }
    // A 200-day-old with no dose is overdue for hepatitis B dose 1, given as 乙肝疫苗.
    let hepb = recs
        .iter()
        .find(|x| x["vaccineCode"][0]["text"] == "HepB")
        .expect("HepB");
    assert_eq!(hepb["forecastStatus"]["coding"][0]["code"], "overdue");
    assert_eq!(hepb["doseNumberPositiveInt"], 1);
    assert!(hepb["vaccineCode"][0]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "HepB" && c["display"] == "乙肝疫苗"));
    assert!(hepb["dateCriterion"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"]["coding"][0]["code"] == "30981-5"));
    // Search by patient: a bundle with the same resource.
    let (s, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/ImmunizationRecommendation?patient=Patient/{child}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total"], 1);
    assert_eq!(b["entry"][0]["resource"], r);
    // Out of scope: 404 on read, nothing found by search; no patient: 422 OperationOutcome.
    let (s, _) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/ImmunizationRecommendation/{SHULE_CHILD}"
        )),
    )
    .await;
    assert_eq!(s, 404);
    let (s, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/ImmunizationRecommendation?patient={SHULE_CHILD}"
        )),
    )
    .await;
    assert_eq!((s, b["total"].as_i64()), (200, Some(0)), "{b}");
    let (s, o) = get_json(&nurse, app.url("/fhir/r4/ImmunizationRecommendation")).await;
    assert_eq!(s, 422, "{o}");
    assert_eq!(o["resourceType"], "OperationOutcome");
    // The read is audited against the child.
    let audit = audit_for(app, &child).await;
    assert!(audit.iter().any(|e| e.2 == "fhir"), "{audit:?}");
}
both!(fhir_recommendation);
