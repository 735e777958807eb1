//! The registry's SQL: organisations, practitioners, patients. One query body for both
//! backends through `with_db!`.
pub mod bulk;
pub mod orgs;
pub mod pages;
pub mod patients;
pub mod practitioners;
pub mod requests;

pub use orgs::Org;
pub use patients::PatientRow;
pub use practitioners::PractitionerRow;
