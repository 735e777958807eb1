//! Pure registry rules: resident ID numbers, names and search terms, patient validation,
//! duplicate detection and transfer/share requests. No I/O; today's date is passed in.
pub mod names;
pub mod patient;
pub mod requests;
pub mod resident_id;

pub use patient::{DuplicateKind, PatientDraft, PatientInput};
