//! The benchmark of the issue (see docs/benchmarks.md): ten years of a region's aid work (500
//! missions, 20,000 day logs, 50,000 trainees, 200,000 sign-offs) with the board at its limits,
//! then the coordinator's board and measures pages and their API, timed through HTTP on this
//! machine's loopback. In the suite it runs on a small generated region (every page must answer
//! 200 over the bulk data); `TIANSHAN_BENCH_FULL=1` loads the figures and
//! `TIANSHAN_BENCH_RUNS` sets the timed requests per page (`--nocapture` prints the figures).
use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, Backend};

fn pct(s: &mut [Duration], p: f64) -> Duration {
    s.sort();
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(backend: Backend) {
    let app = spawn_app(backend).await;
    let t0 = Instant::now();
    let today = app.st.clock.now().date();
    let full = std::env::var("TIANSHAN_BENCH_FULL").is_ok_and(|v| v == "1");
    let size = if full {
        tianshan_missions::bulk::Decade::default()
    } else {
        tianshan_missions::bulk::Decade {
            missions: 20,
            day_logs: 400,
            trainees: 500,
            sign_offs: 2_000,
            open_needs: 30,
            offers: 30,
            techniques: 50,
        }
    };
    tianshan_missions::bulk::decade(&app.st, size, today)
        .await
        .unwrap();
    println!("{backend:?}: load {:.1?}", t0.elapsed());
    let page = app.browser("coordinator").await;
    let api = app.api("coordinator").await;
    let runs: usize = std::env::var("TIANSHAN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 60 } else { 2 });
    for (what, path, is_page) in [
        ("board page", "/missions", true),
        ("board API", "/api/v1/missions/board", false),
        ("measures page", "/missions/measures", true),
        ("measures API", "/api/v1/missions/measures", false),
        ("talent measures page", "/missions/measures/talent", true),
    ] {
        let mut samples = Vec::with_capacity(runs);
        let mut bytes = 0;
        for i in 0..runs + 3 {
            let t = Instant::now();
            let r = if is_page {
                page.client.get(app.url(path)).send().await.unwrap()
            } else {
                api.get(app.url(path)).send().await.unwrap()
            };
            assert_eq!(r.status(), 200, "{path}");
            bytes = r.bytes().await.unwrap().len();
            assert!(bytes > 0, "{path} answered an empty body");
            if i >= 3 {
                samples.push(t.elapsed());
            }
        }
        println!(
            "{backend:?}: {what} ({path}), {runs} runs: median {:.1?}, p99 {:.1?}, {bytes} bytes",
            pct(&mut samples, 0.5),
            pct(&mut samples, 0.99)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_and_measures_at_ten_years_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_and_measures_at_ten_years_postgres() {
    run(Backend::Postgres).await;
}
