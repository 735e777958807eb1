//! The JSON API: scopes for every role, permissions, audit entries, errors, duplicates.
use serde_json::{json, Value};

use crate::both;
use tianshan_registry::facade::PatientInput;

use crate::helpers::{audit_for, TestApp};

/// demo-0001 (张三) lives in a village of Tokkuzak town, Shufu county, Kashgar.
const KASHGAR_PATIENT: &str = "demo-0001";
/// demo-0002 (a Tokkuzak village) is shared with the Beijing rear hospital; demo-0012 (Barkol,
/// Hami) with the Kyrgyz partner.
const SHARED_WITH_BEIJING: &str = "demo-0002";
const SHARED_WITH_PARTNER: &str = "demo-0012";
/// demo-0005 lives in Yiwu county, Hami.
const HAMI_PATIENT: &str = "demo-0005";

async fn status_of(app: &TestApp, user: &str, id: &str) -> u16 {
    app.api(user)
        .await
        .get(app.url(&format!("/api/v1/patients/{id}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn every_role_sees_only_its_scope(app: &TestApp) {
    // (user, Kashgar patient, Hami patient, shared with Beijing, shared with partner)
    let expected = [
        ("admin", 200, 200, 200, 200),
        ("coordinator", 200, 200, 200, 200),
        ("doctor", 200, 404, 200, 404),
        ("nurse", 200, 404, 200, 404),
        ("official", 404, 200, 404, 200),
        ("expert", 404, 404, 200, 404),
        ("partner", 404, 404, 404, 200),
    ];
    for (user, k, h, b, p) in expected {
        let got = (
            status_of(app, user, KASHGAR_PATIENT).await,
            status_of(app, user, HAMI_PATIENT).await,
            status_of(app, user, SHARED_WITH_BEIJING).await,
            status_of(app, user, SHARED_WITH_PARTNER).await,
        );
        assert_eq!(got, (k, h, b, p), "scope of {user} on {:?}", app.backend);
    }
    // Search is scoped the same way: the Hami official finds no Kashgar 张三.
    let found: Value = app
        .api("official")
        .await
        .get(app.url("/api/v1/patients?q=zs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found["patients"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["org_path"]
            .as_str()
            .unwrap()
            .starts_with("/650000/650500/")));
    let found: Value = app
        .api("nurse")
        .await
        .get(app.url("/api/v1/patients?q=zs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = found["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["full_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"张三"), "{names:?}");
    // The expert sees shared records in search too, nothing else.
    let found: Value = app
        .api("expert")
        .await
        .get(app.url("/api/v1/patients?q=a"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = found["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty());
    for id in ids {
        let n: u32 = id.trim_start_matches("demo-").parse().unwrap();
        assert_eq!(
            (n - 1) % 20,
            1,
            "{id} is not shared with the Beijing hospital"
        );
    }
}
both!(every_role_sees_only_its_scope);

async fn reads_and_refusals_are_audited(app: &TestApp) {
    assert_eq!(status_of(app, "nurse", KASHGAR_PATIENT).await, 200);
    assert_eq!(status_of(app, "official", KASHGAR_PATIENT).await, 404);
    let entries = audit_for(app, KASHGAR_PATIENT).await;
    assert!(
        entries.contains(&("nurse".into(), "read".into(), "api".into())),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("official".into(), "refused".into(), "api".into())),
        "{entries:?}"
    );
    // The log is append-only, even to someone with database access through the product's pool.
    let r = tianshan_platform::with_db!(&app.db, pool => sqlx::query("UPDATE audit_log SET username = 'x'").execute(pool).await.map(|_| ()));
    assert!(r.is_err(), "audit rows must not be editable");
    let r = tianshan_platform::with_db!(&app.db, pool => sqlx::query("DELETE FROM audit_log").execute(pool).await.map(|_| ()));
    assert!(r.is_err(), "audit rows must not be deletable");
    // Administrators browse it over the API; others may not.
    let admin = app.api("admin").await;
    let body: Value = admin
        .get(app.url(&format!("/api/v1/audit?patient_id={KASHGAR_PATIENT}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["entries"].as_array().unwrap().len() >= 2);
    assert_eq!(
        app.api("nurse")
            .await
            .get(app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}
both!(reads_and_refusals_are_audited);

fn new_patient() -> Value {
    json!({"family_name": "买", "given_name": "合木提", "name_ug": "مەخمۇت", "sex": "male", "birth_date": "2001-05-04",
           "org_code": "653121100202", "phone": "13900001111", "ethnicity": "05"})
}

async fn create_update_and_duplicates(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&new_patient())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["patient"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["patient"]["full_name"], "买合木提");
    // Found by pinyin initials, by Uyghur name and by phone.
    for q in ["mhmt", "مەخمۇت", "13900001111"] {
        let found: Value = nurse
            .get(app.url("/api/v1/patients"))
            .query(&[("q", q)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            found["patients"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == id.as_str()),
            "{q} did not find the patient"
        );
    }
    // Same name, birth date and village: a probable duplicate, refused until confirmed.
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&new_patient())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["candidates"][0]["id"], id.as_str());
    let r = nurse
        .post(app.url("/api/v1/patients?confirm_not_duplicate=true"))
        .json(&new_patient())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Update with the version read; a stale version is refused.
    let mut upd = new_patient();
    upd["phone"] = json!("13900002222");
    upd["version"] = json!(1);
    let r = nurse
        .put(app.url(&format!("/api/v1/patients/{id}")))
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = nurse
        .put(app.url(&format!("/api/v1/patients/{id}")))
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "second update with the old version must be refused"
    );
    let entries = audit_for(app, &id).await;
    assert!(entries.iter().any(|e| e.1 == "create") && entries.iter().any(|e| e.1 == "update"));
}
both!(create_update_and_duplicates);

async fn writes_need_role_and_scope(app: &TestApp) {
    for user in ["official", "partner", "coordinator"] {
        let r = app
            .api(user)
            .await
            .post(app.url("/api/v1/patients"))
            .json(&new_patient())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{user} must not register patients");
    }
    let mut hami = new_patient();
    hami["org_code"] = json!("650522101201");
    let r = app
        .api("nurse")
        .await
        .post(app.url("/api/v1/patients"))
        .json(&hami)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "org_code");
}
both!(writes_need_role_and_scope);

async fn bad_input_gets_clear_json_errors(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let mut bad = new_patient();
    bad["id_number"] = json!("110105194912310021");
    bad["birth_date"] = json!("");
    bad["sex"] = json!("female");
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .header("accept-language", "en")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid");
    let msg = body["error"]["fields"][0]["message"].as_str().unwrap();
    assert!(msg.contains("should be X, not 1"), "{msg}");
    // The same refusal in Chinese for a Chinese reader.
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .header("accept-language", "zh-CN")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("最后一位应为 X"));
    // Malformed JSON, wrong types, unknown routes and missing credentials.
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    let r = nurse
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let r = reqwest::get(app.url("/api/v1/patients?q=zs"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    let r = nurse.get(app.url("/api/v1/patients")).send().await.unwrap();
    assert_eq!(
        r.status(),
        400,
        "a search with no criterion is refused, not a dump of every patient"
    );
}
both!(bad_input_gets_clear_json_errors);

async fn directory_endpoints(app: &TestApp) {
    let c = app.api("partner").await;
    let orgs: Value = c
        .get(app.url("/api/v1/orgs?parent=653100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(orgs["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["code"] == "653121"));
    let org: Value = c
        .get(app.url("/api/v1/orgs/653121"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(org["org"]["name_zh"], "疏附县");
    let pr: Value = c
        .get(app.url("/api/v1/practitioners?q=眼科"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!pr["practitioners"].as_array().unwrap().is_empty());
    let health: Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"]["ok"], true);
}
both!(directory_endpoints);

/// Patients made by `make(i)` for i in 0..n, bulk-loaded into a village of Hami (Barkol county),
/// outside the Tokkuzak nurse's scope and inside Hami's official's.
async fn load_into_hami_village(
    app: &TestApp,
    n: usize,
    make: impl Fn(usize) -> (String, PatientInput),
) {
    use tianshan_registry::bulk;
    let village = "650522101201";
    let path = tianshan_registry::facade::org(&app.st, village)
        .await
        .unwrap()
        .unwrap()
        .path;
    let today = tianshan_platform::clock::Clock::system().now().date();
    let batch: Vec<bulk::LoadRow> = (0..n)
        .map(|i| {
            let (id, mut input) = make(i);
            input.org_code = village.into();
            bulk::prepare(id, &input, today, path.clone()).unwrap().0
        })
        .collect();
    bulk::insert(&app.st, batch).await.unwrap();
}

/// `GET /api/v1/patients?{query}` as `user`: (full name, id) of each patient listed.
async fn listed(app: &TestApp, user: &str, query: &str) -> Vec<(String, String)> {
    let r = app
        .api(user)
        .await
        .get(app.url(&format!("/api/v1/patients?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["full_name"].as_str().unwrap().to_string(),
                p["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A short query on a crowded name is bounded (at most `TERM_MATCH_CAP` term rows), and the bound
/// applies inside the user's scope: 1,200 张三 in Hami, whose paths sort before Kashgar's, must not
/// hide the one in the Tokkuzak nurse's township. The search page then asks for more letters.
async fn crowded_short_searches_stay_in_scope(app: &TestApp) {
    load_into_hami_village(app, 1_200, |i| {
        let input = PatientInput {
            family_name: "张".into(),
            given_name: "三".into(),
            sex: if i % 2 == 0 { "male" } else { "female" }.into(),
            birth_date: format!("19{:02}-01-01", 40 + i % 60),
            ..Default::default()
        };
        (format!("crowd-{i:04}"), input)
    })
    .await;

    let search = |user: &'static str, q: &'static str| async move {
        listed(app, user, &format!("q={q}&limit=200"))
            .await
            .into_iter()
            .map(|(_, id)| id)
            .collect::<Vec<_>>()
    };
    let nurse = search("nurse", "zs").await;
    assert!(
        nurse.contains(&KASHGAR_PATIENT.to_string()),
        "the nurse finds her township's 张三 by zs: {nurse:?}"
    );
    assert!(nurse.iter().all(|id| !id.starts_with("crowd-")));
    // One letter, and the last of the alphabet: its range ends at `{`, which a linguistic
    // collation sorts before the letters (the PostgreSQL test databases use one).
    let nurse = search("nurse", "z").await;
    assert!(
        nurse.contains(&KASHGAR_PATIENT.to_string()),
        "z finds 张三: {nurse:?}"
    );
    let official = search("official", "zs").await;
    assert_eq!(official.len(), 200, "Hami's official sees a full page");
    assert!(!official.contains(&KASHGAR_PATIENT.to_string()));

    // A full page tells the user to narrow the search; a short one does not.
    let admin = app.browser("admin").await;
    let page = admin.get("/patients?q=zs").await.text().await.unwrap();
    assert!(
        page.contains("id=\"more\""),
        "full page asks for more letters"
    );
    let page = admin
        .get(&format!("/patients?q={}", urlencode("张三丰")))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"more\""));
}
both!(crowded_short_searches_stay_in_scope);

/// A name searched alone picks its page among the search terms (`term_page_clause`): every page
/// is the next slice of the matches sorted by name, with no patient twice and none skipped,
/// although each patient here has three matching terms (`uqa07uqvist`, `uqa07`, `uqvist`) and
/// ids sort against names. A search with another criterion (sex) reads the patients and gives
/// the same order.
async fn name_pages_are_slices_of_the_sorted_matches(app: &TestApp) {
    load_into_hami_village(app, 30, |i| {
        let input = PatientInput {
            family_name: "Uqvist".into(),
            given_name: format!("Uqa{i:02}"),
            sex: if i % 3 == 0 { "female" } else { "male" }.into(),
            birth_date: "1990-01-01".into(),
            ..Default::default()
        };
        (format!("uq-{:02}", 29 - i), input)
    })
    .await;

    let all = listed(app, "admin", "q=uq&limit=200").await;
    assert_eq!(all.len(), 30, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "sorted by name");
    assert_eq!(all[0].1, "uq-29", "the first name has the last id");
    let mut paged = Vec::new();
    for offset in (0..30).step_by(7) {
        let page = listed(app, "admin", &format!("q=uq&limit=7&offset={offset}")).await;
        assert_eq!(
            page.len(),
            (30 - offset).min(7),
            "page at {offset}: {page:?}"
        );
        paged.extend(page);
    }
    assert_eq!(
        paged, all,
        "the pages, one after the other, are the whole list"
    );
    let women = listed(app, "admin", "q=uq&sex=female&limit=4&offset=2").await;
    let expected: Vec<_> = all.iter().step_by(3).skip(2).take(4).cloned().collect();
    assert_eq!(women, expected);
    // Hami's official (a scope holding the village): the same pages.
    let official = listed(app, "official", "q=uq&limit=5&offset=5").await;
    assert_eq!(official, all[5..10]);
}
both!(name_pages_are_slices_of_the_sorted_matches);

/// Migration 103 gives the search terms written before it the name of their patient (a
/// database of a version without it, upgraded), on both backends.
async fn terms_written_before_103_get_their_names(backend: crate::helpers::Backend) {
    use tianshan_platform::{migrate, tx_exec, with_db};
    let e = crate::helpers::empty_db(backend).await;
    let all = tianshan::app::migrations();
    let before: Vec<_> = all.iter().filter(|m| m.version <= 102).copied().collect();
    let now = "2026-01-01T00:00:00Z";
    migrate::run(&e.db, &before, now).await.unwrap();
    e.db.write(now.to_string(), move |tx| {
        Box::pin(async move {
            tx_exec!(tx, sqlx::query("INSERT INTO orgs (code, path, kind, name_zh, created_at) VALUES ('X1', '/X1/', 'region', '测试', $1)").bind(now))?;
            for (id, name) in [("p1", "张三"), ("p2", "Eli Memet")] {
                tx_exec!(tx, sqlx::query("INSERT INTO patients (id, org_code, org_path, full_name, sex, created_at, updated_at) \
                    VALUES ($1, 'X1', '/X1/', $2, 'male', $3, $3)").bind(id).bind(name).bind(now))?;
                for term in ["a", "b"] {
                    tx_exec!(tx, sqlx::query("INSERT INTO patient_terms (term, org_path, patient_id) VALUES ($1, '/X1/', $2)")
                        .bind(format!("{term}{id}")).bind(id))?;
                }
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let applied = migrate::run(&e.db, &all, now).await.unwrap();
    assert!(applied.contains(&103), "{applied:?}");
    let rows: Vec<(String, String)> = with_db!(e.db, pool => sqlx::query_as(
        "SELECT patient_id, full_name FROM patient_terms ORDER BY term").fetch_all(pool).await)
    .unwrap();
    assert_eq!(
        rows,
        [
            ("p1", "张三"),
            ("p2", "Eli Memet"),
            ("p1", "张三"),
            ("p2", "Eli Memet")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terms_written_before_103_get_their_names_sqlite() {
    terms_written_before_103_get_their_names(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terms_written_before_103_get_their_names_postgres() {
    terms_written_before_103_get_their_names(crate::helpers::Backend::Postgres).await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Forty registrations at once, half of them children with two guardians (one a registered
/// patient, one not), then each of them read twice, all at once, with a read of an id nobody
/// has. On PostgreSQL the registrations of a batch are one statement and the reads of many
/// requests one query (`platform::db::pg`, `platform::db::lookups`): every answer must be the
/// patient asked for, whole, and every registration and read audited once.
async fn many_registrations_and_reads_at_once(app: &TestApp) {
    let nurse = app.api("nurse").await;
    let village = "653121100201";
    let r = nurse
        .post(app.url("/api/v1/patients"))
        .json(&json!({"family_name": "古", "given_name": "丽娜", "sex": "female", "org_code": village}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mother: Value = r.json().await.unwrap();
    let mother_id = mother["patient"]["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, url, mother_id) = (
            nurse.clone(),
            app.url("/api/v1/patients"),
            mother_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut body = json!({"family_name": "并", "given_name": format!("发{i}"), "sex": "male",
                "birth_date": format!("2020-01-{:02}", i % 28 + 1), "org_code": village});
            if i % 2 == 0 {
                body["guardians"] = json!([
                    {"name": "古丽娜", "relationship": "mother", "patient_id": mother_id},
                    {"name": "买买提", "relationship": "father", "phone": format!("1380000{i:04}")}]);
            }
            let r = c.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201, "registration {i}");
            let v: Value = r.json().await.unwrap();
            (i, v["patient"]["id"].as_str().unwrap().to_string())
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.push(t.await.unwrap());
    }
    let mut reads = Vec::new();
    for (i, id) in created.iter().chain(created.iter()).cloned() {
        let (c, url) = (nurse.clone(), app.url(&format!("/api/v1/patients/{id}")));
        reads.push(tokio::spawn(async move {
            let r = c.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (
                i,
                id,
                status,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
    }
    let nobody = nurse
        .get(app.url("/api/v1/patients/no-such-patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 404);
    for t in reads {
        let (i, id, status, v) = t.await.unwrap();
        assert_eq!(status, 200, "read of {i}: {v}");
        assert_eq!(v["patient"]["id"], id.as_str(), "read of {i}");
        assert_eq!(v["patient"]["full_name"], format!("并发{i}"), "read of {i}");
        let guardians = v["guardians"].as_array().unwrap();
        if i % 2 == 0 {
            assert_eq!(guardians.len(), 2, "read of {i}: {v}");
            assert_eq!(guardians[0]["guardian_id"], mother_id.as_str());
            assert_eq!(guardians[0]["relationship"], "mother");
            assert!(guardians[1]["guardian_id"].is_null(), "{v}");
            assert_eq!(guardians[1]["phone"], format!("1380000{i:04}"));
        } else {
            assert!(guardians.is_empty(), "read of {i}: {v}");
        }
    }
    for (i, id) in &created {
        let mut entries = audit_for(app, id).await;
        entries.sort();
        let expected = vec![
            ("nurse".to_string(), "create".to_string(), "api".to_string()),
            ("nurse".into(), "read".into(), "api".into()),
            ("nurse".into(), "read".into(), "api".into()),
        ];
        assert_eq!(entries, expected, "audit of {i}");
    }
    // Each is found by its name's search terms too (written in the same statement).
    let found = listed(app, "nurse", "q=并发&limit=100").await;
    assert_eq!(found.len(), 40, "{found:?}");
}
both!(many_registrations_and_reads_at_once);
