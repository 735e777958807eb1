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

mod messages;
mod trace;

use messages::*;
use trace::*;

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
