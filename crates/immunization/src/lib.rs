//! Immunization forecast engine following the CDC CDSi logic specification (v4.6): evaluates a
//! child's doses, selects the best series and forecasts the next dose, with schedules as data.
//!
//! ```no_run
//! use tianshan_immunization::{forecast, Cvx, DoseAdministered, PatientHistory, Schedule};
//! use time::macros::date;
//!
//! let schedule = Schedule::china()?;
//! let mut child = PatientHistory::new(date!(2024 - 03 - 10));
//! child.doses.push(DoseAdministered { id: "1".into(), date: date!(2024 - 03 - 10), cvx: Cvx(8), mvx: None });
//! let result = forecast(&schedule, &child, date!(2024 - 05 - 01));
//! for group in &result.vaccine_groups {
//!     println!("{} {} {:?}", group.vaccine_group, group.status, group.earliest);
//! }
//! # Ok::<(), tianshan_immunization::ScheduleError>(())
//! ```

mod engine;
mod evaluate;
pub mod fhir;
mod forecast;
pub mod loader;
pub mod model;
mod patient;
pub mod schedule;
mod select;
mod skip;
pub mod span;

pub use engine::{explain_antigen, forecast, DoseEvaluation, Forecast, VaccineGroupForecast};
pub use evaluate::{EvalReason, EvalReasons, EvalStatus};
pub use fhir::{forecast_ndjson, forecast_parameters, ForecastError, RunSummary};
pub use forecast::SeriesStatus;
pub use loader::load_schedule_dir;
pub use model::Cvx;
pub use patient::{DoseAdministered, Gender, PatientHistory, PatientObservation};
pub use schedule::{parse_product_codes, ProductCode, Schedule, ScheduleError, VaccineGroup};
