//! FHIR R4 Patient ⇄ registry patient. Elements the registry does not model are kept as they
//! came (`fhir_extra`) and returned on read, so a round trip loses nothing.
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};
use tianshan_platform::fhir::{invalid, opt_array, opt_str, Resource};
use tianshan_platform::AppError;

use crate::domain::names::has_han;
use crate::domain::patient::GuardianInput;
use crate::domain::PatientInput;
use crate::store::patients::{GuardianRow, PatientRow};

/// Identifier system of the Chinese resident identity number in Tianshan.
pub const RESIDENT_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.1";
pub const ETHNICITY_URL: &str = "https://tianshan.health/fhir/StructureDefinition/ethnicity";
pub const ETHNICITY_SYSTEM: &str = "urn:gb:3304";

fn is_arabic_script(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x0600..=0x06FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF))
}

fn name_text(n: &Map<String, Value>) -> (String, String, String) {
    let family = n
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let given: Vec<&str> = n
        .get("given")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let given = if has_han(&family) {
        given.join("")
    } else {
        given.join(" ")
    };
    let text = n
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| crate::domain::names::full_name(&family, &given));
    (family, given, text)
}

/// Read a FHIR Patient into registry input plus the elements kept as they came.
/// `default_org` is used when the resource names no managing organisation.
pub fn from_fhir(v: &Value, default_org: Option<&str>) -> Result<(PatientInput, Value), AppError> {
    let obj = tianshan_platform::fhir::expect_type(v, "Patient")?;
    let mut input = PatientInput::default();
    let mut extra = Map::new();
    const OWNED: [&str; 13] = [
        "resourceType",
        "id",
        "meta",
        "name",
        "gender",
        "birthDate",
        "identifier",
        "telecom",
        "address",
        "managingOrganization",
        "contact",
        "extension",
        "text",
    ];
    for (k, val) in obj {
        if !OWNED.contains(&k.as_str()) {
            extra.insert(k.clone(), val.clone());
        }
    }
    // Names: the first Chinese or plain name is primary; Arabic-script text is the Uyghur name.
    let mut rest_names = Vec::new();
    for (i, n) in opt_array(obj, "name", "Patient")?.iter().enumerate() {
        let n = n.as_object().ok_or_else(|| {
            invalid(
                &format!("Patient.name[{i}]"),
                "each name must be an object (HumanName)",
            )
        })?;
        opt_str(n, "family", &format!("Patient.name[{i}]"))?;
        for (j, g) in opt_array(n, "given", &format!("Patient.name[{i}]"))?
            .iter()
            .enumerate()
        {
            if !g.is_string() {
                return Err(invalid(
                    &format!("Patient.name[{i}].given[{j}]"),
                    "given names must be strings",
                ));
            }
        }
        let (family, given, text) = name_text(n);
        if is_arabic_script(&text) && input.name_ug.is_empty() {
            input.name_ug = text;
        } else if input.family_name.is_empty()
            && input.given_name.is_empty()
            && (!family.is_empty() || !given.is_empty())
            && (has_han(&text) || input.name_latin.is_empty())
        {
            input.family_name = family;
            input.given_name = given;
        } else if !has_han(&text) && input.name_latin.is_empty() && !text.is_empty() {
            input.name_latin = text;
        } else {
            rest_names.push(Value::Object(n.clone()));
        }
    }
    if !rest_names.is_empty() {
        extra.insert("name".into(), Value::Array(rest_names));
    }
    input.sex = match opt_str(obj, "gender", "Patient")? {
        None => "unknown".into(),
        Some(g @ ("male" | "female" | "other" | "unknown")) => g.into(),
        Some(g) => {
            return Err(invalid(
                "Patient.gender",
                &format!("gender must be male, female, other or unknown, not '{g}'"),
            ))
        }
    };
    if let Some(b) = opt_str(obj, "birthDate", "Patient")? {
        if b.len() == 10 {
            input.birth_date = b.to_string();
        } else if (b.len() == 4 || b.len() == 7)
            && b.chars().all(|c| c.is_ascii_digit() || c == '-')
        {
            // A partial date (year or year-month) is kept as it came.
            extra.insert("birthDate".into(), json!(b));
        } else {
            return Err(invalid(
                "Patient.birthDate",
                &format!("birthDate must be YYYY, YYYY-MM or YYYY-MM-DD, not '{b}'"),
            ));
        }
    }
    let mut rest_ids = Vec::new();
    for (i, id) in opt_array(obj, "identifier", "Patient")?.iter().enumerate() {
        let o = id.as_object().ok_or_else(|| {
            invalid(
                &format!("Patient.identifier[{i}]"),
                "each identifier must be an object",
            )
        })?;
        if opt_str(o, "system", &format!("Patient.identifier[{i}]"))? == Some(RESIDENT_ID_SYSTEM)
            && input.id_number.is_empty()
        {
            input.id_number = opt_str(o, "value", &format!("Patient.identifier[{i}]"))?
                .unwrap_or("")
                .to_string();
        } else {
            rest_ids.push(id.clone());
        }
    }
    if !rest_ids.is_empty() {
        extra.insert("identifier".into(), Value::Array(rest_ids));
    }
    let mut rest_tel = Vec::new();
    for (i, t) in opt_array(obj, "telecom", "Patient")?.iter().enumerate() {
        let o = t.as_object().ok_or_else(|| {
            invalid(
                &format!("Patient.telecom[{i}]"),
                "each telecom must be an object",
            )
        })?;
        if opt_str(o, "system", "Patient.telecom")? == Some("phone")
            && input.phone.is_empty()
            && o.get("period").is_none()
        {
            input.phone = opt_str(o, "value", "Patient.telecom")?
                .unwrap_or("")
                .to_string();
        } else {
            rest_tel.push(t.clone());
        }
    }
    if !rest_tel.is_empty() {
        extra.insert("telecom".into(), Value::Array(rest_tel));
    }
    // Addresses are kept whole; the first one's text is the registry's address line.
    let addresses = opt_array(obj, "address", "Patient")?;
    if let Some(a) = addresses.first().and_then(Value::as_object) {
        input.address = opt_str(a, "text", "Patient.address[0]")?
            .map(str::to_string)
            .unwrap_or_else(|| {
                let lines: Vec<&str> = a
                    .get("line")
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut parts: Vec<&str> = lines;
                for k in ["city", "district", "state", "postalCode", "country"] {
                    if let Some(s) = a.get(k).and_then(Value::as_str) {
                        parts.push(s);
                    }
                }
                parts.join(", ")
            });
    }
    if !addresses.is_empty() {
        extra.insert("address".into(), Value::Array(addresses.to_vec()));
    }
    let org = match obj.get("managingOrganization") {
        None => None,
        Some(Value::Object(r)) => {
            let reference = opt_str(r, "reference", "Patient.managingOrganization")?.unwrap_or("");
            Some(
                reference
                    .strip_prefix("Organization/")
                    .or_else(|| reference.strip_prefix("Location/"))
                    .unwrap_or(reference)
                    .to_string(),
            )
        }
        Some(_) => {
            return Err(invalid(
                "Patient.managingOrganization",
                "managingOrganization must be a Reference object",
            ))
        }
    };
    input.org_code = org
        .filter(|o| !o.is_empty())
        .or(default_org.map(str::to_string))
        .unwrap_or_default();
    for (i, c) in opt_array(obj, "contact", "Patient")?.iter().enumerate() {
        let o = c.as_object().ok_or_else(|| {
            invalid(
                &format!("Patient.contact[{i}]"),
                "each contact must be an object",
            )
        })?;
        let name = o
            .get("name")
            .and_then(Value::as_object)
            .map(|n| name_text(n).2)
            .unwrap_or_default();
        let relationship = o
            .get("relationship")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|cc| {
                cc.get("text")
                    .and_then(Value::as_str)
                    .or_else(|| cc.pointer("/coding/0/code").and_then(Value::as_str))
            })
            .unwrap_or("")
            .to_string();
        let phone = o
            .get("telecom")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|t| t.get("system").and_then(Value::as_str) == Some("phone"))
            })
            .and_then(|t| t.get("value").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            continue;
        }
        input.guardians.push(GuardianInput {
            name,
            relationship,
            phone,
            patient_id: None,
        });
    }
    if let Some(c) = obj.get("contact") {
        extra.insert("contact".into(), c.clone());
    }
    let mut rest_ext = Vec::new();
    let exts = opt_array(obj, "extension", "Patient")?;
    tianshan_platform::fhir::check_extensions(exts, "Patient.extension")?;
    for e in exts {
        if e.get("url").and_then(Value::as_str) == Some(ETHNICITY_URL) {
            input.ethnicity = e
                .pointer("/valueCoding/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        } else {
            rest_ext.push(e.clone());
        }
    }
    if !rest_ext.is_empty() {
        extra.insert("extension".into(), Value::Array(rest_ext));
    }
    Ok((input, Value::Object(extra)))
}

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
    #[test]
    fn a_patient_written_from_its_row() {
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
        })
        .unwrap();
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
        let tree = to_fhir(&p, &guardians).unwrap();
        assert_eq!(tree, serde_json::from_str::<Value>(expected).unwrap());
    }

    /// Elements kept as they came go back: the record's own entries first in each list, the
    /// kept ones after; a kept address or contact list replaces the one built from columns; a
    /// kept partial birth date is sent when the record has none; a kept element the record owns
    /// (here `gender`) never makes a second key.
    #[test]
    fn kept_elements_merged_back_once() {
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
        let text = resource(&p, &guardians).unwrap();
        let text = serde_json::to_string(&text).unwrap();
        assert_eq!(text.matches(r#""gender":"#).count(), 1, "{text}");
        assert_eq!(text.matches(r#""birthDate":"#).count(), 1, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
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
        let v = to_fhir(&p, &[]).unwrap();
        assert_eq!(v["birthDate"], "2019-06-12");
    }
}
