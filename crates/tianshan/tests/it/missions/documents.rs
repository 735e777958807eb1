//! The mission report and certificates as PDF, the public certificate check, expert studios
//! and fellowships.
use super::*;

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
