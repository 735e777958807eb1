//! The processing model of chapter 4 and the vaccine group rules of chapter 9: from a patient
//! history and an assessment date to dose evaluations and one forecast per vaccine group.

use time::Date;

use crate::evaluate::{AntigenDose, Ctx, EvalReasons, EvalStatus, RecordEval, SeriesState};
use crate::forecast::SeriesStatus;
use crate::model::Cvx;
use crate::patient::PatientHistory;
use crate::schedule::{Antigen, Schedule};
use crate::select::{best_series, is_relevant, PatientSeries};

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

/// Evaluates the history and forecasts every vaccine group of the schedule on `assessment`.
/// Pure and deterministic: the same inputs give the same output.
pub fn forecast<'s>(
    schedule: &'s Schedule,
    patient: &PatientHistory,
    assessment: Date,
) -> Forecast<'s> {
    let mut order: Vec<usize> = (0..patient.doses.len()).collect();
    order.sort_by_key(|&i| patient.doses[i].date);
    let mut out = Forecast::default();
    for group in &schedule.vaccine_groups {
        let mut contained = Vec::new();
        for antigen_name in &group.antigens {
            let Some(antigen) = schedule.antigen(antigen_name) else {
                continue;
            };
            let records = antigen_doses(schedule, patient, antigen, &order);
            let Some((best, valid_elsewhere)) =
                best_for_antigen(schedule, patient, assessment, antigen, &records)
            else {
                continue;
            };
            // The same series, borrowed from the schedule rather than from this loop.
            let series = antigen
                .data
                .series
                .iter()
                .find(|s| std::ptr::eq(*s, best.state.series));
            let series_name: &'s str = series
                .and_then(|s| s.series_name.as_deref())
                .unwrap_or_default();
            for (k, rec) in records.iter().enumerate() {
                let mut eval = best.state.evals[k];
                if let Some(other) = valid_elsewhere[k] {
                    eval = other;
                }
                out.evaluations.push(DoseEvaluation {
                    dose: rec.dose,
                    antigen: &antigen.name,
                    vaccine_group: &group.name,
                    series: series_name,
                    status: eval.status,
                    reasons: eval.reasons,
                    target_dose: eval.target_dose,
                });
            }
            let target = best.forecast.target.map(|t| best.state.series_dose(t));
            let vaccines = target
                .map(|sd| recommended_vaccines(patient, antigen, sd))
                .unwrap_or_default();
            contained.push((best.forecast, series_name, vaccines));
        }
        if contained.is_empty() {
            continue;
        }
        out.vaccine_groups.push(group_forecast(
            &group.name,
            group.antigens.len() > 1,
            &contained,
            patient,
            schedule,
        ));
    }
    out
}

/// FORECASTRECVAC-1: preferable vaccines flagged for forecasting that no contraindication of
/// the patient rules out; when all flagged ones are ruled out, the other preferable vaccines.
fn recommended_vaccines(
    patient: &PatientHistory,
    antigen: &Antigen,
    sd: &crate::model::SeriesDose,
) -> Vec<Cvx> {
    let ruled_out = |cvx: Cvx| {
        antigen
            .data
            .contraindications
            .vaccine
            .contraindication
            .iter()
            .any(|c| {
                c.observation_code
                    .as_deref()
                    .is_some_and(|code| patient.has_observation(code))
                    && c.contraindicated_vaccine.iter().any(|v| v.cvx == Some(cvx))
            })
    };
    let allowed = |flagged: bool| -> Vec<Cvx> {
        sd.preferable_vaccine
            .iter()
            .filter(|v| v.forecast_vaccine_type == flagged)
            .filter_map(|v| v.cvx)
            .filter(|cvx| !ruled_out(*cvx))
            .collect()
    };
    let flagged = allowed(true);
    if flagged.is_empty() {
        allowed(false)
    } else {
        flagged
    }
}

/// Section 4.2: the doses of the history that carry this antigen, in date order.
fn antigen_doses(
    schedule: &Schedule,
    patient: &PatientHistory,
    antigen: &Antigen,
    order: &[usize],
) -> Vec<AntigenDose> {
    let mut records = Vec::new();
    for &i in order {
        let dose = &patient.doses[i];
        let carries = schedule.antigens_of(dose.cvx).iter().any(|a| {
            a.antigen.as_deref() == Some(antigen.name.as_str())
                && a.association_begin_age
                    .is_none_or(|b| dose.date >= b.after(patient.birth_date))
                && a.association_end_age
                    .is_none_or(|e| dose.date < e.after(patient.birth_date))
        });
        if carries {
            records.push(AntigenDose {
                dose: i,
                date: dose.date,
                cvx: dose.cvx,
            });
        }
    }
    records
}

/// Sections 4.3 to 4.5 for one antigen; when several best series remain, the one that needs a
/// dose soonest drives the vaccine group forecast (see docs/immunization.md).
fn best_for_antigen<'r>(
    schedule: &'r Schedule,
    patient: &PatientHistory,
    assessment: Date,
    antigen: &'r Antigen,
    records: &'r [AntigenDose],
) -> Option<(PatientSeries<'r>, Vec<Option<RecordEval>>)> {
    let run = |complete_groups: &[u32]| {
        run_all(
            schedule,
            patient,
            assessment,
            antigen,
            records,
            complete_groups,
        )
    };
    let mut runs = run(&[]);
    let mut complete_groups: Vec<u32> = Vec::new();
    if antigen.uses_completed_series() {
        complete_groups = runs
            .iter()
            .filter(|r| r.forecast.status == SeriesStatus::Complete)
            .filter_map(|r| r.state.series.select_series.series_group)
            .collect();
        if !complete_groups.is_empty() {
            runs = run(&complete_groups);
        }
    }
    let ctx = Ctx {
        schedule,
        patient,
        assessment,
        complete_groups: &complete_groups,
    };
    let best = best_series(&ctx, &runs);
    let chosen = best
        .iter()
        .copied()
        .filter(|&i| runs[i].forecast.status == SeriesStatus::NotComplete)
        .min_by_key(|&i| (!runs[i].is_risk(), runs[i].forecast.earliest))
        .or_else(|| {
            best.iter()
                .copied()
                .min_by_key(|&i| settled_rank(runs[i].forecast.status))
        })?;
    // A dose that is valid in another best series (a risk series next to the standard one)
    // is reported valid.
    let valid_elsewhere = (0..records.len())
        .map(|k| {
            if runs[chosen].state.evals[k].status == EvalStatus::Valid {
                return None;
            }
            best.iter()
                .map(|&i| runs[i].state.evals[k])
                .find(|e| e.status == EvalStatus::Valid)
        })
        .collect();
    Some((runs.swap_remove(chosen), valid_elsewhere))
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

fn run_all<'s>(
    schedule: &'s Schedule,
    patient: &PatientHistory,
    assessment: Date,
    antigen: &'s Antigen,
    records: &'s [AntigenDose],
    complete_groups: &[u32],
) -> Vec<PatientSeries<'s>> {
    let ctx = Ctx {
        schedule,
        patient,
        assessment,
        complete_groups,
    };
    antigen
        .data
        .series
        .iter()
        .filter(|s| is_relevant(&ctx, s))
        .map(|series| {
            let mut state = SeriesState::new(series, records);
            state.evaluate(&ctx);
            let forecast = state.forecast(&ctx, &antigen.data);
            PatientSeries { state, forecast }
        })
        .collect()
}

/// Chapter 9: merges the antigen forecasts of a vaccine group.
fn group_forecast<'s>(
    name: &'s str,
    multiple: bool,
    contained: &[(crate::forecast::SeriesForecast, &'s str, Vec<Cvx>)],
    patient: &PatientHistory,
    schedule: &Schedule,
) -> VaccineGroupForecast<'s> {
    let statuses: Vec<SeriesStatus> = contained.iter().map(|(f, _, _)| f.status).collect();
    let status = if !multiple {
        statuses[0]
    } else if statuses.contains(&SeriesStatus::Contraindicated) {
        SeriesStatus::Contraindicated
    } else if statuses.contains(&SeriesStatus::AgedOut) {
        SeriesStatus::AgedOut
    } else if statuses.contains(&SeriesStatus::NotRecommended) {
        SeriesStatus::NotRecommended
    } else if statuses.contains(&SeriesStatus::NotComplete) {
        SeriesStatus::NotComplete
    } else if statuses.iter().all(|s| *s == SeriesStatus::Immune) {
        SeriesStatus::Immune
    } else {
        SeriesStatus::Complete
    };
    let open: Vec<_> = contained
        .iter()
        .filter(|(f, _, _)| f.status == SeriesStatus::NotComplete)
        .collect();
    let mut forecast = VaccineGroupForecast {
        vaccine_group: name,
        status,
        dose_number: None,
        earliest: None,
        recommended: None,
        past_due: None,
        latest: None,
        series: contained.iter().map(|(_, s, _)| *s).collect(),
        vaccines: Vec::new(),
    };
    if status != SeriesStatus::NotComplete || open.is_empty() {
        return forecast;
    }
    let earliest = if open.iter().any(|(f, _, _)| f.priority) {
        let first = open.iter().filter_map(|(f, _, _)| f.earliest).min();
        let last_dose = patient
            .doses
            .iter()
            .filter(|d| {
                schedule.antigens_of(d.cvx).iter().any(|a| {
                    schedule.vaccine_groups.iter().any(|g| {
                        g.name == name && a.antigen.as_ref().is_some_and(|x| g.antigens.contains(x))
                    })
                })
            })
            .map(|d| d.date)
            .max();
        first.max(last_dose)
    } else {
        open.iter().filter_map(|(f, _, _)| f.earliest).max()
    };
    forecast.earliest = earliest;
    forecast.recommended = open
        .iter()
        .filter_map(|(f, _, _)| f.recommended)
        .min()
        .max(earliest);
    forecast.past_due = open
        .iter()
        .filter_map(|(f, _, _)| f.past_due)
        .min()
        .map(|d| Some(d).max(earliest))
        .unwrap_or(None);
    forecast.latest = open.iter().filter_map(|(f, _, _)| f.latest).min();
    forecast.dose_number = open.iter().filter_map(|(f, _, _)| f.dose_number).min();
    let mut vaccines: Vec<Cvx> = open
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .collect();
    vaccines.sort_unstable();
    vaccines.dedup();
    forecast.vaccines = vaccines;
    forecast
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
    let mut out = String::new();
    let Some(antigen) = schedule.antigen(antigen) else {
        return format!("unknown antigen {antigen}\n");
    };
    let mut order: Vec<usize> = (0..patient.doses.len()).collect();
    order.sort_by_key(|&i| patient.doses[i].date);
    let records = antigen_doses(schedule, patient, antigen, &order);
    let runs = run_all(schedule, patient, assessment, antigen, &records, &[]);
    let ctx = Ctx {
        schedule,
        patient,
        assessment,
        complete_groups: &[],
    };
    let best = best_series(&ctx, &runs);
    for (i, run) in runs.iter().enumerate() {
        let s = run.state.series;
        let _ = writeln!(
            out,
            "{} [{}] group {:?} type {:?} -> {} earliest {:?} valid {}",
            if best.contains(&i) { "*" } else { " " },
            s.series_name.as_deref().unwrap_or_default(),
            s.select_series.series_group,
            s.series_type,
            run.forecast.status,
            run.forecast.earliest,
            run.valid_doses()
        );
        for (r, e) in records.iter().zip(&run.state.evals) {
            let _ = writeln!(
                out,
                "    {} cvx {} -> {:?} {:?} target {:?}",
                r.date,
                r.cvx,
                e.status,
                e.reasons.iter().collect::<Vec<_>>(),
                e.target_dose
            );
        }
    }
    out
}
