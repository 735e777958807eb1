//! Trauma scores as pure functions: GCS, the coded Revised Trauma Score, AIS per injury (from
//! ICD-10 through the ICDPIC-R table, or typed by a licensed AIS user), ISS and NISS, TRISS
//! probability of survival with a named coefficient set. No I/O; tables are embedded.
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Why a score could not be computed from what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("GCS {part} must be between {min} and {max}")]
    GcsPart {
        part: &'static str,
        min: u8,
        max: u8,
    },
    #[error("AIS severity must be 1 to 6")]
    AisSeverity,
    #[error("unknown AIS body region")]
    Region,
    #[error("ICD-10 code {0} is not an injury code the ICDPIC-R table maps")]
    UnknownIcd(String),
    #[error("systolic pressure or respiratory rate out of range")]
    Vital,
    #[error("unknown TRISS coefficient set {0}")]
    CoefficientSet(String),
}

/// Glasgow Coma Scale from its three parts (Teasdale & Jennett, Lancet 1974): eye 1-4,
/// verbal 1-5, motor 1-6, total 3-15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gcs {
    pub eye: u8,
    pub verbal: u8,
    pub motor: u8,
}

impl Gcs {
    pub fn new(eye: u8, verbal: u8, motor: u8) -> Result<Gcs, ScoreError> {
        for (part, v, max) in [("eye", eye, 4), ("verbal", verbal, 5), ("motor", motor, 6)] {
            if !(1..=max).contains(&v) {
                return Err(ScoreError::GcsPart { part, min: 1, max });
            }
        }
        Ok(Gcs { eye, verbal, motor })
    }
    pub fn total(self) -> u8 {
        self.eye + self.verbal + self.motor
    }
}

/// Coded value (0-4) of a GCS total (Champion 1989, rts_coding.csv).
pub fn gcs_code(gcs: u8) -> u8 {
    match gcs {
        13..=15 => 4,
        9..=12 => 3,
        6..=8 => 2,
        4..=5 => 1,
        _ => 0,
    }
}

/// Coded value of the systolic blood pressure (mmHg).
pub fn sbp_code(sbp: u16) -> u8 {
    match sbp {
        90.. => 4,
        76..=89 => 3,
        50..=75 => 2,
        1..=49 => 1,
        0 => 0,
    }
}

/// Coded value of the respiratory rate (per minute).
pub fn rr_code(rr: u16) -> u8 {
    match rr {
        10..=29 => 4,
        30.. => 3,
        6..=9 => 2,
        1..=5 => 1,
        0 => 0,
    }
}

/// Highest plausible systolic pressure and respiratory rate accepted.
pub const SBP_MAX: u16 = 300;
pub const RR_MAX: u16 = 80;

/// Revised Trauma Score (Champion HR et al., J Trauma 1989;29:623-9), weighted coded form,
/// 0..7.8408, rounded to 4 decimals as published.
pub fn rts(gcs: u8, sbp: u16, rr: u16) -> Result<f64, ScoreError> {
    if !(3..=15).contains(&gcs) {
        return Err(ScoreError::GcsPart {
            part: "total",
            min: 3,
            max: 15,
        });
    }
    if sbp > SBP_MAX || rr > RR_MAX {
        return Err(ScoreError::Vital);
    }
    Ok(rts_from_codes(gcs_code(gcs), sbp_code(sbp), rr_code(rr)))
}

pub fn rts_from_codes(g: u8, s: u8, r: u8) -> f64 {
    let v = 0.9368 * f64::from(g) + 0.7326 * f64::from(s) + 0.2908 * f64::from(r);
    (v * 10_000.0).round() / 10_000.0
}

/// The six ISS body regions (Baker 1974). ICDPIC-R's "General" is External.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    HeadNeck,
    Face,
    Chest,
    Abdomen,
    Extremities,
    External,
}

impl Region {
    pub const ALL: [Region; 6] = [
        Region::HeadNeck,
        Region::Face,
        Region::Chest,
        Region::Abdomen,
        Region::Extremities,
        Region::External,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Region::HeadNeck => "head_neck",
            Region::Face => "face",
            Region::Chest => "chest",
            Region::Abdomen => "abdomen",
            Region::Extremities => "extremities",
            Region::External => "external",
        }
    }
    pub fn parse(s: &str) -> Result<Region, ScoreError> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(ScoreError::Region)
    }
    fn from_icdpic(s: &str) -> Option<Region> {
        Some(match s {
            "Head/Neck" => Region::HeadNeck,
            "Face" => Region::Face,
            "Chest" => Region::Chest,
            "Abdomen" => Region::Abdomen,
            "Extremities" => Region::Extremities,
            "General" => Region::External,
            _ => return None,
        })
    }
}

/// Which ICDPIC-R reference database's severity to use (icdpicr `roc_max_NIS` or
/// `roc_max_TQIP`). NIS is the default: it also covers the WHO base codes best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IcdpicMethod {
    Nis,
    Tqip,
}

impl IcdpicMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IcdpicMethod::Nis => "icdpicr_roc_max_nis",
            IcdpicMethod::Tqip => "icdpicr_roc_max_tqip",
        }
    }
}

const ICD_BASE: &str = include_str!("../data/i10base_map_roc.csv");

/// (NIS severity, NIS region, TQIP severity, TQIP region) by 3-4 character base code.
type IcdRow = (Option<u8>, Option<Region>, Option<u8>, Option<Region>);

fn icd_table() -> &'static HashMap<String, IcdRow> {
    static T: OnceLock<HashMap<String, IcdRow>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m = HashMap::new();
        for line in ICD_BASE.lines().skip(1) {
            let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
            if f.len() < 5 {
                continue;
            }
            let sev = |s: &str| s.parse::<u8>().ok().filter(|v| (1..=6).contains(v));
            m.insert(
                f[0].to_string(),
                (
                    sev(f[3]),
                    Region::from_icdpic(f[4]),
                    sev(f[1]),
                    Region::from_icdpic(f[2]),
                ),
            );
        }
        m
    })
}

/// Normalise an ICD-10 code as ICDPIC-R does for WHO codes: drop dots and spaces, upper case,
/// keep the first four characters (Chinese clinical extensions such as `S06.501` end up `S065`).
pub fn normalise_icd(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .take(4)
        .collect()
}

/// One injury's AIS severity and ISS region, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injury {
    pub region: Region,
    pub severity: u8,
    /// `icdpicr_roc_max_nis` / `icdpicr_roc_max_tqip` (mapped from ICD-10) or `ais_licensed`
    /// (typed as AIS by a licensed user).
    pub source: String,
    pub icd10: String,
    pub ais_code: String,
}

/// Map one ICD-10 injury code to body region and severity through the ICDPIC-R WHO table.
pub fn injury_from_icd(code: &str, method: IcdpicMethod) -> Result<Injury, ScoreError> {
    let key = normalise_icd(code);
    let row = icd_table().get(&key);
    let (sev, region) = match (row, method) {
        (Some(r), IcdpicMethod::Nis) => (r.0, r.1),
        (Some(r), IcdpicMethod::Tqip) => (r.2, r.3),
        (None, _) => (None, None),
    };
    match (sev, region) {
        (Some(severity), Some(region)) => Ok(Injury {
            region,
            severity,
            source: method.as_str().to_string(),
            icd10: code.trim().to_string(),
            ais_code: String::new(),
        }),
        _ => Err(ScoreError::UnknownIcd(code.trim().to_string())),
    }
}

/// An injury typed as AIS by a licensed user: the AIS code (kept as typed), its region and its
/// severity (the post-dot digit of an AIS code, 1-6).
pub fn injury_from_ais(ais_code: &str, region: Region, severity: u8) -> Result<Injury, ScoreError> {
    if !(1..=6).contains(&severity) {
        return Err(ScoreError::AisSeverity);
    }
    Ok(Injury {
        region,
        severity,
        source: "ais_licensed".to_string(),
        icd10: String::new(),
        ais_code: ais_code.trim().to_string(),
    })
}

/// Injury Severity Score (Baker SP et al., J Trauma 1974;14:187-96): sum of the squares of the
/// highest AIS in each of the three most severely injured regions; any AIS 6 gives 75.
pub fn iss(injuries: &[Injury]) -> u16 {
    if injuries.iter().any(|i| i.severity >= 6) {
        return 75;
    }
    let mut best: HashMap<Region, u8> = HashMap::new();
    for i in injuries {
        let e = best.entry(i.region).or_insert(0);
        *e = (*e).max(i.severity);
    }
    let mut v: Vec<u8> = best.into_values().collect();
    top3_squares(&mut v)
}

/// New Injury Severity Score (Osler T et al., J Trauma 1997;43:922-5): the three highest AIS
/// whatever their region; any AIS 6 gives 75.
pub fn niss(injuries: &[Injury]) -> u16 {
    if injuries.iter().any(|i| i.severity >= 6) {
        return 75;
    }
    let mut v: Vec<u8> = injuries.iter().map(|i| i.severity).collect();
    top3_squares(&mut v)
}

fn top3_squares(v: &mut [u8]) -> u16 {
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.iter()
        .take(3)
        .map(|s| u16::from(*s) * u16::from(*s))
        .sum()
}

/// Blunt or penetrating, as TRISS distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InjuryType {
    Blunt,
    Penetrating,
}

/// One TRISS coefficient pair (b0 + b1 RTS + b2 ISS + b3 AgeIndex).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrissCoefficients {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub b3: f64,
}

/// A named coefficient set, blunt and penetrating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrissModel {
    pub id: String,
    pub blunt: TrissCoefficients,
    pub penetrating: TrissCoefficients,
}

/// Coefficient sets from a CSV in the format of `triss_coefficients.csv` (model_id,
/// model_name, mechanism, b0, b1, b2, b3, ...); rows without numbers are skipped.
pub fn load_triss(csv: &str) -> Vec<TrissModel> {
    let mut blunt: Vec<(String, TrissCoefficients)> = Vec::new();
    let mut pen: HashMap<String, TrissCoefficients> = HashMap::new();
    for line in csv.lines().skip(1) {
        let f = split_csv_line(line);
        if f.len() < 7 {
            continue;
        }
        let nums: Vec<Option<f64>> = f[3..7].iter().map(|s| s.parse().ok()).collect();
        let (Some(b0), Some(b1), Some(b2), Some(b3)) = (nums[0], nums[1], nums[2], nums[3]) else {
            continue;
        };
        let c = TrissCoefficients { b0, b1, b2, b3 };
        match f[2].as_str() {
            "Blunt" => blunt.push((f[0].clone(), c)),
            "Penetrating" => {
                pen.insert(f[0].clone(), c);
            }
            _ => {}
        }
    }
    blunt
        .into_iter()
        .filter_map(|(id, b)| {
            pen.get(&id).map(|p| TrissModel {
                id: id.clone(),
                blunt: b,
                penetrating: *p,
            })
        })
        .collect()
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

const TRISS_CSV: &str = include_str!("../data/triss_coefficients.csv");

/// The default coefficient set: MTOS 1995 revision, verified against three public sources.
pub const DEFAULT_TRISS: &str = "MTOS_1995";

/// The embedded coefficient sets.
pub fn triss_models() -> &'static [TrissModel] {
    static M: OnceLock<Vec<TrissModel>> = OnceLock::new();
    M.get_or_init(|| load_triss(TRISS_CSV))
}

pub fn triss_model(id: &str) -> Result<&'static TrissModel, ScoreError> {
    triss_models()
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| ScoreError::CoefficientSet(id.to_string()))
}

/// TRISS probability of survival (Boyd CR et al., J Trauma 1987;27:370-8): Ps = 1/(1+e^-b),
/// b = b0 + b1·RTS + b2·ISS + b3·AgeIndex, AgeIndex = 1 from 55 years; under 15 years the blunt
/// coefficients apply whatever the mechanism (trauma.org).
pub fn triss_ps(model: &TrissModel, kind: InjuryType, rts: f64, iss: u16, age: u16) -> f64 {
    let c = if kind == InjuryType::Penetrating && age >= 15 {
        model.penetrating
    } else {
        model.blunt
    };
    let age_index = if age >= 55 { 1.0 } else { 0.0 };
    let b = c.b0 + c.b1 * rts + c.b2 * f64::from(iss) + c.b3 * age_index;
    1.0 / (1.0 + (-b).exp())
}

/// Risk-adjusted outcome of a group against TRISS (Champion HR et al., J Trauma
/// 1990;30:1356-65; Flora JD, J Trauma 1978;18:701-5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrissStats {
    pub n: u64,
    pub survivors: u64,
    pub deaths: u64,
    /// Sum of Ps: expected survivors.
    pub expected_survivors: f64,
    /// W: survivors more than expected per 100 patients, (A − ΣPs) / (N / 100).
    pub w: f64,
    /// Z: (A − ΣPs) / √ΣPs(1 − Ps). |Z| > 1.96 is significant at 5 %.
    pub z: Option<f64>,
    /// Observed to expected deaths, O / Σ(1 − Ps).
    pub oe: Option<f64>,
    /// 95 % interval of O/E: O/E ± 1.96·√ΣPs(1 − Ps) / E (normal approximation of the variance
    /// of the observed deaths given the model, Hosmer & Lemeshow 1995).
    pub oe_low: Option<f64>,
    pub oe_high: Option<f64>,
}

/// W, Z and O/E of `(Ps, survived)` pairs.
pub fn triss_stats(cases: &[(f64, bool)]) -> TrissStats {
    let n = cases.len() as u64;
    let survivors = cases.iter().filter(|c| c.1).count() as u64;
    let sum_ps: f64 = cases.iter().map(|c| c.0).sum();
    let var: f64 = cases.iter().map(|c| c.0 * (1.0 - c.0)).sum();
    let diff = survivors as f64 - sum_ps;
    let deaths = n - survivors;
    let expected_deaths = n as f64 - sum_ps;
    let oe = (expected_deaths > 0.0).then(|| deaths as f64 / expected_deaths);
    let half = (expected_deaths > 0.0).then(|| 1.96 * var.sqrt() / expected_deaths);
    TrissStats {
        n,
        survivors,
        deaths,
        expected_survivors: sum_ps,
        w: if n == 0 {
            0.0
        } else {
            diff / (n as f64 / 100.0)
        },
        z: (var > 0.0).then(|| diff / var.sqrt()),
        oe,
        oe_low: oe.zip(half).map(|(o, h)| (o - h).max(0.0)),
        oe_high: oe.zip(half).map(|(o, h)| o + h),
    }
}

/// Median and 90th percentile by the nearest-rank method (the value at rank ⌈p·n⌉ of the sorted
/// list): always an observed value, as a registry report quotes it.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests;
