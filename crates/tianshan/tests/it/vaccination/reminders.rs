//! Reminders to guardians through the outbound webhook, delivered by the platform's outbox
//! worker code to a real HTTP receiver started here: queued, retrying after the gateway's
//! refusal (with its reason), sent, failed when no gateway is configured; once a day per child.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use tianshan_platform::clock::Clock;
use tianshan_platform::outbox;

use super::{get_json, infant, post_json, VILLAGE};
use crate::both;
use crate::helpers::{audit_for, TestApp};

#[derive(Clone, Default)]
struct Gateway {
    refuse: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<(Value, String)>>>,
}

async fn receive(State(g): State<Gateway>, headers: HeaderMap, body: String) -> StatusCode {
    if g.refuse.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let sig = headers
        .get("x-tianshan-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    g.received
        .lock()
        .unwrap()
        .push((serde_json::from_str(&body).unwrap_or(Value::Null), sig));
    StatusCode::OK
}

async fn start_gateway() -> (String, Gateway) {
    let g = Gateway::default();
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/sms"), g)
}

async fn deliver(app: &TestApp, minutes_ahead: i64) -> usize {
    let clock = Clock::fixed(Clock::system().now() + time::Duration::minutes(minutes_ahead));
    outbox::deliver_due(&app.db, &clock, &reqwest::Client::new())
        .await
        .unwrap()
}

async fn state_of(app: &TestApp, kid: &str) -> Value {
    let (s, list) = get_json(
        &app.api("nurse").await,
        app.url(&format!("/api/v1/vaccination/reminders?org={VILLAGE}")),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    list["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["patient_id"] == kid)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn reminders_through_the_gateway(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let (url, gw) = start_gateway().await;
    outbox::set_route(
        &app.db,
        &Clock::system(),
        "vaccination.reminder",
        &url,
        "s3cret",
    )
    .await
    .unwrap();
    gw.refuse.store(true, Ordering::SeqCst);
    let kid = infant(app, "提", 200).await;
    let (s, r) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/reminders"),
        json!({"org_code": VILLAGE}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let mine = r["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["patient_id"] == kid.as_str())
        .expect("the overdue child is reminded");
    assert_eq!(
        (&mine["state"], &mine["phone"]),
        (&json!("queued"), &json!("13900001111"))
    );
    assert!(mine["overdue"].as_str().unwrap().contains("HepB"));

    // The gateway refuses: retried later, with its answer as the reason.
    deliver(app, 0).await;
    let st = state_of(app, &kid).await;
    assert_eq!(
        (&st["state"], &st["attempts"]),
        (&json!("retrying"), &json!(1)),
        "{st}"
    );
    assert!(st["reason"].as_str().unwrap().contains("503"), "{st}");
    assert!(gw.received.lock().unwrap().is_empty());
    // Not before its back-off; then the gateway takes it.
    gw.refuse.store(false, Ordering::SeqCst);
    deliver(app, 0).await;
    assert_eq!(state_of(app, &kid).await["state"], "retrying");
    assert!(deliver(app, 3).await >= 1);
    let st = state_of(app, &kid).await;
    assert_eq!(
        (&st["state"], &st["reason"]),
        (&json!("sent"), &json!("")),
        "{st}"
    );
    assert!(st["sent_at"].is_string());
    let got = gw.received.lock().unwrap().clone();
    let (body, sig) = got
        .iter()
        .find(|(b, _)| {
            b["payload"]["to"] == "13900001111"
                && b["payload"]["text"].as_str().unwrap_or("").contains("提")
        })
        .expect("the gateway received the reminder");
    assert_eq!(body["topic"], "vaccination.reminder");
    assert!(sig.starts_with("sha256=") && sig.len() == 71, "{sig}");
    let audit = audit_for(app, &kid).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.1 == "vaccination.reminder")
            .count(),
        1
    );

    // Once a day: a second round leaves the child out. With no gateway: failed, with why.
    outbox::set_route(&app.db, &Clock::system(), "vaccination.reminder", "", "")
        .await
        .unwrap();
    let other = infant(app, "醒", 200).await;
    let (s, r) = post_json(
        &nurse,
        app.url("/api/v1/vaccination/reminders"),
        json!({"org_code": VILLAGE}),
    )
    .await;
    assert_eq!(s, 201);
    let ids: Vec<&str> = r["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["patient_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&other.as_str()) && !ids.contains(&kid.as_str()),
        "{ids:?}"
    );
    deliver(app, 0).await;
    let st = state_of(app, &other).await;
    assert_eq!(st["state"], "failed", "{st}");
    assert!(
        st["reason"].as_str().unwrap().contains("no gateway"),
        "{st}"
    );

    // Bad input and scope: nothing queued.
    let before = outbox::recent(&app.db, "vaccination.reminder", 500)
        .await
        .unwrap()
        .len();
    for (body, code) in [
        (json!({"org_code": ""}), 422),
        (json!({"org_code": "653122100"}), 404),
    ] {
        let (s, e) = post_json(&nurse, app.url("/api/v1/vaccination/reminders"), body).await;
        assert_eq!(s, code, "{e}");
    }
    let (s, _) = post_json(
        &app.api("partner").await,
        app.url("/api/v1/vaccination/reminders"),
        json!({"org_code": VILLAGE}),
    )
    .await;
    assert_eq!(s, 403);
    let after = outbox::recent(&app.db, "vaccination.reminder", 500)
        .await
        .unwrap()
        .len();
    assert_eq!(before, after);

    // The overdue page shows the reminders with their state.
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/overdue?org={VILLAGE}"))
        .await
        .text()
        .await
        .unwrap();
    let row = html
        .split(&format!("id=\"rem-{kid}\""))
        .nth(1)
        .expect("reminder row");
    assert!(
        row.split("</tr>").next().unwrap().contains("rem-sent"),
        "{row}"
    );
    // And the child's page, with the reason of a failure.
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/children/{other}"))
        .await
        .text()
        .await
        .unwrap();
    let list = html
        .split("id=\"child-reminders\">")
        .nth(1)
        .expect("the child's reminders");
    let list = list.split("</ul>").next().unwrap();
    assert!(
        list.contains("rem-failed") && list.contains("no gateway"),
        "{list}"
    );
}
both!(reminders_through_the_gateway);
