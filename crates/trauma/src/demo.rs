//! Demo data: the Kashgar regional centre's trauma network (喀什地区第一人民医院创伤中心) over
//! the four southern prefectures, January 2019 to December 2025, generated so that the monthly
//! arrival-to-operation median falls from about 8 hours (2019) to about 60 minutes (2024) and
//! survival of severe cases rises from about half to about 97 %, as the seed report quotes;
//! about a third of the patients arrive by transfer from a county or prefecture hospital; a few
//! patients of the last 24 hours are still in the chain. Scores are computed as for any record.
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::PermSet;
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::domain::{self, InjuryInput, RecordInput, StayInput};
use crate::service;
use crate::store::{self, InjuryRow, RecordRow, StayRow};

pub const CENTRE: &str = "653100-H01";

/// Hospitals the demo adds beside the registry's: the other three prefectures' hospitals and
/// Jiashi county's (伽师县).
const EXTRA: &[(&str, &str, &str, [&str; 3])] = &[
    (
        "653200",
        "650000",
        "prefecture",
        ["和田地区", "خوتەن ۋىلايىتى", "Hotan Prefecture"],
    ),
    (
        "653200-H01",
        "653200",
        "hospital",
        [
            "和田地区人民医院",
            "خوتەن ۋىلايەتلىك خەلق دوختۇرخانىسى",
            "Hotan Prefecture People's Hospital",
        ],
    ),
    (
        "653000",
        "650000",
        "prefecture",
        [
            "克孜勒苏柯尔克孜自治州",
            "قىزىلسۇ قىرغىز ئاپتونوم ئوبلاستى",
            "Kizilsu Kirghiz Prefecture",
        ],
    ),
    (
        "653000-H01",
        "653000",
        "hospital",
        [
            "克州人民医院",
            "قىزىلسۇ ئوبلاستلىق خەلق دوختۇرخانىسى",
            "Kizilsu Prefecture People's Hospital",
        ],
    ),
    (
        "652900",
        "650000",
        "prefecture",
        ["阿克苏地区", "ئاقسۇ ۋىلايىتى", "Aksu Prefecture"],
    ),
    (
        "652900-H01",
        "652900",
        "hospital",
        [
            "阿克苏地区第一人民医院",
            "ئاقسۇ ۋىلايەتلىك 1-خەلق دوختۇرخانىسى",
            "Aksu First People's Hospital",
        ],
    ),
    (
        "653129",
        "653100",
        "county",
        ["伽师县", "پەيزىۋات ناھىيەسى", "Jiashi County"],
    ),
    (
        "653129-H01",
        "653129",
        "hospital",
        [
            "伽师县人民医院",
            "پەيزىۋات ناھىيەلىك خەلق دوختۇرخانىسى",
            "Jiashi County People's Hospital",
        ],
    ),
];

/// Where transferred patients come from.
const SENDERS: &[&str] = &[
    "653121-H01",
    "653129-H01",
    "653200-H01",
    "653000-H01",
    "652900-H01",
];

/// (mechanism, ICD-10 codes to draw from) as road traffic, falls and farm machinery dominate.
const PATTERNS: &[(&str, &[&str])] = &[
    (
        "road_traffic",
        &["S06.5", "S27.0", "S36.1", "S72.0", "S22.4", "S82.2"],
    ),
    ("road_traffic", &["S06.3", "S36.0", "S32.5", "S42.2"]),
    ("fall", &["S72.0", "S32.0", "S22.4", "S06.0"]),
    ("fall", &["S06.5", "S12.0", "S82.2"]),
    ("machinery", &["S68.1", "S57.8", "S36.1", "S82.2"]),
    ("assault_blunt", &["S02.6", "S06.0", "S22.4"]),
    ("stab", &["S21.1", "S31.1", "S36.1"]),
    ("burn", &["T31.2", "T20.2"]),
    ("animal", &["S81.8", "S06.0"]),
    ("crush", &["S77.1", "S32.5", "S36.0"]),
];

/// xorshift64*: deterministic demo.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn cst() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn ts(t: OffsetDateTime) -> String {
    tianshan_platform::clock::timestamp_text(t)
}

pub fn loader(st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(load(st))
}

/// The principal the demo reads patients' birth dates with.
fn demo_principal() -> Principal {
    let mut p = Principal::cli("demo");
    p.perms = Arc::new(PermSet::new(vec![
        tianshan_registry::facade::perms::PATIENTS_READ
            .key()
            .to_string(),
    ]));
    p
}

/// One generated case: its input (times relative to `start`), outcome chosen afterwards.
pub fn generate(n_months: u32, per_month: u32, seed: u64) -> Vec<(RecordInput, f64)> {
    generate_months(0..n_months, per_month, seed)
}

/// Cases of the months given (0 = January 2019).
pub fn generate_months(
    months: std::ops::Range<u32>,
    per_month: u32,
    seed: u64,
) -> Vec<(RecordInput, f64)> {
    let mut rng = Rng((seed ^ u64::from(months.start).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
    let mut out = Vec::new();
    for m in months {
        let (year, month) = (2019 + (m / 12) as i32, (m % 12) as u8 + 1);
        // 8 h in January 2019 down to 60 min by December 2024, then steady
        let progress = (f64::from(m) / 71.0).min(1.0);
        let target = 480.0 * (60.0f64 / 480.0).powf(progress);
        for _ in 0..per_month {
            let Ok(mo) = time::Month::try_from(month) else {
                continue;
            };
            let day = 1 + rng.below(28) as u8;
            let Ok(date) = time::Date::from_calendar_date(year, mo, day) else {
                continue;
            };
            let hour = rng.below(24) as u8;
            let Ok(at) = date.with_hms(hour, rng.below(60) as u8, 0) else {
                continue;
            };
            let injured = at.assume_offset(cst());
            let (mech, codes) = PATTERNS[rng.below(PATTERNS.len() as u64) as usize];
            let n_inj = 1 + rng.below(3) as usize;
            let mut injuries: Vec<InjuryInput> = Vec::new();
            for _ in 0..n_inj {
                let c = codes[rng.below(codes.len() as u64) as usize];
                if !injuries.iter().any(|i| i.icd10 == c) {
                    injuries.push(InjuryInput {
                        icd10: c.into(),
                        ..Default::default()
                    });
                }
            }
            let call = injured + Duration::minutes(3 + rng.below(20) as i64);
            let dispatch = call + Duration::minutes(2 + rng.below(5) as i64);
            let scene = dispatch + Duration::minutes(10 + rng.below(50) as i64);
            let left = scene + Duration::minutes(8 + rng.below(15) as i64);
            let arrive = left + Duration::minutes(15 + rng.below(70) as i64);
            let mut stays = Vec::new();
            let transferred = rng.below(3) == 0;
            let centre_arrival = if transferred {
                let from = SENDERS[rng.below(SENDERS.len() as u64) as usize];
                let dep = arrive + Duration::minutes(30 + (target * 0.5 * rng.unit()) as i64);
                let back = dep + Duration::minutes(60 + rng.below(180) as i64);
                stays.push(StayInput {
                    org_code: from.into(),
                    arrived_at: ts(arrive),
                    departed_at: ts(dep),
                });
                back
            } else {
                arrive
            };
            stays.push(StayInput {
                org_code: CENTRE.into(),
                arrived_at: ts(centre_arrival),
                departed_at: String::new(),
            });
            let severe_draw = rng.unit();
            let (gcs, sbp, rr) = if severe_draw < 0.25 {
                ([2u8, 2, 4], 78u16, 30u16)
            } else if severe_draw < 0.5 {
                ([3, 4, 5], 95, 24)
            } else {
                ([4, 5, 6], 125, 18)
            };
            let operated = rng.below(10) < 7;
            let op = centre_arrival
                + Duration::minutes((target * (0.55 + 0.9 * rng.unit())).round() as i64);
            let mut r = RecordInput {
                patient_id: String::new(),
                injured_at: ts(injured),
                mechanism: mech.into(),
                injury_place: String::new(),
                call_at: ts(call),
                dispatch_at: ts(dispatch),
                scene_at: ts(scene),
                scene_departed_at: ts(left),
                stays,
                trauma_team_at: ts(centre_arrival + Duration::minutes(5 + rng.below(10) as i64)),
                ct_at: ts(centre_arrival + Duration::minutes(10 + rng.below(20) as i64)),
                operation_at: if operated { ts(op) } else { String::new() },
                gcs_eye: Some(gcs[0]),
                gcs_verbal: Some(gcs[1]),
                gcs_motor: Some(gcs[2]),
                sbp: Some(sbp),
                rr: Some(rr),
                injuries,
                ..Default::default()
            };
            if operated && rng.below(2) == 0 {
                r.mdt_called_at = ts(centre_arrival + Duration::minutes(8));
                r.mdt_arrived_at = ts(centre_arrival + Duration::minutes(8 + rng.below(30) as i64));
            }
            let stay_days = 3 + rng.below(20) as i64;
            r.discharge_at = ts(op.max(centre_arrival) + Duration::days(stay_days));
            r.rehab_at = ts(centre_arrival + Duration::days(2));
            if m >= 36 {
                r.psych_at = ts(centre_arrival + Duration::days(3));
            }
            // death risk: about 50 % of severe cases died in 2019, about 2 % by 2024
            let base = 0.5 + (0.022 - 0.5) * progress;
            out.push((r, base * (0.5 + rng.unit())));
        }
    }
    out
}

async fn load(st: &Platform) -> Result<(), AppError> {
    for (code, parent, kind, names) in EXTRA {
        facade::ensure_org(st, code, Some(parent), kind, *names).await?;
    }
    let who = demo_principal();
    let ids: Vec<String> = (1..=240).map(|i| format!("demo-{i:04}")).collect();
    let patients = facade::patients_by_ids(st, &who, &ids).await?;
    let adults: Vec<_> = patients
        .iter()
        .filter(|p| p.birth_date.as_deref().is_some_and(|b| b < "2010"))
        .collect();
    if adults.is_empty() {
        return Ok(());
    }
    let mut cases = generate(84, 5, 0x7124_5153);
    // today's board: a few patients of the last 24 hours, still in the chain
    let now = st.clock.now();
    let mut rng = Rng(0x5eed);
    for k in 0..5i64 {
        let arrive = now - Duration::minutes(30 + k * 200);
        let mut r = RecordInput {
            injured_at: ts(arrive - Duration::minutes(70)),
            call_at: ts(arrive - Duration::minutes(60)),
            mechanism: if k % 2 == 0 { "road_traffic" } else { "fall" }.into(),
            stays: vec![StayInput {
                org_code: CENTRE.into(),
                arrived_at: ts(arrive),
                departed_at: String::new(),
            }],
            trauma_team_at: ts(arrive + Duration::minutes(5)),
            gcs_eye: Some(3),
            gcs_verbal: Some(4),
            gcs_motor: Some(5),
            sbp: Some(90 + rng.below(30) as u16),
            rr: Some(22),
            injuries: vec![InjuryInput {
                icd10: ["S06.5", "S36.1", "S27.0", "S72.0", "S22.4"][k as usize].into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        if k >= 2 {
            r.operation_at = ts(arrive + Duration::minutes(40 + k * 5));
        }
        cases.push((r, -1.0));
    }
    let mut rows: Vec<(RecordRow, Vec<StayRow>, Vec<InjuryRow>)> = Vec::new();
    let mut orgs = std::collections::HashMap::new();
    let codes: Vec<String> = SENDERS
        .iter()
        .chain([CENTRE].iter())
        .map(|s| s.to_string())
        .collect();
    for o in facade::orgs(st, &codes).await? {
        orgs.insert(o.code.clone(), o.path.clone());
    }
    for (i, (mut r, risk)) in cases.into_iter().enumerate() {
        let p = adults[(i * 7) % adults.len()];
        r.patient_id = p.id.clone();
        let Ok(c) = domain::check(r, false) else {
            continue;
        };
        let age = p
            .birth_date
            .as_deref()
            .and_then(|b| domain::age_at(b, &c.input.injured_at));
        let stays: Vec<StayRow> = c
            .input
            .stays
            .iter()
            .enumerate()
            .map(|(k, s)| StayRow {
                position: k as i64,
                org_code: s.org_code.clone(),
                org_path: orgs.get(&s.org_code).cloned().unwrap_or_default(),
                arrived_at: s.arrived_at.clone(),
                departed_at: s.departed_at.clone(),
            })
            .collect();
        let mut c = c;
        if risk >= 0.0 {
            // severe cases carry the risk; minor injuries rarely die
            let weight = match c.iss {
                Some(i) if i >= 25 => 1.0,
                Some(i) if i >= 16 => 0.6,
                _ => 0.08,
            };
            let died = Rng(0x9e37_79b9 ^ i as u64).unit() < risk * weight;
            c.input.outcome_discharge = if died { "dead" } else { "alive" }.into();
            c.input.outcome_30d = c.input.outcome_discharge.clone();
            c.input.disposition = if died { "died" } else { "home" }.into();
            if died {
                c.input.rehab_at.clear();
                c.input.psych_at.clear();
            }
        }
        let (mut row, injuries) = service::build(&c, &stays, age, &p.sex);
        row.id = format!("trauma-demo-{:04}", i + 1);
        row.created_by = "demo".into();
        row.version = 1;
        rows.push((row, stays, injuries));
    }
    for chunk in rows.chunks(100) {
        let chunk = chunk.to_vec();
        st.write(move |tx| {
            Box::pin(async move {
                for (mut r, s, i) in chunk {
                    r.created_at = tx.now().to_string();
                    r.updated_at = r.created_at.clone();
                    store::insert(tx, &r, &s, &i).await?;
                }
                Ok(())
            })
        })
        .await?;
    }
    Ok(())
}
