//! Messages of a run: target doses, the forecast's dates, series selection and verdicts.
use super::*;

/// What satisfied, skipped or still waits for each target dose of a run.
pub(super) fn target_doses(
    w: &Writer<'_, '_>,
    run: &SeriesRun,
    plan: &SeriesPlan,
    records: &[AntigenDose],
) -> Vec<Message> {
    let mut out = Vec::with_capacity(run.targets.len());
    for (t, target) in run.targets.iter().enumerate() {
        let sd = run.dose(plan, t);
        let number = sd.number.to_string();
        out.push(match target.status {
            TargetStatus::Satisfied(r) => {
                let rec = records[usize::from(r)];
                Message::new(
                    "target.satisfied",
                    &[
                        ("dose_number", number.clone()),
                        ("date", date(rec.day)),
                        ("cvx", Cvx(rec.cvx).to_string()),
                    ],
                    format!(
                        "Target dose {number}: satisfied by {} on {}.",
                        w.vaccine(rec.cvx),
                        date(rec.day)
                    ),
                )
            }
            TargetStatus::Skipped => {
                let context = if target.skipped_in_forecast {
                    SkipContext::Forecast
                } else {
                    SkipContext::Evaluation
                };
                let set = run.skip_set_met(
                    w.ctx,
                    sd,
                    context,
                    target.skipped_on,
                    records,
                    usize::from(target.skipped_upto),
                );
                let reason = set
                    .and_then(|s| s.description.clone())
                    .unwrap_or_else(|| "a conditional skip applies".into());
                Message::new(
                    "target.skipped",
                    &[
                        ("dose_number", number.clone()),
                        ("date", date(target.skipped_on)),
                        (
                            "context",
                            if target.skipped_in_forecast {
                                "forecast"
                            } else {
                                "evaluation"
                            }
                            .into(),
                        ),
                        ("reason", reason.clone()),
                    ],
                    format!(
                        "Target dose {number}: skipped (as of {}): {reason}",
                        date(target.skipped_on)
                    ),
                )
            }
            TargetStatus::NotSatisfied => Message::new(
                "target.not_satisfied",
                &[("dose_number", number.clone())],
                format!("Target dose {number}: not yet satisfied."),
            ),
        });
    }
    out
}

/// The status of a run's forecast and where its dates come from.
pub(super) fn forecast_messages(
    w: &Writer<'_, '_>,
    antigen: &AntigenPlan,
    run: &SeriesRun,
    plan: &SeriesPlan,
    records: &[AntigenDose],
) -> Vec<Message> {
    let f = &run.forecast;
    let ctx = w.ctx;
    let observation = |obs: crate::plan::ObsId| w.plan.observation_code(obs).unwrap_or_default();
    let mut out = Vec::new();
    let simple = |code: &'static str, text: &str| Message::new(code, &[], text.to_owned());
    match f.why {
        ForecastWhy::AllSatisfied => out.push(simple(
            "forecast.complete",
            "Complete: every target dose is satisfied or skipped.",
        )),
        ForecastWhy::AllSkipped => out.push(simple(
            "forecast.not_recommended.all_skipped",
            "Not recommended: every remaining target dose is skipped and none was satisfied.",
        )),
        ForecastWhy::Immune => out.push(simple(
            "forecast.immune",
            "Immune: the patient has evidence of immunity (clinical history or birth date).",
        )),
        ForecastWhy::ContraindicatedAntigen => {
            let code = antigen
                .ci_antigen
                .iter()
                .find(|c| ctx.has_observation(c.obs))
                .map(|c| observation(c.obs))
                .unwrap_or_default();
            out.push(Message::new(
                "forecast.contraindicated.antigen",
                &[("observation", code.to_owned())],
                format!("Contraindicated: observation {code} rules out every vaccine of this antigen."),
            ));
        }
        ForecastWhy::ContraindicatedVaccines => out.push(simple(
            "forecast.contraindicated.vaccines",
            "Contraindicated: the patient's observations rule out every preferable vaccine of the series.",
        )),
        ForecastWhy::PastSeason => out.push(simple(
            "forecast.not_recommended.past_season",
            "Not recommended: the season of the next dose has ended.",
        )),
        ForecastWhy::PastMaxAge | ForecastWhy::CannotFinish => {
            let t = run
                .targets
                .iter()
                .position(|x| x.status == TargetStatus::NotSatisfied);
            let max = t
                .and_then(|t| run.dose(plan, t).age(ctx.assessment))
                .and_then(|a| ctx.age_opt(a.max));
            let max_text = max.map(date).unwrap_or_else(|| Day::NEVER.to_date().to_string());
            out.push(if f.why == ForecastWhy::PastMaxAge {
                Message::new(
                    "forecast.aged_out.max_age",
                    &[("max_age_date", max_text.clone())],
                    format!("Aged out: the patient reached the maximum age of the next dose on {max_text}."),
                )
            } else {
                Message::new(
                    "forecast.aged_out.cannot_finish",
                    &[("max_age_date", max_text.clone())],
                    format!("Aged out: the next dose could not be given before the maximum age date {max_text} (or no date can be found for it)."),
                )
            });
        }
        _ => {
            if let Some(t) = f.target {
                let sd = run.dose(plan, t);
                let mut events = Events::default();
                let _ = run.dates(ctx, plan, records, t, sd, &mut events);
                let earliest = f.earliest;
                for e in &events.0 {
                    match e {
                        Owned::Earliest {
                            by,
                            date: d,
                            interval,
                            reference,
                            previous,
                        } => out.push(earliest_message(w, *by, *d, interval.as_ref(), *reference, *previous, Some(*d) == earliest)),
                        Owned::DueDates {
                            recommended_by_age,
                            past_due_by_age,
                        } => {
                            let source = |by_age: Option<bool>| match by_age {
                                Some(true) => "age",
                                Some(false) => "interval",
                                None => "none",
                            };
                            out.push(Message::new(
                                "forecast.dates",
                                &[
                                    ("dose_number", sd.number.to_string()),
                                    ("earliest", earliest.map(date).unwrap_or_default()),
                                    ("recommended", f.recommended.map(date).unwrap_or_default()),
                                    ("past_due", f.past_due.map(date).unwrap_or_default()),
                                    ("recommended_from", source(*recommended_by_age).into()),
                                    ("past_due_from", source(*past_due_by_age).into()),
                                ],
                                format!(
                                    "Target dose {}: earliest {}, recommended {} (from the {}), {}.",
                                    sd.number,
                                    earliest.map(date).unwrap_or_default(),
                                    f.recommended.map(date).unwrap_or_default(),
                                    match recommended_by_age {
                                        Some(true) => "recommended age",
                                        Some(false) => "recommended interval",
                                        None => "earliest date",
                                    },
                                    match (f.past_due, past_due_by_age) {
                                        (Some(d), Some(true)) => format!("past due after {} (from the latest recommended age)", date(d)),
                                        (Some(d), _) => format!("past due after {} (from the latest recommended interval)", date(d)),
                                        (None, _) => "no past-due date".to_owned(),
                                    },
                                ),
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

pub(super) fn earliest_message(
    w: &Writer<'_, '_>,
    by: ForecastWhy,
    d: Day,
    interval: Option<&IntervalText>,
    reference: Option<Day>,
    previous: Option<(u16, Day)>,
    decides: bool,
) -> Message {
    let (what, text) = match by {
        ForecastWhy::EarliestMinAge => ("min_age", "the minimum age".to_owned()),
        ForecastWhy::EarliestInterval => {
            let (code, from) = interval
                .map(|i| w.reference_text(&i.from))
                .unwrap_or_default();
            let span = interval
                .and_then(|i| i.min)
                .map(span_text)
                .unwrap_or_default();
            (
                "interval",
                format!(
                    "the minimum interval of {span} from {from} ({}) [{code}]",
                    reference.map(date).unwrap_or_default()
                ),
            )
        }
        ForecastWhy::EarliestConflict => (
            "live_virus_conflict",
            match previous {
                Some((cvx, day)) => format!(
                    "the live virus conflict with {} given on {}",
                    w.vaccine(cvx),
                    date(day)
                ),
                None => "a live virus conflict".into(),
            },
        ),
        ForecastWhy::EarliestSeason => ("season_start", "the start of the season".into()),
        ForecastWhy::EarliestLastDose => (
            "last_dose",
            "the date of the last dose evaluated in the series".into(),
        ),
        ForecastWhy::EarliestMinAgeToStart => (
            "min_age_to_start",
            "the minimum age to start the series".into(),
        ),
        _ => ("other", "another rule".into()),
    };
    let params = [
        ("component", what.to_owned()),
        ("date", date(d)),
        ("decides", decides.to_string()),
    ];
    let text = if decides {
        format!("Earliest date {} comes from {text}.", date(d))
    } else {
        format!("Also considered: {text}, {}.", date(d))
    };
    Message::new("forecast.earliest_component", &params, text)
}

/// Chapters 5 and 8 for every series of the antigen, in series group order.
pub(super) fn selection<'s>(
    w: &Writer<'_, 's>,
    a: u16,
    antigen: &AntigenPlan,
    runs: &[SeriesRun],
    outcome: Option<&crate::engine::AntigenOutcome>,
) -> Vec<SeriesExplanation<'s>> {
    let ctx = w.ctx;
    let mut out = Vec::with_capacity(antigen.series.len());
    for &s in &antigen.by_group {
        let plan = &antigen.series[usize::from(s)];
        let name = series_name(w.schedule, a, s);
        let run = runs.iter().position(|r| r.series == s);
        let verdict = match (run, outcome) {
            (Some(i), Some(o)) => run_verdict(&runs[i], o, i),
            _ => not_relevant(ctx, plan),
        };
        out.push(SeriesExplanation {
            series: name,
            series_type: kind_code(plan.kind),
            series_group: plan.group,
            relevant: run.is_some(),
            status: run.map(|i| runs[i].forecast.status.code()),
            valid_doses: run.map(|i| runs[i].valid_doses()),
            best: run
                .zip(outcome)
                .is_some_and(|(i, o)| o.best & (1 << i) != 0),
            chosen: run.zip(outcome).is_some_and(|(i, o)| o.chosen == i),
            verdict,
        });
    }
    out
}

pub(super) fn not_relevant(ctx: &Ctx<'_>, plan: &SeriesPlan) -> Message {
    if !ctx.gender_matches(plan.genders) {
        return Message::new(
            "series.not_relevant.gender",
            &[],
            "Not relevant: the series is for another gender.".into(),
        );
    }
    if plan.kind == SeriesKind::Risk {
        let has = plan.indications.iter().any(|i| ctx.has_observation(i.obs));
        if has && !is_relevant(ctx, plan, false) {
            return Message::new(
                "series.not_relevant.indication_age",
                &[],
                "Not relevant: the patient has an indication of this risk series, but not at this age.".into(),
            );
        }
        return Message::new(
            "series.not_relevant.no_indication",
            &[],
            "Not relevant: a risk series, and none of its indications is among the patient's observations.".into(),
        );
    }
    Message::new(
        "series.not_relevant",
        &[],
        "Not relevant for this patient.".into(),
    )
}

pub(super) fn run_verdict(
    run: &SeriesRun,
    outcome: &crate::engine::AntigenOutcome,
    i: usize,
) -> Message {
    let best = outcome.best & (1 << i) != 0;
    if outcome.chosen == i {
        let how = match run.selection {
            Selection::Prioritized(PrioritizedBy::OnlyScorable) => {
                "it is the only scorable series of its group"
            }
            Selection::Prioritized(PrioritizedBy::OnlyDefault) => {
                "no series of its group is scorable and it is the default series"
            }
            Selection::Prioritized(PrioritizedBy::OnlyComplete) => {
                "it is the only complete series of its group"
            }
            Selection::Prioritized(PrioritizedBy::OnlyInProcess) => {
                "it is the only series of its group in process"
            }
            Selection::Prioritized(PrioritizedBy::Default) => {
                "no series of its group has a valid dose and it is the default series"
            }
            Selection::PrioritizedByScore(_) => "it has the highest score of its group (chapter 8)",
            _ => "it was selected",
        };
        let mut params = vec![("how", selection_code(run.selection).to_owned())];
        if let Selection::PrioritizedByScore(score) = run.selection {
            params.push(("score", score.to_string()));
        }
        let more = if outcome.best.count_ones() > 1 {
            " Of the best series it is the one that drives the forecast (a risk series that needs a dose first, then the one due soonest, then the most settled status)."
        } else {
            ""
        };
        return Message::new("series.chosen", &params, format!("Chosen: {how}.{more}"));
    }
    if best {
        return Message::new(
            "series.best_not_driving",
            &[],
            "A best series too, but another best series drives the forecast (its valid doses are still reported).".into(),
        );
    }
    match run.not_best {
        NotBest::EquivalentComplete => {
            return Message::new(
                "series.not_best.equivalent_complete",
                &[],
                "Prioritized in its group, but a series of an equivalent group is complete (table 8-14).".into(),
            )
        }
        NotBest::EquivalentRisk => {
            return Message::new(
                "series.not_best.equivalent_risk",
                &[],
                "Prioritized in its group, but a risk series of an equivalent group takes precedence (table 8-14).".into(),
            )
        }
        NotBest::EvaluationOnly => {
            return Message::new(
                "series.not_best.evaluation_only",
                &[],
                "An evaluation-only series that is not complete (table 8-14).".into(),
            )
        }
        NotBest::No => {}
    }
    let (code, text): (&'static str, String) = match run.selection {
        Selection::NotCandidate => (
            "series.not_candidate",
            "Contraindicated while another series of its group is not (SELECTB-24).".into(),
        ),
        Selection::LowerPriority => (
            "series.lower_priority",
            "A risk series of lower priority than another series of its group (SELECTSCORE-2).".into(),
        ),
        Selection::NotStarted => (
            "series.not_started",
            "No valid dose (or started after its maximum age to start) while another series of its group has valid doses or is the default (SELECTSCORE-2).".into(),
        ),
        Selection::EvaluationOnly => (
            "series.evaluation_only",
            "An evaluation-only series that is not complete is not scored.".into(),
        ),
        Selection::Scored { score, best } => (
            "series.scored_lower",
            format!("Scored {score} against {best} for the prioritized series of its group (chapter 8)."),
        ),
        Selection::NotChosen | Selection::Pending => (
            "series.not_chosen",
            "Scorable, but another series of its group was prioritized without scoring (complete, in process or default; table 8-3).".into(),
        ),
        Selection::Prioritized(_) | Selection::PrioritizedByScore(_) => (
            "series.prioritized_not_best",
            "Prioritized in its group but not a best series.".into(),
        ),
    };
    let mut params = Vec::new();
    if let Selection::Scored { score, best } = run.selection {
        params.push(("score", score.to_string()));
        params.push(("best_score", best.to_string()));
    }
    Message::new(code, &params, text)
}

pub(super) fn selection_code(s: Selection) -> &'static str {
    match s {
        Selection::Prioritized(PrioritizedBy::OnlyScorable) => "only_scorable",
        Selection::Prioritized(PrioritizedBy::OnlyDefault) => "only_default",
        Selection::Prioritized(PrioritizedBy::OnlyComplete) => "only_complete",
        Selection::Prioritized(PrioritizedBy::OnlyInProcess) => "only_in_process",
        Selection::Prioritized(PrioritizedBy::Default) => "default",
        Selection::PrioritizedByScore(_) => "score",
        _ => "other",
    }
}
