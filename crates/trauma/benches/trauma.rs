//! Quality indicators over a synthetic decade of trauma records (four prefectures, the demo's
//! shapes: arrival-to-operation falling from 8 h to 60 min), on SQLite, and on PostgreSQL when
//! `TIANSHAN_BENCH_PG` names an empty database (`postgres://postgres@127.0.0.1/trauma_bench`).
//! `TIANSHAN_BENCH_TRAUMA` sets the number of records (default 1,000,000);
//! `TIANSHAN_BENCH_SKIP_SQLITE` skips the SQLite run. Run with
//! `cargo bench -p tianshan-trauma --bench trauma`.
use std::error::Error;
use std::time::Instant;

use tianshan_platform::db::Db;
use tianshan_trauma::bench;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const NOW: &str = "2026-11-24T00:00:00Z";

async fn run(db: Db, label: &str, n: usize) -> Res<()> {
    tianshan_platform::migrate::run(&db, &bench::migrations(), NOW).await?;
    bench::fixture(&db, NOW).await?;
    let t = Instant::now();
    let mut loaded = 0;
    for month in 0..120 {
        let rows = bench::synthetic_month(n, month, 0x7124_5153);
        loaded += rows.len();
        bench::load(&db, NOW, rows, 5_000).await?;
    }
    let load = t.elapsed();
    println!(
        "{label}: loaded {loaded} records in {:.1} s ({:.0} records/s)",
        load.as_secs_f64(),
        loaded as f64 / load.as_secs_f64()
    );
    let cases: [(&str, &str, &str, &str); 4] = [
        ("whole network, decade", "/650000/", "", ""),
        ("Kashgar prefecture, decade", "/650000/653100/", "", ""),
        (
            "regional centre, 2024",
            "/650000/653100/653100-H01/",
            "2023-12-31T16:00:00Z",
            "2024-12-31T16:00:00Z",
        ),
        (
            "Hotan hospital, one month",
            "/650000/653200/653200-H01/",
            "2024-05-31T16:00:00Z",
            "2024-06-30T16:00:00Z",
        ),
    ];
    for (what, path, from, to) in cases {
        let t = Instant::now();
        let ind = bench::indicators(&db, path, from, to).await?;
        let took = t.elapsed();
        println!(
            "{label}: {what}: {} cases in {:.2} s; arrival-to-op median {:?} p90 {:?} min; W {:.2}; O/E {:?}",
            ind.cases,
            took.as_secs_f64(),
            ind.arrival_to_op.median,
            ind.arrival_to_op.p90,
            ind.triss.w,
            ind.triss.oe.map(|v| (v * 100.0).round() / 100.0)
        );
        if what.starts_with("whole") {
            let first = ind.months.first().and_then(|m| m.arrival_to_op_median);
            let y2024 = ind
                .months
                .iter()
                .find(|m| m.month == "2024-12")
                .and_then(|m| m.arrival_to_op_median);
            println!("{label}: monthly median 2019-01 {first:?} min, 2024-12 {y2024:?} min");
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let n: usize = std::env::var("TIANSHAN_BENCH_TRAUMA")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    if std::env::var_os("TIANSHAN_BENCH_SKIP_SQLITE").is_none() {
        let db = Db::open(None, dir.path()).await?;
        run(db, "SQLite", n).await?;
    }
    if let Ok(url) = std::env::var("TIANSHAN_BENCH_PG") {
        let db = Db::open(Some(&url), dir.path()).await?;
        run(db, "PostgreSQL", n).await?;
    }
    Ok(())
}
