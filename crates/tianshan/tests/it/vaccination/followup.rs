//! Coverage per birth cohort with hand-checked figures (JSON, file, page), and the overdue list
//! and residence history over the JSON API, on both backends.
use serde_json::{json, Value};

use super::{get_json, post_json, VILLAGE};
use crate::both;
use crate::helpers::TestApp;

/// A village of the demo nurse's township with no children born in 2018 but these.
const COV_VILLAGE: &str = "653121100202";
const TOWNSHIP: &str = "653121100";

async fn child(app: &TestApp, given: &str, born: &str) -> String {
    let (s, body) = post_json(
        &app.api("nurse").await,
        app.url("/api/v1/patients?confirm_not_duplicate=true"),
        json!({"family_name": "覆", "given_name": given, "sex": "male", "birth_date": born,
               "org_code": COV_VILLAGE, "guardians": [{"name": "覆母", "relationship": "mother", "phone": "13900002222"}]}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body["patient"]["id"].as_str().unwrap().to_string()
}

async fn doses(app: &TestApp, kid: &str, list: &[(&str, &str)]) {
    let nurse = app.api("nurse").await;
    for (product, on) in list {
        let (s, e) = post_json(
            &nurse,
            app.url("/api/v1/vaccination/doses"),
            json!({"patient_id": kid, "product_code": product, "elsewhere": true, "given_on": on}),
        )
        .await;
        assert_eq!(s, 201, "{product} {on}: {e}");
    }
}

fn row<'a>(report: &'a Value, cohort: i64, org: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cohort"] == cohort && r["org_code"] == org)
        .unwrap_or_else(|| panic!("no row {cohort} {org}: {report}"))
}

fn dose<'a>(row: &'a Value, antigen: &str, n: i64) -> &'a Value {
    row["doses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["antigen"] == antigen && d["dose"] == n)
        .unwrap()
}

/// Three children born in 2018 (one moved out) and one born in 2019, counted on 2021-01-01:
/// A has every dose due before 12 months on time, B only HepB 1 (day 5: late) and DTaP 1.
async fn coverage_by_cohort(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let a = child(app, "甲", "2018-03-10").await;
    doses(
        app,
        &a,
        &[
            ("BCG", "2018-03-10"),
            ("HepB", "2018-03-10"),
            ("HepB", "2018-04-10"),
            ("IPV", "2018-05-10"),
            ("bOPV", "2018-06-10"),
            ("DTaP", "2018-06-10"),
            ("bOPV", "2018-07-10"),
            ("DTaP", "2018-07-10"),
            ("DTaP", "2018-08-10"),
            ("HepB", "2018-09-10"),
            ("MPSV-A", "2018-09-10"),
            ("MMR", "2018-11-10"),
            ("JE-L", "2018-11-10"),
            ("MPSV-A", "2018-12-10"),
        ],
    )
    .await;
    let b = child(app, "乙", "2018-05-20").await;
    doses(app, &b, &[("HepB", "2018-05-25"), ("DTaP", "2018-09-01")]).await;
    let c = child(app, "丙", "2018-12-01").await;
    doses(app, &c, &[("DTaP", "2019-03-01")]).await;
    let r = app
        .browser("nurse")
        .await
        .post_form(
            &format!("/vaccination/children/{c}/residence"),
            &[("status", "moved_out"), ("since", "2020-01-01")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let d = child(app, "丁", "2019-01-05").await;
    doses(app, &d, &[("HepB", "2019-01-05")]).await;

    let q = "from_year=2018&to_year=2018&as_of=2021-01-01";
    let (s, rep) = get_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/coverage?org={COV_VILLAGE}&{q}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(rep["rows"].as_array().unwrap().len(), 1, "{rep}");
    let v = row(&rep, 2018, COV_VILLAGE);
    assert_eq!(v["total"], true);
    assert_eq!(v["name"], "托万克村");
    assert_eq!(
        (&v["children"], &v["reached_12"], &v["reached_24"]),
        (&json!(2), &json!(2), &json!(2)),
        "the moved-out child and the 2019 child are not counted: {v}"
    );
    let hepb1 = dose(v, "HepB", 1);
    assert_eq!(
        (&hepb1["by_12"], &hepb1["by_12_pct"]),
        (&json!(2), &json!(100.0))
    );
    assert_eq!(
        (&hepb1["given"], &hepb1["on_time"], &hepb1["on_time_pct"]),
        (&json!(2), &json!(1), &json!(50.0)),
        "B's first hepatitis B dose on day 5 is late"
    );
    let dtap1 = dose(v, "DTaP", 1);
    assert_eq!(dtap1["on_time_pct"], 100.0, "{dtap1}");
    let dtap3 = dose(v, "DTaP", 3);
    assert_eq!(
        (&dtap3["by_12"], &dtap3["by_12_pct"]),
        (&json!(1), &json!(50.0))
    );
    let dtap4 = dose(v, "DTaP", 4);
    assert_eq!(
        (&dtap4["by_24"], &dtap4["by_24_pct"]),
        (&json!(0), &json!(0.0))
    );
    assert_eq!(
        (&v["fully_12"], &v["fully_12_pct"]),
        (&json!(1), &json!(50.0))
    );
    assert_eq!(
        (&v["fully_24"], &v["fully_24_pct"]),
        (&json!(0), &json!(0.0))
    );
    let drop = &v["dropouts"][0];
    assert_eq!(
        (
            &drop["antigen"],
            &drop["started"],
            &drop["completed"],
            &drop["dropout_pct"]
        ),
        (&json!("DTaP"), &json!(2), &json!(1), &json!(50.0))
    );
    // Before B's first birthday only A counts by 12 months.
    let (_, early) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/coverage?org={COV_VILLAGE}&from_year=2018&to_year=2018&as_of=2019-04-01")),
    )
    .await;
    let v = row(&early, 2018, COV_VILLAGE);
    assert_eq!(
        (&v["reached_12"], &v["fully_12_pct"]),
        (&json!(1), &json!(100.0)),
        "{v}"
    );

    // By township and by county: the village is a row of the township; the county row holds it.
    let (s, rep) = get_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/coverage?org={TOWNSHIP}&level=village&{q}"
        )),
    )
    .await;
    assert_eq!(s, 200, "{rep}");
    let v = row(&rep, 2018, COV_VILLAGE);
    assert_eq!((&v["total"], &v["children"]), (&json!(false), &json!(2)));
    let t = row(&rep, 2018, TOWNSHIP);
    assert!(
        t["total"] == true && t["children"].as_i64().unwrap() >= 2,
        "{t}"
    );
    let (s, rep) = get_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/coverage?org={TOWNSHIP}&level=township&{q}"
        )),
    )
    .await;
    assert_eq!(s, 200);
    assert!(rep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["org_code"] != COV_VILLAGE));

    // Bad input: 422 with the field named; out of scope: 404.
    for bad in [
        "level=planet",
        "from_year=2020&to_year=2018",
        "as_of=2021-13-01",
        "from_year=2000&to_year=2020",
    ] {
        let (s, e) = get_json(
            &nurse,
            app.url(&format!(
                "/api/v1/vaccination/coverage?org={COV_VILLAGE}&{bad}"
            )),
        )
        .await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (s, _) = get_json(
        &app.api("official").await,
        app.url(&format!(
            "/api/v1/vaccination/coverage?org={COV_VILLAGE}&{q}"
        )),
    )
    .await;
    assert_eq!(s, 404, "the Hami official sees no Kashgar village");

    // The file: one line per measure with numerator, denominator and percent.
    let csv = nurse
        .get(app.url(&format!(
            "/api/v1/vaccination/coverage/export?org={COV_VILLAGE}&{q}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}cohort,org_code,name,measure"),
        "{csv}"
    );
    assert!(
        csv.contains("2018,653121100202,托万克村,DTaP3 by 12m,1,2,50.0,1"),
        "{csv}"
    );
    assert!(csv.contains("fully immunised by 12m,1,2,50.0,1"), "{csv}");
    let x = nurse
        .get(app.url(&format!(
            "/api/v1/vaccination/coverage/export?org={COV_VILLAGE}&{q}&format=xlsx"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));

    // The page.
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/coverage?org={COV_VILLAGE}&{q}"))
        .await
        .text()
        .await
        .unwrap();
    let card = html
        .split(&format!("id=\"cov-2018-{COV_VILLAGE}\""))
        .nth(1)
        .expect("the cohort's card");
    assert!(
        card.contains("托万克村") && card.contains("(50%)"),
        "{card}"
    );
    assert!(html.contains("coverage-xlsx"));
}
both!(coverage_by_cohort);

/// The overdue list per village doctor over the JSON API (a township's villages, the guardian's
/// phone), and a child's residence history.
async fn overdue_and_residence_api(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let kid = super::infant(app, "癸", 200).await;
    let res = app.url(&format!("/api/v1/vaccination/children/{kid}/residence"));
    for bad in [
        json!({"status": "gone", "since": "2025-01-01"}),
        json!({"status": "moved_in", "since": "2999-01-01"}),
        json!({}),
    ] {
        let (s, e) = post_json(&nurse, res.clone(), bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (s, r) = post_json(
        &nurse,
        res,
        json!({"status": "moved_in", "since": super::days_ago(20), "note": "随父母迁入"}),
    )
    .await;
    assert_eq!((s, &r["status"]), (201, &json!("moved_in")), "{r}");
    let (s, list) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/overdue?org={TOWNSHIP}")),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let place = list["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["org_code"] == VILLAGE)
        .expect("the village's list");
    let c = place["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["patient_id"] == kid.as_str())
        .expect("the overdue child");
    assert_eq!(c["guardian_phone"], "13900001111");
    assert_eq!(c["residence"], "moved_in");
    assert!(c["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o.as_str().unwrap().starts_with("HepB")));
    let x = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/overdue.xlsx?org={VILLAGE}"))
        .await;
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"), "an XLSX file");
    let (s, h) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{kid}/residence")),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(h["history"][0]["status"], "moved_in");
    assert_eq!(
        h["history"].as_array().unwrap().len(),
        1,
        "bad input wrote nothing: {h}"
    );
    let (s, _) = get_json(&nurse, app.url("/api/v1/vaccination/overdue?org=653122100")).await;
    assert_eq!(s, 404, "a Shule township is out of scope");
    let (s, _) = get_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/children/{}/residence",
            super::SHULE_CHILD
        )),
    )
    .await;
    assert_eq!(s, 404);
}
both!(overdue_and_residence_api);

/// The birth facility of a child: a hospital of the network or a place in words; a village or
/// nothing is refused with nothing written; out of scope 404; shown on the child's page.
async fn birth_facility(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let kid = super::infant(app, "生", 30).await;
    let url = app.url(&format!(
        "/api/v1/vaccination/children/{kid}/birth-facility"
    ));
    for bad in [json!({"code": VILLAGE}), json!({}), json!({"code": "NOPE"})] {
        let (s, e) = post_json(&nurse, url.clone(), bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (_, r) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{kid}")),
    )
    .await;
    assert!(r["birth_facility"].is_null(), "nothing written: {r}");
    let (s, f) = post_json(&nurse, url.clone(), json!({"code": "653100-H01"})).await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["code"], "653100-H01");
    let (s, f) = post_json(&nurse, url.clone(), json!({"name": "在家分娩"})).await;
    assert_eq!(
        (s, &f["code"], &f["name"]),
        (200, &json!(""), &json!("在家分娩"))
    );
    let (_, r) = get_json(
        &nurse,
        app.url(&format!("/api/v1/vaccination/children/{kid}")),
    )
    .await;
    assert_eq!(r["birth_facility"]["name"], "在家分娩");
    let (s, _) = post_json(
        &nurse,
        app.url(&format!(
            "/api/v1/vaccination/children/{}/birth-facility",
            super::SHULE_CHILD
        )),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let audit = crate::helpers::audit_for(app, &kid).await;
    assert_eq!(
        audit.iter().filter(|e| e.1 == "vaccination.child").count(),
        2
    );
    let html = app
        .browser("nurse")
        .await
        .get(&format!("/vaccination/children/{kid}"))
        .await
        .text()
        .await
        .unwrap();
    let dd = html.split("id=\"birth-facility\">").nth(1).unwrap();
    assert!(dd.split("</dd>").next().unwrap().contains("在家分娩"));
}
both!(birth_facility);

/// The demo's coverage tables: the nurse's township, the last five birth years by default.
async fn demo_coverage(app: &TestApp) {
    let (s, rep) = get_json(
        &app.api("nurse").await,
        app.url("/api/v1/vaccination/coverage"),
    )
    .await;
    assert_eq!(s, 200, "{rep}");
    assert_eq!(
        (&rep["org_code"], &rep["level"]),
        (&json!(TOWNSHIP), &json!("village"))
    );
    let counted: i64 = rep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["total"] == true)
        .map(|r| r["children"].as_i64().unwrap())
        .sum();
    assert!(counted > 0, "{rep}");
    let html = app
        .browser("nurse")
        .await
        .get("/vaccination/coverage")
        .await;
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().contains("coverage-csv"));
}
both!(demo_coverage);

/// Doses given elsewhere as FHIR Immunization NDJSON (the platform's import): a file with a bad
/// line names it and writes nothing; the corrected file comes in, once.
async fn immunization_ndjson_import(app: &TestApp) {
    use tianshan_platform::auth::{identity_by_username, Channel, Principal};
    use tianshan_platform::import;
    let id = identity_by_username(&app.db, "nurse")
        .await
        .unwrap()
        .unwrap();
    let who = Principal::from_identity(&id, Channel::Cli, "", "test");
    let kid = super::infant(app, "导", 120).await;
    let imm = |cvx: &str, date: &str| {
        json!({"resourceType": "Immunization", "status": "completed",
               "patient": {"reference": format!("Patient/{kid}")},
               "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
               "occurrenceDateTime": date})
        .to_string()
    };
    let (d1, d2) = (super::days_ago(119), super::days_ago(88));
    let bad = [imm("08", &d1), imm("08", "not-a-date")].join("\n");
    let no_progress = |_: usize, _: usize| {};
    let err = import::ndjson(&app.st, &who, bad.as_bytes(), false, &no_progress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, tianshan_platform::AppError::InEntry(2, _)),
        "{err:?}"
    );
    let url = app.url(&format!("/api/v1/vaccination/doses?patient={kid}"));
    let nurse = app.api("nurse").await;
    let (_, d) = get_json(&nurse, url.clone()).await;
    assert_eq!(
        d["doses"].as_array().unwrap().len(),
        0,
        "nothing half-imported"
    );
    let good = [imm("08", &d1), imm("08", &d2)].join("\n");
    let out = import::ndjson(&app.st, &who, good.as_bytes(), false, &no_progress)
        .await
        .unwrap();
    assert_eq!(out.created.get("Immunization"), Some(&2), "{out:?}");
    let (_, d) = get_json(&nurse, url).await;
    assert_eq!(d["doses"].as_array().unwrap().len(), 2);
}
both!(immunization_ndjson_import);
