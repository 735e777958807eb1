//! Coverage and moved-in children (流动儿童) registered elsewhere: a child counts once, at the
//! organisation the registry registers them at. Recorded as moved in while their record is
//! only shared with the clinic, they still count where they are registered; once the record
//! is transferred to the village, they count in the village and no longer at home. On both
//! backends.
use serde_json::{json, Value};

use super::{get_json, post_json, VILLAGE};
use crate::both;
use crate::helpers::TestApp;

/// A Shule county village (another county than the nurse's township).
const SHULE_VILLAGE: &str = "653122100201";
const COHORT: i64 = 2019;

/// A resident ID number with its check character (GB 11643).
fn resident_id(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize])
}

/// The cohort's child count of a place, as `user` reads the coverage report.
async fn counted(app: &TestApp, user: &str, org: &str) -> i64 {
    let (s, r) = get_json(
        &app.api(user).await,
        app.url(&format!(
            "/api/v1/vaccination/coverage?org={org}&from_year={COHORT}&to_year={COHORT}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let total = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["cohort"] == COHORT && x["total"] == true)
        .unwrap_or_else(|| panic!("no total row: {r}"));
    total["children"].as_i64().unwrap()
}

async fn request(app: &TestApp, body: Value) -> String {
    let (s, req) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/patient-requests"),
        body,
    )
    .await;
    assert_eq!(s, 201, "{req}");
    let rid = req["id"].as_str().unwrap().to_string();
    let (s, done) = post_json(
        &app.api("coordinator").await,
        app.url(&format!("/api/v1/patient-requests/{rid}/approve")),
        json!({"note": "ok"}),
    )
    .await;
    assert_eq!((s, &done["status"]), (200, &json!("approved")), "{done}");
    rid
}

async fn moved_in_child_counts_where_registered(app: &TestApp) {
    let idn = resident_id("65312220190601123");
    let (s, child) = post_json(
        &app.api("admin").await,
        app.url("/api/v1/patients"),
        json!({"family_name": "流", "given_name": "动", "sex": "male", "id_number": idn,
               "birth_date": "2019-06-01", "org_code": SHULE_VILLAGE, "ethnicity": "05"}),
    )
    .await;
    assert_eq!(s, 201, "{child}");
    let kid = child["patient"]["id"].as_str().unwrap().to_string();
    let (village0, shule0) = (
        counted(app, "nurse", VILLAGE).await,
        counted(app, "coordinator", SHULE_VILLAGE).await,
    );
    assert!(shule0 >= 1, "the child counts at home");

    // Shared with the nurse's township and recorded as moved in: still counted once, at home.
    request(
        app,
        json!({"id_number": idn, "kind": "share", "reason": "The family moved to the township."}),
    )
    .await;
    let (s, r) = post_json(
        &app.api("nurse").await,
        app.url(&format!("/api/v1/vaccination/children/{kid}/residence")),
        json!({"status": "moved_in", "since": super::days_ago(30)}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(counted(app, "nurse", VILLAGE).await, village0);
    assert_eq!(counted(app, "coordinator", SHULE_VILLAGE).await, shule0);
    // The county of the coordinator's region counts the child once, not twice.
    let region = counted(app, "coordinator", "653100").await;

    // Transferred to the village: counted there, no longer at home, still once in the region.
    request(
        app,
        json!({"id_number": idn, "kind": "transfer", "org_code": VILLAGE,
               "reason": "The family lives in the village now."}),
    )
    .await;
    assert_eq!(counted(app, "nurse", VILLAGE).await, village0 + 1);
    assert_eq!(counted(app, "coordinator", SHULE_VILLAGE).await, shule0 - 1);
    assert_eq!(counted(app, "coordinator", "653100").await, region);

    // Recorded as moved out again: left out of every place.
    let (s, r) = post_json(
        &app.api("nurse").await,
        app.url(&format!("/api/v1/vaccination/children/{kid}/residence")),
        json!({"status": "moved_out", "since": super::days_ago(1)}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(counted(app, "nurse", VILLAGE).await, village0);
    assert_eq!(counted(app, "coordinator", "653100").await, region - 1);

    // The coverage page states the rule.
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/coverage?org={VILLAGE}"))
        .await
        .text()
        .await
        .unwrap();
    let rule = html
        .split("id=\"coverage-rule\">")
        .nth(1)
        .expect("the rule on the page")
        .split("</p>")
        .next()
        .unwrap();
    assert!(
        !rule.contains("vacc.cov.rule") && rule.chars().count() > 20,
        "{rule}"
    );
}
both!(moved_in_child_counts_where_registered);
