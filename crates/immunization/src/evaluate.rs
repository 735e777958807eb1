//! Chapter 6 of the CDSi specification: evaluates each antigen dose administered against the
//! target doses of one relevant patient series (age, intervals, conflicts,
//! preferable/allowable vaccines); conditional skips are in `skip.rs`.

use std::cell::Cell;

use crate::patient::Gender;
use crate::plan::{
    in_effect, AgeId, AgePlan, DosePlan, IntervalFrom, IntervalPlan, ObsId, Plan, SeriesPlan, Vac,
};
use crate::skip::SkipContext;
use crate::span::{Day, Span};

mod status;

pub use status::{EvalReason, EvalReasons, EvalStatus};

/// A dose of the history as the engine sees it (date order).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PDose {
    pub day: Day,
    pub cvx: u16,
    /// Index in `PatientHistory::doses`.
    pub index: u32,
}

/// One antigen administered record: a dose of the history seen through one antigen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AntigenDose {
    pub dose: u32,
    pub day: Day,
    pub cvx: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetStatus {
    NotSatisfied,
    /// Satisfied by this record index.
    Satisfied(u16),
    Skipped,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// Index into the series' doses.
    pub dose: u16,
    pub status: TargetStatus,
    /// When skipped: the reference date and how many records counted (for explanations).
    pub skipped_on: Day,
    pub skipped_upto: u16,
    pub skipped_in_forecast: bool,
}

impl Target {
    fn new(dose: u16) -> Target {
        Target {
            dose,
            status: TargetStatus::NotSatisfied,
            skipped_on: Day(0),
            skipped_upto: 0,
            skipped_in_forecast: false,
        }
    }

    pub fn skip(&mut self, on: Day, upto: usize, in_forecast: bool) {
        self.status = TargetStatus::Skipped;
        self.skipped_on = on;
        self.skipped_upto = upto as u16;
        self.skipped_in_forecast = in_forecast;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordEval {
    pub status: EvalStatus,
    pub reasons: EvalReasons,
    pub inadvertent: bool,
    /// Dose number of the target dose the record was evaluated against.
    pub target_dose: Option<u32>,
    /// Index of that target dose in the run (`u16::MAX` when none).
    pub target: u16,
}

/// What the engine knows about the patient on the assessment date.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub plan: &'a Plan,
    pub birth: Day,
    pub assessment: Day,
    pub gender: Gender,
    /// The whole history, in date order.
    pub doses: &'a [PDose],
    /// The doses whose vaccine conflicts with a later live vaccine (date order).
    pub live: &'a [PDose],
    /// Active observations (interned codes) with their dates.
    pub obs: &'a [(ObsId, Option<Day>)],
    /// Age dates already computed for this patient (`i32::MIN` when not yet).
    pub ages: &'a [Cell<i32>],
    /// Series groups of this antigen with a complete relevant patient series.
    pub complete_groups: &'a [u32],
}

impl Ctx<'_> {
    /// The date the patient reaches an age (CALCDTAGE and friends), cached per patient.
    #[inline(always)]
    pub fn age(&self, age: AgeId) -> Day {
        let slot = &self.ages[usize::from(age.0)];
        let cached = slot.get();
        if cached != i32::MIN {
            return Day(cached);
        }
        let day = self.plan.ages[usize::from(age.0)].from_day(self.birth);
        slot.set(day.0);
        day
    }

    #[inline]
    pub fn age_opt(&self, age: Option<AgeId>) -> Option<Day> {
        age.map(|a| self.age(a))
    }

    /// `begin <= day < end` for an optional age window.
    #[inline(always)]
    pub fn in_ages(&self, begin: Option<AgeId>, end: Option<AgeId>, day: Day) -> bool {
        begin.is_none_or(|b| day >= self.age(b)) && end.is_none_or(|e| day < self.age(e))
    }

    #[inline]
    pub fn has_observation(&self, obs: ObsId) -> bool {
        self.obs.iter().any(|(o, _)| *o == obs)
    }

    pub fn gender_matches(&self, genders: u8) -> bool {
        let bit = match self.gender {
            Gender::Female => 1,
            Gender::Male => 2,
            Gender::Unknown => 4,
        };
        genders == 0 || genders & bit != 0
    }

    /// A vaccine of a list given within its age window on `day`.
    #[inline]
    pub fn listed(&self, list: &[Vac], cvx: u16, day: Day) -> bool {
        list.iter()
            .any(|v| v.cvx == cvx && self.in_ages(v.begin, v.end, day))
    }
}

/// The state of evaluating one relevant patient series. Buffers are reused across patients.
#[derive(Debug, Default)]
pub(crate) struct SeriesRun {
    /// Index of the series in its antigen.
    pub series: u16,
    pub targets: Vec<Target>,
    pub evals: Vec<RecordEval>,
    pub forecast: crate::forecast::SeriesForecast,
    /// How series selection (chapter 8) treated this series.
    pub selection: crate::select::Selection,
    /// Table 8-14 when it was prioritized but is not a best series.
    pub not_best: crate::select::NotBest,
    /// Number of satisfied target doses (SELECTB-21), known after evaluation.
    pub valid: u16,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntervalOutcome {
    Ok,
    Grace,
    TooSoon,
}

impl SeriesRun {
    pub fn reset(&mut self, series: u16, plan: &SeriesPlan, records: usize) {
        self.series = series;
        self.targets.clear();
        self.targets
            .extend((0..plan.doses.len()).map(|dose| Target::new(dose as u16)));
        self.evals.clear();
        self.evals.reserve(records);
        self.forecast = crate::forecast::SeriesForecast::default();
        self.selection = crate::select::Selection::default();
        self.not_best = crate::select::NotBest::default();
        self.valid = 0;
    }

    pub fn dose<'p>(&self, plan: &'p SeriesPlan, target: usize) -> &'p DosePlan {
        &plan.doses[usize::from(self.targets[target].dose)]
    }

    #[inline]
    pub fn valid_doses(&self) -> usize {
        usize::from(self.valid)
    }

    /// Figure 4-6: walks target doses and records together.
    pub fn evaluate(&mut self, ctx: &Ctx<'_>, plan: &SeriesPlan, records: &[AntigenDose]) {
        let mut t = 0;
        for r in 0..records.len() {
            while t < self.targets.len()
                && self.can_skip(
                    ctx,
                    self.dose(plan, t),
                    SkipContext::Evaluation,
                    records[r].day,
                    records,
                    r,
                )
            {
                self.targets[t].skip(records[r].day, r, false);
                t += 1;
            }
            if t >= self.targets.len() {
                self.evals.push(RecordEval {
                    status: EvalStatus::Extraneous,
                    reasons: EvalReasons::one(EvalReason::SeriesAlreadyComplete),
                    inadvertent: false,
                    target_dose: None,
                    target: u16::MAX,
                });
                continue;
            }
            let eval = self.evaluate_record(ctx, plan, records, t, r, &mut ());
            self.evals.push(eval);
            if eval.status == EvalStatus::Valid {
                self.targets[t].status = TargetStatus::Satisfied(r as u16);
                self.valid += 1;
                if self.dose(plan, t).recurring {
                    let dose = self.targets[t].dose;
                    self.targets.insert(t + 1, Target::new(dose));
                }
                t += 1;
            }
        }
    }

    /// Sections 6.3 to 6.9 for record `r` against target dose `t`; `trace` hears every check.
    pub fn evaluate_record(
        &self,
        ctx: &Ctx<'_>,
        plan: &SeriesPlan,
        records: &[AntigenDose],
        t: usize,
        r: usize,
        trace: &mut impl Trace,
    ) -> RecordEval {
        let sd = self.dose(plan, t);
        let rec = records[r];
        let target_dose = Some(sd.number);
        let not_valid = |reasons| RecordEval {
            status: EvalStatus::NotValid,
            reasons,
            inadvertent: false,
            target_dose,
            target: t as u16,
        };
        // 6.3 inadvertent vaccine
        if sd.inadvertent.contains(&rec.cvx) {
            trace.event(Event::Inadvertent);
            return RecordEval {
                inadvertent: true,
                ..not_valid(EvalReasons::one(EvalReason::InadvertentAdministration))
            };
        }
        // 6.4 to 6.7: every check runs, so a dose both too young and too soon says both.
        let mut grace = EvalReasons::default();
        let mut failures = EvalReasons::default();
        if let Some(age) = sd.age(rec.day) {
            if let Some(max) = ctx.age_opt(age.max).filter(|&d| rec.day >= d) {
                trace.event(Event::TooOld { max });
                return RecordEval {
                    status: EvalStatus::Extraneous,
                    reasons: EvalReasons::one(EvalReason::AgeTooOld),
                    inadvertent: false,
                    target_dose,
                    target: t as u16,
                };
            }
            let abs_min = ctx.age_opt(age.abs_min);
            let min = ctx.age_opt(age.min);
            let outcome = if abs_min.is_some_and(|d| rec.day < d) {
                failures.insert(EvalReason::AgeTooYoung);
                Outcome::Fails
            } else if min.is_some_and(|d| rec.day < d) {
                grace.insert(EvalReason::AgeGracePeriod);
                Outcome::Grace
            } else {
                Outcome::Met
            };
            trace.event(Event::Age {
                rule: age,
                abs_min,
                min,
                outcome,
            });
        }
        match self.intervals_ok(ctx, sd, records, r, trace) {
            IntervalOutcome::Ok => {}
            IntervalOutcome::Grace => grace.insert(EvalReason::IntervalGracePeriod),
            IntervalOutcome::TooSoon => failures.insert(EvalReason::IntervalTooSoon),
        }
        if self.in_conflict(ctx, records, r, trace) {
            failures.insert(EvalReason::LiveVirusConflict);
        }
        if !failures.is_empty() {
            return not_valid(failures);
        }
        // 6.8 / 6.9 preferable or allowable vaccine
        let preferable = ctx.listed(&sd.preferable, rec.cvx, rec.day);
        let allowable = preferable || ctx.listed(&sd.allowable, rec.cvx, rec.day);
        trace.event(Event::Vaccine {
            preferable,
            allowable,
        });
        if !allowable {
            return not_valid(EvalReasons::one(EvalReason::NotPreferableOrAllowable));
        }
        RecordEval {
            status: EvalStatus::Valid,
            reasons: grace,
            inadvertent: false,
            target_dose,
            target: t as u16,
        }
    }

    /// CALCDTINT-1: the latest earlier record that is Valid or Not Valid and not inadvertent.
    pub fn previous_reference(&self, records: &[AntigenDose], before: usize) -> Option<Day> {
        (0..before)
            .rev()
            .find(|&i| {
                let e = &self.evals[i];
                !e.inadvertent && matches!(e.status, EvalStatus::Valid | EvalStatus::NotValid)
            })
            .map(|i| records[i].day)
    }

    /// The reference date of an interval for a record at index `before` (or for the next dose).
    pub fn interval_reference(
        &self,
        ctx: &Ctx<'_>,
        iv: &IntervalPlan,
        records: &[AntigenDose],
        before: usize,
        on: Day,
    ) -> Option<Day> {
        match &iv.from {
            IntervalFrom::Previous => self.previous_reference(records, before),
            IntervalFrom::TargetDose(n) => {
                let index = usize::try_from(*n).ok()?.checked_sub(1)?;
                match self.targets.get(index)?.status {
                    TargetStatus::Satisfied(r) => Some(records[usize::from(r)].day),
                    _ => None,
                }
            }
            IntervalFrom::MostRecent(types) => ctx
                .doses
                .iter()
                .take_while(|d| d.day < on)
                .filter(|d| types.contains(&d.cvx))
                .map(|d| d.day)
                .last(),
            IntervalFrom::Observation(code) => {
                let code = (*code)?;
                ctx.obs
                    .iter()
                    .filter(|(o, _)| *o == code)
                    .filter_map(|(_, d)| *d)
                    .max()
            }
        }
    }

    pub fn intervals_ok(
        &self,
        ctx: &Ctx<'_>,
        sd: &DosePlan,
        records: &[AntigenDose],
        r: usize,
        trace: &mut impl Trace,
    ) -> IntervalOutcome {
        let day = records[r].day;
        let mut outcome = IntervalOutcome::Ok;
        for iv in sd
            .intervals
            .iter()
            .filter(|i| in_effect(i.effective, i.cessation, day))
        {
            let Some(reference) = self.interval_reference(ctx, iv, records, r, day) else {
                trace.event(Event::NoReference { interval: iv });
                continue;
            };
            let (abs_min, min) = Span::add_both(iv.abs_min, iv.min, reference);
            let this = if abs_min.is_some_and(|d| day < d) {
                Outcome::Fails
            } else if min.is_some_and(|d| day < d) {
                Outcome::Grace
            } else {
                Outcome::Met
            };
            trace.event(Event::Interval {
                interval: iv,
                reference,
                abs_min,
                min,
                outcome: this,
                allowable: false,
            });
            match this {
                Outcome::Fails => {
                    outcome = IntervalOutcome::TooSoon;
                    break;
                }
                Outcome::Grace => outcome = IntervalOutcome::Grace,
                Outcome::Met => {}
            }
        }
        if outcome != IntervalOutcome::TooSoon {
            return outcome;
        }
        let mut any = false;
        for iv in sd
            .allowable_intervals
            .iter()
            .filter(|i| in_effect(i.effective, i.cessation, day))
        {
            any = true;
            if let Some(reference) = self.interval_reference(ctx, iv, records, r, day) {
                let abs_min = iv.abs_min.map(|s| s.from_day(reference));
                let fails = abs_min.is_some_and(|d| day < d);
                trace.event(Event::Interval {
                    interval: iv,
                    reference,
                    abs_min,
                    min: None,
                    outcome: if fails { Outcome::Fails } else { Outcome::Met },
                    allowable: true,
                });
                if fails {
                    return IntervalOutcome::TooSoon;
                }
            }
        }
        if any {
            IntervalOutcome::Ok
        } else {
            IntervalOutcome::TooSoon
        }
    }

    /// CONFLICT-3 against every earlier dose of the whole history.
    pub fn in_conflict(
        &self,
        ctx: &Ctx<'_>,
        records: &[AntigenDose],
        r: usize,
        trace: &mut impl Trace,
    ) -> bool {
        let rec = records[r];
        if !ctx.plan.cvx(rec.cvx).is_some_and(|c| c.impacted) {
            return false;
        }
        ctx.live.iter().take_while(|d| d.day < rec.day).any(|prev| {
            let Some(c) = ctx.plan.conflict(prev.cvx, rec.cvx) else {
                return false;
            };
            // The status of the previous dose is known only when it is a record of this series.
            let prev_status = records[..r]
                .iter()
                .position(|x| x.dose == prev.index)
                .map(|p| self.evals[p].status);
            let end = match prev_status {
                Some(EvalStatus::Valid) | None => c.min_end,
                Some(_) => c.end,
            };
            let begin = c.begin.from_day(prev.day);
            let end = end.map_or(prev.day, |e| e.from_day(prev.day));
            let conflict = begin <= rec.day && rec.day < end;
            if conflict {
                trace.event(Event::Conflict {
                    previous: *prev,
                    until: end,
                });
            }
            conflict
        })
    }
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Met,
    Grace,
    Fails,
}

/// One step of an evaluation, as [`Trace`] hears it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event<'p> {
    Inadvertent,
    TooOld {
        max: Day,
    },
    Age {
        rule: &'p AgePlan,
        abs_min: Option<Day>,
        min: Option<Day>,
        outcome: Outcome,
    },
    NoReference {
        interval: &'p IntervalPlan,
    },
    Interval {
        interval: &'p IntervalPlan,
        reference: Day,
        abs_min: Option<Day>,
        min: Option<Day>,
        outcome: Outcome,
        allowable: bool,
    },
    Conflict {
        previous: PDose,
        until: Day,
    },
    Vaccine {
        preferable: bool,
        allowable: bool,
    },
    /// A component of the candidate earliest date of a forecast (FORECASTDTCAN-1).
    Earliest {
        by: crate::forecast::ForecastWhy,
        date: Day,
        interval: Option<&'p IntervalPlan>,
        reference: Option<Day>,
        previous: Option<PDose>,
    },
    /// Where the unadjusted recommended and past-due dates come from (FORECASTDT-2, -3):
    /// the age (true) or the intervals (false); `None` when there is none.
    DueDates {
        recommended_by_age: Option<bool>,
        past_due_by_age: Option<bool>,
    },
}

/// Listens to the steps of an evaluation. The engine's own runs use `()`, which ignores them
/// and costs nothing; explanations collect them.
pub(crate) trait Trace {
    fn event(&mut self, event: Event<'_>);
}

impl Trace for () {
    #[inline(always)]
    fn event(&mut self, _: Event<'_>) {}
}
