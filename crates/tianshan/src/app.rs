//! Wiring: the modules' migrations, catalogues, navigation and routes, and the middleware
//! stack. Adding a module means adding one line to each list here.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::middleware;
use axum::Router;
use tianshan_immunization::Schedule;
use tianshan_platform::clock::Clock;
use tianshan_platform::db::Db;
use tianshan_platform::i18n::{CatalogueSource, I18n};
use tianshan_platform::migrate::{self, Migration};
use tianshan_platform::ratelimit::LoginLimiter;
use tianshan_platform::scope::Permission;
use tianshan_platform::state::{Config, NavItem};
use tianshan_platform::{pages, web, Platform};
use tower_http::compression::CompressionLayer;

pub fn migrations() -> Vec<Migration> {
    let mut m = tianshan_platform::schema::migrations();
    m.extend(tianshan_registry::schema::migrations());
    m
}

pub fn catalogues() -> Vec<CatalogueSource> {
    let mut c = pages::catalogues();
    c.extend(tianshan_registry::catalogues());
    c
}

/// The navigation: the registry now, the modules to come listed but not linked yet.
pub fn nav() -> Vec<NavItem> {
    let item = |label, href, ready, needs| NavItem {
        label,
        href,
        ready,
        needs,
    };
    vec![
        item("nav.home", "/", true, None),
        item(
            "nav.patients",
            "/patients",
            true,
            Some(Permission::ReadPatients),
        ),
        item("nav.practitioners", "/practitioners", true, None),
        item("nav.orgs", "/orgs", true, None),
        item("nav.missions", "/missions", false, None),
        item("nav.talent", "/talent", false, None),
        item("nav.teleconsult", "/teleconsult", false, None),
        item("nav.trauma", "/trauma", false, None),
        item("nav.vaccination", "/vaccination", false, None),
        item("nav.campaigns", "/campaigns", false, None),
        item("nav.indicators", "/indicators", false, None),
        item(
            "nav.audit",
            "/admin/audit",
            true,
            Some(Permission::ReadAudit),
        ),
    ]
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

/// Open the database and bring its schema up to date.
pub async fn open_db(url: Option<&str>, data_dir: &Path, clock: &Clock) -> Result<Db, StartError> {
    let db = Db::open(url, data_dir).await?;
    migrate::run(&db, &migrations(), &clock.now_text()).await?;
    Ok(db)
}

pub fn platform(db: Db, clock: Clock, secure_cookies: bool) -> Result<Platform, StartError> {
    Ok(Platform {
        db,
        i18n: I18n::load(&catalogues())?,
        clock,
        limiter: Arc::new(LoginLimiter::default()),
        config: Arc::new(Config {
            secure_cookies,
            nav: nav(),
            modules: Default::default(),
        }),
    })
}

/// Choose the immunization schedule that `$immds-forecast` answers with.
pub fn with_schedule(mut st: Platform, schedule: Schedule) -> Platform {
    let mut config = (*st.config).clone();
    config.modules.insert(Arc::new(schedule));
    st.config = Arc::new(config);
    st
}

/// The configured schedule, or the built-in China programme.
fn schedule_of(st: &Platform) -> Result<Arc<Schedule>, StartError> {
    match st.config.modules.get::<Arc<Schedule>>() {
        Some(s) => Ok(s.clone()),
        None => Ok(Arc::new(
            Schedule::china().map_err(|e| StartError::Schedule(e.to_string()))?,
        )),
    }
}

/// The whole product as one router.
pub fn router(st: Platform) -> Result<Router, StartError> {
    let schedule = schedule_of(&st)?;
    Ok(Router::new()
        .merge(pages::routes())
        .merge(tianshan_registry::routes())
        .merge(crate::forecast::routes(schedule))
        .merge(crate::openapi::routes())
        .fallback(web::not_found)
        .layer(middleware::from_fn_with_state(st.clone(), web::frame))
        .layer(middleware::from_fn(web::request_log))
        .layer(CompressionLayer::new())
        .with_state(st))
}

/// Serve until the listener fails or the process is told to stop.
pub async fn serve(st: Platform, listener: tokio::net::TcpListener) -> std::io::Result<()> {
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
