//! The technique register and the measures (per year and prefecture, per sending hospital,
//! charts, talent figures).
use super::*;

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
