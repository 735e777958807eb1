//! Needs and day logs through CSV and XLSX, by the API and from the import page.
use super::*;

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

pub(super) fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
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
