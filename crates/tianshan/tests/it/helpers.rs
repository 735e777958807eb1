//! `spawn_app`: the real router on 127.0.0.1:0 over a fresh SQLite file or a fresh
//! PostgreSQL database, with the demo data loaded, and clients signed in as each role.
use std::net::SocketAddr;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use tianshan::app;
use tianshan_platform::clock::Clock;
use tianshan_platform::db::Db;

/// The PostgreSQL server tests create their throw-away databases on.
/// `.ci/run` sets it; the default is this machine's local server.
pub fn pg_admin_url() -> String {
    std::env::var("TIANSHAN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// The server's own state: tests call module facades with it as the server would.
    pub st: tianshan_platform::Platform,
    pub backend: Backend,
    _dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(name);
        }
    }
}

/// Best effort: the server drops with the runtime; CI databases are throw-away anyway.
fn drop_pg_database(name: String) {
    let url = pg_admin_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&pool)
                            .await;
                    pool.close().await;
                }
            });
        }
    })
    .join()
    .ok();
}

/// A fresh, empty database: (URL, throw-away database name) on PostgreSQL, (None, None) for a
/// SQLite file in the test's folder.
async fn new_database(backend: Backend) -> (Option<String>, Option<String>) {
    match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let admin = pg_admin_url();
            let name = format!("tianshan_test_{}", uuid::Uuid::new_v4().simple());
            let pool = sqlx::PgPool::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for these tests: {e}"));
            // A linguistic (ICU) collation, as a regional server set up in en_US or zh_CN would
            // have: prefix-range scans must still be exact (the schema's `COLLATE BINARY`).
            sqlx::query(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
                 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
            (Some(format!("{base}/{name}")), Some(name))
        }
    }
}

/// An open database with no tables (migration tests apply what they need).
pub struct EmptyDb {
    pub db: Db,
    _dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(name);
        }
    }
}

pub async fn empty_db(backend: Backend) -> EmptyDb {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_name) = new_database(backend).await;
    let db = Db::open(url.as_deref(), dir.path()).await.unwrap();
    EmptyDb {
        db,
        _dir: dir,
        pg_name,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::system();
    let (url, pg_name) = new_database(backend).await;
    let db = app::open_db(url.as_deref(), dir.path(), &clock)
        .await
        .unwrap();
    let st = app::platform(db.clone(), clock, false).unwrap();
    app::load_demo(&st).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server_st = st.clone();
    tokio::spawn(async move {
        let _ = app::serve(server_st, listener).await;
    });
    TestApp {
        base: format!("http://{addr}"),
        db,
        st,
        backend,
        _dir: dir,
        pg_name,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client (cookies, no redirects followed) signed in through the form.
    pub async fn browser(&self, user: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let b = Browser {
            client,
            base: self.base.clone(),
        };
        if !user.is_empty() {
            let password = demo_password(user);
            let resp = b
                .post_form(
                    "/login",
                    &[("username", user), ("password", password), ("next", "/")],
                )
                .await;
            assert_eq!(resp.status(), 303, "sign-in of {user} failed");
        }
        b
    }

    /// A fresh bearer token for a demo user.
    pub async fn token(&self, user: &str) -> String {
        tianshan_platform::users::create_api_token(
            &self.db,
            &Clock::system(),
            tianshan_platform::users::By::Cli,
            user,
            "test",
        )
        .await
        .unwrap()
    }

    /// An API client with a bearer token for a demo user.
    pub async fn api(&self, user: &str) -> reqwest::Client {
        let token = self.token(user).await;
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(h)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

pub fn demo_password(user: &str) -> &'static str {
    tianshan_registry::demo::DEMO_USERS
        .iter()
        .find(|u| u.0 == user)
        .map(|u| u.1)
        .unwrap_or("wrong-password")
}

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    /// The CSRF token the server gave this browser (from the sign-in page's form).
    pub async fn csrf(&self) -> String {
        let html = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        extract_csrf(&html)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &csrf));
        self.client
            .post(format!("{}{}", self.base, path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

pub fn extract_csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("no CSRF field in page");
    html[start..].split('"').next().unwrap().to_string()
}

/// Audit entries for a patient, newest first: (username, action, channel).
pub async fn audit_for(app: &TestApp, patient_id: &str) -> Vec<(String, String, String)> {
    let f = tianshan_platform::audit::Filter {
        patient_id: Some(patient_id.to_string()),
        ..Default::default()
    };
    tianshan_platform::audit::list(&app.db, &f, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.username, e.action, e.channel))
        .collect()
}

/// Run one scenario on both backends as two tests.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await;
                super::$name(&app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await;
                super::$name(&app).await;
            }
        }
    };
}

/// The project's shared test data (`shared/data`, beside the clone): `TIANSHAN_SHARED_DATA` if set,
/// else the first `shared/data` found walking up from this crate.
pub fn shared_data() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("TIANSHAN_SHARED_DATA") {
        return dir.into();
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/data"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/data above {}: set TIANSHAN_SHARED_DATA to the shared test data folder",
                here.display()
            )
        })
}
