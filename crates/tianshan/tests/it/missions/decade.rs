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
    if let (Ok(to), Backend::Sqlite) = (std::env::var("TIANSHAN_BENCH_SAVE"), backend) {
        // A copy of the loaded database, to study its queries with the sqlite3 shell.
        let tianshan_platform::db::Pools::Sqlite(pool) = app.st.db.pools() else {
            unreachable!("a SQLite app")
        };
        sqlx::query(&format!("VACUUM INTO '{to}'"))
            .execute(pool)
            .await
            .unwrap();
    }
    summaries_agree_with_the_records(&app.st.db).await;
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

/// The figures kept with each write (demo and bulk load both go through the store's writes)
/// equal the records added up afresh.
pub(super) async fn summaries_agree_with_the_records(db: &tianshan_platform::db::Db) {
    use tianshan_platform::with_db;
    let pairs = [
        (
            "SELECT mission_id || '|' || kind || '|' || entries || '|' || total || '|' || at_least_one FROM missions_activity_sums ORDER BY 1",
            "SELECT mission_id || '|' || kind || '|' || COUNT(*) || '|' || COALESCE(SUM(count), 0) || '|' || COALESCE(SUM(CASE WHEN count < 1 THEN 1 ELSE count END), 0) FROM missions_activities GROUP BY mission_id, kind ORDER BY 1",
        ),
        (
            "SELECT trainee_path || '|' || mentor_path || '|' || year || '|' || post || '|' || ethnicity || '|' || trainees FROM missions_trainee_counts ORDER BY 1",
            "SELECT trainee_path || '|' || mentor_path || '|' || substr(starts_on, 1, 4) || '|' || trainee_post || '|' || trainee_ethnicity || '|' || COUNT(*) FROM missions_mentorships GROUP BY trainee_path, mentor_path, substr(starts_on, 1, 4), trainee_post, trainee_ethnicity ORDER BY 1",
        ),
        (
            "SELECT trainee_path || '|' || mentor_path || '|' || year || '|' || sign_offs FROM missions_signoff_counts ORDER BY 1",
            "SELECT m.trainee_path || '|' || m.mentor_path || '|' || substr(s.signed_on, 1, 4) || '|' || COUNT(*) FROM missions_milestones s JOIN missions_mentorships m ON m.id = s.mentorship_id WHERE s.signed_on IS NOT NULL GROUP BY m.trainee_path, m.mentor_path, substr(s.signed_on, 1, 4) ORDER BY 1",
        ),
    ];
    for (kept, fresh) in pairs {
        let a: Vec<String> =
            with_db!(db, pool => sqlx::query_scalar(kept).fetch_all(pool).await).unwrap();
        let b: Vec<String> =
            with_db!(db, pool => sqlx::query_scalar(fresh).fetch_all(pool).await).unwrap();
        assert!(!a.is_empty(), "{kept}: nothing kept");
        assert_eq!(a, b, "{kept}");
    }
}
