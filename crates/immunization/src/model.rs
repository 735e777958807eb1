//! Typed CDSi supporting data: one antigen file (`antigenSupportingData`) and the schedule file
//! (`scheduleSupportingData`), deserialized straight from the CDC XML shape with values parsed.

use serde::{Deserialize, Deserializer};
use time::Date;

use crate::span::{parse_date, Span};

/// A CVX code (numeric in the CDC code set; codes from 9000 up are local to a schedule,
/// for products that have no CVX, see docs/immunization.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cvx(pub u16);

impl Cvx {
    pub fn parse(text: &str) -> Option<Cvx> {
        text.trim().parse::<u16>().ok().map(Cvx)
    }
}

impl std::fmt::Display for Cvx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

fn text_or_none(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("n/a"))
}

pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(text_or_none(Option::<String>::deserialize(d)?))
}

pub(crate) fn opt_span<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Span>, D::Error> {
    match text_or_none(Option::<String>::deserialize(d)?) {
        None => Ok(None),
        Some(s) => Span::parse(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    match text_or_none(Option::<String>::deserialize(d)?) {
        None => Ok(None),
        Some(s) => parse_date(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

pub(crate) fn opt_cvx<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cvx>, D::Error> {
    match text_or_none(Option::<String>::deserialize(d)?) {
        None => Ok(None),
        Some(s) => Cvx::parse(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a CVX code"))),
    }
}

pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match text_or_none(Option::<String>::deserialize(d)?) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a number"))),
    }
}

/// `Yes`/`Y`/`No`/`N`; empty is false.
pub(crate) fn yes_no<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(text_or_none(Option::<String>::deserialize(d)?)
        .is_some_and(|s| s.eq_ignore_ascii_case("yes") || s.eq_ignore_ascii_case("y")))
}

/// `01;09; 20` into CVX codes.
pub(crate) fn cvx_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cvx>, D::Error> {
    let raw = text_or_none(Option::<String>::deserialize(d)?).unwrap_or_default();
    raw.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Cvx::parse(s)
                .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a CVX code")))
        })
        .collect()
}

/// `Dose 3` into 3.
pub(crate) fn dose_number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let raw = text_or_none(Option::<String>::deserialize(d)?).unwrap_or_default();
    raw.trim_start_matches("Dose")
        .trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("`{raw}` is not a dose number")))
}

fn non_empty_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<Option<String>>::deserialize(d)?
        .into_iter()
        .filter_map(text_or_none)
        .collect())
}

macro_rules! data {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
    };
}

data!(
    /// One `AntigenSupportingData- <Antigen>.xml` file.
    AntigenData {
        immunity: Immunity,
        contraindications: Contraindications,
        series: Vec<Series>,
    }
);

data!(Immunity { clinical_history: Vec<ClinicalHistory>, date_of_birth: Vec<BirthImmunity> });
data!(ClinicalHistory {
    #[serde(deserialize_with = "opt_text")] guideline_code: Option<String>,
    #[serde(deserialize_with = "opt_text")] guideline_title: Option<String>,
});
data!(BirthImmunity {
    #[serde(deserialize_with = "opt_date")] immunity_birth_date: Option<Date>,
    #[serde(deserialize_with = "opt_text")] birth_country: Option<String>,
    exclusion: Vec<Exclusion>,
});
data!(Exclusion {
    #[serde(deserialize_with = "opt_text")] exclusion_code: Option<String>,
    #[serde(deserialize_with = "opt_text")] exclusion_title: Option<String>,
});
data!(Contraindications {
    vaccine_group: ContraindicationList,
    vaccine: ContraindicationList
});
data!(ContraindicationList { contraindication: Vec<Contraindication> });
data!(Contraindication {
    #[serde(deserialize_with = "opt_text")] observation_code: Option<String>,
    #[serde(deserialize_with = "opt_text")] observation_title: Option<String>,
    #[serde(deserialize_with = "opt_text")] contraindication_text: Option<String>,
    #[serde(deserialize_with = "opt_span")] begin_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] end_age: Option<Span>,
    contraindicated_vaccine: Vec<VaccineRef>,
});

data!(
    /// A vaccine type with an optional age window (preferable, allowable, inadvertent,
    /// contraindicated vaccines share this shape).
    VaccineRef {
        #[serde(deserialize_with = "opt_text")] vaccine_type: Option<String>,
        #[serde(deserialize_with = "opt_cvx")] cvx: Option<Cvx>,
        #[serde(deserialize_with = "opt_span")] begin_age: Option<Span>,
        #[serde(deserialize_with = "opt_span")] end_age: Option<Span>,
        #[serde(deserialize_with = "opt_text")] trade_name: Option<String>,
        #[serde(deserialize_with = "opt_text")] mvx: Option<String>,
        #[serde(deserialize_with = "yes_no")] forecast_vaccine_type: bool,
    }
);

data!(
    /// One antigen series: a path to immunity.
    Series {
        #[serde(deserialize_with = "opt_text")] series_name: Option<String>,
        #[serde(deserialize_with = "opt_text")] target_disease: Option<String>,
        #[serde(deserialize_with = "opt_text")] vaccine_group: Option<String>,
        #[serde(deserialize_with = "non_empty_strings")] series_admin_guidance: Vec<String>,
        #[serde(deserialize_with = "opt_text")] series_type: Option<String>,
        #[serde(deserialize_with = "opt_u32")] equivalent_series_groups: Option<u32>,
        #[serde(deserialize_with = "non_empty_strings")] required_gender: Vec<String>,
        select_series: SelectSeries,
        indication: Vec<Indication>,
        series_dose: Vec<SeriesDose>,
    }
);
data!(SelectSeries {
    #[serde(deserialize_with = "yes_no")] default_series: bool,
    #[serde(deserialize_with = "yes_no")] product_path: bool,
    #[serde(deserialize_with = "opt_text")] series_group_name: Option<String>,
    #[serde(deserialize_with = "opt_u32")] series_group: Option<u32>,
    #[serde(deserialize_with = "opt_text")] series_priority: Option<String>,
    #[serde(deserialize_with = "opt_u32")] series_preference: Option<u32>,
    #[serde(deserialize_with = "opt_span")] min_age_to_start: Option<Span>,
    #[serde(deserialize_with = "opt_span")] max_age_to_start: Option<Span>,
});
data!(Indication {
    observation_code: ObservationRef,
    #[serde(deserialize_with = "opt_text")] description: Option<String>,
    #[serde(deserialize_with = "opt_span")] begin_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] end_age: Option<Span>,
});
data!(ObservationRef {
    #[serde(deserialize_with = "opt_text")] text: Option<String>,
    #[serde(deserialize_with = "opt_text")] code: Option<String>,
});

data!(
    /// One target dose of a series.
    SeriesDose {
        #[serde(deserialize_with = "dose_number")] dose_number: u32,
        age: Vec<AgeRule>,
        interval: Vec<IntervalRule>,
        allowable_interval: Vec<IntervalRule>,
        preferable_vaccine: Vec<VaccineRef>,
        allowable_vaccine: Vec<VaccineRef>,
        inadvertent_vaccine: Vec<VaccineRef>,
        conditional_skip: Vec<ConditionalSkip>,
        #[serde(deserialize_with = "yes_no")] recurring_dose: bool,
        seasonal_recommendation: Option<Season>,
    }
);
data!(AgeRule {
    #[serde(deserialize_with = "opt_span")] abs_min_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] min_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] earliest_rec_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] latest_rec_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] max_age: Option<Span>,
    #[serde(deserialize_with = "opt_date")] effective_date: Option<Date>,
    #[serde(deserialize_with = "opt_date")] cessation_date: Option<Date>,
});
data!(
    /// A preferable or allowable interval (allowable ones only use `abs_min_int`).
    IntervalRule {
        #[serde(deserialize_with = "yes_no")] from_previous: bool,
        #[serde(deserialize_with = "opt_u32")] from_target_dose: Option<u32>,
        #[serde(deserialize_with = "cvx_list")] from_most_recent: Vec<Cvx>,
        from_relevant_obs: ObservationRef,
        #[serde(deserialize_with = "opt_span")] abs_min_int: Option<Span>,
        #[serde(deserialize_with = "opt_span")] min_int: Option<Span>,
        #[serde(deserialize_with = "opt_span")] earliest_rec_int: Option<Span>,
        #[serde(deserialize_with = "opt_span")] latest_rec_int: Option<Span>,
        #[serde(deserialize_with = "opt_text")] interval_priority: Option<String>,
        #[serde(deserialize_with = "opt_date")] effective_date: Option<Date>,
        #[serde(deserialize_with = "opt_date")] cessation_date: Option<Date>,
    }
);
data!(ConditionalSkip {
    #[serde(deserialize_with = "opt_text")] context: Option<String>,
    #[serde(deserialize_with = "opt_text")] set_logic: Option<String>,
    set: Vec<SkipSet>,
});
data!(SkipSet {
    #[serde(rename = "setID", deserialize_with = "opt_text")] set_id: Option<String>,
    #[serde(deserialize_with = "opt_text")] set_description: Option<String>,
    #[serde(deserialize_with = "opt_date")] effective_date: Option<Date>,
    #[serde(deserialize_with = "opt_date")] cessation_date: Option<Date>,
    #[serde(deserialize_with = "opt_text")] condition_logic: Option<String>,
    condition: Vec<SkipCondition>,
});
data!(SkipCondition {
    #[serde(rename = "conditionID", deserialize_with = "opt_text")] condition_id: Option<String>,
    #[serde(deserialize_with = "opt_text")] condition_type: Option<String>,
    #[serde(deserialize_with = "opt_date")] start_date: Option<Date>,
    #[serde(deserialize_with = "opt_date")] end_date: Option<Date>,
    #[serde(deserialize_with = "opt_span")] begin_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] end_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] interval: Option<Span>,
    #[serde(deserialize_with = "opt_u32")] dose_count: Option<u32>,
    #[serde(deserialize_with = "opt_text")] dose_type: Option<String>,
    #[serde(deserialize_with = "opt_text")] dose_count_logic: Option<String>,
    #[serde(deserialize_with = "cvx_list")] vaccine_types: Vec<Cvx>,
    #[serde(deserialize_with = "opt_text")] series_groups: Option<String>,
});
data!(Season {
    #[serde(deserialize_with = "opt_date")] start_date: Option<Date>,
    #[serde(deserialize_with = "opt_date")] end_date: Option<Date>,
});

data!(
    /// The `ScheduleSupportingData.xml` file.
    ScheduleData {
        live_virus_conflicts: LiveVirusConflicts,
        vaccine_groups: VaccineGroups,
        vaccine_group_to_antigen_map: VaccineGroupMaps,
        cvx_to_antigen_map: CvxMaps,
        observations: Observations,
    }
);
data!(LiveVirusConflicts { live_virus_conflict: Vec<LiveVirusConflict> });
data!(LiveVirusConflict {
    previous: VaccineRef,
    current: VaccineRef,
    #[serde(deserialize_with = "opt_span")] conflict_begin_interval: Option<Span>,
    #[serde(deserialize_with = "opt_span")] min_conflict_end_interval: Option<Span>,
    #[serde(deserialize_with = "opt_span")] conflict_end_interval: Option<Span>,
});
data!(VaccineGroups { vaccine_group: Vec<VaccineGroupDef> });
data!(VaccineGroupDef {
    #[serde(deserialize_with = "opt_text")] name: Option<String>,
    #[serde(deserialize_with = "yes_no")] administer_full_vaccine_group: bool,
});
data!(VaccineGroupMaps { vaccine_group_map: Vec<VaccineGroupMap> });
data!(VaccineGroupMap {
    #[serde(deserialize_with = "opt_text")] name: Option<String>,
    #[serde(deserialize_with = "non_empty_strings")] antigen: Vec<String>,
});
data!(CvxMaps { cvx_map: Vec<CvxMap> });
data!(CvxMap {
    #[serde(deserialize_with = "opt_cvx")] cvx: Option<Cvx>,
    #[serde(deserialize_with = "opt_text")] short_description: Option<String>,
    association: Vec<Association>,
});
data!(Association {
    #[serde(deserialize_with = "opt_text")] antigen: Option<String>,
    #[serde(deserialize_with = "opt_span")] association_begin_age: Option<Span>,
    #[serde(deserialize_with = "opt_span")] association_end_age: Option<Span>,
});
data!(Observations { observation: Vec<Observation> });
data!(Observation {
    #[serde(deserialize_with = "opt_text")] observation_code: Option<String>,
    #[serde(deserialize_with = "opt_text")] observation_title: Option<String>,
    #[serde(deserialize_with = "opt_text")] indication_text: Option<String>,
    #[serde(deserialize_with = "opt_text")] contraindication_text: Option<String>,
    coded_values: CodedValues,
});
data!(CodedValues { coded_value: Vec<CodedValue> });
data!(CodedValue {
    #[serde(deserialize_with = "opt_text")] code: Option<String>,
    #[serde(deserialize_with = "opt_text")] code_system: Option<String>,
    #[serde(deserialize_with = "opt_text")] text: Option<String>,
});

/// True when a supporting-data element with these effective/cessation dates applies on `date`
/// (RELEVANT-1/2; missing dates mean 1900-01-01 and 2999-12-31).
pub fn in_effect(effective: Option<Date>, cessation: Option<Date>, date: Date) -> bool {
    effective.is_none_or(|e| date >= e) && cessation.is_none_or(|c| date <= c)
}
