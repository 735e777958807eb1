//! Conditional skip (section 6.2, used again by forecasting in 7.1 and 7.6): when a target dose
//! need not be given, from the patient's age, the doses already given or completed series.

use crate::evaluate::{AntigenDose, Ctx, EvalStatus, SeriesRun};
use crate::plan::{
    in_effect, CondKind, CondPlan, CountLogic, DosePlan, SetPlan, SkipPlan, SkipWhen,
};
use crate::span::Day;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipContext {
    Evaluation,
    Forecast,
}

impl SkipWhen {
    fn applies(self, context: SkipContext) -> bool {
        match self {
            SkipWhen::Both => true,
            SkipWhen::Evaluation => context == SkipContext::Evaluation,
            SkipWhen::Forecast => context == SkipContext::Forecast,
            SkipWhen::Never => false,
        }
    }
}

impl SeriesRun {
    /// Section 6.2 (and 7.1, 7.6): can the target dose be skipped given `reference`?
    /// `upto` is the number of records that count as already administered.
    #[inline]
    pub fn can_skip(
        &self,
        ctx: &Ctx<'_>,
        sd: &DosePlan,
        context: SkipContext,
        reference: Day,
        records: &[AntigenDose],
        upto: usize,
    ) -> bool {
        !sd.skips.is_empty()
            && self
                .skip_set_met(ctx, sd, context, reference, records, upto)
                .is_some()
    }

    /// The skip set that makes the target dose skippable (for explanations), if any; with set
    /// logic AND, the first of the sets (all of them hold).
    pub fn skip_set_met<'p>(
        &self,
        ctx: &Ctx<'_>,
        sd: &'p DosePlan,
        context: SkipContext,
        reference: Day,
        records: &[AntigenDose],
        upto: usize,
    ) -> Option<&'p SetPlan> {
        sd.skips
            .iter()
            .filter(|skip| skip.when.applies(context))
            .find_map(|skip| self.skip_applies(ctx, skip, reference, records, upto))
    }

    fn skip_applies<'p>(
        &self,
        ctx: &Ctx<'_>,
        skip: &'p SkipPlan,
        reference: Day,
        records: &[AntigenDose],
        upto: usize,
    ) -> Option<&'p SetPlan> {
        // Sets apply when in effect on the reference date (RELEVANT-1/2).
        let mut sets = skip
            .sets
            .iter()
            .filter(|s| in_effect(s.effective, s.cessation, reference))
            .peekable();
        sets.peek()?;
        let met = |set: &SetPlan| {
            let mut conditions = set.conditions.iter();
            if set.any {
                conditions.any(|c| self.condition_met(ctx, c, reference, records, upto))
            } else {
                !set.conditions.is_empty()
                    && conditions.all(|c| self.condition_met(ctx, c, reference, records, upto))
            }
        };
        if skip.all_sets {
            let mut first = None;
            for set in sets {
                if !met(set) {
                    return None;
                }
                first.get_or_insert(set);
            }
            first
        } else {
            sets.find(|set| met(set))
        }
    }

    fn condition_met(
        &self,
        ctx: &Ctx<'_>,
        c: &CondPlan,
        reference: Day,
        records: &[AntigenDose],
        upto: usize,
    ) -> bool {
        match &c.kind {
            CondKind::Age => ctx.in_ages(c.begin, c.end, reference),
            CondKind::Interval(interval) => {
                let Some(prev) = upto.checked_sub(1).and_then(|i| records.get(i)) else {
                    return false;
                };
                interval.is_some_and(|iv| reference >= iv.from_day(prev.day))
            }
            CondKind::CompletedSeries(groups) => {
                groups.iter().any(|g| ctx.complete_groups.contains(g))
            }
            CondKind::Count {
                valid_only,
                types,
                count,
                logic,
            } => {
                let in_window = |day: Day| {
                    ctx.in_ages(c.begin, c.end, day)
                        && c.start.is_none_or(|s| day >= s)
                        && c.end_date.is_none_or(|e| day < e)
                };
                if !valid_only && !types.is_empty() {
                    // A total count looks at the whole history (a DT dose counts for pertussis rules).
                    let before = records
                        .get(upto)
                        .map_or(ctx.assessment.plus_days(1), |r| r.day);
                    let total = ctx
                        .doses
                        .iter()
                        .take_while(|d| d.day < before && d.day <= ctx.assessment)
                        .filter(|d| types.contains(&d.cvx) && in_window(d.day))
                        .count();
                    return compare_count(total, *count, *logic);
                }
                let n = records[..upto]
                    .iter()
                    .zip(&self.evals)
                    .filter(|(rec, eval)| {
                        (types.is_empty() || types.contains(&rec.cvx))
                            && in_window(rec.day)
                            && (!valid_only || eval.status == EvalStatus::Valid)
                    })
                    .count();
                compare_count(n, *count, *logic)
            }
            CondKind::Unknown => false,
        }
    }
}

/// Table 6-9: the dose count compared with the condition's count and logic.
fn compare_count(count: usize, wanted: u32, logic: CountLogic) -> bool {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    match logic {
        CountLogic::Greater => count > wanted,
        CountLogic::Equal => count == wanted,
        CountLogic::Less => count < wanted,
        CountLogic::Never => false,
    }
}
