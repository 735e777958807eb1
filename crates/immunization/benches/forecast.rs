//! Forecasts synthetic children against the China schedule (ages 0-7, ~22 doses each) and the
//! CDC schedule (ages 0-18, US childhood programme), on one thread and on all cores.
//! `TIANSHAN_BENCH_CHILDREN` sets how many China children (default 500000),
//! `TIANSHAN_BENCH_CDC_CHILDREN` how many CDC children (default 200000; 0 skips the CDC run);
//! run with `cargo bench -p tianshan-immunization --bench forecast`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use tianshan_immunization::{forecast, Cvx, DoseAdministered, PatientHistory, Schedule};
use time::{Date, Month};

/// xorshift64*: small, deterministic, good enough to vary histories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// (product CVX, age in days at the usual visit) of the China programme plus common extras.
const CHINA_PLAN: &[(u16, i32)] = &[
    (8, 0),
    (19, 0),
    (8, 30),
    (10, 61),
    (48, 61),
    (133, 61),
    (10, 91),
    (20, 91),
    (133, 122),
    (178, 122),
    (20, 122),
    (20, 152),
    (8, 183),
    (191, 183),
    (133, 183),
    (3, 243),
    (9001, 243),
    (191, 274),
    (9002, 183),
    (9002, 213),
    (20, 548),
    (3, 548),
    (169, 548),
    (21, 365),
    (9001, 730),
    (192, 1095),
    (178, 1461),
    (21, 1461),
    (28, 2191),
    (192, 2191),
];

/// (CVX, age in days at the usual visit) of the US childhood and adolescent schedule.
const CDC_PLAN: &[(u16, i32)] = &[
    (8, 0),
    (8, 30),
    (20, 61),
    (10, 61),
    (49, 61),
    (133, 61),
    (116, 61),
    (20, 122),
    (10, 122),
    (49, 122),
    (133, 122),
    (116, 122),
    (20, 183),
    (10, 183),
    (133, 183),
    (116, 183),
    (8, 183),
    (150, 200),
    (150, 230),
    (3, 365),
    (21, 365),
    (83, 365),
    (49, 365),
    (133, 365),
    (20, 457),
    (83, 548),
    (150, 600),
    (20, 1461),
    (10, 1461),
    (3, 1461),
    (21, 1461),
    (115, 4018),
    (165, 4018),
    (114, 4018),
    (165, 4200),
    (114, 5844),
    (163, 5844),
    (163, 6030),
];

fn child(plan: &[(u16, i32)], max_age_years: u64, seed: u64, assessment: Date) -> PatientHistory {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let age_days = rng.below(max_age_years * 365) as i32;
    let birth = Date::from_julian_day(assessment.to_julian_day() - age_days).unwrap_or(assessment);
    let mut patient = PatientHistory::new(birth);
    let style = rng.below(10); // 0-5 on time, 6-8 late, 9 early or messy
    for &(cvx, at) in plan {
        if at > age_days || rng.below(100) < 8 {
            continue;
        }
        let shift = match style {
            0..=5 => rng.below(10) as i32,
            6..=8 => rng.below(120) as i32,
            _ => rng.below(40) as i32 - 20,
        };
        let day = (at + shift).clamp(0, age_days);
        let date = Date::from_julian_day(birth.to_julian_day() + day).unwrap_or(birth);
        patient.doses.push(DoseAdministered {
            id: String::new(),
            date,
            cvx: Cvx(cvx),
            mvx: None,
        });
    }
    patient
}

/// One population: a schedule and how its synthetic children are made.
struct Population<'a> {
    label: &'a str,
    schedule: &'a Schedule,
    plan: &'a [(u16, i32)],
    max_age_years: u64,
}

impl Population<'_> {
    fn run(&self, from: u64, to: u64, assessment: Date) -> usize {
        let mut groups = 0;
        for seed in from..to {
            let patient = child(self.plan, self.max_age_years, seed, assessment);
            let result = forecast(self.schedule, black_box(&patient), assessment);
            groups += black_box(result.vaccine_groups.len());
        }
        groups
    }

    fn measure(&self, children: u64, assessment: Date) {
        let start = Instant::now();
        let mut doses = 0usize;
        for seed in 0..children {
            doses += black_box(child(self.plan, self.max_age_years, seed, assessment))
                .doses
                .len();
        }
        let generate = start.elapsed().as_secs_f64();
        let label = self.label;
        println!(
            "[{label}] generated {children} children ({:.1} doses each) in {generate:.2}s",
            doses as f64 / children.max(1) as f64
        );

        let start = Instant::now();
        let groups = self.run(0, children, assessment);
        let single = start.elapsed().as_secs_f64();
        println!(
            "[{label}] 1 thread:  {children} children in {single:.2}s = {:.0} children/s ({:.1} us/child incl. generation; {groups} group forecasts)",
            children as f64 / single,
            single * 1e6 / children as f64
        );

        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let start = Instant::now();
        let per = children.div_ceil(threads);
        let total: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope
                        .spawn(move || self.run(t * per, ((t + 1) * per).min(children), assessment))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        let multi = start.elapsed().as_secs_f64();
        println!(
            "[{label}] {threads} threads: {children} children in {multi:.2}s = {:.0} children/s ({total} group forecasts)",
            children as f64 / multi
        );
    }
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CDC supporting data in the project's shared data (`TIANSHAN_SHARED_DATA` or the first
/// `shared/data` above this crate).
fn cdc_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("TIANSHAN_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared/data"))
            .find(|d| d.is_dir())?,
    };
    Some(base.join("cdsi/supporting-data-v4.64-508")).filter(|d| d.is_dir())
}

fn count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let children = count("TIANSHAN_BENCH_CHILDREN", 500_000);
    let cdc_children = count("TIANSHAN_BENCH_CDC_CHILDREN", 200_000);
    let Ok(assessment) = Date::from_calendar_date(2025, Month::June, 1) else {
        return;
    };

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/china");
    let Ok(china) = tianshan_immunization::load_schedule_dir(dir) else {
        eprintln!("cannot load {dir}");
        std::process::exit(1);
    };
    Population {
        label: "China",
        schedule: &china,
        plan: CHINA_PLAN,
        max_age_years: 7,
    }
    .measure(children, assessment);
    if let Some(kib) = peak_memory_kib() {
        println!(
            "[China] peak memory (VmHWM) so far: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }

    if cdc_children > 0 {
        match cdc_dir().map(tianshan_immunization::load_schedule_dir) {
            Some(Ok(cdc)) => Population {
                label: "CDC",
                schedule: &cdc,
                plan: CDC_PLAN,
                max_age_years: 18,
            }
            .measure(cdc_children, assessment),
            Some(Err(e)) => eprintln!("[CDC] cannot load the CDC supporting data: {e}"),
            None => eprintln!(
                "[CDC] skipped: no shared/data/cdsi/supporting-data-v4.64-508 (set TIANSHAN_SHARED_DATA)"
            ),
        }
    }
    if let Some(kib) = peak_memory_kib() {
        println!("peak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}
