//! Consultation benchmark: 100,000 cases across the demo network on a fresh SQLite file, then
//! the expert's inbox (a rear-hospital department), the coordinator's overview (the whole
//! region) and case creation throughput. Figures in docs/benchmarks.md.
//! `cargo bench -p tianshan-consult` (CONSULT_CASES overrides the number of cases).
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tianshan_consult::demo_data::{demo_user, ALL};
use tianshan_consult::domain::CaseInput;
use tianshan_platform::auth::AuthCache;
use tianshan_platform::clock::Clock;
use tianshan_platform::db::Db;
use tianshan_platform::events::Events;
use tianshan_platform::i18n::I18n;
use tianshan_platform::migrate::{self, Migration};
use tianshan_platform::state::Config;
use tianshan_platform::{pages, Module, Platform};
use tianshan_registry::facade;

fn modules() -> Vec<Module> {
    vec![
        pages::module(),
        tianshan_registry::module(),
        tianshan_consult::module(),
    ]
}

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

async fn platform(dir: &std::path::Path) -> Res<Platform> {
    let clock = Clock::system();
    let db = Db::open(None, dir).await?;
    let mods = modules();
    let migrations: Vec<Migration> = mods.iter().flat_map(|m| m.migrations.clone()).collect();
    migrate::run(&db, &migrations, &clock.now_text()).await?;
    let perms = mods
        .iter()
        .flat_map(|m| m.permissions.iter().map(move |p| (m.name, *p)))
        .collect();
    tianshan_platform::roles::install_permissions(&db, &clock, perms).await?;
    let cats: Vec<_> = mods.iter().flat_map(|m| m.catalogues.clone()).collect();
    Ok(Platform {
        db: db.clone(),
        events: Events::start(&db),
        i18n: I18n::load(&cats)?,
        clock,
        auth: Arc::new(AuthCache::default()),
        config: Arc::new(Config {
            secure_cookies: false,
            nav: Vec::new(),
            permissions: Vec::new(),
            actions: mods
                .iter()
                .flat_map(|m| m.actions.iter().copied())
                .collect(),
            fhir: Vec::new(),
            fhir_operations: Vec::new(),
            modules: Default::default(),
        }),
        caches: Default::default(),
    })
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(what: &str, mut t: Vec<Duration>) {
    t.sort();
    println!(
        "{what}: n={} median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        t.len(),
        pct(&t, 0.5),
        pct(&t, 0.99),
        pct(&t, 1.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let n: usize = std::env::var("CONSULT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let st = platform(dir.path()).await?;
    tianshan_registry::demo::load(&st).await?;
    let path = |c: &str| {
        let c = c.to_string();
        let st = st.clone();
        async move { Ok::<_, tianshan_platform::AppError>(facade::org(&st, &c).await?.map(|o| o.path)) }
    };
    let t0 = Instant::now();
    tianshan_consult::bench::load_cases(&st, n, 2_000).await?;
    let load = t0.elapsed();
    println!(
        "loaded {n} cases in {:.1} s ({:.0} cases/s, batches of 2000)",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    let expert = demo_user(
        "expert",
        Some("RH-BJ-PUMCH-CAR"),
        path("RH-BJ-PUMCH").await?,
        ALL,
    );
    let coord = demo_user("coordinator", Some("650000"), path("650000").await?, ALL);
    let nurse = demo_user("nurse", Some("653121100"), path("653121100").await?, ALL);
    for (who, what) in [
        (&expert, "expert inbox (Peking Union cardiology)"),
        (&coord, "coordinator overview (whole region)"),
    ] {
        let i = tianshan_consult::service::inbox(&st, who).await?;
        println!(
            "{what}: to_accept {} to_answer {} waiting {} mine {} all-open {}",
            i.to_accept.len(),
            i.to_answer.len(),
            i.waiting_on_me.len(),
            i.my_requests.len(),
            i.coordinator.len()
        );
        let mut t = Vec::new();
        for _ in 0..200 {
            let s = Instant::now();
            tianshan_consult::service::inbox(&st, who).await?;
            t.push(s.elapsed());
        }
        report(what, t);
    }
    let input = CaseInput {
        patient_id: "demo-0001".into(),
        kind: "opinion".into(),
        urgency: "routine".into(),
        specialty: "心血管内科".into(),
        target_kind: "department".into(),
        target_code: "RH-BJ-PUMCH-CAR".into(),
        complaint: "活动后胸闷气短2周".into(),
        question: "是否需要上转？".into(),
        ..Default::default()
    };
    let creates = 1_000;
    let s = Instant::now();
    let mut t = Vec::new();
    for _ in 0..creates {
        let one = Instant::now();
        tianshan_consult::service::file(&st, &nurse, &input).await?;
        t.push(one.elapsed());
    }
    let el = s.elapsed();
    println!(
        "case creation, sequential: {creates} in {:.1} s = {:.0} cases/s",
        el.as_secs_f64(),
        creates as f64 / el.as_secs_f64()
    );
    report("case creation latency", t);
    let s = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (st, nurse, input) = (st.clone(), nurse.clone(), input.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..creates / 16 {
                tianshan_consult::service::file(&st, &nurse, &input).await?;
            }
            Ok::<_, tianshan_platform::AppError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let el = s.elapsed();
    let made = creates / 16 * 16;
    println!(
        "case creation, 16 concurrent clients: {made} in {:.1} s = {:.0} cases/s",
        el.as_secs_f64(),
        made as f64 / el.as_secs_f64()
    );
    Ok(())
}
