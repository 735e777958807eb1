//! The vaccination benchmark through the HTTP API of a real server. In the suite it runs small
//! (60 visits, 300 children; every answer checked); for the figures of docs/benchmarks.md:
//! `VACC_BENCH_VISITS=2400 VACC_BENCH_CHILDREN=5000 cargo test -p tianshan --test it vaccination::bench -- --nocapture`.
//! A clinic day across 15 clinics of four stations (check-in, screening, registration,
//! vaccination, leave; median and p99 of each station's action), then a township's overdue list
//! and a county's coverage over five years on generated children with generated histories.
//! Scale with `VACC_BENCH_VISITS` (default 60 visits) and `VACC_BENCH_CHILDREN` (default 300).
use std::time::{Duration, Instant};

use serde_json::json;
use tianshan_registry::facade::{self, PatientInput};
use tianshan_vaccination::bulk::{insert_dose, DoseRow};

use super::{get_json, post_json};
use crate::helpers::{spawn_app, Backend, TestApp};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn summary(name: &str, lat: &mut [Duration]) {
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "  {name:<13} n={:<5} median {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

/// Children of the nurse's township, registered in bulk (no per-record audit), with doses
/// following the schedule with some late and some missed; born over the last six years.
async fn load_children(app: &TestApp, n: usize) -> Vec<String> {
    let st = &app.st;
    let villages: Vec<facade::OrgInfo> = facade::children(st, "653121100")
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == "village")
        .collect();
    let today = st.clock.now().date();
    let mut ids = Vec::with_capacity(n);
    let mut rows = Vec::new();
    let mut doses = Vec::new();
    let plan: [(&str, i64, i64); 10] = [
        ("HepB", 8, 0),
        ("BCG", 19, 0),
        ("HepB", 8, 30),
        ("IPV", 10, 60),
        ("bOPV", 178, 90),
        ("DTaP", 20, 90),
        ("bOPV", 178, 120),
        ("DTaP", 20, 120),
        ("DTaP", 20, 150),
        ("HepB", 8, 180),
    ];
    for i in 0..n {
        let v = &villages[i % villages.len()];
        let birth = today - time::Duration::days((i as i64 * 7919) % (6 * 365) + 1);
        let id = format!("bench-{i:06}");
        let input = PatientInput {
            family_name: "王".into(),
            given_name: ["伟", "芳", "阳", "静"][i % 4].to_string(),
            sex: if i % 2 == 0 { "male" } else { "female" }.into(),
            birth_date: birth.to_string(),
            org_code: v.code.clone(),
            phone: format!("139{:08}", i),
            ..Default::default()
        };
        let (row, _) =
            tianshan_registry::bulk::prepare(id.clone(), &input, today, v.path.clone()).unwrap();
        rows.push(row);
        // Every fifth child stops after three doses; every third is a month late.
        let late = if i % 3 == 0 { 30 } else { 0 };
        let stop = if i % 5 == 0 { 3 } else { plan.len() };
        for (k, (product, cvx, day)) in plan.iter().take(stop).enumerate() {
            let on = birth + time::Duration::days(day + late);
            if on > today {
                break;
            }
            doses.push(DoseRow {
                id: format!("{id}-{k}"),
                patient_id: id.clone(),
                patient_path: v.path.clone(),
                org_code: "653121100-VC".into(),
                product_code: (*product).into(),
                cvx: *cvx,
                lot_id: None,
                lot_no: String::new(),
                given_on: on.to_string(),
                site: String::new(),
                route: String::new(),
                vaccinator: String::new(),
                source: "elsewhere".into(),
                visit_id: None,
                status: "completed".into(),
                recorded_by: "bench".into(),
                created_at: st.clock.now_text(),
            });
        }
        ids.push(id);
    }
    for chunk in rows.chunks(1000).map(|c| c.len()).collect::<Vec<_>>() {
        let part: Vec<_> = rows.drain(..chunk).collect();
        tianshan_registry::bulk::insert(st, part).await.unwrap();
    }
    while !doses.is_empty() {
        let part: Vec<DoseRow> = doses.drain(..doses.len().min(2000)).collect();
        st.write(move |tx| {
            Box::pin(async move {
                for d in &part {
                    insert_dose(tx, d).await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    }
    ids
}

async fn clinic_day(app: &TestApp, visits: usize, children: &[String]) {
    const CLINICS: usize = 15;
    const STATIONS: usize = 4;
    let nurse = app.api("nurse").await;
    for c in 0..CLINICS {
        let code = format!("653121100-B{c:02}");
        facade::ensure_org(
            &app.st,
            &code,
            Some("653121100"),
            "clinic",
            [&code, &code, &code],
        )
        .await
        .unwrap();
        let (s, e) = post_json(&nurse, app.url("/api/v1/vaccination/lots"),
            json!({"org_code": code, "product_code": "HepB", "lot_no": format!("BENCH-{c}"), "quantity": 100000, "expiry": "2099-12-31"})).await;
        assert_eq!(s, 201, "{e}");
    }
    let per_station = visits.div_ceil(CLINICS * STATIONS);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLINICS {
        for s in 0..STATIONS {
            let client = app.api("nurse").await;
            let base = app.base.clone();
            let kids: Vec<String> = (0..per_station)
                .map(|i| {
                    children[(c * STATIONS * per_station + s * per_station + i) % children.len()]
                        .clone()
                })
                .collect();
            tasks.push(tokio::spawn(async move {
                let url = |p: &str| format!("{base}{p}");
                let clinic = format!("653121100-B{c:02}");
                let mut lat: [Vec<Duration>; 5] = Default::default();
                for kid in kids {
                    let t = Instant::now();
                    let (st, v) = post_json(
                        &client,
                        url("/api/v1/vaccination/visits"),
                        json!({"clinic_code": clinic, "patient_id": kid}),
                    )
                    .await;
                    lat[0].push(t.elapsed());
                    assert_eq!(st, 201, "{v}");
                    let id = v["id"].as_str().unwrap().to_string();
                    let steps = [
                        ("screening", json!({})),
                        (
                            "registration",
                            json!({"products": ["HepB"], "consent_by": "母"}),
                        ),
                        (
                            "vaccination",
                            json!({"doses": [{"lot_no": format!("BENCH-{c}"), "site": "RA"}]}),
                        ),
                        ("leave", json!({})),
                    ];
                    for (k, (step, body)) in steps.into_iter().enumerate() {
                        let t = Instant::now();
                        let (st, v) = post_json(
                            &client,
                            url(&format!("/api/v1/vaccination/visits/{id}/{step}")),
                            body,
                        )
                        .await;
                        lat[k + 1].push(t.elapsed());
                        assert_eq!(st, 200, "{step}: {v}");
                    }
                }
                lat
            }));
        }
    }
    let mut all: [Vec<Duration>; 5] = Default::default();
    for t in tasks {
        for (k, l) in t.await.unwrap().into_iter().enumerate() {
            all[k].extend(l);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = all[0].len();
    println!(
        "clinic day over HTTP: {n} children through 5 stations at {} stations at once in {secs:.1} s = {:.1} children/s ({:.0} requests/s)",
        CLINICS * STATIONS,
        n as f64 / secs,
        (n * 5) as f64 / secs
    );
    for (k, name) in [
        "check-in",
        "screening",
        "registration",
        "vaccination",
        "leave",
    ]
    .iter()
    .enumerate()
    {
        summary(name, &mut all[k]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaccination_http() {
    let backend = match std::env::var("VACC_BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let name = if matches!(backend, Backend::Postgres) {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("backend: {name}");
    let app = spawn_app(backend).await;
    let (visits, children) = (
        env("VACC_BENCH_VISITS", 60),
        env("VACC_BENCH_CHILDREN", 300),
    );
    let t = Instant::now();
    let ids = load_children(&app, children).await;
    println!(
        "loaded {children} children with their doses in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    clinic_day(&app, visits, &ids).await;
    let nurse = app.api("nurse").await;
    for run in 1..=3 {
        let t = Instant::now();
        let (s, o) = get_json(&nurse, app.url("/api/v1/vaccination/overdue?org=653121100")).await;
        assert_eq!(s, 200);
        let n: usize = o["places"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["children"].as_array().unwrap().len())
            .sum();
        println!(
            "overdue list of the township (run {run}): {n} overdue children in {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let coordinator = app.api("coordinator").await;
    for run in 1..=2 {
        let t = Instant::now();
        let (s, c) = get_json(
            &coordinator,
            app.url("/api/v1/vaccination/coverage?org=653121&level=township"),
        )
        .await;
        assert_eq!(s, 200, "{c}");
        let counted: i64 = c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["total"] == true)
            .map(|r| r["children"].as_i64().unwrap())
            .sum();
        println!("coverage of the county over five birth years by township (run {run}): {} rows, {counted} children in {:.0} ms", c["rows"].as_array().unwrap().len(), t.elapsed().as_secs_f64() * 1000.0);
    }
}
