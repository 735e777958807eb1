//! Expert missions and talent development: recipient departments' needs from a menu, rear
//! hospitals' offers, the coordinator's ranked matching, missions with their day logs and
//! reports, aid staff rotations, mentorships (师带徒) and department requests (一人援疆，全科援疆).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod demo;
mod domain;
mod files;
mod schema;
mod service;
mod store;
mod web;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;

/// The missions module.
pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("missions"),
        nav: vec![NavItem::new("missions.nav", "/missions", Some(perms::READ))],
        pages: web::routes(),
        api: api::routes(),
        demo: Some(demo::loader),
        ..Module::new("missions")
    }
}

/// For the benchmark: the ranking of offers against needs, without a database.
pub mod bench {
    pub use crate::domain::{fit, Fit, NeedFacts, OfferFacts};
}
