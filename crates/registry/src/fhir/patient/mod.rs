//! FHIR R4 Patient ⇄ registry patient. Elements the registry does not model are kept as they
//! came (`fhir_extra`) and returned on read, so a round trip loses nothing.
use serde_json::{json, Map, Value};
use tianshan_platform::fhir::{invalid, opt_array, opt_str};
use tianshan_platform::AppError;

use crate::domain::names::has_han;
use crate::domain::patient::GuardianInput;
use crate::domain::PatientInput;

/// Identifier system of the Chinese resident identity number in Tianshan.
mod write;

pub use write::{resource, to_fhir};

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
