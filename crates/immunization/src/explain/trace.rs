//! The engine's trace events, copied out, and the writer that turns them into messages.
use super::*;

/// A trace event with what a message needs copied out.
#[derive(Clone, Debug)]
pub(super) enum Owned {
    Inadvertent,
    TooOld {
        max: Day,
    },
    Age {
        abs_min_age: Option<AgeId>,
        min_age: Option<AgeId>,
        abs_min: Option<Day>,
        min: Option<Day>,
        outcome: Outcome,
    },
    NoReference {
        interval: IntervalText,
    },
    Interval {
        interval: IntervalText,
        reference: Day,
        abs_min: Option<Day>,
        min: Option<Day>,
        outcome: Outcome,
        allowable: bool,
    },
    Conflict {
        previous_cvx: u16,
        previous_day: Day,
        until: Day,
    },
    Vaccine {
        preferable: bool,
        allowable: bool,
    },
    Earliest {
        by: ForecastWhy,
        date: Day,
        interval: Option<IntervalText>,
        reference: Option<Day>,
        previous: Option<(u16, Day)>,
    },
    DueDates {
        recommended_by_age: Option<bool>,
        past_due_by_age: Option<bool>,
    },
}

/// Collects the engine's trace.
#[derive(Default)]
pub(super) struct Events(pub(super) Vec<Owned>);

impl Trace for Events {
    fn event(&mut self, event: Event<'_>) {
        self.0.push(match event {
            Event::Inadvertent => Owned::Inadvertent,
            Event::TooOld { max } => Owned::TooOld { max },
            Event::Age {
                rule,
                abs_min,
                min,
                outcome,
            } => Owned::Age {
                abs_min_age: rule.abs_min,
                min_age: rule.min,
                abs_min,
                min,
                outcome,
            },
            Event::NoReference { interval } => Owned::NoReference {
                interval: IntervalText::of(interval),
            },
            Event::Interval {
                interval,
                reference,
                abs_min,
                min,
                outcome,
                allowable,
            } => Owned::Interval {
                interval: IntervalText::of(interval),
                reference,
                abs_min,
                min,
                outcome,
                allowable,
            },
            Event::Conflict { previous, until } => Owned::Conflict {
                previous_cvx: previous.cvx,
                previous_day: previous.day,
                until,
            },
            Event::Vaccine {
                preferable,
                allowable,
            } => Owned::Vaccine {
                preferable,
                allowable,
            },
            Event::Earliest {
                by,
                date,
                interval,
                reference,
                previous,
            } => Owned::Earliest {
                by,
                date,
                interval: interval.map(IntervalText::of),
                reference,
                previous: previous.map(|p| (p.cvx, p.day)),
            },
            Event::DueDates {
                recommended_by_age,
                past_due_by_age,
            } => Owned::DueDates {
                recommended_by_age,
                past_due_by_age,
            },
        });
    }
}

/// What the messages of one antigen need to know.
pub(super) struct Writer<'a, 's> {
    pub(super) schedule: &'s Schedule,
    pub(super) plan: &'a Plan,
    pub(super) ctx: &'a Ctx<'a>,
}

impl<'s> Writer<'_, 's> {
    pub(super) fn vaccine(&self, cvx: u16) -> String {
        match self.schedule.cvx_name(Cvx(cvx)) {
            Some(name) => format!("CVX {} ({name})", Cvx(cvx)),
            None => format!("CVX {}", Cvx(cvx)),
        }
    }

    pub(super) fn age_text(&self, age: Option<AgeId>) -> String {
        age.map(|a| span_text(age_span(self.plan, a)))
            .unwrap_or_default()
    }

    pub(super) fn reference_text(&self, from: &IntervalFrom) -> (String, String) {
        match from {
            IntervalFrom::Previous => ("previous".into(), "the previous dose".into()),
            IntervalFrom::TargetDose(n) => (format!("target_dose_{n}"), format!("target dose {n}")),
            IntervalFrom::MostRecent(types) => {
                let list: Vec<String> = types.iter().map(|c| Cvx(*c).to_string()).collect();
                (
                    format!("most_recent:{}", list.join(";")),
                    format!("the most recent dose of CVX {}", list.join(", ")),
                )
            }
            IntervalFrom::Observation(_) => (
                "observation".into(),
                "the date of the patient's observation".into(),
            ),
        }
    }

    /// The checks of one dose evaluation.
    pub(super) fn checks(&self, events: &[Owned], cvx: u16) -> Vec<Message> {
        let mut out = Vec::new();
        for e in events {
            out.push(match e {
                Owned::Inadvertent => Message::new(
                    "dose.inadvertent",
                    &[("cvx", Cvx(cvx).to_string())],
                    format!(
                        "{} is never right for this target dose (inadvertent administration).",
                        self.vaccine(cvx)
                    ),
                ),
                Owned::TooOld { max } => Message::new(
                    "dose.age.too_old",
                    &[("max_age_date", date(*max))],
                    format!(
                        "Given on or after the maximum age date {}: too old for this target dose.",
                        date(*max)
                    ),
                ),
                Owned::Age {
                    abs_min_age,
                    min_age,
                    abs_min,
                    min,
                    outcome,
                } => {
                    let params = [
                        ("min_age", self.age_text(*min_age)),
                        ("min_age_date", min.map(date).unwrap_or_default()),
                        ("absolute_min_age", self.age_text(*abs_min_age)),
                        ("absolute_min_age_date", abs_min.map(date).unwrap_or_default()),
                    ];
                    match outcome {
                        Outcome::Met => Message::new(
                            "dose.age.met",
                            &params,
                            format!(
                                "Age: at least the minimum age {} ({}).",
                                self.age_text(*min_age),
                                min.map(date).unwrap_or_default()
                            ),
                        ),
                        Outcome::Grace => Message::new(
                            "dose.age.grace",
                            &params,
                            format!(
                                "Age: before the minimum age {} ({}) but within the grace period (absolute minimum {}, {}).",
                                self.age_text(*min_age),
                                min.map(date).unwrap_or_default(),
                                self.age_text(*abs_min_age),
                                abs_min.map(date).unwrap_or_default()
                            ),
                        ),
                        Outcome::Fails => Message::new(
                            "dose.age.too_young",
                            &params,
                            format!(
                                "Age: too young — the absolute minimum age is {} ({}).",
                                self.age_text(*abs_min_age),
                                abs_min.map(date).unwrap_or_default()
                            ),
                        ),
                    }
                }
                Owned::NoReference { interval } => {
                    let (from_code, from_text) = self.reference_text(&interval.from);
                    Message::new(
                        "dose.interval.no_reference",
                        &[("from", from_code)],
                        format!("Interval from {from_text}: there is no such dose or date, so it does not apply."),
                    )
                }
                Owned::Interval {
                    interval,
                    reference,
                    abs_min,
                    min,
                    outcome,
                    allowable,
                } => {
                    let (from_code, from_text) = self.reference_text(&interval.from);
                    let span = if *allowable {
                        interval.abs_min
                    } else {
                        interval.min.or(interval.abs_min)
                    };
                    let boundary = if *allowable { *abs_min } else { min.or(*abs_min) };
                    let params = [
                        ("from", from_code),
                        ("reference_date", date(*reference)),
                        ("interval", span.map(span_text).unwrap_or_default()),
                        ("interval_date", boundary.map(date).unwrap_or_default()),
                        (
                            "absolute_interval",
                            interval.abs_min.map(span_text).unwrap_or_default(),
                        ),
                        ("absolute_interval_date", abs_min.map(date).unwrap_or_default()),
                    ];
                    let kind = if *allowable { "allowable interval" } else { "interval" };
                    let (code, verdict) = match (outcome, allowable) {
                        (Outcome::Met, false) => ("dose.interval.met", "met"),
                        (Outcome::Met, true) => ("dose.interval.allowable_met", "met"),
                        (Outcome::Grace, _) => ("dose.interval.grace", "short, but within the grace period"),
                        (Outcome::Fails, false) => ("dose.interval.too_soon", "too soon"),
                        (Outcome::Fails, true) => ("dose.interval.allowable_too_soon", "too soon"),
                    };
                    Message::new(
                        code,
                        &params,
                        format!(
                            "{} of {} from {from_text} ({}): due from {} — {verdict}.",
                            capitalise(kind),
                            span.map(span_text).unwrap_or_default(),
                            date(*reference),
                            boundary.map(date).unwrap_or_default()
                        ),
                    )
                }
                Owned::Conflict {
                    previous_cvx,
                    previous_day,
                    until,
                } => Message::new(
                    "dose.live_virus_conflict",
                    &[
                        ("previous_cvx", Cvx(*previous_cvx).to_string()),
                        ("previous_date", date(*previous_day)),
                        ("conflict_until", date(*until)),
                    ],
                    format!(
                        "Live virus conflict: {} given on {} (no second live vaccine before {}).",
                        self.vaccine(*previous_cvx),
                        date(*previous_day),
                        date(*until)
                    ),
                ),
                Owned::Vaccine {
                    preferable,
                    allowable,
                } => {
                    let (code, text) = match (preferable, allowable) {
                        (true, _) => ("dose.vaccine.preferable", "a preferable vaccine"),
                        (false, true) => ("dose.vaccine.allowable", "an allowable vaccine"),
                        (false, false) => (
                            "dose.vaccine.not_allowed",
                            "neither preferable nor allowable",
                        ),
                    };
                    Message::new(
                        code,
                        &[("cvx", Cvx(cvx).to_string())],
                        format!("Vaccine: {} is {text} for this target dose.", self.vaccine(cvx)),
                    )
                }
                Owned::Earliest { .. } | Owned::DueDates { .. } => continue,
            });
        }
        out
    }
}
