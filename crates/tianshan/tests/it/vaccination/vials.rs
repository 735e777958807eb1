//! Opened multi-dose vials: the first dose opens a vial, later doses use it (two stations at
//! once included), an opened vial past its hours is wasted with its doses left and a reason,
//! and the lot's count says so; a bad policy is refused with nothing written.
use serde_json::{json, Value};
use tianshan_platform::auth::Principal;
use tianshan_platform::clock::Clock;

use super::{get_json, infant, lot_quantity, post_json, CLINIC, FAR};
use crate::both;
use crate::helpers::TestApp;

async fn bcg_lot(app: &TestApp, lot_no: &str, qty: i64, policy: Value) -> (u16, Value) {
    let mut body = json!({"org_code": CLINIC, "product_code": "BCG", "lot_no": lot_no, "quantity": qty,
        "expiry": FAR, "doses_per_vial": 10});
    for (k, v) in policy.as_object().unwrap() {
        body[k] = v.clone();
    }
    post_json(
        &app.api("nurse").await,
        app.url("/api/v1/vaccination/lots"),
        body,
    )
    .await
}

async fn vials(app: &TestApp, lot: &str) -> Vec<Value> {
    let (s, v) = get_json(
        &app.api("nurse").await,
        app.url(&format!("/api/v1/vaccination/lots/{lot}/vials")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["vials"].as_array().unwrap().clone()
}

async fn give(app: &TestApp, c: &reqwest::Client, kid: &str, lot_no: &str) -> (u16, Value) {
    post_json(
        c,
        app.url("/api/v1/vaccination/doses"),
        json!({"patient_id": kid, "lot_no": lot_no, "site": "LA", "org_code": CLINIC}),
    )
    .await
}

async fn opened_vials(app: &TestApp) {
    // Bad policies: 422, no lot.
    for bad in [
        json!({"open_policy": "weekly"}),
        json!({"open_policy": "hours", "open_hours": 0}),
    ] {
        let (s, e) = bcg_lot(app, "BCG-BAD", 20, bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (_, lots) = get_json(&app.api("nurse").await, app.url("/api/v1/vaccination/lots")).await;
    assert!(!lots.to_string().contains("BCG-BAD"));

    let (s, l) = bcg_lot(
        app,
        "BCG-V1",
        25,
        json!({"open_policy": "hours", "open_hours": 4}),
    )
    .await;
    assert_eq!(s, 201, "{l}");
    assert_eq!(
        (&l["open_policy"], &l["open_hours"]),
        (&json!("hours"), &json!(4))
    );
    let lot = l["id"].as_str().unwrap().to_string();
    let nurse = app.api("nurse").await;
    let mut kids = Vec::new();
    for (i, given) in ["一", "二", "三"].iter().enumerate() {
        kids.push(infant(app, given, 3 + i as i64).await);
    }
    for k in &kids {
        let (s, d) = give(app, &nurse, k, "BCG-V1").await;
        assert_eq!(s, 201, "{d}");
    }
    assert_eq!(lot_quantity(app, &lot).await.0, 22);
    let v = vials(app, &lot).await;
    assert_eq!(v.len(), 1, "one vial opened for three doses: {v:?}");
    assert_eq!(
        (&v[0]["status"], &v[0]["doses_left"]),
        (&json!("open"), &json!(7))
    );

    // The sweep at +3 h leaves it; at +5 h the seven doses left are wasted, with the reason.
    let later = |h: i64| {
        let mut st = app.st.clone();
        st.clock = Clock::fixed(Clock::system().now() + time::Duration::hours(h));
        st
    };
    let who = Principal::cli("vials");
    assert_eq!(
        tianshan_vaccination::service::expire_vials(&later(3), &who)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        tianshan_vaccination::service::expire_vials(&later(5), &who)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tianshan_vaccination::service::expire_vials(&later(6), &who)
            .await
            .unwrap(),
        0,
        "once"
    );
    assert_eq!(lot_quantity(app, &lot).await.0, 15);
    let v = vials(app, &lot).await;
    assert_eq!(
        (v.len(), &v[0]["status"], &v[0]["reason"]),
        (1, &json!("wasted"), &json!("vial_expired_hours"))
    );
    let moves: Vec<(String, i64, String)> = tianshan_platform::with_db!(&app.db, pool => sqlx::query_as::<_, (String, i64, String)>(
        "SELECT kind, delta, reason FROM vaccination_stock_moves WHERE lot_id = $1 AND kind = 'wastage'")
        .bind(&lot).fetch_all(pool).await).unwrap();
    assert_eq!(
        moves,
        vec![("wastage".to_string(), -7, "vial_expired_hours".to_string())]
    );

    // The next dose opens a new vial. Then two stations at once, ten doses: one vial at a
    // time, never two open, the count exact.
    let (s, d) = give(app, &nurse, &kids[0], "BCG-V1").await;
    assert_eq!(s, 201, "{d}");
    let v = vials(app, &lot).await;
    let open: Vec<&Value> = v.iter().filter(|x| x["status"] == "open").collect();
    assert_eq!(
        (v.len(), open.len(), &open[0]["doses_left"]),
        (2, 1, &json!(9))
    );
    let (a, b) = (app.api("nurse").await, app.api("nurse").await);
    let mut more = Vec::new();
    for i in 0..10 {
        more.push(infant(app, &format!("并{i}"), 5).await);
    }
    let (ra, rb) = tokio::join!(
        async {
            let mut out = Vec::new();
            for k in &more[..5] {
                out.push(give(app, &a, k, "BCG-V1").await.0);
            }
            out
        },
        async {
            let mut out = Vec::new();
            for k in &more[5..] {
                out.push(give(app, &b, k, "BCG-V1").await.0);
            }
            out
        },
    );
    assert!(ra.iter().chain(&rb).all(|s| *s == 201), "{ra:?} {rb:?}");
    assert_eq!(lot_quantity(app, &lot).await.0, 4);
    let v = vials(app, &lot).await;
    let open: Vec<&Value> = v.iter().filter(|x| x["status"] == "open").collect();
    assert_eq!(open.len(), 1, "{v:?}");
    // Nine doses emptied the open vial; the tenth opened one holding the last five of the lot.
    assert_eq!(open[0]["doses_left"], 4, "{v:?}");
    assert_eq!(v.iter().filter(|x| x["status"] == "used").count(), 1);
    // The stock page shows the open vial with its doses left.
    let html = app
        .browser("nurse")
        .await
        .get("/vaccination/stock")
        .await
        .text()
        .await
        .unwrap();
    let vial = html
        .split("id=\"vial-BCG-V1\">")
        .nth(1)
        .expect("the open vial on the stock page");
    assert!(
        vial.split("</span>").next().unwrap().contains('4'),
        "{vial}"
    );
}
both!(opened_vials);
