//! Coverage of a place per birth cohort, grouped by village, township or county: each
//! programme dose by 12 and 24 months of age, fully immunised, dropout and timeliness. The
//! children are the registry's (read a page at a time through its facade); moved-out children
//! are left out.
//!
//! **Where a child counts.** A child counts once, at the organisation the registry registers
//! them at, whatever the residence history says: a child registered elsewhere and recorded as
//! moved in to a village (their record only shared with the clinic) still counts at home,
//! until the registry transfers the record to the village (`facade::request_patient`, kind
//! transfer); from then on they count in the village and no longer at home. A child whose
//! current status is moved out counts nowhere. So no child counts twice in a county, and a
//! place's denominator is the registry's list of its children.
use std::collections::HashMap;

use super::*;
use crate::domain::coverage::{percent, Tally, DROPOUTS, MILESTONES};

/// Levels rows can be grouped by.
pub const COVERAGE_LEVELS: [&str; 3] = ["village", "township", "county"];

/// What to count: the place (`None`: the caller's own node), the level rows are grouped by,
/// the birth years and the assessment date.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CoverageQuery {
    pub org: Option<String>,
    pub level: Option<String>,
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoseCoverage {
    pub antigen: String,
    pub dose: usize,
    /// Children who had the dose before their first (second) birthday, of those who reached it.
    pub by_12: i64,
    pub by_12_pct: Option<f64>,
    pub by_24: i64,
    pub by_24_pct: Option<f64>,
    /// Doses given, and of them given in the schedule's window (timeliness).
    pub given: i64,
    pub on_time: i64,
    pub on_time_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DropoutCoverage {
    pub antigen: String,
    pub from: usize,
    pub to: usize,
    /// Children with the first dose, those of them with the later dose, and the dropout
    /// `(started - completed) / started` in percent.
    pub started: i64,
    pub completed: i64,
    pub dropout_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortCoverage {
    /// Year of birth.
    pub cohort: i32,
    pub org_code: String,
    pub name: String,
    /// The row of the whole place (the sum of its groups).
    pub total: bool,
    pub children: i64,
    /// Children old enough to be counted by 12 and by 24 months.
    pub reached_12: i64,
    pub reached_24: i64,
    pub doses: Vec<DoseCoverage>,
    /// Every programme dose due before 12 (24) months given before that birthday.
    pub fully_12: i64,
    pub fully_12_pct: Option<f64>,
    pub fully_24: i64,
    pub fully_24_pct: Option<f64>,
    pub dropouts: Vec<DropoutCoverage>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageReport {
    pub org_code: String,
    pub name: String,
    pub level: String,
    pub as_of: String,
    pub from_year: i32,
    pub to_year: i32,
    pub rows: Vec<CohortCoverage>,
}

fn row_of(cohort: i32, org_code: String, name: String, total: bool, t: &Tally) -> CohortCoverage {
    CohortCoverage {
        cohort,
        org_code,
        name,
        total,
        children: t.children,
        reached_12: t.reached_12,
        reached_24: t.reached_24,
        doses: MILESTONES
            .iter()
            .zip(&t.milestones)
            .map(|(m, x)| DoseCoverage {
                antigen: m.antigen.to_string(),
                dose: m.dose,
                by_12: x.by_12,
                by_12_pct: percent(x.by_12, t.reached_12),
                by_24: x.by_24,
                by_24_pct: percent(x.by_24, t.reached_24),
                given: x.given,
                on_time: x.on_time,
                on_time_pct: percent(x.on_time, x.given),
            })
            .collect(),
        fully_12: t.fully_12,
        fully_12_pct: percent(t.fully_12, t.reached_12),
        fully_24: t.fully_24,
        fully_24_pct: percent(t.fully_24, t.reached_24),
        dropouts: DROPOUTS
            .iter()
            .zip(&t.dropouts)
            .map(|((a, from, to), (s, c))| DropoutCoverage {
                antigen: a.to_string(),
                from: *from,
                to: *to,
                started: *s,
                completed: *c,
                dropout_pct: percent(s - c, *s),
            })
            .collect(),
    }
}

/// Coverage of a place (and of each village, township or county below it) per birth year;
/// children count where the registry registers them (see the module's note above).
pub async fn coverage(
    st: &Platform,
    who: &Principal,
    q: &CoverageQuery,
    locale: tianshan_platform::i18n::Locale,
) -> Result<CoverageReport, AppError> {
    who.require(perms::READ)?;
    let mut errs = Vec::new();
    let level = q
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("village");
    if !COVERAGE_LEVELS.contains(&level) {
        errs.push(FieldError::new("level", Msg::new("vacc.err.level")));
    }
    let as_of = match q.as_of.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(today(st)),
        Some(s) => domain::parse_date(s),
    };
    if as_of.is_none() {
        errs.push(FieldError::new("as_of", Msg::new("vacc.err.date")));
    }
    let as_of = as_of.unwrap_or_else(|| today(st));
    let to_year = q.to_year.unwrap_or(as_of.year());
    let from_year = q.from_year.unwrap_or(to_year - 4);
    if !(1900..=2200).contains(&from_year) || to_year < from_year || to_year - from_year > 9 {
        errs.push(FieldError::new("from_year", Msg::new("vacc.err.cohorts")));
    }
    let scope_code = who
        .scope
        .path
        .as_deref()
        .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
        .map(str::to_string);
    let code = q
        .org
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .or(scope_code);
    let Some(code) = code else {
        errs.push(FieldError::new("org", Msg::new("vacc.err.org")));
        return Err(AppError::Invalid(errs));
    };
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let org = facade::org(st, &code)
        .await?
        .filter(|o| who.scope.can_see(&o.path, &[]))
        .ok_or(AppError::NotFound)?;
    // The cohort's children, a page at a time, with their doses and residence.
    let mut page = facade::PatientPage {
        org_code: Some(org.code.clone()),
        born_from: Some(format!("{from_year:04}-01-01")),
        born_to: Some(format!("{to_year:04}-12-31")),
        limit: 5000,
        ..Default::default()
    };
    let mut groups: HashMap<(i32, String), Tally> = HashMap::new();
    let mut orgs: HashMap<String, facade::OrgInfo> = HashMap::new();
    loop {
        let children = facade::patient_page(st, who, &page).await?;
        let full = children.len() as i64 == page.limit;
        page.after = children.last().map(|p| p.id.clone()).unwrap_or_default();
        let ids: Vec<String> = children.iter().map(|p| p.id.clone()).collect();
        let moved_out: std::collections::HashSet<String> = store::residence_now(&st.db, &ids)
            .await?
            .into_iter()
            .filter(|(_, s)| s == "moved_out")
            .map(|(p, _)| p)
            .collect();
        let mut doses: HashMap<String, Vec<(String, Date)>> = HashMap::new();
        for d in store::dose_briefs_of_many(&st.db, &ids).await? {
            if let Some(on) = domain::parse_date(&d.given_on) {
                doses
                    .entry(d.patient_id)
                    .or_default()
                    .push((d.product_code, on));
            }
        }
        let missing: Vec<String> = children
            .iter()
            .flat_map(|p| p.org_path.trim_matches('/').split('/'))
            .filter(|c| !orgs.contains_key(*c))
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for o in facade::orgs(st, &missing).await? {
            orgs.insert(o.code.clone(), o);
        }
        for p in children {
            if moved_out.contains(&p.id) {
                continue;
            }
            let Some(birth) = p.birth_date.as_deref().and_then(domain::parse_date) else {
                continue;
            };
            let place = p
                .org_path
                .trim_matches('/')
                .split('/')
                .find(|c| orgs.get(*c).is_some_and(|o| o.kind == level))
                .unwrap_or(&p.org_code)
                .to_string();
            let given = doses.remove(&p.id).unwrap_or_default();
            groups
                .entry((birth.year(), place))
                .or_default()
                .add(birth, &given, as_of);
        }
        if !full {
            break;
        }
    }
    let name_of = |code: &str| {
        orgs.get(code)
            .map(|o| o.name(locale).to_string())
            .unwrap_or_else(|| code.to_string())
    };
    let mut keys: Vec<(i32, String)> = groups.keys().cloned().collect();
    keys.sort();
    let mut rows = Vec::new();
    // The newest cohort first.
    for year in (from_year..=to_year).rev() {
        let mut total = Tally::default();
        let mut part = Vec::new();
        for k in keys.iter().filter(|k| k.0 == year) {
            if let Some(t) = groups.get(k) {
                total.merge(t);
                part.push(row_of(year, k.1.clone(), name_of(&k.1), false, t));
            }
        }
        rows.push(row_of(
            year,
            org.code.clone(),
            org.name(locale).to_string(),
            true,
            &total,
        ));
        if !(part.len() == 1 && part[0].org_code == org.code) {
            rows.extend(part);
        }
    }
    Ok(CoverageReport {
        name: org.name(locale).to_string(),
        org_code: org.code,
        level: level.to_string(),
        as_of: domain::date_text(as_of),
        from_year,
        to_year,
        rows,
    })
}

/// Columns of the coverage file: one line per row and measure.
pub const COVERAGE_COLUMNS: [&str; 8] = [
    "cohort",
    "org_code",
    "name",
    "measure",
    "numerator",
    "denominator",
    "percent",
    "total",
];

/// The report as file rows ([`COVERAGE_COLUMNS`]).
pub fn coverage_file_rows(r: &CoverageReport) -> Vec<Vec<String>> {
    let pct = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_default();
    let mut out = Vec::new();
    for row in &r.rows {
        let mut line = |measure: String, num: i64, den: i64, p: Option<f64>| {
            out.push(vec![
                row.cohort.to_string(),
                row.org_code.clone(),
                row.name.clone(),
                measure,
                num.to_string(),
                den.to_string(),
                pct(p),
                if row.total { "1" } else { "0" }.to_string(),
            ]);
        };
        for d in &row.doses {
            line(
                format!("{}{} by 12m", d.antigen, d.dose),
                d.by_12,
                row.reached_12,
                d.by_12_pct,
            );
            line(
                format!("{}{} by 24m", d.antigen, d.dose),
                d.by_24,
                row.reached_24,
                d.by_24_pct,
            );
            line(
                format!("{}{} on time", d.antigen, d.dose),
                d.on_time,
                d.given,
                d.on_time_pct,
            );
        }
        line(
            "fully immunised by 12m".into(),
            row.fully_12,
            row.reached_12,
            row.fully_12_pct,
        );
        line(
            "fully immunised by 24m".into(),
            row.fully_24,
            row.reached_24,
            row.fully_24_pct,
        );
        for d in &row.dropouts {
            line(
                format!("{} {} to {} dropout", d.antigen, d.from, d.to),
                d.started - d.completed,
                d.started,
                d.dropout_pct,
            );
        }
    }
    out
}
