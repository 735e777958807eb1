//! What the engine is told about one child: birth date, gender, doses given and clinical
//! observations (CDSi observation codes such as `080`, with an optional date).

use time::Date;

use crate::model::Cvx;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    #[default]
    Unknown,
}

impl Gender {
    /// FHIR `administrative-gender` codes; anything else is unknown.
    pub fn from_fhir(code: &str) -> Gender {
        match code {
            "female" | "F" => Gender::Female,
            "male" | "M" => Gender::Male,
            _ => Gender::Unknown,
        }
    }
}

/// A vaccine dose administered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoseAdministered {
    /// Caller's identifier, echoed in the evaluation (e.g. the FHIR Immunization id).
    pub id: String,
    pub date: Date,
    pub cvx: Cvx,
    pub mvx: Option<String>,
}

/// An active patient observation (CDSi observation code, e.g. `080` adverse reaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientObservation {
    pub code: String,
    pub date: Option<Date>,
}

/// The immunization history of one patient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientHistory {
    pub birth_date: Date,
    pub gender: Gender,
    pub doses: Vec<DoseAdministered>,
    pub observations: Vec<PatientObservation>,
}

impl PatientHistory {
    pub fn new(birth_date: Date) -> PatientHistory {
        PatientHistory {
            birth_date,
            gender: Gender::Unknown,
            doses: Vec::new(),
            observations: Vec::new(),
        }
    }
}
