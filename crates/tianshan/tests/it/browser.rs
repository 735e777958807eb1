//! The pages in a real headless Chromium through chromedriver: sign in, find a patient by
//! pinyin initials, read the record in Uyghur (right to left), and a refused registration form.
//! Screenshots land in `target/screenshots/` for a person to look at.
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{demo_password, spawn_app, Backend};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(20);

/// A chromedriver this test started, in a process group of its own with the Chromium it
/// launches; the whole group is killed when dropped, so a failing test leaves no browser behind.
pub(crate) struct Chromedriver {
    child: Child,
    pub(crate) url: String,
}

impl Chromedriver {
    pub(crate) async fn start() -> Chromedriver {
        for bin in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the browser test needs Chromium and its driver. Install them with \
                 `apt-get update && apt-get install -y chromium chromium-driver` (as root), or run `.ci/run`."
            );
        }
        // A free port: the OS picks one, we let it go and hand it to chromedriver.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(&status).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                start.elapsed() < WAIT,
                "chromedriver did not answer on {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    // An error here shows when the screenshot is written.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn save_screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.unwrap();
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nurse_finds_a_patient_reads_it_in_uyghur_and_is_told_of_a_wrong_id() {
    let driver = Chromedriver::start().await;
    let app = spawn_app(Backend::Sqlite).await;
    let profile = tempfile::tempdir().unwrap();
    let args = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--window-size=1280,900".to_string(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let caps = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args } });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("Chromium did not start through chromedriver: {e}"));

    // The scenario runs as its own task so that, pass or fail, the browser is closed after it.
    let scenario = tokio::spawn(nurse_scenario(client.clone(), app.base.clone())).await;
    if scenario.is_err() {
        if let Ok(png) = client.screenshot().await {
            let path = screenshot_dir().join("browser-failure.png");
            if std::fs::write(&path, png).is_ok() {
                eprintln!("the page at the failure: {}", path.display());
            }
        }
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = scenario {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn nurse_scenario(c: Client, base: String) {
    // Sign in through the form.
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(&c, "#username", "nurse").await;
    type_into(&c, "#password", demo_password("nurse")).await;
    click(&c, "#signin").await;
    wait_for(&c, Locator::Css("header .who"), "signed in").await;

    // Search by pinyin initials and open 张三.
    c.goto(&format!("{base}/patients")).await.unwrap();
    type_into(&c, "#q", "zs").await;
    click(&c, "form.search button[type=submit]").await;
    let results = wait_for(&c, Locator::Css("#results"), "a results table for `zs`").await;
    let text = results.text().await.unwrap();
    assert!(text.contains("张三"), "zs finds 张三: {text}");
    save_screenshot(&c, "patients-search-zs.png").await;
    let link = results.find(Locator::XPath(".//a[contains(., '张三')]"));
    link.await.unwrap().click().await.unwrap();
    let name = wait_for(&c, Locator::Css("h1#patient-name"), "the patient page").await;
    assert!(name.text().await.unwrap().contains("张三"));

    // Uyghur from the header's language menu: choosing submits the form (onchange) and the
    // redirect comes back to the same record, now right to left.
    let lang = find(&c, "form[action='/settings/language'] select[name=lang]").await;
    lang.select_by_value("ug").await.unwrap();
    wait_for(&c, Locator::Css("html[lang='ug']"), "the page in Uyghur").await;
    let html = find(&c, "html").await;
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some("ug"));
    let name = find(&c, "h1#patient-name").await;
    assert!(name.text().await.unwrap().contains("张三"));
    save_screenshot(&c, "patient-ug.png").await;

    // A wrong ID number on the registration form: the message stands beside the field.
    c.goto(&format!("{base}/patients/new")).await.unwrap();
    type_into(&c, "#family_name", "王").await;
    type_into(&c, "#given_name", "五").await;
    type_into(&c, "#id_number", "110105194912310021").await;
    find(&c, "#sex")
        .await
        .select_by_value("female")
        .await
        .unwrap();
    click(&c, "#save").await;
    let invalid_id_field = Locator::XPath(
        "//div[contains(concat(' ', @class, ' '), ' field ') \
         and contains(concat(' ', @class, ' '), ' invalid ')][.//input[@id='id_number']]",
    );
    let field = wait_for(&c, invalid_id_field, "the ID number field marked invalid").await;
    let err = field.find(Locator::Css(".err")).await.unwrap();
    assert!(err.is_displayed().await.unwrap());
    let message = err.text().await.unwrap();
    assert!(
        message.contains('X') && message.contains('1'),
        "the message beside the field names the expected and found check digit: {message:?}"
    );
    let typed = find(&c, "#given_name").await.prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some("五"), "what was typed is kept");
    save_screenshot(&c, "patient-form-invalid-id-ug.png").await;
}

async fn find(c: &Client, css: &str) -> Element {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
}

async fn type_into(c: &Client, css: &str, text: &str) {
    find(c, css).await.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap();
}

/// Waits for an element that only the next page has, so a click's navigation is complete.
async fn wait_for(c: &Client, what: Locator<'_>, expected: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(what)
        .await
        .unwrap_or_else(|e| panic!("expected {expected}: {e}"))
}
