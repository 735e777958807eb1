//! Wiring: the list of modules, and what is built from their declarations: migrations,
//! permissions, catalogues, navigation, routes, the OpenAPI document and the middleware stack.
//! Adding a module is one line in [`modules`].
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::middleware;
use axum::Router;
use tianshan_immunization::Schedule;
use tianshan_platform::auth::AuthCache;
use tianshan_platform::clock::Clock;
use tianshan_platform::db::{Db, DbOptions};
use tianshan_platform::events::Events;
use tianshan_platform::i18n::{CatalogueSource, I18n};
use tianshan_platform::migrate::{self, Migration};
use tianshan_platform::state::{Config, NavItem};
use tianshan_platform::{pages, web, Module, Platform};
use tower_http::compression::CompressionLayer;

/// Every module of the product, in the order of their demo data and navigation.
pub fn modules() -> Vec<Module> {
    vec![
        pages::module(),
        tianshan_registry::module(),
        crate::forecast::module(),
    ]
}

pub fn migrations() -> Vec<Migration> {
    modules().into_iter().flat_map(|m| m.migrations).collect()
}

pub fn catalogues() -> Vec<CatalogueSource> {
    modules().into_iter().flat_map(|m| m.catalogues).collect()
}

/// The navigation: home first, the modules in order, administration last.
pub fn nav(mods: &[Module]) -> Vec<NavItem> {
    let all: Vec<NavItem> = mods.iter().flat_map(|m| m.nav.iter().cloned()).collect();
    let (admin, rest): (Vec<NavItem>, Vec<NavItem>) =
        all.into_iter().partition(|n| n.href.starts_with("/admin"));
    rest.into_iter().chain(admin).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Db(#[from] tianshan_platform::db::DbOpenError),
    #[error("{0}")]
    Migrate(#[from] migrate::MigrateError),
    #[error("{0}")]
    Catalogue(#[from] tianshan_platform::i18n::CatalogueError),
    #[error("{0}")]
    App(#[from] tianshan_platform::AppError),
    #[error("cannot load the immunization schedule: {0}")]
    Schedule(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Open the database, bring its schema up to date and install new permissions.
pub async fn open_db(url: Option<&str>, data_dir: &Path, clock: &Clock) -> Result<Db, StartError> {
    open_db_with(url, data_dir, clock, &DbOptions::default()).await
}

pub async fn open_db_with(
    url: Option<&str>,
    data_dir: &Path,
    clock: &Clock,
    opts: &DbOptions,
) -> Result<Db, StartError> {
    let db = Db::open_with(url, data_dir, opts).await?;
    let mods = modules();
    let migrations: Vec<Migration> = mods.iter().flat_map(|m| m.migrations.clone()).collect();
    migrate::run(&db, &migrations, &clock.now_text()).await?;
    let perms = mods
        .iter()
        .flat_map(|m| m.permissions.iter().map(move |p| (m.name, *p)))
        .collect();
    tianshan_platform::roles::install_permissions(&db, clock, perms).await?;
    Ok(db)
}

pub fn platform(db: Db, clock: Clock, secure_cookies: bool) -> Result<Platform, StartError> {
    let mods = modules();
    let auth = Arc::new(AuthCache::default());
    auth.watch(db.clone());
    Ok(Platform {
        db: db.clone(),
        events: Events::start(&db),
        i18n: I18n::load(&catalogues())?,
        clock,
        auth,
        config: Arc::new(Config {
            secure_cookies,
            nav: nav(&mods),
            permissions: mods
                .iter()
                .flat_map(|m| m.permissions.iter().map(move |p| (m.name, *p)))
                .collect(),
            actions: mods
                .iter()
                .flat_map(|m| m.actions.iter().copied())
                .collect(),
            fhir: mods.iter().flat_map(|m| m.fhir.iter().cloned()).collect(),
            fhir_operations: mods
                .iter()
                .flat_map(|m| m.fhir_operations.iter().copied())
                .collect(),
            modules: Default::default(),
        }),
        caches: Default::default(),
    })
}

/// Load every module's demo data into an empty database. Returns whether anything was loaded.
pub async fn load_demo(st: &Platform) -> Result<bool, StartError> {
    if tianshan_platform::auth::user_count(&st.db).await? > 0 {
        return Ok(false);
    }
    for m in modules() {
        if let Some(load) = m.demo {
            load(st).await?;
        }
    }
    Ok(true)
}

/// Choose the immunization schedule that `$immds-forecast` answers with.
pub fn with_schedule(mut st: Platform, schedule: Schedule) -> Platform {
    let mut config = (*st.config).clone();
    config.modules.insert(Arc::new(schedule));
    st.config = Arc::new(config);
    st
}

/// The API routes of every module and the OpenAPI document generated from them.
pub fn api(mods: Vec<Module>) -> (Router<Platform>, utoipa::openapi::OpenApi) {
    let mut api = tianshan_platform::ApiRouter::new();
    for m in mods {
        api = api.merge(m.api);
    }
    let (router, mut doc) = api.split_for_parts();
    crate::openapi::describe(&mut doc);
    (router, doc)
}

/// The whole product as one router.
pub fn router(st: Platform) -> Result<Router, StartError> {
    let mut mods = modules();
    let mut pages = Router::new();
    for m in &mut mods {
        pages = pages.merge(std::mem::take(&mut m.pages));
    }
    let (api, doc) = api(mods);
    Ok(pages
        .merge(api)
        .merge(crate::openapi::routes(doc))
        .fallback(web::not_found)
        .layer(middleware::from_fn(web::refuse_nul))
        .layer(middleware::from_fn_with_state(st.clone(), web::frame))
        .layer(middleware::from_fn(web::request_log))
        .layer(CompressionLayer::new())
        .with_state(st))
}

/// Start the modules' background work and the notification worker.
pub fn start_tasks(st: &Platform) {
    tokio::spawn(tianshan_platform::outbox::run(
        st.db.clone(),
        st.clock.clone(),
    ));
    for m in modules() {
        for task in m.tasks {
            tokio::spawn(task(st.clone()));
        }
    }
}

/// Serve until the listener fails or the process is told to stop.
pub async fn serve(st: Platform, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    start_tasks(&st);
    let app = router(st)
        .map_err(std::io::Error::other)?
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
