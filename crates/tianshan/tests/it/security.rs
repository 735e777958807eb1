//! Attacks and careless clients, kept out by tests: sign-in throttling, NUL characters, CSRF,
//! headers, limits, malformed requests, kill -9 during writes.
use serde_json::Value;

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
