//! Chapter 7 of the CDSi specification: the forecast of one relevant patient series
//! (skip, immunity, contraindications, forecast need, dates, validation of the recommendation).

use std::fmt;

use crate::evaluate::{AntigenDose, Ctx, Event, SeriesRun, TargetStatus, Trace};
use crate::plan::{in_effect, AntigenPlan, DosePlan, SeriesPlan};
use crate::skip::SkipContext;
use crate::span::{Day, Span};

/// Patient series / vaccine group status (CDSi table 3-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SeriesStatus {
    #[default]
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

    /// A stable machine code: `not_complete`, `complete`, `immune`, `contraindicated`,
    /// `not_recommended`, `aged_out`.
    pub fn code(self) -> &'static str {
        match self {
            SeriesStatus::NotComplete => "not_complete",
            SeriesStatus::Complete => "complete",
            SeriesStatus::Immune => "immune",
            SeriesStatus::Contraindicated => "contraindicated",
            SeriesStatus::NotRecommended => "not_recommended",
            SeriesStatus::AgedOut => "aged_out",
        }
    }

    /// Parses the texts of [`SeriesStatus::as_str`] case-insensitively.
    pub fn parse(text: &str) -> Option<SeriesStatus> {
        let t = text.trim();
        [
            SeriesStatus::NotComplete,
            SeriesStatus::Complete,
            SeriesStatus::Immune,
            SeriesStatus::Contraindicated,
            SeriesStatus::NotRecommended,
            SeriesStatus::AgedOut,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(t))
    }
}

impl fmt::Display for SeriesStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a patient series forecast has its status (table 7-10) or its earliest date
/// (FORECASTDTCAN-1): what the explanation reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ForecastWhy {
    #[default]
    None,
    /// Every target dose is satisfied or skipped and at least one is satisfied.
    AllSatisfied,
    /// Every target dose was skipped.
    AllSkipped,
    Immune,
    ContraindicatedAntigen,
    ContraindicatedVaccines,
    PastSeason,
    PastMaxAge,
    CannotFinish,
    /// Not complete; the earliest date comes from ...
    EarliestMinAge,
    EarliestInterval,
    EarliestConflict,
    EarliestSeason,
    EarliestLastDose,
    EarliestMinAgeToStart,
    EarliestUnknown,
}

/// The forecast of one patient series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SeriesForecast {
    pub status: SeriesStatus,
    /// Target index being forecast.
    pub target: Option<usize>,
    pub dose_number: Option<u32>,
    pub earliest: Option<Day>,
    pub recommended: Option<Day>,
    pub past_due: Option<Day>,
    pub latest: Option<Day>,
    /// FORECASTPRIORITY-1.
    pub priority: bool,
    /// Contraindicated only because every preferable vaccine of the series is (table 7-7, second
    /// rule), not by an antigen contraindication.
    pub vaccines_contraindicated: bool,
    pub why: ForecastWhy,
}

impl SeriesForecast {
    fn status(status: SeriesStatus, why: ForecastWhy) -> SeriesForecast {
        SeriesForecast {
            status,
            why,
            ..SeriesForecast::default()
        }
    }
}

/// Keeps the later of a candidate and a new component, remembering which component won.
#[inline]
fn later(candidate: &mut Option<Day>, why: &mut ForecastWhy, value: Option<Day>, by: ForecastWhy) {
    if let Some(v) = value {
        if candidate.is_none_or(|c| v > c) {
            *candidate = Some(v);
            *why = by;
        }
    }
}

#[inline]
fn max_day(a: Option<Day>, b: Option<Day>) -> Option<Day> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl SeriesRun {
    /// Chapter 7 for this series; marks skipped target doses on the way.
    pub fn forecast(
        &mut self,
        ctx: &Ctx<'_>,
        antigen: &AntigenPlan,
        plan: &SeriesPlan,
        records: &[AntigenDose],
    ) -> SeriesForecast {
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
                        self.dose(plan, i),
                        SkipContext::Forecast,
                        ctx.assessment,
                        records,
                        records.len(),
                    )
                {
                    self.targets[i].skip(ctx.assessment, records.len(), true);
                    t = Some(i + 1);
                } else {
                    break;
                }
            }
            let Some(i) = t.filter(|&i| i < self.targets.len()) else {
                return if self.valid_doses() > 0 {
                    SeriesForecast::status(SeriesStatus::Complete, ForecastWhy::AllSatisfied)
                } else {
                    SeriesForecast::status(SeriesStatus::NotRecommended, ForecastWhy::AllSkipped)
                };
            };
            let sd = self.dose(plan, i);
            if immune(ctx, antigen) {
                return SeriesForecast::status(SeriesStatus::Immune, ForecastWhy::Immune);
            }
            match contraindication(ctx, antigen, plan) {
                Some(Contraindication::Antigen) => {
                    return SeriesForecast::status(
                        SeriesStatus::Contraindicated,
                        ForecastWhy::ContraindicatedAntigen,
                    )
                }
                Some(Contraindication::AllVaccines) => {
                    return SeriesForecast {
                        vaccines_contraindicated: true,
                        ..SeriesForecast::status(
                            SeriesStatus::Contraindicated,
                            ForecastWhy::ContraindicatedVaccines,
                        )
                    }
                }
                None => {}
            }
            let forecast = self.dates(ctx, plan, records, i, sd, &mut ());
            if forecast.status != SeriesStatus::NotComplete {
                return forecast;
            }
            // 7.6 validate the recommendation: skip again at the earliest date
            if let Some(earliest) = forecast.earliest {
                if self.can_skip(
                    ctx,
                    sd,
                    SkipContext::Forecast,
                    earliest,
                    records,
                    records.len(),
                ) {
                    self.targets[i].skip(earliest, records.len(), true);
                    t = Some(i + 1);
                    continue;
                }
            }
            return forecast;
        }
    }

    /// Sections 7.4 and 7.5 for target `t`; `trace` hears each component of the dates.
    pub fn dates(
        &self,
        ctx: &Ctx<'_>,
        plan: &SeriesPlan,
        records: &[AntigenDose],
        t: usize,
        sd: &DosePlan,
        trace: &mut impl Trace,
    ) -> SeriesForecast {
        let on = ctx.assessment;
        let season = season_for(sd, on);
        if season.is_some_and(|(_, end)| end.is_some_and(|end| on > end)) {
            return SeriesForecast::status(SeriesStatus::NotRecommended, ForecastWhy::PastSeason);
        }
        let age = sd.age(on);
        let max_age = age.and_then(|a| ctx.age_opt(a.max));
        if max_age.is_some_and(|m| on >= m) {
            return SeriesForecast::status(SeriesStatus::AgedOut, ForecastWhy::PastMaxAge);
        }
        let mut why = ForecastWhy::EarliestUnknown;
        let mut earliest = None;
        let mut component = |by, date: Option<Day>, interval, reference, previous| {
            if let Some(date) = date {
                trace.event(Event::Earliest {
                    by,
                    date,
                    interval,
                    reference,
                    previous,
                });
            }
        };
        let min_age = age.and_then(|a| ctx.age_opt(a.min));
        component(ForecastWhy::EarliestMinAge, min_age, None, None, None);
        later(
            &mut earliest,
            &mut why,
            min_age,
            ForecastWhy::EarliestMinAge,
        );
        let mut rec_interval = None;
        let mut due_interval = None;
        let mut intervals = 0;
        let mut all_priority = true;
        let n = records.len();
        for iv in sd
            .intervals
            .iter()
            .filter(|i| in_effect(i.effective, i.cessation, on))
        {
            intervals += 1;
            all_priority &= iv.priority;
            let Some(reference) = self.interval_reference(ctx, iv, records, n, on.plus_days(1))
            else {
                continue;
            };
            let (min, rec) = Span::add_both(iv.min, iv.earliest_rec, reference);
            component(
                ForecastWhy::EarliestInterval,
                min,
                Some(iv),
                Some(reference),
                None,
            );
            later(&mut earliest, &mut why, min, ForecastWhy::EarliestInterval);
            rec_interval = max_day(rec_interval, rec);
            due_interval = max_day(due_interval, iv.latest_rec.map(|s| s.from_day(reference)));
        }
        // CALCDTCONFLICT-3
        if sd.preferable_impacted {
            for dose in ctx.live {
                let Some(c) = ctx.plan.cvx(dose.cvx) else {
                    continue;
                };
                for conflict in &c.conflicts_as_previous {
                    if sd.preferable.iter().any(|v| v.cvx == conflict.current) {
                        let end = conflict.end.map(|s| s.from_day(dose.day));
                        component(ForecastWhy::EarliestConflict, end, None, None, Some(*dose));
                        later(&mut earliest, &mut why, end, ForecastWhy::EarliestConflict);
                    }
                }
            }
        }
        let season_start = season.and_then(|(start, _)| start);
        component(ForecastWhy::EarliestSeason, season_start, None, None, None);
        later(
            &mut earliest,
            &mut why,
            season_start,
            ForecastWhy::EarliestSeason,
        );
        let last_evaluated = records
            .iter()
            .zip(&self.evals)
            .filter(|(_, e)| e.target_dose.is_some())
            .map(|(r, _)| r.day)
            .max();
        component(
            ForecastWhy::EarliestLastDose,
            last_evaluated,
            None,
            None,
            None,
        );
        later(
            &mut earliest,
            &mut why,
            last_evaluated,
            ForecastWhy::EarliestLastDose,
        );
        // A series nobody has started yet cannot start before its minimum age to start.
        if self.valid_doses() == 0 {
            let start = ctx.age_opt(plan.min_start);
            component(ForecastWhy::EarliestMinAgeToStart, start, None, None, None);
            later(
                &mut earliest,
                &mut why,
                start,
                ForecastWhy::EarliestMinAgeToStart,
            );
        }
        // Table 7-9: a candidate earliest date with no component is 12/31/2999, and so is a
        // maximum age date with no maximum age; table 7-10 then says the patient cannot finish
        // the series (Aged Out), e.g. when every target dose that had an age was skipped.
        let earliest = earliest.unwrap_or(Day::NEVER);
        if earliest >= max_age.unwrap_or(Day::NEVER) {
            return SeriesForecast::status(SeriesStatus::AgedOut, ForecastWhy::CannotFinish);
        }
        let rec_age = age.and_then(|a| ctx.age_opt(a.earliest_rec));
        let due_age = age.and_then(|a| ctx.age_opt(a.latest_rec));
        trace.event(Event::DueDates {
            recommended_by_age: rec_age.map(|_| true).or(rec_interval.map(|_| false)),
            past_due_by_age: due_age.map(|_| true).or(due_interval.map(|_| false)),
        });
        let unadjusted_recommended = rec_age.or(rec_interval).unwrap_or(earliest);
        let unadjusted_past_due = due_age.or(due_interval).map(|d| d.plus_days(-1));
        SeriesForecast {
            status: SeriesStatus::NotComplete,
            target: Some(t),
            dose_number: Some(sd.number),
            earliest: Some(earliest),
            recommended: Some(unadjusted_recommended.max(earliest)),
            past_due: unadjusted_past_due.map(|d| d.max(earliest)),
            latest: max_age.map(|d| d.plus_days(-1)),
            priority: intervals > 0 && all_priority,
            vaccines_contraindicated: false,
            why,
        }
    }

    /// SELECTB-12: earliest date plus the minimum intervals of the remaining target doses.
    pub fn finish_date(&self, plan: &SeriesPlan) -> Option<Day> {
        let (t, earliest) = (self.forecast.target?, self.forecast.earliest?);
        let mut finish = earliest;
        for target in &self.targets[t + 1..] {
            let sd = &plan.doses[usize::from(target.dose)];
            let step = sd
                .intervals
                .iter()
                .filter(|i| i.from == crate::plan::IntervalFrom::Previous)
                .filter_map(|i| i.min)
                .max_by_key(|s| s.from_day(finish))
                .unwrap_or(Span::ZERO);
            finish = step.from_day(finish);
        }
        Some(finish)
    }

    /// SELECTB-3: the forecast finish date is before the maximum age of the last target dose.
    pub fn completable(&self, ctx: &Ctx<'_>, plan: &SeriesPlan) -> bool {
        let Some(finish) = self.finish_date(plan) else {
            return false;
        };
        let max_age = plan
            .doses
            .last()
            .and_then(|sd| sd.age(ctx.assessment))
            .and_then(|a| ctx.age_opt(a.max));
        max_age.is_none_or(|m| finish < m)
    }
}

/// The seasonal recommendation window that applies on `on`. Supporting data carries the dates of
/// the current season only (the CDC rolls them forward every year); for an assessment date before
/// that season the same window one or more years earlier applies — the first yearly copy whose
/// end is on or after the assessment date. After the season in the data the data's own window
/// applies (and its end date makes the dose Not Recommended, table 7-10).
pub(crate) fn season_for(sd: &DosePlan, on: Day) -> Option<(Option<Day>, Option<Day>)> {
    let (start, end) = sd.season?;
    let Some(last_end) = end else {
        return Some((start, end));
    };
    if last_end < on || Span::years(-1).from_day(last_end) < on {
        return Some((start, end));
    }
    // Whole years back so that the window's end is the first one on or after `on`.
    let (ey, _, _) = last_end.civil();
    let (oy, _, _) = on.civil();
    let mut years = (ey - oy).max(0);
    while years > 0 && Span::years(-years).from_day(last_end) < on {
        years -= 1;
    }
    let back = Span::years(-years);
    Some((
        start.map(|s| back.from_day(s)),
        Some(back.from_day(last_end)),
    ))
}

/// Table 7-3: clinical history codes or birth before the immunity birth date.
pub(crate) fn immune(ctx: &Ctx<'_>, antigen: &AntigenPlan) -> bool {
    antigen
        .immunity
        .iter()
        .any(|&code| ctx.has_observation(code))
        || antigen.birth_immunity.iter().any(|(date, exclusions)| {
            ctx.birth < *date && !exclusions.iter().any(|&code| ctx.has_observation(code))
        })
}

/// Why a relevant patient series is contraindicated (table 7-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contraindication {
    /// An antigen contraindication applies (the `vaccineGroup` list of the antigen data).
    Antigen,
    /// Every preferable vaccine of the series has a vaccine contraindication that applies.
    AllVaccines,
}

/// Tables 7-5 to 7-7. "All preferable vaccines for the relevant patient series" are those of
/// every target dose of the series: a Td/Tdap dose later in the diphtheria series keeps it
/// forecastable for a child who may no longer receive DTaP.
pub(crate) fn contraindication(
    ctx: &Ctx<'_>,
    antigen: &AntigenPlan,
    series: &SeriesPlan,
) -> Option<Contraindication> {
    if ctx.obs.is_empty() {
        return None;
    }
    let on = ctx.assessment;
    if antigen
        .ci_antigen
        .iter()
        .any(|c| ctx.has_observation(c.obs) && ctx.in_ages(c.begin, c.end, on))
    {
        return Some(Contraindication::Antigen);
    }
    if series.preferable_all.is_empty() {
        return None;
    }
    let all = series.preferable_all.iter().all(|&cvx| {
        antigen.ci_vaccine.iter().any(|c| {
            ctx.has_observation(c.obs)
                && c.vaccines
                    .iter()
                    .any(|v| v.cvx == cvx && ctx.in_ages(v.begin, v.end, on))
        })
    });
    all.then_some(Contraindication::AllVaccines)
}

/// The vaccines a patient observation rules out for this antigen on the assessment date.
pub(crate) fn ruled_out(ctx: &Ctx<'_>, antigen: &AntigenPlan, cvx: u16) -> bool {
    !ctx.obs.is_empty()
        && antigen
            .ci_vaccine
            .iter()
            .any(|c| ctx.has_observation(c.obs) && c.vaccines.iter().any(|v| v.cvx == cvx))
}
