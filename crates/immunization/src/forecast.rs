//! Chapter 7 of the CDSi specification: the forecast of one relevant patient series
//! (skip, immunity, contraindications, forecast need, dates, validation of the recommendation).

use std::fmt;

use time::Date;

use crate::evaluate::{age_rule, day_before, Ctx, SeriesState, TargetStatus};
use crate::model::{in_effect, AntigenData, SeriesDose};
use crate::skip::SkipContext;
use crate::span::{add_days, Span};

/// Patient series / vaccine group status (CDSi table 3-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeriesStatus {
    NotComplete,
    Complete,
    Immune,
    Contraindicated,
    NotRecommended,
    AgedOut,
}

impl SeriesStatus {
    /// The text used in forecasts: `Not complete`, `Complete`, `Immune`, `Contraindicated`,
    /// `Not recommended`, `Aged out`.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesStatus::NotComplete => "Not complete",
            SeriesStatus::Complete => "Complete",
            SeriesStatus::Immune => "Immune",
            SeriesStatus::Contraindicated => "Contraindicated",
            SeriesStatus::NotRecommended => "Not recommended",
            SeriesStatus::AgedOut => "Aged out",
        }
    }

    /// Parses the texts of [`SeriesStatus::as_str`] case-insensitively.
    pub fn parse(text: &str) -> Option<SeriesStatus> {
        let t = text.trim().to_ascii_lowercase();
        [
            SeriesStatus::NotComplete,
            SeriesStatus::Complete,
            SeriesStatus::Immune,
            SeriesStatus::Contraindicated,
            SeriesStatus::NotRecommended,
            SeriesStatus::AgedOut,
        ]
        .into_iter()
        .find(|s| s.as_str().to_ascii_lowercase() == t)
    }
}

impl fmt::Display for SeriesStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The forecast of one patient series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SeriesForecast {
    pub status: SeriesStatus,
    /// Target index being forecast.
    pub target: Option<usize>,
    pub dose_number: Option<u32>,
    pub earliest: Option<Date>,
    pub unadjusted_recommended: Option<Date>,
    pub recommended: Option<Date>,
    pub unadjusted_past_due: Option<Date>,
    pub past_due: Option<Date>,
    pub latest: Option<Date>,
    /// FORECASTPRIORITY-1.
    pub priority: bool,
}

impl SeriesForecast {
    fn status(status: SeriesStatus) -> SeriesForecast {
        SeriesForecast {
            status,
            target: None,
            dose_number: None,
            earliest: None,
            unadjusted_recommended: None,
            recommended: None,
            unadjusted_past_due: None,
            past_due: None,
            latest: None,
            priority: false,
        }
    }
}

/// The specification's "assumed value if empty" for a candidate earliest date.
const NO_DATE: Date = time::macros::date!(2999 - 12 - 31);

fn later(a: Option<Date>, b: Option<Date>) -> Option<Date> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl SeriesState<'_> {
    /// Chapter 7 for this series; marks skipped target doses on the way.
    pub fn forecast(&mut self, ctx: &Ctx<'_>, antigen: &AntigenData) -> SeriesForecast {
        let mut t = self
            .targets
            .iter()
            .position(|x| x.status == TargetStatus::NotSatisfied);
        loop {
            // 7.1 conditional skip at the assessment date
            while let Some(i) = t {
                if i < self.targets.len()
                    && self.can_skip(
                        ctx,
                        self.series_dose(i),
                        SkipContext::Forecast,
                        ctx.assessment,
                        self.records.len(),
                    )
                {
                    self.targets[i].status = TargetStatus::Skipped;
                    t = Some(i + 1);
                } else {
                    break;
                }
            }
            let Some(i) = t.filter(|&i| i < self.targets.len()) else {
                let any_satisfied = self
                    .targets
                    .iter()
                    .any(|x| matches!(x.status, TargetStatus::Satisfied(_)));
                return SeriesForecast::status(if any_satisfied {
                    SeriesStatus::Complete
                } else {
                    SeriesStatus::NotRecommended
                });
            };
            let sd = self.series_dose(i);
            if immune(ctx, antigen) {
                return SeriesForecast::status(SeriesStatus::Immune);
            }
            if contraindicated(ctx, antigen, sd) {
                return SeriesForecast::status(SeriesStatus::Contraindicated);
            }
            let forecast = self.dates(ctx, i, sd);
            if forecast.status != SeriesStatus::NotComplete {
                return forecast;
            }
            // 7.6 validate the recommendation: skip again at the earliest date
            if let Some(earliest) = forecast.earliest {
                if self.can_skip(ctx, sd, SkipContext::Forecast, earliest, self.records.len()) {
                    self.targets[i].status = TargetStatus::Skipped;
                    t = Some(i + 1);
                    continue;
                }
            }
            return forecast;
        }
    }

    fn dates(&self, ctx: &Ctx<'_>, t: usize, sd: &SeriesDose) -> SeriesForecast {
        let on = ctx.assessment;
        if sd
            .seasonal_recommendation
            .as_ref()
            .and_then(|s| s.end_date)
            .is_some_and(|end| on > end)
        {
            return SeriesForecast::status(SeriesStatus::NotRecommended);
        }
        let age = age_rule(sd, on);
        let max_age = age.and_then(|a| ctx.age_date(a.max_age));
        if max_age.is_some_and(|m| on >= m) {
            return SeriesForecast::status(SeriesStatus::AgedOut);
        }
        let mut earliest = age.and_then(|a| ctx.age_date(a.min_age));
        let mut rec_interval = None;
        let mut due_interval = None;
        let intervals: Vec<_> = sd
            .interval
            .iter()
            .filter(|i| in_effect(i.effective_date, i.cessation_date, on))
            .collect();
        let n = self.records.len();
        for iv in &intervals {
            let Some(reference) = self.interval_reference(ctx, iv, n, add_days(on, 1)) else {
                continue;
            };
            earliest = later(earliest, iv.min_int.map(|s| s.after(reference)));
            rec_interval = later(
                rec_interval,
                iv.earliest_rec_int.map(|s| s.after(reference)),
            );
            due_interval = later(due_interval, iv.latest_rec_int.map(|s| s.after(reference)));
        }
        // CALCDTCONFLICT-3
        for dose in &ctx.patient.doses {
            for v in &sd.preferable_vaccine {
                let Some(cvx) = v.cvx else { continue };
                if let Some(c) = ctx.schedule.live_virus_conflict(dose.cvx, cvx) {
                    earliest = later(
                        earliest,
                        c.conflict_end_interval.map(|s| s.after(dose.date)),
                    );
                }
            }
        }
        earliest = later(
            earliest,
            sd.seasonal_recommendation
                .as_ref()
                .and_then(|s| s.start_date),
        );
        let last_evaluated = self
            .records
            .iter()
            .zip(&self.evals)
            .filter(|(_, e)| e.target_dose.is_some())
            .map(|(r, _)| r.date)
            .max();
        earliest = later(earliest, last_evaluated);
        // A series nobody has started yet cannot start before its minimum age to start.
        let started = self
            .targets
            .iter()
            .any(|x| matches!(x.status, TargetStatus::Satisfied(_)));
        if !started {
            earliest = later(
                earliest,
                ctx.age_date(self.series.select_series.min_age_to_start),
            );
        }
        // Table 7-9: a candidate earliest date with no component is 12/31/2999.
        let earliest = earliest.unwrap_or(NO_DATE);
        if max_age.is_some_and(|m| earliest >= m) {
            return SeriesForecast::status(SeriesStatus::AgedOut);
        }
        let unadjusted_recommended = age
            .and_then(|a| ctx.age_date(a.earliest_rec_age))
            .or(rec_interval)
            .unwrap_or(earliest);
        let unadjusted_past_due = age
            .and_then(|a| ctx.age_date(a.latest_rec_age))
            .or(due_interval)
            .map(day_before);
        let priority = !intervals.is_empty()
            && intervals.iter().all(|i| {
                i.interval_priority.as_deref().is_some_and(|p| {
                    p.eq_ignore_ascii_case("override") || p.eq_ignore_ascii_case("y")
                })
            });
        SeriesForecast {
            status: SeriesStatus::NotComplete,
            target: Some(t),
            dose_number: Some(sd.dose_number),
            earliest: Some(earliest),
            unadjusted_recommended: Some(unadjusted_recommended),
            recommended: Some(unadjusted_recommended.max(earliest)),
            unadjusted_past_due,
            past_due: unadjusted_past_due.map(|d| d.max(earliest)),
            latest: max_age.map(day_before),
            priority,
        }
    }

    /// SELECTB-12: earliest date plus the minimum intervals of the remaining target doses.
    pub fn finish_date(&self, forecast: &SeriesForecast) -> Option<Date> {
        let (t, earliest) = (forecast.target?, forecast.earliest?);
        let mut finish = earliest;
        for target in &self.targets[t + 1..] {
            let sd = &self.series.series_dose[target.dose];
            let step = sd
                .interval
                .iter()
                .filter(|i| i.from_previous)
                .filter_map(|i| i.min_int)
                .max_by_key(|s| s.after(finish))
                .unwrap_or(Span::ZERO);
            finish = step.after(finish);
        }
        Some(finish)
    }

    /// SELECTB-3: the forecast finish date is before the maximum age of the last target dose.
    pub fn completable(&self, ctx: &Ctx<'_>, forecast: &SeriesForecast) -> bool {
        let Some(finish) = self.finish_date(forecast) else {
            return false;
        };
        let last = self.series.series_dose.last();
        let max_age = last
            .and_then(|sd| age_rule(sd, ctx.assessment))
            .and_then(|a| ctx.age_date(a.max_age));
        max_age.is_none_or(|m| finish < m)
    }
}

/// Table 7-3: clinical history codes or birth before the immunity birth date.
fn immune(ctx: &Ctx<'_>, antigen: &AntigenData) -> bool {
    let immunity = &antigen.immunity;
    let by_history = immunity
        .clinical_history
        .iter()
        .filter_map(|c| c.guideline_code.as_deref())
        .any(|code| ctx.patient.has_observation(code));
    by_history
        || immunity.date_of_birth.iter().any(|b| {
            b.immunity_birth_date
                .is_some_and(|d| ctx.patient.birth_date < d)
                && !b
                    .exclusion
                    .iter()
                    .filter_map(|e| e.exclusion_code.as_deref())
                    .any(|code| ctx.patient.has_observation(code))
        })
}

/// Tables 7-5 to 7-7.
fn contraindicated(ctx: &Ctx<'_>, antigen: &AntigenData, sd: &SeriesDose) -> bool {
    let in_age = |begin: Option<Span>, end: Option<Span>| {
        ctx.age_date(begin).is_none_or(|b| ctx.assessment >= b)
            && ctx.age_date(end).is_none_or(|e| ctx.assessment < e)
    };
    let list = &antigen.contraindications;
    let antigen_level = list.vaccine_group.contraindication.iter().any(|c| {
        c.observation_code
            .as_deref()
            .is_some_and(|code| ctx.patient.has_observation(code))
            && in_age(c.begin_age, c.end_age)
    });
    if antigen_level {
        return true;
    }
    if sd.preferable_vaccine.is_empty() {
        return false;
    }
    sd.preferable_vaccine.iter().all(|v| {
        list.vaccine.contraindication.iter().any(|c| {
            c.observation_code
                .as_deref()
                .is_some_and(|code| ctx.patient.has_observation(code))
                && c.contraindicated_vaccine
                    .iter()
                    .any(|cv| cv.cvx == v.cvx && in_age(cv.begin_age, cv.end_age))
        })
    })
}
