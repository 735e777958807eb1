//! Administration through the API and the pages: roles as data (a role made through the API
//! grants exactly its permissions), accounts (create, roles, disable, tokens, sessions).
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// demo-0001 lives in a village of Tokkuzak town, Shufu county (653121), Kashgar.
const KASHGAR_PATIENT: &str = "demo-0001";

fn bearer(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn a_role_made_through_the_api_gives_exactly_its_permissions(app: &TestApp) {
    let admin = app.api("admin").await;
    // Only administrators manage roles.
    let r = app
        .api("coordinator")
        .await
        .get(app.url("/api/v1/roles"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = admin
        .post(app.url("/api/v1/roles"))
        .json(&json!({"code": "records_reader", "label": "Records reader",
            "permissions": ["registry.patients.read", "scope.subtree", "registry.read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let role: Value = r.json().await.unwrap();
    assert_eq!(
        role["permissions"],
        json!(["registry.patients.read", "registry.read", "scope.subtree"])
    );
    // An unknown permission and a duplicate code are refused.
    let r = admin
        .post(app.url("/api/v1/roles"))
        .json(&json!({"code": "bad", "permissions": ["no.such.permission"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = admin
        .post(app.url("/api/v1/roles"))
        .json(&json!({"code": "records_reader", "permissions": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // The list shows it with its permissions.
    let list: Value = admin
        .get(app.url("/api/v1/roles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = list["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "records_reader")
        .unwrap();
    assert_eq!(mine["users"], 0);
    assert!(list["permissions"].as_array().unwrap().len() >= 6);

    let r = admin
        .post(app.url("/api/v1/users"))
        .json(
            &json!({"username": "reader1", "password": "reader-pass-1", "roles": ["records_reader"],
            "scope_code": "653121", "display_name": "阿依古丽"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["roles"], "records_reader");
    assert_eq!(u["scope_code"], "653121");

    let reader = bearer(&app.token("reader1").await);
    let r = reader
        .get(app.url(&format!("/api/v1/patients/{KASHGAR_PATIENT}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the role's read permission works");
    let body: Value = r.json().await.unwrap();
    let mut patient = body.get("patient").cloned().unwrap_or(body.clone());
    patient["phone"] = json!("13912345678");
    let r = reader
        .put(app.url(&format!("/api/v1/patients/{KASHGAR_PATIENT}")))
        .json(&patient)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no write permission in the role");
    let r = reader.get(app.url("/api/v1/audit")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = reader.get(app.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Taking the permission away applies at once (the auth generation moves).
    let r = admin
        .put(app.url("/api/v1/roles/records_reader"))
        .json(&json!({"permissions": ["registry.read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut status = 0;
    for _ in 0..20 {
        status = reader
            .get(app.url(&format!("/api/v1/patients/{KASHGAR_PATIENT}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 403);

    // A role in use cannot be deleted; once nobody holds it, it can; built-in roles never.
    let r = admin
        .delete(app.url("/api/v1/roles/records_reader"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = admin
        .put(app.url("/api/v1/users/reader1/roles"))
        .json(&json!({"roles": ["nurse"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = admin
        .delete(app.url("/api/v1/roles/records_reader"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = admin
        .delete(app.url("/api/v1/roles/nurse"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Every change is in the audit log.
    let entries = tianshan_platform::audit::list(
        &app.db,
        &tianshan_platform::audit::Filter {
            entity_type: Some("role".into()),
            ..Default::default()
        },
        20,
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 3, "create, update, delete");
}
both!(a_role_made_through_the_api_gives_exactly_its_permissions);

async fn accounts_tokens_and_sessions_through_the_api(app: &TestApp) {
    let admin = app.api("admin").await;
    let nurse_token = app.token("nurse").await;
    let nurse = bearer(&nurse_token);
    let _browser = app.browser("nurse").await;
    let d: Value = admin
        .get(app.url("/api/v1/users/nurse"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["user"]["username"], "nurse");
    assert!(!d["tokens"].as_array().unwrap().is_empty());
    let sessions = d["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{d}");
    assert!(
        d["tokens"].to_string().find(&nurse_token).is_none(),
        "never the secret"
    );

    // Revoke this token: refused at once.
    let tokens: Value = admin
        .get(app.url("/api/v1/users/nurse/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = tokens["tokens"][0]["id"].as_str().unwrap().to_string();
    // A token of another user cannot be revoked through this user's path.
    let r = admin
        .delete(app.url(&format!("/api/v1/users/doctor/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        nurse
            .get(app.url("/api/v1/patients/demo-0001"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = admin
        .delete(app.url(&format!("/api/v1/users/nurse/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let mut status = 0;
    for _ in 0..20 {
        status = nurse
            .get(app.url("/api/v1/patients/demo-0001"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401);

    // End the browser session through the API.
    let sid = sessions[0]["id"].as_str().unwrap();
    let r = admin
        .delete(app.url(&format!("/api/v1/users/nurse/sessions/{sid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let s: Value = admin
        .get(app.url("/api/v1/users/nurse/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["sessions"].as_array().unwrap().len(), 0);

    // Disable: a fresh token stops working; enable: it works again.
    let doctor = bearer(&app.token("doctor").await);
    let r = admin
        .post(app.url("/api/v1/users/doctor/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["active"], 0);
    let mut status = 0;
    for _ in 0..20 {
        status = doctor
            .get(app.url("/api/v1/patients/demo-0001"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401);
    let r = admin
        .post(app.url("/api/v1/users/doctor/enable"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        doctor
            .get(app.url("/api/v1/patients/demo-0001"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // An administrator cannot lock themselves out; a user without the right is refused.
    let r = admin
        .post(app.url("/api/v1/users/admin/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = doctor
        .post(app.url("/api/v1/users/nurse/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Creating a user: bad input is a 422 naming the field.
    let r = admin
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "x y", "password": "short", "roles": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}
both!(accounts_tokens_and_sessions_through_the_api);

async fn admin_pages_create_a_role_and_a_user(app: &TestApp) {
    let b = app.browser("admin").await;
    let r = b.get("/admin/roles").await;
    assert_eq!(r.status(), 200);
    let r = b
        .post_form(
            "/admin/roles",
            &[
                ("code", "vaccinator"),
                ("label", "接种员"),
                ("permission", "registry.patients.read"),
                ("permission", "scope.subtree"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = b.get("/admin/roles/vaccinator").await.text().await.unwrap();
    assert!(html.contains("接种员"));
    assert_eq!(html.matches(" checked>").count(), 2, "{html}");
    let r = b
        .post_form(
            "/admin/users",
            &[
                ("username", "vacc1"),
                ("password", "vaccinate-2026"),
                ("display_name", "热依拉"),
                ("scope_code", "653121100"),
                ("locale", "ug"),
                ("role", "vaccinator"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = b.get("/admin/users/vacc1").await.text().await.unwrap();
    assert!(html.contains("热依拉") && html.contains("653121100"));
    // Missing roles: the form comes back with the reason, nothing created.
    let r = b
        .post_form(
            "/admin/users",
            &[
                ("username", "vacc2"),
                ("password", "vaccinate-2026"),
                ("scope_code", "653121100"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("vacc2"));
    let r = b.post_form("/admin/users/vacc1/disable", &[]).await;
    assert_eq!(r.status(), 303);
    assert!(b
        .get("/admin/users/vacc1")
        .await
        .text()
        .await
        .unwrap()
        .contains("已停用"));
    let r = b.post_form("/admin/users/vacc1/enable", &[]).await;
    assert_eq!(r.status(), 303);
    assert!(!b
        .get("/admin/users/vacc1")
        .await
        .text()
        .await
        .unwrap()
        .contains("已停用"));
    // A button that does not exist is not found.
    let r = b.post_form("/admin/users/vacc1/promote", &[]).await;
    assert_eq!(r.status(), 404);
    // The nurse cannot open the pages.
    let nurse = app.browser("nurse").await;
    assert_eq!(nurse.get("/admin/users").await.status(), 403);
}
both!(admin_pages_create_a_role_and_a_user);

/// The administrator's user page in a real Chromium, 390 px wide, in Uyghur (right to left).
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

    /// A phone-sized browser session (its own profile: its own cookies).
    async fn phone(driver: &Chromedriver, profile: &Path) -> Client {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
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
        let path = screenshot_dir().join(name);
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// The page fits the phone: nothing wider than the screen.
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
        assert_eq!(inner, PHONE_WIDTH, "the browser is phone-sized");
        assert!(
            scroll <= inner,
            "{what} is {scroll} px wide on a {inner} px screen; too wide: {}",
            v[2]
        );
    }

    async fn find(c: &Client, css: &str) -> Element {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    async fn type_into(c: &Client, css: &str, text: &str) {
        find(c, css).await.send_keys(text).await.unwrap();
    }

    async fn click(c: &Client, css: &str) {
        find(c, css).await.click().await.unwrap();
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
        type_into(c, "#username", user).await;
        type_into(c, "#password", demo_password(user)).await;
        click(c, "#signin").await;
        wait_for(c, "header .who", "signed in").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admin_disables_a_user_on_a_phone_in_uyghur() {
        let driver = Chromedriver::start().await;
        let app = spawn_app(Backend::Sqlite).await;
        let p = tempfile::tempdir().unwrap();
        let admin = phone(&driver, p.path()).await;
        let scenario = tokio::spawn(scenario(admin.clone(), app.base.clone())).await;
        if scenario.is_err() {
            if let Ok(png) = admin.screenshot().await {
                let _ = std::fs::write(screenshot_dir().join("admin-failure.png"), png);
            }
        }
        let _ = admin.close().await;
        drop(driver);
        if let Err(e) = scenario {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn scenario(c: Client, base: String) {
        sign_in(&c, &base, "admin").await;
        c.goto(&format!("{base}/admin/users?lang=ug"))
            .await
            .unwrap();
        wait_for(&c, "html[lang='ug'][dir='rtl']", "the users page in Uyghur").await;
        fits(&c, "the users page").await;
        shot(&c, "admin-users-ug-390.png").await;
        click(&c, "a[href='/admin/users/nurse']").await;
        let h1 = wait_for(&c, "h1", "the nurse's page").await;
        assert!(h1.text().await.unwrap().contains("nurse"));
        fits(&c, "the user page").await;
        click(&c, "form[action='/admin/users/nurse/disable'] button").await;
        let ok = wait_for(&c, "p.ok", "the saved notice").await;
        assert_eq!(ok.text().await.unwrap(), "ساقلاندى.");
        let facts = find(&c, "dl.facts").await.text().await.unwrap();
        assert!(
            facts.contains("توختىتىلغان"),
            "disabled, in Uyghur: {facts}"
        );
        fits(&c, "the user page after disabling").await;
        shot(&c, "admin-user-ug-390.png").await;
        click(&c, "form[action='/admin/users/nurse/enable'] button").await;
        wait_for(
            &c,
            "form[action='/admin/users/nurse/disable']",
            "enabled again",
        )
        .await;
        c.goto(&format!("{base}/admin/roles")).await.unwrap();
        wait_for(&c, "form[action='/admin/roles']", "the roles page").await;
        fits(&c, "the roles page").await;
        shot(&c, "admin-roles-ug-390.png").await;
        c.goto(&format!("{base}/admin/roles/nurse")).await.unwrap();
        wait_for(&c, "form[action='/admin/roles/nurse']", "the nurse role").await;
        fits(&c, "the role page").await;
    }
}
