//! Check-ins at four stations of one clinic at the same moment: every child gets a queue
//! number, no number twice (PostgreSQL's concurrent transactions once drew the same one).
use serde_json::json;

use super::{infant, post_json, CLINIC};
use crate::both;
use crate::helpers::TestApp;

async fn concurrent_check_ins(app: &TestApp) {
    let mut kids = Vec::new();
    for i in 0..12 {
        kids.push(infant(app, &format!("号{i}"), 60).await);
    }
    let mut tasks = Vec::new();
    for (s, part) in kids.chunks(3).enumerate() {
        let client = app.api("nurse").await;
        let url = app.url("/api/v1/vaccination/visits");
        let part = part.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for kid in part {
                let (code, v) = post_json(
                    &client,
                    url.clone(),
                    json!({"clinic_code": CLINIC, "patient_id": kid}),
                )
                .await;
                assert_eq!(code, 201, "station {s}: {v}");
                out.push(v["queue_no"].as_i64().unwrap());
            }
            out
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.extend(t.await.unwrap());
    }
    let n = numbers.len();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        n,
        "a queue number was drawn twice: {numbers:?}"
    );
}
both!(concurrent_check_ins);
