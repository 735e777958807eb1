//! Benchmark support (for `benches/trauma.rs` and operators measuring a server): a synthetic
//! decade of the four southern prefectures written straight into an empty database, and the
//! indicator computation timed as the page and API run it. Not used by the live paths.
use tianshan_platform::db::Db;
use tianshan_platform::AppError;

use crate::domain;
use crate::indicators::{self, Indicators};
use crate::service;
use crate::store::{self, Filter, RecordRow, StayRow};

/// The synthetic network: region, four prefectures, each with a hospital; the regional centre
/// is Kashgar's.
pub const ORGS: &[(&str, Option<&str>, &str, &str)] = &[
    ("650000", None, "region", "/650000/"),
    ("653100", Some("650000"), "prefecture", "/650000/653100/"),
    ("653200", Some("650000"), "prefecture", "/650000/653200/"),
    ("653000", Some("650000"), "prefecture", "/650000/653000/"),
    ("652900", Some("650000"), "prefecture", "/650000/652900/"),
    (
        "653200-H01",
        Some("653200"),
        "hospital",
        "/650000/653200/653200-H01/",
    ),
    (
        "653000-H01",
        Some("653000"),
        "hospital",
        "/650000/653000/653000-H01/",
    ),
    (
        "652900-H01",
        Some("652900"),
        "hospital",
        "/650000/652900/652900-H01/",
    ),
    (
        "653100-H01",
        Some("653100"),
        "hospital",
        "/650000/653100/653100-H01/",
    ),
];

/// Migrations a bench database needs: the platform's, the registry's and the trauma module's.
pub fn migrations() -> Vec<tianshan_platform::migrate::Migration> {
    let mut m = tianshan_platform::schema::migrations();
    m.extend(tianshan_registry::module().migrations);
    m.extend(crate::module().migrations);
    m
}

/// The records of one month (0 = January 2019) of a decade of `n` records (the demo
/// generator's shapes, scored by the same rules), ids `b-<month>-<i>`.
pub fn synthetic_month(n: usize, month: u32, seed: u64) -> Vec<(RecordRow, Vec<StayRow>)> {
    let per_month = (n as u32).div_ceil(120).max(1);
    let path = |code: &str| {
        ORGS.iter()
            .find(|o| o.0 == code)
            .map(|o| o.3.to_string())
            .unwrap_or_else(|| ORGS[8].3.to_string())
    };
    crate::demo::generate_months(month..month + 1, per_month, seed)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (mut r, risk))| {
            r.patient_id = "bench-patient".into();
            for s in &mut r.stays {
                if !ORGS.iter().any(|o| o.0 == s.org_code) {
                    s.org_code = "653200-H01".into();
                }
            }
            let mut c = domain::check(r, false).ok()?;
            let died = (i as f64 * 0.618_033_988_7).fract() < risk * 0.5;
            c.input.outcome_discharge = if died { "dead" } else { "alive" }.into();
            let stays: Vec<StayRow> = c
                .input
                .stays
                .iter()
                .enumerate()
                .map(|(k, s)| StayRow {
                    position: k as i64,
                    org_code: s.org_code.clone(),
                    org_path: path(&s.org_code),
                    arrived_at: s.arrived_at.clone(),
                    departed_at: s.departed_at.clone(),
                })
                .collect();
            let (mut row, _) = service::build(&c, &stays, Some(20 + (i % 60) as u16), "male");
            row.id = format!("b-{month:03}-{i:06}");
            row.created_by = "bench".into();
            row.created_at = row.first_arrival_at.clone();
            row.updated_at = row.first_arrival_at.clone();
            row.version = 1;
            Some((row, stays))
        })
        .collect()
}

/// Write the organisations and the one patient the records hang on.
pub async fn fixture(db: &Db, now: &str) -> Result<(), AppError> {
    db.write(now.to_string(), |tx| {
        Box::pin(async move { store::bench_fixture(tx, ORGS, "bench-patient").await })
    })
    .await
}

/// Write records in transactions of `batch`.
pub async fn load(
    db: &Db,
    now: &str,
    rows: Vec<(RecordRow, Vec<StayRow>)>,
    batch: usize,
) -> Result<(), AppError> {
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(batch));
        let chunk = std::mem::replace(&mut rows, rest);
        db.write(now.to_string(), move |tx| {
            Box::pin(async move { store::bench_insert(tx, &chunk).await })
        })
        .await?;
    }
    Ok(())
}

/// Indicators of the records with a stay under `org_path`, first arrival in `[from, to)`
/// (RFC 3339 bounds; empty = open), as the service computes them.
pub async fn indicators(
    db: &Db,
    org_path: &str,
    from: &str,
    to: &str,
) -> Result<Indicators, AppError> {
    let f = Filter {
        lo: org_path.to_string(),
        hi: tianshan_platform::db::prefix_end(org_path),
        from: from.to_string(),
        to: if to.is_empty() {
            "9999".into()
        } else {
            to.to_string()
        },
        review: String::new(),
        limit: 0,
    };
    let rows = store::indicator_rows(db, &f).await?;
    Ok(indicators::compute(&rows))
}
