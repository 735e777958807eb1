//! Expert missions and talent development: a department's need and a rear hospital's offer
//! ranked on the coordinator's board, turned into a mission in one action, its day log and
//! report; a mentorship signed off only by the mentor; a department request answered and
//! closed with its response time; needs and day logs through CSV and XLSX; scope refusals on
//! pages and API. The coordinator's path in Chromium at phone width is the browser test.
use serde_json::{json, Value};
use tianshan_platform::audit::{list, Filter};

use crate::both;
use crate::helpers::TestApp;

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = client.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn day(app: &TestApp, offset: i64) -> String {
    (app.st.clock.now().date() + time::Duration::days(offset)).to_string()
}

fn field_error(body: &Value, field: &str) -> String {
    body["error"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|e| e["field"] == field))
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no error on {field}: {body}"))
}

async fn audit_actions(app: &TestApp, entity_type: &str) -> Vec<(String, String, String)> {
    let f = Filter {
        entity_type: Some(entity_type.to_string()),
        ..Default::default()
    };
    list(&app.db, &f, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.username, e.action, e.entity_id))
        .collect()
}

mod browser;
mod decade;
mod documents;
mod files;
mod flows;
mod register;
mod roster;
