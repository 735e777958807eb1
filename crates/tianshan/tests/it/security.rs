//! Attacks and careless clients, kept out by tests: sign-in throttling, NUL characters, CSRF,
//! headers, limits, malformed requests, kill -9 during writes.
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

async fn sign_in_delay_is_per_user_and_address_shared_and_liftable(app: &TestApp) {
    let b = app.browser("").await;
    // Failures for other names from this address never hold back a real user here.
    for i in 0..6 {
        let name = format!("ghost{i}");
        let r = b
            .post_form("/login", &[("username", &name), ("password", "guess")])
            .await;
        assert_eq!(r.status(), 401);
    }
    let nurse = app.browser("nurse").await; // signs in (asserts the 303)
    drop(nurse);
    // Five wrong passwords for the doctor from this address: the sixth try waits, and the
    // page says until when.
    for _ in 0..tianshan_platform::ratelimit::PAIR_FREE {
        let r = b
            .post_form("/login", &[("username", "doctor"), ("password", "guess")])
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = b
        .post_form(
            "/login",
            &[("username", "doctor"), ("password", "tianshan-doctor")],
        )
        .await;
    assert_eq!(r.status(), 429);
    let html = r.text().await.unwrap();
    assert!(html.contains("UTC") && html.contains("秒"), "{html}");
    // The counters are rows of the database, which every server process shares.
    let n: i64 = tianshan_platform::with_db!(&app.db, pool => sqlx::query_scalar(
        "SELECT failures FROM signin_failures WHERE username = 'doctor' AND ip = '127.0.0.1'")
        .fetch_one(pool).await)
    .unwrap();
    assert_eq!(n, 5);
    // The administrator lifts the hold; the doctor signs in at once.
    let admin = app.api("admin").await;
    let d: Value = admin
        .get(app.url("/api/v1/users/doctor"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(d["locked_until"].is_string(), "{d}");
    let r = admin
        .post(app.url("/api/v1/users/doctor/unlock"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = b
        .post_form(
            "/login",
            &[("username", "doctor"), ("password", "tianshan-doctor")],
        )
        .await;
    assert_eq!(r.status(), 303);

    // Failures from many addresses: the user-wide ceiling holds the name back from a new
    // address too, never longer than the ceiling.
    for i in 0..tianshan_platform::ratelimit::USER_FREE {
        tianshan_platform::ratelimit::failed(&app.st, "official", &format!("10.0.0.{i}"))
            .await
            .unwrap();
    }
    let e = tianshan_platform::ratelimit::check(&app.st, "official", "10.9.9.9")
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        tianshan_platform::AppError::RateLimitedUntil(_)
    ));
    let until = tianshan_platform::ratelimit::locked_until(&app.st, "official")
        .await
        .unwrap()
        .unwrap();
    let until = tianshan_platform::clock::parse_timestamp(&until).unwrap();
    let left = until - app.st.clock.now();
    assert!(left.whole_seconds() <= tianshan_platform::ratelimit::MAX_DELAY_SECS);
    // Another user from the same addresses is not held back.
    tianshan_platform::ratelimit::check(&app.st, "coordinator", "10.0.0.1")
        .await
        .unwrap();
}
both!(sign_in_delay_is_per_user_and_address_shared_and_liftable);

fn new_patient(family: &str) -> Value {
    json!({"family_name": family, "given_name": "合木提", "sex": "male", "birth_date": "2001-05-04",
           "org_code": "653121100202", "phone": "13900001111", "ethnicity": "05"})
}

async fn nul_is_refused_everywhere_with_a_4xx(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let fhir = |method: reqwest::Method, path: &str| {
        nurse
            .request(method, app.url(path))
            .header("content-type", "application/fhir+json")
    };
    let mut tried = Vec::new();
    // Query, path, JSON body (API and FHIR).
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("api query", nurse.get(app.url("/api/v1/patients?q=%E7%8E%8B%00"))),
        ("api path", nurse.get(app.url("/api/v1/patients/demo-0001%00"))),
        ("api json", nurse.post(app.url("/api/v1/patients")).json(&new_patient("买\u{0}"))),
        (
            "api json update",
            nurse.put(app.url("/api/v1/patients/demo-0001")).json(&new_patient("\u{0}")),
        ),
        ("fhir query", nurse.get(app.url("/fhir/r4/Patient?name=%00"))),
        ("fhir path", nurse.get(app.url("/fhir/r4/Patient/demo%000001"))),
        (
            "fhir json",
            fhir(reqwest::Method::POST, "/fhir/r4/Patient").body(
                json!({"resourceType": "Patient", "name": [{"family": "阿\u{0}", "given": ["依古丽"]}],
                    "gender": "female", "birthDate": "2019-06-12",
                    "managingOrganization": {"reference": "Organization/653121100201"}})
                .to_string(),
            ),
        ),
        ("page query", nurse.get(app.url("/patients?q=%00"))),
    ];
    for (what, req) in cases {
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        tried.push((what, s));
        assert_eq!(s, 400, "{what}: {}", r.text().await.unwrap());
    }
    // Forms, the unauthenticated sign-in form included.
    let b = app.browser("").await;
    let r = b
        .post_form(
            "/login",
            &[("username", "doc\u{0}tor"), ("password", "x\u{0}")],
        )
        .await;
    assert_eq!(r.status(), 400, "sign-in form");
    let signed = app.browser("nurse").await;
    let r = signed
        .post_form(
            "/patients/new",
            &[
                ("family_name", "王\u{0}"),
                ("given_name", "五"),
                ("sex", "male"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "registration form");
    // The message says what is wrong, in the reader's language.
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&new_patient("买\u{0}"))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("U+0000"));
    // A backslash followed by `u0000` as text is not a NUL and is kept.
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&json!({"family_name": "买", "given_name": "合木提", "sex": "male", "birth_date": "2001-05-04",
           "org_code": "653121100202", "ethnicity": "05", "address": "\\u0000 路"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    // Nothing was stored with a NUL, and the server is healthy.
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
}
both!(nul_is_refused_everywhere_with_a_4xx);

/// Sign in by hand (no cookie store): returns the session cookie's value.
async fn session_of(app: &TestApp, user: &str) -> String {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c.get(app.url("/login")).send().await.unwrap();
    let pre = set_cookie(&r, "ts_csrf").unwrap();
    let token = crate::helpers::extract_csrf(&r.text().await.unwrap());
    assert_eq!(token, pre, "before sign-in the double-submit cookie");
    let r = c
        .post(app.url("/login"))
        .header("cookie", format!("ts_csrf={pre}"))
        .form(&[
            ("username", user),
            ("password", crate::helpers::demo_password(user)),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    set_cookie(&r, "ts_session").unwrap()
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
}

async fn csrf_is_bound_to_the_session_and_guards_api_and_fhir(app: &TestApp) {
    let session = session_of(app, "nurse").await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookies = format!("ts_session={session}");
    // The session's token, as the pages show it.
    let html = c
        .get(app.url("/patients/new"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::helpers::extract_csrf(&html);
    // Another site makes the browser post JSON (or text/plain) with the cookie: refused.
    let r = c
        .post(app.url("/api/v1/patients"))
        .header("cookie", &cookies)
        .json(&new_patient("买"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("X-CSRF-Token"));
    let r = c
        .post(app.url("/fhir/r4/Patient"))
        .header("cookie", &cookies)
        .header("content-type", "text/plain")
        .body(r#"{"resourceType":"Patient","gender":"male"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A planted double-submit cookie equal to the sent token no longer passes.
    let planted = format!("{cookies}; ts_csrf=planted");
    let r = c
        .post(app.url("/api/v1/patients"))
        .header("cookie", &planted)
        .header("x-csrf-token", "planted")
        .json(&new_patient("买"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url("/patients/new"))
        .header("cookie", &planted)
        .form(&[
            ("family_name", "王"),
            ("given_name", "五"),
            ("_csrf", "planted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a form with a planted cookie");
    // With the session's token the same writes pass.
    let r = c
        .post(app.url("/api/v1/patients"))
        .header("cookie", &cookies)
        .header("x-csrf-token", &token)
        .json(&new_patient("买"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // A FHIR write that is not JSON is 415, with the token or a bearer token.
    let r = c
        .post(app.url("/fhir/r4/Patient"))
        .header("cookie", &cookies)
        .header("x-csrf-token", &token)
        .header("content-type", "text/plain")
        .body(r#"{"resourceType":"Patient","gender":"male"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let bearer = app.api("nurse").await;
    let r = bearer
        .post(app.url("/fhir/r4/Patient"))
        .header("content-type", "text/plain")
        .body(r#"{"resourceType":"Patient","gender":"male"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Bearer tokens need no CSRF header (no browser sends them by itself).
    let r = bearer
        .post(app.url("/api/v1/patients?confirm_not_duplicate=true"))
        .json(&new_patient("买"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Reads with the cookie need no token.
    let r = c
        .get(app.url("/api/v1/patients/demo-0001"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
both!(csrf_is_bound_to_the_session_and_guards_api_and_fhir);

/// 4,500 entries on two days of March 2025, more than one batch of the streamed export.
async fn seed_audit(app: &TestApp) {
    use tianshan_platform::audit::{Action, Actor, AuditRow, Event};
    let mut rows = Vec::new();
    for i in 0..4500 {
        let at = format!(
            "2025-03-{:02}T08:{:02}:{:02}Z",
            10 + i % 2,
            (i / 60) % 60,
            i % 60
        );
        let id = format!("p{i}");
        rows.push(AuditRow::raw(
            &at,
            Actor {
                user_id: "",
                username: "loader",
                role: "",
                channel: "cli",
                ip: "",
                user_agent: "",
            },
            Event::new(Action::READ, "patient", &id).detail("seed, \"quoted\""),
        ));
    }
    for chunk in rows.chunks(500) {
        app.db.audit(chunk.to_vec()).await.unwrap();
    }
}

async fn audit_pages_through_everything_and_exports_a_whole_range(app: &TestApp) {
    seed_audit(app).await;
    let admin = app.api("admin").await;
    // Page through the whole range with `before` / `next_before`.
    let mut before: Option<i64> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let mut url = "/api/v1/audit?username=loader&limit=1000".to_string();
        if let Some(b) = before {
            url.push_str(&format!("&before={b}"));
        }
        let r = admin.get(app.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        for e in page["entries"].as_array().unwrap() {
            assert!(seen.insert(e["id"].as_i64().unwrap()), "no entry twice");
        }
        pages += 1;
        match page["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(seen.len(), 4500);
    let r = admin
        .get(app.url("/api/v1/audit?before=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // One day as CSV: every entry of that day, streamed in batches, none cut off.
    let r = admin
        .get(app.url("/api/v1/audit.csv?username=loader&from=2025-03-11&to=2025-03-11"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2250);
    assert!(rows
        .iter()
        .all(|r| r.split(',').nth(1).unwrap().starts_with("2025-03-11")));
    assert!(rows[0].ends_with(r#","seed, ""quoted""""#), "{}", rows[0]);
    // The page's export is the same stream; the export is audited; others are refused.
    let b = app.browser("admin").await;
    let r = b
        .get("/admin/audit.csv?username=loader&from=2025-03-10&to=2025-03-11")
        .await;
    assert_eq!(r.text().await.unwrap().lines().count(), 4501);
    let r = app
        .api("nurse")
        .await
        .get(app.url("/api/v1/audit.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
both!(audit_pages_through_everything_and_exports_a_whole_range);
