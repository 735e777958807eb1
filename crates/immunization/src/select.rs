//! Chapters 5 and 8 of the CDSi specification: which antigen series are relevant for the
//! patient, and which evaluated series are the best patient series of each series group.

use crate::evaluate::{Ctx, EvalStatus, SeriesState, TargetStatus};
use crate::forecast::{SeriesForecast, SeriesStatus};
use crate::model::Series;

/// An evaluated and forecast relevant patient series.
pub(crate) struct PatientSeries<'s> {
    pub state: SeriesState<'s>,
    pub forecast: SeriesForecast,
}

impl PatientSeries<'_> {
    fn series(&self) -> &Series {
        self.state.series
    }

    fn group(&self) -> u32 {
        self.series().select_series.series_group.unwrap_or(0)
    }

    fn kind(&self) -> &str {
        self.series().series_type.as_deref().unwrap_or("Standard")
    }

    pub fn is_risk(&self) -> bool {
        self.kind() == "Risk"
    }

    pub fn valid_doses(&self) -> usize {
        self.state
            .targets
            .iter()
            .filter(|t| matches!(t.status, TargetStatus::Satisfied(_)))
            .count()
    }

    fn complete(&self) -> bool {
        self.forecast.status == SeriesStatus::Complete
    }

    fn in_process(&self) -> bool {
        self.valid_doses() > 0 && self.forecast.status == SeriesStatus::NotComplete
    }

    fn priority(&self) -> u8 {
        self.series()
            .select_series
            .series_priority
            .as_deref()
            .and_then(|p| p.bytes().next())
            .unwrap_or(b'Z')
    }

    fn preference(&self) -> u32 {
        self.series()
            .select_series
            .series_preference
            .unwrap_or(u32::MAX)
    }
}

/// Table 5-4/5-5: gender, series type and indications.
pub(crate) fn is_relevant(ctx: &Ctx<'_>, series: &Series) -> bool {
    if !ctx.patient.gender.matches(&series.required_gender) {
        return false;
    }
    match series.series_type.as_deref().unwrap_or("Standard") {
        "Risk" => series.indication.iter().any(|ind| {
            ind.observation_code
                .code
                .as_deref()
                .is_some_and(|c| ctx.patient.has_observation(c))
                && ctx
                    .age_date(ind.begin_age)
                    .is_none_or(|b| ctx.assessment >= b)
                && ctx.age_date(ind.end_age).is_none_or(|e| ctx.assessment < e)
        }),
        _ => true,
    }
}

/// Chapter 8: indices of the best patient series among `all` (all series of one antigen).
pub(crate) fn best_series(ctx: &Ctx<'_>, all: &[PatientSeries<'_>]) -> Vec<usize> {
    let mut groups: Vec<u32> = all.iter().map(PatientSeries::group).collect();
    groups.sort_unstable();
    groups.dedup();
    let prioritized: Vec<(u32, usize)> = groups
        .iter()
        .filter_map(|&g| prioritized_in_group(ctx, all, g).map(|i| (g, i)))
        .collect();
    // Equivalence is read as transitive: groups naming the same equivalent group are one family.
    let family = |g: u32| -> u32 {
        all.iter()
            .filter(|s| s.group() == g)
            .find_map(|s| s.series().equivalent_series_groups)
            .unwrap_or(g)
    };
    let equivalent = |a: u32, b: u32| a != b && family(a) == family(b);
    prioritized
        .iter()
        .filter(|&&(g, i)| {
            let s = &all[i];
            if s.complete() {
                return true;
            }
            let others = || {
                prioritized
                    .iter()
                    .filter(move |&&(h, _)| equivalent(g, h))
                    .map(|&(_, j)| &all[j])
            };
            // A risk series the patient still needs stays best even when an equivalent
            // standard series is complete: the CDC underlying-condition cases expect the risk
            // doses (see docs/immunization.md, deviations).
            if s.kind() == "Risk" {
                return !others().any(|o| o.complete() && o.kind() == "Risk");
            }
            !others().any(PatientSeries::complete)
                && s.kind() != "Evaluation Only"
                && !others().any(|o| o.kind() == "Risk")
        })
        .map(|&(_, i)| i)
        .collect()
}

fn prioritized_in_group(ctx: &Ctx<'_>, all: &[PatientSeries<'_>], group: u32) -> Option<usize> {
    let members: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].group() == group)
        .collect();
    let all_contraindicated = members
        .iter()
        .all(|&i| all[i].forecast.status == SeriesStatus::Contraindicated);
    let candidate =
        |i: usize| all[i].forecast.status != SeriesStatus::Contraindicated || all_contraindicated;
    let best_priority = members
        .iter()
        .map(|&i| all[i].priority())
        .min()
        .unwrap_or(b'Z');
    let no_valid_anywhere = members.iter().all(|&i| all[i].valid_doses() == 0);
    let defaults: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| all[i].series().select_series.default_series)
        .collect();
    let scorable: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| {
            let s = &all[i];
            match s.kind() {
                "Risk" => s.priority() == best_priority && candidate(i),
                "Evaluation Only" => s.complete(),
                _ => {
                    let first_valid = s
                        .state
                        .records
                        .iter()
                        .zip(&s.state.evals)
                        .find(|(_, e)| e.status == EvalStatus::Valid)
                        .map(|(r, _)| r.date);
                    let select = &s.series().select_series;
                    let (min_start, max_start) = (
                        ctx.age_date(select.min_age_to_start),
                        ctx.age_date(select.max_age_to_start),
                    );
                    // The minimum age to start is not used for scoring (the specification gives
                    // no rule for it); see docs/immunization.md.
                    let _ = min_start;
                    let started = first_valid.is_some_and(|d| max_start.is_none_or(|m| d < m));
                    candidate(i) && (started || (no_valid_anywhere && defaults.is_empty()))
                }
            }
        })
        .collect();
    let complete: Vec<usize> = scorable
        .iter()
        .copied()
        .filter(|&i| all[i].complete())
        .collect();
    let in_process: Vec<usize> = scorable
        .iter()
        .copied()
        .filter(|&i| all[i].in_process())
        .collect();
    match scorable.len() {
        0 => return defaults.first().copied(),
        1 => return scorable.first().copied(),
        _ => {}
    }
    if complete.len() == 1 {
        return complete.first().copied();
    }
    if complete.is_empty() && in_process.len() == 1 {
        return in_process.first().copied();
    }
    if complete.is_empty() && in_process.is_empty() && defaults.len() == 1 {
        return defaults.first().copied();
    }
    let (scored, rules) = if complete.len() >= 2 {
        (complete, Rules::Complete)
    } else if in_process.len() >= 2 {
        (in_process, Rules::InProcess)
    } else {
        (scorable, Rules::NoValidDoses)
    };
    let scores = score(ctx, all, &scored, rules);
    scored
        .iter()
        .zip(scores)
        .max_by(|(&a, sa), (&b, sb)| {
            sa.cmp(sb)
                .then(all[b].preference().cmp(&all[a].preference()))
        })
        .map(|(&i, _)| i)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    Complete,
    InProcess,
    NoValidDoses,
}

/// Points for a condition: +win if it holds for this series alone, 0 if it holds for several,
/// -win if it does not hold.
fn points(holds: &[bool], i: usize, win: i32, shared: bool) -> i32 {
    let count = holds.iter().filter(|&&h| h).count();
    match (holds[i], count) {
        (false, _) => -win,
        (true, 1) => win,
        (true, _) if shared => 0,
        (true, _) => win,
    }
}

fn score(ctx: &Ctx<'_>, all: &[PatientSeries<'_>], scored: &[usize], rules: Rules) -> Vec<i32> {
    let valid: Vec<usize> = scored.iter().map(|&i| all[i].valid_doses()).collect();
    let max_valid = valid.iter().copied().max().unwrap_or(0);
    let most_valid: Vec<bool> = valid.iter().map(|&v| v == max_valid).collect();
    let completable: Vec<bool> = scored
        .iter()
        .map(|&i| all[i].state.completable(ctx, &all[i].forecast))
        .collect();
    let product: Vec<bool> = scored
        .iter()
        .map(|&i| all[i].series().select_series.product_path)
        .collect();
    let mut scores = vec![0; scored.len()];
    for k in 0..scored.len() {
        let s = &all[scored[k]];
        scores[k] = match rules {
            Rules::Complete => points(&most_valid, k, 1, true),
            Rules::InProcess => {
                let all_valid = s
                    .state
                    .evals
                    .iter()
                    .all(|e| e.target_dose.is_none() || e.status == EvalStatus::Valid);
                let remaining: Vec<usize> = scored
                    .iter()
                    .map(|&i| {
                        all[i]
                            .state
                            .targets
                            .iter()
                            .filter(|t| t.status == TargetStatus::NotSatisfied)
                            .count()
                    })
                    .collect();
                let fewest = remaining.iter().copied().min().unwrap_or(0);
                let closest: Vec<bool> = remaining.iter().map(|&r| r == fewest).collect();
                let finish: Vec<Option<time::Date>> = scored
                    .iter()
                    .zip(&completable)
                    .map(|(&i, &c)| {
                        if c {
                            all[i].state.finish_date(&all[i].forecast)
                        } else {
                            None
                        }
                    })
                    .collect();
                let first_finish = finish.iter().flatten().min().copied();
                let earliest: Vec<bool> = finish
                    .iter()
                    .map(|f| f.is_some() && *f == first_finish)
                    .collect();
                (if product[k] && all_valid { 2 } else { -2 })
                    + (if completable[k] { 3 } else { -3 })
                    + points(&most_valid, k, 2, true)
                    + points(&closest, k, 2, true)
                    + points(&earliest, k, 1, true)
            }
            Rules::NoValidDoses => {
                let starts: Vec<Option<time::Date>> =
                    scored.iter().map(|&i| all[i].forecast.earliest).collect();
                let first = starts.iter().flatten().min().copied();
                let start_earliest: Vec<bool> =
                    starts.iter().map(|s| s.is_some() && *s == first).collect();
                points(&start_earliest, k, 1, true)
                    + (if completable[k] { 1 } else { -1 })
                    + (if product[k] { -1 } else { 1 })
            }
        };
    }
    scores
}
