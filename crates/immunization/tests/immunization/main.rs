//! The crate's one integration test binary: CDC CDSi conformance, the China schedule tables and
//! the FHIR faces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cdsi;
mod china;
mod fhir;

use std::path::PathBuf;

/// Shared data (`/work/shared/data` unless `TIANSHAN_DATA` says otherwise).
pub fn data_dir() -> PathBuf {
    std::env::var_os("TIANSHAN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data"))
}

/// The China schedule shipped with the crate.
pub fn china_schedule() -> tianshan_immunization::Schedule {
    tianshan_immunization::load_schedule_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schedules/china"
    ))
    .expect("China schedule loads")
}

/// The recommendation entry of one vaccine group in an `$immds-forecast` answer.
pub fn recommendation_for<'a>(answer: &'a serde_json::Value, group: &str) -> &'a serde_json::Value {
    let parameters = answer["parameter"].as_array().expect("parameters");
    let recommendation = parameters
        .iter()
        .find(|p| p["name"] == "recommendation")
        .expect("a recommendation");
    let entries = recommendation["resource"]["recommendation"]
        .as_array()
        .expect("entries");
    entries
        .iter()
        .find(|e| e["vaccineCode"][0]["text"] == group)
        .expect("the group's entry")
}
