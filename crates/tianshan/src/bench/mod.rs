//! `tianshan bench ...`: benchmarks that print figures (see docs/benchmarks.md).
//! `bench registry` builds a fresh database with N generated patients, serves it in-process and
//! measures searches and FHIR creates through HTTP as a client would.
mod gen;
mod measure;
mod target;

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use tianshan_platform::auth::{self, Channel};
use tianshan_platform::clock::Clock;
use tianshan_platform::db::Pools;
use tianshan_platform::users::{self, By};
use tianshan_platform::Platform;
use tianshan_registry::bulk::{self, LoadRow};

use self::gen::{Rng, Samples, Village};
use self::measure::{ms, Latency, SearchKind, Throughput};
use crate::app;
use crate::cli::CliError;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Registry: search and FHIR create on a large patient table.
    Registry {
        /// How many patients to generate.
        #[arg(long, default_value_t = 1_000_000)]
        patients: u64,
        /// postgres://... of a server to benchmark PostgreSQL on (a throw-away database is
        /// created there and dropped after); default a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Keep the SQLite database in this (new or empty) folder instead of a temporary one,
        /// e.g. to measure `tianshan serve` start-up on it afterwards (scripts/bench-startup).
        #[arg(long)]
        keep_data_dir: Option<PathBuf>,
        /// With --database-url: keep the benchmark's PostgreSQL database afterwards (its name is
        /// printed), e.g. to time queries on it again; drop it by hand when done.
        #[arg(long)]
        keep_database: bool,
        /// Searches of each kind.
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
        /// FHIR Patient creates, for each of the sequential and the concurrent run.
        #[arg(long, default_value_t = 2_000)]
        creates: u64,
        /// Seconds each kind of search may take (HTTP and server side each); the report
        /// gives how many ran.
        #[arg(long, default_value_t = 180)]
        search_budget_secs: u64,
    },
}

pub async fn run(cmd: BenchCommand) -> Result<(), CliError> {
    match cmd {
        BenchCommand::Registry {
            patients,
            database_url,
            keep_data_dir,
            keep_database,
            queries,
            creates,
            search_budget_secs,
        } => {
            let target =
                target::Target::create(database_url.as_deref(), keep_data_dir, keep_database)
                    .await?;
            let budget = std::time::Duration::from_secs(search_budget_secs);
            let result = registry(&target, patients, queries, creates, budget).await;
            target.remove().await;
            result
        }
    }
}

fn msg(what: &str) -> impl Fn(tianshan_platform::AppError) -> CliError + '_ {
    move |e| {
        CliError::Message(format!(
            "{what}: {}",
            crate::cli::error_text(&CliError::from(e))
        ))
    }
}

/// Patients per transaction while loading.
const BATCH: usize = 10_000;

async fn registry(
    target: &target::Target,
    patients: u64,
    queries: usize,
    creates: u64,
    budget: std::time::Duration,
) -> Result<(), CliError> {
    let clock = Clock::system();
    let db = app::open_db(target.url.as_deref(), target.dir(), &clock).await?;
    let st = app::platform(db.clone(), clock.clone(), false)?;
    app::load_demo(&st).await?;
    let villages = villages(&st).await?;
    eprintln!(
        "Loading {patients} patients into {} ...",
        db.backend().name()
    );
    let started = Instant::now();
    let samples = load(&st, &villages, patients, queries, &clock).await?;
    let load_time = started.elapsed();
    if let Pools::Postgres(pool) = db.pools() {
        // Autovacuum would vacuum and analyse the new rows within minutes (PostgreSQL 13+ vacuums
        // after inserts too); do it now, so that plans are stable, index-only scans need not
        // visit the table (the visibility map is set), and the searches are not timed beside it.
        sqlx::query("VACUUM ANALYZE")
            .execute(pool)
            .await
            .map_err(|e| CliError::Message(format!("VACUUM ANALYZE: {e}")))?;
    }
    let size = target.size_bytes(&db).await;
    let total = bulk::patient_count(&st).await.map_err(msg("count"))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| CliError::Message(format!("cannot listen: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Message(e.to_string()))?;
    let server = tokio::spawn(app::serve(st.clone(), listener));
    let base = format!("http://{addr}");
    let (client, who) = signed_in(&st, "admin", &clock).await?;
    // A township nurse: the same searches, bounded by her scope (one township of ~40).
    let (nurse_client, nurse) = signed_in(&st, "nurse", &clock).await?;

    // Warm the connection, the statement caches and the page cache a little, as a running server would be.
    let warm: Vec<String> = samples.full_names.iter().take(50).cloned().collect();
    measure::http_searches(&client, &base, SearchKind::Name, &warm, budget).await;

    let kinds = [
        (
            "name (full name)",
            SearchKind::Name,
            &samples.full_names,
            false,
        ),
        (
            "q (2–3 pinyin initials)",
            SearchKind::Initials,
            &samples.initials,
            false,
        ),
        (
            "id_number",
            SearchKind::IdNumber,
            &samples.id_numbers,
            false,
        ),
        (
            "q (initials), township nurse",
            SearchKind::Initials,
            &samples.initials,
            true,
        ),
    ];
    let mut rows = Vec::new();
    for (label, kind, values, as_nurse) in kinds {
        eprintln!("Searching by {label} ...");
        let (c, p) = if as_nurse {
            (&nurse_client, &nurse)
        } else {
            (&client, &who)
        };
        let http = measure::http_searches(c, &base, kind, values, budget).await;
        let service = measure::service_searches(&st, p, kind, values, budget).await;
        rows.push((label, kind, http, service));
    }
    eprintln!("FHIR creates ...");
    let sequential = measure::fhir_creates(&client, &base, &villages, 0, creates, 1).await?;
    let concurrent = measure::fhir_creates(&client, &base, &villages, creates, creates, 8).await?;
    server.abort();

    print_report(&Report {
        backend: db.backend().name(),
        patients: total,
        load_rate: patients as f64 / load_time.as_secs_f64().max(1e-9),
        load_secs: load_time.as_secs_f64(),
        size,
        searches: rows,
        sequential,
        concurrent,
    });
    db.close().await;
    Ok(())
}

/// An API client with a fresh bearer token for `user`, and the principal that token stands for.
async fn signed_in(
    st: &Platform,
    user: &str,
    clock: &Clock,
) -> Result<(reqwest::Client, tianshan_platform::auth::Principal), CliError> {
    let token = users::create_api_token(&st.db, clock, By::Cli, user, "bench")
        .await
        .map_err(msg("API token"))?;
    let who = auth::principal_from_token(
        &st.db,
        &st.auth,
        &token,
        Channel::Api,
        "127.0.0.1",
        "tianshan-bench",
    )
    .await
    .map_err(msg("principal"))?
    .ok_or_else(|| CliError::Message("the new API token is not accepted".into()))?;
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| CliError::Message(e.to_string()))?;
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(|e| CliError::Message(e.to_string()))?;
    Ok((client, who))
}

async fn villages(st: &Platform) -> Result<Vec<Village>, CliError> {
    let found = bulk::villages(st).await.map_err(msg("villages"))?;
    if found.is_empty() {
        return Err(CliError::Message("the demo data has no villages".into()));
    }
    // Kashgar (6531..) is mostly Uyghur, Hami (6505..) mostly Han.
    Ok(found
        .into_iter()
        .map(|(code, path)| Village {
            uyghur_percent: if code.starts_with("6531") { 75 } else { 25 },
            code,
            path,
        })
        .collect())
}

/// Generate on a blocking thread while the database inserts the previous batch.
async fn load(
    st: &Platform,
    villages: &[Village],
    patients: u64,
    queries: usize,
    clock: &Clock,
) -> Result<Samples, CliError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<LoadRow>, String>>(2);
    let (vs, today) = (villages.to_vec(), clock.now().date());
    let every = (patients / queries.max(1) as u64).max(1);
    let producer = tokio::task::spawn_blocking(move || {
        let mut rng = Rng::new(20_261_122);
        let mut sample_rng = Rng::new(1);
        let mut samples = Samples::default();
        let mut batch = Vec::with_capacity(BATCH);
        for i in 0..patients {
            let input = gen::patient_input(i, &vs, &mut rng);
            let path = vs
                .iter()
                .find(|v| v.code == input.org_code)
                .map(|v| v.path.clone())
                .unwrap_or_default();
            let (row, sample) =
                match bulk::prepare(tianshan_platform::new_id(), &input, today, path) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx
                            .blocking_send(Err(format!("generated patient {i} is invalid: {e:?}")));
                        return samples;
                    }
                };
            if i % every == every / 2 {
                gen::sample(&sample, &mut sample_rng, &mut samples);
            }
            batch.push(row);
            if batch.len() == BATCH && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                return samples;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
        samples
    });
    let (mut done, started) = (0u64, Instant::now());
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(CliError::Message)?;
        let n = batch.len() as u64;
        bulk::insert(st, batch).await.map_err(msg("bulk insert"))?;
        done += n;
        if done % 100_000 < BATCH as u64 {
            eprintln!(
                "  {done} patients, {:.0}/s",
                done as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
    producer
        .await
        .map_err(|e| CliError::Message(format!("generator stopped: {e}")))
}

struct Report<'a> {
    backend: &'a str,
    patients: i64,
    load_rate: f64,
    load_secs: f64,
    size: Option<u64>,
    searches: Vec<(&'a str, SearchKind, Latency, Latency)>,
    sequential: Throughput,
    concurrent: Throughput,
}

fn print_report(r: &Report<'_>) {
    println!();
    println!(
        "Registry benchmark — {} — {} patients",
        r.backend, r.patients
    );
    println!();
    println!("| load | value |");
    println!("|---|---|");
    println!(
        "| bulk load | {:.0} patients/s ({:.1} s) |",
        r.load_rate, r.load_secs
    );
    match r.size {
        Some(b) => println!(
            "| database size on disk | {:.0} MiB |",
            b as f64 / 1_048_576.0
        ),
        None => println!("| database size on disk | unknown |"),
    }
    println!();
    println!("| search (GET /api/v1/patients?…) | n | mean rows | HTTP p50 ms | HTTP p99 ms | server p50 ms | server p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, _, http, service) in &r.searches {
        println!(
            "| {label} | {} | {:.1} | {} | {} | {} | {} | {} |",
            http.samples.len(),
            http.mean_hits(),
            ms(http.quantile(0.5)),
            ms(http.quantile(0.99)),
            ms(service.quantile(0.5)),
            ms(service.quantile(0.99)),
            http.errors + service.errors
        );
    }
    println!();
    println!(
        "| FHIR create (POST /fhir/r4/Patient) | created | failed | creates/s | p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, t) in [
        ("sequential, 1 client", &r.sequential),
        ("8 concurrent clients", &r.concurrent),
    ] {
        println!(
            "| {label} | {} | {} | {:.0} | {} | {} |",
            t.created,
            t.failed,
            t.per_second(),
            ms(t.latency.quantile(0.5)),
            ms(t.latency.quantile(0.99))
        );
    }
    println!();
    println!("HTTP: client-measured on loopback (reqwest, keep-alive). Server: the handler's service::search call (scope, SQL, audit entry) timed in-process.");
}
