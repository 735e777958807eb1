//! Quality indicators of a set of records (a hospital's, a prefecture's, a period's), pure.
//!
//! Definitions (also on the indicators page and in README):
//! - **Cases**: records whose first hospital arrival falls in the period and that have a stay
//!   at the organisation chosen or below it (a hospital, a county, a prefecture).
//! - **Arrival to operation**: minutes from arrival at the hospital where the first operation
//!   took place to its start; operated cases only. Median and 90th percentile by nearest rank.
//! - **Pre-hospital time**: minutes from the emergency call (the injury when no call is known)
//!   to the first hospital arrival.
//! - **Transfer time**: minutes from leaving one hospital to arriving at the next, summed over
//!   the record's transfers; transferred cases only.
//! - **Severe operated within 60 min**: among ISS ≥ 16 cases that were operated, the share
//!   whose arrival-to-operation was at most 60 minutes.
//! - **Crude mortality**: deaths (at discharge or 30 days) over cases with a known outcome.
//! - **TRISS**: over cases with Ps and a known outcome, W, Z and observed/expected deaths
//!   with a 95 % interval (see `scoring::triss_stats`).
use serde::Serialize;
use utoipa::ToSchema;

use crate::scoring::{percentile, triss_stats, TrissStats};
use crate::store::IndicatorRow;

/// A severe case (ISS ≥ 16) should be in the operating room within this many minutes.
pub const TARGET_OPERATION_MIN: i64 = 60;
/// Call to first hospital arrival.
pub const TARGET_PREHOSPITAL_MIN: i64 = 60;
/// Leaving one hospital to arriving at the next.
pub const TARGET_TRANSFER_MIN: i64 = 120;
pub const SEVERE_ISS: i64 = 16;

#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct Spread {
    pub n: u64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

fn spread(mut v: Vec<i64>) -> Spread {
    v.sort_unstable();
    Spread {
        n: v.len() as u64,
        median: percentile(&v, 0.5),
        p90: percentile(&v, 0.9),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct MonthRow {
    pub month: String,
    pub cases: u64,
    pub arrival_to_op_median: Option<i64>,
    pub deaths: u64,
    pub known_outcome: u64,
    /// Survival among cases with a known outcome, 0..1.
    pub survival: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Indicators {
    pub cases: u64,
    pub arrival_to_op: Spread,
    pub prehospital: Spread,
    pub transfer: Spread,
    pub severe_operated: u64,
    pub severe_within_60: u64,
    /// severe_within_60 / severe_operated.
    pub severe_within_60_share: Option<f64>,
    pub known_outcome: u64,
    pub deaths: u64,
    pub crude_mortality: Option<f64>,
    pub triss: TrissStats,
    pub months: Vec<MonthRow>,
}

pub fn compute(rows: &[IndicatorRow]) -> Indicators {
    let arr: Vec<i64> = rows.iter().filter_map(|r| r.arrival_to_op_min).collect();
    let pre: Vec<i64> = rows.iter().filter_map(|r| r.prehospital_min).collect();
    let tr: Vec<i64> = rows.iter().filter_map(|r| r.transfer_min).collect();
    let severe: Vec<i64> = rows
        .iter()
        .filter(|r| r.iss.is_some_and(|i| i >= SEVERE_ISS))
        .filter_map(|r| r.arrival_to_op_min)
        .collect();
    let within = severe
        .iter()
        .filter(|m| **m <= TARGET_OPERATION_MIN)
        .count() as u64;
    let known = rows.iter().filter(|r| r.died.is_some()).count() as u64;
    let deaths = rows.iter().filter(|r| r.died == Some(1)).count() as u64;
    let pairs: Vec<(f64, bool)> = rows
        .iter()
        .filter_map(|r| Some((r.ps_e6? as f64 / 1e6, r.died? == 0)))
        .collect();
    let mut months: std::collections::BTreeMap<&str, Vec<&IndicatorRow>> = Default::default();
    for r in rows {
        months.entry(r.month.as_str()).or_default().push(r);
    }
    let months = months
        .into_iter()
        .map(|(m, rs)| {
            let mut a: Vec<i64> = rs.iter().filter_map(|r| r.arrival_to_op_min).collect();
            a.sort_unstable();
            let known = rs.iter().filter(|r| r.died.is_some()).count() as u64;
            let deaths = rs.iter().filter(|r| r.died == Some(1)).count() as u64;
            MonthRow {
                month: m.to_string(),
                cases: rs.len() as u64,
                arrival_to_op_median: percentile(&a, 0.5),
                deaths,
                known_outcome: known,
                survival: (known > 0).then(|| 1.0 - deaths as f64 / known as f64),
            }
        })
        .collect();
    Indicators {
        cases: rows.len() as u64,
        arrival_to_op: spread(arr),
        prehospital: spread(pre),
        transfer: spread(tr),
        severe_operated: severe.len() as u64,
        severe_within_60: within,
        severe_within_60_share: (!severe.is_empty()).then(|| within as f64 / severe.len() as f64),
        known_outcome: known,
        deaths,
        crude_mortality: (known > 0).then(|| deaths as f64 / known as f64),
        triss: triss_stats(&pairs),
        months,
    }
}
