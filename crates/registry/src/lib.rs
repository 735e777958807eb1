//! The registry: the organisation tree, facilities and departments, practitioners and
//! patients, with their pages, JSON API and FHIR R4 resources. Every later module links
//! its records to a registry patient.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod demo;
pub mod domain;
pub mod fhir;
pub mod schema;
pub mod service;
pub mod store;
pub mod web;

use axum::Router;
use tianshan_platform::i18n::{CatalogueSource, Locale};
use tianshan_platform::Platform;

pub fn routes() -> Router<Platform> {
    Router::new()
        .merge(web::routes())
        .merge(api::routes())
        .merge(fhir::routes())
}

pub fn catalogues() -> Vec<CatalogueSource> {
    vec![
        (
            Locale::En,
            "registry/en",
            include_str!("../locales/en.toml"),
        ),
        (
            Locale::ZhHans,
            "registry/zh-Hans",
            include_str!("../locales/zh-Hans.toml"),
        ),
        (
            Locale::ZhHant,
            "registry/zh-Hant",
            include_str!("../locales/zh-Hant.toml"),
        ),
        (
            Locale::Ug,
            "registry/ug",
            include_str!("../locales/ug.toml"),
        ),
    ]
}
