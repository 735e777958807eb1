//! Tele-consultation and two-way referral across the network (远程会诊 · 双向转诊): a clinician
//! files a case about a registered patient; it is routed to a department, an expert, a rear
//! hospital or an international partner, accepted, answered and acknowledged with a clock;
//! referrals go up and back down with feedback. Patients and organisations only through the
//! registry's facade.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
mod attachments;
pub mod bench;
pub mod demo;
pub mod demo_data;
pub mod domain;
mod fhir;
mod referrals;
mod reports;
mod schema;
pub mod service;
mod store;
pub mod tasks;
mod web;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;
pub use tasks::escalate_overdue;

/// The consultation module.
pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("consult"),
        nav: vec![NavItem::new(
            "consult.nav",
            "/consult",
            Some(perms::REQUEST),
        )],
        pages: web::routes(),
        api: api::routes(),
        fhir: fhir::types(),
        demo: Some(demo::loader),
        tasks: vec![tasks::sweep],
        ..Module::new("consult")
    }
}
