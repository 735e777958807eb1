//! Tele-consultation and two-way referral: the whole lifecycle over HTTP (file, route through
//! the department pairing, decline, re-route, accept, ask for information, answer,
//! acknowledge), scope refusals, bad input, the de-identified summary a partner abroad sees,
//! escalation with a manual clock, referrals up and back down, the pages and the export.
use serde_json::{json, Value};
use tianshan_platform::clock::Clock;

use crate::both;
use crate::helpers::{audit_for, TestApp};

/// 张三, in the nurse's township.
const NURSE_PATIENT: &str = "demo-0001";
/// An adult in Opal village (Shufu county, Kashgar), with an ID number.
const OPAL_ADULT: &str = "demo-0003";
/// A patient in Hami, outside the nurse's and the doctor's area.
const HAMI_PATIENT: &str = "demo-0005";

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

async fn file(app: &TestApp, user: &str, body: Value) -> (u16, Value) {
    post_json(&app.api(user).await, app.url("/api/v1/consult/cases"), body).await
}

async fn step(app: &TestApp, user: &str, id: &str, body: Value) -> (u16, Value) {
    post_json(
        &app.api(user).await,
        app.url(&format!("/api/v1/consult/cases/{id}/steps")),
        body,
    )
    .await
}

async fn case(app: &TestApp, user: &str, id: &str) -> (u16, Value) {
    get_json(
        &app.api(user).await,
        app.url(&format!("/api/v1/consult/cases/{id}")),
    )
    .await
}

fn cardiology(patient: &str) -> Value {
    json!({"patient_id": patient, "kind": "opinion", "urgency": "routine", "specialty": "心血管内科",
           "target_kind": "pool", "complaint": "活动后胸闷气短2周", "history": "高血压10年",
           "question": "是否需要调整降压方案并上转？"})
}

fn thread_kinds(detail: &Value) -> Vec<String> {
    detail["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The township nurse's pool case goes to the paired Peking Union cardiology department; the
/// expert declines it with a reason (back to routing: no other pairing, so the coordinator's
/// queue), the coordinator routes it back, the expert accepts, asks for information (the
/// clock pauses), the nurse answers, the expert gives the opinion, the nurse acknowledges.
async fn lifecycle_over_http(app: &TestApp) {
    let (s, c) = file(app, "nurse", cardiology(NURSE_PATIENT)).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["status"], "filed");
    assert_eq!(c["target_code"], "RH-BJ-PUMCH-CAR", "routed by the pairing");
    assert_eq!(c["patient"]["name"], "张三");
    assert!(c["minutes_left"].as_i64().unwrap() > 4300);

    // The expert sees it to accept; the official in Hami and the partner do not see it at all.
    let (s, inbox) = get_json(&app.api("expert").await, app.url("/api/v1/consult/cases")).await;
    assert_eq!(s, 200);
    assert!(inbox["to_accept"].to_string().contains(&id));
    // The official holds no consultation permission; the partner is outside both sides.
    assert_eq!(case(app, "official", &id).await.0, 403);
    assert_eq!(
        case(app, "partner", &id).await.0,
        404,
        "as for an unknown id"
    );
    // The requester cannot accept her own case.
    let (s, _) = step(app, "nurse", &id, json!({"step": "accept"})).await;
    assert_eq!(s, 409);
    // A decline needs its reason.
    let (s, e) = step(app, "expert", &id, json!({"step": "decline"})).await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = step(
        app,
        "expert",
        &id,
        json!({"step": "decline", "text": "本周科室人手不足"}),
    )
    .await;
    assert_eq!(
        s, 404,
        "declined and routed away: the expert no longer sees it"
    );
    let (_, c) = case(app, "coordinator", &id).await;
    assert_eq!(c["case"]["status"], "filed");
    assert_eq!(
        c["case"]["target_code"], "",
        "no other pairing: the coordinator's queue"
    );
    let (s, _) = case(app, "expert", &id).await;
    assert_eq!(s, 404);
    // The coordinator routes it back (an unknown code is refused first).
    let (s, _) = step(
        app,
        "coordinator",
        &id,
        json!({"step": "route", "target_code": "NOPE"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, c) = step(
        app,
        "coordinator",
        &id,
        json!({"step": "route", "target_code": "RH-BJ-PUMCH-CAR"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let (s, c) = step(app, "expert", &id, json!({"step": "accept"})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "accepted");
    assert_eq!(c["assignee"], "expert");
    let (s, d) = case(app, "expert", &id).await;
    assert_eq!(s, 200);
    assert_eq!(
        d["case"]["patient"]["name"], "张三",
        "a domestic expert sees who it is"
    );
    let (s, c) = step(
        app,
        "expert",
        &id,
        json!({"step": "request_info", "text": "请补充心电图"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "info_requested");
    assert_eq!(c["paused"], true);
    // Waiting on the nurse's side now.
    let (_, inbox) = get_json(&app.api("nurse").await, app.url("/api/v1/consult/cases")).await;
    assert!(inbox["waiting_on_me"].to_string().contains(&id));
    let (s, _) = step(
        app,
        "expert",
        &id,
        json!({"step": "answer", "impression": "x"}),
    )
    .await;
    assert_eq!(s, 409, "no answer while waiting for information");
    let (s, c) = step(
        app,
        "nurse",
        &id,
        json!({"step": "provide_info", "text": "心电图：窦性心律，ST段压低"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "accepted");
    assert_eq!(c["paused"], false);
    let (s, e) = step(app, "expert", &id, json!({"step": "answer"})).await;
    assert_eq!(s, 422, "an answer needs its impression: {e}");
    let (s, c) = step(
        app,
        "expert",
        &id,
        json!({"step": "answer", "impression": "稳定型心绞痛", "recommendations": "加用β受体阻滞剂",
               "refer": true, "follow_up": "2周后复诊"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "answered");
    assert_eq!(c["opinion"]["impression"], "稳定型心绞痛");
    assert_eq!(c["opinion"]["refer"], true);
    let (s, _) = step(
        app,
        "nurse",
        &id,
        json!({"step": "acknowledge", "rating": 9}),
    )
    .await;
    assert_eq!(s, 422, "rating 1-5");
    let (s, c) = step(
        app,
        "nurse",
        &id,
        json!({"step": "acknowledge", "rating": 4}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "acknowledged");
    assert_eq!(c["rating"], 4);
    let (s, d) = case(app, "nurse", &id).await;
    assert_eq!(s, 200);
    assert_eq!(
        thread_kinds(&d),
        vec![
            "file",
            "decline",
            "route",
            "accept",
            "request_info",
            "provide_info",
            "answer",
            "acknowledge"
        ]
    );
    let audit = audit_for(app, NURSE_PATIENT).await;
    let has = |user: &str, action: &str| audit.iter().any(|e| e.0 == user && e.1 == action);
    assert!(has("nurse", "consult.file"));
    assert!(has("expert", "consult.step"));
    assert!(
        has("expert", "read"),
        "the expert's opening of the case is audited"
    );
    assert!(has("partner", "refused"));
}
both!(lifecycle_over_http);

/// Bad input: each a clear 4xx and nothing written.
async fn bad_input_is_refused_whole(app: &TestApp) {
    let before = app.st.db.clone();
    let _ = before;
    let mut b = cardiology(NURSE_PATIENT);
    b["question"] = json!("  ");
    let (s, e) = file(app, "nurse", b).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "question");
    assert!(!e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .is_empty());
    let mut b = cardiology(NURSE_PATIENT);
    b["target_kind"] = json!("department");
    b["target_code"] = json!("RH-NOWHERE");
    let (s, e) = file(app, "nurse", b).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "target_code");
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("RH-NOWHERE"));
    // A partner named as a department, and a patient outside the nurse's area.
    let mut b = cardiology(NURSE_PATIENT);
    b["target_kind"] = json!("department");
    b["target_code"] = json!("INT-KG-NH");
    assert_eq!(file(app, "nurse", b).await.0, 422);
    let (s, e) = file(app, "nurse", cardiology(HAMI_PATIENT)).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "patient_id");
    let (s, _) = file(
        app,
        "nurse",
        json!({"patient_id": NURSE_PATIENT, "urgency": "whenever",
        "complaint": "x", "question": "y"}),
    )
    .await;
    assert_eq!(s, 422);
    // The official may not file at all.
    assert_eq!(file(app, "official", cardiology(HAMI_PATIENT)).await.0, 403);
    // Nothing half-written: the nurse's only open requests are the demo's.
    let (_, inbox) = get_json(&app.api("nurse").await, app.url("/api/v1/consult/cases")).await;
    assert!(!inbox.to_string().contains("是否需要调整降压方案"));
    // Unknown step and unknown case.
    let (s, c) = file(app, "nurse", cardiology(NURSE_PATIENT)).await;
    assert_eq!(s, 201);
    let id = c["id"].as_str().unwrap();
    assert_eq!(step(app, "nurse", id, json!({"step": "fly"})).await.0, 422);
    assert_eq!(case(app, "nurse", "no-such-case").await.0, 404);
}
both!(bad_input_is_refused_whole);

/// A case sent to the partner in Kyrgyzstan is de-identified unless the patient's PIPL consent
/// is recorded: the partner never sees name, ID number, phone or birth date, in the case, the
/// inbox or the thread; the requester sees them all.
async fn partner_abroad_sees_no_identity(app: &TestApp) {
    let body = json!({"patient_id": OPAL_ADULT, "kind": "mdt", "urgency": "urgent",
        "specialty": "General surgery", "target_kind": "partner", "target_code": "INT-KG-NH",
        "language": "en", "complaint": "Right upper quadrant pain for 2 months",
        "question": "Is laparoscopic cholecystectomy advisable?"});
    let (s, mine) = file(app, "doctor", body.clone()).await;
    assert_eq!(s, 201, "{mine}");
    assert_eq!(mine["deidentified"], true);
    let id = mine["id"].as_str().unwrap().to_string();
    let p = &mine["patient"];
    let secrets: Vec<String> = ["name", "id_number", "phone", "birth_date"]
        .iter()
        .map(|k| {
            p[*k]
                .as_str()
                .unwrap_or_else(|| panic!("requester sees {k}"))
                .to_string()
        })
        .collect();
    assert!(secrets.iter().all(|s| s.len() >= 2));
    let (s, seen) = case(app, "partner", &id).await;
    assert_eq!(s, 200, "{seen}");
    let (_, inbox) = get_json(&app.api("partner").await, app.url("/api/v1/consult/cases")).await;
    assert!(inbox.to_string().contains(&id));
    for text in [seen.to_string(), inbox.to_string()] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "the partner saw {s}");
        }
        assert!(!text.contains(OPAL_ADULT), "nor the record number");
    }
    assert!(seen["case"]["patient"]["age"].as_i64().unwrap() >= 18);
    assert!(seen["case"]["patient"]["name"].is_null());
    // The partner answers in English.
    assert_eq!(
        step(app, "partner", &id, json!({"step": "accept"})).await.0,
        200
    );
    let (s, e) = step(
        app,
        "partner",
        &id,
        json!({"step": "schedule", "session_at": "soon", "link": "ftp://x"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = step(
        app,
        "partner",
        &id,
        json!({"step": "schedule", "session_at": "2026-12-01T10:00",
        "link": "https://meet.example.org/kg-42"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, d) = case(app, "doctor", &id).await;
    let last = d["thread"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "schedule");
    assert_eq!(
        last["body"],
        "2026-12-01 10:00 UTC+8 / 2026-12-01 08:00 UTC+6 · https://meet.example.org/kg-42"
    );
    let (s, c) = step(
        app,
        "partner",
        &id,
        json!({"step": "answer",
        "impression": "Symptomatic cholelithiasis", "recommendations": "Elective cholecystectomy"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let (_, d) = case(app, "doctor", &id).await;
    assert_eq!(
        d["case"]["opinion"]["impression"],
        "Symptomatic cholelithiasis"
    );
    // With consent recorded, the partner sees who the patient is.
    let mut b = body;
    b["pipl_consent"] = json!(true);
    let (_, c) = file(app, "doctor", b).await;
    assert_eq!(c["deidentified"], false);
    let (_, seen) = case(app, "partner", c["id"].as_str().unwrap()).await;
    assert_eq!(seen["case"]["patient"]["name"], secrets[0].as_str());
}
both!(partner_abroad_sees_no_identity);

/// A routine case (72 h) nobody accepts is escalated to the coordinator at half its target,
/// exactly once, however often the sweep runs; a manual clock instead of sleeping.
async fn escalation_once_with_manual_clock(app: &TestApp) {
    // The demo's emergency, filed two hours before its load, is already escalated.
    let (_, inbox) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/consult/cases"),
    )
    .await;
    assert!(inbox["coordinator"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["escalated_at"].is_string() && c["urgency"] == "emergency"));
    let mut b = cardiology("demo-0019");
    b["specialty"] = json!("全科");
    let (s, c) = file(app, "nurse", b).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let filed = tianshan_platform::clock::parse_timestamp(c["filed_at"].as_str().unwrap()).unwrap();
    let (clock, hand) = Clock::manual(filed + time::Duration::hours(35));
    let mut st = app.st.clone();
    st.clock = clock;
    let escalated = |st: tianshan_platform::Platform| async move {
        tianshan_consult::escalate_overdue(&st).await.unwrap()
    };
    escalated(st.clone()).await;
    let (_, d) = case(app, "coordinator", &id).await;
    assert!(
        d["case"]["escalated_at"].is_null(),
        "not before half the target"
    );
    hand.advance(time::Duration::hours(2));
    assert!(escalated(st.clone()).await >= 1);
    let (_, d) = case(app, "coordinator", &id).await;
    assert!(d["case"]["escalated_at"].is_string());
    hand.advance(time::Duration::hours(48));
    assert_eq!(escalated(st.clone()).await, 0, "never twice");
    assert_eq!(escalated(st.clone()).await, 0);
    let (_, d) = case(app, "coordinator", &id).await;
    let n = thread_kinds(&d).iter().filter(|k| *k == "escalate").count();
    assert_eq!(n, 1);
    // The coordinator's overview lists it; a webhook message was queued.
    let (_, inbox) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/consult/cases"),
    )
    .await;
    assert!(inbox["coordinator"].to_string().contains(&id));
    let msgs = tianshan_platform::outbox::recent(&app.db, "consult.escalated", 50)
        .await
        .unwrap();
    assert!(msgs.iter().any(|m| m.payload.contains(&id)));
    let audit = audit_for(app, "demo-0019").await;
    assert_eq!(
        audit.iter().filter(|e| e.1 == "consult.escalate").count(),
        1
    );
}
both!(escalation_once_with_manual_clock);

/// Referral up from the township to the prefecture hospital (accept with expected arrival,
/// arrival, outcome and feedback the nurse reads) and back down with a care plan.
async fn referral_up_and_back_down(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let doctor = app.api("doctor").await;
    let (s, e) = post_json(&nurse, app.url("/api/v1/consult/referrals"),
        json!({"patient_id": NURSE_PATIENT, "direction": "sideways", "to_code": "653100-H01", "reason": ""})).await;
    assert_eq!(s, 422, "{e}");
    let (s, r) = post_json(
        &nurse,
        app.url("/api/v1/consult/referrals"),
        json!({"patient_id": NURSE_PATIENT, "direction": "up", "to_code": "653100-H01",
               "reason": "疑似急性冠脉综合征，需冠脉造影"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/v1/consult/referrals/{id}/steps"));
    assert_eq!(
        get_json(
            &app.api("official").await,
            app.url(&format!("/api/v1/consult/referrals/{id}"))
        )
        .await
        .0,
        404
    );
    // The sender cannot accept for the receiver.
    assert_eq!(
        post_json(
            &nurse,
            url.clone(),
            json!({"step": "accept", "expected_arrival": "2026-12-01"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        post_json(
            &doctor,
            url.clone(),
            json!({"step": "accept", "expected_arrival": "soon"})
        )
        .await
        .0,
        422
    );
    let (s, r) = post_json(
        &doctor,
        url.clone(),
        json!({"step": "accept", "expected_arrival": "2026-12-01T10:00"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "accepted");
    assert_eq!(
        post_json(&doctor, url.clone(), json!({"step": "arrive"}))
            .await
            .0,
        200
    );
    assert_eq!(
        post_json(&doctor, url.clone(), json!({"step": "close"}))
            .await
            .0,
        422
    );
    let (s, r) = post_json(
        &doctor,
        url.clone(),
        json!({"step": "close", "outcome": "冠脉支架术后好转",
        "feedback": "请村医每周随访血压"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, list) = get_json(&nurse, app.url("/api/v1/consult/referrals")).await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["status"], "closed");
    assert_eq!(mine["feedback"], "请村医每周随访血压");
    assert_eq!(mine["open_loop"], false);
    // Back down to the township health centre with a care plan; the nurse receives it.
    let (s, r) = post_json(
        &doctor,
        app.url("/api/v1/consult/referrals"),
        json!({"patient_id": NURSE_PATIENT, "direction": "down", "to_code": "653121100-C01",
               "reason": "病情稳定回乡康复", "care_plan": "每日服药，每周测血压"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let down = r["id"].as_str().unwrap().to_string();
    let (s, r) = post_json(
        &nurse,
        app.url(&format!("/api/v1/consult/referrals/{down}/steps")),
        json!({"step": "accept", "expected_arrival": "2026-12-10"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, m) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/consult/measures"),
    )
    .await;
    assert!(m["referrals"].as_i64().unwrap() >= 2, "{m}");
    assert_eq!(m["open_loop_referrals"], 0);
    assert_eq!(
        get_json(&nurse, app.url("/api/v1/consult/measures"))
            .await
            .0,
        403
    );
}
both!(referral_up_and_back_down);

/// The pages: inbox, form (a missing question shown beside the field), the case page, and the
/// coordinator's CSV export; outsiders get 404 on the page too.
async fn pages_and_export(app: &TestApp) {
    let b = app.browser("nurse").await;
    assert_eq!(b.get("/consult").await.status(), 200);
    let form = b.get("/consult/new?q=zs").await;
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains(NURSE_PATIENT));
    let fields = [
        ("patient_id", NURSE_PATIENT),
        ("kind", "opinion"),
        ("urgency", "urgent"),
        ("target_kind", "department"),
        ("target_code", "653100-H01-ED"),
        ("complaint", "发热3天"),
        ("question", ""),
    ];
    let r = b.post_form("/consult", &fields).await;
    assert_eq!(r.status(), 422);
    let mut ok = fields.to_vec();
    ok[6] = ("question", "是否需要抗生素？");
    let r = b.post_form("/consult", &ok).await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let page = b.get(&loc).await.text().await.unwrap();
    assert!(page.contains("是否需要抗生素？"));
    assert_eq!(app.browser("official").await.get(&loc).await.status(), 403);
    assert_eq!(app.browser("partner").await.get(&loc).await.status(), 404);
    // The doctor (prefecture) accepts from the page and answers.
    let d = app.browser("doctor").await;
    assert_eq!(
        d.post_form(&format!("{loc}/steps"), &[("step", "accept")])
            .await
            .status(),
        303
    );
    let r = d
        .post_form(
            &format!("{loc}/steps"),
            &[
                ("step", "answer"),
                ("impression", "病毒性上感"),
                ("refer", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(b
        .get(&loc)
        .await
        .text()
        .await
        .unwrap()
        .contains("病毒性上感"));
    let c = app.browser("coordinator").await;
    let csv = c.get("/consult/export.csv").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.contains("minutes_to_accept"));
    assert!(text.contains(loc.trim_start_matches("/consult/")));
    assert!(!text.contains("张三"), "no patient identity in the report");
    assert_eq!(b.get("/consult/export.csv").await.status(), 403);
    let m = c.get("/consult/measures").await;
    assert_eq!(m.status(), 200);
    assert!(m.text().await.unwrap().contains("id=\"within\""));
    assert_eq!(b.get("/consult/measures").await.status(), 403);
    assert_eq!(b.get("/consult/referrals").await.status(), 200);
}
both!(pages_and_export);

/// Response-time targets are configured by coordinators; a new case takes the new target.
async fn targets_are_configurable(app: &TestApp) {
    let url = app.url("/api/v1/consult/targets");
    let r = app
        .api("nurse")
        .await
        .put(&url)
        .json(&json!({"urgency": "routine", "minutes": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .api("coordinator")
        .await
        .put(&url)
        .json(&json!({"urgency": "routine", "minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .api("coordinator")
        .await
        .put(&url)
        .json(&json!({"urgency": "routine", "minutes": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, c) = file(app, "nurse", cardiology(NURSE_PATIENT)).await;
    let left = c["minutes_left"].as_i64().unwrap();
    assert!((118..=120).contains(&left), "{left}");
}
both!(targets_are_configurable);

/// FHIR ServiceRequest and Task: the same sides see them as on the pages; a de-identified case
/// names no patient; outsiders get 404 and searches leave them out.
async fn fhir_service_request_and_task(app: &TestApp) {
    let (s, c) = file(app, "nurse", cardiology(NURSE_PATIENT)).await;
    assert_eq!(s, 201);
    let id = c["id"].as_str().unwrap().to_string();
    let nurse = app.api("nurse").await;
    let (s, sr) = get_json(&nurse, app.url(&format!("/fhir/r4/ServiceRequest/{id}"))).await;
    assert_eq!(s, 200, "{sr}");
    assert_eq!(sr["resourceType"], "ServiceRequest");
    assert_eq!(sr["status"], "active");
    assert_eq!(
        sr["subject"]["reference"],
        format!("Patient/{NURSE_PATIENT}")
    );
    assert_eq!(
        sr["performer"][0]["reference"],
        "Organization/RH-BJ-PUMCH-CAR"
    );
    step(app, "expert", &id, json!({"step": "accept"})).await;
    let (s, t) = get_json(
        &app.api("expert").await,
        app.url(&format!("/fhir/r4/Task/{id}")),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["status"], "accepted");
    assert_eq!(t["owner"]["display"], "陈立新");
    assert_eq!(t["focus"]["reference"], format!("ServiceRequest/{id}"));
    let partner = app.api("partner").await;
    let (s, _) = get_json(&partner, app.url(&format!("/fhir/r4/ServiceRequest/{id}"))).await;
    assert_eq!(s, 404);
    let (s, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/ServiceRequest?patient=Patient/{NURSE_PATIENT}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["entry"].to_string().contains(&id));
    let (_, b) = get_json(&partner, app.url("/fhir/r4/ServiceRequest")).await;
    assert!(!b.to_string().contains(&id));
    assert_eq!(
        get_json(&nurse, app.url("/fhir/r4/ServiceRequest?colour=red"))
            .await
            .0,
        400
    );
    // The thread as Communication, in order, and nothing of it for the partner.
    let (s, b) = get_json(
        &nurse,
        app.url(&format!(
            "/fhir/r4/Communication?based-on=ServiceRequest/{id}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let kinds: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["resource"]["category"][0]["coding"][0]["code"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, vec!["file", "accept"]);
    let mid = b["entry"][1]["resource"]["id"].as_str().unwrap();
    let (s, m) = get_json(&nurse, app.url(&format!("/fhir/r4/Communication/{mid}"))).await;
    assert_eq!(s, 200);
    assert_eq!(m["sender"]["display"], "陈立新");
    assert_eq!(
        get_json(&partner, app.url(&format!("/fhir/r4/Communication/{mid}")))
            .await
            .0,
        404
    );
    let (_, b) = get_json(
        &partner,
        app.url(&format!(
            "/fhir/r4/Communication?based-on=ServiceRequest/{id}"
        )),
    )
    .await;
    assert_eq!(b["total"], 0);
    assert_eq!(
        get_json(&nurse, app.url("/fhir/r4/Communication")).await.0,
        400
    );
    // An attachment as DocumentReference.
    let r = nurse
        .post(app.url(&format!(
            "/api/v1/consult/cases/{id}/attachments?name=report.pdf"
        )))
        .body(b"%PDF-1.4 report".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (s, b) = get_json(
        &app.api("expert").await,
        app.url(&format!(
            "/fhir/r4/DocumentReference?related=ServiceRequest/{id}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["entry"][0]["resource"]["content"][0]["attachment"]["contentType"],
        "application/pdf"
    );
    // The partner's de-identified case: no patient reference, no name.
    let (_, c) = file(
        app,
        "doctor",
        json!({"patient_id": OPAL_ADULT, "target_kind": "partner",
        "target_code": "INT-KG-NH", "language": "en", "complaint": "Cough", "question": "TB?"}),
    )
    .await;
    let pid = c["id"].as_str().unwrap();
    let name = c["patient"]["name"].as_str().unwrap().to_string();
    let (s, sr) = get_json(&partner, app.url(&format!("/fhir/r4/ServiceRequest/{pid}"))).await;
    assert_eq!(s, 200);
    assert!(sr["subject"]["reference"].is_null());
    assert!(!sr.to_string().contains(&name) && !sr.to_string().contains(OPAL_ADULT));
}
both!(fhir_service_request_and_task);

/// A township nurse files a case on her phone; the Peking Union expert, on his, accepts and
/// answers; the nurse sees the answer. Every page fits 390 px.
mod browser {

    use std::path::{Path, PathBuf};

    use std::time::Duration;

    use fantoccini::elements::Element;
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
        let inner = v[0].as_i64().unwrap();
        let scroll = v[1].as_i64().unwrap();
        assert_eq!(inner, PHONE_WIDTH);
        assert!(
            scroll <= inner,
            "{what} is {scroll} px wide; too wide: {}",
            v[2]
        );
    }

    async fn find(c: &Client, css: &str) -> Element {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    async fn wait_for(c: &Client, css: &str, expected: &str) -> Element {
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("expected {expected} ({css}): {e}"))
    }

    async fn sign_in(c: &Client, base: &str, user: &str) {
        c.goto(&format!("{base}/login")).await.unwrap();
        find(c, "#username").await.send_keys(user).await.unwrap();
        find(c, "#password")
            .await
            .send_keys(demo_password(user))
            .await
            .unwrap();
        find(c, "#signin").await.click().await.unwrap();
        wait_for(c, "header .who", "signed in").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn township_nurse_files_and_expert_answers_at_390px() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let (p1, p2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let nurse = phone(&driver, p1.path()).await;
        let expert = phone(&driver, p2.path()).await;
        // The township clinician's image: a real PNG made here, chosen from disk.
        let png = p1.path().join("ecg-lead-ii.png");
        std::fs::write(&png, super::png_image()).unwrap();
        let run = tokio::spawn(scenario(
            nurse.clone(),
            expert.clone(),
            app.base.clone(),
            png.to_string_lossy().into_owned(),
        ))
        .await;
        if run.is_err() {
            for (c, name) in [
                (&nurse, "consult-failure-nurse.png"),
                (&expert, "consult-failure-expert.png"),
            ] {
                if let Ok(png) = c.screenshot().await {
                    let _ = std::fs::write(screenshot_dir().join(name), png);
                }
            }
        }
        let _ = nurse.close().await;
        let _ = expert.close().await;
        drop(driver);
        if let Err(e) = run {
            std::panic::resume_unwind(e.into_panic());
        }
        // The expert's opening of the image is in the audit log, with the patient.
        let f = tianshan_platform::audit::Filter {
            patient_id: Some(super::NURSE_PATIENT.to_string()),
            ..Default::default()
        };
        let entries = tianshan_platform::audit::list(&app.db, &f, 200)
            .await
            .unwrap();
        assert!(entries.iter().any(|x| x.username == "expert"
            && x.action == "read"
            && x.entity_type == "ConsultAttachment"));
    }

    async fn scenario(n: Client, e: Client, base: String, png: String) {
        sign_in(&n, &base, "nurse").await;
        n.goto(&format!("{base}/consult/new?q=zs")).await.unwrap();
        wait_for(&n, "#case-form", "the case form").await;
        find(&n, "#patient_id")
            .await
            .select_by_value(super::NURSE_PATIENT)
            .await
            .unwrap();
        find(&n, "#target_kind")
            .await
            .select_by_value("department")
            .await
            .unwrap();
        find(&n, "#target_code")
            .await
            .select_by_value("RH-BJ-PUMCH-CAR")
            .await
            .unwrap();
        find(&n, "#urgency")
            .await
            .select_by_value("urgent")
            .await
            .unwrap();
        find(&n, "#complaint")
            .await
            .send_keys("活动后胸闷气短2周，夜间不能平卧")
            .await
            .unwrap();
        find(&n, "#question")
            .await
            .send_keys("是否为心力衰竭？需要上转吗？")
            .await
            .unwrap();
        find(&n, "#file").await.send_keys(&png).await.unwrap();
        fits(&n, "the case form").await;
        shot(&n, "consult-1-form-390.png").await;
        find(&n, "#file-case").await.click().await.unwrap();
        let status = wait_for(&n, "#case-status", "the case filed").await;
        assert!(status.text().await.unwrap().contains("待接收"));
        let case_url = n.current_url().await.unwrap();
        fits(&n, "the filed case").await;
        shot(&n, "consult-2-filed-390.png").await;

        sign_in(&e, &base, "expert").await;
        e.goto(&format!("{base}/consult")).await.unwrap();
        let inbox = wait_for(&e, "#to-accept", "the expert's inbox").await;
        assert!(inbox.text().await.unwrap().contains("张三"));
        fits(&e, "the expert's inbox").await;
        shot(&e, "consult-3-inbox-390.png").await;
        e.goto(case_url.as_str()).await.unwrap();
        let files = wait_for(&e, "#attachments", "the attachment listed").await;
        assert!(files.text().await.unwrap().contains("ecg-lead-ii.png"));
        let href = find(&e, "#attachments a")
            .await
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let opened = e
            .execute(
                "return fetch(arguments[0]).then(function (r) { \
                 return r.arrayBuffer().then(function (b) { \
                 return r.status + ' ' + r.headers.get('content-type') + ' ' + b.byteLength; }); });",
                vec![json!(href)],
            )
            .await
            .unwrap();
        assert_eq!(
            opened.as_str().unwrap(),
            format!("200 image/png {}", super::png_image().len()),
            "the expert opens the image"
        );
        wait_for(&e, "#accept", "the accept button")
            .await
            .click()
            .await
            .unwrap();
        let impression = wait_for(&e, "#impression-input", "the answer form").await;
        impression
            .send_keys("射血分数保留的心力衰竭可能")
            .await
            .unwrap();
        find(&e, "#recommendations")
            .await
            .send_keys("完善心脏超声和BNP；利尿剂减轻水肿；一周内上转县医院")
            .await
            .unwrap();
        fits(&e, "the answer form").await;
        shot(&e, "consult-4-answer-390.png").await;
        find(&e, "#answer").await.click().await.unwrap();
        wait_for(&e, "#opinion", "the opinion shown").await;

        n.goto(case_url.as_str()).await.unwrap();
        let opinion = wait_for(&n, "#impression", "the answer at the nurse's").await;
        assert!(opinion
            .text()
            .await
            .unwrap()
            .contains("射血分数保留的心力衰竭可能"));
        wait_for(&n, "#acknowledge", "the acknowledge button").await;
        fits(&n, "the answered case").await;
        shot(&n, "consult-5-answered-390.png").await;
        for (path, name) in [
            ("/consult", "consult-inbox-nurse-390.png"),
            ("/consult/referrals", "consult-referrals-390.png"),
            ("/consult?lang=ug", "consult-inbox-ug-390.png"),
        ] {
            n.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(&n, "main h1", path).await;
            fits(&n, path).await;
            shot(&n, name).await;
        }
    }
}

/// Attachments: typed by content (a renamed program is refused whatever it claims), a size
/// limit, nothing written on refusal, opened by the other side and audited, 404 outside.
async fn attachments_checked_by_content(app: &TestApp) {
    let (_, c) = file(app, "nurse", cardiology(NURSE_PATIENT)).await;
    let id = c["id"].as_str().unwrap().to_string();
    let nurse = app.api("nurse").await;
    let url = |name: &str| {
        app.url(&format!(
            "/api/v1/consult/cases/{id}/attachments?name={name}"
        ))
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 2000]);
    let r = nurse
        .post(url("ecg.png"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let meta: Value = r.json().await.unwrap();
    assert_eq!(meta["content_type"], "image/png");
    assert_eq!(meta["size"], 2008);
    let r = nurse
        .post(url("x-ray.png"))
        .header("content-type", "image/png")
        .body(b"MZ\x90\x00this is a program".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["fields"][0]["field"], "file");
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("PDF"));
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(4 * 1024 * 1024 + 1, b' ');
    let r = nurse.post(url("big.pdf")).body(big).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains('4'));
    assert_eq!(
        nurse
            .post(url("empty.pdf"))
            .body(Vec::new())
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let (_, d) = case(app, "expert", &id).await;
    assert_eq!(d["case"]["status"], "filed");
    assert_eq!(
        d["attachments"].as_array().unwrap().len(),
        1,
        "refusals wrote nothing"
    );
    let aid = d["attachments"][0]["id"].as_str().unwrap();
    let file_url = app.url(&format!("/api/v1/consult/cases/{id}/attachments/{aid}"));
    let r = app.api("expert").await.get(&file_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    assert_eq!(
        app.api("partner")
            .await
            .get(&file_url)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let f = tianshan_platform::audit::Filter {
        patient_id: Some(NURSE_PATIENT.to_string()),
        ..Default::default()
    };
    let entries = tianshan_platform::audit::list(&app.db, &f, 100)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.username == "expert"
        && e.action == "read"
        && e.entity_type == "ConsultAttachment"
        && e.entity_id == aid));
    // The page shows it and serves it to the signed-in side.
    let b = app.browser("nurse").await;
    let page = b.get(&format!("/consult/{id}")).await.text().await.unwrap();
    assert!(page.contains("ecg.png"));
    assert_eq!(
        b.get(&format!("/consult/{id}/attachments/{aid}"))
            .await
            .status(),
        200
    );
}
both!(attachments_checked_by_content);

/// Pairings import from CSV: all or nothing with row numbers, then routing uses them.
async fn pairings_import_all_or_nothing(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let url = app.url("/api/v1/consult/pairings/import?filename=pairings.csv");
    let bad =
        "local_code,remote_code,specialty\n653122100,RH-SH-ZS-CAR,全科\n653121101,RH-NOWHERE,\n";
    let r = coord.post(&url).body(bad).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["refused"], true);
    assert_eq!(rep["errors"][0]["row"], 3);
    assert_eq!(rep["errors"][0]["field"], "remote_code");
    let (_, ps) = get_json(&coord, app.url("/api/v1/consult/pairings")).await;
    assert!(!ps.to_string().contains("RH-SH-ZS-CAR"), "nothing written");
    let good = "local_code,remote_code,specialty\n653121100,RH-SH-ZS-CAR,全科\n";
    let rep: Value = coord
        .post(&url)
        .body(good)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rep["imported"], 1, "{rep}");
    let mut b = cardiology(NURSE_PATIENT);
    b["specialty"] = json!("全科");
    let (_, c) = file(app, "nurse", b).await;
    assert_eq!(
        c["target_code"], "RH-SH-ZS-CAR",
        "routed by the imported pairing"
    );
    let r = app
        .api("nurse")
        .await
        .post(&url)
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
both!(pairings_import_all_or_nothing);

/// A real 8×8 PNG (an orange square), built here: stored deflate, CRC-32 and Adler-32.
pub fn png_image() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let (w, h) = (8u32, 8u32);
    // Each row: filter byte 0, then w orange pixels.
    let mut row = vec![0u8];
    for _ in 0..w {
        row.extend_from_slice(&[0xf0, 0x80, 0x20]);
    }
    let raw: Vec<u8> = (0..h).flat_map(|_| row.clone()).collect();
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let len = raw.len() as u16;
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A `multipart/form-data` body as a browser sends it: text fields, then an optional file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----tianshan-consult-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    b: &crate::helpers::Browser,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> reqwest::Response {
    let (ct, body) = multipart(fields, file);
    b.client
        .post(format!("{}{}", b.base, path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn my_open_cases(app: &TestApp) -> usize {
    let (_, v) = get_json(&app.api("nurse").await, app.url("/api/v1/consult/cases")).await;
    v.to_string().matches("\"complaint\"").count()
}

/// Page uploads: the case form files a case WITH its image in one multipart POST (the CSRF
/// token in the action's query); without the token, or with another session's, 400 and
/// nothing written; wrong types and oversized files are refused 422 with the translated
/// message on the page, nothing written; the other side opens the file (audited).
async fn page_uploads_need_the_token_and_are_checked(app: &TestApp) {
    let b = app.browser("nurse").await;
    let token = b.csrf().await;
    let other = app.browser("doctor").await.csrf().await;
    assert_ne!(token, other);
    let png = png_image();
    let fields = [
        ("patient_id", NURSE_PATIENT),
        ("kind", "reading"),
        ("urgency", "urgent"),
        ("target_kind", "department"),
        ("target_code", "RH-BJ-PUMCH-CAR"),
        ("complaint", "心电图异常，ST段压低"),
        ("question", "请判读心电图，是否心肌缺血？"),
    ];
    let before = my_open_cases(app).await;
    for path in [
        "/consult".to_string(),
        format!("/consult?_csrf={other}"),
        "/consult?_csrf=".to_string(),
    ] {
        let r = post_multipart(&b, &path, &fields, Some(("ecg.png", &png))).await;
        assert_eq!(r.status(), 400, "{path}");
    }
    assert_eq!(
        my_open_cases(app).await,
        before,
        "refused uploads filed nothing"
    );
    // A program renamed .png: the form comes back 422 with the message, nothing filed.
    let r = post_multipart(
        &b,
        &format!("/consult?_csrf={token}"),
        &fields,
        Some(("ecg.png", b"MZ\x90\x00this is a program")),
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("仅接受 JPEG/PNG 图像、PDF 报告和 DICOM 文件"),
        "{page}"
    );
    assert!(
        page.contains("心电图异常，ST段压低"),
        "the typed text is kept"
    );
    assert_eq!(my_open_cases(app).await, before);
    // Filed with its image.
    let r = post_multipart(
        &b,
        &format!("/consult?_csrf={token}"),
        &fields,
        Some(("ecg.png", &png)),
    )
    .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc.trim_start_matches("/consult/").to_string();
    assert_eq!(my_open_cases(app).await, before + 1);
    let (_, d) = case(app, "expert", &id).await;
    assert_eq!(d["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(d["attachments"][0]["name"], "ecg.png");
    assert_eq!(d["attachments"][0]["content_type"], "image/png");
    assert_eq!(d["attachments"][0]["size"], png.len());
    // The case page's upload form: the token in the action's query.
    let page = b.get(&loc).await.text().await.unwrap();
    assert!(page.contains(&format!(
        "action=\"/consult/{id}/attachments?_csrf={token}\""
    )));
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(b"1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");
    let upload = format!("{loc}/attachments");
    for path in [upload.clone(), format!("{upload}?_csrf={other}")] {
        let r = post_multipart(&b, &path, &[], Some(("echo.pdf", &pdf))).await;
        assert_eq!(r.status(), 400, "{path}");
    }
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(4 * 1024 * 1024 + 1, b' ');
    let with = format!("{upload}?_csrf={token}");
    let r = post_multipart(&b, &with, &[], Some(("big.pdf", &big))).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("文件超过 4 MB。"), "{page}");
    let r = post_multipart(&b, &with, &[], Some(("x.pdf", b"MZ\x90\x00"))).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"error\""));
    let r = post_multipart(&b, &with, &[], None).await;
    assert_eq!(r.status(), 422);
    let (_, d) = case(app, "expert", &id).await;
    assert_eq!(
        d["attachments"].as_array().unwrap().len(),
        1,
        "refusals wrote nothing"
    );
    // A PDF from the page; the expert opens the image from the page (audited).
    let r = post_multipart(&b, &with, &[], Some(("echo.pdf", &pdf))).await;
    assert_eq!(r.status(), 303);
    let (_, d) = case(app, "expert", &id).await;
    let names: Vec<&str> = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"echo.pdf") && names.contains(&"ecg.png"),
        "{names:?}"
    );
    let aid = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "ecg.png")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = app.browser("expert").await;
    let r = e.get(&format!("{loc}/attachments/{aid}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    let f = tianshan_platform::audit::Filter {
        patient_id: Some(NURSE_PATIENT.to_string()),
        ..Default::default()
    };
    let entries = tianshan_platform::audit::list(&app.db, &f, 200)
        .await
        .unwrap();
    assert!(entries.iter().any(|x| x.username == "expert"
        && x.action == "read"
        && x.entity_type == "ConsultAttachment"
        && x.entity_id == aid));
    // Someone outside the case cannot add to it (404, nothing written).
    let p = app.browser("partner").await;
    let ptoken = p.csrf().await;
    let r = post_multipart(
        &p,
        &format!("{upload}?_csrf={ptoken}"),
        &[],
        Some(("echo.pdf", &pdf)),
    )
    .await;
    assert_eq!(r.status(), 404);
    let (_, d) = case(app, "expert", &id).await;
    assert_eq!(d["attachments"].as_array().unwrap().len(), 2);
}
both!(page_uploads_need_the_token_and_are_checked);

/// Coordinators above the receiving side see the case too (pages, API, FHIR, their
/// overview), audited; a coordinator above neither side still gets 404.
async fn coordinators_above_either_side(app: &TestApp) {
    let admin = app.api("admin").await;
    for (user, scope, name) in [
        ("coord-pumch", "RH-BJ-PUMCH", "赵医务"),
        ("coord-gdph", "RH-GD-GDPH", "钱医务"),
    ] {
        let r = admin
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": user, "password": "coord-pass-2026",
                "roles": [tianshan_platform::scope::builtin::COORDINATOR],
                "scope_code": scope, "display_name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{user}");
    }
    let mut body = cardiology(NURSE_PATIENT);
    body["target_kind"] = json!("department");
    body["target_code"] = json!("RH-BJ-PUMCH-CAR");
    let (s, c) = file(app, "nurse", body).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();

    let (s, d) = case(app, "coord-pumch", &id).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["case"]["side"], "coordinator");
    assert_eq!(d["case"]["patient"]["name"], "张三");
    let (_, inbox) = get_json(
        &app.api("coord-pumch").await,
        app.url("/api/v1/consult/cases"),
    )
    .await;
    assert!(inbox["coordinator"].to_string().contains(&id), "{inbox}");
    let sign_in = |user: &'static str| async move {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let b = crate::helpers::Browser {
            client,
            base: app.base.clone(),
        };
        let r = b
            .post_form(
                "/login",
                &[
                    ("username", user),
                    ("password", "coord-pass-2026"),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "sign-in of {user}");
        b
    };
    let pb = sign_in("coord-pumch").await;
    let page = pb.get(&format!("/consult/{id}")).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("是否需要调整降压方案并上转？"));
    let overview = pb.get("/consult").await.text().await.unwrap();
    assert!(
        overview.contains(&id),
        "the coordinator's overview lists it"
    );
    let pumch = app.api("coord-pumch").await;
    let (s, sr) = get_json(&pumch, app.url(&format!("/fhir/r4/ServiceRequest/{id}"))).await;
    assert_eq!(s, 200, "{sr}");
    let (s, t) = get_json(&pumch, app.url(&format!("/fhir/r4/Task/{id}"))).await;
    assert_eq!(s, 200, "{t}");
    let (_, bundle) = get_json(&pumch, app.url("/fhir/r4/ServiceRequest")).await;
    assert!(bundle["entry"].to_string().contains(&id));
    assert!(crate::helpers::audit_for(app, NURSE_PATIENT)
        .await
        .iter()
        .any(|(u, a, _)| u == "coord-pumch" && a == "read"));

    // Above neither side: 404 everywhere, and the refusal audited.
    let (s, _) = case(app, "coord-gdph", &id).await;
    assert_eq!(s, 404);
    let gd = app.api("coord-gdph").await;
    let (s, _) = get_json(&gd, app.url(&format!("/fhir/r4/ServiceRequest/{id}"))).await;
    assert_eq!(s, 404);
    let (_, bundle) = get_json(&gd, app.url("/fhir/r4/ServiceRequest")).await;
    assert!(!bundle.to_string().contains(&id));
    let gb = sign_in("coord-gdph").await;
    assert_eq!(gb.get(&format!("/consult/{id}")).await.status(), 404);
    assert!(!gb.get("/consult").await.text().await.unwrap().contains(&id));
    let (_, inbox) = get_json(&gd, app.url("/api/v1/consult/cases")).await;
    assert!(!inbox.to_string().contains(&id));
    assert!(crate::helpers::audit_for(app, NURSE_PATIENT)
        .await
        .iter()
        .any(|(u, a, _)| u == "coord-gdph" && a == "refused"));
}
both!(coordinators_above_either_side);
