//! Tianshan's integration tests: one test binary (each costs link time), the real server on
//! a random port, a fresh database per test, every scenario on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod architecture;
mod browser;
mod cli;
mod consult;
mod fhir_platform;
mod forecast;
mod helpers;
mod missions;
mod multiprocess;
mod registry_api;
mod registry_fhir;
mod registry_requests;
mod registry_web;
mod security;
mod trauma;
mod vaccination;
