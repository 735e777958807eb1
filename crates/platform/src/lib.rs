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

/// A new record id: a UUID whose first 48 bits are the time in milliseconds (version 7, RFC
/// 9562), so that records created one after another sort together. Every index keyed by a
/// record id (the primary key, search terms by patient, audit entries by patient) then grows
/// at its end instead of in a random page, which keeps a write's pages few and hot on both
/// databases. The id says when the record was made, as its `meta.lastUpdated` already does to
/// anyone who may read it. Within a millisecond a counter (started at a random value each
/// millisecond) keeps this process's ids in order, and 32 more bits are random. An id is a
/// name, not a secret: every read checks the reader's scope.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..2000).map(|_| super::new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "ids out of order or repeated");
        // Version 7 (the 13th hex digit), RFC 9562 variant, the usual text form.
        let id = uuid::Uuid::parse_str(&ids[0]).expect("an id is a UUID");
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.to_string(), ids[0]);
    }
}
