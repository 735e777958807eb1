//! The overdue list per village doctor: each village's group names the registry's
//! practitioners of the village and of its clinic (JSON, page, CSV, XLSX); a village doctor
//! signed in sees their own village first, or only theirs when their scope is the village;
//! the demo's Jiashi village has its doctor. On both backends.
use serde_json::{json, Value};
use tianshan_platform::users::{create_user, By, NewUser};

use super::{get_json, post_json, VILLAGE};
use crate::both;
use crate::helpers::TestApp;

const TOWNSHIP: &str = "653121100";
/// Another village of the township, whose doctor is attached to the village itself.
const OTHER_VILLAGE: &str = "653121100202";
/// The registry demo's clinic (村卫生室) below the nurse's village.
const VILLAGE_CLINIC: &str = "653121100201-C01";

async fn child_at(app: &TestApp, village: &str, given: &str, phone: &str) -> String {
    let (s, body) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/patients?confirm_not_duplicate=true"),
        json!({"family_name": "追", "given_name": given, "sex": "male", "birth_date": super::days_ago(200),
               "org_code": village, "guardians": [{"name": "追母", "relationship": "mother", "phone": phone}]}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body["patient"]["id"].as_str().unwrap().to_string()
}

async fn doctor(app: &TestApp, id: &str, org: &str, name: &str) {
    let who = tianshan_platform::auth::Principal::cli("test");
    let p = tianshan_registry::facade::ensure_practitioner(
        &app.st,
        &who,
        id,
        org,
        [name, "", ""],
        "乡村医生",
        "全科",
    )
    .await
    .unwrap();
    assert_eq!((p.org_code.as_str(), p.full_name.as_str()), (org, name));
}

async fn user(app: &TestApp, username: &str, scope: &str, display_name: &str) {
    create_user(
        &app.db,
        &tianshan_platform::clock::Clock::system(),
        By::Cli,
        NewUser {
            username,
            password: "tianshan-test",
            roles: vec!["nurse".to_string()],
            scope_code: Some(scope),
            display_name,
            locale: "zh-Hans",
        },
    )
    .await
    .unwrap();
}

fn places(list: &Value) -> Vec<Value> {
    list["places"].as_array().cloned().unwrap_or_default()
}

fn place<'a>(places: &'a [Value], org: &str) -> &'a Value {
    places
        .iter()
        .find(|p| p["org_code"] == org)
        .unwrap_or_else(|| panic!("the list of {org}: {places:?}"))
}

fn doctor_names(p: &Value) -> Vec<String> {
    p["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

async fn overdue_per_village_doctor(app: &TestApp) {
    let here = child_at(app, VILLAGE, "甲", "13900003333").await;
    let there = child_at(app, OTHER_VILLAGE, "乙", "13900004444").await;
    let nurse = app.api("nurse").await;
    let url = app.url(&format!("/api/v1/vaccination/overdue?org={TOWNSHIP}"));

    // Before the registry names a doctor: the groups are there, with no doctor.
    let (s, list) = get_json(&nurse, url.clone()).await;
    assert_eq!(s, 200, "{list}");
    assert!(doctor_names(place(&places(&list), OTHER_VILLAGE)).is_empty());

    // The village's doctor is attached to its clinic; the other village's to the village.
    doctor(app, "pr-test-vd1", VILLAGE_CLINIC, "库尔班·测医").await;
    doctor(app, "pr-test-vd2", OTHER_VILLAGE, "热娜·测医").await;
    // A practitioner of the township's own clinic is no village's doctor.
    doctor(app, "pr-test-tc", "653121100-C01", "王·镇医").await;
    let (s, list) = get_json(&nurse, url.clone()).await;
    assert_eq!(s, 200, "{list}");
    let all = places(&list);
    let mine = place(&all, VILLAGE);
    assert_eq!(doctor_names(mine), vec!["库尔班·测医"], "{mine}");
    assert_eq!(mine["doctors"][0]["org_code"], VILLAGE_CLINIC);
    assert_eq!(mine["doctors"][0]["title"], "乡村医生");
    assert_eq!(mine["mine"], false, "the nurse's scope is the township");
    let kid = mine["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["patient_id"] == here.as_str())
        .expect("the overdue child in its village's list");
    assert_eq!(kid["guardian_phone"], "13900003333");
    let other = place(&all, OTHER_VILLAGE);
    assert_eq!(doctor_names(other), vec!["热娜·测医"], "{other}");
    assert!(other["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["patient_id"] == there.as_str()));
    assert!(!list.to_string().contains("王·镇医"), "{list}");
    let order: Vec<&str> = all
        .iter()
        .map(|p| p["org_code"].as_str().unwrap())
        .collect();
    let (a, b) = (
        order.iter().position(|c| *c == VILLAGE).unwrap(),
        order.iter().position(|c| *c == OTHER_VILLAGE).unwrap(),
    );
    assert!(a < b, "code order for the township nurse: {order:?}");

    // A village doctor whose account covers the township (named as the registry names them):
    // their own village's list comes first.
    user(app, "vd_township", TOWNSHIP, "热娜·测医").await;
    let (s, list) = get_json(&app.api("vd_township").await, url.clone()).await;
    assert_eq!(s, 200, "{list}");
    let all = places(&list);
    assert_eq!(all[0]["org_code"], OTHER_VILLAGE, "{list}");
    assert_eq!(all[0]["mine"], true);
    assert!(all[1..].iter().all(|p| p["mine"] == false));
    assert!(all.iter().any(|p| p["org_code"] == VILLAGE));

    // A village doctor whose scope is the village: only that village's list, marked as theirs;
    // the township's list is out of their scope.
    user(app, "vd_village", VILLAGE, "库尔班·测医").await;
    let vd = app.api("vd_village").await;
    let (s, list) = get_json(
        &vd,
        app.url(&format!("/api/v1/vaccination/overdue?org={VILLAGE}")),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let all = places(&list);
    assert_eq!(all[0]["org_code"], VILLAGE, "{list}");
    assert_eq!(all[0]["mine"], true);
    assert!(!list.to_string().contains(&there), "only their village");
    let (s, _) = get_json(&vd, url.clone()).await;
    assert_eq!(s, 404, "the township is outside a village's scope");
    // Their page opens on their own village without choosing, naming them.
    let html = vd
        .get(app.url("/vaccination/overdue"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = html
        .split(&format!("id=\"place-{VILLAGE}\""))
        .nth(1)
        .expect("the village's group on the page")
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        section.contains("库尔班·测医") && section.contains("id=\"mine\""),
        "{section}"
    );
    assert!(section.contains(&format!("id=\"od-{here}\"")), "{section}");

    // The page of the township, as the nurse: one group per village, each naming its doctor.
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/overdue?org={TOWNSHIP}"))
        .await
        .text()
        .await
        .unwrap();
    let section = html
        .split(&format!("id=\"place-{OTHER_VILLAGE}\""))
        .nth(1)
        .expect("the other village's group")
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        section.contains("热娜·测医") && section.contains(&there),
        "{section}"
    );
    assert!(!section.contains(&here), "{section}");

    // CSV and XLSX: each line names the village and its doctor(s).
    let b = app.browser("nurse").await;
    let csv = b
        .get(&format!("/vaccination/overdue.csv?org={TOWNSHIP}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}village,village_doctors,patient_id,name"),
        "{csv}"
    );
    let line = csv.lines().find(|l| l.contains(&there)).unwrap();
    assert!(
        line.contains("热娜·测医 (乡村医生)") && line.contains("13900004444"),
        "{line}"
    );
    let x = b
        .get(&format!("/vaccination/overdue.xlsx?org={TOWNSHIP}"))
        .await;
    assert_eq!(x.status(), 200);
    let bytes = x.bytes().await.unwrap();
    let table = tianshan_platform::tabular::read(&bytes, "overdue.xlsx").unwrap();
    let row = table
        .rows
        .iter()
        .find(|r| table.get(r, "patient_id") == here)
        .expect("the child's row in the spreadsheet");
    assert_eq!(table.get(row, "village_doctors"), "库尔班·测医 (乡村医生)");
    assert_eq!(table.get(row, "guardian_phone"), "13900003333");
}
both!(overdue_per_village_doctor);

/// The demo's Jiashi village has its village doctor, named on its overdue list.
async fn demo_jiashi_village_doctor(app: &TestApp) {
    let (s, list) = get_json(
        &app.api("admin").await,
        app.url("/api/v1/vaccination/overdue?org=653129100201"),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let all = places(&list);
    let p = place(&all, "653129100201");
    assert_eq!(doctor_names(p), vec!["阿不都热西提·吐尔逊"], "{p}");
    assert!(!p["children"].as_array().unwrap().is_empty());
    let html = app
        .browser("admin")
        .await
        .get("/vaccination/overdue?org=653129100201")
        .await
        .text()
        .await
        .unwrap();
    let section = html
        .split("id=\"place-653129100201\"")
        .nth(1)
        .expect("the village's group on the page")
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        section.contains("阿不都热西提·吐尔逊") && section.contains("od-doctor"),
        "{section}"
    );
}
both!(demo_jiashi_village_doctor);
