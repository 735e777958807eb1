//! Vaccination clinic figures, printed for docs/benchmarks.md:
//! 1. Due lists: the child page's evaluation (engine forecast, dose evaluations, due/overdue
//!    classification, Chinese product names) for synthetic children aged 0–6, one thread.
//!    `TIANSHAN_BENCH_CHILDREN` (default 500000).
//! 2. A clinic day's vaccination writes on SQLite: 2,400 doses across 15 clinics, four stations
//!    each vaccinating at once; each write takes the stock, stores the dose, its stock movement
//!    and its audit entry in one transaction (the write path of `POST .../vaccination`).
//!    Throughput, median and p99 latency.
//!
//! `cargo bench -p tianshan-vaccination --bench vaccination`
use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use tianshan_platform::auth::Principal;
use tianshan_platform::db::Db;
use tianshan_vaccination::bulk::{bench_clinic, DoseRow, ProductRow};
use tianshan_vaccination::service::{evaluate, write_dose};
use time::{Date, Month};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// (product, CVX, age in days) of the China programme.
const PLAN: &[(&str, i64, i64)] = &[
    ("HepB", 8, 0),
    ("BCG", 19, 0),
    ("HepB", 8, 30),
    ("IPV", 10, 61),
    ("IPV", 10, 91),
    ("DTaP", 20, 91),
    ("bOPV", 178, 122),
    ("DTaP", 20, 122),
    ("DTaP", 20, 152),
    ("HepB", 8, 183),
    ("MPSV-A", 191, 183),
    ("MMR", 3, 243),
    ("JE-L", 9001, 243),
    ("MPSV-A", 191, 274),
    ("DTaP", 20, 548),
    ("MMR", 3, 548),
    ("HepA-L", 169, 548),
    ("JE-L", 9001, 730),
    ("MPSV-AC", 192, 1095),
    ("bOPV", 178, 1461),
];

fn products() -> Vec<ProductRow> {
    [
        ("HepB", 8, "乙肝疫苗"),
        ("BCG", 19, "卡介苗"),
        ("IPV", 10, "脊灰灭活疫苗"),
        ("bOPV", 178, "脊灰减毒活疫苗"),
        ("DTaP", 20, "百白破疫苗"),
        ("DT", 28, "白破疫苗"),
        ("MMR", 3, "麻腮风疫苗"),
        ("JE-L", 9001, "乙脑减毒活疫苗"),
        ("MPSV-A", 191, "A群流脑多糖疫苗"),
        ("MPSV-AC", 192, "A群C群流脑多糖疫苗"),
        ("HepA-L", 169, "甲肝减毒活疫苗"),
    ]
    .into_iter()
    .map(|(code, cvx, zh)| ProductRow {
        code: code.into(),
        name_en: code.into(),
        name_zh: zh.into(),
        cvx,
        route: "IM".into(),
        live: 0,
    })
    .collect()
}

fn dose(i: usize, product: &str, cvx: i64, given_on: String) -> DoseRow {
    DoseRow {
        id: format!("d{i}"),
        patient_id: "p".into(),
        patient_path: "/x/".into(),
        org_code: String::new(),
        product_code: product.into(),
        cvx,
        lot_id: None,
        lot_no: String::new(),
        given_on,
        site: String::new(),
        route: String::new(),
        vaccinator: String::new(),
        source: "clinic".into(),
        visit_id: None,
        status: "completed".into(),
        recorded_by: String::new(),
        created_at: String::new(),
    }
}

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn due_lists() -> Res<()> {
    let n: usize = std::env::var("TIANSHAN_BENCH_CHILDREN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let products = products();
    let today = Date::from_calendar_date(2026, Month::March, 10)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    let (mut due, mut overdue) = (0usize, 0usize);
    for _ in 0..n {
        let age = (rng.next() % 2400) as i64;
        let birth = today - time::Duration::days(age);
        let mut doses = Vec::new();
        for (k, (p, cvx, at)) in PLAN.iter().enumerate() {
            // Most children are on time, some late, some miss a dose.
            let r = rng.next() % 100;
            if *at > age || r < 7 {
                continue;
            }
            let late = if r < 20 { (rng.next() % 60) as i64 } else { 0 };
            if at + late > age {
                continue;
            }
            let d = birth + time::Duration::days(at + late);
            doses.push(dose(
                k,
                p,
                *cvx,
                format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            ));
        }
        let (views, list) = evaluate(&products, birth, "female", doses, today)?;
        due += list.iter().filter(|d| d.status == "due").count();
        overdue += list.iter().filter(|d| d.status == "overdue").count();
        black_box(views);
    }
    let secs = start.elapsed().as_secs_f64();
    println!("due lists: {n} children in {secs:.2} s = {:.0} children/s on one thread ({:.1} µs each); {due} due and {overdue} overdue vaccine groups",
        n as f64 / secs, secs * 1e6 / n as f64);
    Ok(())
}

async fn clinic_day() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(None, dir.path()).await?;
    let mut migrations = tianshan_platform::schema::migrations();
    migrations.extend(tianshan_vaccination::module().migrations);
    tianshan_platform::migrate::run(&db, &migrations, "2026-03-10T00:00:00Z").await?;
    const CLINICS: usize = 15;
    const STATIONS: usize = 4;
    const PER_STATION: usize = 40;
    for c in 0..CLINICS {
        let code = format!("653129-VC{c:02}");
        db.write("2026-03-10T00:00:00Z".into(), move |tx| {
            Box::pin(async move { bench_clinic(tx, &code, &format!("lot-{c}"), 1000).await })
        })
        .await?;
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLINICS {
        for s in 0..STATIONS {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let who = Principal::cli("bench");
                let mut lat = Vec::with_capacity(PER_STATION);
                for i in 0..PER_STATION {
                    let mut d = dose(0, "HepB", 8, "2026-03-10".into());
                    d.id = format!("c{c}s{s}i{i}");
                    d.lot_id = Some(format!("lot-{c}"));
                    d.patient_id = format!("child-{c}-{s}-{i}");
                    let who = who.clone();
                    let t = Instant::now();
                    db.write("2026-03-10T08:00:00Z".into(), move |tx| {
                        Box::pin(async move { write_dose(tx, &who, &d, "2026-03-10").await })
                    })
                    .await?;
                    lat.push(t.elapsed());
                }
                Ok::<_, tianshan_platform::AppError>(lat)
            }));
        }
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!("clinic day (SQLite): {} vaccinations by {} stations in {secs:.2} s = {:.0} doses/s; median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(), CLINICS * STATIONS, all.len() as f64 / secs, pct(0.5), pct(0.99), pct(1.0));
    db.close().await;
    Ok(())
}

fn main() -> Res<()> {
    due_lists()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(clinic_day())
}
