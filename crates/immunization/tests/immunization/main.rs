//! The crate's one integration test binary: CDC CDSi conformance, the China schedule tables and
//! the FHIR faces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cdsi;
mod china;
mod explain;
mod fhir;

use std::path::PathBuf;

/// The project's shared test data (`shared/data`, beside the clone): `TIANSHAN_SHARED_DATA` if set,
/// else the first `shared/data` found walking up from this crate.
pub fn shared_data() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("TIANSHAN_SHARED_DATA") {
        return dir.into();
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/data"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/data above {}: set TIANSHAN_SHARED_DATA to the shared test data folder",
                here.display()
            )
        })
}

/// Shorthand used by the conformance and table tests.
pub fn data_dir() -> PathBuf {
    shared_data()
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
