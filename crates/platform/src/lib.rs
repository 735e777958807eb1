//! The ground every Tianshan module stands on: database access for SQLite and PostgreSQL,
//! migrations, authentication, scopes, audit, i18n, the page shell and the API/FHIR plumbing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod db;
pub mod error;
pub mod events;
pub mod fhir;
pub mod fhir_rest;
pub mod i18n;
pub mod import;
pub mod migrate;
pub mod module;
pub mod outbox;
pub mod pages;
pub mod ratelimit;
pub mod roles;
pub mod schema;
pub mod scope;
pub mod state;
pub mod tabular;
pub mod users;
pub mod web;

pub use error::{AppError, FieldError, Msg};
pub use module::{ApiRouter, Module};
pub use state::Platform;
// Modules annotate their API handlers with these.
pub use utoipa;
pub use utoipa_axum;

/// Version of the running product, shown by `/healthz` and used to bust static asset caches.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
