//! The pages as a browser without JavaScript uses them: sign-in, CSRF, rate limit, patient
//! registration with errors beside fields, duplicates, languages, audit page, page weight.
use crate::both;
use crate::helpers::{audit_for, TestApp};

async fn sign_in_and_out(app: &TestApp) {
    let anon = app.browser("").await;
    let r = anon.get("/patients?q=zs").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Fpatients");
    let r = anon
        .post_form("/login", &[("username", "nurse"), ("password", "wrong")])
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let nurse = app.browser("nurse").await;
    let home = nurse.get("/").await.text().await.unwrap();
    assert!(home.contains("古丽娜尔"), "welcome names the user");
    let r = nurse.post_form("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(nurse.get("/patients").await.status(), 303, "signed out");
}
both!(sign_in_and_out);

async fn forms_need_the_csrf_token(app: &TestApp) {
    let nurse = app.browser("nurse").await;
    let r = nurse
        .client
        .post(app.url("/patients/new"))
        .form(&[("family_name", "王"), ("given_name", "五")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("表单已过期"));
    let r = nurse
        .client
        .post(app.url("/patients/new"))
        .form(&[("family_name", "王"), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
both!(forms_need_the_csrf_token);

async fn sign_in_is_rate_limited(app: &TestApp) {
    let b = app.browser("").await;
    for _ in 0..tianshan_platform::ratelimit::MAX_FAILURES {
        assert_eq!(
            b.post_form("/login", &[("username", "doctor"), ("password", "guess")])
                .await
                .status(),
            401
        );
    }
    let r = b
        .post_form(
            "/login",
            &[("username", "doctor"), ("password", "tianshan-doctor")],
        )
        .await;
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is hit"
    );
    let audit = tianshan_platform::audit::list(
        &app.db,
        &tianshan_platform::audit::Filter {
            action: Some("sign_in_failed".into()),
            ..Default::default()
        },
        50,
    )
    .await
    .unwrap();
    assert!(audit.len() >= 5);
}
both!(sign_in_is_rate_limited);

async fn register_patient_through_the_form(app: &TestApp) {
    let nurse = app.browser("nurse").await;
    // A wrong ID number: refused beside the field, everything typed kept.
    let fields = [
        ("family_name", "王"),
        ("given_name", "小梅"),
        ("sex", "female"),
        ("birth_date", ""),
        ("id_number", "110105194912310021"),
        ("org_code", "653121100202"),
        ("phone", "13811112222"),
        ("guardian_name", ""),
        ("guardian_relationship", ""),
        ("guardian_phone", ""),
        ("guardian_patient_id", ""),
    ];
    let r = nurse.post_form("/patients/new", &fields).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("field invalid\"><label for=\"id_number\""),
        "the ID field is marked"
    );
    assert!(
        html.contains("身份证号最后一位应为 X，而不是 1"),
        "the message names the problem"
    );
    assert!(
        html.contains("value=\"小梅\"") && html.contains("value=\"13811112222\""),
        "typed values kept"
    );
    // Corrected: created, then found by initials, and the page shows it.
    let mut ok = fields;
    ok[4] = ("id_number", "");
    ok[3] = ("birth_date", "2020-02-29");
    let r = nurse.post_form("/patients/new", &ok).await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc
        .trim_start_matches("/patients/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = nurse.get(&loc).await.text().await.unwrap();
    assert!(page.contains("王小梅") && page.contains("2020-02-29"));
    let list = nurse.get("/patients?q=wxm").await.text().await.unwrap();
    assert!(list.contains(&format!("/patients/{id}")));
    // The same person again: warned and offered the existing record; confirmed: created.
    let r = nurse.post_form("/patients/new", &ok).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"duplicates\"") && html.contains(&format!("/patients/{id}")));
    let mut confirmed = ok.to_vec();
    confirmed.push(("confirm_new", "1"));
    assert_eq!(
        nurse.post_form("/patients/new", &confirmed).await.status(),
        303
    );
    // Edit keeps the version and audits.
    let form = nurse
        .get(&format!("/patients/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"version\" value=\"1\""));
    let mut edit = ok.to_vec();
    edit.push(("version", "1"));
    edit[6] = ("phone", "13899998888");
    assert_eq!(
        nurse
            .post_form(&format!("/patients/{id}/edit"), &edit)
            .await
            .status(),
        303
    );
    let actions: Vec<String> = audit_for(app, &id).await.into_iter().map(|e| e.1).collect();
    assert!(
        actions.contains(&"create".to_string())
            && actions.contains(&"update".to_string())
            && actions.contains(&"read".to_string())
    );
}
both!(register_patient_through_the_form);

async fn out_of_scope_pages_are_not_found(app: &TestApp) {
    let official = app.browser("official").await;
    let r = official.get("/patients/demo-0001").await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("不在您的管辖范围内"));
    assert_eq!(official.get("/patients/new").await.status(), 403);
    assert_eq!(official.get("/admin/audit").await.status(), 403);
    let admin = app.browser("admin").await;
    let audit = admin
        .get("/admin/audit?username=official")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("demo-0001"),
        "the refused read is in the audit page"
    );
    let csv = admin.get("/admin/audit.csv?username=official").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("id,at,username"));
}
both!(out_of_scope_pages_are_not_found);

async fn languages_and_right_to_left(app: &TestApp) {
    let anon = app.browser("").await;
    let ug = anon.get("/login?lang=ug").await.text().await.unwrap();
    assert!(ug.contains("<html lang=\"ug\" dir=\"rtl\">"));
    assert!(ug.contains("كىرىش"));
    let en = anon
        .client
        .get(app.url("/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The ?lang choice is remembered in a cookie, over Accept-Language.
    assert!(en.contains("dir=\"rtl\""));
    let fresh = app.browser("").await;
    let en = fresh
        .client
        .get(app.url("/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\" dir=\"ltr\">") && en.contains("Sign in"));
    let hant = fresh.get("/login?lang=zh-Hant").await.text().await.unwrap();
    assert!(hant.contains("登入"));
    // A signed-in user's choice is stored with the user.
    let nurse = app.browser("nurse").await;
    assert_eq!(
        nurse
            .post_form(
                "/settings/language",
                &[("lang", "ug"), ("back", "/patients")]
            )
            .await
            .status(),
        303
    );
    let again = app.browser("nurse").await;
    assert!(again
        .get("/patients")
        .await
        .text()
        .await
        .unwrap()
        .contains("dir=\"rtl\""));
}
both!(languages_and_right_to_left);

async fn pages_are_light(app: &TestApp) {
    let nurse = app.browser("nurse").await;
    for path in [
        "/patients?q=zs",
        "/patients/demo-0001",
        "/patients/new",
        "/orgs?code=653121",
        "/practitioners",
    ] {
        let r = nurse.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.unwrap();
        assert!(
            body.len() < 60_000,
            "{path} is {} bytes before compression",
            body.len()
        );
    }
    let css = nurse.get("/static/app.css").await;
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
}
both!(pages_are_light);
