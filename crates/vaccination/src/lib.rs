//! The digital vaccination clinic (数字化预防接种门诊): children's records and due lists from
//! the forecast engine, the clinic day station by station, vaccine stock, cold chain and
//! adverse events. Children are registry patients, reached only through the registry's facade.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
mod api_followup;
mod api_vials;
mod coverage_page;
pub mod demo;
pub mod domain;
mod fhir;
mod forms;
mod mqtt;
mod schema;
pub mod service;
mod store;
mod web;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;

/// What the benchmark needs: the row types, an empty clinic with one lot, and loading doses
/// already checked (generated histories) inside the caller's transaction.
pub mod bulk {
    pub use crate::store::{bench_clinic, insert_dose, DoseRow, ProductRow};
}

pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("vaccination"),
        nav: vec![NavItem::new("vacc.nav", "/vaccination", Some(perms::READ))],
        pages: web::routes()
            .merge(forms::routes())
            .merge(coverage_page::routes()),
        api: api::routes(),
        fhir: fhir::types(),
        demo: Some(demo::loader),
        tasks: vec![mqtt::task, service::vial_task],
        ..Module::new("vaccination")
    }
}
