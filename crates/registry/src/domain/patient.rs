//! A patient as entered (raw text from a form, the API or FHIR) and as validated, and the
//! rule for "this is probably someone already registered".
use serde::{Deserialize, Serialize};
use time::Date;

use tianshan_platform::{FieldError, Msg};

use super::names;
use super::resident_id::ResidentId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
    Other,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            "other" => Some(Sex::Other),
            "unknown" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// GB/T 3304 codes of the ethnic groups most present in Xinjiang, plus 97 (other) and
/// 98 (foreign origin). Labels come from the catalogue (`ethnicity.<code>`).
pub const ETHNICITIES: [&str; 16] = [
    "01", "05", "17", "03", "29", "02", "38", "41", "43", "44", "11", "26", "31", "50", "97", "98",
];

/// Guardian of a child or dependent adult.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuardianInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relationship: String,
    #[serde(default)]
    pub phone: String,
    /// The guardian's own patient record, when registered.
    #[serde(default)]
    pub patient_id: Option<String>,
}

/// A patient as typed: every field is text, so a refused form can be shown back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatientInput {
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub name_ug: String,
    #[serde(default)]
    pub name_latin: String,
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub ethnicity: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub org_code: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub guardians: Vec<GuardianInput>,
}

/// A patient that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDraft {
    pub family_name: String,
    pub given_name: String,
    pub full_name: String,
    pub name_ug: String,
    pub name_latin: String,
    pub sex: Sex,
    pub birth_date: Option<Date>,
    pub ethnicity: String,
    pub id_number: Option<ResidentId>,
    pub phone: String,
    pub org_code: String,
    pub address: String,
    pub guardians: Vec<GuardianInput>,
}

impl PatientDraft {
    pub fn search_terms(&self) -> Vec<String> {
        names::search_terms(&[&self.full_name, &self.name_ug, &self.name_latin])
    }
}

pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).ok()
}

fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    p.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
        && (5..=20).contains(&digits)
}

/// The longest value each patient field may hold (characters), and the most guardians one
/// patient may have: the one place these maxima are written (SECURITY.md and the API
/// documentation quote them).
pub mod limits {
    pub const NAME: usize = 100;
    pub const ADDRESS: usize = 300;
    pub const PHONE: usize = 30;
    pub const ORG_CODE: usize = 40;
    pub const ID_NUMBER: usize = 30;
    pub const ETHNICITY: usize = 10;
    pub const GUARDIANS: usize = 10;
    pub const GUARDIAN_NAME: usize = 100;
    pub const GUARDIAN_RELATIONSHIP: usize = 40;
    pub const GUARDIAN_RECORD: usize = 64;
}

fn too_long(errs: &mut Vec<FieldError>, field: String, value: &str, max: usize) -> bool {
    if value.chars().count() > max {
        errs.push(FieldError::new(
            field,
            Msg::new("patient.err.too_long_max").arg("max", max.to_string()),
        ));
        true
    } else {
        false
    }
}

impl PatientInput {
    /// Check every field and return all problems at once, each tied to its field.
    pub fn validate(&self, today: Date) -> Result<PatientDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let err = |errs: &mut Vec<FieldError>, f: &str, key: &'static str| {
            errs.push(FieldError::new(f, Msg::new(key)))
        };
        let trim = |s: &str| s.trim().to_string();
        let (family, given) = (trim(&self.family_name), trim(&self.given_name));
        let (name_ug, name_latin) = (trim(&self.name_ug), trim(&self.name_latin));
        let mut full = names::full_name(&family, &given);
        if full.is_empty() {
            full = if !name_ug.is_empty() {
                name_ug.clone()
            } else {
                name_latin.clone()
            };
        }
        if full.is_empty() {
            err(&mut errs, "given_name", "patient.err.name_required");
        }
        for (f, v) in [
            ("family_name", &family),
            ("given_name", &given),
            ("name_ug", &name_ug),
            ("name_latin", &name_latin),
        ] {
            if v.chars().count() > limits::NAME {
                err(&mut errs, f, "patient.err.too_long");
            }
        }
        let before = errs.len();
        for (f, v, max) in [
            ("address", &self.address, limits::ADDRESS),
            ("phone", &self.phone, limits::PHONE),
            ("org_code", &self.org_code, limits::ORG_CODE),
            ("id_number", &self.id_number, limits::ID_NUMBER),
            ("ethnicity", &self.ethnicity, limits::ETHNICITY),
            ("sex", &self.sex, limits::ETHNICITY),
            ("birth_date", &self.birth_date, limits::ETHNICITY * 3),
        ] {
            if too_long(&mut errs, f.to_string(), v.trim(), max) {
                // One message per field is enough; the other checks would only repeat it.
                return Err(errs);
            }
        }
        if self.guardians.len() > limits::GUARDIANS {
            errs.push(FieldError::new(
                "guardians",
                Msg::new("patient.err.guardians_many").arg("max", limits::GUARDIANS.to_string()),
            ));
            return Err(errs);
        }
        for (i, g) in self.guardians.iter().enumerate() {
            let fields = [
                ("name", &g.name, limits::GUARDIAN_NAME),
                (
                    "relationship",
                    &g.relationship,
                    limits::GUARDIAN_RELATIONSHIP,
                ),
                ("phone", &g.phone, limits::PHONE),
            ];
            for (f, v, max) in fields {
                too_long(&mut errs, format!("guardians[{i}].{f}"), v.trim(), max);
            }
            if let Some(p) = &g.patient_id {
                too_long(
                    &mut errs,
                    format!("guardians[{i}].patient_id"),
                    p.trim(),
                    limits::GUARDIAN_RECORD,
                );
            }
        }
        if errs.len() > before {
            return Err(errs);
        }
        let sex = Sex::parse(&self.sex);
        if sex.is_none() {
            err(&mut errs, "sex", "patient.err.sex");
        }
        let birth = if self.birth_date.trim().is_empty() {
            None
        } else {
            match parse_date(&self.birth_date) {
                None => {
                    errs.push(FieldError::new(
                        "birth_date",
                        Msg::new("patient.err.birth_format").arg("value", self.birth_date.trim()),
                    ));
                    None
                }
                Some(d) if d > today => {
                    err(&mut errs, "birth_date", "patient.err.birth_future");
                    None
                }
                Some(d) if d.year() < 1880 => {
                    err(&mut errs, "birth_date", "patient.err.birth_past");
                    None
                }
                Some(d) => Some(d),
            }
        };
        let id_number = if self.id_number.trim().is_empty() {
            None
        } else {
            match ResidentId::parse(&self.id_number) {
                Ok(id) => {
                    if let Some(b) = birth {
                        if b != id.birth_date() {
                            errs.push(FieldError::new(
                                "id_number",
                                Msg::new("patient.err.id_birth_mismatch")
                                    .arg("date", id.birth_date().to_string()),
                            ));
                        }
                    }
                    let id_sex = if id.is_male() { Sex::Male } else { Sex::Female };
                    if matches!(sex, Some(s @ (Sex::Male | Sex::Female)) if s != id_sex) {
                        err(&mut errs, "id_number", "patient.err.id_sex_mismatch");
                    }
                    Some(id)
                }
                Err(e) => {
                    errs.push(FieldError::new("id_number", e.msg()));
                    None
                }
            }
        };
        // A valid ID number gives the birth date when none was typed.
        let birth = birth.or_else(|| id_number.as_ref().map(ResidentId::birth_date));
        let phone = trim(&self.phone);
        if !phone.is_empty() && !valid_phone(&phone) {
            err(&mut errs, "phone", "patient.err.phone");
        }
        let ethnicity = trim(&self.ethnicity);
        if !ethnicity.is_empty() && !ETHNICITIES.contains(&ethnicity.as_str()) {
            err(&mut errs, "ethnicity", "patient.err.ethnicity");
        }
        let org_code = trim(&self.org_code);
        if org_code.is_empty() {
            err(&mut errs, "org_code", "patient.err.org_required");
        }
        let mut guardians = Vec::new();
        for (i, g) in self.guardians.iter().enumerate() {
            let g = GuardianInput {
                name: trim(&g.name),
                relationship: trim(&g.relationship),
                phone: trim(&g.phone),
                patient_id: g
                    .patient_id
                    .as_ref()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            };
            if g.name.is_empty() && g.patient_id.is_none() && g.phone.is_empty() {
                continue;
            }
            if g.name.is_empty() && g.patient_id.is_none() {
                errs.push(FieldError::new(
                    format!("guardians[{i}].name"),
                    Msg::new("patient.err.guardian_name"),
                ));
            }
            if !g.phone.is_empty() && !valid_phone(&g.phone) {
                errs.push(FieldError::new(
                    format!("guardians[{i}].phone"),
                    Msg::new("patient.err.phone"),
                ));
            }
            guardians.push(g);
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(PatientDraft {
            family_name: family,
            given_name: given,
            full_name: full,
            name_ug,
            name_latin,
            sex: sex.unwrap_or(Sex::Unknown),
            birth_date: birth,
            ethnicity,
            id_number,
            phone,
            org_code,
            address: trim(&self.address),
            guardians,
        })
    }
}

/// Why an existing record looks like the one being registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKind {
    /// Same resident ID number: the same person; registering again is refused.
    SameIdNumber,
    /// Same name, birth date and village: probably the same person; the user may confirm.
    SameNameBirthPlace,
}

/// The facts of an existing record that duplicate detection compares.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub id_number: Option<&'a str>,
    pub full_name: &'a str,
    pub birth_date: Option<&'a str>,
    pub org_code: &'a str,
}

pub fn duplicate_kind(new: &PatientDraft, old: &Existing<'_>) -> Option<DuplicateKind> {
    if let (Some(a), Some(b)) = (new.id_number.as_ref(), old.id_number) {
        if a.as_str() == b {
            return Some(DuplicateKind::SameIdNumber);
        }
    }
    let birth = new.birth_date.map(|d| d.to_string());
    if names::normalize(&new.full_name) == names::normalize(old.full_name)
        && birth.is_some()
        && birth.as_deref() == old.birth_date
        && new.org_code == old.org_code
    {
        return Some(DuplicateKind::SameNameBirthPlace);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 22);

    fn input() -> PatientInput {
        PatientInput {
            family_name: "张".into(),
            given_name: "三".into(),
            sex: "male".into(),
            birth_date: "1990-03-07".into(),
            org_code: "653121100201".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_patient_passes() {
        let d = input().validate(TODAY).unwrap();
        assert_eq!(d.full_name, "张三");
        assert!(d.search_terms().contains(&"zs".to_string()));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let bad = PatientInput {
            family_name: "".into(),
            given_name: "".into(),
            sex: "x".into(),
            birth_date: "2030-01-01".into(),
            phone: "abc".into(),
            org_code: "".into(),
            ..Default::default()
        };
        let errs = bad.validate(TODAY).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["given_name", "sex", "birth_date", "phone", "org_code"]
        );
    }

    #[test]
    fn id_number_must_agree_with_birth_date_and_sex() {
        let mut i = input();
        i.id_number = "11010519491231002X".into();
        let errs = i.validate(TODAY).unwrap_err();
        assert!(errs
            .iter()
            .any(|e| e.msg.key == "patient.err.id_birth_mismatch"));
        assert!(errs
            .iter()
            .any(|e| e.msg.key == "patient.err.id_sex_mismatch"));
        i.birth_date = String::new();
        i.sex = "female".into();
        let d = i.validate(TODAY).unwrap();
        assert_eq!(d.birth_date, Some(date!(1949 - 12 - 31)));
    }

    #[test]
    fn wrong_check_digit_is_refused_naming_the_problem() {
        let mut i = input();
        i.birth_date = String::new();
        i.sex = "female".into();
        i.id_number = "110105194912310021".into();
        let errs = i.validate(TODAY).unwrap_err();
        assert_eq!(errs[0].field, "id_number");
        assert_eq!(errs[0].msg.key, "patient.err.id_check");
    }

    #[test]
    fn duplicates_by_id_or_by_name_birth_village() {
        let mut i = input();
        i.id_number = "653121199003070011".into();
        // Make the ID valid for the test data: compute its check char.
        let first17: Vec<u32> = "65312119900307001"
            .chars()
            .map(|c| c.to_digit(10).unwrap())
            .collect();
        i.id_number = format!(
            "65312119900307001{}",
            super::super::resident_id::check_char(&first17)
        );
        let d = i.validate(TODAY).unwrap();
        let same_id = Existing {
            id_number: Some(d.id_number.as_ref().unwrap().as_str()),
            full_name: "王五",
            birth_date: None,
            org_code: "x",
        };
        assert_eq!(
            duplicate_kind(&d, &same_id),
            Some(DuplicateKind::SameIdNumber)
        );
        let same_person = Existing {
            id_number: None,
            full_name: "张 三",
            birth_date: Some("1990-03-07"),
            org_code: "653121100201",
        };
        assert_eq!(
            duplicate_kind(&d, &same_person),
            Some(DuplicateKind::SameNameBirthPlace)
        );
        let other_village = Existing {
            org_code: "653121100202",
            ..same_person.clone()
        };
        assert_eq!(duplicate_kind(&d, &other_village), None);
        let other_birth = Existing {
            birth_date: Some("1991-03-07"),
            ..same_person
        };
        assert_eq!(duplicate_kind(&d, &other_birth), None);
    }
}
