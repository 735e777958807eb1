//! The Tianshan binary's library half: configuration, wiring every module into one router,
//! and the admin commands. `main.rs` only parses the command line.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod bench;
pub mod cli;
pub mod forecast;
mod i18n_check;
pub mod import;
pub mod openapi;
