//! The loaded schedule: antigen series, CVX→antigen map, vaccine groups and live-virus
//! conflicts, indexed for the engine. Built from XML text; reading files lives in `loader`.

use std::collections::HashMap;

use crate::model::{
    AntigenData, Association, Cvx, LiveVirusConflict, Observation, ScheduleData, Series,
};
use crate::plan::Plan;

/// Why a schedule could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: not valid CDSi supporting data: {message}")]
    Xml { file: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// One antigen with its series, as loaded from one antigen supporting-data file.
#[derive(Clone, Debug)]
pub struct Antigen {
    pub name: String,
    pub data: AntigenData,
    uses_completed_series: bool,
}

impl Antigen {
    /// Whether a conditional skip of this antigen asks whether another series is complete (the
    /// engine then evaluates the antigen twice).
    pub fn uses_completed_series(&self) -> bool {
        self.uses_completed_series
    }

    /// Normalises the data again and recomputes what is derived from it (after errata).
    pub(crate) fn refresh(&mut self) {
        drop_empty_elements(&mut self.data);
        self.uses_completed_series = uses_completed_series(&self.data);
    }
}

/// A vaccine group (e.g. `DTaP/Tdap/Td`) and the antigens it forecasts together.
#[derive(Clone, Debug)]
pub struct VaccineGroup {
    pub name: String,
    pub administer_full_vaccine_group: bool,
    pub antigens: Vec<String>,
}

/// A local product (a national code with no CVX of its own) and the CVX it is evaluated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductCode {
    pub code: String,
    pub name: String,
    pub cvx: Cvx,
}

/// Supporting data ready for the engine. Build once, share read-only across threads.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    pub antigens: Vec<Antigen>,
    pub vaccine_groups: Vec<VaccineGroup>,
    pub observations: Vec<Observation>,
    pub products: Vec<ProductCode>,
    /// Indexed by the CVX number: lookups on the hot path without hashing.
    cvx_antigens: Vec<Vec<Association>>,
    /// Indexed by the CVX number: true when the code is the previous vaccine of any conflict.
    conflicting: Vec<bool>,
    cvx_names: HashMap<Cvx, String>,
    conflicts: HashMap<(Cvx, Cvx), LiveVirusConflict>,
    /// The same data compiled for the engine (shared by clones).
    plan: std::sync::Arc<Plan>,
}

impl Schedule {
    /// Builds a schedule from the text of `ScheduleSupportingData.xml` and of the antigen files.
    pub fn from_xml_strs(
        schedule_xml: &str,
        antigen_xmls: &[&str],
    ) -> Result<Schedule, ScheduleError> {
        let schedule: ScheduleData =
            quick_xml::de::from_str(schedule_xml).map_err(|e| ScheduleError::Xml {
                file: "schedule supporting data".into(),
                message: e.to_string(),
            })?;
        let mut antigens = Vec::with_capacity(antigen_xmls.len());
        for (i, xml) in antigen_xmls.iter().enumerate() {
            antigens.push(parse_antigen(xml).map_err(|message| ScheduleError::Xml {
                file: format!("antigen supporting data #{}", i + 1),
                message,
            })?);
        }
        Schedule::from_parts(schedule, antigens)
    }

    pub(crate) fn from_parts(
        data: ScheduleData,
        antigens: Vec<Antigen>,
    ) -> Result<Schedule, ScheduleError> {
        let cvx_map: Vec<(Cvx, Vec<Association>)> = data
            .cvx_to_antigen_map
            .cvx_map
            .iter()
            .filter_map(|m| Some((m.cvx?, m.association.clone())))
            .collect();
        let mut cvx_antigens: Vec<Vec<Association>> = Vec::new();
        let mut cvx_names = HashMap::new();
        for map in data.cvx_to_antigen_map.cvx_map {
            let Some(cvx) = map.cvx else { continue };
            cvx_names.insert(cvx, map.short_description.unwrap_or_default());
            let index = usize::from(cvx.0);
            if cvx_antigens.len() <= index {
                cvx_antigens.resize_with(index + 1, Vec::new);
            }
            cvx_antigens[index] = map.association;
        }
        let conflict_list = data.live_virus_conflicts.live_virus_conflict.clone();
        let mut conflicts = HashMap::new();
        let mut conflicting = Vec::new();
        for c in data.live_virus_conflicts.live_virus_conflict {
            if let Some(p) = c.previous.cvx {
                let index = usize::from(p.0);
                if conflicting.len() <= index {
                    conflicting.resize(index + 1, false);
                }
                conflicting[index] = true;
            }
            if let (Some(p), Some(n)) = (c.previous.cvx, c.current.cvx) {
                conflicts.insert((p, n), c);
            }
        }
        let mut vaccine_groups = Vec::new();
        for g in data.vaccine_groups.vaccine_group {
            let Some(name) = g.name else { continue };
            let antigens = data
                .vaccine_group_to_antigen_map
                .vaccine_group_map
                .iter()
                .find(|m| m.name.as_deref() == Some(name.as_str()))
                .map(|m| m.antigen.clone())
                .unwrap_or_default();
            vaccine_groups.push(VaccineGroup {
                name,
                administer_full_vaccine_group: g.administer_full_vaccine_group,
                antigens,
            });
        }
        for group in &vaccine_groups {
            for antigen in &group.antigens {
                if !antigens.iter().any(|a| &a.name == antigen) {
                    return Err(ScheduleError::Invalid(format!(
                        "vaccine group {} names antigen {antigen}, which has no supporting data",
                        group.name
                    )));
                }
            }
        }
        let plan = Plan::build(
            &antigens
                .iter()
                .map(|a| (a.name.clone(), &a.data))
                .collect::<Vec<_>>(),
            &vaccine_groups
                .iter()
                .map(|g| g.antigens.clone())
                .collect::<Vec<_>>(),
            &cvx_map,
            &conflict_list,
        )
        .map_err(ScheduleError::Invalid)?;
        Ok(Schedule {
            antigens,
            vaccine_groups,
            observations: data.observations.observation,
            products: Vec::new(),
            cvx_antigens,
            conflicting,
            cvx_names,
            conflicts,
            plan: std::sync::Arc::new(plan),
        })
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Adds the local product table (see [`parse_product_codes`]).
    pub fn with_products(mut self, products: Vec<ProductCode>) -> Schedule {
        self.products = products;
        self
    }

    /// The antigens a CVX code carries, with the association age windows.
    pub fn antigens_of(&self, cvx: Cvx) -> &[Association] {
        self.cvx_antigens
            .get(usize::from(cvx.0))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The CDSi observation whose SNOMED CT coded values include every one of `codes`, when
    /// exactly one does (`None` for no code, no match or an ambiguous match).
    pub fn observation_for_snomed(&self, codes: &[&str]) -> Option<&str> {
        if codes.is_empty() {
            return None;
        }
        let mut found = self.observations.iter().filter(|o| {
            codes.iter().all(|code| {
                o.coded_values.coded_value.iter().any(|v| {
                    v.code.as_deref() == Some(*code)
                        && v.code_system
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case("SNOMED"))
                })
            })
        });
        let first = found.next()?;
        if found.next().is_some() {
            return None;
        }
        first.observation_code.as_deref()
    }

    /// The short description of a CVX code in this schedule, if known.
    pub fn cvx_name(&self, cvx: Cvx) -> Option<&str> {
        self.cvx_names.get(&cvx).map(String::as_str)
    }

    pub fn antigen(&self, name: &str) -> Option<&Antigen> {
        self.antigens.iter().find(|a| a.name == name)
    }

    pub fn live_virus_conflict(&self, previous: Cvx, current: Cvx) -> Option<&LiveVirusConflict> {
        if !self
            .conflicting
            .get(usize::from(previous.0))
            .copied()
            .unwrap_or(false)
        {
            return None;
        }
        self.conflicts.get(&(previous, current))
    }

    /// The CVX a product code stands for: a CVX number itself, or a local product code.
    pub fn resolve_product(&self, code: &str) -> Option<Cvx> {
        let code = code.trim();
        self.products
            .iter()
            .find(|p| p.code.eq_ignore_ascii_case(code))
            .map(|p| p.cvx)
            .or_else(|| Cvx::parse(code))
    }

    /// The China schedule shipped in `schedules/china`, compiled into the binary.
    pub fn china() -> Result<Schedule, ScheduleError> {
        macro_rules! antigen {
            ($name:literal) => {
                include_str!(concat!(
                    "../schedules/china/AntigenSupportingData- ",
                    $name,
                    ".xml"
                ))
            };
        }
        let antigens = [
            antigen!("Diphtheria"),
            antigen!("EV71"),
            antigen!("HepA"),
            antigen!("HepB"),
            antigen!("Hib"),
            antigen!("Influenza"),
            antigen!("JE"),
            antigen!("Measles"),
            antigen!("Meningococcal"),
            antigen!("Mumps"),
            antigen!("Pertussis"),
            antigen!("Pneumococcal"),
            antigen!("Polio"),
            antigen!("Rotavirus"),
            antigen!("Rubella"),
            antigen!("Tetanus"),
            antigen!("Tuberculosis"),
            antigen!("Varicella"),
        ];
        let schedule = Schedule::from_xml_strs(
            include_str!("../schedules/china/ScheduleSupportingData.xml"),
            &antigens,
        )?;
        Ok(schedule.with_products(parse_product_codes(include_str!(
            "../schedules/china/product-codes.csv"
        ))?))
    }

    pub fn all_series(&self) -> impl Iterator<Item = (&Antigen, &Series)> {
        self.antigens
            .iter()
            .flat_map(|a| a.data.series.iter().map(move |s| (a, s)))
    }
}

pub(crate) fn parse_antigen(xml: &str) -> Result<Antigen, String> {
    let mut data: AntigenData = quick_xml::de::from_str(xml).map_err(|e| e.to_string())?;
    drop_empty_elements(&mut data);
    let name = data
        .series
        .iter()
        .find_map(|s| s.target_disease.clone())
        .ok_or_else(|| "no series with a target disease".to_owned())?;
    let uses_completed_series = uses_completed_series(&data);
    Ok(Antigen {
        name,
        data,
        uses_completed_series,
    })
}

fn uses_completed_series(data: &AntigenData) -> bool {
    data.series.iter().flat_map(|s| &s.series_dose).any(|d| {
        d.conditional_skip
            .iter()
            .flat_map(|c| &c.set)
            .flat_map(|set| &set.condition)
            .any(|x| {
                x.condition_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("completed series"))
            })
    })
}

/// Empty elements such as `<interval/>` deserialize as all-default records; drop them.
fn drop_empty_elements(data: &mut AntigenData) {
    for series in &mut data.series {
        series
            .indication
            .retain(|i| i.observation_code.code.is_some());
        for dose in &mut series.series_dose {
            let real = |i: &crate::model::IntervalRule| {
                i.from_previous
                    || i.from_target_dose.is_some()
                    || !i.from_most_recent.is_empty()
                    || i.from_relevant_obs.code.is_some()
            };
            dose.interval.retain(real);
            dose.allowable_interval.retain(real);
            dose.preferable_vaccine.retain(|v| v.cvx.is_some());
            dose.allowable_vaccine.retain(|v| v.cvx.is_some());
            dose.inadvertent_vaccine.retain(|v| v.cvx.is_some());
            dose.conditional_skip.retain(|c| !c.set.is_empty());
            if dose
                .seasonal_recommendation
                .as_ref()
                .is_some_and(|s| s.start_date.is_none() && s.end_date.is_none())
            {
                dose.seasonal_recommendation = None;
            }
        }
    }
    data.contraindications
        .vaccine_group
        .contraindication
        .retain(|c| c.observation_code.is_some());
    data.contraindications
        .vaccine
        .contraindication
        .retain(|c| c.observation_code.is_some());
    data.immunity
        .clinical_history
        .retain(|c| c.guideline_code.is_some());
    data.immunity
        .date_of_birth
        .retain(|d| d.immunity_birth_date.is_some());
}

/// Parses a product table (`product-codes.csv`): a header row, then rows whose first column is the local product
/// code, with columns named `name` and `cvx` (other columns are documentation). Fields may be
/// double-quoted.
pub fn parse_product_codes(text: &str) -> Result<Vec<ProductCode>, ScheduleError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv_line(lines.next().unwrap_or_default());
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            ScheduleError::Invalid(format!("product-codes.csv: column `{name}` missing"))
        })
    };
    let (name_col, cvx_col) = (col("name")?, col("cvx")?);
    let mut products = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields = split_csv_line(line);
        let field = |c: usize| fields.get(c).map(String::as_str).unwrap_or_default();
        let cvx = Cvx::parse(field(cvx_col)).ok_or_else(|| {
            ScheduleError::Invalid(format!(
                "product-codes.csv row {}: bad cvx `{}`",
                i + 2,
                field(cvx_col)
            ))
        })?;
        products.push(ProductCode {
            code: field(0).to_owned(),
            name: field(name_col).to_owned(),
            cvx,
        });
    }
    Ok(products)
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().map(|f| f.push('"')).unwrap_or_default();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().map(|f| f.push(c)).unwrap_or_default(),
        }
    }
    fields.into_iter().map(|f| f.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn broken_xml_names_the_file() {
        let err = Schedule::from_xml_strs("<scheduleSupportingData>", &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("schedule supporting data:"),
            "{err}"
        );
        let schedule = "<scheduleSupportingData><vaccineGroups><vaccineGroup><name>X</name></vaccineGroup></vaccineGroups>\
            <vaccineGroupToAntigenMap><vaccineGroupMap><name>X</name><antigen>Nothing</antigen></vaccineGroupMap>\
            </vaccineGroupToAntigenMap></scheduleSupportingData>";
        let err = Schedule::from_xml_strs(schedule, &[]).unwrap_err();
        assert!(err.to_string().contains("antigen Nothing"), "{err}");
    }

    #[test]
    fn product_table_reads_quoted_fields_and_rejects_bad_codes() {
        let products = parse_product_codes("code,name,cvx\nJE-L,\"JE, live\",9001\n").unwrap();
        assert_eq!(
            products,
            vec![ProductCode {
                code: "JE-L".into(),
                name: "JE, live".into(),
                cvx: Cvx(9001)
            }]
        );
        assert!(parse_product_codes("code,name,cvx\nX,Y,abc\n").is_err());
        assert!(parse_product_codes("code,title\n").is_err());
    }
}
