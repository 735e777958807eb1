//! The shared state every handler receives.
use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Db;
use crate::i18n::I18n;
use crate::ratelimit::LoginLimiter;
use crate::scope::Permission;

/// A navigation entry a module contributes to the page shell.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Catalogue key of the label.
    pub label: &'static str,
    pub href: &'static str,
    /// Modules still to come are listed but not linked.
    pub ready: bool,
    pub needs: Option<Permission>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (true whenever the server is reached over HTTPS).
    pub secure_cookies: bool,
    pub nav: Vec<NavItem>,
    /// State a module brings along (e.g. the immunization schedule), keyed by type.
    pub modules: axum::http::Extensions,
}

#[derive(Clone)]
pub struct Platform {
    pub db: Db,
    pub i18n: Arc<I18n>,
    pub clock: Clock,
    pub limiter: Arc<LoginLimiter>,
    pub config: Arc<Config>,
}
