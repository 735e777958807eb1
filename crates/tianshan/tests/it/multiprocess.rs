//! A region runs several `tianshan serve` processes on one PostgreSQL database behind a load
//! balancer. Two real server processes here: a browser session and a token work on both; a
//! revoked token, a disabled user and changed roles are refused by both within a second; live
//! events published through one reach subscribers of the other.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{demo_password, extract_csrf, pg_admin_url};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tianshan")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(url: &str, demo: bool) -> Server {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--database-url",
        url,
    ])
    .arg("--data-dir")
    .arg(dir.path())
    .env("TIANSHAN_LOG", "warn")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    let child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::mem::forget(dir);
    Server { child, base }
}

fn cli(url: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut c = Command::new(bin())
        .args(args)
        .args(["--database-url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tianshan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn status(client: &reqwest::Client, url: String) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

/// Poll until `check` is true, for at most `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    loop {
        if check().await {
            return t.elapsed();
        }
        assert!(t.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn new_database() -> (String, String) {
    let admin = pg_admin_url();
    let name = format!("tianshan_mp_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    (format!("{base}/{name}"), name)
}

async fn drop_database(name: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(&pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_sessions_tokens_and_revocations() {
    let (url, name) = new_database().await;
    let a = start(&url, true).await;
    let b = start(&url, false).await;

    // A browser session made on A works on B.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = browser
        .get(format!("{}/login", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html);
    let r = browser
        .post(format!("{}/login", a.base))
        .form(&[
            ("username", "nurse"),
            ("password", demo_password("nurse")),
            ("next", "/"),
            ("_csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The cookie was set for 127.0.0.1, so the same jar sends it to B's port too.
    assert_eq!(
        status(&browser, format!("{}/patients?q=zs", b.base)).await,
        200
    );

    // A token works on both; revoked by the command line, both refuse it within a second.
    let token = cli(&url, &["token", "create", "--user", "doctor"], "");
    let api = |t: &str| {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {t}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(h)
            .build()
            .unwrap()
    };
    let c = api(&token);
    for s in [&a, &b] {
        assert_eq!(
            status(&c, format!("{}/api/v1/patients?q=zs", s.base)).await,
            200
        );
    }
    cli(&url, &["token", "revoke", &token], "");
    for s in [&a, &b] {
        let took = within(Duration::from_secs(1), || {
            let (c, u) = (c.clone(), format!("{}/api/v1/patients?q=zs", s.base));
            async move { status(&c, u).await == 401 }
        })
        .await;
        eprintln!("revoked token refused by {} after {took:?}", s.base);
    }

    // A disabled user: refused by both within a second, session and token alike.
    let t2 = cli(&url, &["token", "create", "--user", "nurse"], "");
    let c2 = api(&t2);
    assert_eq!(
        status(&c2, format!("{}/api/v1/patients?q=zs", b.base)).await,
        200
    );
    cli(&url, &["user", "disable", "nurse"], "");
    for s in [&a, &b] {
        within(Duration::from_secs(1), || {
            let (c, u) = (c2.clone(), format!("{}/api/v1/patients?q=zs", s.base));
            async move { status(&c, u).await == 401 }
        })
        .await;
        within(Duration::from_secs(1), || {
            let (c, u) = (browser.clone(), format!("{}/patients?q=zs", s.base));
            async move { status(&c, u).await == 303 }
        })
        .await;
    }

    // Roles changed: the official gains the clinician role; both processes see the new rights.
    let t3 = cli(&url, &["token", "create", "--user", "official"], "");
    let c3 = api(&t3);
    let body = serde_json::json!({"family_name": "测", "given_name": "试", "sex": "male",
        "birth_date": "1990-01-01", "org_code": "650522101201"});
    let create = |s: &Server| {
        let (c, u, b) = (
            c3.clone(),
            format!("{}/api/v1/patients", s.base),
            body.clone(),
        );
        async move { c.post(u).json(&b).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(create(&a).await, 403);
    cli(
        &url,
        &["user", "roles", "official", "--role", "official,clinician"],
        "",
    );
    for s in [&a, &b] {
        within(Duration::from_secs(1), || async { create(s).await != 403 }).await;
    }
    drop(a);
    drop(b);
    drop_database(&name).await;
}

/// Live events (the queue board's feed) reach subscribers of every process: one platform
/// publishes, the other's subscriber receives, through PostgreSQL NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_cross_processes() {
    use tianshan_platform::db::Db;
    use tianshan_platform::events::Events;
    let (url, name) = new_database().await;
    let one = Db::open(Some(&url), std::path::Path::new("."))
        .await
        .unwrap();
    let two = Db::open(Some(&url), std::path::Path::new("."))
        .await
        .unwrap();
    let (e1, e2) = (Events::start(&one), Events::start(&two));
    let mut rx = e2.subscribe();
    // The listener needs a moment to LISTEN; publish until the other side hears.
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            e1.publish("vaccination.queue:C1", "{\"called\":7}").await;
            if let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                return ev;
            }
        }
    })
    .await
    .expect("no event crossed over");
    assert_eq!(got.topic, "vaccination.queue:C1");
    let v: Value = serde_json::from_str(&got.payload).unwrap();
    assert_eq!(v["called"], 7);
    one.close().await;
    two.close().await;
    drop_database(&name).await;
}
