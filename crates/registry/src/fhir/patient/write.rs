//! A registry patient written as a FHIR Patient, straight from its row.
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use tianshan_platform::fhir::Resource;
use tianshan_platform::AppError;

use super::{ETHNICITY_SYSTEM, ETHNICITY_URL, RESIDENT_ID_SYSTEM};
use crate::store::patients::{GuardianRow, PatientRow};

/// The registry patient as a FHIR Patient, with the kept elements merged back. It is
/// serialised straight from the row: a search page writes twenty of these as text, without
/// building and dropping a JSON tree for each.
pub struct FhirPatient<'a> {
    pub row: &'a PatientRow,
    pub guardians: &'a [GuardianRow],
}

impl FhirPatient<'_> {
    /// As JSON text, ready to send or to put in a Bundle.
    pub fn resource(&self) -> Result<Resource, AppError> {
        Resource::text("Patient", &self.row.id, self)
    }
}

/// The patient as a JSON tree (the answer to a write inside a Bundle).
pub fn to_fhir(p: &PatientRow, guardians: &[GuardianRow]) -> Result<Value, AppError> {
    serde_json::to_value(FhirPatient { row: p, guardians })
        .map_err(|e| AppError::Internal(format!("Patient/{} as JSON: {e}", p.id)))
}

/// The patient as JSON text.
pub fn resource(p: &PatientRow, guardians: &[GuardianRow]) -> Result<Resource, AppError> {
    FhirPatient { row: p, guardians }.resource()
}

/// Moved out of the kept elements, not copied: each list is used once.
fn take_list(extra: &mut Map<String, Value>, k: &str) -> Vec<Value> {
    match extra.remove(k) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

/// A list: the record's own entries, then the ones kept as they came.
struct List<'a, T>(&'a [Option<T>], &'a [Value]);

impl<T: Serialize> List<'_, T> {
    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none) && self.1.is_empty()
    }
}

impl<T: Serialize> Serialize for List<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(None)?;
        for e in self.0.iter().flatten() {
            q.serialize_element(e)?;
        }
        for e in self.1 {
            q.serialize_element(e)?;
        }
        q.end()
    }
}

#[derive(Serialize)]
struct Name<'a> {
    #[serde(rename = "use")]
    use_: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    family: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    given: Option<[&'a str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extension: Option<[Language; 1]>,
}

#[derive(Serialize)]
struct Language {
    url: &'static str,
    #[serde(rename = "valueCode")]
    value_code: &'static str,
}

#[derive(Serialize)]
struct Identifier<'a> {
    #[serde(rename = "use")]
    use_: &'static str,
    system: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct Phone<'a> {
    system: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'static str,
    code: &'a str,
}

#[derive(Serialize)]
struct Ethnicity<'a> {
    url: &'static str,
    #[serde(rename = "valueCoding")]
    value_coding: Coding<'a>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Contact<'a> {
    name: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship: Option<[Text<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telecom: Option<[Phone<'a>; 1]>,
}

fn phone(value: &str) -> Option<Phone<'_>> {
    (!value.is_empty()).then_some(Phone {
        system: "phone",
        value,
    })
}

/// The guardians as `Patient.contact`.
struct Guardians<'a>(&'a [GuardianRow]);

impl Serialize for Guardians<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|g| Contact {
            name: Text { text: &g.name },
            relationship: (!g.relationship.is_empty()).then_some([Text {
                text: &g.relationship,
            }]),
            telecom: phone(&g.phone).map(|p| [p]),
        }))
    }
}

struct Meta<'a>(&'a PatientRow);

impl Serialize for Meta<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("versionId", &format_args!("{}", self.0.version))?;
        m.serialize_entry("lastUpdated", &self.0.updated_at)?;
        m.end()
    }
}

struct OrgRef<'a>(&'a str);

impl Serialize for OrgRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("reference", &format_args!("Organization/{}", self.0))?;
        m.end()
    }
}

impl Serialize for FhirPatient<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.row;
        // What the record keeps beyond the columns; most records keep nothing (`{}`).
        let mut extra: Map<String, Value> = match p.fhir_extra.as_str() {
            "" | "{}" => Map::new(),
            text => serde_json::from_str(text).unwrap_or_default(),
        };
        let more_names = take_list(&mut extra, "name");
        let more_ids = take_list(&mut extra, "identifier");
        let more_telecom = take_list(&mut extra, "telecom");
        let more_ext = take_list(&mut extra, "extension");
        let address = extra.remove("address");
        let contact = extra.remove("contact");
        let has_name = !p.family_name.is_empty() || !p.given_name.is_empty();
        let names = [
            has_name.then(|| Name {
                use_: "official",
                text: &p.full_name,
                family: &p.family_name,
                given: (!p.given_name.is_empty()).then_some([p.given_name.as_str()]),
                extension: None,
            }),
            (!p.name_ug.is_empty()).then(|| Name {
                use_: "usual",
                text: &p.name_ug,
                family: "",
                given: None,
                extension: Some([Language {
                    url: "http://hl7.org/fhir/StructureDefinition/language",
                    value_code: "ug",
                }]),
            }),
            (!p.name_latin.is_empty()).then(|| Name {
                use_: "usual",
                text: &p.name_latin,
                family: "",
                given: None,
                extension: None,
            }),
        ];
        let names = List(&names, &more_names);
        let ids = [p.id_number.as_deref().map(|value| Identifier {
            use_: "official",
            system: RESIDENT_ID_SYSTEM,
            value,
        })];
        let ids = List(&ids, &more_ids);
        let telecom = [phone(&p.phone)];
        let telecom = List(&telecom, &more_telecom);
        let ext = [(!p.ethnicity.is_empty()).then(|| Ethnicity {
            url: ETHNICITY_URL,
            value_coding: Coding {
                system: ETHNICITY_SYSTEM,
                code: &p.ethnicity,
            },
        })];
        let ext = List(&ext, &more_ext);

        let mut m = s.serialize_map(None)?;
        m.serialize_entry("resourceType", "Patient")?;
        m.serialize_entry("id", &p.id)?;
        m.serialize_entry("meta", &Meta(p))?;
        // Every other element kept as it came; the record's own values win over kept ones.
        for (k, v) in &extra {
            let own = matches!(
                k.as_str(),
                "resourceType" | "id" | "meta" | "gender" | "managingOrganization"
            ) || (k == "birthDate" && p.birth_date.is_some());
            if !own {
                m.serialize_entry(k, v)?;
            }
        }
        if !ext.is_empty() {
            m.serialize_entry("extension", &ext)?;
        }
        if !ids.is_empty() {
            m.serialize_entry("identifier", &ids)?;
        }
        if !names.is_empty() {
            m.serialize_entry("name", &names)?;
        }
        if !telecom.is_empty() {
            m.serialize_entry("telecom", &telecom)?;
        }
        m.serialize_entry("gender", &p.sex)?;
        if let Some(b) = &p.birth_date {
            m.serialize_entry("birthDate", b)?;
        }
        match &address {
            Some(a) => m.serialize_entry("address", a)?,
            None if !p.address.is_empty() => {
                m.serialize_entry("address", &[Text { text: &p.address }])?
            }
            None => {}
        }
        match &contact {
            Some(c) => m.serialize_entry("contact", c)?,
            None if !self.guardians.is_empty() => {
                m.serialize_entry("contact", &Guardians(self.guardians))?
            }
            None => {}
        }
        m.serialize_entry("managingOrganization", &OrgRef(&p.org_code))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(fhir_extra: &str, birth_date: Option<&str>) -> PatientRow {
        PatientRow {
            id: "p1".into(),
            org_code: "653121100201".into(),
            org_path: "65/6531/653121/653121100/653121100201/".into(),
            family_name: "阿".into(),
            given_name: "依古丽".into(),
            full_name: "阿依古丽".into(),
            name_ug: "ئايگۈل".into(),
            name_latin: String::new(),
            sex: "female".into(),
            birth_date: birth_date.map(str::to_string),
            ethnicity: "05".into(),
            id_number: Some("653121201906120020".into()),
            phone: "13912345678".into(),
            address: "疏附县托克扎克镇".into(),
            fhir_extra: fhir_extra.into(),
            created_at: "2026-11-24T10:00:00Z".into(),
            updated_at: "2026-11-24T10:00:00Z".into(),
            version: 3,
        }
    }

    /// The text written straight from the row, whole: the order of the elements (resourceType
    /// first), each element once, the guardians as contacts.
    type Result = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_patient_written_from_its_row() -> Result {
        let guardians = [
            GuardianRow {
                guardian_id: Some("p0".into()),
                name: "阿依努尔".into(),
                relationship: "母亲".into(),
                phone: "13800000000".into(),
            },
            GuardianRow {
                guardian_id: None,
                name: "买买提".into(),
                relationship: String::new(),
                phone: String::new(),
            },
        ];
        let p = row("{}", Some("2019-06-12"));
        let text = serde_json::to_string(&FhirPatient {
            row: &p,
            guardians: &guardians,
        })?;
        let expected = concat!(
            r#"{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-11-24T10:00:00Z"},"#,
            r#""extension":[{"url":"https://tianshan.health/fhir/StructureDefinition/ethnicity","valueCoding":{"system":"urn:gb:3304","code":"05"}}],"#,
            r#""identifier":[{"use":"official","system":"urn:oid:2.16.156.10011.1.1","value":"653121201906120020"}],"#,
            r#""name":[{"use":"official","text":"阿依古丽","family":"阿","given":["依古丽"]},"#,
            r#"{"use":"usual","text":"ئايگۈل","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"ug"}]}],"#,
            r#""telecom":[{"system":"phone","value":"13912345678"}],"gender":"female","birthDate":"2019-06-12","#,
            r#""address":[{"text":"疏附县托克扎克镇"}],"#,
            r#""contact":[{"name":{"text":"阿依努尔"},"relationship":[{"text":"母亲"}],"telecom":[{"system":"phone","value":"13800000000"}]},"#,
            r#"{"name":{"text":"买买提"}}],"#,
            r#""managingOrganization":{"reference":"Organization/653121100201"}}"#
        );
        assert_eq!(text, expected);
        // The tree (a Bundle's answer to a write) holds the same.
        let tree = to_fhir(&p, &guardians)?;
        assert_eq!(tree, serde_json::from_str::<Value>(expected)?);
        Ok(())
    }

    /// Elements kept as they came go back: the record's own entries first in each list, the
    /// kept ones after; a kept address or contact list replaces the one built from columns; a
    /// kept partial birth date is sent when the record has none; a kept element the record owns
    /// (here `gender`) never makes a second key.
    #[test]
    fn kept_elements_merged_back_once() -> Result {
        let extra = json!({
            "name": [{"text": "Aygul Ahmet"}],
            "identifier": [{"system": "urn:example:mrn", "value": "MRN-77"}],
            "telecom": [{"system": "email", "value": "a@example.org"}],
            "extension": [{"url": "urn:example:x", "valueString": "y"}],
            "address": [{"line": ["1 Road"], "city": "Kashgar"}],
            "contact": [{"name": {"text": "Kept"}}],
            "communication": [{"language": {"text": "Uyghur"}}],
            "birthDate": "2019",
            "gender": "male"
        });
        let p = row(&extra.to_string(), None);
        let guardians = [GuardianRow {
            guardian_id: None,
            name: "not used".into(),
            relationship: String::new(),
            phone: String::new(),
        }];
        let text = serde_json::to_string(&resource(&p, &guardians)?)?;
        assert_eq!(text.matches(r#""gender":"#).count(), 1, "{text}");
        assert_eq!(text.matches(r#""birthDate":"#).count(), 1, "{text}");
        let v: Value = serde_json::from_str(&text)?;
        assert_eq!(v["gender"], "female");
        assert_eq!(v["birthDate"], "2019");
        assert_eq!(v["communication"], extra["communication"]);
        assert_eq!(v["address"], extra["address"]);
        assert_eq!(v["contact"], extra["contact"]);
        assert_eq!(v["name"][0]["text"], "阿依古丽");
        assert_eq!(v["name"][2], extra["name"][0]);
        assert_eq!(v["identifier"][1]["value"], "MRN-77");
        assert_eq!(v["telecom"][1]["value"], "a@example.org");
        assert_eq!(v["extension"][1]["url"], "urn:example:x");
        // With a full birth date of its own, the record's date is sent and the kept one is not.
        let p = row(&extra.to_string(), Some("2019-06-12"));
        let v = to_fhir(&p, &[])?;
        assert_eq!(v["birthDate"], "2019-06-12");
        Ok(())
    }
}
