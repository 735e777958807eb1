//! Chapter 9's vaccine group rules and the vaccines a forecast recommends.
use super::*;

/// FORECASTRECVAC-1: preferable vaccines flagged for forecasting that no contraindication of
/// the patient rules out; when all flagged ones are ruled out, the other preferable vaccines.
pub(super) fn recommended_vaccines(
    ctx: &Ctx<'_>,
    antigen: &AntigenPlan,
    sd: &DosePlan,
    out: &mut Vec<Cvx>,
) {
    let start = out.len();
    for flagged in [true, false] {
        out.extend(
            sd.preferable
                .iter()
                .filter(|v| v.forecast == flagged)
                .filter(|v| !ruled_out(ctx, antigen, v.cvx))
                .map(|v| Cvx(v.cvx)),
        );
        if out.len() > start {
            return;
        }
    }
}

/// Chapter 9: merges the antigen forecasts of a vaccine group.
pub(super) fn group_forecast<'s>(
    schedule: &'s Schedule,
    ctx: &Ctx<'_>,
    g: usize,
    multiple: bool,
    contained: &[Contained],
    vaccines: &[Cvx],
) -> VaccineGroupForecast<'s> {
    let name = schedule.vaccine_groups[g].name.as_str();
    // Table 7-7 makes an antigen series contraindicated when all its preferable vaccines are;
    // in a group of several antigens that removes those vaccines, not the group: the other
    // antigens are still given (DT for a child who may not receive pertussis vaccine,
    // 2016-UC-0003). Only when nothing else remains is the group contraindicated.
    let by_vaccines = |c: &Contained| {
        c.forecast.status == SeriesStatus::Contraindicated && c.forecast.vaccines_contraindicated
    };
    let drop_vaccine_only = multiple && contained.iter().any(|c| !by_vaccines(c));
    let considered = || {
        contained
            .iter()
            .filter(move |c| !(drop_vaccine_only && by_vaccines(c)))
    };
    let has = |s: SeriesStatus| considered().any(|c| c.forecast.status == s);
    let status = if !multiple {
        contained[0].forecast.status
    } else if has(SeriesStatus::Contraindicated) {
        SeriesStatus::Contraindicated
    } else if has(SeriesStatus::AgedOut) {
        SeriesStatus::AgedOut
    } else if has(SeriesStatus::NotRecommended) {
        SeriesStatus::NotRecommended
    } else if has(SeriesStatus::NotComplete) {
        SeriesStatus::NotComplete
    } else if considered().all(|c| c.forecast.status == SeriesStatus::Immune) {
        SeriesStatus::Immune
    } else {
        SeriesStatus::Complete
    };
    let mut forecast = VaccineGroupForecast {
        vaccine_group: name,
        status,
        dose_number: None,
        earliest: None,
        recommended: None,
        past_due: None,
        latest: None,
        series: contained
            .iter()
            .map(|c| series_name(schedule, c.antigen, c.series))
            .collect(),
        vaccines: Vec::new(),
    };
    let open = || {
        considered()
            .filter(|c| c.forecast.status == SeriesStatus::NotComplete)
            .map(|c| &c.forecast)
    };
    if status != SeriesStatus::NotComplete || open().next().is_none() {
        return forecast;
    }
    let earliest = if open().any(|f| f.priority) {
        let first = open().filter_map(|f| f.earliest).min();
        let antigens = &ctx.plan.groups[g];
        let last_dose = ctx
            .doses
            .iter()
            .filter(|d| {
                ctx.plan
                    .cvx(d.cvx)
                    .is_some_and(|c| c.antigens.iter().any(|a| antigens.contains(&a.antigen)))
            })
            .map(|d| d.day)
            .max();
        first.max(last_dose)
    } else {
        open().filter_map(|f| f.earliest).max()
    };
    forecast.earliest = earliest.map(Day::to_date);
    forecast.recommended = open()
        .filter_map(|f| f.recommended)
        .min()
        .max(earliest)
        .map(Day::to_date);
    forecast.past_due = open()
        .filter_map(|f| f.past_due)
        .min()
        .map(|d| Some(d).max(earliest))
        .unwrap_or(None)
        .map(Day::to_date);
    forecast.latest = open().filter_map(|f| f.latest).min().map(Day::to_date);
    forecast.dose_number = open().filter_map(|f| f.dose_number).min();
    let open_vaccines = || {
        considered()
            .filter(|c| c.forecast.status == SeriesStatus::NotComplete)
            .flat_map(|c| vaccines[c.vaccines.0..c.vaccines.1].iter().copied())
    };
    let mut list: Vec<Cvx> = Vec::with_capacity(open_vaccines().count());
    list.extend(open_vaccines());
    list.sort_unstable();
    list.dedup();
    forecast.vaccines = list;
    forecast
}
