//! The coordinator's board: every open need ranked against every current offer (specialty,
//! technique, shared dates, past missions of each rear hospital at the need's hospital), at the
//! sizes the board loads at most (500 open needs, 500 current offers) with 500 past missions,
//! repeated to give a median and a p99 of one board's ranking; and single pairs.
//! `TIANSHAN_BENCH_NEEDS`, `TIANSHAN_BENCH_OFFERS`, `TIANSHAN_BENCH_MISSIONS`,
//! `TIANSHAN_BENCH_RUNS` (default 500, 500, 500, 40) set the sizes; run with
//! `cargo bench -p tianshan-missions --bench missions`.
use std::hint::black_box;
use std::time::{Duration, Instant};

use tianshan_missions::bench::{fit, Board, NeedFacts, OfferFacts};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let (needs, offers, missions, runs) = (
        env("TIANSHAN_BENCH_NEEDS", 500),
        env("TIANSHAN_BENCH_OFFERS", 500),
        env("TIANSHAN_BENCH_MISSIONS", 500),
        env("TIANSHAN_BENCH_RUNS", 40).max(1),
    );
    let board = Board::generate(needs, offers, missions);
    for (name, indexed) in [("every offer", false), ("indexed", true)] {
        let mut samples = Vec::with_capacity(runs);
        let mut kept = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            kept = black_box(if indexed {
                board.rank()
            } else {
                board.rank_every_offer()
            });
            samples.push(t0.elapsed());
        }
        println!(
            "board ranking ({name}): {needs} open needs x {offers} offers, {missions} past missions, \
             {runs} runs: median {:.2?}, p99 {:.2?} ({kept} matches kept)",
            pct(&mut samples, 0.5),
            pct(&mut samples, 0.99)
        );
    }
    let (mcount, logs, techs) = (
        env("TIANSHAN_BENCH_MEASURE_MISSIONS", 500),
        env("TIANSHAN_BENCH_MEASURE_LOGS", 20_000),
        env("TIANSHAN_BENCH_MEASURE_TECHNIQUES", 2_000),
    );
    let mut samples = Vec::with_capacity(runs);
    let mut lines = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        lines = black_box(Board::measures(mcount, logs, techs));
        samples.push(t0.elapsed());
    }
    println!(
        "measures aggregation (generation included): {mcount} missions, {logs} day logs, \
         {techs} techniques, {runs} runs: median {:.2?}, p99 {:.2?} ({lines} lines)",
        pct(&mut samples, 0.5),
        pct(&mut samples, 0.99)
    );
    let n = NeedFacts {
        specialty: "神经内科",
        topic: "急性缺血性卒中静脉溶栓与机械取栓",
        from: "2026-03-01",
        to: "2026-05-31",
    };
    let o = OfferFacts {
        specialty: "神经内科",
        topic: "机械取栓 静脉溶栓 卒中中心建设",
        from: "2026-04-01",
        to: "2026-06-30",
        past_missions: 2,
    };
    let pairs = 200_000;
    let t0 = Instant::now();
    let mut score = 0;
    for _ in 0..pairs {
        score = black_box(fit(black_box(&n), black_box(&o))).score;
    }
    println!(
        "one need-offer pair read and ranked from text: {:.2?} each (score {score})",
        t0.elapsed() / pairs as u32
    );
}
