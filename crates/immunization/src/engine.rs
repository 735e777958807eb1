//! The processing model of chapter 4 and the vaccine group rules of chapter 9: from a patient
//! history and an assessment date to dose evaluations and one forecast per vaccine group.
//! Working buffers live in a per-thread scratch area, so a forecast allocates little more
//! than its answer and memory stays flat however many patients a thread forecasts.

use std::cell::{Cell, RefCell};

use time::Date;

use crate::evaluate::{AntigenDose, Ctx, EvalReasons, EvalStatus, PDose, RecordEval, SeriesRun};
use crate::forecast::{ruled_out, SeriesForecast, SeriesStatus};
use crate::model::Cvx;
use crate::patient::PatientHistory;
use crate::plan::{AntigenPlan, DosePlan, ObsId, Plan, SeriesKind};
use crate::schedule::Schedule;
use crate::select::{bits, relevant_series, Runs};
use crate::span::Day;

mod groups;

use groups::{group_forecast, recommended_vaccines};

/// The evaluation of one dose for one antigen, in the best patient series of that antigen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoseEvaluation<'s> {
    /// Index of the dose in `PatientHistory::doses`.
    pub dose: usize,
    pub antigen: &'s str,
    pub vaccine_group: &'s str,
    pub series: &'s str,
    pub status: EvalStatus,
    pub reasons: EvalReasons,
    /// Dose number of the target dose the dose was evaluated against.
    pub target_dose: Option<u32>,
}

/// The forecast of one vaccine group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaccineGroupForecast<'s> {
    pub vaccine_group: &'s str,
    pub status: SeriesStatus,
    /// Number of the next dose in the series.
    pub dose_number: Option<u32>,
    pub earliest: Option<Date>,
    pub recommended: Option<Date>,
    pub past_due: Option<Date>,
    pub latest: Option<Date>,
    /// Names of the best patient series behind this forecast.
    pub series: Vec<&'s str>,
    /// Preferable vaccines flagged for forecasting for the next dose.
    pub vaccines: Vec<Cvx>,
}

/// Everything the engine says about one patient on one assessment date.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forecast<'s> {
    pub evaluations: Vec<DoseEvaluation<'s>>,
    pub vaccine_groups: Vec<VaccineGroupForecast<'s>>,
}

impl Forecast<'_> {
    /// The status of a dose for a vaccine group: not valid if it is not valid for any of the
    /// group's antigens, extraneous if extraneous for any, valid otherwise.
    pub fn dose_status(
        &self,
        dose: usize,
        vaccine_group: &str,
    ) -> Option<(EvalStatus, EvalReasons)> {
        let mut found: Option<(EvalStatus, EvalReasons)> = None;
        for e in self
            .evaluations
            .iter()
            .filter(|e| e.dose == dose && e.vaccine_group == vaccine_group)
        {
            let rank = |s: EvalStatus| match s {
                EvalStatus::Valid => 0,
                EvalStatus::Extraneous => 1,
                EvalStatus::NotValid => 2,
            };
            if found.is_none_or(|(s, _)| rank(e.status) > rank(s)) {
                found = Some((e.status, e.reasons));
            }
        }
        found
    }

    pub fn group(&self, vaccine_group: &str) -> Option<&VaccineGroupForecast<'_>> {
        self.vaccine_groups
            .iter()
            .find(|g| g.vaccine_group == vaccine_group)
    }
}

/// Reusable working memory of one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    pub doses: Vec<PDose>,
    pub live: Vec<PDose>,
    pub obs: Vec<(ObsId, Option<Day>)>,
    pub ages: Vec<Cell<i32>>,
    /// Antigen administered records, per antigen.
    pub records: Vec<Vec<AntigenDose>>,
    pub runs: Vec<SeriesRun>,
    pub complete_groups: Vec<u32>,
    vaccines: Vec<Cvx>,
    contained: Vec<Contained>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch area (a fresh one if it is already in use).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

impl Scratch {
    /// Section 4.1/4.2: the history in date order, observations interned, the antigen
    /// administered records of every antigen, and an empty age cache.
    pub fn prepare(&mut self, plan: &Plan, patient: &PatientHistory) {
        let birth = Day::from_date(patient.birth_date);
        self.doses.clear();
        self.doses
            .extend(patient.doses.iter().enumerate().map(|(i, d)| PDose {
                day: Day::from_date(d.date),
                cvx: d.cvx.0,
                index: i as u32,
            }));
        // Stable: doses of the same day keep their input order. Histories usually come in date
        // order already.
        if !self.doses.is_sorted_by_key(|d| d.day) {
            self.doses.sort_by_key(|d| d.day);
        }
        self.live.clear();
        self.live.extend(self.doses.iter().copied().filter(|d| {
            plan.cvx(d.cvx)
                .is_some_and(|c| !c.conflicts_as_previous.is_empty())
        }));
        self.obs.clear();
        self.obs.extend(
            patient
                .observations
                .iter()
                .filter_map(|o| Some((plan.observation(&o.code)?, o.date.map(Day::from_date)))),
        );
        self.ages.clear();
        self.ages.resize(plan.ages.len(), Cell::new(i32::MIN));
        if self.records.len() < plan.antigens.len() {
            self.records.resize_with(plan.antigens.len(), Vec::new);
        }
        for list in &mut self.records {
            list.clear();
        }
        let ages = &self.ages;
        let age = |id: crate::plan::AgeId| {
            let slot = &ages[usize::from(id.0)];
            if slot.get() == i32::MIN {
                slot.set(plan.ages[usize::from(id.0)].from_day(birth).0);
            }
            Day(slot.get())
        };
        for d in &self.doses {
            let Some(c) = plan.cvx(d.cvx) else { continue };
            for a in &c.antigens {
                if a.begin.is_none_or(|b| d.day >= age(b)) && a.end.is_none_or(|e| d.day < age(e)) {
                    self.records[usize::from(a.antigen)].push(AntigenDose {
                        dose: d.index,
                        day: d.day,
                        cvx: d.cvx,
                    });
                }
            }
        }
    }

    pub fn ctx<'a>(
        &'a self,
        plan: &'a Plan,
        patient: &PatientHistory,
        assessment: Date,
    ) -> Ctx<'a> {
        Ctx {
            plan,
            birth: Day::from_date(patient.birth_date),
            assessment: Day::from_date(assessment),
            gender: patient.gender,
            doses: &self.doses,
            live: &self.live,
            obs: &self.obs,
            ages: &self.ages,
            complete_groups: &[],
        }
    }
}

/// The result of sections 4.3 to 4.5 for one antigen: the runs are in `runs[..count]`, in
/// ascending series group order (the order of chapter 8), so bit sets over them iterate best
/// series group by group.
#[derive(Clone, Copy)]
pub(crate) struct AntigenOutcome {
    pub count: usize,
    pub best: u64,
    pub chosen: usize,
}

/// Sections 4.3 to 4.5 for one antigen; when several best series remain, one drives the vaccine
/// group forecast (see docs/immunization.md).
pub(crate) fn run_antigen(
    ctx: &Ctx<'_>,
    antigen: &AntigenPlan,
    records: &[AntigenDose],
    runs: &mut Vec<SeriesRun>,
    complete_groups: &mut Vec<u32>,
) -> Option<AntigenOutcome> {
    let relevant = relevant_series(ctx, antigen);
    let count = relevant.count_ones() as usize;
    if count == 0 {
        return None;
    }
    if runs.len() < count {
        runs.resize_with(count, SeriesRun::default);
    }
    complete_groups.clear();
    evaluate_all(ctx, antigen, records, relevant, &mut runs[..count]);
    if antigen.uses_completed_series {
        for run in &runs[..count] {
            if run.forecast.status == SeriesStatus::Complete {
                complete_groups.push(antigen.series[usize::from(run.series)].group);
            }
        }
        if !complete_groups.is_empty() {
            let ctx = Ctx {
                complete_groups,
                ..*ctx
            };
            evaluate_all(&ctx, antigen, records, relevant, &mut runs[..count]);
        }
    }
    let ctx = Ctx {
        complete_groups,
        ..*ctx
    };
    let mut select = Runs {
        ctx: &ctx,
        antigen,
        runs: &mut runs[..count],
        records,
    };
    let best = select.best_series();
    let runs = &runs[..count];
    let ordered = || bits(best);
    // A series nobody has started whose minimum age to start is still ahead (the RSV 75+ series
    // for an infant) cannot be given yet: it drives the forecast only when no other best series
    // says anything (2023-0034 expects the infant series' Aged Out, 2024-0055 the 75+ dose).
    let startable = |i: usize| {
        runs[i].valid_doses() > 0
            || ctx
                .age_opt(antigen.series[usize::from(runs[i].series)].min_start)
                .is_none_or(|start| ctx.assessment >= start)
    };
    let needs_dose = |i: usize| runs[i].forecast.status == SeriesStatus::NotComplete;
    let is_risk = |i: usize| antigen.series[usize::from(runs[i].series)].kind == SeriesKind::Risk;
    let chosen = ordered()
        .filter(|&i| needs_dose(i) && startable(i))
        .min_by_key(|&i| (!is_risk(i), runs[i].forecast.earliest))
        .or_else(|| {
            ordered()
                .filter(|&i| !needs_dose(i))
                .min_by_key(|&i| settled_rank(runs[i].forecast.status))
        })
        .or_else(|| ordered().min_by_key(|&i| (!is_risk(i), runs[i].forecast.earliest)))?;
    Some(AntigenOutcome {
        count,
        best,
        chosen,
    })
}

fn evaluate_all(
    ctx: &Ctx<'_>,
    antigen: &AntigenPlan,
    records: &[AntigenDose],
    relevant: u64,
    runs: &mut [SeriesRun],
) {
    let in_order = antigen
        .by_group
        .iter()
        .map(|&s| usize::from(s))
        .filter(|&s| relevant & (1 << s) != 0);
    for (run, s) in runs.iter_mut().zip(in_order) {
        let plan = &antigen.series[s];
        run.reset(s as u16, plan, records.len());
        run.evaluate(ctx, plan, records);
        run.forecast = run.forecast(ctx, antigen, plan, records);
    }
}

/// Among best series that need no dose, the one that says most about the patient's protection.
fn settled_rank(status: SeriesStatus) -> u8 {
    match status {
        SeriesStatus::NotComplete => 0,
        SeriesStatus::Complete => 1,
        SeriesStatus::Immune => 2,
        SeriesStatus::Contraindicated => 3,
        SeriesStatus::NotRecommended => 4,
        SeriesStatus::AgedOut => 5,
    }
}

/// The evaluation reported for record `k`: the chosen series', or a valid evaluation of another
/// best series (a risk series next to the standard one).
pub(crate) fn reported_eval(runs: &[SeriesRun], outcome: &AntigenOutcome, k: usize) -> RecordEval {
    let own = runs[outcome.chosen].evals[k];
    if own.status == EvalStatus::Valid {
        return own;
    }
    bits(outcome.best)
        .map(|i| runs[i].evals[k])
        .find(|e| e.status == EvalStatus::Valid)
        .unwrap_or(own)
}

/// What an antigen contributes to its vaccine group forecast.
#[derive(Clone, Copy)]
struct Contained {
    forecast: SeriesForecast,
    antigen: u16,
    series: u16,
    /// Range of its recommended vaccines in the scratch list.
    vaccines: (usize, usize),
}

/// Evaluates the history and forecasts every vaccine group of the schedule on `assessment`.
/// Pure and deterministic: the same inputs give the same output.
pub fn forecast<'s>(
    schedule: &'s Schedule,
    patient: &PatientHistory,
    assessment: Date,
) -> Forecast<'s> {
    with_scratch(|scratch| forecast_with(schedule, patient, assessment, scratch))
}

fn forecast_with<'s>(
    schedule: &'s Schedule,
    patient: &PatientHistory,
    assessment: Date,
    scratch: &mut Scratch,
) -> Forecast<'s> {
    let plan = schedule.plan();
    scratch.prepare(plan, patient);
    let Scratch {
        doses,
        live,
        obs,
        ages,
        records,
        runs,
        complete_groups,
        vaccines,
        contained,
    } = scratch;
    let ctx = Ctx {
        plan,
        birth: Day::from_date(patient.birth_date),
        assessment: Day::from_date(assessment),
        gender: patient.gender,
        doses,
        live,
        obs,
        ages,
        complete_groups: &[],
    };
    let evaluations: usize = plan
        .groups
        .iter()
        .flatten()
        .map(|&a| records[usize::from(a)].len())
        .sum();
    let mut out = Forecast {
        evaluations: Vec::with_capacity(evaluations),
        vaccine_groups: Vec::with_capacity(plan.groups.len()),
    };
    for (g, group_antigens) in plan.groups.iter().enumerate() {
        let group = &schedule.vaccine_groups[g];
        contained.clear();
        vaccines.clear();
        // The antigen just run (the first of its kind, and whose records), whose runs are
        // still in the buffer: an antigen with identical rules and records reuses them.
        let mut last: Option<(u16, u16, Option<AntigenOutcome>)> = None;
        for &a in group_antigens {
            let antigen = &plan.antigens[usize::from(a)];
            let (kind, differ) = match &plan.same_as[usize::from(a)] {
                Some((b, differ)) => (*b, differ.as_slice()),
                None => (a, &[][..]),
            };
            let reuse = match last {
                Some((k, source, outcome))
                    if k == kind
                        && source == kind
                        && records[usize::from(a)] == records[usize::from(source)]
                        && !records[usize::from(a)]
                            .iter()
                            .any(|r| differ.contains(&r.cvx)) =>
                {
                    Some(outcome)
                }
                _ => None,
            };
            let records = &records[usize::from(a)];
            let outcome = match reuse {
                Some(outcome) => outcome,
                None => {
                    let outcome = run_antigen(&ctx, antigen, records, runs, complete_groups);
                    last = Some((kind, a, outcome));
                    outcome
                }
            };
            let Some(outcome) = outcome else {
                continue;
            };
            let model = &schedule.antigens[usize::from(a)];
            let best = &runs[outcome.chosen];
            let series_name = series_name(schedule, a, best.series);
            for (k, rec) in records.iter().enumerate() {
                let eval = reported_eval(runs, &outcome, k);
                out.evaluations.push(DoseEvaluation {
                    dose: rec.dose as usize,
                    antigen: &model.name,
                    vaccine_group: &group.name,
                    series: series_name,
                    status: eval.status,
                    reasons: eval.reasons,
                    target_dose: eval.target_dose,
                });
            }
            let start = vaccines.len();
            if let Some(t) = best.forecast.target {
                let sd = best.dose(&antigen.series[usize::from(best.series)], t);
                recommended_vaccines(&ctx, antigen, sd, vaccines);
            }
            contained.push(Contained {
                forecast: best.forecast,
                antigen: a,
                series: best.series,
                vaccines: (start, vaccines.len()),
            });
        }
        if contained.is_empty() {
            continue;
        }
        out.vaccine_groups.push(group_forecast(
            schedule,
            &ctx,
            g,
            group_antigens.len() > 1,
            contained,
            vaccines,
        ));
    }
    out
}

pub(crate) fn series_name(schedule: &Schedule, antigen: u16, series: u16) -> &str {
    schedule.antigens[usize::from(antigen)]
        .data
        .series
        .get(usize::from(series))
        .and_then(|s| s.series_name.as_deref())
        .unwrap_or_default()
}

/// A plain-text account of every relevant series of one antigen (status, doses, forecast and
/// which were chosen as best), for people checking a forecast by hand.
pub fn explain_antigen(
    schedule: &Schedule,
    patient: &PatientHistory,
    assessment: Date,
    antigen: &str,
) -> String {
    use std::fmt::Write as _;
    let Some(a) = schedule.antigens.iter().position(|x| x.name == antigen) else {
        return format!("unknown antigen {antigen}\n");
    };
    let plan = schedule.plan();
    let mut scratch = Scratch::default();
    scratch.prepare(plan, patient);
    let mut runs = Vec::new();
    let mut complete_groups = Vec::new();
    let ctx = scratch.ctx(plan, patient, assessment);
    let records = &scratch.records[a];
    let antigen_plan = &plan.antigens[a];
    let mut out = String::new();
    let Some(outcome) = run_antigen(&ctx, antigen_plan, records, &mut runs, &mut complete_groups)
    else {
        return out;
    };
    for (i, run) in runs[..outcome.count].iter().enumerate() {
        let s = &antigen_plan.series[usize::from(run.series)];
        let model = &schedule.antigens[a].data.series[usize::from(run.series)];
        let _ = writeln!(
            out,
            "{} [{}] group {} type {:?} -> {} earliest {:?} valid {} ({:?})",
            if outcome.best & (1 << i) != 0 {
                "*"
            } else {
                " "
            },
            model.series_name.as_deref().unwrap_or_default(),
            s.group,
            s.kind,
            run.forecast.status,
            run.forecast.earliest.map(Day::to_date),
            run.valid_doses(),
            run.selection,
        );
        for (r, e) in records.iter().zip(&run.evals) {
            let _ = writeln!(
                out,
                "    {} cvx {} -> {:?} {:?} target {:?}",
                r.day.to_date(),
                r.cvx,
                e.status,
                e.reasons.iter().collect::<Vec<_>>(),
                e.target_dose
            );
        }
    }
    out
}
