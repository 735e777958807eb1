//! Chapter 6 of the CDSi specification: evaluates each antigen dose administered against the
//! target doses of one relevant patient series (age, intervals, conflicts,
//! preferable/allowable vaccines); conditional skips are in `skip.rs`.

use time::Date;

use crate::model::{in_effect, AgeRule, Cvx, IntervalRule, Series, SeriesDose};
use crate::patient::PatientHistory;
use crate::schedule::Schedule;
use crate::skip::SkipContext;
use crate::span::{add_days, Span};

/// Evaluation status of a dose (CDSi table 3-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvalStatus {
    Valid,
    NotValid,
    Extraneous,
}

impl EvalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Valid => "Valid",
            EvalStatus::NotValid => "Not Valid",
            EvalStatus::Extraneous => "Extraneous",
        }
    }
}

/// Why a dose got its status (CDSi evaluation reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvalReason {
    AgeTooYoung,
    AgeTooOld,
    AgeGracePeriod,
    IntervalTooSoon,
    IntervalGracePeriod,
    LiveVirusConflict,
    InadvertentAdministration,
    NotPreferableOrAllowable,
    SeriesAlreadyComplete,
}

impl EvalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalReason::AgeTooYoung => "Age: Too Young",
            EvalReason::AgeTooOld => "Age: Too Old",
            EvalReason::AgeGracePeriod => "Age: Grace Period",
            EvalReason::IntervalTooSoon => "Interval: Too Soon",
            EvalReason::IntervalGracePeriod => "Interval: Grace Period",
            EvalReason::LiveVirusConflict => "Live Virus Conflict",
            EvalReason::InadvertentAdministration => "Inadvertent Administration",
            EvalReason::NotPreferableOrAllowable => "Vaccine: Not Preferable or Allowable",
            EvalReason::SeriesAlreadyComplete => "Series Already Complete",
        }
    }
}

/// The set of reasons given for one evaluation (a dose can be too young and too soon at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EvalReasons(u16);

impl EvalReasons {
    const ALL: [EvalReason; 9] = [
        EvalReason::AgeTooYoung,
        EvalReason::AgeTooOld,
        EvalReason::AgeGracePeriod,
        EvalReason::IntervalTooSoon,
        EvalReason::IntervalGracePeriod,
        EvalReason::LiveVirusConflict,
        EvalReason::InadvertentAdministration,
        EvalReason::NotPreferableOrAllowable,
        EvalReason::SeriesAlreadyComplete,
    ];

    fn bit(reason: EvalReason) -> u16 {
        let index = Self::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        1 << index
    }

    pub fn one(reason: EvalReason) -> EvalReasons {
        EvalReasons(Self::bit(reason))
    }

    pub fn insert(&mut self, reason: EvalReason) {
        self.0 |= Self::bit(reason);
    }

    pub fn contains(self, reason: EvalReason) -> bool {
        self.0 & Self::bit(reason) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reasons in the order of the evaluation steps.
    pub fn iter(self) -> impl Iterator<Item = EvalReason> {
        Self::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

/// One antigen administered record: a dose of the history seen through one antigen.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AntigenDose {
    pub dose: usize,
    pub date: Date,
    pub cvx: Cvx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetStatus {
    NotSatisfied,
    /// Satisfied by this record index.
    Satisfied(usize),
    Skipped,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// Index into the series' `series_dose`.
    pub dose: usize,
    pub status: TargetStatus,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordEval {
    pub status: EvalStatus,
    pub reasons: EvalReasons,
    pub inadvertent: bool,
    /// Dose number of the target dose the record was evaluated against.
    pub target_dose: Option<u32>,
}

/// What the engine needs to know about the patient and the series being worked on.
pub(crate) struct Ctx<'a> {
    pub schedule: &'a Schedule,
    pub patient: &'a PatientHistory,
    pub assessment: Date,
    /// Series groups of this antigen with a complete relevant patient series.
    pub complete_groups: &'a [u32],
}

impl Ctx<'_> {
    pub fn age_date(&self, age: Option<Span>) -> Option<Date> {
        age.map(|a| a.after(self.patient.birth_date))
    }
}

/// The state of evaluating one relevant patient series.
pub(crate) struct SeriesState<'s> {
    pub series: &'s Series,
    pub records: &'s [AntigenDose],
    pub targets: Vec<Target>,
    pub evals: Vec<RecordEval>,
}

pub(crate) fn age_rule(dose: &SeriesDose, date: Date) -> Option<&AgeRule> {
    dose.age
        .iter()
        .find(|a| in_effect(a.effective_date, a.cessation_date, date))
}

impl<'s> SeriesState<'s> {
    pub fn new(series: &'s Series, records: &'s [AntigenDose]) -> SeriesState<'s> {
        SeriesState {
            series,
            records,
            targets: (0..series.series_dose.len())
                .map(|dose| Target {
                    dose,
                    status: TargetStatus::NotSatisfied,
                })
                .collect(),
            evals: Vec::with_capacity(records.len()),
        }
    }

    pub fn series_dose(&self, target: usize) -> &'s SeriesDose {
        &self.series.series_dose[self.targets[target].dose]
    }

    /// Figure 4-6: walks target doses and records together.
    pub fn evaluate(&mut self, ctx: &Ctx<'_>) {
        let mut t = 0;
        for r in 0..self.records.len() {
            while t < self.targets.len()
                && self.can_skip(
                    ctx,
                    self.series_dose(t),
                    SkipContext::Evaluation,
                    self.records[r].date,
                    r,
                )
            {
                self.targets[t].status = TargetStatus::Skipped;
                t += 1;
            }
            if t >= self.targets.len() {
                self.evals.push(RecordEval {
                    status: EvalStatus::Extraneous,
                    reasons: EvalReasons::one(EvalReason::SeriesAlreadyComplete),
                    inadvertent: false,
                    target_dose: None,
                });
                continue;
            }
            let eval = self.evaluate_record(ctx, t, r);
            self.evals.push(eval);
            if eval.status == EvalStatus::Valid {
                self.targets[t].status = TargetStatus::Satisfied(r);
                if self.series_dose(t).recurring_dose {
                    let dose = self.targets[t].dose;
                    self.targets.insert(
                        t + 1,
                        Target {
                            dose,
                            status: TargetStatus::NotSatisfied,
                        },
                    );
                }
                t += 1;
            }
        }
    }

    fn evaluate_record(&self, ctx: &Ctx<'_>, t: usize, r: usize) -> RecordEval {
        let sd = self.series_dose(t);
        let rec = self.records[r];
        let target_dose = Some(sd.dose_number);
        let not_valid = |reasons| RecordEval {
            status: EvalStatus::NotValid,
            reasons,
            inadvertent: false,
            target_dose,
        };
        // 6.3 inadvertent vaccine
        if sd
            .inadvertent_vaccine
            .iter()
            .any(|v| v.cvx == Some(rec.cvx))
        {
            return RecordEval {
                inadvertent: true,
                ..not_valid(EvalReasons::one(EvalReason::InadvertentAdministration))
            };
        }
        // 6.4 to 6.7: every check runs, so a dose both too young and too soon says both.
        let mut grace = EvalReasons::default();
        let mut failures = EvalReasons::default();
        if let Some(age) = age_rule(sd, rec.date) {
            if ctx.age_date(age.max_age).is_some_and(|d| rec.date >= d) {
                return RecordEval {
                    status: EvalStatus::Extraneous,
                    reasons: EvalReasons::one(EvalReason::AgeTooOld),
                    inadvertent: false,
                    target_dose,
                };
            }
            if ctx.age_date(age.abs_min_age).is_some_and(|d| rec.date < d) {
                failures.insert(EvalReason::AgeTooYoung);
            } else if ctx.age_date(age.min_age).is_some_and(|d| rec.date < d) {
                grace.insert(EvalReason::AgeGracePeriod);
            }
        }
        match self.intervals_ok(ctx, sd, r) {
            IntervalOutcome::Ok => {}
            IntervalOutcome::Grace => grace.insert(EvalReason::IntervalGracePeriod),
            IntervalOutcome::TooSoon => failures.insert(EvalReason::IntervalTooSoon),
        }
        if self.in_conflict(ctx, r) {
            failures.insert(EvalReason::LiveVirusConflict);
        }
        if !failures.is_empty() {
            return not_valid(failures);
        }
        // 6.8 / 6.9 preferable or allowable vaccine
        let in_window = |begin: Option<Span>, end: Option<Span>| {
            ctx.age_date(begin).is_none_or(|b| rec.date >= b)
                && ctx.age_date(end).is_none_or(|e| rec.date < e)
        };
        let preferable = sd
            .preferable_vaccine
            .iter()
            .any(|v| v.cvx == Some(rec.cvx) && in_window(v.begin_age, v.end_age));
        let allowable = preferable
            || sd
                .allowable_vaccine
                .iter()
                .any(|v| v.cvx == Some(rec.cvx) && in_window(v.begin_age, v.end_age));
        if !allowable {
            return not_valid(EvalReasons::one(EvalReason::NotPreferableOrAllowable));
        }
        RecordEval {
            status: EvalStatus::Valid,
            reasons: grace,
            inadvertent: false,
            target_dose,
        }
    }

    /// CALCDTINT-1: the latest earlier record that is Valid or Not Valid and not inadvertent.
    pub fn previous_reference(&self, before: usize) -> Option<Date> {
        (0..before)
            .rev()
            .find(|&i| {
                let e = &self.evals[i];
                !e.inadvertent && matches!(e.status, EvalStatus::Valid | EvalStatus::NotValid)
            })
            .map(|i| self.records[i].date)
    }

    /// The reference date of an interval for a record at index `before` (or for the next dose).
    pub fn interval_reference(
        &self,
        ctx: &Ctx<'_>,
        iv: &IntervalRule,
        before: usize,
        on: Date,
    ) -> Option<Date> {
        if iv.from_previous {
            return self.previous_reference(before);
        }
        if let Some(n) = iv.from_target_dose {
            let index = usize::try_from(n).ok()?.checked_sub(1)?;
            return match self.targets.get(index)?.status {
                TargetStatus::Satisfied(r) => Some(self.records[r].date),
                _ => None,
            };
        }
        if !iv.from_most_recent.is_empty() {
            return ctx
                .patient
                .doses
                .iter()
                .filter(|d| d.date < on && iv.from_most_recent.contains(&d.cvx))
                .map(|d| d.date)
                .max();
        }
        let code = iv.from_relevant_obs.code.as_deref()?;
        ctx.patient
            .observations
            .iter()
            .filter(|o| o.code == code)
            .filter_map(|o| o.date)
            .max()
    }

    fn intervals_ok(&self, ctx: &Ctx<'_>, sd: &SeriesDose, r: usize) -> IntervalOutcome {
        let date = self.records[r].date;
        let mut outcome = IntervalOutcome::Ok;
        for iv in sd
            .interval
            .iter()
            .filter(|i| in_effect(i.effective_date, i.cessation_date, date))
        {
            let Some(reference) = self.interval_reference(ctx, iv, r, date) else {
                continue;
            };
            if iv.abs_min_int.is_some_and(|s| date < s.after(reference)) {
                outcome = IntervalOutcome::TooSoon;
                break;
            }
            if iv.min_int.is_some_and(|s| date < s.after(reference)) {
                outcome = IntervalOutcome::Grace;
            }
        }
        if outcome != IntervalOutcome::TooSoon {
            return outcome;
        }
        let allowable: Vec<_> = sd
            .allowable_interval
            .iter()
            .filter(|i| in_effect(i.effective_date, i.cessation_date, date))
            .collect();
        if allowable.is_empty() {
            return IntervalOutcome::TooSoon;
        }
        let all_met = allowable
            .iter()
            .all(|iv| match self.interval_reference(ctx, iv, r, date) {
                Some(reference) => iv.abs_min_int.is_none_or(|s| date >= s.after(reference)),
                None => true,
            });
        if all_met {
            IntervalOutcome::Ok
        } else {
            IntervalOutcome::TooSoon
        }
    }

    /// CONFLICT-3 against every earlier dose of the whole history.
    fn in_conflict(&self, ctx: &Ctx<'_>, r: usize) -> bool {
        let rec = self.records[r];
        ctx.patient.doses.iter().enumerate().any(|(i, prev)| {
            if prev.date >= rec.date {
                return false;
            }
            let Some(c) = ctx.schedule.live_virus_conflict(prev.cvx, rec.cvx) else {
                return false;
            };
            // The status of the previous dose is known only when it is a record of this series.
            let prev_status = self.records[..r]
                .iter()
                .position(|x| x.dose == i)
                .map(|p| self.evals[p].status);
            let end = match prev_status {
                Some(EvalStatus::Valid) | None => c.min_conflict_end_interval,
                Some(_) => c.conflict_end_interval,
            };
            let begin = c
                .conflict_begin_interval
                .unwrap_or(Span::ZERO)
                .after(prev.date);
            let end = end.map_or(prev.date, |e| e.after(prev.date));
            begin <= rec.date && rec.date < end
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IntervalOutcome {
    Ok,
    Grace,
    TooSoon,
}

/// The day before a date (past-due and latest dates are "minus 1 day").
pub(crate) fn day_before(date: Date) -> Date {
    add_days(date, -1)
}
