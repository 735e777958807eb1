//! What a module brings to the product, in one value the binary collects: its permissions,
//! audit actions, migrations, catalogues, navigation, page routes, documented API routes,
//! FHIR resource types and demo data. Wiring a module is one line in the binary's list.
use futures_util::future::BoxFuture;
use std::sync::Arc;

use axum::Router;

use crate::audit::ActionDef;
use crate::error::AppError;
use crate::fhir::FhirType;
use crate::i18n::CatalogueSource;
use crate::migrate::Migration;
use crate::scope::PermissionDef;
use crate::state::{NavItem, Platform};

/// The documented part of a module's routes: JSON API and FHIR. Every route added here is in
/// the generated OpenAPI document (the `utoipa` annotation of its handler).
pub type ApiRouter = utoipa_axum::router::OpenApiRouter<Platform>;

/// Loads a module's demo data into an empty database (after the registry's).
pub type DemoLoader = for<'a> fn(&'a Platform) -> BoxFuture<'a, Result<(), AppError>>;

/// Work a module runs in the background for as long as the server runs (an MQTT subscriber,
/// an escalation sweep). Several server processes may run it at once on PostgreSQL: its
/// writes must be idempotent (conditional updates), as the outbox's are.
pub type Task = fn(Platform) -> BoxFuture<'static, ()>;

pub struct Module {
    /// Short machine name (`registry`, `vaccination`): recorded with its permissions.
    pub name: &'static str,
    pub permissions: Vec<PermissionDef>,
    pub actions: Vec<ActionDef>,
    pub migrations: Vec<Migration>,
    pub catalogues: Vec<CatalogueSource>,
    pub nav: Vec<NavItem>,
    /// Server-rendered pages (not in the OpenAPI document).
    pub pages: Router<Platform>,
    /// JSON API and FHIR routes, documented.
    pub api: ApiRouter,
    pub fhir: Vec<Arc<dyn FhirType>>,
    /// `(name, definition URL)` of FHIR operations the module serves.
    pub fhir_operations: Vec<(&'static str, &'static str)>,
    pub demo: Option<DemoLoader>,
    pub tasks: Vec<Task>,
}

impl Module {
    pub fn new(name: &'static str) -> Module {
        Module {
            name,
            permissions: Vec::new(),
            actions: Vec::new(),
            migrations: Vec::new(),
            catalogues: Vec::new(),
            nav: Vec::new(),
            pages: Router::new(),
            api: ApiRouter::new(),
            fhir: Vec::new(),
            fhir_operations: Vec::new(),
            demo: None,
            tasks: Vec::new(),
        }
    }
}

/// Four catalogues of a crate, from its `locales/` folder: `catalogues!("vaccination")`.
#[macro_export]
macro_rules! catalogues {
    ($origin:literal) => {
        vec![
            (
                $crate::i18n::Locale::En,
                concat!($origin, "/en"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en.toml")),
            ),
            (
                $crate::i18n::Locale::ZhHans,
                concat!($origin, "/zh-Hans"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/zh-Hans.toml")),
            ),
            (
                $crate::i18n::Locale::ZhHant,
                concat!($origin, "/zh-Hant"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/zh-Hant.toml")),
            ),
            (
                $crate::i18n::Locale::Ug,
                concat!($origin, "/ug"),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/ug.toml")),
            ),
        ]
    };
}
