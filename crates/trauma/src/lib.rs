//! The regional trauma network registry (创伤救治网络): one record per injured patient carried
//! across hospitals, scores computed from what was observed, and the quality indicators.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod scoring;
