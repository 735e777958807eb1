//! The registry: the organisation tree, facilities and departments, practitioners and
//! patients, with their pages, JSON API and FHIR R4 resources. Every later module links its
//! records to a registry patient through [`facade`], the only public way in.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod demo;
mod domain;
pub mod facade;
mod fhir;
mod schema;
mod service;
mod store;
mod web;

pub mod bulk;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;

/// The registry as a module.
pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("registry"),
        nav: vec![
            NavItem::new("nav.patients", "/patients", Some(perms::PATIENTS_READ)),
            NavItem::new(
                "nav.practitioners",
                "/practitioners",
                Some(perms::DIRECTORY_READ),
            ),
            NavItem::new("nav.orgs", "/orgs", Some(perms::DIRECTORY_READ)),
            NavItem::new(
                "request.nav",
                "/patient-requests",
                Some(perms::PATIENTS_TRANSFER),
            ),
        ],
        pages: web::routes(),
        api: api::routes().merge(fhir::routes()),
        fhir: fhir::types(),
        demo: Some(demo::loader),
        ..Module::new("registry")
    }
}

/// The Resident ID rules, for modules that read ID numbers from files.
pub mod resident_id {
    pub use crate::domain::resident_id::{ResidentId, ResidentIdError};
}
