//! Forecasts synthetic children against the China schedule, on one thread and on all cores.
//! `TIANSHAN_BENCH_CHILDREN` sets how many (default 500000); run with
//! `cargo bench -p tianshan-immunization --bench forecast`.

use std::hint::black_box;
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
const PLAN: &[(u16, i32)] = &[
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

fn child(seed: u64, assessment: Date) -> PatientHistory {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let age_days = rng.below(7 * 365) as i32;
    let birth = Date::from_julian_day(assessment.to_julian_day() - age_days).unwrap_or(assessment);
    let mut patient = PatientHistory::new(birth);
    let style = rng.below(10); // 0-5 on time, 6-8 late, 9 early or messy
    for &(cvx, at) in PLAN {
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

fn run(schedule: &Schedule, from: u64, to: u64, assessment: Date) -> usize {
    let mut groups = 0;
    for seed in from..to {
        let patient = child(seed, assessment);
        let result = forecast(schedule, black_box(&patient), assessment);
        groups += black_box(result.vaccine_groups.len());
    }
    groups
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let children: u64 = std::env::var("TIANSHAN_BENCH_CHILDREN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules/china");
    let Ok(schedule) = tianshan_immunization::load_schedule_dir(dir) else {
        eprintln!("cannot load {dir}");
        std::process::exit(1);
    };
    let Ok(assessment) = Date::from_calendar_date(2025, Month::June, 1) else {
        return;
    };

    let start = Instant::now();
    let mut doses = 0usize;
    for seed in 0..children {
        doses += black_box(child(seed, assessment)).doses.len();
    }
    let generate = start.elapsed().as_secs_f64();
    println!("generated {children} children ({doses} doses) in {generate:.2}s");

    let start = Instant::now();
    let groups = run(&schedule, 0, children, assessment);
    let single = start.elapsed().as_secs_f64();
    println!(
        "single thread: {children} children in {single:.2}s = {:.0} children/s ({:.1} us/child incl. generation; {groups} group forecasts)",
        children as f64 / single,
        single * 1e6 / children as f64
    );

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let start = Instant::now();
    let per = children.div_ceil(threads);
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let schedule = &schedule;
                scope.spawn(move || {
                    run(schedule, t * per, ((t + 1) * per).min(children), assessment)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let multi = start.elapsed().as_secs_f64();
    println!(
        "{threads} threads: {children} children in {multi:.2}s = {:.0} children/s ({total} group forecasts)",
        children as f64 / multi
    );
    if let Some(kib) = peak_memory_kib() {
        println!("peak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}
