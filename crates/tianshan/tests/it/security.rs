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

async fn every_answer_carries_the_security_headers(app: &TestApp) {
    let api = app.api("nurse").await;
    let b = app.browser("nurse").await;
    let answers = vec![
        ("page", b.get("/patients/demo-0001").await),
        (
            "sign-in page",
            reqwest::get(app.url("/login")).await.unwrap(),
        ),
        (
            "api",
            api.get(app.url("/api/v1/patients/demo-0001"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "fhir",
            api.get(app.url("/fhir/r4/Patient/demo-0001"))
                .send()
                .await
                .unwrap(),
        ),
        (
            "error",
            api.get(app.url("/api/v1/patients/nope"))
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (what, r) in answers {
        let h = r.headers();
        let get = |k: &str| {
            h.get(k)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert!(
            get("content-security-policy").contains("frame-ancestors 'none'"),
            "{what}"
        );
        assert!(get("content-security-policy").contains("script-src 'self'"));
        assert_eq!(get("x-frame-options"), "DENY", "{what}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(get("referrer-policy"), "same-origin", "{what}");
        assert_eq!(get("cache-control"), "no-store", "{what}");
        assert_eq!(
            get("strict-transport-security"),
            "",
            "no HSTS without HTTPS"
        );
    }
    // Static assets stay cacheable; no page has an inline script handler the CSP would block.
    let r = reqwest::get(app.url("/static/app.css")).await.unwrap();
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let html = b.get("/patients/demo-0001").await.text().await.unwrap();
    assert!(!html.contains(" onchange=") && !html.contains(" onclick="));
    // With --secure-cookies, HSTS.
    let mut h = reqwest::header::HeaderMap::new();
    tianshan_platform::web::security_headers(&mut h, "/", true);
    assert!(h["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
}
both!(every_answer_carries_the_security_headers);

/// A client that sends half its headers and waits is cut off after the header timeout,
/// not held for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(
        tianshan::app::HEADER_TIMEOUT + std::time::Duration::from_secs(5),
        s.read(&mut buf),
    )
    .await
    .expect("the server closes a slow connection")
    .unwrap_or(0);
    let waited = start.elapsed();
    assert!(waited >= std::time::Duration::from_secs(5), "{waited:?}");
    // Closed, or answered 408, never a 200 for the half request.
    assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"));
    // Others are served meanwhile.
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
}

/// SIGTERM (here: the stop future) lets a request in flight finish, then the server stops and
/// SQLite's WAL is checkpointed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_checkpoints() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let clock = tianshan_platform::clock::Clock::system();
    let db = tianshan::app::open_db(None, dir.path(), &clock)
        .await
        .unwrap();
    let st = tianshan::app::platform(db.clone(), clock.clone(), false).unwrap();
    tianshan::app::load_demo(&st).await.unwrap();
    let token = tianshan_platform::users::create_api_token(
        &db,
        &clock,
        tianshan_platform::users::By::Cli,
        "nurse",
        "t",
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tianshan::app::serve_until(st, listener, async move {
        let _ = stop_rx.await;
    }));
    let body = new_patient("买").to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    // New connections are no longer taken...
    assert!(reqwest::get(format!("http://{addr}/healthz"))
        .await
        .is_err());
    // ...but the request in flight finishes.
    s.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    tokio::time::timeout(std::time::Duration::from_secs(12), server)
        .await
        .expect("the server stops within the grace period")
        .unwrap()
        .unwrap();
    // The WAL was checkpointed into the database file and truncated.
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with("-wal") {
            assert_eq!(e.metadata().unwrap().len(), 0, "{name} not checkpointed");
        }
    }
}

async fn fields_have_maxima_and_extensions_are_checked(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let mut p = new_patient("买");
    p["address"] = json!("喀".repeat(250_000));
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "address");
    assert!(body["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("300"));
    let mut p = new_patient("买");
    p["guardians"] = json!((0..10_000)
        .map(|i| json!({"name": format!("监护人{i}"), "relationship": "父亲"}))
        .collect::<Vec<_>>());
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "guardians");
    // Ten guardians are fine.
    let mut p = new_patient("买");
    p["guardians"] = json!((0..10)
        .map(|i| json!({"name": format!("监护人{i}"), "relationship": "父亲"}))
        .collect::<Vec<_>>());
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // FHIR: an extension of the wrong shape is refused, not stored and echoed.
    let patient = |ext: Value| {
        json!({"resourceType": "Patient", "name": [{"family": "阿", "given": ["依古丽"]}],
            "gender": "female", "birthDate": "2019-06-12",
            "managingOrganization": {"reference": "Organization/653121100201"},
            "extension": ext})
    };
    for bad in [
        json!([{"url": 5}]),
        json!([{"url": "http://x.org/a"}]),
        json!([{"url": "http://x.org/a", "valueString": "a", "valueCode": "b"}]),
        json!(["text"]),
        json!([{"url": "http://x.org/a", "valueString": "a", "junk": 1}]),
        json!([{"url": "http://x.org/a", "extension": [{"url": 7}]}]),
    ] {
        let r = nurse
            .post(app.url("/fhir/r4/Patient"))
            .header("content-type", "application/fhir+json")
            .body(patient(bad.clone()).to_string())
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 422),
            "{bad}: {}",
            r.status()
        );
        let oo: Value = r.json().await.unwrap();
        assert_eq!(oo["resourceType"], "OperationOutcome");
    }
    let good =
        json!([{"url": "http://example.org/fhir/StructureDefinition/note", "valueString": "ok"}]);
    let r = nurse
        .post(app.url("/fhir/r4/Patient"))
        .header("content-type", "application/fhir+json")
        .body(patient(good).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let created: Value = r.json().await.unwrap();
    assert!(created["extension"].to_string().contains("note"));
}
both!(fields_have_maxima_and_extensions_are_checked);

/// Figures of a malformed-request run: (tried, 2xx/3xx, 4xx, 5xx).
type Tally = (usize, usize, usize, usize);

/// A few hundred generated bad requests against the API, FHIR and the forms: none may answer
/// 5xx, and the server stays healthy.
async fn malformed_requests_never_crash_the_server(app: &TestApp) {
    let token = app.token("nurse").await;
    let admin_token = app.token("admin").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let huge = "喀".repeat(400_000);
    let bodies: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<(String, Vec<u8>)> = vec![
            ("empty".into(), b"".to_vec()),
            ("truncated".into(), b"{\"family_name\": \"".to_vec()),
            ("brace".into(), b"{".to_vec()),
            ("array".into(), b"[]".to_vec()),
            ("null".into(), b"null".to_vec()),
            ("string".into(), b"\"x\"".to_vec()),
            ("number".into(), b"12345678901234567890123456789".to_vec()),
            ("nested".into(), "[".repeat(100_000).into_bytes()),
            ("bad utf8".into(), b"{\"family_name\": \"\xff\xfe\"}".to_vec()),
            ("nul".into(), b"{\"family_name\": \"a\\u0000\"}".to_vec()),
            ("lone surrogate".into(), b"{\"family_name\": \"\\ud800\"}".to_vec()),
            ("huge".into(), json!({"family_name": huge, "sex": "male", "org_code": "653121100202"}).to_string().into_bytes()),
            ("fhir wrong type".into(), json!({"resourceType": "Observation"}).to_string().into_bytes()),
            ("fhir bad bundle".into(), json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": 5}, {}, {"request": {"method": "DELETE", "url": "../../x"}}]}).to_string().into_bytes()),
            ("fhir bad name".into(), json!({"resourceType": "Patient", "name": "张三", "gender": 5, "birthDate": "yesterday", "extension": [{"url": 5}]}).to_string().into_bytes()),
            ("fhir bad refs".into(), json!({"resourceType": "Patient", "name": [{"family": "张"}], "managingOrganization": {"reference": "Organization/../../etc"}, "contact": "x"}).to_string().into_bytes()),
        ];
        // Every field of the patient body with the wrong JSON type.
        for field in [
            "family_name",
            "given_name",
            "sex",
            "birth_date",
            "id_number",
            "phone",
            "org_code",
            "address",
            "ethnicity",
            "guardians",
            "name_ug",
        ] {
            for bad in [
                json!(5),
                json!(true),
                json!([1, 2]),
                json!({"a": 1}),
                json!(null),
                json!(-1.5e308),
            ] {
                let mut p = json!({"family_name": "买", "given_name": "合木提", "sex": "male", "birth_date": "2001-05-04", "org_code": "653121100202"});
                p[field] = bad.clone();
                v.push((format!("{field}={bad}"), p.to_string().into_bytes()));
            }
        }
        for (field, bad) in [
            ("birth_date", "2020-13-45"),
            ("birth_date", "0000-00-00"),
            ("id_number", "ABCDEFGHIJKLMNOPQR"),
            ("id_number", "11010519491231002Ⅹ"),
            ("sex", "🙂"),
            ("org_code", "../../.."),
            ("org_code", "653121100202' OR '1'='1"),
            ("phone", "+86 ١٢٣٤٥٦٧٨٩٠"),
        ] {
            let mut p = json!({"family_name": "买", "given_name": "合木提", "sex": "male", "birth_date": "2001-05-04", "org_code": "653121100202"});
            p[field] = json!(bad);
            v.push((format!("{field}={bad}"), p.to_string().into_bytes()));
        }
        v
    };
    let content_types = [
        "application/json",
        "text/plain",
        "application/xml",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ];
    let mut reqs: Vec<(String, reqwest::RequestBuilder)> = Vec::new();
    for (what, body) in &bodies {
        for (target, method) in [
            ("/api/v1/patients", reqwest::Method::POST),
            ("/api/v1/patients/demo-0001", reqwest::Method::PUT),
            ("/api/v1/patients/demo-0001/shares", reqwest::Method::POST),
            ("/fhir/r4/Patient", reqwest::Method::POST),
            ("/fhir/r4/Patient/demo-0001", reqwest::Method::PUT),
            ("/fhir/r4", reqwest::Method::POST),
            ("/api/v1/roles", reqwest::Method::POST),
            ("/api/v1/users", reqwest::Method::POST),
        ] {
            let tok = if target.contains("roles") || target.contains("users") {
                &admin_token
            } else {
                &token
            };
            let ct = if target.starts_with("/fhir") {
                "application/fhir+json"
            } else {
                "application/json"
            };
            reqs.push((
                format!("{method} {target} {what}"),
                http.request(method.clone(), app.url(target))
                    .bearer_auth(tok)
                    .header("content-type", ct)
                    .body(body.clone()),
            ));
        }
    }
    for ct in content_types {
        for target in ["/api/v1/patients", "/fhir/r4/Patient", "/fhir/r4"] {
            reqs.push((
                format!("POST {target} as {ct}"),
                http.post(app.url(target))
                    .bearer_auth(&token)
                    .header("content-type", ct)
                    .body("family_name=%E4%B9%B0&x=%ZZ"),
            ));
        }
    }
    let long_id = "9".repeat(10_000);
    for path in [
        "/api/v1/patients/%FF%FE".to_string(),
        "/api/v1/patients/..%2F..%2Fetc%2Fpasswd".to_string(),
        format!("/api/v1/patients/{long_id}"),
        "/api/v1/patients/%F0%9F%99%82".to_string(),
        "/api/v1/patients?limit=abc".to_string(),
        "/api/v1/patients?limit=-1&offset=-99999999999999999999".to_string(),
        "/api/v1/patients?birth_date=2020-13-45".to_string(),
        "/api/v1/patients?q=%ZZ".to_string(),
        format!("/api/v1/patients?q={}", "张".repeat(5_000)),
        "/api/v1/orgs?limit=1e99".to_string(),
        "/api/v1/orgs/%00".to_string(),
        "/api/v1/practitioners/'%20OR%201=1".to_string(),
        "/api/v1/audit?before=-1&limit=0".to_string(),
        "/fhir/r4/Patient?_count=-5".to_string(),
        "/fhir/r4/Patient?_count=99999999999999999999".to_string(),
        "/fhir/r4/Patient?birthdate=ge2020-99-99".to_string(),
        "/fhir/r4/Patient?unknown=1".to_string(),
        "/fhir/r4/Patient?name:exact=".to_string(),
        "/fhir/r4/Patient?_summary=nonsense".to_string(),
        format!("/fhir/r4/Patient/{long_id}"),
        "/fhir/r4/Nonexistent/1".to_string(),
        "/fhir/r4/Patient/demo-0001/_history/x".to_string(),
        "/fhir/r4/$immds-forecast".to_string(),
        "/patients?q=%FF".to_string(),
        "/patients/%FF".to_string(),
        "/admin/audit?before=abc".to_string(),
        "/admin/users/%FF".to_string(),
        "/admin/roles/%00".to_string(),
    ] {
        for m in [
            reqwest::Method::GET,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            reqs.push((
                format!("{m} {path}"),
                http.request(m.clone(), app.url(&path)).bearer_auth(&token),
            ));
        }
    }
    // Forms, signed in and not: missing fields, junk encodings, repeated fields, NUL, huge.
    let b = app.browser("admin").await;
    let csrf = b.csrf().await;
    let anon = app.browser("").await;
    let anon_csrf = anon.csrf().await;
    let form_bodies = [
        "".to_string(),
        "username=".to_string(),
        "%ZZ=%ZZ".to_string(),
        "a=1&a=2&a=3".to_string(),
        "family_name=%00".to_string(),
        format!("family_name={}", "x".repeat(1_000_000)),
        "role=administrator&role=nope&username=x%20y&password=1".to_string(),
        "code=UPPER&permission=no.such".to_string(),
        "next=//evil.example&username=a&password=b".to_string(),
    ];
    for body in &form_bodies {
        for path in [
            "/patients/new",
            "/admin/users",
            "/admin/roles",
            "/admin/users/nurse/roles",
            "/admin/roles/nurse",
            "/settings/language",
        ] {
            reqs.push((
                format!("form {path} {}", &body[..body.len().min(30)]),
                b.client
                    .post(app.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("{body}&_csrf={csrf}")),
            ));
        }
        reqs.push((
            format!("form /login {}", &body[..body.len().min(30)]),
            anon.client
                .post(app.url("/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("{body}&_csrf={anon_csrf}")),
        ));
    }
    let mut tally: Tally = (0, 0, 0, 0);
    let mut crashed = Vec::new();
    for (what, req) in reqs {
        let r = req.send().await;
        tally.0 += 1;
        match r {
            Ok(r) => {
                let s = r.status().as_u16();
                match s {
                    200..=399 => tally.1 += 1,
                    400..=499 => tally.2 += 1,
                    _ => {
                        tally.3 += 1;
                        crashed.push(format!(
                            "{what}: {s} {}",
                            r.text()
                                .await
                                .unwrap_or_default()
                                .chars()
                                .take(200)
                                .collect::<String>()
                        ));
                    }
                }
            }
            Err(e) => {
                tally.3 += 1;
                crashed.push(format!("{what}: connection {e}"));
            }
        }
    }
    eprintln!(
        "malformed requests on {:?}: tried {}, accepted {}, refused 4xx {}, 5xx or dropped {}",
        app.backend, tally.0, tally.1, tally.2, tally.3
    );
    assert!(
        crashed.is_empty(),
        "{} answers were 5xx: {crashed:#?}",
        crashed.len()
    );
    assert!(tally.0 >= 300);
    let h: Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    // And it still serves real work (the doctor: the forms above emptied the nurse role).
    let r = app
        .api("doctor")
        .await
        .get(app.url("/api/v1/patients/demo-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
both!(malformed_requests_never_crash_the_server);

mod durability {
    //! kill -9 during a write load on the real binary, on SQLite and on PostgreSQL: every
    //! create the server acknowledged is there after a restart, each with its audit entry.
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    struct Server(Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn bin() -> &'static str {
        env!("CARGO_BIN_EXE_tianshan")
    }

    /// `--database-url URL` for the PostgreSQL run, nothing for SQLite.
    fn db_args(db: Option<&str>) -> Vec<String> {
        db.map(|u| vec!["--database-url".to_string(), u.to_string()])
            .unwrap_or_default()
    }

    fn cli(dir: &Path, db: Option<&str>, args: &[&str]) -> String {
        let out = Command::new(bin())
            .args(args)
            .args(db_args(db))
            .arg("--data-dir")
            .arg(dir)
            .env("TIANSHAN_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tianshan {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    async fn start(dir: &Path, db: Option<&str>, port: u16) -> Server {
        let child = Command::new(bin())
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(db_args(db))
            .arg("--data-dir")
            .arg(dir)
            .env("TIANSHAN_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server(child);
        let started = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn acknowledged_creates_survive_kill_9_with_their_audit_entries() {
        kill_9_during_creates(None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn acknowledged_creates_survive_kill_9_with_their_audit_entries_on_postgres() {
        let admin = crate::helpers::pg_admin_url();
        let name = format!("tianshan_k9_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        ))
        .execute(&pool)
        .await
        .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
        kill_9_during_creates(Some(&format!("{base}/{name}"))).await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }

    async fn kill_9_during_creates(db: Option<&str>) {
        let dir = tempfile::tempdir().unwrap();
        cli(dir.path(), db, &["demo"]);
        let nurse = cli(dir.path(), db, &["token", "create", "--user", "nurse"]);
        let admin = cli(dir.path(), db, &["token", "create", "--user", "admin"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let mut server = start(dir.path(), db, port).await;
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut workers = Vec::new();
        for w in 0..8 {
            let (base, nurse, acked) = (base.clone(), nurse.clone(), acked.clone());
            workers.push(tokio::spawn(async move {
                let c = reqwest::Client::new();
                for i in 0.. {
                    let body = json!({"family_name": "热", "given_name": format!("依拉{w}-{i}"),
                        "sex": "female", "birth_date": "2025-06-01", "org_code": "653121100202"});
                    let r = c
                        .post(format!("{base}/api/v1/patients?confirm_not_duplicate=true"))
                        .bearer_auth(&nurse)
                        .json(&body)
                        .send()
                        .await;
                    let Ok(r) = r else { break };
                    if r.status() != 201 {
                        break;
                    }
                    let Ok(v) = r.json::<Value>().await else {
                        break;
                    };
                    if let Some(id) = v["patient"]["id"].as_str() {
                        acked.lock().unwrap().push(id.to_string());
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        // kill -9, mid-load.
        server.0.kill().unwrap();
        let _ = server.0.wait();
        for w in workers {
            let _ = w.await;
        }
        let acked = acked.lock().unwrap().clone();
        assert!(acked.len() >= 20, "the load ran: {} creates", acked.len());
        drop(server);
        let _server = start(dir.path(), db, port).await;
        let c = reqwest::Client::new();
        let mut missing = Vec::new();
        for id in &acked {
            let r = c
                .get(format!("{base}/api/v1/patients/{id}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            if r.status() != 200 {
                missing.push(format!("{id}: {}", r.status()));
                continue;
            }
            let a: Value = c
                .get(format!("{base}/api/v1/audit?patient_id={id}&action=create"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if a["entries"].as_array().map_or(0, Vec::len) != 1 {
                missing.push(format!("{id}: no create audit entry"));
            }
        }
        eprintln!(
            "kill -9 durability ({}): {} acknowledged creates, {} missing or unaudited",
            if db.is_some() { "PostgreSQL" } else { "SQLite" },
            acked.len(),
            missing.len()
        );
        assert!(missing.is_empty(), "{missing:?}");
    }
}

async fn oversized_bodies_are_refused_with_413(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let mut p = new_patient("买");
    p["address"] = json!("x".repeat(5 * 1024 * 1024));
    let mut answered = 0;
    for (path, ct) in [
        ("/api/v1/patients", "application/json"),
        ("/api/v1/patients/demo-0001", "application/json"),
        ("/fhir/r4/$immds-forecast", "application/fhir+json"),
    ] {
        let req = if path.ends_with("0001") {
            nurse.put(app.url(path))
        } else {
            nurse.post(app.url(path))
        };
        // A reset before the answer is read is a refusal too (the server stops reading).
        if let Ok(r) = req
            .header("content-type", ct)
            .body(p.to_string())
            .send()
            .await
        {
            assert_eq!(r.status(), 413, "{path}");
            answered += 1;
        }
    }
    assert!(answered > 0, "at least one 413 was read");
    let b = app.browser("nurse").await;
    let csrf = b.csrf().await;
    let big = format!("family_name={}&_csrf={csrf}", "x".repeat(5 * 1024 * 1024));
    // The server may answer and close before the client has sent it all: then the client
    // sees a reset, which is a refusal too.
    if let Ok(r) = b
        .client
        .post(app.url("/patients/new"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
    {
        assert!(matches!(r.status().as_u16(), 400 | 413), "{}", r.status());
    }
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
}
both!(oversized_bodies_are_refused_with_413);
