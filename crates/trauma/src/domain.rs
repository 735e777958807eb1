//! A trauma record as entered (times, vitals, injuries, outcome) and the pure rules that check
//! it and derive its scores. Times are inputs; nothing here reads the clock or the database.
use serde::{Deserialize, Serialize};
use tianshan_platform::error::FieldError;
use tianshan_platform::Msg;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use utoipa::ToSchema;

use crate::scoring::{self, Gcs, IcdpicMethod, Injury, InjuryType, Region};

/// Mechanisms of injury (ICD-10 external-cause groups as trauma registries report them).
pub const MECHANISMS: &[&str] = &[
    "road_traffic",
    "fall",
    "machinery",
    "assault_blunt",
    "stab",
    "gunshot",
    "burn",
    "animal",
    "crush",
    "other",
];

/// Stab and gunshot wounds are penetrating; everything else blunt for TRISS. (Burns are outside
/// the TRISS populations; they are scored with the blunt set and flagged by mechanism.)
pub fn injury_type(mechanism: &str) -> InjuryType {
    match mechanism {
        "stab" | "gunshot" => InjuryType::Penetrating,
        _ => InjuryType::Blunt,
    }
}

pub const OUTCOMES: &[&str] = &["", "alive", "dead"];
pub const DISPOSITIONS: &[&str] = &[
    "",
    "home",
    "rehabilitation",
    "other_hospital",
    "long_term_care",
    "died",
];

/// One hospital's stay in the chain.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StayInput {
    /// Organisation code of the hospital or clinic.
    pub org_code: String,
    pub arrived_at: String,
    #[serde(default)]
    pub departed_at: String,
}

/// One injury: an ICD-10 code (mapped through ICDPIC-R), or an AIS code with its region and
/// severity typed by a user holding `trauma.ais`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct InjuryInput {
    #[serde(default)]
    pub icd10: String,
    #[serde(default)]
    pub ais_code: String,
    /// head_neck, face, chest, abdomen, extremities, external (AIS entry only).
    #[serde(default)]
    pub region: String,
    /// 1-6 (AIS entry only).
    #[serde(default)]
    pub severity: Option<u8>,
}

/// A trauma record as entered. Times are RFC 3339 (`2025-03-01T08:15:00Z`) or local China time
/// without offset (`2025-03-01T16:15`, UTC+8, as a form sends it); empty = not known yet.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(default)]
pub struct RecordInput {
    pub patient_id: String,
    /// Age in years at injury when the registry has no birth date.
    pub age_years: Option<u16>,
    pub injured_at: String,
    pub injury_place: String,
    pub mechanism: String,
    pub call_at: String,
    pub dispatch_at: String,
    pub scene_at: String,
    pub scene_departed_at: String,
    /// The hospitals in order; the first one is where the record was begun.
    pub stays: Vec<StayInput>,
    pub trauma_team_at: String,
    pub mdt_called_at: String,
    pub mdt_arrived_at: String,
    pub ct_at: String,
    pub operation_at: String,
    pub icu_in_at: String,
    pub icu_out_at: String,
    pub discharge_at: String,
    pub rehab_at: String,
    pub psych_at: String,
    pub gcs_eye: Option<u8>,
    pub gcs_verbal: Option<u8>,
    pub gcs_motor: Option<u8>,
    pub sbp: Option<u16>,
    pub rr: Option<u16>,
    pub injuries: Vec<InjuryInput>,
    /// alive / dead at discharge; empty while in hospital.
    pub outcome_discharge: String,
    /// alive / dead at 30 days.
    pub outcome_30d: String,
    pub disposition: String,
}

/// Normalised times of a record (RFC 3339 UTC text, empty when unknown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub input: RecordInput,
    pub gcs: Option<u8>,
    pub rts: Option<f64>,
    pub injuries: Vec<Injury>,
    pub iss: Option<u16>,
    pub niss: Option<u16>,
    pub injury_type: String,
}

fn err(field: &str, key: &'static str) -> FieldError {
    FieldError::new(field, Msg::new(key))
}

/// Parse one time field to RFC 3339 UTC text ("" stays "").
pub fn parse_time(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return Some(String::new());
    }
    let at = if let Ok(at) = OffsetDateTime::parse(t, &Rfc3339) {
        at
    } else {
        let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        let fmt_s =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let p = PrimitiveDateTime::parse(t, &fmt)
            .or_else(|_| PrimitiveDateTime::parse(t, &fmt_s))
            .or_else(|_| PrimitiveDateTime::parse(&t.replacen(' ', "T", 1), &fmt))
            .or_else(|_| PrimitiveDateTime::parse(&t.replacen(' ', "T", 1), &fmt_s))
            .ok()?;
        let cst = UtcOffset::from_hms(8, 0, 0).ok()?;
        p.assume_offset(cst)
    };
    Some(tianshan_platform::clock::timestamp_text(at))
}

/// Minutes from `a` to `b` (both RFC 3339 UTC text), if both known.
pub fn minutes(a: &str, b: &str) -> Option<i64> {
    let a = OffsetDateTime::parse(a, &Rfc3339).ok()?;
    let b = OffsetDateTime::parse(b, &Rfc3339).ok()?;
    Some((b - a).whole_minutes())
}

/// Check a record and compute its scores. `ais_allowed`: the user holds the AIS licence
/// permission. Every problem is reported at once, each beside its field.
pub fn check(mut r: RecordInput, ais_allowed: bool) -> Result<Checked, Vec<FieldError>> {
    let mut errs = Vec::new();
    macro_rules! times {
        ($($f:ident),*) => {
            $(
                match parse_time(&r.$f) {
                    Some(t) => r.$f = t,
                    None => errs.push(err(stringify!($f), "trauma.err.time")),
                }
            )*
        };
    }
    times!(
        injured_at,
        call_at,
        dispatch_at,
        scene_at,
        scene_departed_at,
        trauma_team_at,
        mdt_called_at,
        mdt_arrived_at,
        ct_at,
        operation_at,
        icu_in_at,
        icu_out_at,
        discharge_at,
        rehab_at,
        psych_at
    );
    if r.patient_id.trim().is_empty() {
        errs.push(err("patient_id", "trauma.err.required"));
    }
    r.mechanism = r.mechanism.trim().to_string();
    if !MECHANISMS.contains(&r.mechanism.as_str()) {
        errs.push(err("mechanism", "trauma.err.mechanism"));
    }
    if r.stays.is_empty() {
        errs.push(err("stays", "trauma.err.no_stay"));
    }
    for (i, s) in r.stays.iter_mut().enumerate() {
        s.org_code = s.org_code.trim().to_string();
        if s.org_code.is_empty() {
            errs.push(err(&format!("stays.{i}.org_code"), "trauma.err.required"));
        }
        match parse_time(&s.arrived_at) {
            Some(t) if !t.is_empty() => s.arrived_at = t,
            Some(_) => errs.push(err(&format!("stays.{i}.arrived_at"), "trauma.err.required")),
            None => errs.push(err(&format!("stays.{i}.arrived_at"), "trauma.err.time")),
        }
        match parse_time(&s.departed_at) {
            Some(t) => s.departed_at = t,
            None => errs.push(err(&format!("stays.{i}.departed_at"), "trauma.err.time")),
        }
    }
    for (v, list, f) in [
        (&r.outcome_discharge, OUTCOMES, "outcome_discharge"),
        (&r.outcome_30d, OUTCOMES, "outcome_30d"),
        (&r.disposition, DISPOSITIONS, "disposition"),
    ] {
        if !list.contains(&v.as_str()) {
            errs.push(err(f, "trauma.err.choice"));
        }
    }
    if r.outcome_discharge == "dead" && r.outcome_30d == "alive" {
        errs.push(err("outcome_30d", "trauma.err.dead_then_alive"));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    order_errors(&r, &mut errs);

    // Scores.
    let gcs = match (r.gcs_eye, r.gcs_verbal, r.gcs_motor) {
        (None, None, None) => None,
        (Some(e), Some(v), Some(m)) => match Gcs::new(e, v, m) {
            Ok(g) => Some(g.total()),
            Err(_) => {
                errs.push(err("gcs", "trauma.err.gcs"));
                None
            }
        },
        _ => {
            errs.push(err("gcs", "trauma.err.gcs_parts"));
            None
        }
    };
    if r.sbp.is_some_and(|v| v > scoring::SBP_MAX) {
        errs.push(err("sbp", "trauma.err.vital"));
    }
    if r.rr.is_some_and(|v| v > scoring::RR_MAX) {
        errs.push(err("rr", "trauma.err.vital"));
    }
    let rts = match (gcs, r.sbp, r.rr) {
        (Some(g), Some(s), Some(v)) => scoring::rts(g, s, v).ok(),
        _ => None,
    };
    let mut injuries = Vec::new();
    for (i, inj) in r.injuries.iter_mut().enumerate() {
        inj.icd10 = inj.icd10.trim().to_string();
        inj.ais_code = inj.ais_code.trim().to_string();
        // An ICD-10 code without an AIS code is mapped (region/severity sent back from a read
        // are ignored); an AIS code, or region and severity without ICD-10, is AIS entry.
        if !inj.ais_code.is_empty() || inj.icd10.is_empty() {
            if !ais_allowed {
                errs.push(err(&format!("injuries.{i}"), "trauma.err.ais_licence"));
                continue;
            }
            let Ok(region) = Region::parse(inj.region.trim()) else {
                errs.push(err(&format!("injuries.{i}.region"), "trauma.err.region"));
                continue;
            };
            match scoring::injury_from_ais(&inj.ais_code, region, inj.severity.unwrap_or(0)) {
                Ok(mut x) => {
                    x.icd10 = inj.icd10.clone();
                    injuries.push(x)
                }
                Err(_) => errs.push(err(&format!("injuries.{i}.severity"), "trauma.err.ais")),
            }
        } else {
            match scoring::injury_from_icd(&inj.icd10, IcdpicMethod::Nis) {
                Ok(x) => injuries.push(x),
                Err(_) => errs.push(FieldError::new(
                    format!("injuries.{i}.icd10"),
                    Msg::new("trauma.err.icd").arg("code", inj.icd10.clone()),
                )),
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let (iss, niss) = if injuries.is_empty() {
        (None, None)
    } else {
        (
            Some(scoring::iss(&injuries)),
            Some(scoring::niss(&injuries)),
        )
    };
    let kind = injury_type(&r.mechanism);
    Ok(Checked {
        input: r,
        gcs,
        rts,
        injuries,
        iss,
        niss,
        injury_type: match kind {
            InjuryType::Blunt => "blunt",
            InjuryType::Penetrating => "penetrating",
        }
        .to_string(),
    })
}

/// The chain's times must follow one another: injury, call, dispatch, scene, leaving the scene,
/// the first arrival; each stay's arrival before its departure and before the next arrival;
/// in-hospital events after the first arrival; ICU in before out; discharge last.
fn order_errors(r: &RecordInput, errs: &mut Vec<FieldError>) {
    let mut check = |earlier: (&str, &str), later: (&str, &str)| {
        if !earlier.1.is_empty() && !later.1.is_empty() && later.1 < earlier.1 {
            errs.push(FieldError::new(
                later.0,
                Msg::new("trauma.err.order")
                    .arg("field", later.0.to_string())
                    .arg("before", earlier.0.to_string()),
            ));
        }
    };
    let first = r.stays.first().map(|s| s.arrived_at.as_str()).unwrap_or("");
    let chain = [
        ("injured_at", r.injured_at.as_str()),
        ("call_at", r.call_at.as_str()),
        ("dispatch_at", r.dispatch_at.as_str()),
        ("scene_at", r.scene_at.as_str()),
        ("scene_departed_at", r.scene_departed_at.as_str()),
        ("stays.0.arrived_at", first),
    ];
    // each known time against the latest known one before it
    let mut last: Option<(&str, &str)> = None;
    for c in chain {
        if c.1.is_empty() {
            continue;
        }
        if let Some(l) = last {
            check(l, c);
        }
        last = Some(c);
    }
    let mut prev: Option<(String, String)> = None;
    for (i, s) in r.stays.iter().enumerate() {
        let a = format!("stays.{i}.arrived_at");
        let d = format!("stays.{i}.departed_at");
        if let Some((pf, pv)) = &prev {
            check((pf, pv), (&a, &s.arrived_at));
        }
        check((&a, &s.arrived_at), (&d, &s.departed_at));
        prev = Some(if s.departed_at.is_empty() {
            (a, s.arrived_at.clone())
        } else {
            (d, s.departed_at.clone())
        });
    }
    for f in [
        ("trauma_team_at", r.trauma_team_at.as_str()),
        ("mdt_called_at", r.mdt_called_at.as_str()),
        ("ct_at", r.ct_at.as_str()),
        ("operation_at", r.operation_at.as_str()),
        ("icu_in_at", r.icu_in_at.as_str()),
        ("discharge_at", r.discharge_at.as_str()),
    ] {
        check(("stays.0.arrived_at", first), f);
    }
    check(
        ("mdt_called_at", &r.mdt_called_at),
        ("mdt_arrived_at", &r.mdt_arrived_at),
    );
    check(("icu_in_at", &r.icu_in_at), ("icu_out_at", &r.icu_out_at));
    for f in [
        ("operation_at", r.operation_at.as_str()),
        ("icu_out_at", r.icu_out_at.as_str()),
        ("ct_at", r.ct_at.as_str()),
    ] {
        check(f, ("discharge_at", &r.discharge_at));
    }
}

/// Which stay was the patient in at `at` (the last one arrived at by then).
pub fn stay_at(stays: &[StayInput], at: &str) -> Option<usize> {
    stays.iter().rposition(|s| s.arrived_at.as_str() <= at)
}

/// Whole years between a birth date (`YYYY-MM-DD`) and an RFC 3339 time.
pub fn age_at(birth: &str, at: &str) -> Option<u16> {
    let b = time::Date::parse(
        birth,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let a = OffsetDateTime::parse(at, &Rfc3339).ok()?.date();
    let mut y = a.year() - b.year();
    if (a.month() as u8, a.day()) < (b.month() as u8, b.day()) {
        y -= 1;
    }
    u16::try_from(y).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RecordInput {
        RecordInput {
            patient_id: "p1".into(),
            mechanism: "road_traffic".into(),
            injured_at: "2025-03-01T08:00".into(),
            call_at: "2025-03-01T08:05".into(),
            stays: vec![StayInput {
                org_code: "653121-H01".into(),
                arrived_at: "2025-03-01T09:00".into(),
                departed_at: String::new(),
            }],
            gcs_eye: Some(4),
            gcs_verbal: Some(5),
            gcs_motor: Some(6),
            sbp: Some(120),
            rr: Some(16),
            injuries: vec![InjuryInput {
                icd10: "S06.5".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn local_time_is_china_time() {
        assert_eq!(
            parse_time("2025-03-01T08:00").unwrap(),
            "2025-03-01T00:00:00Z"
        );
        assert_eq!(
            parse_time("2025-03-01T00:00:00Z").unwrap(),
            "2025-03-01T00:00:00Z"
        );
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn scores_are_computed() {
        let c = check(base(), false).unwrap();
        assert_eq!(c.gcs, Some(15));
        assert_eq!(c.rts, Some(7.8408));
        assert_eq!((c.iss, c.niss), (Some(25), Some(25)));
        assert_eq!(c.injury_type, "blunt");
    }

    #[test]
    fn out_of_order_and_impossible_values_are_refused() {
        let mut r = base();
        r.call_at = "2025-03-01T07:00".into();
        let e = check(r, false).unwrap_err();
        assert_eq!(e[0].field, "call_at");
        let mut r = base();
        r.gcs_eye = Some(5);
        assert_eq!(check(r, false).unwrap_err()[0].field, "gcs");
        let mut r = base();
        r.injuries[0].icd10 = "Q99.9".into();
        assert_eq!(check(r, false).unwrap_err()[0].field, "injuries.0.icd10");
        let mut r = base();
        r.injuries = vec![InjuryInput {
            ais_code: "140652.5".into(),
            region: "head_neck".into(),
            severity: Some(5),
            ..Default::default()
        }];
        assert_eq!(
            check(r.clone(), false).unwrap_err()[0].msg.key,
            "trauma.err.ais_licence"
        );
        assert_eq!(check(r, true).unwrap().iss, Some(25));
        let mut r = base();
        r.operation_at = "2025-03-01T08:30".into();
        assert_eq!(check(r, false).unwrap_err()[0].field, "operation_at");
    }

    #[test]
    fn ages() {
        assert_eq!(age_at("1970-03-02", "2025-03-01T00:00:00Z"), Some(54));
        assert_eq!(age_at("1970-03-01", "2025-03-01T00:00:00Z"), Some(55));
    }
}
