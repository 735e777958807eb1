//! Why a forecast says what it says: for one patient on one date, per dose the age, interval,
//! conflict and vaccine rules that made it valid or not, per antigen the series chosen and why
//! each other series was not, per target dose what satisfied or skipped it, and where the
//! forecast dates come from. Every statement is a [`Message`]: a stable code and parameters (for
//! a page to render in Chinese or Uyghur) plus an English text. [`Explanation::to_text`] renders
//! the whole as plain text. The engine runs once more with its trace on; answers are the same.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use time::Date;

use crate::engine::{forecast, reported_eval, run_antigen, series_name, Scratch};
use crate::evaluate::{
    AntigenDose, Ctx, EvalStatus, Event, Outcome, SeriesRun, TargetStatus, Trace,
};
use crate::forecast::{ForecastWhy, SeriesStatus};
use crate::model::Cvx;
use crate::patient::PatientHistory;
use crate::plan::{AgeId, AntigenPlan, IntervalFrom, IntervalPlan, Plan, SeriesKind, SeriesPlan};
use crate::schedule::Schedule;
use crate::select::{bits, is_relevant, NotBest, PrioritizedBy, Selection};
use crate::skip::SkipContext;
use crate::span::{Day, Span};

/// One statement of an explanation. `code` is stable (see docs/immunization.md, "Explaining a
/// forecast"); `params` holds the values the text is made of (dates `YYYY-MM-DD`, spans such as
/// `6 months - 4 days`, CVX codes, dose numbers); `text` is the English rendering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub code: &'static str,
    pub params: BTreeMap<&'static str, String>,
    pub text: String,
}

impl Message {
    fn new(code: &'static str, params: &[(&'static str, String)], text: String) -> Message {
        Message {
            code,
            params: params.iter().cloned().collect(),
            text,
        }
    }
}

/// Everything the engine can say about why, for one patient on one date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation<'s> {
    pub birth_date: String,
    pub assessment_date: String,
    pub vaccine_groups: Vec<GroupExplanation<'s>>,
}

/// One vaccine group: its forecast and, per antigen, how it was reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupExplanation<'s> {
    pub vaccine_group: &'s str,
    /// [`SeriesStatus::code`], or `none` when no series of the group is relevant.
    pub status: &'static str,
    pub dose_number: Option<u32>,
    pub earliest: Option<String>,
    pub recommended: Option<String>,
    pub past_due: Option<String>,
    /// How the group forecast follows from its antigens (chapter 9).
    pub summary: Vec<Message>,
    pub antigens: Vec<AntigenExplanation<'s>>,
}

/// One antigen of a group: the series that drives it and why, its doses and target doses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AntigenExplanation<'s> {
    pub antigen: &'s str,
    /// The series the forecast follows (empty when none is relevant).
    pub series: &'s str,
    /// Every series of the antigen: relevant or not, and how selection treated it.
    pub series_selection: Vec<SeriesExplanation<'s>>,
    /// Each dose that carries the antigen, in date order, as evaluated.
    pub doses: Vec<DoseExplanation<'s>>,
    /// The target doses of the chosen series: what satisfied or skipped each.
    pub target_doses: Vec<Message>,
    /// The status of the chosen series and where its dates come from.
    pub forecast: Vec<Message>,
}

/// How chapter 5 and chapter 8 treated one series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeriesExplanation<'s> {
    pub series: &'s str,
    /// `standard`, `risk` or `evaluation_only`.
    pub series_type: &'static str,
    pub series_group: u32,
    pub relevant: bool,
    /// Status of the relevant series' own forecast ([`SeriesStatus::code`]).
    pub status: Option<&'static str>,
    pub valid_doses: Option<usize>,
    pub best: bool,
    pub chosen: bool,
    pub verdict: Message,
}

/// One dose administered, seen through one antigen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoseExplanation<'s> {
    /// Index in `PatientHistory::doses`.
    pub dose: usize,
    pub date: String,
    pub cvx: String,
    pub vaccine: Option<&'s str>,
    /// [`EvalStatus::code`].
    pub status: &'static str,
    /// [`EvalReason::code`](crate::EvalReason::code) of each reason.
    pub reasons: Vec<&'static str>,
    /// The series whose evaluation is reported.
    pub series: &'s str,
    pub target_dose: Option<u32>,
    /// Each check made, in the order of the specification.
    pub checks: Vec<Message>,
}

fn date(day: Day) -> String {
    day.to_date().to_string()
}

/// `6 months - 4 days`, `4 weeks`, `1 year`.
fn span_text(span: Span) -> String {
    let mut parts: Vec<String> = Vec::new();
    let unit = |n: i32, one: &str, many: &str| {
        format!("{} {}", n.abs(), if n.abs() == 1 { one } else { many })
    };
    if span.years != 0 {
        parts.push(unit(span.years, "year", "years"));
    }
    if span.months != 0 {
        parts.push(unit(span.months, "month", "months"));
    }
    let days = span.days;
    if days != 0 || parts.is_empty() {
        let text = if days != 0 && days % 7 == 0 {
            unit(days / 7, "week", "weeks")
        } else {
            unit(days, "day", "days")
        };
        parts.push(text);
    }
    let mut out = String::new();
    let signs = [span.years, span.months, days];
    let mut first = true;
    for (part, sign) in parts
        .iter()
        .zip(signs.iter().filter(|s| **s != 0).chain([&0]))
    {
        if first {
            if *sign < 0 {
                out.push_str("- ");
            }
            out.push_str(part);
            first = false;
        } else {
            out.push_str(if *sign < 0 { " - " } else { " + " });
            out.push_str(part);
        }
    }
    out
}

fn age_span(plan: &Plan, age: AgeId) -> Span {
    plan.ages[usize::from(age.0)]
}

fn kind_code(kind: SeriesKind) -> &'static str {
    match kind {
        SeriesKind::Standard => "standard",
        SeriesKind::Risk => "risk",
        SeriesKind::EvaluationOnly => "evaluation_only",
    }
}

/// The parts of an interval a message needs.
#[derive(Clone, Debug)]
struct IntervalText {
    from: IntervalFrom,
    abs_min: Option<Span>,
    min: Option<Span>,
}

impl IntervalText {
    fn of(iv: &IntervalPlan) -> IntervalText {
        IntervalText {
            from: iv.from.clone(),
            abs_min: iv.abs_min,
            min: iv.min,
        }
    }
}

/// A trace event with what a message needs copied out.
#[derive(Clone, Debug)]
enum Owned {
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
struct Events(Vec<Owned>);

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
struct Writer<'a, 's> {
    schedule: &'s Schedule,
    plan: &'a Plan,
    ctx: &'a Ctx<'a>,
}

impl<'s> Writer<'_, 's> {
    fn vaccine(&self, cvx: u16) -> String {
        match self.schedule.cvx_name(Cvx(cvx)) {
            Some(name) => format!("CVX {} ({name})", Cvx(cvx)),
            None => format!("CVX {}", Cvx(cvx)),
        }
    }

    fn age_text(&self, age: Option<AgeId>) -> String {
        age.map(|a| span_text(age_span(self.plan, a)))
            .unwrap_or_default()
    }

    fn reference_text(&self, from: &IntervalFrom) -> (String, String) {
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
    fn checks(&self, events: &[Owned], cvx: u16) -> Vec<Message> {
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

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Explains the forecast of every vaccine group for `patient` on `assessment`: the same
/// evaluation and forecast as [`forecast`], with the reasons. Pure, like the engine.
pub fn explain<'s>(
    schedule: &'s Schedule,
    patient: &PatientHistory,
    assessment: Date,
) -> Explanation<'s> {
    let answer = forecast(schedule, patient, assessment);
    let plan = schedule.plan();
    let mut scratch = Scratch::default();
    scratch.prepare(plan, patient);
    let ctx = scratch.ctx(plan, patient, assessment);
    let mut groups = Vec::with_capacity(plan.groups.len());
    for (g, antigens) in plan.groups.iter().enumerate() {
        let name = schedule.vaccine_groups[g].name.as_str();
        let group = answer.group(name);
        let mut explained = Vec::new();
        for &a in antigens {
            explained.push(explain_antigen_of(
                schedule,
                &ctx,
                a,
                &scratch.records[usize::from(a)],
            ));
        }
        let mut summary = Vec::new();
        match group {
            None => summary.push(Message::new(
                "group.no_relevant_series",
                &[],
                "No series of this vaccine group applies to the patient.".into(),
            )),
            Some(f) => {
                summary.push(group_status_message(f));
                if antigens.len() > 1 {
                    for a in &explained {
                        if let Some(status) = antigen_status(a) {
                            summary.push(Message::new(
                                "group.antigen_status",
                                &[("antigen", a.antigen.to_owned()), ("status", status.into())],
                                format!("{}: {}.", a.antigen, status_text(status)),
                            ));
                        }
                    }
                    summary.push(Message::new(
                        "group.multiple_antigens",
                        &[],
                        "With several antigens the group takes the most restrictive status (contraindicated, aged out, not recommended, not complete, immune, complete; table 9-4) and the latest earliest date.".into(),
                    ));
                }
            }
        }
        groups.push(GroupExplanation {
            vaccine_group: name,
            status: group.map_or("none", |f| f.status.code()),
            dose_number: group.and_then(|f| f.dose_number),
            earliest: group.and_then(|f| f.earliest).map(|d| d.to_string()),
            recommended: group.and_then(|f| f.recommended).map(|d| d.to_string()),
            past_due: group.and_then(|f| f.past_due).map(|d| d.to_string()),
            summary,
            antigens: explained,
        });
    }
    Explanation {
        birth_date: patient.birth_date.to_string(),
        assessment_date: assessment.to_string(),
        vaccine_groups: groups,
    }
}

fn status_text(code: &str) -> &'static str {
    [
        SeriesStatus::NotComplete,
        SeriesStatus::Complete,
        SeriesStatus::Immune,
        SeriesStatus::Contraindicated,
        SeriesStatus::NotRecommended,
        SeriesStatus::AgedOut,
    ]
    .into_iter()
    .find(|s| s.code() == code)
    .map_or("no forecast", SeriesStatus::as_str)
}

fn antigen_status(a: &AntigenExplanation<'_>) -> Option<&'static str> {
    a.series_selection
        .iter()
        .find(|s| s.chosen)
        .and_then(|s| s.status)
}

fn group_status_message(f: &crate::VaccineGroupForecast<'_>) -> Message {
    let show = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut params = vec![("status", f.status.code().to_owned())];
    let text = if f.status == SeriesStatus::NotComplete {
        params.push((
            "dose_number",
            f.dose_number.map(|n| n.to_string()).unwrap_or_default(),
        ));
        params.push(("earliest", show(f.earliest)));
        params.push(("recommended", show(f.recommended)));
        params.push(("past_due", show(f.past_due)));
        let mut text = format!(
            "Not complete: dose {} can be given from {}, is recommended on {}",
            f.dose_number
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into()),
            show(f.earliest),
            show(f.recommended)
        );
        if let Some(d) = f.past_due {
            let _ = write!(text, " and is overdue after {d}");
        }
        text.push('.');
        text
    } else {
        format!("{}.", f.status.as_str())
    };
    Message::new("group.status", &params, text)
}

/// One antigen: selection, doses, target doses and forecast of the series that drives it.
fn explain_antigen_of<'s>(
    schedule: &'s Schedule,
    ctx: &Ctx<'_>,
    a: u16,
    records: &[AntigenDose],
) -> AntigenExplanation<'s> {
    let plan = ctx.plan;
    let antigen = &plan.antigens[usize::from(a)];
    let name = schedule.antigens[usize::from(a)].name.as_str();
    let mut runs = Vec::new();
    let mut complete_groups = Vec::new();
    let outcome = run_antigen(ctx, antigen, records, &mut runs, &mut complete_groups);
    let ctx = Ctx {
        complete_groups: &complete_groups,
        ..*ctx
    };
    let w = Writer {
        schedule,
        plan,
        ctx: &ctx,
    };
    let Some(outcome) = outcome else {
        return AntigenExplanation {
            antigen: name,
            series: "",
            series_selection: selection(&w, a, antigen, &[], None),
            doses: Vec::new(),
            target_doses: Vec::new(),
            forecast: vec![Message::new(
                "forecast.no_relevant_series",
                &[],
                "No series of this antigen applies to the patient: no forecast.".into(),
            )],
        };
    };
    let runs = &runs[..outcome.count];
    let chosen = &runs[outcome.chosen];
    let chosen_plan = &antigen.series[usize::from(chosen.series)];
    let series = series_name(schedule, a, chosen.series);
    let mut doses = Vec::with_capacity(records.len());
    for (k, rec) in records.iter().enumerate() {
        let eval = reported_eval(runs, &outcome, k);
        let from = if eval == chosen.evals[k] {
            outcome.chosen
        } else {
            bits(outcome.best)
                .find(|&i| runs[i].evals[k] == eval)
                .unwrap_or(outcome.chosen)
        };
        let run = &runs[from];
        let run_plan = &antigen.series[usize::from(run.series)];
        let mut checks = Vec::new();
        if from != outcome.chosen {
            checks.push(Message::new(
                "dose.valid_in_other_best_series",
                &[("series", series_name(schedule, a, run.series).to_owned())],
                format!(
                    "Reported from the best series \"{}\", where the dose is valid.",
                    series_name(schedule, a, run.series)
                ),
            ));
        }
        if eval.target == u16::MAX {
            checks.push(Message::new(
                "dose.extraneous.series_complete",
                &[],
                "Every target dose of the series was already satisfied or skipped: the dose is extra.".into(),
            ));
        } else {
            let mut events = Events::default();
            let again = run.evaluate_record(
                &ctx,
                run_plan,
                records,
                usize::from(eval.target),
                k,
                &mut events,
            );
            debug_assert_eq!(again, eval);
            checks.extend(w.checks(&events.0, rec.cvx));
        }
        doses.push(DoseExplanation {
            dose: rec.dose as usize,
            date: date(rec.day),
            cvx: Cvx(rec.cvx).to_string(),
            vaccine: schedule.cvx_name(Cvx(rec.cvx)),
            status: eval.status.code(),
            reasons: eval.reasons.iter().map(|r| r.code()).collect(),
            series: series_name(schedule, a, run.series),
            target_dose: eval.target_dose,
            checks,
        });
    }
    let mut forecast = forecast_messages(&w, antigen, chosen, chosen_plan, records);
    if let Some(model) = schedule.antigens[usize::from(a)]
        .data
        .series
        .get(usize::from(chosen.series))
    {
        forecast.extend(model.series_admin_guidance.iter().map(|text| {
            Message::new(
                "series.guidance",
                &[("text", text.clone())],
                format!("Guidance: {text}"),
            )
        }));
    }
    AntigenExplanation {
        antigen: name,
        series,
        series_selection: selection(&w, a, antigen, runs, Some(&outcome)),
        doses,
        target_doses: target_doses(&w, chosen, chosen_plan, records),
        forecast,
    }
}

/// What satisfied, skipped or still waits for each target dose of a run.
fn target_doses(
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
fn forecast_messages(
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

fn earliest_message(
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
fn selection<'s>(
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

fn not_relevant(ctx: &Ctx<'_>, plan: &SeriesPlan) -> Message {
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

fn run_verdict(run: &SeriesRun, outcome: &crate::engine::AntigenOutcome, i: usize) -> Message {
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

fn selection_code(s: Selection) -> &'static str {
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

impl Explanation<'_> {
    /// The explanation as plain text, for people checking a forecast by hand (and
    /// `tianshan forecast --explain`).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Patient born {}, assessed on {}.",
            self.birth_date, self.assessment_date
        );
        for g in &self.vaccine_groups {
            let _ = writeln!(out, "\n== {} ==", g.vaccine_group);
            for m in &g.summary {
                let _ = writeln!(out, "{}", m.text);
            }
            for a in &g.antigens {
                if a.series.is_empty() {
                    let _ = writeln!(out, "  {}: no relevant series.", a.antigen);
                } else {
                    let _ = writeln!(out, "  {} — series \"{}\"", a.antigen, a.series);
                }
                for d in &a.doses {
                    let reasons = if d.reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", d.reasons.join(", "))
                    };
                    let target = d
                        .target_dose
                        .map(|n| format!(" as target dose {n}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    Dose of {} (CVX {}{}): {}{reasons}{target}",
                        d.date,
                        d.cvx,
                        d.vaccine.map(|v| format!(", {v}")).unwrap_or_default(),
                        status_word(d.status),
                    );
                    for c in &d.checks {
                        let _ = writeln!(out, "      - {}", c.text);
                    }
                }
                for t in &a.target_doses {
                    let _ = writeln!(out, "    {}", t.text);
                }
                for f in &a.forecast {
                    let _ = writeln!(out, "    {}", f.text);
                }
                for s in &a.series_selection {
                    let _ = writeln!(
                        out,
                        "    [{}] \"{}\" ({}, group {}): {}",
                        if s.chosen {
                            "*"
                        } else if s.best {
                            "+"
                        } else {
                            " "
                        },
                        s.series,
                        s.series_type,
                        s.series_group,
                        s.verdict.text
                    );
                }
            }
        }
        out
    }
}

fn status_word(code: &str) -> &'static str {
    [
        EvalStatus::Valid,
        EvalStatus::NotValid,
        EvalStatus::Extraneous,
    ]
    .into_iter()
    .find(|s| s.code() == code)
    .map_or("?", EvalStatus::as_str)
}
