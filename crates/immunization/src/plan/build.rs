//! Compiling the typed supporting data into the plan: interning ages and observation codes,
//! turning each antigen's series, doses and rules into their compact forms.
use super::*;

#[derive(Default)]
pub(super) struct Builder {
    pub(super) ages: Vec<Span>,
    pub(super) obs: HashMap<String, ObsId>,
}

fn day(date: Option<time::Date>) -> Option<Day> {
    date.map(Day::from_date)
}

fn cvx_of(v: &VaccineRef) -> Option<u16> {
    v.cvx.map(|c| c.0)
}

impl Builder {
    pub(super) fn age(&mut self, span: Option<Span>) -> Option<AgeId> {
        let span = span?;
        let index = match self.ages.iter().position(|s| *s == span) {
            Some(i) => i,
            None => {
                self.ages.push(span);
                self.ages.len() - 1
            }
        };
        Some(AgeId(index as u16))
    }

    pub(super) fn obs(&mut self, code: &str) -> ObsId {
        let next = self.obs.len() as ObsId;
        *self.obs.entry(code.to_owned()).or_insert(next)
    }

    pub(super) fn vac(&mut self, v: &VaccineRef) -> Option<Vac> {
        Some(Vac {
            cvx: cvx_of(v)?,
            begin: self.age(v.begin_age),
            end: self.age(v.end_age),
            forecast: v.forecast_vaccine_type,
        })
    }

    pub(super) fn antigen(&mut self, data: &AntigenData) -> AntigenPlan {
        let immunity = data
            .immunity
            .clinical_history
            .iter()
            .filter_map(|c| c.guideline_code.as_deref())
            .map(|c| self.obs(c))
            .collect();
        let birth_immunity = data
            .immunity
            .date_of_birth
            .iter()
            .filter_map(|b| {
                let date = Day::from_date(b.immunity_birth_date?);
                let exclusions = b
                    .exclusion
                    .iter()
                    .filter_map(|e| e.exclusion_code.as_deref())
                    .map(|c| self.obs(c))
                    .collect();
                Some((date, exclusions))
            })
            .collect();
        let ci = &data.contraindications;
        let ci_antigen = ci
            .vaccine_group
            .contraindication
            .iter()
            .filter_map(|c| {
                Some(AgedObs {
                    obs: self.obs(c.observation_code.as_deref()?),
                    begin: self.age(c.begin_age),
                    end: self.age(c.end_age),
                })
            })
            .collect();
        let ci_vaccine = ci
            .vaccine
            .contraindication
            .iter()
            .filter_map(|c| {
                let obs = self.obs(c.observation_code.as_deref()?);
                let vaccines = c
                    .contraindicated_vaccine
                    .iter()
                    .filter_map(|v| self.vac(v))
                    .collect();
                Some(VaccineCi { obs, vaccines })
            })
            .collect();
        let series: Vec<SeriesPlan> = data.series.iter().map(|s| self.series(s)).collect();
        let uses_completed_series = series.iter().any(|s| s.uses_completed_series);
        let mut by_group: Vec<u16> = (0..series.len() as u16).collect();
        by_group.sort_by_key(|&i| series[usize::from(i)].group);
        AntigenPlan {
            by_group,
            series,
            immunity,
            birth_immunity,
            ci_antigen,
            ci_vaccine,
            uses_completed_series,
        }
    }

    pub(super) fn series(&mut self, s: &Series) -> SeriesPlan {
        let kind = match s.series_type.as_deref().unwrap_or("Standard") {
            "Risk" => SeriesKind::Risk,
            "Evaluation Only" => SeriesKind::EvaluationOnly,
            _ => SeriesKind::Standard,
        };
        let select = &s.select_series;
        let mut genders = 0;
        for g in &s.required_gender {
            genders |= match g.to_ascii_lowercase().as_str() {
                "female" => 1,
                "male" => 2,
                "unknown" => 4,
                _ => 0,
            };
        }
        if genders == 0 && !s.required_gender.is_empty() {
            // Only genders the engine does not know: no patient matches.
            genders = 8;
        }
        let indications = s
            .indication
            .iter()
            .filter_map(|i| {
                Some(AgedObs {
                    obs: self.obs(i.observation_code.code.as_deref()?),
                    begin: self.age(i.begin_age),
                    end: self.age(i.end_age),
                })
            })
            .collect();
        let doses: Vec<DosePlan> = s.series_dose.iter().map(|d| self.dose(d)).collect();
        let mut preferable_all: Vec<u16> = doses
            .iter()
            .flat_map(|d| d.preferable.iter().map(|v| v.cvx))
            .collect();
        preferable_all.sort_unstable();
        preferable_all.dedup();
        let uses_completed_series = doses.iter().any(|d| {
            d.skips.iter().flat_map(|k| &k.sets).any(|set| {
                set.conditions
                    .iter()
                    .any(|c| matches!(c.kind, CondKind::CompletedSeries(_)))
            })
        });
        SeriesPlan {
            kind,
            group: select.series_group.unwrap_or(0),
            equivalent: s.equivalent_series_groups,
            priority: select
                .series_priority
                .as_deref()
                .and_then(|p| p.bytes().next())
                .unwrap_or(b'Z'),
            preference: select.series_preference.unwrap_or(u32::MAX),
            default: select.default_series,
            product: select.product_path,
            min_start: self.age(select.min_age_to_start),
            max_start: self.age(select.max_age_to_start),
            genders,
            indications,
            doses,
            preferable_all,
            uses_completed_series,
        }
    }

    pub(super) fn dose(&mut self, d: &SeriesDose) -> DosePlan {
        DosePlan {
            number: d.dose_number,
            ages: d.age.iter().map(|a| self.age_rule(a)).collect(),
            intervals: d.interval.iter().map(|i| self.interval(i)).collect(),
            allowable_intervals: d
                .allowable_interval
                .iter()
                .map(|i| self.interval(i))
                .collect(),
            preferable: d
                .preferable_vaccine
                .iter()
                .filter_map(|v| self.vac(v))
                .collect(),
            allowable: d
                .allowable_vaccine
                .iter()
                .filter_map(|v| self.vac(v))
                .collect(),
            inadvertent: d.inadvertent_vaccine.iter().filter_map(cvx_of).collect(),
            skips: d.conditional_skip.iter().map(|c| self.skip(c)).collect(),
            recurring: d.recurring_dose,
            season: d
                .seasonal_recommendation
                .as_ref()
                .map(|s| (day(s.start_date), day(s.end_date))),
            // Filled in once the conflicts are known (`Plan::build`).
            preferable_impacted: false,
        }
    }

    pub(super) fn age_rule(&mut self, a: &AgeRule) -> AgePlan {
        AgePlan {
            abs_min: self.age(a.abs_min_age),
            min: self.age(a.min_age),
            earliest_rec: self.age(a.earliest_rec_age),
            latest_rec: self.age(a.latest_rec_age),
            max: self.age(a.max_age),
            effective: day(a.effective_date),
            cessation: day(a.cessation_date),
        }
    }

    pub(super) fn interval(&mut self, i: &IntervalRule) -> IntervalPlan {
        let from = if i.from_previous {
            IntervalFrom::Previous
        } else if let Some(n) = i.from_target_dose {
            IntervalFrom::TargetDose(n)
        } else if !i.from_most_recent.is_empty() {
            IntervalFrom::MostRecent(i.from_most_recent.iter().map(|c| c.0).collect())
        } else {
            IntervalFrom::Observation(i.from_relevant_obs.code.as_deref().map(|c| self.obs(c)))
        };
        IntervalPlan {
            from,
            abs_min: i.abs_min_int,
            min: i.min_int,
            earliest_rec: i.earliest_rec_int,
            latest_rec: i.latest_rec_int,
            priority: i
                .interval_priority
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("override") || p.eq_ignore_ascii_case("y")),
            effective: day(i.effective_date),
            cessation: day(i.cessation_date),
        }
    }

    pub(super) fn skip(&mut self, c: &ConditionalSkip) -> SkipPlan {
        let when = match c.context.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("both") => SkipWhen::Both,
            Some("evaluation") => SkipWhen::Evaluation,
            Some("forecast") => SkipWhen::Forecast,
            _ => SkipWhen::Never,
        };
        let sets = c
            .set
            .iter()
            .map(|set| SetPlan {
                effective: day(set.effective_date),
                cessation: day(set.cessation_date),
                any: set
                    .condition_logic
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case("or")),
                conditions: set
                    .condition
                    .iter()
                    .map(|x| {
                        let kind = x
                            .condition_type
                            .as_deref()
                            .unwrap_or_default()
                            .to_ascii_lowercase();
                        let kind = match kind.as_str() {
                            "age" => CondKind::Age,
                            "interval" => CondKind::Interval(x.interval),
                            "completed series" => CondKind::CompletedSeries(
                                x.series_groups
                                    .as_deref()
                                    .unwrap_or_default()
                                    .split(';')
                                    .filter_map(|g| g.trim().parse().ok())
                                    .collect(),
                            ),
                            k if k.starts_with("vaccine count") => CondKind::Count {
                                valid_only: x
                                    .dose_type
                                    .as_deref()
                                    .is_some_and(|t| t.eq_ignore_ascii_case("valid")),
                                types: x.vaccine_types.iter().map(|c| c.0).collect(),
                                count: x.dose_count.unwrap_or(0),
                                logic: match x
                                    .dose_count_logic
                                    .as_deref()
                                    .unwrap_or_default()
                                    .to_ascii_lowercase()
                                    .as_str()
                                {
                                    "greater than" => CountLogic::Greater,
                                    "equal to" => CountLogic::Equal,
                                    "less than" => CountLogic::Less,
                                    _ => CountLogic::Never,
                                },
                            },
                            _ => CondKind::Unknown,
                        };
                        CondPlan {
                            kind,
                            begin: self.age(x.begin_age),
                            end: self.age(x.end_age),
                            start: day(x.start_date),
                            end_date: day(x.end_date),
                        }
                    })
                    .collect(),
                description: set.set_description.clone(),
            })
            .collect();
        SkipPlan {
            when,
            all_sets: c
                .set_logic
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("and")),
            sets,
        }
    }
}
