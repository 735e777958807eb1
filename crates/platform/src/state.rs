//! The shared state every handler receives.
use std::sync::Arc;

use crate::audit::{ActionDef, AuditRow, Event};
use crate::auth::{AuthCache, Principal};
use crate::clock::Clock;
use crate::db::{Db, WriteFn};
use crate::error::AppError;
use crate::events::Events;
use crate::fhir::FhirType;
use crate::i18n::I18n;
use crate::scope::{Permission, PermissionDef};

/// A navigation entry a module contributes to the page shell. Shown only to users who hold
/// `needs` (when set).
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Catalogue key of the label.
    pub label: &'static str,
    pub href: &'static str,
    pub needs: Option<Permission>,
}

impl NavItem {
    pub const fn new(label: &'static str, href: &'static str, needs: Option<Permission>) -> Self {
        NavItem { label, href, needs }
    }
}

#[derive(Clone)]
pub struct Config {
    /// Mark cookies `Secure` and send HSTS (true whenever the server is reached over HTTPS).
    pub secure_cookies: bool,
    pub nav: Vec<NavItem>,
    /// Every permission the installed modules declare, with the module's name.
    pub permissions: Vec<(&'static str, PermissionDef)>,
    pub actions: Vec<ActionDef>,
    pub fhir: Vec<Arc<dyn FhirType>>,
    /// `(name, definition URL)` of FHIR operations (`$immds-forecast`), for the capability
    /// statement.
    pub fhir_operations: Vec<(&'static str, &'static str)>,
    /// State a module brings along (e.g. the immunization schedule), keyed by type.
    pub modules: axum::http::Extensions,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secure_cookies", &self.secure_cookies)
            .field("nav", &self.nav.len())
            .field("permissions", &self.permissions.len())
            .finish()
    }
}

impl Config {
    pub fn fhir_type(&self, name: &str) -> Option<&Arc<dyn FhirType>> {
        self.fhir.iter().find(|t| t.resource_type() == name)
    }
}

/// Per-server caches a module keeps (one of each type), created on first use. Per instance,
/// not global: tests run several servers in one process.
#[derive(Default)]
pub struct Caches(
    std::sync::Mutex<
        std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>,
    >,
);

#[derive(Clone)]
pub struct Platform {
    pub db: Db,
    pub i18n: Arc<I18n>,
    pub clock: Clock,
    pub auth: Arc<AuthCache>,
    pub events: Events,
    pub config: Arc<Config>,
    pub caches: Arc<Caches>,
}

impl Platform {
    /// This server's cache of type `T` (created empty on first use).
    pub fn cache<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let id = std::any::TypeId::of::<T>();
        let mut map = match self.caches.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let entry = map
            .entry(id)
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn std::any::Any + Send + Sync>)
            .clone();
        drop(map);
        entry
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// Run `f` in a write transaction stamped with the current time; its audit entries commit
    /// with it (see [`Db::write`]).
    pub async fn write<R, F>(&self, f: F) -> Result<R, AppError>
    where
        R: Send + 'static,
        F: WriteFn<R>,
    {
        self.db.write(self.clock.now_text(), f).await
    }

    /// An empty statement-list write stamped with the current time (see [`Db::write_statements`]).
    pub fn statements(&self) -> crate::db::Statements {
        crate::db::Statements::new(self.clock.now_text())
    }

    /// Record an access that changes nothing (a read, a search, a refusal) and wait until the
    /// entry is committed: its answer must not leave before its audit entry is on disk.
    pub async fn audit(&self, who: &Principal, ev: Event<'_>) -> Result<(), AppError> {
        self.db
            .audit(vec![AuditRow::new(&self.clock.now_text(), who, ev)])
            .await
    }
}
