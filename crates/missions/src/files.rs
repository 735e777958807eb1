//! Needs and mission activity logs in and out as CSV or XLSX (`platform::tabular`): exports
//! in the columns an import takes back; imports check every row first and write nothing from
//! a file with errors unless asked to skip the bad rows.
use std::collections::HashMap;

use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::tabular::{self, check_rows, ImportReport, Table};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;

use crate::domain::{ActivityInput, NeedInput};
use crate::service::{missions, needs, new_id, perms};
use crate::store::{ActivityRow, NeedRow};

pub const NEED_COLUMNS: [&str; 9] = [
    "org_code",
    "kind",
    "specialty",
    "topic",
    "priority",
    "wanted_from",
    "wanted_to",
    "reason",
    "status",
];
pub const ACTIVITY_COLUMNS: [&str; 6] = ["day", "kind", "topic", "count", "people", "note"];

/// `csv` or `xlsx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, AppError> {
        match s.unwrap_or("csv") {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            _ => Err(AppError::BadRequest(Msg::new("missions.err.format"))),
        }
    }
}

fn encode(
    f: Format,
    name: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<axum::response::Response, AppError> {
    Ok(match f {
        Format::Csv => tabular::download(
            &format!("{name}.csv"),
            tabular::CSV_TYPE,
            tabular::to_csv(headers, rows),
        ),
        Format::Xlsx => tabular::download(
            &format!("{name}.xlsx"),
            tabular::XLSX_TYPE,
            tabular::to_xlsx(name, headers, rows)?,
        ),
    })
}

pub fn need_cells(n: &NeedRow) -> Vec<String> {
    vec![
        n.org_code.clone(),
        n.kind.clone(),
        n.specialty.clone(),
        n.topic.clone(),
        n.priority.clone(),
        n.wanted_from.clone(),
        n.wanted_to.clone(),
        n.reason.clone(),
        n.status.clone(),
    ]
}

pub async fn export_needs(
    st: &Platform,
    who: &Principal,
    f: Format,
) -> Result<axum::response::Response, AppError> {
    let rows: Vec<Vec<String>> = needs::needs(st, who, false)
        .await?
        .iter()
        .map(need_cells)
        .collect();
    let detail = format!("{} needs", rows.len());
    st.audit(
        who,
        Event::new(Action::EXPORT, needs::NEED, "").detail(&detail),
    )
    .await?;
    encode(f, "needs", &NEED_COLUMNS, &rows)
}

/// Import needs: each row is checked as a posted need would be (and its department must be in
/// the importer's own subtree).
pub async fn import_needs(
    st: &Platform,
    who: &Principal,
    table: &Table,
    skip_bad: bool,
) -> Result<ImportReport, AppError> {
    who.require(perms::POST)?;
    table.require(&NEED_COLUMNS[..7])?;
    let mut codes: Vec<String> = table
        .rows
        .iter()
        .map(|r| table.get(r, "org_code").to_string())
        .collect();
    codes.sort();
    codes.dedup();
    let orgs: HashMap<String, String> = facade::orgs(st, &codes)
        .await?
        .into_iter()
        .map(|o| (o.code, o.path))
        .collect();
    let (good, mut report) = check_rows(table, skip_bad, |t, r| {
        let input = NeedInput {
            org_code: t.get(r, "org_code").into(),
            kind: t.get(r, "kind").into(),
            specialty: t.get(r, "specialty").into(),
            topic: t.get(r, "topic").into(),
            priority: t.get(r, "priority").into(),
            wanted_from: t.get(r, "wanted_from").into(),
            wanted_to: t.get(r, "wanted_to").into(),
            reason: t.get(r, "reason").into(),
        };
        let mut errs = match input.validate() {
            Ok(_) => Vec::new(),
            Err(e) => e,
        };
        let path = orgs.get(input.org_code.trim());
        match path {
            None if !input.org_code.trim().is_empty() => errs.push(FieldError::new(
                "org_code",
                Msg::new("missions.err.org_unknown").arg("code", input.org_code.clone()),
            )),
            Some(p) if !who.scope.owns(p) => errs.push(FieldError::new(
                "org_code",
                Msg::new("missions.err.org_outside"),
            )),
            _ => {}
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let n = input.validate()?;
        Ok(NeedRow {
            id: new_id(),
            org_path: path.cloned().unwrap_or_default(),
            org_code: n.org_code,
            kind: n.kind,
            specialty: n.specialty,
            topic: n.topic,
            priority: n.priority,
            wanted_from: n.wanted_from,
            wanted_to: n.wanted_to,
            reason: n.reason,
            status: "open".into(),
            mission_id: None,
            posted_by: who.username.clone(),
            posted_at: String::new(),
        })
    });
    report.localise(&st.i18n.catalog(locale_of(who)));
    if !good.is_empty() {
        needs::insert_needs(st, who, good.into_iter().map(|(_, n)| n).collect()).await?;
    }
    Ok(report)
}

fn locale_of(who: &Principal) -> tianshan_platform::i18n::Locale {
    tianshan_platform::i18n::Locale::parse(&who.locale)
        .unwrap_or(tianshan_platform::i18n::Locale::En)
}

pub fn activity_cells(a: &ActivityRow) -> Vec<String> {
    vec![
        a.day.clone(),
        a.kind.clone(),
        a.topic.clone(),
        a.count.to_string(),
        a.people.clone(),
        a.note.clone(),
    ]
}

pub async fn export_activities(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    f: Format,
) -> Result<axum::response::Response, AppError> {
    let (m, acts) = missions::activities(st, who, mission_id).await?;
    let rows: Vec<Vec<String>> = acts.iter().map(activity_cells).collect();
    let detail = format!("{} entries", rows.len());
    st.audit(
        who,
        Event::new(Action::EXPORT, missions::ACTIVITY, &m.id).detail(&detail),
    )
    .await?;
    encode(f, "mission-log", &ACTIVITY_COLUMNS, &rows)
}

/// Import a mission's day log: each row checked against the mission's dates.
pub async fn import_activities(
    st: &Platform,
    who: &Principal,
    mission_id: &str,
    table: &Table,
    skip_bad: bool,
) -> Result<ImportReport, AppError> {
    who.require(perms::RECORD)?;
    let m = missions::get(st, who, mission_id).await?;
    table.require(&ACTIVITY_COLUMNS[..2])?;
    let (good, mut report) = check_rows(table, skip_bad, |t, r| {
        let count = t.get(r, "count");
        let count = if count.is_empty() {
            0
        } else {
            count
                .parse::<i64>()
                .map_err(|_| vec![FieldError::new("count", Msg::new("missions.err.count"))])?
        };
        let input = ActivityInput {
            day: t.get(r, "day").into(),
            kind: t.get(r, "kind").into(),
            topic: t.get(r, "topic").into(),
            count,
            people: t.get(r, "people").into(),
            note: t.get(r, "note").into(),
        };
        missions::check_activity(&m, &input)
    });
    report.localise(&st.i18n.catalog(locale_of(who)));
    if !good.is_empty() {
        missions::insert_activities(st, who, &m, good.into_iter().map(|(_, a)| a).collect())
            .await?;
    }
    Ok(report)
}
