//! The registry's SQL: organisations, practitioners, patients. One query body for both
//! backends through `with_db!`.
pub mod bulk;
pub mod orgs;
pub mod patients;
pub mod practitioners;

pub use orgs::Org;
pub use patients::{PatientQuery, PatientRow};
pub use practitioners::PractitionerRow;
