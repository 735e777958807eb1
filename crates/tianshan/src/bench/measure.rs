//! Timing: search latency through HTTP (client side) and through the service call the handler
//! makes (server side), and FHIR Patient create throughput, sequential and concurrent.
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tianshan_platform::auth::Principal;
use tianshan_platform::Platform;

use super::gen::{resident_id, Rng, Village};
use crate::cli::CliError;

/// Latencies of one kind of request.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub samples: Vec<Duration>,
    /// Rows returned, summed over the requests.
    pub hits: u64,
    pub errors: u64,
}

impl Latency {
    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort_unstable();
        s
    }

    /// The value below which `q` (0–1) of the samples lie (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        let s = self.sorted();
        if s.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
        s[rank - 1]
    }

    pub fn mean_hits(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            self.hits as f64 / self.samples.len() as f64
        }
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Which search parameter a query goes in.
#[derive(Debug, Clone, Copy)]
pub enum SearchKind {
    /// `?name=` with a full name.
    Name,
    /// `?q=` with 2–3 pinyin initials.
    Initials,
    /// `?id_number=`.
    IdNumber,
}

impl SearchKind {
    pub fn param(self) -> &'static str {
        match self {
            SearchKind::Name => "name",
            SearchKind::Initials => "q",
            SearchKind::IdNumber => "id_number",
        }
    }
}

/// `GET /api/v1/patients?<param>=<value>` for each value, one after another, until the
/// values or the time budget run out (slow searches would otherwise run for hours).
pub async fn http_searches(
    client: &reqwest::Client,
    base: &str,
    kind: SearchKind,
    values: &[String],
    budget: Duration,
) -> Latency {
    let mut lat = Latency::default();
    let url = format!("{base}/api/v1/patients");
    let began = Instant::now();
    for v in values.iter().take_while(|_| began.elapsed() < budget) {
        let start = Instant::now();
        let resp = client
            .get(&url)
            .query(&[(kind.param(), v.as_str())])
            .send()
            .await;
        let body: Option<Value> = match resp {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        lat.samples.push(start.elapsed());
        match body
            .as_ref()
            .and_then(|b| b.get("patients"))
            .and_then(Value::as_array)
        {
            Some(rows) => lat.hits += rows.len() as u64,
            None => lat.errors += 1,
        }
    }
    lat
}

/// The same searches through the registry's facade (scope check, SQL, audit entry committed):
/// the server's share of the time, without HTTP and JSON.
pub async fn service_searches(
    st: &Platform,
    who: &Principal,
    kind: SearchKind,
    values: &[String],
    budget: Duration,
) -> Latency {
    let mut lat = Latency::default();
    let began = Instant::now();
    for v in values.iter().take_while(|_| began.elapsed() < budget) {
        let _ = kind;
        let start = Instant::now();
        let r = tianshan_registry::facade::find_patients(st, who, v, 50).await;
        lat.samples.push(start.elapsed());
        match r {
            Ok(rows) => lat.hits += rows.len() as u64,
            Err(_) => lat.errors += 1,
        }
    }
    lat
}

/// Result of a batch of FHIR creates.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub created: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub latency: Latency,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A FHIR Patient for create number `n`: a Han name, a valid ID number of region 650502
/// (no generated patient lives there, so no duplicate is found), a demo village.
fn fhir_patient(n: u64, villages: &[Village], rng: &mut Rng) -> Value {
    let v = &villages[(n % villages.len().max(1) as u64) as usize];
    let birth = time::Date::from_calendar_date(1960, time::Month::January, 1)
        .map(|d| d.to_julian_day() + (n * 13 % 20_000) as i32)
        .and_then(time::Date::from_julian_day)
        .unwrap_or(time::Date::MIN);
    let male = n & 1 == 0;
    let id = resident_id("650502", birth, n / 20_000 * 13 + 37, male);
    let family = ["王", "李", "张", "刘", "陈"][rng.below(5)];
    let given = [
        "建国", "海燕", "志强", "秀英", "晓东", "丽娜", "文杰", "玉兰",
    ][rng.below(8)];
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": tianshan_registry::bulk::RESIDENT_ID_SYSTEM, "value": id}],
        "name": [{"family": family, "given": [given]}],
        "gender": if male { "male" } else { "female" },
        "birthDate": birth.to_string(),
        "telecom": [{"system": "phone", "value": format!("139{:08}", n)}],
        "managingOrganization": {"reference": format!("Organization/{}", v.code)},
    })
}

/// POST `count` FHIR Patients with `clients` concurrent clients; numbers start at `first`.
pub async fn fhir_creates(
    client: &reqwest::Client,
    base: &str,
    villages: &[Village],
    first: u64,
    count: u64,
    clients: u64,
) -> Result<Throughput, CliError> {
    let clients = clients.max(1);
    let url = format!("{base}/fhir/r4/Patient");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, villages) = (client.clone(), url.clone(), villages.to_vec());
        let numbers: Vec<u64> = (first..first + count)
            .filter(|n| n % clients == c)
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(first + c);
            let mut t = Throughput::default();
            for n in numbers {
                let body = fhir_patient(n, &villages, &mut rng);
                let s = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/fhir+json")
                    .json(&body)
                    .send()
                    .await;
                let ok = match r {
                    Ok(resp) => {
                        let ok = resp.status().as_u16() == 201;
                        let _ = resp.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                t.latency.samples.push(s.elapsed());
                if ok {
                    t.created += 1;
                } else {
                    t.failed += 1;
                }
            }
            t
        }));
    }
    let mut total = Throughput::default();
    for task in tasks {
        let t = task
            .await
            .map_err(|e| CliError::Message(format!("a create client stopped: {e}")))?;
        total.created += t.created;
        total.failed += t.failed;
        total.latency.samples.extend(t.latency.samples);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}
