//! Conditional skip (section 6.2, used again by forecasting in 7.1 and 7.6): when a target dose
//! need not be given, from the patient's age, the doses already given or completed series.

use time::Date;

use crate::evaluate::{Ctx, EvalStatus, SeriesState};
use crate::model::{in_effect, ConditionalSkip, SeriesDose, SkipCondition};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipContext {
    Evaluation,
    Forecast,
}

impl SeriesState<'_> {
    /// Section 6.2 (and 7.1, 7.6): can the target dose be skipped given `reference`?
    /// `upto` is the number of records that count as already administered.
    pub fn can_skip(
        &self,
        ctx: &Ctx<'_>,
        sd: &SeriesDose,
        context: SkipContext,
        reference: Date,
        upto: usize,
    ) -> bool {
        sd.conditional_skip
            .iter()
            .any(|skip| self.skip_applies(ctx, skip, context, reference, upto))
    }

    fn skip_applies(
        &self,
        ctx: &Ctx<'_>,
        skip: &ConditionalSkip,
        context: SkipContext,
        reference: Date,
        upto: usize,
    ) -> bool {
        let wanted = match skip
            .context
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("both") => true,
            Some("evaluation") => context == SkipContext::Evaluation,
            Some("forecast") => context == SkipContext::Forecast,
            _ => false,
        };
        if !wanted {
            return false;
        }
        // Sets apply when in effect on the reference date (RELEVANT-1/2).
        let results: Vec<bool> = skip
            .set
            .iter()
            .filter(|s| in_effect(s.effective_date, s.cessation_date, reference))
            .map(|set| {
                let met = set
                    .condition
                    .iter()
                    .map(|c| self.condition_met(ctx, c, reference, upto));
                if set
                    .condition_logic
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case("or"))
                {
                    met.into_iter().any(|b| b)
                } else {
                    let mut any = false;
                    let mut all = true;
                    for m in met {
                        any = true;
                        all &= m;
                    }
                    any && all
                }
            })
            .collect();
        if results.is_empty() {
            return false;
        }
        if skip
            .set_logic
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("and"))
        {
            results.iter().all(|&m| m)
        } else {
            results.iter().any(|&m| m)
        }
    }

    fn condition_met(
        &self,
        ctx: &Ctx<'_>,
        c: &SkipCondition,
        reference: Date,
        upto: usize,
    ) -> bool {
        let kind = c
            .condition_type
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let begin_age = ctx.age_date(c.begin_age);
        let end_age = ctx.age_date(c.end_age);
        match kind.as_str() {
            "age" => {
                begin_age.is_none_or(|b| reference >= b) && end_age.is_none_or(|e| reference < e)
            }
            "interval" => {
                let Some(prev) = upto.checked_sub(1).and_then(|i| self.records.get(i)) else {
                    return false;
                };
                c.interval
                    .is_some_and(|iv| reference >= iv.after(prev.date))
            }
            "completed series" => c
                .series_groups
                .as_deref()
                .unwrap_or_default()
                .split(';')
                .filter_map(|g| g.trim().parse::<u32>().ok())
                .any(|g| ctx.complete_groups.contains(&g)),
            _ if kind.starts_with("vaccine count") => {
                let valid_only = c
                    .dose_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("valid"));
                let in_window = |date: Date| {
                    begin_age.is_none_or(|b| date >= b)
                        && end_age.is_none_or(|e| date < e)
                        && c.start_date.is_none_or(|s| date >= s)
                        && c.end_date.is_none_or(|e| date < e)
                };
                if !valid_only && !c.vaccine_types.is_empty() {
                    // A total count looks at the whole history (a DT dose counts for pertussis rules).
                    let before = self.records.get(upto).map(|r| r.date);
                    let total = ctx
                        .patient
                        .doses
                        .iter()
                        .filter(|d| before.is_none_or(|b| d.date < b) && d.date <= ctx.assessment)
                        .filter(|d| c.vaccine_types.contains(&d.cvx) && in_window(d.date))
                        .count();
                    return compare_count(total, c);
                }
                let count = self.records[..upto]
                    .iter()
                    .zip(&self.evals)
                    .filter(|(rec, eval)| {
                        (c.vaccine_types.is_empty() || c.vaccine_types.contains(&rec.cvx))
                            && in_window(rec.date)
                            && (!valid_only || eval.status == EvalStatus::Valid)
                    })
                    .count();
                compare_count(count, c)
            }
            _ => false,
        }
    }
}

/// Table 6-9: the dose count compared with the condition's count and logic.
fn compare_count(count: usize, c: &SkipCondition) -> bool {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let wanted = c.dose_count.unwrap_or(0);
    match c
        .dose_count_logic
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "greater than" => count > wanted,
        "equal to" => count == wanted,
        "less than" => count < wanted,
        _ => false,
    }
}
