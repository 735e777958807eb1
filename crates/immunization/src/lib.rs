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
//!
//! Why the engine says so — per dose the rules that decided it, per vaccine group the series
//! chosen and why the others were not — with stable codes for pages in any language:
//!
//! ```no_run
//! # use tianshan_immunization::{explain, PatientHistory, Schedule};
//! # use time::macros::date;
//! # let schedule = Schedule::china()?;
//! # let child = PatientHistory::new(date!(2024 - 03 - 10));
//! let why = explain(&schedule, &child, date!(2024 - 05 - 01));
//! println!("{}", why.to_text());
//! let json = serde_json::to_string(&why); // codes, parameters and English text
//! # Ok::<(), tianshan_immunization::ScheduleError>(())
//! ```

mod engine;
pub mod errata;
mod evaluate;
pub mod explain;
pub mod fhir;
mod forecast;
pub mod loader;
pub mod model;
mod patient;
mod plan;
pub mod schedule;
mod select;
mod skip;
pub mod span;

pub use engine::{explain_antigen, forecast, DoseEvaluation, Forecast, VaccineGroupForecast};
pub use evaluate::{EvalReason, EvalReasons, EvalStatus};
pub use explain::{
    explain, AntigenExplanation, DoseExplanation, Explanation, GroupExplanation, Message,
    SeriesExplanation,
};
pub use fhir::{explain_ndjson, forecast_ndjson, forecast_parameters, ForecastError, RunSummary};
pub use forecast::SeriesStatus;
pub use loader::{load_schedule_dir, load_schedule_dir_with_errata};
pub use model::Cvx;
pub use patient::{DoseAdministered, Gender, PatientHistory, PatientObservation};
pub use schedule::{parse_product_codes, ProductCode, Schedule, ScheduleError, VaccineGroup};
