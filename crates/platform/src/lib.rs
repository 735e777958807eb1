//! The ground every Tianshan module stands on: database access for SQLite and PostgreSQL,
//! migrations, authentication, scopes, audit, i18n, the page shell and the API/FHIR plumbing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod auth;
pub mod clock;
pub mod db;
pub mod error;
pub mod fhir;
pub mod i18n;
pub mod migrate;
pub mod pages;
pub mod ratelimit;
pub mod schema;
pub mod scope;
pub mod state;
pub mod web;

pub use error::{AppError, FieldError, Msg};
pub use state::Platform;

/// Version of the running product, shown by `/healthz` and used to bust static asset caches.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
