//! Ranks offers against needs as the coordinator's board does (specialty, technique, dates,
//! past missions) for a region's open needs, on one thread. `TIANSHAN_BENCH_NEEDS` (default
//! 500) and `TIANSHAN_BENCH_OFFERS` (default 500) set the sizes; run with
//! `cargo bench -p tianshan-missions --bench missions`.
use std::hint::black_box;
use std::time::Instant;

use tianshan_missions::bench::{fit, NeedFacts, OfferFacts};

const SPECIALTIES: [&str; 8] = [
    "神经内科",
    "神经外科",
    "骨科",
    "心胸外科",
    "神经康复科",
    "消化内科",
    "血液内科",
    "眼科",
];
const TOPICS: [&str; 8] = [
    "急性缺血性卒中机械取栓",
    "帕金森病规范化诊疗",
    "关节镜手术",
    "胸腔镜肺癌根治术",
    "卒中后康复训练",
    "消化内镜下黏膜剥离术",
    "异基因造血干细胞移植",
    "白内障超声乳化手术",
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let needs = env("TIANSHAN_BENCH_NEEDS", 500);
    let offers = env("TIANSHAN_BENCH_OFFERS", 500);
    let dates: Vec<(String, String)> = (0..12)
        .map(|m| {
            (
                format!("2026-{:02}-01", m + 1),
                format!("2026-{:02}-28", m + 1),
            )
        })
        .collect();
    let start = Instant::now();
    let mut best = 0u32;
    let mut samples = Vec::with_capacity(needs);
    for i in 0..needs {
        let t0 = Instant::now();
        let n = NeedFacts {
            specialty: SPECIALTIES[i % 8],
            topic: TOPICS[(i / 3) % 8],
            from: &dates[i % 12].0,
            to: &dates[(i % 12).max(i % 7)].1,
        };
        for j in 0..offers {
            let o = OfferFacts {
                specialty: SPECIALTIES[j % 8],
                topic: TOPICS[(j / 5) % 8],
                from: &dates[j % 12].0,
                to: &dates[(j + 2) % 12].1,
                past_missions: j % 4,
            };
            best = best.max(black_box(fit(&n, &o)).score);
        }
        samples.push(t0.elapsed());
    }
    let total = start.elapsed();
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "needs/offers ranking: {needs} needs x {offers} offers in {total:.2?} (best score {best})"
    );
    println!(
        "per need (ranking all offers): median {:.2?}, p99 {:.2?}",
        pct(0.5),
        pct(0.99)
    );
}
