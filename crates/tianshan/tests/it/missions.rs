//! Expert missions and talent development: a department's need and a rear hospital's offer
//! ranked on the coordinator's board, turned into a mission in one action, its day log and
//! report; a mentorship signed off only by the mentor; a department request answered and
//! closed with its response time; needs and day logs through CSV and XLSX; scope refusals on
//! pages and API. The coordinator's path in Chromium at phone width is the browser test.
use serde_json::{json, Value};
use tianshan_platform::audit::{list, Filter};

use crate::both;
use crate::helpers::TestApp;

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = client.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn day(app: &TestApp, offset: i64) -> String {
    (app.st.clock.now().date() + time::Duration::days(offset)).to_string()
}

fn field_error(body: &Value, field: &str) -> String {
    body["error"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|e| e["field"] == field))
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no error on {field}: {body}"))
}

async fn audit_actions(app: &TestApp, entity_type: &str) -> Vec<(String, String, String)> {
    let f = Filter {
        entity_type: Some(entity_type.to_string()),
        ..Default::default()
    };
    list(&app.db, &f, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.username, e.action, e.entity_id))
        .collect()
}

/// need → ranked match → mission (one action) → day log → report, with scope refusals.
async fn need_to_mission_to_report(app: &TestApp) {
    let doctor = app.api("doctor").await;
    let expert = app.api("expert").await;
    let coord = app.api("coordinator").await;
    // The Kashgar urology department (in the doctor's prefecture) asks for a technique.
    let need = json!({"org_code": "653100-H01-URO", "kind": "technique", "specialty": "泌尿外科",
        "topic": "经皮肾镜碎石取石术", "priority": "high", "wanted_from": day(app, 10), "wanted_to": day(app, 60),
        "reason": "结石患儿转诊乌鲁木齐路途远"});
    let (s, n) = post_json(&doctor, app.url("/api/v1/missions/needs"), need.clone()).await;
    assert_eq!(s, 201, "{n}");
    let need_id = n["id"].as_str().unwrap().to_string();
    assert_eq!(n["status"], "open");
    // Not for a department outside one's own area; dates out of order are refused plainly.
    let mut outside = need.clone();
    outside["org_code"] = json!("650500-H01-NEU");
    let (s, body) = post_json(&doctor, app.url("/api/v1/missions/needs"), outside).await;
    assert_eq!(s, 422);
    assert!(!field_error(&body, "org_code").is_empty());
    let mut backwards = need.clone();
    backwards["wanted_to"] = json!(day(app, 1));
    let (s, body) = post_json(&doctor, app.url("/api/v1/missions/needs"), backwards).await;
    assert_eq!(s, 422);
    assert!(
        field_error(&body, "wanted_to").contains("before the start")
            || field_error(&body, "wanted_to").contains("早于")
    );
    // A nurse may not post needs at all.
    let (s, _) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/missions/needs"),
        need.clone(),
    )
    .await;
    assert_eq!(s, 403);

    // The Peking Union expert offers the technique.
    let (s, o) = post_json(
        &expert,
        app.url("/api/v1/missions/offers"),
        json!({"org_code": "RH-BJ-PUMCH",
        "specialty": "泌尿外科", "topic": "经皮肾镜碎石取石术 输尿管软镜", "expert": "陈立新",
        "available_from": day(app, 20), "available_to": day(app, 90)}),
    )
    .await;
    assert_eq!(s, 201, "{o}");
    let offer_id = o["id"].as_str().unwrap().to_string();

    // The coordinator's board ranks it first for the need, with why.
    let (s, board) = get_json(&coord, app.url("/api/v1/missions/board")).await;
    assert_eq!(s, 200);
    let line = board["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["need"]["id"] == need_id.as_str())
        .unwrap_or_else(|| panic!("need not on the board: {board}"));
    let best = &line["matches"][0];
    assert_eq!(best["offer"]["id"], offer_id.as_str());
    assert_eq!(best["fit"]["specialty"], true);
    assert_eq!(best["fit"]["topic"], true);
    assert_eq!(best["fit"]["overlap_days"], 41);
    assert!(best["fit"]["score"].as_u64().unwrap() >= 80, "{best}");
    // The demo's Yiwu stroke need ranks the Qilu neurology offer first.
    let yiwu = board["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["need"]["id"] == "demo-need-yiwu-stroke")
        .unwrap();
    assert_eq!(yiwu["matches"][0]["offer"]["id"], "demo-offer-qilu-neu");
    assert_eq!(yiwu["age_days"], 46);
    // Only planners see the board.
    let (s, _) = get_json(&doctor, app.url("/api/v1/missions/board")).await;
    assert_eq!(s, 403);

    // One action: need + offer → mission, for the overlap of their dates.
    let convert = app.url(&format!("/api/v1/missions/needs/{need_id}/convert"));
    let (s, body) = post_json(
        &coord,
        convert.clone(),
        json!({"offer_id": "nope", "kind": "mission"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(!field_error(&body, "offer_id").is_empty());
    let (s, m) = post_json(
        &coord,
        convert.clone(),
        json!({"offer_id": offer_id, "kind": "mission"}),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    let mission_id = m["id"].as_str().unwrap().to_string();
    assert_eq!(m["starts_on"], day(app, 20).as_str());
    assert_eq!(m["ends_on"], day(app, 60).as_str());
    assert_eq!(m["site_code"], "653100-H01-URO");
    assert_eq!(m["lead_code"], "RH-BJ-PUMCH");
    assert_eq!(m["team"], "陈立新");
    let (s, _) = post_json(
        &coord,
        convert,
        json!({"offer_id": offer_id, "kind": "mission"}),
    )
    .await;
    assert_eq!(s, 409, "a planned need is not planned twice");
    let (_, n) = get_json(
        &doctor,
        app.url(&format!("/api/v1/missions/needs/{need_id}")),
    )
    .await;
    assert_eq!(n["status"], "planned");
    assert_eq!(n["mission_id"], mission_id.as_str());
    let planned = audit_actions(app, "Mission").await;
    assert!(
        planned.contains(&(
            "coordinator".into(),
            "missions.plan".into(),
            mission_id.clone()
        )),
        "{planned:?}"
    );

    // The day log: the site's doctor and the leading hospital's expert both record.
    let log = app.url(&format!(
        "/api/v1/missions/missions/{mission_id}/activities"
    ));
    let (s, a) = post_json(
        &doctor,
        log.clone(),
        json!({"day": day(app, 21), "kind": "lecture",
        "topic": "小儿泌尿系结石诊治", "count": 42, "people": "陈立新（主讲）"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (s, a) = post_json(
        &expert,
        log.clone(),
        json!({"day": day(app, 22), "kind": "operation",
        "topic": "经皮肾镜碎石取石术", "count": 2, "people": "买买提·艾力，李娜"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (s, body) = post_json(
        &doctor,
        log.clone(),
        json!({"day": day(app, 61), "kind": "clinic", "count": 30}),
    )
    .await;
    assert_eq!(s, 422, "a day outside the mission");
    assert!(!field_error(&body, "day").is_empty());
    let (s, body) = post_json(
        &doctor,
        log.clone(),
        json!({"day": day(app, 22), "kind": "operation", "count": 1}),
    )
    .await;
    assert_eq!(s, 422, "an operation without its technique");
    assert!(!field_error(&body, "topic").is_empty());
    let (s, body) = post_json(
        &doctor,
        log.clone(),
        json!({"day": day(app, 22), "kind": "picnic"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(field_error(&body, "kind").contains("clinic"));
    // Out of scope: the Hami official sees nothing of it; the nurse has no access.
    let official = app.api("official").await;
    let (s, _) = get_json(
        &official,
        app.url(&format!("/api/v1/missions/missions/{mission_id}")),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post_json(
        &official,
        log.clone(),
        json!({"day": day(app, 22), "kind": "clinic", "count": 1}),
    )
    .await;
    assert_eq!(s, 403, "the official does not record");
    let (s, _) = get_json(
        &app.api("nurse").await,
        app.url(&format!("/api/v1/missions/missions/{mission_id}")),
    )
    .await;
    assert_eq!(s, 403);

    // The report: what was left behind.
    let (s, r) = get_json(
        &doctor,
        app.url(&format!("/api/v1/missions/missions/{mission_id}/report")),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["techniques"], json!(["经皮肾镜碎石取石术"]));
    assert_eq!(r["people_trained"], json!(["买买提·艾力", "李娜"]));
    assert_eq!(r["totals"]["lecture"]["count"], 42);
    assert_eq!(r["totals"]["operation"]["count"], 2);
    assert_eq!(r["days_logged"], 2);
    assert_eq!(r["days_planned"], 41);
    assert_eq!(r["need"]["topic"], "经皮肾镜碎石取石术");
    // As a page and as CSV.
    let b = app.browser("doctor").await;
    let page = b.get(&format!("/missions/m/{mission_id}/report")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("买买提·艾力") && html.contains("经皮肾镜碎石取石术"));
    let csv = b.get(&format!("/missions/m/{mission_id}/report.csv")).await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("technique,经皮肾镜碎石取石术"), "{csv}");
    assert!(csv.contains("trained,李娜"), "{csv}");
    let page = app
        .browser("official")
        .await
        .get(&format!("/missions/m/{mission_id}"))
        .await;
    assert_eq!(page.status(), 404);
}
both!(need_to_mission_to_report);

/// The mentor alone signs off competencies; progress follows.
async fn mentorship_signed_off_by_the_mentor(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let body = json!({"mentor_username": "expert", "mentor_code": "RH-BJ-PUMCH-NEU",
        "trainee_name": "古丽米热·阿不都", "trainee_post": "住院医师", "trainee_ethnicity": "维吾尔族",
        "trainee_code": "650500-H01-NEU", "goals": "卒中单元", "starts_on": day(app, -30), "ends_on": day(app, 300),
        "competencies": ["NIHSS评分", "静脉溶栓"]});
    let (s, m) = post_json(
        &coord,
        app.url("/api/v1/missions/mentorships"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    let id = m["mentorship"]["id"].as_str().unwrap().to_string();
    assert_eq!(m["mentorship"]["mentor_name"], "陈立新");
    let first = m["milestones"][0]["id"].as_str().unwrap().to_string();
    let mut no_steps = body.clone();
    no_steps["competencies"] = json!([]);
    let (s, e) = post_json(&coord, app.url("/api/v1/missions/mentorships"), no_steps).await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "competencies").is_empty());
    let mut nobody = body.clone();
    nobody["mentor_username"] = json!("nobody");
    let (s, e) = post_json(&coord, app.url("/api/v1/missions/mentorships"), nobody).await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "mentor_username").is_empty());

    let sign = app.url(&format!(
        "/api/v1/missions/mentorships/{id}/milestones/{first}/sign"
    ));
    let ok = json!({"signed_on": day(app, 0), "evidence": "观察溶栓3例"});
    // The coordinator may mentor but is not this trainee's mentor.
    let (s, e) = post_json(&coord, sign.clone(), ok.clone()).await;
    assert_eq!(s, 422);
    assert!(
        field_error(&e, "signed_by").contains("mentor")
            || field_error(&e, "signed_by").contains("导师")
    );
    // The Kashgar doctor does not see a Hami trainee at all.
    let (s, _) = post_json(&app.api("doctor").await, sign.clone(), ok.clone()).await;
    assert_eq!(s, 404);
    let expert = app.api("expert").await;
    let (s, e) = post_json(
        &expert,
        sign.clone(),
        json!({"signed_on": day(app, 3), "evidence": "x"}),
    )
    .await;
    assert_eq!(s, 422, "not in the future");
    assert!(!field_error(&e, "signed_on").is_empty());
    let (s, v) = post_json(&expert, sign.clone(), ok.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signed"], 1);
    assert_eq!(v["milestones"][0]["signed_by"], "expert");
    assert_eq!(v["milestones"][0]["evidence"], "观察溶栓3例");
    let (s, _) = post_json(&expert, sign, ok).await;
    assert_eq!(s, 409);
    let signed = audit_actions(app, "Mentorship").await;
    assert!(signed.contains(&("expert".into(), "talent.sign_off".into(), id.clone())));
    // The mentor's page shows progress; the sign-off form only to the mentor.
    let page = app
        .browser("expert")
        .await
        .get(&format!("/missions/mentorships/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1/2") && page.contains("/sign/"));
    let page = app
        .browser("coordinator")
        .await
        .get(&format!("/missions/mentorships/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1/2") && !page.contains("/sign/"));
    // The form: the expert starts a mentorship of his own, competencies one per line.
    let b = app.browser("expert").await;
    let form = [
        ("mentor_username", "expert"),
        ("mentor_code", "RH-BJ-PUMCH-NEU"),
        ("trainee_name", "迪丽娜尔"),
        ("trainee_post", "主治医师"),
        ("trainee_ethnicity", "维吾尔族"),
        ("trainee_code", "RH-BJ-PUMCH-NEU"),
        ("goals", "进修"),
        ("starts_on", "2026-01-05"),
        ("ends_on", "2026-06-30"),
    ];
    let r = b.post_form("/missions/mentorships/new", &form).await;
    assert_eq!(r.status(), 422, "no competencies");
    let mut with = form.to_vec();
    with.push(("competencies", "脑电图判读\n肌电图判读\n"));
    let r = b.post_form("/missions/mentorships/new", &with).await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let html = b.get(&loc).await.text().await.unwrap();
    assert!(
        html.contains("肌电图判读") && html.contains("0/2"),
        "{html}"
    );
}
both!(mentorship_signed_off_by_the_mentor);

/// 一人援疆，全科援疆: ask → answer with dates and people → done, with the response time.
async fn department_request_answered_and_done(app: &TestApp) {
    let doctor = app.api("doctor").await;
    let expert = app.api("expert").await;
    let (s, r) = post_json(&doctor, app.url("/api/v1/missions/requests"), json!({"from_code": "653100-H01-HEM",
        "home_code": "RH-BJ-PUMCH-NEU", "kind": "opinion", "subject": "移植后神经系统并发症第二意见"})).await;
    assert_eq!(s, 201, "{r}");
    let id = r["request"]["id"].as_str().unwrap().to_string();
    assert_eq!(r["request"]["status"], "open");
    let (s, _) = post_json(
        &doctor,
        app.url("/api/v1/missions/requests"),
        json!({"from_code": "653100-H01-HEM",
        "home_code": "RH-BJ-PUMCH-NEU", "kind": "gossip", "subject": "x"}),
    )
    .await;
    assert_eq!(s, 422);
    let answer = json!({"answer": "安排远程会诊", "answer_from": day(app, 2), "answer_to": day(app, 2), "answer_people": "陈立新"});
    // Only the home department answers; the asker cannot close before an answer.
    let (s, _) = post_json(
        &doctor,
        app.url(&format!("/api/v1/missions/requests/{id}/answer")),
        answer.clone(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post_json(
        &doctor,
        app.url(&format!("/api/v1/missions/requests/{id}/done")),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, v) = post_json(
        &expert,
        app.url(&format!("/api/v1/missions/requests/{id}/answer")),
        answer.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request"]["status"], "answered");
    assert_eq!(v["request"]["answer_people"], "陈立新");
    assert_eq!(v["response_hours"], 0);
    let (s, _) = post_json(
        &expert,
        app.url(&format!("/api/v1/missions/requests/{id}/answer")),
        answer,
    )
    .await;
    assert_eq!(s, 409);
    let (s, v) = post_json(
        &doctor,
        app.url(&format!("/api/v1/missions/requests/{id}/done")),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["request"]["status"], "done");
    let (s, _) = get_json(
        &app.api("official").await,
        app.url(&format!("/api/v1/missions/requests/{id}")),
    )
    .await;
    assert_eq!(s, 404);
    // The demo's answered request took 22 hours.
    let (_, list) = get_json(
        &app.api("admin").await,
        app.url("/api/v1/missions/requests"),
    )
    .await;
    let gvhd = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["request"]["id"] == "demo-req-gvhd")
        .unwrap();
    assert_eq!(gvhd["response_hours"], 22);
    let acts = audit_actions(app, "DepartmentRequest").await;
    assert!(acts.contains(&(
        "expert".into(),
        "missions.liaison.answer".into(),
        id.clone()
    )));
}
both!(department_request_answered_and_done);

async fn upload(client: &reqwest::Client, url: String, bytes: Vec<u8>) -> (u16, Value) {
    let r = client.post(url).body(bytes).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Needs and day logs out as CSV/XLSX and back in, all-or-nothing with row numbers.
async fn needs_and_logs_through_files(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let count = |v: &Value| v["needs"].as_array().unwrap().len();
    let (_, before) = get_json(&coord, app.url("/api/v1/missions/needs")).await;
    let n0 = count(&before);
    assert!(n0 >= 6);
    let csv = "org_code,kind,specialty,topic,priority,wanted_from,wanted_to,reason\n\
        650522-H01-NEU,training,神经内科,卒中护理培训,normal,2026-03-01,2026-04-30,\n\
        650522-H01-NEU,technique,神经内科,脑电图,urgent,2026-03-01,2026-02-01,\n\
        RH-BJ-PUMCH,technique,神经内科,脑电图,normal,2026-03-01,2026-04-01,\n";
    let (s, r) = upload(
        &coord,
        app.url("/api/v1/missions/needs/import?filename=needs.csv"),
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["refused"], true);
    let rows: Vec<(u64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (3, "priority".into()),
            (3, "wanted_to".into()),
            (4, "org_code".into())
        ]
    );
    assert!(!r["errors"][0]["message"].as_str().unwrap().is_empty());
    let (_, after) = get_json(&coord, app.url("/api/v1/missions/needs")).await;
    assert_eq!(count(&after), n0, "nothing written from a file with errors");
    let (s, r) = upload(
        &coord,
        app.url("/api/v1/missions/needs/import?filename=needs.csv&skip_bad=true"),
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["imported"], 1);
    assert_eq!(r["skipped"], 2);
    // XLSX out, and the same file back in (every row is valid again).
    let x = coord
        .get(app.url("/api/v1/missions/needs/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    let bytes = x.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"PK"));
    let (s, r) = upload(
        &coord,
        app.url("/api/v1/missions/needs/import?filename=needs.xlsx"),
        bytes,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["imported"].as_u64().unwrap() as usize, n0 + 1);
    let (_, after) = get_json(&coord, app.url("/api/v1/missions/needs")).await;
    assert_eq!(count(&after), 2 * (n0 + 1));
    let c = coord
        .get(app.url("/api/v1/missions/needs/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        c.contains("650522-H01-NEU,training,神经内科,卒中护理培训,normal,2026-03-01,2026-04-30"),
        "{c}"
    );
    let (s, _) = get_json(&coord, app.url("/api/v1/missions/needs/export?format=pdf")).await;
    assert_eq!(s, 400);

    // The Hami 2023 mission's day log: CSV out, a file with one bad row refused with its row.
    let log = "/api/v1/missions/missions/demo-mission-hami-2023/activities";
    let c = coord
        .get(app.url(&format!("{log}/export?format=csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        c.contains("2023-12-08,agreement,新疆医科大学第二附属医院—哈密市中心医院 帕金森病专病联盟"),
        "{c}"
    );
    let file = "day,kind,topic,count,people\n2023-12-10,lecture,帕金森病的康复,60,郭纪锋\n2023-12-11,clinic,,20,\n";
    let (s, r) = upload(
        &coord,
        app.url(&format!("{log}/import")),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["errors"][0]["row"], 3);
    assert_eq!(r["errors"][0]["field"], "day");
    let (_, acts) = get_json(&coord, app.url(log)).await;
    assert_eq!(acts["activities"].as_array().unwrap().len(), 10);
    let file = "day,kind,topic,count,people\n2023-12-10,lecture,帕金森病的康复,60,郭纪锋\n";
    let (s, r) = upload(
        &coord,
        app.url(&format!("{log}/import")),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, acts) = get_json(&coord, app.url(log)).await;
    assert_eq!(acts["activities"].as_array().unwrap().len(), 11);
    // The Hami official may read but not import into it.
    let (s, _) = upload(
        &app.api("official").await,
        app.url(&format!("{log}/import")),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 403);
}
both!(needs_and_logs_through_files);

/// The demo tells the seeds' story, and the pages answer by role.
async fn demo_and_pages(app: &TestApp) {
    let official = app.api("official").await;
    let (s, r) = get_json(
        &official,
        app.url("/api/v1/missions/missions/demo-mission-hami-2023/report"),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["mission"]["title"]
        .as_str()
        .unwrap()
        .contains("健康丝绸路"));
    assert_eq!(r["totals"]["clinic"]["count"], 328);
    assert!(r["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a.as_str().unwrap().contains("帕金森病专病联盟")));
    assert_eq!(r["apprentices"][0]["trainee_name"], "艾力·买买提");
    assert_eq!(r["apprentices"][0]["signed"], 2);
    assert_eq!(r["team"].as_array().unwrap().len(), 5);
    // The Kashgar transplant platform is the doctor's, not the Hami official's.
    let (s, _) = get_json(
        &official,
        app.url("/api/v1/missions/missions/demo-mission-kashgar-hsct-2024"),
    )
    .await;
    assert_eq!(s, 404);
    let (s, r) = get_json(
        &app.api("doctor").await,
        app.url("/api/v1/missions/missions/demo-mission-kashgar-hsct-2024/report"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["techniques"], json!(["异基因造血干细胞移植"]));
    let (_, staff) = get_json(&app.api("doctor").await, app.url("/api/v1/missions/staff")).await;
    let names: Vec<&str> = staff["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["黄宇贤", "肖非"]);

    let coord = app.browser("coordinator").await;
    let html = coord.get("/missions").await.text().await.unwrap();
    assert!(html.contains("急性缺血性卒中静脉溶栓与机械取栓") && html.contains("山东大学齐鲁医院"));
    assert!(html.contains("/missions/needs/demo-need-yiwu-stroke/convert"));
    let r = coord
        .post_form(
            "/missions/needs/new",
            &[
                ("org_code", "650522-H01-NEU"),
                ("kind", "training"),
                ("specialty", "神经内科"),
                ("topic", "卒中护理"),
                ("priority", "normal"),
                ("wanted_from", "2026-05-01"),
                ("wanted_to", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("结束日期早于开始日期"),
        "the form says why in the reader's language"
    );
    let r = coord
        .post_form(
            "/missions/needs/new",
            &[
                ("org_code", "650522-H01-NEU"),
                ("kind", "training"),
                ("specialty", "神经内科"),
                ("topic", "卒中护理"),
                ("priority", "normal"),
                ("wanted_from", "2026-05-01"),
                ("wanted_to", "2026-06-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app.browser("nurse").await.get("/missions").await;
    assert_eq!(r.status(), 403);
    let expert = app
        .browser("expert")
        .await
        .get("/missions")
        .await
        .text()
        .await
        .unwrap();
    assert!(!expert.contains("/convert"), "only planners convert");
}
both!(demo_and_pages);

mod browser {
    //! The coordinator, on a phone, turns a need into a mission and logs its first day.

    use std::path::{Path, PathBuf};

    use std::time::Duration;

    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::json;

    use crate::helpers::{demo_password, spawn_app, Backend};

    const WAIT: Duration = Duration::from_secs(20);
    const PHONE_WIDTH: i64 = 390;

    use crate::browser::Chromedriver;

    fn screenshot_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    async fn fits(c: &Client, what: &str) {
        let v = c
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (inner, scroll) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
        assert_eq!(inner, PHONE_WIDTH);
        assert!(
            scroll <= inner,
            "{what} is {scroll} px wide on a {inner} px screen"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn coordinator_turns_a_need_into_a_mission_on_a_phone() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-sync",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({ "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args,
            "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let c = ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap();
        let result = tokio::spawn(scenario(c.clone(), app.base.clone())).await;
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(screenshot_dir().join("missions-coordinator-phone.png"), png);
        }
        let _ = c.close().await;
        drop(driver);
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    /// A server over one SQLite data folder that can be stopped and started again on the same
    /// port, as a link that drops and comes back.
    struct Restartable {
        dir: tempfile::TempDir,
        port: u16,
        running: Option<(
            tokio::sync::oneshot::Sender<()>,
            tokio::task::JoinHandle<()>,
        )>,
    }

    impl Restartable {
        async fn start() -> Restartable {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let mut s = Restartable {
                dir: tempfile::tempdir().unwrap(),
                port,
                running: None,
            };
            s.up().await;
            s
        }

        fn base(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        async fn up(&mut self) {
            use tianshan::app;
            let clock = tianshan_platform::clock::Clock::system();
            let db = app::open_db(None, self.dir.path(), &clock).await.unwrap();
            let st = app::platform(db, clock, false).unwrap();
            app::load_demo(&st).await.unwrap();
            let mut tries = 0;
            let listener = loop {
                match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                    Ok(l) => break l,
                    Err(e) if tries < 50 => {
                        tries += 1;
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("port {} not free again: {e}", self.port),
                }
            };
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let _ = app::serve_until(st, listener, async {
                    let _ = rx.await;
                })
                .await;
            });
            self.running = Some((tx, task));
        }

        async fn down(&mut self) {
            if let Some((tx, task)) = self.running.take() {
                let _ = tx.send(());
                let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
            }
        }
    }

    async fn phone(driver: &Chromedriver, profile: &Path) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-sync",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let caps = json!({ "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args,
            "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap()
    }

    /// On a phone at 390 px: a lecture and a taught operation logged for a mission day; the
    /// server stops while the second is typed, the submit stays on the page with every value,
    /// the server comes back on the same database, the submit goes through and the report
    /// shows both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mission_day_survives_a_dropped_connection_on_a_phone() {
        let driver = Chromedriver::start().await;
        let mut server = Restartable::start().await;
        let profile = tempfile::tempdir().unwrap();
        let c = phone(&driver, profile.path()).await;
        let result = dropped_connection(&c, &mut server).await;
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(screenshot_dir().join("missions-measures-phone.png"), png);
        }
        let _ = c.close().await;
        server.down().await;
        drop(driver);
        result.unwrap();
    }

    async fn value(c: &Client, css: &str) -> String {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn type_in(c: &Client, css: &str, text: &str) {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    async fn click(c: &Client, css: &str) {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn dropped_connection(
        c: &Client,
        server: &mut Restartable,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let base = server.base();
        c.goto(&format!("{base}/login")).await?;
        type_in(c, "#username", "coordinator").await;
        type_in(c, "#password", demo_password("coordinator")).await;
        click(c, "#signin").await;
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("header .who"))
            .await?;
        let mission = format!("{base}/missions/m/demo-mission-hami-2023");
        c.goto(&mission).await?;
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#activity-form"))
            .await?;
        fits(c, "the mission page").await;
        // The lecture, with its attendance.
        click(c, "#kind option[value=lecture]").await;
        type_in(c, "#topic", "卒中急救绿色通道建设").await;
        type_in(c, "#count", "60").await;
        type_in(c, "#people", "伊吾县人民医院 努尔兰、巴里坤县人民医院 古丽").await;
        click(c, "#save-activity").await;
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#notice"))
            .await?;
        // The taught operation: typed, then the link drops before it is sent.
        click(c, "#kind option[value=operation]").await;
        type_in(c, "#topic", "颈动脉内膜剥脱术（教学手术）").await;
        type_in(c, "#count", "1").await;
        type_in(c, "#people", "伊吾县人民医院 努尔兰").await;
        server.down().await;
        click(c, "#save-activity").await;
        let offline = c.find(Locator::Css("#offline")).await?;
        let start = std::time::Instant::now();
        while !offline.is_displayed().await? {
            assert!(
                start.elapsed() < WAIT,
                "no notice of the dropped connection"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(c.current_url().await?.as_str().starts_with(&mission));
        assert_eq!(value(c, "#kind").await, "operation");
        assert_eq!(value(c, "#topic").await, "颈动脉内膜剥脱术（教学手术）");
        assert_eq!(value(c, "#people").await, "伊吾县人民医院 努尔兰");
        assert_eq!(value(c, "#count").await, "1");
        // The draft is on the phone too, select included, should the tab be closed meanwhile.
        let draft = c
            .execute(
                "return localStorage.getItem('draft:/missions/m/demo-mission-hami-2023/activities')",
                vec![],
            )
            .await?;
        let draft: serde_json::Value = serde_json::from_str(draft.as_str().unwrap_or("null"))?;
        assert_eq!(draft["kind"], "operation", "{draft}");
        // The server comes back on the same database; the same tap now goes through.
        server.up().await;
        let before = c.find(Locator::Css("#activity-form")).await?;
        click(c, "#save-activity").await;
        // The page with the first save's notice is replaced by the new one.
        let start = std::time::Instant::now();
        while before.is_displayed().await.is_ok() {
            assert!(
                start.elapsed() < WAIT,
                "the second submit did not go through"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#notice"))
            .await?;
        let log = c.find(Locator::Css("#log")).await?.text().await?;
        assert!(
            log.contains("卒中急救绿色通道建设") && log.contains("颈动脉内膜剥脱术"),
            "{log}"
        );
        // Saved, the draft is gone: the form is empty for the next entry.
        assert_eq!(value(c, "#topic").await, "");
        click(c, "#report-link").await;
        let techniques = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#report-techniques"))
            .await?;
        assert!(techniques
            .text()
            .await?
            .contains("颈动脉内膜剥脱术（教学手术）"));
        let people = c.find(Locator::Css("#report-people")).await?.text().await?;
        assert!(people.contains("努尔兰"), "{people}");
        let page = c.source().await?;
        assert!(page.contains("卒中急救绿色通道建设"));
        fits(c, "the report").await;
        std::fs::write(
            screenshot_dir().join("missions-day-log-after-reconnect.png"),
            c.screenshot().await?,
        )?;
        // The measures page with its charts fits the phone too.
        c.goto(&format!("{base}/missions/measures")).await?;
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#chart-missions"))
            .await?;
        fits(c, "the measures").await;
        Ok(())
    }

    async fn scenario(c: Client, base: String) {
        c.goto(&format!("{base}/login")).await.unwrap();
        c.find(Locator::Css("#username"))
            .await
            .unwrap()
            .send_keys("coordinator")
            .await
            .unwrap();
        c.find(Locator::Css("#password"))
            .await
            .unwrap()
            .send_keys(demo_password("coordinator"))
            .await
            .unwrap();
        c.find(Locator::Css("#signin"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("header .who"))
            .await
            .unwrap();
        c.goto(&format!("{base}/missions")).await.unwrap();
        let need = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#need-demo-need-yiwu-stroke"))
            .await
            .unwrap();
        fits(&c, "the board").await;
        let text = need.text().await.unwrap();
        assert!(text.contains("山东大学齐鲁医院"), "{text}");
        // Plan the best match as an expert mission, in one tap.
        need.find(Locator::Css("form.match button.convert"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let title = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#mission-title"))
            .await
            .unwrap();
        assert!(title.text().await.unwrap().contains("急性缺血性卒中"));
        assert!(c
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/missions/m/"));
        fits(&c, "the mission page").await;
        // Log the first day: a taught operation with the local surgeons.
        let day: String = c
            .find(Locator::Css("#day"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(!day.is_empty());
        c.find(Locator::Css("#kind option[value=operation]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("#topic"))
            .await
            .unwrap()
            .send_keys("急性缺血性卒中机械取栓")
            .await
            .unwrap();
        c.find(Locator::Css("#count"))
            .await
            .unwrap()
            .send_keys("2")
            .await
            .unwrap();
        c.find(Locator::Css("#people"))
            .await
            .unwrap()
            .send_keys("伊吾县人民医院 努尔兰")
            .await
            .unwrap();
        // What was typed survives leaving the page (a dropped link, a closed tab).
        let here = c.current_url().await.unwrap();
        c.goto(&format!("{base}/missions")).await.unwrap();
        c.goto(here.as_str()).await.unwrap();
        let topic = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#topic"))
            .await
            .unwrap();
        assert_eq!(
            topic.prop("value").await.unwrap().as_deref(),
            Some("急性缺血性卒中机械取栓")
        );
        let people = c.find(Locator::Css("#people")).await.unwrap();
        assert_eq!(
            people.prop("value").await.unwrap().as_deref(),
            Some("伊吾县人民医院 努尔兰")
        );
        // The platform's draft keeps typed text; a select starts from its first choice.
        c.find(Locator::Css("#kind option[value=operation]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("#save-activity"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#notice"))
            .await
            .unwrap();
        let log = c
            .find(Locator::Css("#log"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            log.contains("急性缺血性卒中机械取栓") && log.contains("努尔兰"),
            "{log}"
        );
        c.find(Locator::Css("#report-link"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let techniques = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#report-techniques"))
            .await
            .unwrap();
        assert!(techniques
            .text()
            .await
            .unwrap()
            .contains("急性缺血性卒中机械取栓"));
        fits(&c, "the report").await;
    }
}

/// The technique register: none → introduced → independent → excellent, one step at a time,
/// dated, signed and carrying its evidence (cases with aid, cases alone), linked from the mission report; scope and permission refusals.
async fn technique_register_none_to_independent(app: &TestApp) {
    let doctor = app.api("doctor").await;
    let url = app.url("/api/v1/missions/techniques");
    let body = json!({"org_code": "653100-H01-URO", "technique": "经皮肾镜碎石取石术",
        "mission_id": "demo-mission-kashgar-hsct-2024"});
    let (s, t) = post_json(&doctor, url.clone(), body.clone()).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["status"], "none");
    let id = t["id"].as_str().unwrap().to_string();
    // Bad input is refused field by field; nothing written.
    let mut bad = body.clone();
    bad["mission_id"] = json!("no-such-mission");
    let (s, e) = post_json(&doctor, url.clone(), bad).await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "mission_id").is_empty());
    let mut bad = body.clone();
    bad["org_code"] = json!("650500-H01-NEU");
    let (s, e) = post_json(&doctor, url.clone(), bad).await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "org_code").is_empty());
    let mut bad = body.clone();
    bad["technique"] = json!("  ");
    let (s, e) = post_json(&doctor, url.clone(), bad).await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "technique").is_empty());
    let (s, _) = post_json(&app.api("nurse").await, url.clone(), body.clone()).await;
    assert_eq!(s, 403);

    let steps = app.url(&format!("/api/v1/missions/techniques/{id}/steps"));
    // No skipping to independent.
    let (s, e) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "independent", "on_date": day(app, -30), "cases_aided": 1, "cases_alone": 1}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(field_error(&e, "status").contains("introduced"), "{e}");
    // Introduced needs the first case: with whom, and a case done with aid.
    let (s, e) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "introduced", "on_date": day(app, -30)}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "first_case_with").is_empty(), "{e}");
    assert!(!field_error(&e, "cases_aided").is_empty(), "{e}");
    let (s, v) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "introduced", "on_date": day(app, -30), "note": "首例",
            "first_case_with": "广东省人民医院 肖非", "cases_aided": 1}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["technique"]["status"], "introduced");
    assert_eq!(v["technique"]["first_case_on"], day(app, -30).as_str());
    assert_eq!(v["technique"]["first_case_with"], "广东省人民医院 肖非");
    assert_eq!(v["steps"][0]["signed_by"], "阿里木·吐尔逊");
    assert_eq!(v["steps"][0]["on_date"], day(app, -30).as_str());
    // Not before the previous step, not in the future.
    for bad_day in [day(app, -31), day(app, 1)] {
        let (s, e) = post_json(
            &doctor,
            steps.clone(),
            json!({"status": "introduced", "on_date": bad_day, "cases_aided": 2}),
        )
        .await;
        assert_eq!(s, 422);
        assert!(!field_error(&e, "on_date").is_empty());
    }
    // Independent needs a case by the local team alone; counts are totals and never go down.
    let (s, e) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "independent", "on_date": day(app, -20), "cases_aided": 4}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(!field_error(&e, "cases_alone").is_empty(), "{e}");
    // More evidence at the same status, then independent, then excellent with its evidence.
    for (status, offset, aided, alone) in [("introduced", -25, 4, 0), ("independent", -20, 5, 3)] {
        let (s, v) = post_json(
            &doctor,
            steps.clone(),
            json!({"status": status, "on_date": day(app, offset), "cases_aided": aided, "cases_alone": alone}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["technique"]["status"], status);
    }
    let (s, e) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "independent", "on_date": day(app, -15), "cases_aided": 2, "cases_alone": 3}),
    )
    .await;
    assert_eq!(s, 422, "counts down");
    assert!(!field_error(&e, "cases_alone").is_empty(), "{e}");
    let (s, e) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "excellent", "on_date": day(app, -10), "cases_aided": 5, "cases_alone": 8, "note": "x"}),
    )
    .await;
    assert_eq!(s, 422, "too few cases alone for excellent");
    assert!(field_error(&e, "cases_alone").contains("20"), "{e}");
    let (s, v) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "excellent", "on_date": day(app, -10), "cases_aided": 5, "cases_alone": 24,
            "note": "并发症率低于全国均值，已带教喀什两家县医院"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["technique"]["status"], "excellent");
    let (s, _) = post_json(
        &doctor,
        steps.clone(),
        json!({"status": "excellent", "on_date": day(app, 0), "cases_aided": 5, "cases_alone": 30, "note": "更多"}),
    )
    .await;
    assert_eq!(s, 200, "evidence can still be added at the last status");
    let (s, v) = get_json(
        &doctor,
        app.url(&format!("/api/v1/missions/techniques/{id}")),
    )
    .await;
    assert_eq!(s, 200);
    let statuses: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "introduced",
            "introduced",
            "independent",
            "excellent",
            "excellent"
        ]
    );
    assert_eq!(v["steps"][2]["cases_alone"], 3);
    // Outside the Hami official's area: 404 on read and write.
    let official = app.api("official").await;
    let (s, _) = get_json(
        &official,
        app.url(&format!("/api/v1/missions/techniques/{id}")),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post_json(
        &official,
        steps.clone(),
        json!({"status": "independent", "on_date": day(app, 0)}),
    )
    .await;
    assert_eq!(s, 404);
    let audit = audit_actions(app, "Technique").await;
    assert_eq!(
        audit
            .iter()
            .filter(|(u, a, e)| u == "doctor" && e == &id && a == "update")
            .count(),
        5,
        "{audit:?}"
    );
    assert!(audit
        .iter()
        .any(|(u, a, e)| u == "doctor" && e == &id && a == "create"));

    // The demo: Kashgar's transplant platform reached independent, signed step by step.
    let (s, v) = get_json(
        &doctor,
        app.url("/api/v1/missions/techniques/demo-tech-kashgar-hsct"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["technique"]["status"], "independent");
    assert_eq!(v["technique"]["first_case_on"], "2024-09-12");
    assert_eq!(v["steps"][2]["signed_by"], "黄宇贤");
    assert_eq!(v["steps"][2]["on_date"], "2025-11-18");
    assert_eq!(v["steps"][2]["cases_alone"], 13);
    let (_, list) = get_json(&doctor, url.clone()).await;
    let ids: Vec<&str> = list["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"demo-tech-kashgar-hsct") && ids.contains(&id.as_str()));
    assert!(!ids.contains(&"demo-tech-hami-thrombectomy"), "{ids:?}");

    // Pages: the register, the report's link, a refused step explained in the reader's words.
    let b = app.browser("doctor").await;
    let html = b.get("/missions/techniques").await.text().await.unwrap();
    assert!(html.contains("异基因造血干细胞移植") && !html.contains("机械取栓"));
    let html = b
        .get("/missions/m/demo-mission-kashgar-hsct-2024/report")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/missions/techniques/demo-tech-kashgar-hsct"));
    let r = b
        .post_form(
            "/missions/techniques",
            &[
                ("org_code", "653100-H01-HEM"),
                ("technique", "CAR-T 细胞治疗"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let r = b
        .post_form(
            &format!("{loc}/steps"),
            &[("status", "independent"), ("on_date", &day(app, -1))],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("须逐级推进") || html.contains("one at a time"));
    let r = b
        .post_form(
            &format!("{loc}/steps"),
            &[
                ("status", "introduced"),
                ("on_date", &day(app, -1)),
                ("cases_aided", "many"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "a count that is not a number");
    let r = b
        .post_form(
            &format!("{loc}/steps"),
            &[
                ("status", "introduced"),
                ("on_date", &day(app, -1)),
                ("first_case_with", "中山大学附属第一医院"),
                ("cases_aided", "1"),
                ("cases_alone", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = b.get(&loc).await.text().await.unwrap();
    assert!(html.contains("阿里木·吐尔逊") && html.contains("中山大学附属第一医院"));
    assert!(html.contains("从无到有"));
    let r = app.browser("official").await.get(&loc).await;
    assert_eq!(r.status(), 404);
}
both!(technique_register_none_to_independent);

fn measure_line<'a>(m: &'a Value, year: &str, pref: &str) -> Option<&'a Value> {
    m["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["year"] == year && l["prefecture_code"] == pref)
}

/// The measures per year and prefecture: a new mission's day log moves exactly its figures;
/// scope narrows them; CSV and XLSX carry the same lines.
async fn measures_per_year_and_prefecture(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let murl = app.url("/api/v1/missions/measures");
    let (s, before) = get_json(&coord, murl.clone()).await;
    assert_eq!(s, 200, "{before}");
    // The demo's Kashgar transplant platform became independent in 2025.
    let k = measure_line(&before, "2025", "653100").expect("Kashgar 2025 line");
    assert_eq!(k["techniques_independent"], 1);
    assert_ne!(k["prefecture"], "653100", "named, not coded");
    let (start, end) = (day(app, 1), day(app, 1));
    let year = start[..4].to_string();
    let zero = json!({});
    let old = measure_line(&before, &year, "653100")
        .unwrap_or(&zero)
        .clone();
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);

    let (s, m) = post_json(
        &coord,
        app.url("/api/v1/missions/missions"),
        json!({"kind": "mission", "title": "泌尿外科义诊与带教", "site_code": "653100-H01-URO",
            "lead_code": "RH-BJ-PUMCH", "starts_on": start, "ends_on": end, "team": "陈立新、李伟、张敏"}),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    let log = app.url(&format!(
        "/api/v1/missions/missions/{}/activities",
        m["id"].as_str().unwrap()
    ));
    for a in [
        json!({"day": start, "kind": "clinic", "count": 40}),
        json!({"day": start, "kind": "operation", "topic": "经皮肾镜碎石取石术", "count": 2, "people": "买买提·艾力、热依拉"}),
        json!({"day": start, "kind": "lecture", "topic": "小儿泌尿系结石", "count": 30, "people": "陈立新"}),
    ] {
        let (s, r) = post_json(&coord, log.clone(), a).await;
        assert_eq!(s, 201, "{r}");
    }
    let (_, after) = get_json(&coord, murl.clone()).await;
    let new = measure_line(&after, &year, "653100").unwrap();
    for (k, d) in [
        ("missions", 1),
        ("experts", 3),
        ("days", 1),
        ("patients_seen", 40),
        ("operations", 2),
        ("teaching_sessions", 1),
        ("people_trained", 2),
    ] {
        assert_eq!(n(new, k) - n(&old, k), d, "{k}: {new} vs {old}");
    }
    assert_eq!(
        n(&after["total"], "patients_seen") - n(&before["total"], "patients_seen"),
        40
    );
    // Scope: the Hami official sees Hami only; a nurse nothing.
    let (s, h) = get_json(&app.api("official").await, murl.clone()).await;
    assert_eq!(s, 200);
    assert!(measure_line(&h, "2025", "653100").is_none());
    assert!(h["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["prefecture_code"] == "650500"));
    assert!(measure_line(&h, "2023", "650500").is_some());
    let (s, _) = get_json(&app.api("nurse").await, murl.clone()).await;
    assert_eq!(s, 403);

    // CSV and XLSX.
    let csv = coord
        .get(app.url("/api/v1/missions/measures/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap().trim_start_matches('\u{feff}'),
        "year,prefecture_code,prefecture,missions,experts,days,patients_seen,operations,teaching_sessions,people_trained,techniques_independent"
    );
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{year},653100,")))
        .unwrap_or_else(|| panic!("{csv}"));
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[6], n(new, "patients_seen").to_string());
    assert_eq!(
        csv.lines().count(),
        after["lines"].as_array().unwrap().len() + 1
    );
    let r = coord
        .get(app.url("/api/v1/missions/measures/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"));
    let t = tianshan_platform::tabular::read(&bytes, "measures.xlsx").unwrap();
    assert_eq!(t.rows.len(), after["lines"].as_array().unwrap().len());
    let r = coord
        .get(app.url("/api/v1/missions/measures/export?format=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(audit_actions(app, "MissionMeasures")
        .await
        .iter()
        .any(|(u, a, _)| u == "coordinator" && a == "export"));
    // The page.
    let b = app.browser("coordinator").await;
    let html = b.get("/missions/measures").await.text().await.unwrap();
    assert!(
        html.contains("id=\"measures-total\"")
            && html.contains("/missions/measures.csv?format=xlsx")
    );
    // The charts: one per figure, a bar per year, its value as the bar's title.
    let (_, m) = get_json(&coord, app.url("/api/v1/missions/measures")).await;
    let mut per_year: std::collections::BTreeMap<String, i64> = Default::default();
    for l in m["lines"].as_array().unwrap() {
        *per_year
            .entry(l["year"].as_str().unwrap().to_string())
            .or_default() += l["missions"].as_i64().unwrap();
    }
    let chart = html
        .split("id=\"chart-missions\"")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .unwrap();
    assert_eq!(chart.matches("<rect").count(), per_year.len(), "{chart}");
    for (year, n) in &per_year {
        assert!(
            chart.contains(&format!("<title>{year}: {n}</title>")),
            "{year} {n} in {chart}"
        );
    }
    assert!(!html.contains("style="));
    // Per sending hospital: a rear hospital, or the region's hospital that led the mission.
    let sender = |year: &str, code: &str| {
        m["by_sender"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["year"] == year && l["prefecture_code"] == code)
            .map(|l| l["missions"].as_i64().unwrap())
    };
    assert!(sender("2023", "650100-H02") >= Some(1), "{m}");
    assert!(sender("2024", "RH-GD-GDPH") >= Some(1), "{m}");
    let senders: i64 = m["by_sender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["missions"].as_i64().unwrap())
        .sum();
    assert_eq!(
        senders,
        m["total"]["missions"].as_i64().unwrap(),
        "every mission has one sender"
    );
    assert!(html.contains("id=\"measures-by-sender\""));
    // Talent figures: mentor groups by year, post and ethnicity; sign-offs; needs; requests.
    let (s, tm) = get_json(&coord, app.url("/api/v1/missions/measures/talent")).await;
    assert_eq!(s, 200, "{tm}");
    assert!(
        tm["trainees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["year"] == "2025"
                && x["post"] == "主治医师"
                && x["ethnicity"] == "维吾尔族"
                && x["trainees"].as_i64() >= Some(1)),
        "{tm}"
    );
    let signed_2025 = tm["sign_offs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|y| y["year"] == "2025")
        .unwrap()["count"]
        .as_i64()
        .unwrap();
    assert!(signed_2025 >= 3, "{tm}");
    assert_eq!(
        (
            tm["liaison_answered"].as_i64(),
            tm["liaison_median_response_hours"].as_i64()
        ),
        (Some(1), Some(22)),
        "{tm}"
    );
    assert!(tm["open_needs"].as_i64().unwrap() > 0);
    let (_, dm) = get_json(
        &app.api("doctor").await,
        app.url("/api/v1/missions/measures/talent"),
    )
    .await;
    assert!(
        !dm["trainees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["post"] == "主治医师"
                && x["ethnicity"] == "维吾尔族"
                && x["year"] == "2025"),
        "Hami's apprentice is not Kashgar's: {dm}"
    );
    let html = b
        .get("/missions/measures/talent")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("维吾尔族") && html.contains("id=\"sign-offs\""));
    assert_eq!(
        app.browser("nurse")
            .await
            .get("/missions/measures/talent")
            .await
            .status(),
        403
    );
    let r = b.get("/missions/measures.csv?format=csv").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.browser("nurse")
            .await
            .get("/missions/measures")
            .await
            .status(),
        403
    );
}
both!(measures_per_year_and_prefecture);

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----tianshan-missions-test-boundary";
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

/// Import from the page: a multipart upload with the CSRF token in the action URL, row-numbered
/// errors on the page, all-or-nothing unless "skip bad rows"; CSV and XLSX.
async fn import_from_the_page(app: &TestApp) {
    let b = app.browser("coordinator").await;
    let html = b.get("/missions/import").await.text().await.unwrap();
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let marker = "action=\"/missions/import?_csrf=";
    let start = html.find(marker).expect("token in the action URL") + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_string();
    assert!(!csrf.is_empty());
    let send = |query: String,
                fields: Vec<(&'static str, String)>,
                file: Option<(&'static str, Vec<u8>)>| {
        let client = b.client.clone();
        let url = format!("{}/missions/import{query}", b.base);
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (ct, body) = multipart(&f, file.as_ref().map(|(n, b)| (*n, b.as_slice())));
            let r = client
                .post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.text().await.unwrap())
        }
    };
    let coord = app.api("coordinator").await;
    let topics = |v: Value| -> Vec<String> {
        v["needs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["topic"].as_str().unwrap().to_string())
            .collect()
    };
    let csv = "org_code,kind,specialty,topic,priority,wanted_from,wanted_to,reason\n\
        650522-H01-NEU,training,神经内科,页面导入卒中护理,normal,2026-03-01,2026-04-30,\n\
        650522-H01-NEU,technique,神经内科,页面导入脑电图,normal,2026-03-01,2026-02-01,\n\
        650522-H01-NEU,technique,神经内科,页面导入肌电图,normal,2026-03-01,2026-05-01,\n";
    let q = format!("?_csrf={csrf}");
    // Without the token in the URL: refused, nothing read.
    let (s, _) = send(
        String::new(),
        vec![("what", "needs".into())],
        Some(("needs.csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_eq!(s, 400);
    // A file with a bad row: nothing imported, the row named on the page.
    let (s, html) = send(
        q.clone(),
        vec![("what", "needs".into())],
        Some(("needs.csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"row-3-wanted_to\""), "{html}");
    assert!(html.contains("第 3 行") || html.contains("Row 3"));
    assert!(html.contains("结束日期早于开始日期") || html.contains("before the start"));
    let (_, v) = get_json(&coord, app.url("/api/v1/missions/needs")).await;
    assert!(!topics(v).iter().any(|t| t.starts_with("页面导入")));
    // Asked to skip bad rows: the two good rows go in.
    let (s, html) = send(
        q.clone(),
        vec![("what", "needs".into()), ("skip_bad", "1".into())],
        Some(("needs.csv", csv.as_bytes().to_vec())),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("id=\"import-outcome\""));
    let (_, v) = get_json(&coord, app.url("/api/v1/missions/needs")).await;
    let mut got: Vec<String> = topics(v)
        .into_iter()
        .filter(|t| t.starts_with("页面导入"))
        .collect();
    got.sort();
    assert_eq!(got, vec!["页面导入卒中护理", "页面导入肌电图"]);
    // No file: said plainly.
    let (s, html) = send(q.clone(), vec![("what", "needs".into())], None).await;
    assert_eq!(s, 400);
    assert!(html.contains("CSV"));

    // A day log as XLSX for the Hami mission; a day outside its dates refused with its row.
    let log_url = app.url("/api/v1/missions/missions/demo-mission-hami-2023/activities");
    let (_, before) = get_json(&coord, log_url.clone()).await;
    let n0 = before["activities"].as_array().unwrap().len();
    let xlsx = |rows: Vec<Vec<String>>| {
        tianshan_platform::tabular::to_xlsx(
            "log",
            &["day", "kind", "topic", "count", "people"],
            &rows,
        )
        .unwrap()
    };
    let row = |d: &str, topic: &str| {
        vec![
            d.to_string(),
            "lecture".to_string(),
            topic.to_string(),
            "45".to_string(),
            "郭纪锋".to_string(),
        ]
    };
    let bad = xlsx(vec![
        row("2023-12-05", "卒中中心建设"),
        row("2024-01-20", "帕金森病随访"),
    ]);
    let (s, html) = send(
        q.clone(),
        vec![
            ("what", "log".into()),
            ("mission_id", "demo-mission-hami-2023".into()),
        ],
        Some(("log.xlsx", bad.clone())),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"row-3-day\""), "{html}");
    let (_, mid) = get_json(&coord, log_url.clone()).await;
    assert_eq!(mid["activities"].as_array().unwrap().len(), n0);
    let (s, html) = send(
        q.clone(),
        vec![
            ("what", "log".into()),
            ("mission_id", "demo-mission-hami-2023".into()),
            ("skip_bad", "1".into()),
        ],
        Some(("log.xlsx", bad)),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    let (_, after) = get_json(&coord, log_url.clone()).await;
    let acts = after["activities"].as_array().unwrap();
    assert_eq!(acts.len(), n0 + 1);
    assert!(acts
        .iter()
        .any(|a| a["topic"] == "卒中中心建设" && a["count"] == 45));
    // Out of scope mission: 404; a nurse may not import at all.
    let (s, _) = {
        let d = app.browser("doctor").await;
        let html = d.get("/missions/import").await.text().await.unwrap();
        let start = html.find(marker).map(|i| i + marker.len());
        let token = start
            .map(|i| html[i..].split('"').next().unwrap().to_string())
            .unwrap_or_default();
        let (ct, body) = multipart(
            &[("what", "log"), ("mission_id", "demo-mission-hami-2023")],
            Some(("log.csv", b"day,kind\n2023-12-05,clinic\n")),
        );
        let r = d
            .client
            .post(format!("{}/missions/import?_csrf={token}", d.base))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(
        s, 404,
        "the Hami mission is outside the Kashgar doctor's area"
    );
    assert_eq!(
        app.browser("nurse")
            .await
            .get("/missions/import")
            .await
            .status(),
        403
    );
}
both!(import_from_the_page);

/// The handover page of a departing aid professional, built from the records, in scope only.
async fn handover_of_departing_staff(app: &TestApp) {
    let doctor = app.api("doctor").await;
    let url = app.url("/api/v1/missions/staff/demo-staff-xiao/handover");
    let (s, h) = get_json(&doctor, url.clone()).await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["staff"]["full_name"], "肖非");
    let missions: Vec<&str> = h["missions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(missions, vec!["demo-mission-kashgar-hsct-2024"]);
    assert_eq!(
        h["techniques"][0]["technique"]["id"],
        "demo-tech-kashgar-hsct"
    );
    assert_eq!(
        h["techniques"][0]["signed"],
        json!(["introduced"]),
        "黄宇贤 signed independent, not 肖非"
    );
    assert_eq!(h["techniques"].as_array().unwrap().len(), 1);
    // 黄宇贤 signed the last step.
    let (_, h2) = get_json(
        &doctor,
        app.url("/api/v1/missions/staff/demo-staff-huang/handover"),
    )
    .await;
    assert_eq!(h2["techniques"][0]["signed"], json!(["independent"]));
    // The doctor on the roster: the request he filed to the home department is his legacy too.
    let coord = app.api("coordinator").await;
    let (s, staff) = post_json(
        &coord,
        app.url("/api/v1/missions/staff"),
        json!({"full_name": "阿里木·吐尔逊", "batch": "第十一批", "specialty": "血液内科",
            "home_code": "RH-GD-GDPH-HEM", "post_code": "653100-H01-HEM",
            "arrived_on": "2025-02-01", "leaves_on": day(app, 30)}),
    )
    .await;
    assert_eq!(s, 201, "{staff}");
    let sid = staff["id"].as_str().unwrap().to_string();
    let (s, h3) = get_json(
        &doctor,
        app.url(&format!("/api/v1/missions/staff/{sid}/handover")),
    )
    .await;
    assert_eq!(s, 200);
    assert!(h3["requests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["subject"] == "移植后急性GVHD分级处理流程"));
    assert!(h3["missions"].as_array().unwrap().is_empty());
    // Out of scope: 404; without the permission: 403.
    let (s, _) = get_json(&app.api("official").await, url.clone()).await;
    assert_eq!(s, 404);
    let (s, _) = get_json(&app.api("nurse").await, url.clone()).await;
    assert_eq!(s, 403);
    assert!(audit_actions(app, "AidStaff")
        .await
        .iter()
        .any(|(u, a, e)| u == "doctor" && a == "read" && e == "demo-staff-xiao"));
    // The page, linked from the roster.
    let b = app.browser("doctor").await;
    let roster = b.get("/missions/staff").await.text().await.unwrap();
    assert!(roster.contains("/missions/staff/demo-staff-xiao/handover"));
    let html = b
        .get("/missions/staff/demo-staff-xiao/handover")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("肖非") && html.contains("/missions/techniques/demo-tech-kashgar-hsct"));
    assert!(html.contains("/missions/m/demo-mission-kashgar-hsct-2024/report"));
    let r = app
        .browser("official")
        .await
        .get("/missions/staff/demo-staff-xiao/handover")
        .await;
    assert_eq!(r.status(), 404);
}
both!(handover_of_departing_staff);

async fn pdf_text(client: &reqwest::Client, url: String) -> String {
    let r = client.get(url.clone()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let what = if url.contains("/certificates/") {
        "certificate"
    } else {
        "report"
    };
    let language = url.rsplit("language=").next().unwrap_or("default");
    let _ = std::fs::write(
        crate::browser::screenshot_dir().join(format!("missions-{what}-{language}.pdf")),
        &bytes,
    );
    pdf_extract::extract_text_from_mem(&bytes).unwrap()
}

/// Text extractors put spaces and line breaks where they please: compare without them.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The mission report as PDF in Chinese and English, certificates for a lecture, a course and
/// a fellowship with their PDF, checked by anyone on the public page (audited); refusals.
async fn report_and_certificates_as_pdf(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let hami = "demo-mission-hami-2023";
    // A lecture with its attendance list, logged on the mission's third day.
    let (s, a) = post_json(
        &coord,
        app.url(&format!("/api/v1/missions/missions/{hami}/activities")),
        json!({"day": "2023-12-06", "kind": "lecture", "topic": "帕金森病的规范化诊疗",
            "count": 40, "people": "阿依古丽·艾买提、努尔兰·卡德尔、王芳", "note": ""}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let lecture = a["id"].as_str().unwrap().to_string();

    let zh = squeeze(
        &pdf_text(
            &coord,
            app.url(&format!(
                "/api/v1/missions/missions/{hami}/report/pdf?language=zh"
            )),
        )
        .await,
    );
    let (_, report) = get_json(
        &coord,
        app.url(&format!("/api/v1/missions/missions/{hami}/report")),
    )
    .await;
    let title = report["mission"]["title"].as_str().unwrap();
    assert!(zh.contains("专家服务团工作报告"), "{zh}");
    assert!(zh.contains(&squeeze(title)), "{zh}");
    assert!(zh.contains("计划") && zh.contains("完成情况"), "{zh}");
    assert!(
        zh.contains("帕金森病的规范化诊疗") && zh.contains("记录人coordinator"),
        "{zh}"
    );
    // Every total of the report is in the PDF: planned days and each kind's figure.
    assert!(
        zh.contains(&format!("计划天数{}", report["days_planned"])),
        "{zh}"
    );
    for (kind, total) in report["totals"].as_object().unwrap() {
        let figure = format!("{}（{}条记录）", total["count"], total["entries"]);
        assert!(zh.contains(&figure), "{kind}: {figure} not in {zh}");
    }
    let en = squeeze(
        &pdf_text(
            &coord,
            app.url(&format!(
                "/api/v1/missions/missions/{hami}/report/pdf?language=en"
            )),
        )
        .await,
    );
    assert!(
        en.contains("Expertmissionreport") && en.contains("Dayswithentries"),
        "{en}"
    );
    assert!(en.contains(&squeeze(title)), "names stay as written: {en}");
    let lectures = &report["totals"]["lecture"];
    assert!(
        en.contains(&format!(
            "{}({}entries)",
            lectures["count"], lectures["entries"]
        )),
        "{en}"
    );
    let (s, e) = get_json(
        &coord,
        app.url(&format!(
            "/api/v1/missions/missions/{hami}/report/pdf?language=xx"
        )),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    // The Kashgar doctor does not see the Hami mission, nor its PDF.
    let doctor = app.api("doctor").await;
    let r = doctor
        .get(app.url(&format!("/api/v1/missions/missions/{hami}/report/pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Certificates: only for someone the records show was there.
    let url = app.url("/api/v1/missions/certificates");
    let ok = json!({"kind": "lecture", "holder_name": "努尔兰·卡德尔", "mission_id": hami,
        "activity_id": lecture, "issuer_code": "650500-H01"});
    for (change, field) in [
        (json!({"holder_name": "张三"}), "holder_name"),
        (json!({"activity_id": "no-such-lecture"}), "activity_id"),
        (json!({"kind": "diploma"}), "kind"),
        (json!({"issuer_code": "RH-BJ-PUMCH"}), "issuer_code"),
        (json!({"kind": "fellowship"}), "mission_id"),
        (json!({"mission_id": "no-such-mission"}), "mission_id"),
    ] {
        let mut bad = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let (s, e) = post_json(&coord, url.clone(), bad).await;
        assert_eq!(s, 422, "{change}: {e}");
        assert!(!field_error(&e, field).is_empty(), "{change}: {e}");
    }
    let (s, _) = post_json(&app.api("official").await, url.clone(), ok.clone()).await;
    assert_eq!(s, 403, "an official only reads");
    let (s, cert) = post_json(&coord, url.clone(), ok.clone()).await;
    assert_eq!(s, 201, "{cert}");
    let code = cert["code"].as_str().unwrap().to_string();
    assert_eq!(cert["title"], "帕金森病的规范化诊疗");
    let cid = cert["id"].as_str().unwrap().to_string();
    let (s, course) = post_json(
        &coord,
        url.clone(),
        json!({"kind": "course", "holder_name": "王芳", "mission_id": hami, "issuer_code": "650500-H01"}),
    )
    .await;
    assert_eq!(s, 201, "{course}");
    assert_eq!(course["title"], title);

    let text = squeeze(
        &pdf_text(
            &coord,
            app.url(&format!(
                "/api/v1/missions/certificates/{cid}/pdf?language=zh"
            )),
        )
        .await,
    );
    for want in [
        "学术讲座听课证明",
        "努尔兰·卡德尔",
        "帕金森病的规范化诊疗",
        &code,
        "/verify/",
        "2023-12-06",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let text = squeeze(
        &pdf_text(
            &coord,
            app.url(&format!(
                "/api/v1/missions/certificates/{cid}/pdf?language=en"
            )),
        )
        .await,
    );
    assert!(
        text.contains("Certificateofattendance") && text.contains(&code),
        "{text}"
    );

    // A fellowship (进修) at a rear hospital: the fellow named, finished before a certificate.
    let (s, f) = post_json(
        &coord,
        app.url("/api/v1/missions/missions"),
        json!({"kind": "fellowship", "title": "神经介入进修 (Neurointervention fellowship)",
            "site_code": "650500-H01", "lead_code": "650100-H02", "starts_on": "2024-03-01",
            "ends_on": day(app, 30), "team": "Bakyt Asanov、Dilnoza Karimova"}),
    )
    .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap();
    let fellow = json!({"kind": "fellowship", "holder_name": "Bakyt Asanov", "mission_id": fid,
        "issuer_code": "650500-H01"});
    let (s, e) = post_json(&coord, url.clone(), fellow.clone()).await;
    assert_eq!(s, 422, "not finished yet: {e}");
    assert!(!field_error(&e, "mission_id").is_empty());

    // Anyone checks a code, signed in or not, however it is typed; each check is audited.
    let anon = reqwest::Client::new();
    let typed = code.to_lowercase().replace('-', " ");
    let r = anon
        .get(app.url(&format!("/verify?code={typed}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("努尔兰·卡德尔") && html.contains("帕金森病的规范化诊疗"),
        "{html}"
    );
    assert!(
        !html.contains(&lecture) && !html.contains(hami),
        "only what the certificate states"
    );
    let r = anon
        .get(app.url("/verify/ABCD-EFGH-JKMN"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let audit = audit_actions(app, "Certificate").await;
    assert!(
        audit
            .iter()
            .any(|(u, a, e)| u.is_empty() && a == "read" && e == &cid),
        "{audit:?}"
    );
    assert!(audit
        .iter()
        .any(|(u, a, e)| u.is_empty() && a == "read" && e.is_empty()));
    assert!(audit
        .iter()
        .any(|(u, a, e)| u == "coordinator" && a == "create" && e == &cid));
    assert!(audit
        .iter()
        .any(|(u, a, e)| u == "coordinator" && a == "export" && e == &cid));

    // Scope: the certificate of a Hami lecture is not the Kashgar doctor's to read.
    let (s, _) = get_json(
        &doctor,
        app.url(&format!("/api/v1/missions/certificates/{cid}")),
    )
    .await;
    assert_eq!(s, 404);
    let (s, list) = get_json(
        &coord,
        app.url(&format!("/api/v1/missions/missions/{hami}/certificates")),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list["certificates"].as_array().unwrap().len(), 2);

    // The report page lists them and issues one from its form; a refusal says why.
    let b = app.browser("coordinator").await;
    let html = b
        .get(&format!("/missions/m/{hami}/report"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&code) && html.contains("report/pdf?language=en"));
    let r = b
        .post_form(
            &format!("/missions/m/{hami}/certificates"),
            &[
                ("kind", "lecture"),
                ("holder_name", "张三"),
                ("activity_id", &lecture),
                ("issuer_code", "650500-H01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("签到名单中没有此人"));
    let r = b
        .post_form(
            &format!("/missions/m/{hami}/certificates"),
            &[
                ("kind", "lecture"),
                ("holder_name", "阿依古丽·艾买提"),
                ("activity_id", &lecture),
                ("issuer_code", "650500-H01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = b
        .get(&format!("/missions/m/{hami}/report"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("阿依古丽·艾买提"));
}
both!(report_and_certificates_as_pdf);

/// Expert studios read from the records (visits, teaching operations, apprentices), opened by
/// a coordinator in their own area; fellowships with their completion report, international
/// trainees in English and their certificate; scope and refusals.
async fn studios_and_fellowships(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let doctor = app.api("doctor").await;
    let expert = app.api("expert").await;
    let (s, list) = get_json(&coord, app.url("/api/v1/missions/studios")).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = list["studios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"demo-studio-wu") && ids.contains(&"demo-studio-chen"),
        "{ids:?}"
    );
    let (s, wu) = get_json(&coord, app.url("/api/v1/missions/studios/demo-studio-wu")).await;
    assert_eq!(s, 200, "{wu}");
    assert_eq!(wu["visits"][0]["id"], "demo-mission-hami-2023");
    let ops = wu["teaching_operations"].as_array().unwrap();
    assert!(
        !ops.is_empty()
            && ops
                .iter()
                .all(|a| a["kind"] == "operation" || a["kind"] == "technique")
    );
    let (s, chen) = get_json(
        &expert,
        app.url("/api/v1/missions/studios/demo-studio-chen"),
    )
    .await;
    assert_eq!(s, 200, "the expert's own hospital sent it: {chen}");
    let apprentice = chen["apprentices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["trainee_name"] == "艾力·买买提")
        .unwrap();
    assert_eq!(
        (apprentice["signed"].as_u64(), apprentice["total"].as_u64()),
        (Some(2), Some(4))
    );
    // Neither is the Kashgar doctor's.
    let (s, _) = get_json(&doctor, app.url("/api/v1/missions/studios/demo-studio-wu")).await;
    assert_eq!(s, 404);
    let (_, list) = get_json(&doctor, app.url("/api/v1/missions/studios")).await;
    assert!(list["studios"].as_array().unwrap().is_empty(), "{list}");
    // Opening one: refused field by field, by permission; then done.
    let url = app.url("/api/v1/missions/studios");
    let ok = json!({"name": "张俊胸外科专家工作室", "expert_name": "张俊", "specialty": "胸外科",
        "home_code": "650100-H02", "host_code": "650522-H01", "opened_on": "2025-05-01"});
    for (change, field) in [
        (json!({"name": ""}), "name"),
        (json!({"home_code": "NO-SUCH-ORG"}), "home_code"),
        (json!({"host_code": "RH-BJ-PUMCH"}), "host_code"),
        (json!({"opened_on": "2025-13-01"}), "opened_on"),
    ] {
        let mut bad = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let (s, e) = post_json(&coord, url.clone(), bad).await;
        assert_eq!(s, 422, "{change}: {e}");
        assert!(!field_error(&e, field).is_empty(), "{change}: {e}");
    }
    let (s, _) = post_json(&doctor, url.clone(), ok.clone()).await;
    assert_eq!(s, 403, "a clinician does not plan");
    let (s, st) = post_json(&coord, url.clone(), ok.clone()).await;
    assert_eq!(s, 201, "{st}");
    let b = app.browser("coordinator").await;
    let html = b
        .get(&format!("/missions/studios/{}", st["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("张俊胸外科专家工作室"));
    let html = b
        .get("/missions/studios/demo-studio-wu")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("2023「健康丝绸路") && html.contains("studio-operations"));

    // Fellowships: the Kyrgyz fellow's completion report, in English pages.
    let (s, c) = get_json(
        &coord,
        app.url("/api/v1/missions/missions/demo-fellowship-kg-neuro/completion"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["completion"]["outcome"], "completed");
    let html = b
        .get("/missions/m/demo-fellowship-kg-neuro/report?lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Completion report") && html.contains("Neurointervention fellowship"),
        "{html}"
    );
    assert!(html.contains("Completed") && html.contains("first operator"));
    // The Pakistani fellow's host (Kashgar haematology) writes it: refusals first.
    let pk = app.url("/api/v1/missions/missions/demo-fellowship-pk-hsct/completion");
    let (s, c) = get_json(&doctor, pk.clone()).await;
    assert_eq!((s, c["completion"].is_null()), (200, true));
    let (s, e) = post_json(
        &doctor,
        pk.clone(),
        json!({"supervisor": "", "outcome": "passed", "summary": "x"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        !field_error(&e, "supervisor").is_empty() && !field_error(&e, "outcome").is_empty(),
        "{e}"
    );
    let cert = json!({"kind": "fellowship", "holder_name": "Ayesha Khan",
        "mission_id": "demo-fellowship-pk-hsct", "issuer_code": "653100-H01-HEM"});
    let certs = app.url("/api/v1/missions/certificates");
    let (s, e) = post_json(&doctor, certs.clone(), cert.clone()).await;
    assert_eq!(s, 422, "no certificate before the completion report: {e}");
    let (s, done) = post_json(&doctor, pk.clone(), json!({"supervisor": "黄宇贤", "outcome": "completed",
        "summary": "Managed 9 transplant patients through conditioning and engraftment; passed the assessment."})).await;
    assert_eq!(s, 201, "{done}");
    let (s, _) = post_json(
        &doctor,
        pk.clone(),
        json!({"supervisor": "黄宇贤", "outcome": "completed", "summary": "again"}),
    )
    .await;
    assert_eq!(s, 409, "written once");
    let (s, c) = post_json(&doctor, certs.clone(), cert.clone()).await;
    assert_eq!(s, 201, "{c}");
    let text = squeeze(
        &pdf_text(
            &doctor,
            app.url(&format!(
                "/api/v1/missions/certificates/{}/pdf?language=en",
                c["id"].as_str().unwrap()
            )),
        )
        .await,
    );
    assert!(
        text.contains("Fellowshipcompletioncertificate") && text.contains("AyeshaKhan"),
        "{text}"
    );
    assert!(
        text.contains("Haematopoieticstem-celltransplantfellowship"),
        "{text}"
    );
    // Not before the end; not by someone else's hospital; not by a reader.
    let (s, e) = post_json(
        &coord,
        app.url("/api/v1/missions/missions/demo-fellowship-uz-lap/completion"),
        json!({"supervisor": "张俊", "outcome": "completed", "summary": "early"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(!field_error(&e, "mission_id").is_empty());
    let (s, _) = post_json(
        &doctor,
        app.url("/api/v1/missions/missions/demo-fellowship-kg-neuro/completion"),
        json!({"supervisor": "x", "outcome": "completed", "summary": "x"}),
    )
    .await;
    assert_eq!(s, 404, "not the Kashgar doctor's fellowship");
    let (s, _) = post_json(
        &app.api("official").await,
        app.url("/api/v1/missions/missions/demo-fellowship-hami-pumch/completion"),
        json!({"supervisor": "x", "outcome": "completed", "summary": "x"}),
    )
    .await;
    assert_eq!(s, 403);
    let audit = audit_actions(app, "FellowshipCompletion").await;
    assert!(audit
        .iter()
        .any(|(u, a, e)| u == "doctor" && a == "create" && e == "demo-fellowship-pk-hsct"));
    let audit = audit_actions(app, "ExpertStudio").await;
    assert!(audit
        .iter()
        .any(|(u, a, _)| u == "coordinator" && a == "create"));
}
both!(studios_and_fellowships);

mod decade {
    //! The benchmark of the issue, run by hand (`--ignored --nocapture`, see docs/benchmarks.md):
    //! ten years of a region's aid work (500 missions, 20,000 day logs, 50,000 trainees, 200,000
    //! sign-offs) with the board at its limits, then the coordinator's board and measures pages
    //! and their API, timed through HTTP on this machine's loopback.
    use std::time::{Duration, Instant};

    use crate::helpers::{spawn_app, Backend};

    fn pct(s: &mut [Duration], p: f64) -> Duration {
        s.sort();
        s[((s.len() as f64 - 1.0) * p).round() as usize]
    }

    async fn run(backend: Backend) {
        let app = spawn_app(backend).await;
        let t0 = Instant::now();
        let today = app.st.clock.now().date();
        tianshan_missions::bulk::decade(&app.st, Default::default(), today)
            .await
            .unwrap();
        println!("{backend:?}: load {:.1?}", t0.elapsed());
        let page = app.browser("coordinator").await;
        let api = app.api("coordinator").await;
        let runs: usize = std::env::var("TIANSHAN_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        for (what, path, is_page) in [
            ("board page", "/missions", true),
            ("board API", "/api/v1/missions/board", false),
            ("measures page", "/missions/measures", true),
            ("measures API", "/api/v1/missions/measures", false),
            ("talent measures page", "/missions/measures/talent", true),
        ] {
            let mut samples = Vec::with_capacity(runs);
            let mut bytes = 0;
            for i in 0..runs + 3 {
                let t = Instant::now();
                let r = if is_page {
                    page.client.get(app.url(path)).send().await.unwrap()
                } else {
                    api.get(app.url(path)).send().await.unwrap()
                };
                assert_eq!(r.status(), 200, "{path}");
                bytes = r.bytes().await.unwrap().len();
                if i >= 3 {
                    samples.push(t.elapsed());
                }
            }
            println!(
                "{backend:?}: {what} ({path}), {runs} runs: median {:.1?}, p99 {:.1?}, {bytes} bytes",
                pct(&mut samples, 0.5),
                pct(&mut samples, 0.99)
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: run by hand"]
    async fn board_and_measures_at_ten_years_sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: run by hand"]
    async fn board_and_measures_at_ten_years_postgres() {
        run(Backend::Postgres).await;
    }
}
