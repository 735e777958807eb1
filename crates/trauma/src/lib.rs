//! The regional trauma network registry (创伤救治网络): one record per injured patient carried
//! across hospitals, scores computed from what was observed, and the quality indicators.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod bench;
pub mod demo;
pub mod domain;
mod fhir;
pub mod import;
pub mod indicators;
mod schema;
pub mod scoring;
mod service;
mod store;
mod web;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;

/// The trauma registry as a module.
pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("trauma"),
        nav: vec![NavItem::new("trauma.nav", "/trauma", Some(perms::READ))],
        pages: web::routes(),
        api: api::routes(),
        fhir: fhir::types(),
        demo: Some(demo::loader),
        ..Module::new("trauma")
    }
}
