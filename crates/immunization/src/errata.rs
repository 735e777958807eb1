//! Errata overlays: documented changes to a schedule's supporting data, applied to the typed data
//! after it is read and before it is compiled, only when asked for
//! ([`crate::load_schedule_dir_with_errata`]).
//!
//! An errata file is XML in the supporting data's own vocabulary (`schedules/cdc-errata/` holds
//! the one the CDC conformance test uses). Each `<erratum>` cites the test case(s) it is for, the
//! data version it restores, its evidence and why, and names one antigen, one series and
//! optionally one target dose; `<replace>` sets each list it contains, `<add>` appends:
//!
//! ```xml
//! <cdsiErrata>
//!   <erratum>
//!     <id>…</id> <cases>…</cases> <restores>…</restores> <source>…</source> <why>…</why>
//!     <antigen>Cholera</antigen> <seriesName>Cholera 1-dose series</seriesName>
//!     <doseNumber>Dose 1</doseNumber>
//!     <replace> <age>…</age> <age>…</age> </replace>
//!   </erratum>
//! </cdsiErrata>
//! ```
//!
//! The engine knows nothing of cases: the citations are for people, and the operations are
//! generic. Pure: text in, data changed; the loader does the reading.

use serde::{Deserialize, Deserializer};

use crate::model::{
    opt_text, AgeRule, ConditionalSkip, Indication, IntervalRule, SeriesDose, VaccineRef,
};
use crate::schedule::{Antigen, ScheduleError};

/// A parsed errata file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Errata {
    /// The supporting data the errata were written against (documentation).
    #[serde(deserialize_with = "opt_text")]
    pub applies_to: Option<String>,
    pub erratum: Vec<Erratum>,
}

/// One documented change.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Erratum {
    #[serde(deserialize_with = "opt_text")]
    pub id: Option<String>,
    /// The test case ids the erratum is for, separated by `;` or `,`.
    #[serde(deserialize_with = "opt_text")]
    pub cases: Option<String>,
    /// The data version (and rule) it restores.
    #[serde(deserialize_with = "opt_text")]
    pub restores: Option<String>,
    /// The evidence for the restored values.
    #[serde(deserialize_with = "opt_text")]
    pub source: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub why: Option<String>,
    /// The antigen (the `targetDisease` of its supporting data).
    #[serde(deserialize_with = "opt_text")]
    pub antigen: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub series_name: Option<String>,
    /// The target dose the lists belong to; none for series-level lists (indications).
    #[serde(deserialize_with = "opt_dose_number")]
    pub dose_number: Option<u32>,
    pub replace: Lists,
    pub add: Lists,
}

/// The lists an erratum may set or extend: a series' indications, or a target dose's lists.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Lists {
    pub indication: Vec<Indication>,
    pub age: Vec<AgeRule>,
    pub interval: Vec<IntervalRule>,
    pub allowable_interval: Vec<IntervalRule>,
    pub preferable_vaccine: Vec<VaccineRef>,
    pub allowable_vaccine: Vec<VaccineRef>,
    pub inadvertent_vaccine: Vec<VaccineRef>,
    pub conditional_skip: Vec<ConditionalSkip>,
}

fn opt_dose_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match opt_text(d)? {
        None => Ok(None),
        Some(raw) => raw
            .trim_start_matches("Dose")
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{raw}` is not a dose number"))),
    }
}

impl Lists {
    fn has_dose_lists(&self) -> bool {
        !(self.age.is_empty()
            && self.interval.is_empty()
            && self.allowable_interval.is_empty()
            && self.preferable_vaccine.is_empty()
            && self.allowable_vaccine.is_empty()
            && self.inadvertent_vaccine.is_empty()
            && self.conditional_skip.is_empty())
    }

    fn is_empty(&self) -> bool {
        self.indication.is_empty() && !self.has_dose_lists()
    }

    /// Sets (or, with `append`, extends) each list of `dose` this holds.
    fn apply_to_dose(&self, dose: &mut SeriesDose, append: bool) {
        fn set<T: Clone>(target: &mut Vec<T>, given: &[T], append: bool) {
            if given.is_empty() {
                return;
            }
            if !append {
                target.clear();
            }
            target.extend_from_slice(given);
        }
        set(&mut dose.age, &self.age, append);
        set(&mut dose.interval, &self.interval, append);
        set(
            &mut dose.allowable_interval,
            &self.allowable_interval,
            append,
        );
        set(
            &mut dose.preferable_vaccine,
            &self.preferable_vaccine,
            append,
        );
        set(&mut dose.allowable_vaccine, &self.allowable_vaccine, append);
        set(
            &mut dose.inadvertent_vaccine,
            &self.inadvertent_vaccine,
            append,
        );
        set(&mut dose.conditional_skip, &self.conditional_skip, append);
    }
}

impl Erratum {
    /// The case ids the erratum cites.
    pub fn case_ids(&self) -> impl Iterator<Item = &str> {
        self.cases
            .as_deref()
            .unwrap_or_default()
            .split([';', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    fn name(&self) -> &str {
        self.id.as_deref().unwrap_or("(no id)")
    }
}

impl Errata {
    /// Parses an errata file and checks that every erratum is cited (id, cases, restores,
    /// source, why), names its target and changes something.
    pub fn parse(xml: &str) -> Result<Errata, ScheduleError> {
        let errata: Errata = quick_xml::de::from_str(xml).map_err(|e| ScheduleError::Xml {
            file: "errata".into(),
            message: e.to_string(),
        })?;
        for e in &errata.erratum {
            let missing = [
                ("id", e.id.is_none()),
                ("cases", e.case_ids().next().is_none()),
                ("restores", e.restores.is_none()),
                ("source", e.source.is_none()),
                ("why", e.why.is_none()),
                ("antigen", e.antigen.is_none()),
                ("seriesName", e.series_name.is_none()),
            ]
            .into_iter()
            .filter_map(|(field, missing)| missing.then_some(field))
            .collect::<Vec<_>>();
            if !missing.is_empty() {
                return Err(invalid(e, format!("no {}", missing.join(", "))));
            }
            if e.replace.is_empty() && e.add.is_empty() {
                return Err(invalid(e, "changes nothing".into()));
            }
            let dose_lists = e.replace.has_dose_lists() || e.add.has_dose_lists();
            let series_lists = !e.replace.indication.is_empty() || !e.add.indication.is_empty();
            if dose_lists && e.dose_number.is_none() {
                return Err(invalid(e, "dose lists need a doseNumber".into()));
            }
            if series_lists && e.dose_number.is_some() {
                return Err(invalid(
                    e,
                    "indications belong to a series, not to a dose".into(),
                ));
            }
        }
        Ok(errata)
    }

    /// Applies every erratum, in order, to the antigens of a schedule. Each must find its
    /// antigen, series and dose exactly once: errata written for other data fail loudly.
    pub(crate) fn apply(&self, antigens: &mut [Antigen]) -> Result<(), ScheduleError> {
        for e in &self.erratum {
            let antigen_name = e.antigen.as_deref().unwrap_or_default();
            let series_name = e.series_name.as_deref().unwrap_or_default();
            let antigen = exactly_one(
                antigens.iter_mut().filter(|a| a.name == antigen_name),
                || invalid(e, format!("antigen {antigen_name}")),
            )?;
            let series = exactly_one(
                antigen
                    .data
                    .series
                    .iter_mut()
                    .filter(|s| s.series_name.as_deref() == Some(series_name)),
                || invalid(e, format!("series {series_name}")),
            )?;
            if !e.replace.indication.is_empty() {
                series.indication = e.replace.indication.clone();
            }
            series.indication.extend_from_slice(&e.add.indication);
            if let Some(number) = e.dose_number {
                let dose = exactly_one(
                    series
                        .series_dose
                        .iter_mut()
                        .filter(|d| d.dose_number == number),
                    || invalid(e, format!("dose {number} of {series_name}")),
                )?;
                e.replace.apply_to_dose(dose, false);
                e.add.apply_to_dose(dose, true);
            }
            antigen.refresh();
        }
        Ok(())
    }
}

fn invalid(e: &Erratum, what: String) -> ScheduleError {
    ScheduleError::Invalid(format!("erratum {}: {what}", e.name()))
}

/// The only item of `items`, or the error (`what` not found exactly once).
fn exactly_one<T>(
    mut items: impl Iterator<Item = T>,
    what: impl Fn() -> ScheduleError,
) -> Result<T, ScheduleError> {
    let first = items.next();
    match (first, items.next()) {
        (Some(only), None) => Ok(only),
        (None, _) => Err(not_found(what(), "not found")),
        (Some(_), Some(_)) => Err(not_found(what(), "found more than once")),
    }
}

fn not_found(error: ScheduleError, how: &str) -> ScheduleError {
    match error {
        ScheduleError::Invalid(message) => ScheduleError::Invalid(format!("{message} {how}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SCHEDULE: &str = "<scheduleSupportingData><vaccineGroups><vaccineGroup><name>X</name>\
        </vaccineGroup></vaccineGroups><vaccineGroupToAntigenMap><vaccineGroupMap><name>X</name>\
        <antigen>X</antigen></vaccineGroupMap></vaccineGroupToAntigenMap></scheduleSupportingData>";

    const ANTIGEN: &str = "<antigenSupportingData><series><seriesName>S</seriesName>\
        <targetDisease>X</targetDisease><vaccineGroup>X</vaccineGroup><seriesType>Standard</seriesType>\
        <seriesDose><doseNumber>Dose 1</doseNumber><age><minAge>2 years</minAge></age></seriesDose>\
        </series></antigenSupportingData>";

    fn erratum(body: &str) -> String {
        format!(
            "<cdsiErrata><erratum><id>e1</id><cases>C-1; C-2</cases><restores>v1</restores>\
             <source>s</source><why>w</why><antigen>X</antigen><seriesName>S</seriesName>{body}\
             </erratum></cdsiErrata>"
        )
    }

    fn antigens() -> Vec<Antigen> {
        vec![crate::schedule::parse_antigen(ANTIGEN).unwrap()]
    }

    #[test]
    fn replaces_a_dose_list_and_adds_an_indication() {
        let errata = Errata::parse(&erratum(
            "<doseNumber>Dose 1</doseNumber><replace><age><minAge>18 years</minAge>\
             <cessationDate>20221017</cessationDate></age><age><minAge>2 years</minAge>\
             <effectiveDate>20221018</effectiveDate></age></replace>",
        ))
        .unwrap();
        assert_eq!(
            errata.erratum[0].case_ids().collect::<Vec<_>>(),
            ["C-1", "C-2"]
        );
        let mut antigens = antigens();
        errata.apply(&mut antigens).unwrap();
        let ages = &antigens[0].data.series[0].series_dose[0].age;
        assert_eq!(ages.len(), 2);
        assert_eq!(ages[0].min_age, crate::span::Span::parse("18 years").ok());

        let errata = Errata::parse(&erratum(
            "<add><indication><observationCode><code>235</code></observationCode>\
             <beginAge>18 years</beginAge></indication></add>",
        ))
        .unwrap();
        errata.apply(&mut antigens).unwrap();
        let series = &antigens[0].data.series[0];
        assert_eq!(
            series.indication[0].observation_code.code.as_deref(),
            Some("235")
        );
        // The changed data still builds a schedule.
        let data = quick_xml::de::from_str(SCHEDULE).unwrap();
        let schedule = crate::Schedule::from_parts(data, antigens).unwrap();
        assert_eq!(schedule.antigens[0].data.series[0].indication.len(), 1);
    }

    #[test]
    fn refuses_uncited_misplaced_or_unmatched_errata() {
        let uncited =
            "<cdsiErrata><erratum><id>e</id><antigen>X</antigen><seriesName>S</seriesName>\
            <add><indication><observationCode><code>1</code></observationCode></indication></add>\
            </erratum></cdsiErrata>";
        let err = Errata::parse(uncited).unwrap_err().to_string();
        assert!(err.contains("no cases, restores, source, why"), "{err}");
        let err = Errata::parse(&erratum("")).unwrap_err().to_string();
        assert!(err.contains("changes nothing"), "{err}");
        let err = Errata::parse(&erratum(
            "<replace><age><minAge>1 year</minAge></age></replace>",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("need a doseNumber"), "{err}");
        let errata = Errata::parse(&erratum(
            "<doseNumber>Dose 2</doseNumber><replace><age><minAge>1 year</minAge></age></replace>",
        ))
        .unwrap();
        let err = errata.apply(&mut antigens()).unwrap_err().to_string();
        assert_eq!(err, "erratum e1: dose 2 of S not found");
    }
}
