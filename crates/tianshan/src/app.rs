//! Wiring: the list of modules, and what is built from their declarations: migrations,
//! permissions, catalogues, navigation, routes, the OpenAPI document and the middleware stack.
//! Adding a module is one line in [`modules`].
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
        tianshan_missions::module(),
        crate::forecast::module(),
        tianshan_consult::module(),
        tianshan_trauma::module(),
        tianshan_vaccination::module(),
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

/// Most connections served at once; more wait in the listen backlog until one ends.
pub const MAX_CONNECTIONS: usize = 1024;
/// A client must send a request's headers within this time (also on an idle keep-alive
/// connection), or the connection is closed: slow clients cannot hold connections.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's body must arrive within this time (408 otherwise).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// On SIGTERM or Ctrl-C, requests in flight get this long to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serve until SIGTERM or Ctrl-C, then finish requests in flight (at most
/// [`SHUTDOWN_GRACE`]), checkpoint SQLite's WAL and close the database.
pub async fn serve(st: Platform, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(st, listener, shutdown_signal()).await
}

/// [`serve`] with the stop signal given (tests stop a server without signals).
pub async fn serve_until(
    st: Platform,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    start_tasks(&st);
    let db = st.db.clone();
    let app = router(st).map_err(std::io::Error::other)?.layer(
        tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIMEOUT),
    );
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (stopping, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            _ = &mut stop => break,
        };
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop_rx = stop_rx.clone();
        conns.spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(
                move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(addr));
                    let mut app = app.clone();
                    async move { tower::Service::call(&mut app, req).await }
                },
            );
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let conn = b.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let mut asked = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    changed = stop_rx.changed(), if !asked => {
                        asked = true;
                        if changed.is_ok() {
                            // Finish the request in flight, then close.
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(
        connections = conns.len(),
        "stopping: finishing requests in flight"
    );
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = conns.len(),
            "requests still running after the grace period; closing them"
        );
        conns.abort_all();
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM (a service manager, a container stop) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
