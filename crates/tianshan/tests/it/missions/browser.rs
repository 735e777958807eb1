//! The coordinator, on a phone, turns a need into a mission and logs its first day.

use std::path::{Path, PathBuf};

use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{demo_password, spawn_app, Backend};

const WAIT: Duration = Duration::from_secs(20);
const PHONE_WIDTH: i64 = 390;

use crate::browser::Chromedriver;

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn fits(c: &Client, what: &str) {
    let v = c
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth]",
            vec![],
        )
        .await
        .unwrap();
    let (inner, scroll) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert_eq!(inner, PHONE_WIDTH);
    assert!(
        scroll <= inner,
        "{what} is {scroll} px wide on a {inner} px screen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_turns_a_need_into_a_mission_on_a_phone() {
    let driver = Chromedriver::start().await;
    let app = spawn_app(Backend::Sqlite).await;
    let profile = tempfile::tempdir().unwrap();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect::<Vec<_>>();
    let caps = json!({ "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args,
        "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let c = ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap();
    let result = tokio::spawn(scenario(c.clone(), app.base.clone())).await;
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(screenshot_dir().join("missions-coordinator-phone.png"), png);
    }
    let _ = c.close().await;
    drop(driver);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A server over one SQLite data folder that can be stopped and started again on the same
/// port, as a link that drops and comes back.
struct Restartable {
    dir: tempfile::TempDir,
    port: u16,
    running: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Restartable {
    async fn start() -> Restartable {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut s = Restartable {
            dir: tempfile::tempdir().unwrap(),
            port,
            running: None,
        };
        s.up().await;
        s
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn up(&mut self) {
        use tianshan::app;
        let clock = tianshan_platform::clock::Clock::system();
        let db = app::open_db(None, self.dir.path(), &clock).await.unwrap();
        let st = app::platform(db, clock, false).unwrap();
        app::load_demo(&st).await.unwrap();
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("port {} not free again: {e}", self.port),
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app::serve_until(st, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        self.running = Some((tx, task));
    }

    async fn down(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}

async fn phone(driver: &Chromedriver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let caps = json!({ "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args,
        "mobileEmulation": { "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 1.0 } } } });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// On a phone at 390 px: a lecture and a taught operation logged for a mission day; the
/// server stops while the second is typed, the submit stays on the page with every value,
/// the server comes back on the same database, the submit goes through and the report
/// shows both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mission_day_survives_a_dropped_connection_on_a_phone() {
    let driver = Chromedriver::start().await;
    let mut server = Restartable::start().await;
    let profile = tempfile::tempdir().unwrap();
    let c = phone(&driver, profile.path()).await;
    let result = dropped_connection(&c, &mut server).await;
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(screenshot_dir().join("missions-measures-phone.png"), png);
    }
    let _ = c.close().await;
    server.down().await;
    drop(driver);
    result.unwrap();
}

async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn type_in(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn dropped_connection(
    c: &Client,
    server: &mut Restartable,
) -> Result<(), Box<dyn std::error::Error>> {
    let base = server.base();
    c.goto(&format!("{base}/login")).await?;
    type_in(c, "#username", "coordinator").await;
    type_in(c, "#password", demo_password("coordinator")).await;
    click(c, "#signin").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("header .who"))
        .await?;
    let mission = format!("{base}/missions/m/demo-mission-hami-2023");
    c.goto(&mission).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#activity-form"))
        .await?;
    fits(c, "the mission page").await;
    // The lecture, with its attendance.
    click(c, "#kind option[value=lecture]").await;
    type_in(c, "#topic", "卒中急救绿色通道建设").await;
    type_in(c, "#count", "60").await;
    type_in(c, "#people", "伊吾县人民医院 努尔兰、巴里坤县人民医院 古丽").await;
    click(c, "#save-activity").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#notice"))
        .await?;
    // The taught operation: typed, then the link drops before it is sent.
    click(c, "#kind option[value=operation]").await;
    type_in(c, "#topic", "颈动脉内膜剥脱术（教学手术）").await;
    type_in(c, "#count", "1").await;
    type_in(c, "#people", "伊吾县人民医院 努尔兰").await;
    server.down().await;
    click(c, "#save-activity").await;
    let offline = c.find(Locator::Css("#offline")).await?;
    let start = std::time::Instant::now();
    while !offline.is_displayed().await? {
        assert!(
            start.elapsed() < WAIT,
            "no notice of the dropped connection"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(c.current_url().await?.as_str().starts_with(&mission));
    assert_eq!(value(c, "#kind").await, "operation");
    assert_eq!(value(c, "#topic").await, "颈动脉内膜剥脱术（教学手术）");
    assert_eq!(value(c, "#people").await, "伊吾县人民医院 努尔兰");
    assert_eq!(value(c, "#count").await, "1");
    // The draft is on the phone too, select included, should the tab be closed meanwhile.
    let draft = c
        .execute(
            "return localStorage.getItem('draft:/missions/m/demo-mission-hami-2023/activities')",
            vec![],
        )
        .await?;
    let draft: serde_json::Value = serde_json::from_str(draft.as_str().unwrap_or("null"))?;
    assert_eq!(draft["kind"], "operation", "{draft}");
    // The server comes back on the same database; the same tap now goes through.
    server.up().await;
    let before = c.find(Locator::Css("#activity-form")).await?;
    click(c, "#save-activity").await;
    // The page with the first save's notice is replaced by the new one.
    let start = std::time::Instant::now();
    while before.is_displayed().await.is_ok() {
        assert!(
            start.elapsed() < WAIT,
            "the second submit did not go through"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#notice"))
        .await?;
    let log = c.find(Locator::Css("#log")).await?.text().await?;
    assert!(
        log.contains("卒中急救绿色通道建设") && log.contains("颈动脉内膜剥脱术"),
        "{log}"
    );
    // Saved, the draft is gone: the form is empty for the next entry.
    assert_eq!(value(c, "#topic").await, "");
    click(c, "#report-link").await;
    let techniques = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#report-techniques"))
        .await?;
    assert!(techniques
        .text()
        .await?
        .contains("颈动脉内膜剥脱术（教学手术）"));
    let people = c.find(Locator::Css("#report-people")).await?.text().await?;
    assert!(people.contains("努尔兰"), "{people}");
    let page = c.source().await?;
    assert!(page.contains("卒中急救绿色通道建设"));
    fits(c, "the report").await;
    std::fs::write(
        screenshot_dir().join("missions-day-log-after-reconnect.png"),
        c.screenshot().await?,
    )?;
    // The measures page with its charts fits the phone too.
    c.goto(&format!("{base}/missions/measures")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#chart-missions"))
        .await?;
    fits(c, "the measures").await;
    Ok(())
}

async fn scenario(c: Client, base: String) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("coordinator")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(demo_password("coordinator"))
        .await
        .unwrap();
    c.find(Locator::Css("#signin"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("header .who"))
        .await
        .unwrap();
    c.goto(&format!("{base}/missions")).await.unwrap();
    let need = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#need-demo-need-yiwu-stroke"))
        .await
        .unwrap();
    fits(&c, "the board").await;
    let text = need.text().await.unwrap();
    assert!(text.contains("山东大学齐鲁医院"), "{text}");
    // Plan the best match as an expert mission, in one tap.
    need.find(Locator::Css("form.match button.convert"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#mission-title"))
        .await
        .unwrap();
    assert!(title.text().await.unwrap().contains("急性缺血性卒中"));
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/missions/m/"));
    fits(&c, "the mission page").await;
    // Log the first day: a taught operation with the local surgeons.
    let day: String = c
        .find(Locator::Css("#day"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(!day.is_empty());
    c.find(Locator::Css("#kind option[value=operation]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#topic"))
        .await
        .unwrap()
        .send_keys("急性缺血性卒中机械取栓")
        .await
        .unwrap();
    c.find(Locator::Css("#count"))
        .await
        .unwrap()
        .send_keys("2")
        .await
        .unwrap();
    c.find(Locator::Css("#people"))
        .await
        .unwrap()
        .send_keys("伊吾县人民医院 努尔兰")
        .await
        .unwrap();
    // What was typed survives leaving the page (a dropped link, a closed tab).
    let here = c.current_url().await.unwrap();
    c.goto(&format!("{base}/missions")).await.unwrap();
    c.goto(here.as_str()).await.unwrap();
    let topic = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#topic"))
        .await
        .unwrap();
    assert_eq!(
        topic.prop("value").await.unwrap().as_deref(),
        Some("急性缺血性卒中机械取栓")
    );
    let people = c.find(Locator::Css("#people")).await.unwrap();
    assert_eq!(
        people.prop("value").await.unwrap().as_deref(),
        Some("伊吾县人民医院 努尔兰")
    );
    // The platform's draft keeps typed text; a select starts from its first choice.
    c.find(Locator::Css("#kind option[value=operation]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#save-activity"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#notice"))
        .await
        .unwrap();
    let log = c
        .find(Locator::Css("#log"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        log.contains("急性缺血性卒中机械取栓") && log.contains("努尔兰"),
        "{log}"
    );
    c.find(Locator::Css("#report-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let techniques = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#report-techniques"))
        .await
        .unwrap();
    assert!(techniques
        .text()
        .await
        .unwrap()
        .contains("急性缺血性卒中机械取栓"));
    fits(&c, "the report").await;
}
