//! The command-line contract operators' scripts depend on: migrate, demo, user add (password
//! on stdin), token create (only the token on stdout), backup of a live database, serve.
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::helpers::pg_admin_url;

fn tianshan(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tianshan"))
        .args(args)
        .env("TIANSHAN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs the admin commands against one database, given as CLI arguments.
async fn admin_commands(db_args: &[&str]) {
    let with = |extra: &[&str]| -> Vec<String> {
        extra
            .iter()
            .chain(db_args.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>, stdin: &str| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        tianshan(&a, stdin)
    };
    let (ok, out, err) = run(with(&["migrate"]), "");
    assert!(ok, "{err}");
    assert!(out.contains("migration(s) applied"));
    let (ok, out, _) = run(with(&["migrate"]), "");
    assert!(
        ok && out.starts_with("0 migration(s) applied"),
        "migrate twice is a no-op: {out}"
    );
    let (ok, out, err) = run(with(&["demo"]), "");
    assert!(ok, "{err}");
    assert!(out.contains("nurse") && out.contains("tianshan-nurse"));
    let (_, out, _) = run(with(&["demo"]), "");
    assert!(out.contains("already has data"));

    let (ok, _, err) = run(
        with(&[
            "user",
            "add",
            "--username",
            "amina",
            "--role",
            "nurse",
            "--scope",
            "653121100",
        ]),
        "a-long-password\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        with(&[
            "user",
            "add",
            "--username",
            "short",
            "--role",
            "nurse",
            "--scope",
            "653121100",
        ]),
        "abc\n",
    );
    assert!(!ok && err.contains("at least 8 characters"), "{err}");
    let (ok, _, err) = run(
        with(&[
            "user",
            "add",
            "--username",
            "x1",
            "--role",
            "surgeon",
            "--scope",
            "653121100",
        ]),
        "a-long-password\n",
    );
    assert!(!ok && err.contains("There is no role surgeon"), "{err}");
    let (ok, _, err) = run(
        with(&[
            "user",
            "add",
            "--username",
            "x2",
            "--role",
            "nurse",
            "--scope",
            "999",
        ]),
        "a-long-password\n",
    );
    assert!(
        !ok && err.contains("no organisation with code 999"),
        "{err}"
    );
    let (ok, _, err) = run(
        with(&[
            "user",
            "add",
            "--username",
            "amina",
            "--role",
            "nurse",
            "--scope",
            "653121100",
        ]),
        "a-long-password\n",
    );
    assert!(
        !ok && err.contains("username amina is taken"),
        "a second user with the same name is refused: {err}"
    );

    let (ok, out, err) = run(with(&["token", "create", "--user", "amina"]), "");
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {out:?}");
    assert!(lines[0].starts_with("ts_") && lines[0].len() > 40);
    let (ok, _, err) = run(with(&["token", "create", "--user", "nobody"]), "");
    assert!(!ok && err.contains("no active user called nobody"), "{err}");
}

#[tokio::test]
async fn admin_commands_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    admin_commands(&["--data-dir", &d]).await;
    // A backup is a complete, consistent database of its own.
    let out_file = dir.path().join("copy.db");
    let (ok, out, err) = tianshan(
        &[
            "backup",
            "--data-dir",
            &d,
            "--out",
            out_file.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("copy.db"));
    let copy = tianshan_platform::db::Db::open(
        Some(&format!("sqlite://{}", out_file.display())),
        dir.path(),
    )
    .await
    .unwrap();
    let n: i64 = tianshan_platform::with_db!(&copy, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await).unwrap();
    let source = tianshan_platform::db::Db::open(None, dir.path())
        .await
        .unwrap();
    let m: i64 = tianshan_platform::with_db!(&source, pool => sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(pool).await).unwrap();
    assert!(
        n >= 240,
        "the demo has at least the registry's 240 patients, the copy has {n}"
    );
    assert_eq!(n, m, "the copy has every patient of the source");
    let (ok, _, err) = tianshan(
        &[
            "backup",
            "--data-dir",
            &d,
            "--out",
            out_file.to_str().unwrap(),
        ],
        "",
    );
    assert!(!ok && err.contains("already exists"), "{err}");
}

#[tokio::test]
async fn admin_commands_on_postgres() {
    let admin = pg_admin_url();
    let name = format!("tianshan_cli_{}", uuid::Uuid::new_v4().simple());
    let db = tianshan_platform::db::Db::open(Some(&admin), std::path::Path::new("/tmp"))
        .await
        .unwrap();
    tianshan_platform::with_db!(&db, pool => sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(pool).await.map(|_| ())).unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    admin_commands(&["--database-url", &url]).await;
    let _ = tianshan_platform::with_db!(&db, pool => sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(pool).await.map(|_| ()));
}

#[tokio::test]
async fn serve_starts_with_demo_and_answers_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tianshan"))
        .args([
            "serve",
            "--demo",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("TIANSHAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut url = None;
    let mut logins = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        logins.push_str(&line);
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    let url = url.expect("serve printed its address");
    assert!(
        logins.contains("admin") && logins.contains("tianshan-admin"),
        "demo logins printed at start"
    );
    let health: serde_json::Value = reqwest::get(format!("{url}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(
        dir.path().join("tianshan.db").exists(),
        "SQLite file inside the data dir"
    );
    child.kill().unwrap();
    let _ = child.wait();
}
