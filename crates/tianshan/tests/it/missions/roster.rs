//! Trainees and a lecture's attendance through CSV and XLSX (API and page), row-numbered
//! errors, all-or-nothing unless asked to skip bad rows, scope; the talent figures as files.
use super::files::multipart;
use super::*;

async fn upload(client: &reqwest::Client, url: String, bytes: Vec<u8>) -> (u16, Value) {
    let r = client.post(url).body(bytes).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn row_fields(r: &Value) -> Vec<(u64, String)> {
    r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn trainees(app: &TestApp) -> Vec<Value> {
    let (_, v) = get_json(
        &app.api("coordinator").await,
        app.url("/api/v1/missions/mentorships"),
    )
    .await;
    v["mentorships"].as_array().unwrap().clone()
}

const HEAD: &str = "trainee_name,trainee_code,mentor_username,mentor_code,starts_on,ends_on,competencies,trainee_post,trainee_ethnicity,goals\n";

/// Trainees in from CSV and XLSX: bad post, ethnicity, organisation and duplicates named by
/// row; nothing written until the bad rows are skipped; another area's user refused.
async fn trainees_through_files(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let url = app.url("/api/v1/missions/mentorships/import?filename=trainees.csv");
    let n0 = trainees(app).await.len();
    let csv = format!(
        "{HEAD}阿依古丽·买买提,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,卒中评估;静脉溶栓,住院医师,05,卒中单元\n\
         王小明,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,脑电图,大夫,火星族,\n\
         李华,XX-NOPE,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,脑电图,主治医师,汉族,\n\
         阿依古丽·买买提,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,卒中评估,住院医师,维吾尔族,\n"
    );
    let (s, r) = upload(&coord, url.clone(), csv.clone().into_bytes()).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["refused"], true);
    assert_eq!(
        row_fields(&r),
        vec![
            (3, "trainee_post".into()),
            (3, "trainee_ethnicity".into()),
            (4, "trainee_code".into()),
            (5, "trainee_name".into()),
        ]
    );
    assert!(r["errors"][3]["message"].as_str().unwrap().contains('2'));
    assert_eq!(trainees(app).await.len(), n0, "nothing written");

    let (s, r) = upload(
        &coord,
        format!("{url}&skip_bad=true"),
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(1), Some(3))
    );
    let all = trainees(app).await;
    assert_eq!(all.len(), n0 + 1);
    let t = all
        .iter()
        .find(|t| t["trainee_name"] == "阿依古丽·买买提")
        .unwrap();
    assert_eq!(t["trainee_ethnicity"], "维吾尔族", "code 05 stored by name");
    assert_eq!(t["mentor_name"], "陈立新");
    let id = t["id"].as_str().unwrap().to_string();
    let (_, v) = get_json(
        &coord,
        app.url(&format!("/api/v1/missions/mentorships/{id}")),
    )
    .await;
    assert_eq!(v["milestones"].as_array().unwrap().len(), 2);
    let audit = audit_actions(app, "Mentorship").await;
    assert!(audit.contains(&("coordinator".into(), "import".into(), id)));

    // The same trainee again: already in that mentor group.
    let again = format!(
        "{HEAD}阿依古丽·买买提,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,卒中评估,住院医师,05,\n"
    );
    let (s, r) = upload(&coord, url.clone(), again.into_bytes()).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(row_fields(&r), vec![(2, "trainee_name".into())]);

    // XLSX.
    let cols: Vec<&str> = HEAD.trim().split(',').collect();
    let row: Vec<String> = "努尔兰·阿斯哈尔,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-02-01,2026-11-30,NIHSS评分,主治医师,哈萨克,"
        .split(',')
        .map(str::to_string)
        .collect();
    let xlsx = tianshan_platform::tabular::to_xlsx("trainees", &cols, &[row]).unwrap();
    let (s, r) = upload(
        &coord,
        app.url("/api/v1/missions/mentorships/import?filename=trainees.xlsx"),
        xlsx,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["imported"], 1);
    assert_eq!(trainees(app).await.len(), n0 + 2);

    // Out in the import's columns, and back in: every row is already there, nothing written.
    let c = coord
        .get(app.url("/api/v1/missions/mentorships/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        c.starts_with(&format!("\u{feff}{}", HEAD.trim_end())),
        "{c}"
    );
    assert!(
        c.contains("阿依古丽·买买提,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,卒中评估;静脉溶栓,住院医师,维吾尔族,卒中单元,"),
        "{c}"
    );
    let x = coord
        .get(app.url("/api/v1/missions/mentorships/export?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let (s, r) = upload(
        &coord,
        app.url("/api/v1/missions/mentorships/import?filename=t.xlsx"),
        x,
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["errors"].as_array().unwrap().len(), n0 + 2, "{r}");
    assert_eq!(trainees(app).await.len(), n0 + 2);
    let theirs = app
        .api("doctor")
        .await
        .get(app.url("/api/v1/missions/mentorships/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!theirs.contains("阿依古丽"), "{theirs}");

    // The Kashgar doctor may mentor, but not for a Hami department and a Beijing mentor.
    let other = format!(
        "{HEAD}帕提古丽,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,脑电图,住院医师,05,\n"
    );
    let (s, r) = upload(
        &app.api("doctor").await,
        url.clone(),
        other.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(row_fields(&r), vec![(2, "trainee_code".into())]);
    let (s, _) = upload(&app.api("official").await, url.clone(), other.into_bytes()).await;
    assert_eq!(s, 403);
    assert_eq!(trainees(app).await.len(), n0 + 2);
    // A file without the required columns: 422 before any row.
    let (s, _) = upload(&coord, url, b"trainee_name\nx\n".to_vec()).await;
    assert!(s == 400 || s == 422, "{s}");

    // The talent figures count them, as CSV and XLSX.
    let c = coord
        .get(app.url("/api/v1/missions/measures/talent/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 200);
    let c = c.text().await.unwrap();
    assert!(
        c.starts_with("\u{feff}figure,year,post,ethnicity,value"),
        "{c}"
    );
    assert!(c.contains("trainees,2026,住院医师,维吾尔族,1"), "{c}");
    assert!(c.contains("trainees,2026,主治医师,哈萨克族,1"), "{c}");
    assert!(c.contains("open_needs,"), "{c}");
    let x = app
        .browser("coordinator")
        .await
        .get("/missions/measures/talent.csv?format=xlsx")
        .await;
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    let (s, _) = get_json(
        &coord,
        app.url("/api/v1/missions/measures/talent/export?format=pdf"),
    )
    .await;
    assert_eq!(s, 400);
    let exports = audit_actions(app, "TalentMeasures").await;
    assert_eq!(exports.len(), 2);
}
both!(trainees_through_files);

/// Who attended a lecture that took place: unknown trainees and repeated names named by row;
/// a lecture not given yet refused with nothing written; another area's user refused.
async fn attendance_through_files(app: &TestApp) {
    let coord = app.api("coordinator").await;
    let hami = "/api/v1/missions/missions/demo-mission-hami-2023";
    let url = app.url(&format!(
        "{hami}/lectures/demo-mission-hami-2023-a3/attendance/import"
    ));
    let people = |app: &TestApp| {
        let coord = coord.clone();
        let u = app.url(&format!("{hami}/activities"));
        async move {
            let (_, v) = get_json(&coord, u).await;
            let a = v["activities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == "demo-mission-hami-2023-a3")
                .unwrap()
                .clone();
            (
                a["people"].as_str().unwrap().to_string(),
                a["count"].as_i64().unwrap(),
            )
        }
    };
    let (p0, c0) = people(app).await;
    let file = "name,org_code\n艾力·买买提,650500-H01-NEU\n无名氏,\n艾力·买买提,\n";
    let (s, r) = upload(&coord, url.clone(), file.as_bytes().to_vec()).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(row_fields(&r), vec![(3, "name".into()), (4, "name".into())]);
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("无名氏"));
    assert_eq!(people(app).await.0, p0, "nothing written");
    // The wrong department for a known name is an unknown trainee too.
    let (s, r) = upload(
        &coord,
        url.clone(),
        "name,org_code\n艾力·买买提,653100-H01-HEM\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{r}");

    let (s, r) = upload(
        &coord,
        format!("{url}?skip_bad=true"),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(1), Some(2))
    );
    let (p1, c1) = people(app).await;
    assert_eq!(p1, format!("{p0}、艾力·买买提"));
    assert_eq!(c1, c0, "the head count stays when it was larger");
    let audit = audit_actions(app, "MissionActivity").await;
    assert!(audit.contains(&(
        "coordinator".into(),
        "import".into(),
        "demo-mission-hami-2023-a3".into()
    )));
    // Imported again (XLSX): already listed, not listed twice.
    let xlsx = tianshan_platform::tabular::to_xlsx(
        "attendance",
        &["name"],
        &[vec!["艾力·买买提".to_string()]],
    )
    .unwrap();
    let (s, r) = upload(&coord, format!("{url}?filename=a.xlsx"), xlsx).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(people(app).await.0, p1);

    // A lecture dated after today has not taken place: 400, nothing written.
    let (s, m) = post_json(
        &coord,
        app.url("/api/v1/missions/missions"),
        json!({"kind": "mission", "title": "讲座测试", "site_code": "650500-H01",
            "lead_code": "650100-H02", "starts_on": day(app, -2), "ends_on": day(app, 20)}),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_str().unwrap().to_string();
    let (s, a) = post_json(
        &coord,
        app.url(&format!("/api/v1/missions/missions/{mid}/activities")),
        json!({"day": day(app, 3), "kind": "lecture", "topic": "卒中康复", "count": 0}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let lid = a["id"].as_str().unwrap().to_string();
    let future = app.url(&format!(
        "/api/v1/missions/missions/{mid}/lectures/{lid}/attendance/import"
    ));
    let (s, e) = upload(&coord, future, file.as_bytes().to_vec()).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains(&day(app, 3)), "{e}");
    // The whole course: each row names its lecture by day; a day without a lecture given, or
    // a lecture not given yet, is that row's error.
    let course = app.url(&format!("{hami}/attendance/import"));
    let rows = "name,day\n阿斯叶·努尔兰,2023-12-05\n阿斯叶·努尔兰,2023-12-06\n";
    let (s, r) = upload(&coord, course.clone(), rows.as_bytes().to_vec()).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(row_fields(&r), vec![(3, "day".into())]);
    assert_eq!(people(app).await.0, p1);
    let (s, r) = upload(
        &coord,
        format!("{course}?skip_bad=true"),
        rows.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(people(app).await.0, format!("{p1}、阿斯叶·努尔兰"));
    let later = format!("name,day\n艾力·买买提,{}\n", day(app, 3));
    let (s, r) = upload(
        &coord,
        app.url(&format!(
            "/api/v1/missions/missions/{mid}/attendance/import"
        )),
        later.into_bytes(),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(row_fields(&r), vec![(2, "day".into())]);
    // Not a lecture (the Hami clinic day): 400.
    let (s, _) = upload(
        &coord,
        app.url(&format!(
            "{hami}/lectures/demo-mission-hami-2023-a1/attendance/import"
        )),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 400);
    // The Kashgar doctor does not see the Hami mission; the official may not record.
    let (s, _) = upload(
        &app.api("doctor").await,
        url.clone(),
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = upload(&app.api("official").await, url, file.as_bytes().to_vec()).await;
    assert_eq!(s, 403);
    assert_eq!(
        people(app).await.0,
        format!("{p1}、阿斯叶·努尔兰"),
        "nothing more written"
    );
    super::decade::summaries_agree_with_the_records(&app.st.db).await;
}
both!(attendance_through_files);

/// The import page takes trainees and a lecture's attendance, with row numbers on the page.
async fn trainees_and_attendance_from_the_page(app: &TestApp) {
    let b = app.browser("coordinator").await;
    let html = b.get("/missions/import").await.text().await.unwrap();
    assert!(html.contains("id=\"import-trainees\"") && html.contains("id=\"import-attendance\""));
    assert!(html.contains("href=\"/missions/mentorships.csv?format=xlsx\""));
    assert!(html.contains("demo-mission-hami-2023:demo-mission-hami-2023-a3"));
    let marker = "action=\"/missions/import?_csrf=";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_string();
    let send = |fields: Vec<(&'static str, String)>, name: &'static str, bytes: Vec<u8>| {
        let client = b.client.clone();
        let url = format!("{}/missions/import?_csrf={csrf}", b.base);
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (ct, body) = multipart(&f, Some((name, bytes.as_slice())));
            let r = client
                .post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let n0 = trainees(app).await.len();
    let csv = format!(
        "{HEAD}页面学员甲,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,脑电图,护师,03,\n\
         页面学员乙,650500-H01-NEU,expert,RH-BJ-PUMCH-NEU,2026-01-05,2026-12-31,脑电图,护师,未知,\n"
    );
    let (s, html) = send(
        vec![("what", "trainees".into())],
        "t.csv",
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"row-3-trainee_ethnicity\""), "{html}");
    assert_eq!(trainees(app).await.len(), n0);
    let (s, html) = send(
        vec![("what", "trainees".into()), ("skip_bad", "1".into())],
        "t.csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert_eq!(trainees(app).await.len(), n0 + 1);
    let (s, html) = send(
        vec![
            ("what", "attendance".into()),
            (
                "lecture",
                "demo-mission-hami-2023:demo-mission-hami-2023-a3".into(),
            ),
        ],
        "a.csv",
        "name\n页面学员甲\n页面学员乙\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"row-3-name\""), "{html}");
}
both!(trainees_and_attendance_from_the_page);
