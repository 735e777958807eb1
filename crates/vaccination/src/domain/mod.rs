//! Pure rules of the vaccination clinic: which lot may be used, the steps of a clinic visit,
//! temperature readings and excursions. No I/O; time is an input.
pub mod coverage;
pub mod vial;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

/// Minutes a child stays under observation after vaccination.
pub const OBSERVATION_MINUTES: i64 = 30;
/// Safe range of vaccine storage when a device names none: 2–8 °C.
pub const DEFAULT_MIN_TENTHS: i64 = 20;
pub const DEFAULT_MAX_TENTHS: i64 = 80;
/// Cumulative minutes outside the range, within [`WINDOW_HOURS`], that make an excursion.
pub const DEFAULT_EXCURSION_MINUTES: i64 = 60;
pub const WINDOW_HOURS: i64 = 24;
/// A reading holds for at most this long: a sensor that went silent is not assumed out of range.
pub const MAX_GAP_MINUTES: i64 = 30;
/// Temperatures a vaccine refrigerator or freezer sensor can report (°C); outside is a bad reading.
pub const MIN_PLAUSIBLE_TENTHS: i64 = -900;
pub const MAX_PLAUSIBLE_TENTHS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    Active,
    Quarantined,
    Recalled,
    Discarded,
}

impl LotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LotStatus::Active => "active",
            LotStatus::Quarantined => "quarantined",
            LotStatus::Recalled => "recalled",
            LotStatus::Discarded => "discarded",
        }
    }
    pub fn parse(s: &str) -> Option<LotStatus> {
        [
            LotStatus::Active,
            LotStatus::Quarantined,
            LotStatus::Recalled,
            LotStatus::Discarded,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// Why a dose may not be given from a lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LotRefusal {
    #[error("lot expired")]
    Expired,
    #[error("lot not active")]
    NotActive(LotStatus),
    #[error("no doses left")]
    Empty,
    #[error("lot of another product")]
    WrongProduct,
}

impl LotRefusal {
    /// The catalogue key of the message a nurse reads.
    pub fn key(self) -> &'static str {
        match self {
            LotRefusal::Expired => "vacc.err.lot_expired",
            LotRefusal::NotActive(LotStatus::Quarantined) => "vacc.err.lot_quarantined",
            LotRefusal::NotActive(LotStatus::Recalled) => "vacc.err.lot_recalled",
            LotRefusal::NotActive(_) => "vacc.err.lot_discarded",
            LotRefusal::Empty => "vacc.err.lot_empty",
            LotRefusal::WrongProduct => "vacc.err.lot_product",
        }
    }
}

/// May one dose be taken from this lot on `today`?
pub fn check_lot(
    status: LotStatus,
    expiry: &str,
    quantity: i64,
    today: Date,
) -> Result<(), LotRefusal> {
    if status != LotStatus::Active {
        return Err(LotRefusal::NotActive(status));
    }
    if expiry < date_text(today).as_str() {
        return Err(LotRefusal::Expired);
    }
    if quantity < 1 {
        return Err(LotRefusal::Empty);
    }
    Ok(())
}

/// The steps of a clinic visit, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// Checked in, waiting for screening.
    CheckedIn,
    /// Screened fit, waiting for registration.
    Screened,
    /// Screening found a contraindication: sent home with a return date.
    Deferred,
    /// Doses chosen and consent given: waiting for vaccination.
    Registered,
    /// Vaccinated, under observation.
    Observing,
    /// Left the clinic.
    Left,
}

impl VisitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::CheckedIn => "checked_in",
            VisitStatus::Screened => "screened",
            VisitStatus::Deferred => "deferred",
            VisitStatus::Registered => "registered",
            VisitStatus::Observing => "observing",
            VisitStatus::Left => "left",
        }
    }
    pub fn parse(s: &str) -> Option<VisitStatus> {
        [
            VisitStatus::CheckedIn,
            VisitStatus::Screened,
            VisitStatus::Deferred,
            VisitStatus::Registered,
            VisitStatus::Observing,
            VisitStatus::Left,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
    /// The station a child in this state waits for.
    pub fn station(self) -> &'static str {
        match self {
            VisitStatus::CheckedIn => "screening",
            VisitStatus::Screened => "registration",
            VisitStatus::Registered => "vaccination",
            VisitStatus::Observing => "observation",
            VisitStatus::Deferred | VisitStatus::Left => "done",
        }
    }
}

/// The health screening questionnaire (contraindications and precautions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Screening {
    /// Fever (≥ 37.5 °C) today.
    #[serde(default)]
    pub fever: bool,
    /// Acute illness or a flare of a chronic one.
    #[serde(default)]
    pub acute_illness: bool,
    /// Severe allergic reaction to a previous dose or a vaccine component.
    #[serde(default)]
    pub severe_allergy: bool,
    /// Immunodeficiency or immunosuppressive treatment (live vaccines).
    #[serde(default)]
    pub immunodeficiency: bool,
    /// Convulsions or another neurological condition (precaution).
    #[serde(default)]
    pub neurological: bool,
    /// Free notes of the screening doctor.
    #[serde(default)]
    pub notes: String,
}

impl Screening {
    /// A contraindication defers today's vaccination.
    pub fn defers(&self) -> bool {
        self.fever || self.acute_illness || self.severe_allergy
    }
    /// The reasons, as catalogue keys.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        if self.fever {
            r.push("vacc.screen.fever");
        }
        if self.acute_illness {
            r.push("vacc.screen.acute_illness");
        }
        if self.severe_allergy {
            r.push("vacc.screen.severe_allergy");
        }
        if self.immunodeficiency {
            r.push("vacc.screen.immunodeficiency");
        }
        if self.neurological {
            r.push("vacc.screen.neurological");
        }
        r
    }
}

/// Is leaving at `now` before the end of the observation period?
pub fn leaves_early(obs_start: OffsetDateTime, now: OffsetDateTime) -> bool {
    now < obs_start + time::Duration::minutes(OBSERVATION_MINUTES)
}

pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn parse_date(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).ok()
}

/// A reading as text from a sensor (`4.5`) into tenths of a degree, refusing what no sensor in a
/// vaccine store can read.
pub fn temperature_tenths(celsius: f64) -> Option<i64> {
    if !celsius.is_finite() {
        return None;
    }
    let t = (celsius * 10.0).round();
    if t < MIN_PLAUSIBLE_TENTHS as f64 || t > MAX_PLAUSIBLE_TENTHS as f64 {
        return None;
    }
    Some(t as i64)
}

/// Cumulative time out of range and the extreme reading, over readings in time order
/// (seconds since any origin, tenths). A reading holds until the next one, at most
/// [`MAX_GAP_MINUTES`]; the last reading counts nothing yet. Duplicates are removed before
/// (the store keeps one reading per device and instant), so a reading sent twice counts once.
pub fn out_of_range(readings: &[(i64, i64)], min: i64, max: i64) -> (i64, Option<i64>) {
    let mut seconds = 0;
    let mut extreme: Option<i64> = None;
    for (i, &(at, t)) in readings.iter().enumerate() {
        if t < min || t > max {
            let dist = |x: i64| if x < min { min - x } else { x - max };
            if extreme.is_none_or(|e| dist(t) > dist(e)) {
                extreme = Some(t);
            }
            if let Some(&(next, _)) = readings.get(i + 1) {
                seconds += (next - at).clamp(0, MAX_GAP_MINUTES * 60);
            }
        }
    }
    (seconds, extreme)
}

/// The earliest out-of-range reading that starts the current run of out-of-range time.
pub fn excursion_start(readings: &[(i64, i64)], min: i64, max: i64) -> Option<i64> {
    readings
        .iter()
        .find(|&&(_, t)| t < min || t > max)
        .map(|&(at, _)| at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn lot_rules() {
        let today = date!(2026 - 03 - 10);
        assert_eq!(check_lot(LotStatus::Active, "2026-03-10", 1, today), Ok(()));
        assert_eq!(
            check_lot(LotStatus::Active, "2026-03-09", 5, today),
            Err(LotRefusal::Expired)
        );
        assert_eq!(
            check_lot(LotStatus::Active, "2027-01-01", 0, today),
            Err(LotRefusal::Empty)
        );
        assert_eq!(
            check_lot(LotStatus::Quarantined, "2027-01-01", 9, today),
            Err(LotRefusal::NotActive(LotStatus::Quarantined))
        );
    }

    #[test]
    fn cumulative_excursion_counts_each_interval_once() {
        // 10-minute readings: 3 out of range (each holds 10 minutes), then back in range.
        let r = [(0, 50), (600, 95), (1200, 100), (1800, 97), (2400, 60)];
        assert_eq!(out_of_range(&r, 20, 80), (1800, Some(100)));
        // A silent sensor does not count beyond the gap cap.
        let r = [(0, 95), (10_000, 50)];
        assert_eq!(out_of_range(&r, 20, 80).0, MAX_GAP_MINUTES * 60);
        assert_eq!(excursion_start(&r, 20, 80), Some(0));
    }

    #[test]
    fn temperatures() {
        assert_eq!(temperature_tenths(4.46), Some(45));
        assert_eq!(temperature_tenths(-25.0), Some(-250));
        assert_eq!(temperature_tenths(500.0), None);
        assert_eq!(temperature_tenths(f64::NAN), None);
    }

    #[test]
    fn screening_defers_on_contraindications_only() {
        let mut s = Screening::default();
        assert!(!s.defers());
        s.neurological = true;
        assert!(!s.defers());
        s.fever = true;
        assert!(s.defers());
        assert_eq!(
            s.reasons(),
            vec!["vacc.screen.fever", "vacc.screen.neurological"]
        );
    }
}
