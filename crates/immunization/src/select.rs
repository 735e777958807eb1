//! Chapters 5 and 8 of the CDSi specification: which antigen series are relevant for the
//! patient, and which evaluated series are the best patient series of each series group.
//! Sets of series are `u64` bit sets over the relevant series of one antigen (at most 64).

use crate::evaluate::{AntigenDose, Ctx, EvalStatus, SeriesRun, TargetStatus};
use crate::forecast::SeriesStatus;
use crate::plan::{AntigenPlan, SeriesKind, SeriesPlan};

/// How series selection treated one relevant series (for explanations; recorded on every run,
/// it costs a few stores).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Selection {
    #[default]
    Pending,
    /// SELECTB-24: contraindicated while another series of the group is not.
    NotCandidate,
    /// SELECTSCORE-2: a risk series of lower priority than another series of its group.
    LowerPriority,
    /// SELECTSCORE-2: a standard series with no valid dose (or started after its maximum age to
    /// start) while another series of the group has valid doses or is the default.
    NotStarted,
    /// SELECTSCORE-2: an evaluation-only series that is not complete.
    EvaluationOnly,
    /// Table 8-3/8-5: scorable, but another series was chosen without scoring or another
    /// class (complete, in process) was scored.
    NotChosen,
    /// Scored (tables 8-7, 8-9, 8-11) lower than the prioritized series, or tied with a better
    /// preference.
    Scored { score: i8, best: i8 },
    /// Prioritized for its series group by table 8-3 (no scoring needed).
    Prioritized(PrioritizedBy),
    /// Prioritized by scoring, with its score.
    PrioritizedByScore(i8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrioritizedBy {
    OnlyDefault,
    OnlyScorable,
    OnlyComplete,
    OnlyInProcess,
    Default,
}

/// Table 8-14, why a prioritized series is not a best series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum NotBest {
    #[default]
    No,
    /// A series of an equivalent series group is complete.
    EquivalentComplete,
    /// A risk series of an equivalent series group is prioritized.
    EquivalentRisk,
    EvaluationOnly,
}

impl SeriesRun {
    fn complete(&self) -> bool {
        self.forecast.status == SeriesStatus::Complete
    }

    fn in_process(&self) -> bool {
        self.valid_doses() > 0 && self.forecast.status == SeriesStatus::NotComplete
    }
}

/// Table 5-4/5-5: gender, series type and indications. With `upcoming`, an indication also
/// applies before its begin age (see [`relevant_series`]).
pub(crate) fn is_relevant(ctx: &Ctx<'_>, series: &SeriesPlan, upcoming: bool) -> bool {
    if !ctx.gender_matches(series.genders) {
        return false;
    }
    match series.kind {
        SeriesKind::Risk => {
            !ctx.obs.is_empty()
                && series.indications.iter().any(|ind| {
                    ctx.has_observation(ind.obs)
                        && (upcoming || ind.begin.is_none_or(|b| ctx.assessment >= ctx.age(b)))
                        && ind.end.is_none_or(|e| ctx.assessment < ctx.age(e))
                })
        }
        _ => true,
    }
}

/// The relevant series of an antigen (chapter 5), as a bit set over its series. When none is
/// relevant on the assessment date but the patient has an indication they are still too young
/// for, the series of that indication is relevant: its first dose is forecast at the age the
/// indication begins. Antigens that only have risk series (dengue: evidence of infection, from
/// 9 years) otherwise give no forecast at all to a child with the indication; the CDC expects
/// the forecast (2022-UC-0001, -0005).
pub(crate) fn relevant_series(ctx: &Ctx<'_>, antigen: &AntigenPlan) -> u64 {
    let mut now = 0u64;
    for (i, s) in antigen.series.iter().enumerate() {
        if is_relevant(ctx, s, false) {
            now |= 1 << i;
        }
    }
    if now != 0 || ctx.obs.is_empty() {
        return now;
    }
    let mut upcoming = 0u64;
    for (i, s) in antigen.series.iter().enumerate() {
        if is_relevant(ctx, s, true) {
            upcoming |= 1 << i;
        }
    }
    upcoming
}

/// Iterates the indices of a bit set in ascending order.
pub(crate) fn bits(mut set: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if set == 0 {
            return None;
        }
        let i = set.trailing_zeros() as usize;
        set &= set - 1;
        Some(i)
    })
}

fn count(set: u64) -> u32 {
    set.count_ones()
}

fn first(set: u64) -> Option<usize> {
    (set != 0).then(|| set.trailing_zeros() as usize)
}

/// What chapter 8 needs to read about the runs of one antigen.
pub(crate) struct Runs<'a> {
    pub ctx: &'a Ctx<'a>,
    pub antigen: &'a AntigenPlan,
    pub runs: &'a mut [SeriesRun],
    pub records: &'a [AntigenDose],
}

impl Runs<'_> {
    fn plan(&self, i: usize) -> &SeriesPlan {
        &self.antigen.series[usize::from(self.runs[i].series)]
    }

    fn members(&self, group: u32) -> u64 {
        let mut set = 0;
        for i in 0..self.runs.len() {
            if self.plan(i).group == group {
                set |= 1 << i;
            }
        }
        set
    }

    /// Chapter 8: the best patient series (bit set over the runs); records on each run how
    /// selection treated it.
    pub fn best_series(&mut self) -> u64 {
        if self.runs.len() == 1 {
            return self.best_of_one();
        }
        // Prioritized series, one per series group (a bit set over the runs).
        let mut prioritized = 0u64;
        let mut done = 0u64;
        let all = if self.runs.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.runs.len()) - 1
        };
        while done != all {
            let Some(first) = first(all & !done) else {
                break;
            };
            let group = self.plan(first).group;
            let members = self.members(group);
            done |= members;
            if let Some(i) = self.prioritized_in_group(members) {
                prioritized |= 1 << i;
            }
        }
        let mut best = 0u64;
        let single_group = done == self.members(self.plan(0).group);
        let mut verdicts = [NotBest::No; 64];
        let this = &*self;
        for i in bits(prioritized) {
            let s = &this.runs[i];
            let kind = this.plan(i).kind;
            let g = this.plan(i).group;
            let others = || {
                bits(prioritized).filter(move |&j| {
                    !single_group && {
                        let h = this.plan(j).group;
                        h != g && this.family(g) == this.family(h)
                    }
                })
            };
            let verdict = if s.complete() {
                NotBest::No
            } else if kind == SeriesKind::Risk {
                // A risk series the patient still needs stays best even when an equivalent
                // standard series is complete: the CDC underlying-condition cases expect the
                // risk doses (see docs/immunization.md, deviations).
                if others()
                    .any(|j| this.runs[j].complete() && this.plan(j).kind == SeriesKind::Risk)
                {
                    NotBest::EquivalentComplete
                } else {
                    NotBest::No
                }
            } else if others().any(|j| this.runs[j].complete()) {
                NotBest::EquivalentComplete
            } else if kind == SeriesKind::EvaluationOnly {
                NotBest::EvaluationOnly
            } else if others().any(|j| this.plan(j).kind == SeriesKind::Risk) {
                NotBest::EquivalentRisk
            } else {
                NotBest::No
            };
            if verdict == NotBest::No {
                best |= 1 << i;
            } else {
                verdicts[i] = verdict;
            }
        }
        for (run, verdict) in self.runs.iter_mut().zip(verdicts) {
            run.not_best = verdict;
        }
        best
    }

    /// Chapter 8 when only one series of the antigen is relevant (most antigens of most
    /// patients): the same outcome as the general path, without the bookkeeping.
    fn best_of_one(&mut self) -> u64 {
        let plan = self.plan(0);
        let run = &self.runs[0];
        let (scorable, why) = match plan.kind {
            // The only member is always a candidate and has the best priority.
            SeriesKind::Risk => (true, Selection::Pending),
            SeriesKind::EvaluationOnly => (run.complete(), Selection::EvaluationOnly),
            SeriesKind::Standard => {
                let max_start = self.ctx.age_opt(plan.max_start);
                let started = self
                    .records
                    .iter()
                    .zip(&run.evals)
                    .find(|(_, e)| e.status == EvalStatus::Valid)
                    .is_some_and(|(r, _)| max_start.is_none_or(|m| r.day < m));
                if started || (run.valid_doses() == 0 && !plan.default) {
                    (true, Selection::Pending)
                } else {
                    (false, Selection::NotStarted)
                }
            }
        };
        let (kind, complete, default) = (plan.kind, run.complete(), plan.default);
        let run = &mut self.runs[0];
        run.not_best = NotBest::No;
        run.selection = if scorable {
            Selection::Prioritized(PrioritizedBy::OnlyScorable)
        } else if default {
            Selection::Prioritized(PrioritizedBy::OnlyDefault)
        } else {
            why
        };
        if !scorable && !default {
            return 0;
        }
        if !complete && kind == SeriesKind::EvaluationOnly {
            run.not_best = NotBest::EvaluationOnly;
            return 0;
        }
        1
    }

    /// Equivalent series groups as one relation: a group is equivalent to the group it names and
    /// to every group naming it, transitively (HepB and Zoster name each other, 1 -> 2 and
    /// 2 -> 1; RSV's groups 1 and 3 both name 2). Returns the smallest member of the family.
    fn family(&self, g: u32) -> u32 {
        let mut family = g;
        loop {
            let mut next = family;
            for i in 0..self.runs.len() {
                let plan = self.plan(i);
                if let Some(e) = plan.equivalent {
                    if plan.group == family || e == family {
                        next = next.min(plan.group.min(e));
                    }
                }
            }
            if next == family {
                return family;
            }
            family = next;
        }
    }

    fn prioritized_in_group(&mut self, members: u64) -> Option<usize> {
        let status = |runs: &[SeriesRun], i: usize| runs[i].forecast.status;
        let all_contraindicated =
            bits(members).all(|i| status(self.runs, i) == SeriesStatus::Contraindicated);
        let candidate = |runs: &[SeriesRun], i: usize| {
            status(runs, i) != SeriesStatus::Contraindicated || all_contraindicated
        };
        // SELECTSCORE-2 compares the priority of risk series with the other relevant series of
        // the group. A series the patient can no longer receive (aged out: e.g. the infant
        // MenACWY risk series for a 60-year-old) does not outrank the series that can still be
        // given; the CDC expects the priority-B adult series then (2016-UC-0128, 2016-UC-0198).
        let best_priority = bits(members)
            .filter(|&i| status(self.runs, i) != SeriesStatus::AgedOut)
            .map(|i| self.plan(i).priority)
            .min()
            .or_else(|| bits(members).map(|i| self.plan(i).priority).min())
            .unwrap_or(b'Z');
        let no_valid_anywhere = bits(members).all(|i| self.runs[i].valid_doses() == 0);
        let mut defaults = 0u64;
        let mut scorable = 0u64;
        for i in bits(members) {
            let plan = self.plan(i);
            if plan.default {
                defaults |= 1 << i;
            }
        }
        for i in bits(members) {
            let plan = self.plan(i);
            let run = &self.runs[i];
            let (ok, why) = match plan.kind {
                SeriesKind::Risk => {
                    if !candidate(self.runs, i) {
                        (false, Selection::NotCandidate)
                    } else if plan.priority != best_priority {
                        (false, Selection::LowerPriority)
                    } else {
                        (true, Selection::Pending)
                    }
                }
                SeriesKind::EvaluationOnly => (run.complete(), Selection::EvaluationOnly),
                SeriesKind::Standard => {
                    let first_valid = self
                        .records
                        .iter()
                        .zip(&run.evals)
                        .find(|(_, e)| e.status == EvalStatus::Valid)
                        .map(|(r, _)| r.day);
                    // The minimum age to start is not used for scoring (the specification gives
                    // no rule for it); see docs/immunization.md.
                    let max_start = self.ctx.age_opt(plan.max_start);
                    let started = first_valid.is_some_and(|d| max_start.is_none_or(|m| d < m));
                    if !candidate(self.runs, i) {
                        (false, Selection::NotCandidate)
                    } else if started || (no_valid_anywhere && defaults == 0) {
                        (true, Selection::Pending)
                    } else {
                        (false, Selection::NotStarted)
                    }
                }
            };
            if ok {
                scorable |= 1 << i;
            }
            self.runs[i].selection = if ok { Selection::NotChosen } else { why };
        }
        let mut complete = 0u64;
        let mut in_process = 0u64;
        for i in bits(scorable) {
            if self.runs[i].complete() {
                complete |= 1 << i;
            }
            if self.runs[i].in_process() {
                in_process |= 1 << i;
            }
        }
        let chosen = match count(scorable) {
            0 => first(defaults).map(|i| (i, Selection::Prioritized(PrioritizedBy::OnlyDefault))),
            1 => first(scorable).map(|i| (i, Selection::Prioritized(PrioritizedBy::OnlyScorable))),
            _ if count(complete) == 1 => {
                first(complete).map(|i| (i, Selection::Prioritized(PrioritizedBy::OnlyComplete)))
            }
            _ if complete == 0 && count(in_process) == 1 => {
                first(in_process).map(|i| (i, Selection::Prioritized(PrioritizedBy::OnlyInProcess)))
            }
            _ if complete == 0 && in_process == 0 && count(defaults) == 1 => {
                first(defaults).map(|i| (i, Selection::Prioritized(PrioritizedBy::Default)))
            }
            _ => {
                let (scored, rules) = if count(complete) >= 2 {
                    (complete, Rules::Complete)
                } else if count(in_process) >= 2 {
                    (in_process, Rules::InProcess)
                } else {
                    (scorable, Rules::NoValidDoses)
                };
                let mut scores = [0i8; 64];
                self.score(scored, rules, &mut scores);
                // The highest score; among equal scores the best (lowest) preference, and among
                // those the last one (Iterator::max_by).
                let mut winner: Option<usize> = None;
                for i in bits(scored) {
                    let better = match winner {
                        None => true,
                        Some(w) => {
                            let by_score = scores[i].cmp(&scores[w]);
                            let by_pref = self.plan(w).preference.cmp(&self.plan(i).preference);
                            by_score.then(by_pref) != std::cmp::Ordering::Less
                        }
                    };
                    if better {
                        winner = Some(i);
                    }
                }
                if let Some(w) = winner {
                    for i in bits(scored) {
                        self.runs[i].selection = Selection::Scored {
                            score: scores[i],
                            best: scores[w],
                        };
                    }
                }
                winner.map(|w| (w, Selection::PrioritizedByScore(scores[w])))
            }
        };
        let (i, how) = chosen?;
        self.runs[i].selection = how;
        Some(i)
    }

    fn score(&self, scored: u64, rules: Rules, scores: &mut [i8; 64]) {
        let max_valid = bits(scored)
            .map(|i| self.runs[i].valid_doses())
            .max()
            .unwrap_or(0);
        let most_valid = bits(scored)
            .filter(|&i| self.runs[i].valid_doses() == max_valid)
            .fold(0u64, |s, i| s | 1 << i);
        let mut completable = 0u64;
        for i in bits(scored) {
            if self.runs[i].completable(self.ctx, self.plan(i)) {
                completable |= 1 << i;
            }
        }
        // Points for a condition: +win if it holds for this series alone, 0 if it holds for
        // several, -win if it does not hold.
        let points = |holds: u64, i: usize, win: i8| -> i8 {
            if holds & (1 << i) == 0 {
                -win
            } else if count(holds) == 1 {
                win
            } else {
                0
            }
        };
        let yes = |set: u64, i: usize| set & (1 << i) != 0;
        match rules {
            Rules::Complete => {
                for i in bits(scored) {
                    scores[i] = points(most_valid, i, 1);
                }
            }
            Rules::InProcess => {
                let remaining = |i: usize| {
                    self.runs[i]
                        .targets
                        .iter()
                        .filter(|t| t.status == TargetStatus::NotSatisfied)
                        .count()
                };
                let fewest = bits(scored).map(remaining).min().unwrap_or(0);
                let closest = bits(scored)
                    .filter(|&i| remaining(i) == fewest)
                    .fold(0u64, |s, i| s | 1 << i);
                let finish = |i: usize| {
                    if yes(completable, i) {
                        self.runs[i].finish_date(self.plan(i))
                    } else {
                        None
                    }
                };
                let first_finish = bits(scored).filter_map(finish).min();
                let earliest = bits(scored)
                    .filter(|&i| first_finish.is_some() && finish(i) == first_finish)
                    .fold(0u64, |s, i| s | 1 << i);
                for i in bits(scored) {
                    let all_valid = self.runs[i]
                        .evals
                        .iter()
                        .all(|e| e.target_dose.is_none() || e.status == EvalStatus::Valid);
                    scores[i] = (if self.plan(i).product && all_valid {
                        2
                    } else {
                        -2
                    }) + (if yes(completable, i) { 3 } else { -3 })
                        + points(most_valid, i, 2)
                        + points(closest, i, 2)
                        + points(earliest, i, 1);
                }
            }
            Rules::NoValidDoses => {
                let first_start = bits(scored)
                    .filter_map(|i| self.runs[i].forecast.earliest)
                    .min();
                let start_earliest = bits(scored)
                    .filter(|&i| {
                        first_start.is_some() && self.runs[i].forecast.earliest == first_start
                    })
                    .fold(0u64, |s, i| s | 1 << i);
                for i in bits(scored) {
                    scores[i] = points(start_earliest, i, 1)
                        + (if yes(completable, i) { 1 } else { -1 })
                        + (if self.plan(i).product { -1 } else { 1 });
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    Complete,
    InProcess,
    NoValidDoses,
}
