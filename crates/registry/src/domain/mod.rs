//! Pure registry rules: resident ID numbers, names and search terms, patient validation and
//! duplicate detection. No I/O; today's date is passed in.
pub mod names;
pub mod patient;
pub mod resident_id;

pub use patient::{DuplicateKind, PatientDraft, PatientInput, Sex};
pub use resident_id::ResidentId;
