//! need → ranked match → mission → day log → report; the mentor's sign-offs; a department
//! request to done; the demo's pages by role; the handover of departing staff.
use super::*;

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
    super::decade::summaries_agree_with_the_records(&app.st.db).await;
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
