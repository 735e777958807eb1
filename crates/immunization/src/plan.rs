//! The schedule compiled for the engine: built once from the typed supporting data, with
//! strings turned into small integers (antigens, observation codes), flags into enums, dates into
//! day counts and ages into ids of a per-patient cache. The hot path reads only this.

use std::collections::HashMap;

use crate::model::{
    AgeRule, AntigenData, Association, ConditionalSkip, Cvx, IntervalRule, LiveVirusConflict,
    Series, SeriesDose, VaccineRef,
};
use crate::span::{Day, Span};

mod build;

use build::Builder;

/// An interned CDSi observation code.
pub(crate) type ObsId = u16;

/// An age (a span from the date of birth) interned for the per-patient cache of age dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AgeId(pub u16);

/// More series than this in one antigen would not fit the engine's bit sets.
pub(crate) const MAX_SERIES: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub antigens: Vec<AntigenPlan>,
    /// For each antigen, an earlier antigen whose rules are identical but for the allowable
    /// vaccines listed (measles, mumps and rubella: MR counts for two of them), with the
    /// vaccines where those lists differ: the same records without those vaccines give the same
    /// runs, which the engine then reuses.
    pub same_as: Vec<Option<(u16, Vec<u16>)>>,
    /// Per vaccine group (schedule order): indices of its antigens.
    pub groups: Vec<Vec<u16>>,
    /// Per CVX number: its index in `cvx`, or `u16::MAX`.
    cvx_index: Vec<u16>,
    cvx: Vec<CvxPlan>,
    pub ages: Vec<Span>,
    obs: HashMap<String, ObsId>,
}

#[derive(Debug, Default)]
pub(crate) struct CvxPlan {
    pub antigens: Vec<Assoc>,
    /// Live-virus conflicts where this vaccine is the previous one.
    pub conflicts_as_previous: Vec<Conflict>,
    /// Whether this vaccine is the current vaccine of any conflict.
    pub impacted: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Assoc {
    pub antigen: u16,
    pub begin: Option<AgeId>,
    pub end: Option<AgeId>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Conflict {
    pub current: u16,
    pub begin: Span,
    pub min_end: Option<Span>,
    pub end: Option<Span>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct AntigenPlan {
    pub series: Vec<SeriesPlan>,
    /// Series indices by ascending series group (stable): the order runs are made in.
    pub by_group: Vec<u16>,
    pub immunity: Vec<ObsId>,
    /// Born before the date, unless one of the exclusion observations applies.
    pub birth_immunity: Vec<(Day, Vec<ObsId>)>,
    pub ci_antigen: Vec<AgedObs>,
    pub ci_vaccine: Vec<VaccineCi>,
    pub uses_completed_series: bool,
}

/// An observation that counts within an age window (indications, antigen contraindications).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AgedObs {
    pub obs: ObsId,
    pub begin: Option<AgeId>,
    pub end: Option<AgeId>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct VaccineCi {
    pub obs: ObsId,
    pub vaccines: Vec<Vac>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeriesKind {
    Standard,
    Risk,
    EvaluationOnly,
}

#[derive(Debug, PartialEq)]
pub(crate) struct SeriesPlan {
    pub kind: SeriesKind,
    pub group: u32,
    pub equivalent: Option<u32>,
    /// `A` is the highest.
    pub priority: u8,
    pub preference: u32,
    pub default: bool,
    pub product: bool,
    pub min_start: Option<AgeId>,
    pub max_start: Option<AgeId>,
    /// Bit 0 female, 1 male, 2 unknown; 0 means any gender.
    pub genders: u8,
    pub indications: Vec<AgedObs>,
    pub doses: Vec<DosePlan>,
    /// Every preferable vaccine of every target dose (table 7-7).
    pub preferable_all: Vec<u16>,
    pub uses_completed_series: bool,
}

#[derive(Debug, PartialEq)]
pub(crate) struct DosePlan {
    pub number: u32,
    pub ages: Vec<AgePlan>,
    pub intervals: Vec<IntervalPlan>,
    pub allowable_intervals: Vec<IntervalPlan>,
    pub preferable: Vec<Vac>,
    pub allowable: Vec<Vac>,
    pub inadvertent: Vec<u16>,
    pub skips: Vec<SkipPlan>,
    pub recurring: bool,
    pub season: Option<(Option<Day>, Option<Day>)>,
    /// Whether a preferable vaccine is the current vaccine of a live-virus conflict.
    pub preferable_impacted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AgePlan {
    pub abs_min: Option<AgeId>,
    pub min: Option<AgeId>,
    pub earliest_rec: Option<AgeId>,
    pub latest_rec: Option<AgeId>,
    pub max: Option<AgeId>,
    pub effective: Option<Day>,
    pub cessation: Option<Day>,
}

/// A vaccine type with its age window (preferable, allowable, contraindicated vaccines).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Vac {
    pub cvx: u16,
    pub begin: Option<AgeId>,
    pub end: Option<AgeId>,
    pub forecast: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IntervalFrom {
    Previous,
    TargetDose(u32),
    MostRecent(Vec<u16>),
    Observation(Option<ObsId>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IntervalPlan {
    pub from: IntervalFrom,
    pub abs_min: Option<Span>,
    pub min: Option<Span>,
    pub earliest_rec: Option<Span>,
    pub latest_rec: Option<Span>,
    /// Interval priority flag `Y`/`override` (FORECASTPRIORITY-1).
    pub priority: bool,
    pub effective: Option<Day>,
    pub cessation: Option<Day>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SkipWhen {
    Both,
    Evaluation,
    Forecast,
    Never,
}

#[derive(Debug, PartialEq)]
pub(crate) struct SkipPlan {
    pub when: SkipWhen,
    /// Set logic AND (otherwise any set is enough).
    pub all_sets: bool,
    pub sets: Vec<SetPlan>,
}

#[derive(Debug)]
pub(crate) struct SetPlan {
    pub effective: Option<Day>,
    pub cessation: Option<Day>,
    /// Condition logic OR (otherwise every condition must hold).
    pub any: bool,
    pub conditions: Vec<CondPlan>,
    pub description: Option<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct CondPlan {
    pub kind: CondKind,
    pub begin: Option<AgeId>,
    pub end: Option<AgeId>,
    pub start: Option<Day>,
    pub end_date: Option<Day>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CountLogic {
    Greater,
    Equal,
    Less,
    Never,
}

#[derive(Debug, PartialEq)]
pub(crate) enum CondKind {
    Age,
    Interval(Option<Span>),
    CompletedSeries(Vec<u32>),
    Count {
        valid_only: bool,
        types: Vec<u16>,
        count: u32,
        logic: CountLogic,
    },
    Unknown,
}

/// Skip sets compare by their logic; the description is for people.
impl PartialEq for SetPlan {
    fn eq(&self, other: &SetPlan) -> bool {
        self.effective == other.effective
            && self.cessation == other.cessation
            && self.any == other.any
            && self.conditions == other.conditions
    }
}

/// True when an element with these effective/cessation dates applies on `day` (RELEVANT-1/2).
#[inline]
pub(crate) fn in_effect(effective: Option<Day>, cessation: Option<Day>, day: Day) -> bool {
    effective.is_none_or(|e| day >= e) && cessation.is_none_or(|c| day <= c)
}

impl DosePlan {
    /// The age element in effect on `day`.
    #[inline]
    pub fn age(&self, day: Day) -> Option<&AgePlan> {
        self.ages
            .iter()
            .find(|a| in_effect(a.effective, a.cessation, day))
    }
}

impl Plan {
    pub fn cvx(&self, cvx: u16) -> Option<&CvxPlan> {
        let index = *self.cvx_index.get(usize::from(cvx))?;
        self.cvx.get(usize::from(index))
    }

    pub fn observation(&self, code: &str) -> Option<ObsId> {
        self.obs.get(code).copied()
    }

    /// The code of an interned observation (explanations only: a linear search).
    pub fn observation_code(&self, obs: ObsId) -> Option<&str> {
        self.obs
            .iter()
            .find(|(_, &id)| id == obs)
            .map(|(code, _)| code.as_str())
    }

    pub fn conflict(&self, previous: u16, current: u16) -> Option<&Conflict> {
        self.cvx(previous)?
            .conflicts_as_previous
            .iter()
            .find(|c| c.current == current)
    }

    pub fn build(
        antigens: &[(String, &AntigenData)],
        groups: &[Vec<String>],
        cvx_map: &[(Cvx, Vec<Association>)],
        conflicts: &[LiveVirusConflict],
    ) -> Result<Plan, String> {
        let mut b = Builder::default();
        let antigen_index: HashMap<&str, u16> = antigens
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i as u16))
            .collect();
        let mut plan_antigens = Vec::with_capacity(antigens.len());
        for (name, data) in antigens {
            if data.series.len() > MAX_SERIES {
                return Err(format!(
                    "antigen {name} has {} series; at most {MAX_SERIES} are supported",
                    data.series.len()
                ));
            }
            plan_antigens.push(b.antigen(data));
        }
        let plan_groups = groups
            .iter()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| antigen_index.get(n.as_str()).copied())
                    .collect()
            })
            .collect();
        let max_cvx = cvx_map
            .iter()
            .map(|(c, _)| c.0)
            .chain(conflicts.iter().filter_map(|c| c.previous.cvx.map(|x| x.0)))
            .chain(conflicts.iter().filter_map(|c| c.current.cvx.map(|x| x.0)))
            .max()
            .unwrap_or(0);
        let mut cvx_index = vec![u16::MAX; usize::from(max_cvx) + 1];
        let mut cvx: Vec<CvxPlan> = Vec::new();
        let mut slot = |code: u16, cvx: &mut Vec<CvxPlan>| -> usize {
            let i = usize::from(code);
            if cvx_index[i] == u16::MAX {
                cvx_index[i] = cvx.len() as u16;
                cvx.push(CvxPlan::default());
            }
            usize::from(cvx_index[i])
        };
        for (code, associations) in cvx_map {
            let i = slot(code.0, &mut cvx);
            cvx[i].antigens = associations
                .iter()
                .filter_map(|a| {
                    Some(Assoc {
                        antigen: *antigen_index.get(a.antigen.as_deref()?)?,
                        begin: b.age(a.association_begin_age),
                        end: b.age(a.association_end_age),
                    })
                })
                .collect();
        }
        for c in conflicts {
            let (Some(previous), Some(current)) = (c.previous.cvx, c.current.cvx) else {
                continue;
            };
            let conflict = Conflict {
                current: current.0,
                begin: c.conflict_begin_interval.unwrap_or(Span::ZERO),
                min_end: c.min_conflict_end_interval,
                end: c.conflict_end_interval,
            };
            let p = slot(previous.0, &mut cvx);
            // A pair listed twice: the later entry wins.
            cvx[p]
                .conflicts_as_previous
                .retain(|x| x.current != current.0);
            cvx[p].conflicts_as_previous.push(conflict);
            let n = slot(current.0, &mut cvx);
            cvx[n].impacted = true;
        }
        let impacted = |code: u16| {
            cvx_index
                .get(usize::from(code))
                .and_then(|&i| cvx.get(usize::from(i)))
                .is_some_and(|c: &CvxPlan| c.impacted)
        };
        for dose in plan_antigens
            .iter_mut()
            .flat_map(|a: &mut AntigenPlan| a.series.iter_mut())
            .flat_map(|s| s.doses.iter_mut())
        {
            dose.preferable_impacted = dose.preferable.iter().any(|v| impacted(v.cvx));
        }
        let same_as = (0..plan_antigens.len())
            .map(|a| {
                (0..a).find_map(|b| {
                    let differ = allowable_difference(&plan_antigens[b], &plan_antigens[a])?;
                    Some((b as u16, differ))
                })
            })
            .collect();
        Ok(Plan {
            same_as,
            antigens: plan_antigens,
            groups: plan_groups,
            cvx_index,
            cvx,
            ages: b.ages,
            obs: b.obs,
        })
    }
}

/// When two antigens have the same rules except for the allowable vaccines of their target
/// doses, the vaccines (CVX) whose allowable entries differ; `None` when other rules differ.
fn allowable_difference(a: &AntigenPlan, b: &AntigenPlan) -> Option<Vec<u16>> {
    let same_frame = a.immunity == b.immunity
        && a.birth_immunity == b.birth_immunity
        && a.ci_antigen == b.ci_antigen
        && a.ci_vaccine == b.ci_vaccine
        && a.uses_completed_series == b.uses_completed_series
        && a.series.len() == b.series.len();
    if !same_frame {
        return None;
    }
    let mut differ = Vec::new();
    for (x, y) in a.series.iter().zip(&b.series) {
        let same_series = x.kind == y.kind
            && x.group == y.group
            && x.equivalent == y.equivalent
            && x.priority == y.priority
            && x.preference == y.preference
            && x.default == y.default
            && x.product == y.product
            && x.min_start == y.min_start
            && x.max_start == y.max_start
            && x.genders == y.genders
            && x.indications == y.indications
            && x.preferable_all == y.preferable_all
            && x.uses_completed_series == y.uses_completed_series
            && x.doses.len() == y.doses.len();
        if !same_series {
            return None;
        }
        for (d, e) in x.doses.iter().zip(&y.doses) {
            let same_dose = d.number == e.number
                && d.ages == e.ages
                && d.intervals == e.intervals
                && d.allowable_intervals == e.allowable_intervals
                && d.preferable == e.preferable
                && d.inadvertent == e.inadvertent
                && d.skips == e.skips
                && d.recurring == e.recurring
                && d.season == e.season
                && d.preferable_impacted == e.preferable_impacted;
            if !same_dose {
                return None;
            }
            for v in d.allowable.iter().chain(&e.allowable) {
                let entries = |list: &[Vac]| -> Vec<Vac> {
                    list.iter().copied().filter(|w| w.cvx == v.cvx).collect()
                };
                if entries(&d.allowable) != entries(&e.allowable) && !differ.contains(&v.cvx) {
                    differ.push(v.cvx);
                }
            }
        }
    }
    Some(differ)
}

#[cfg(test)]
mod tests;
