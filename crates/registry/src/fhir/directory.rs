//! FHIR R4 Practitioner, Organization and Location ⇄ the registry's practitioners and
//! organisation tree. Every node of the tree is an Organization; areas (region to village)
//! are also Locations with the same id.
use serde_json::{json, Map, Value};
use tianshan_platform::fhir::{expect_type, invalid, opt_array, opt_str};
use tianshan_platform::AppError;

use crate::store::practitioners::PractitionerData;
use crate::store::{Org, PractitionerRow};

pub const KIND_SYSTEM: &str = "https://tianshan.health/fhir/CodeSystem/org-kind";
pub const LICENSE_SYSTEM: &str = "https://tianshan.health/fhir/sid/practitioner-license";

fn kept(obj: &Map<String, Value>, owned: &[&str]) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| !owned.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn ref_id(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, AppError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Object(r)) => {
            let s = opt_str(r, "reference", &format!("{path}.{key}"))?.unwrap_or("");
            Ok(s.rsplit('/')
                .next()
                .map(str::to_string)
                .filter(|s| !s.is_empty()))
        }
        Some(_) => Err(invalid(
            &format!("{path}.{key}"),
            &format!("{path}.{key} must be a Reference object"),
        )),
    }
}

pub fn practitioner_from_fhir(
    v: &Value,
    default_org: Option<&str>,
) -> Result<PractitionerData, AppError> {
    let obj = expect_type(v, "Practitioner")?;
    let mut p = PractitionerData::default();
    for (i, n) in opt_array(obj, "name", "Practitioner")?.iter().enumerate() {
        let n = n.as_object().ok_or_else(|| {
            invalid(
                &format!("Practitioner.name[{i}]"),
                "each name must be an object",
            )
        })?;
        let family = opt_str(n, "family", "Practitioner.name")?
            .unwrap_or("")
            .to_string();
        let given: Vec<&str> = n
            .get("given")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let text = n.get("text").and_then(Value::as_str).unwrap_or("");
        if text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
            p.name_ug = text.to_string();
        } else if p.family_name.is_empty() && p.given_name.is_empty() {
            p.family_name = family;
            p.given_name = if crate::domain::names::has_han(&p.family_name) {
                given.join("")
            } else {
                given.join(" ")
            };
            if p.family_name.is_empty() && p.given_name.is_empty() {
                p.given_name = text.to_string();
            }
        }
    }
    if p.family_name.is_empty() && p.given_name.is_empty() && p.name_ug.is_empty() {
        return Err(invalid("Practitioner.name", "a practitioner needs a name"));
    }
    p.sex = match opt_str(obj, "gender", "Practitioner")? {
        None => "unknown".into(),
        Some(g @ ("male" | "female" | "other" | "unknown")) => g.into(),
        Some(g) => {
            return Err(invalid(
                "Practitioner.gender",
                &format!("gender must be male, female, other or unknown, not '{g}'"),
            ))
        }
    };
    for t in opt_array(obj, "telecom", "Practitioner")? {
        if t.get("system").and_then(Value::as_str) == Some("phone") && p.phone.is_empty() {
            p.phone = t
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        }
    }
    for id in opt_array(obj, "identifier", "Practitioner")? {
        if id.get("system").and_then(Value::as_str) == Some(LICENSE_SYSTEM) {
            p.license_no = id
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        }
    }
    if let Some(q) = opt_array(obj, "qualification", "Practitioner")?.first() {
        p.title = q
            .pointer("/code/text")
            .or_else(|| q.pointer("/code/coding/0/display"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    }
    let org = obj
        .get("extension")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|e| e.get("url").and_then(Value::as_str) == Some(ORG_EXT))
                .and_then(|e| e.pointer("/valueReference/reference"))
                .and_then(Value::as_str)
                .map(|s| s.trim_start_matches("Organization/").to_string())
        });
    p.org_code = org.or(default_org.map(str::to_string)).unwrap_or_default();
    p.fhir_extra =
        Value::Object(kept(obj, &["resourceType", "id", "meta", "name", "gender"])).to_string();
    Ok(p)
}

pub const ORG_EXT: &str =
    "https://tianshan.health/fhir/StructureDefinition/practitioner-organization";

pub fn practitioner_to_fhir(p: &PractitionerRow) -> Value {
    let mut r: Map<String, Value> = serde_json::from_str(&p.fhir_extra).unwrap_or_default();
    let mut names = vec![];
    let mut n = json!({"use": "official", "text": p.full_name});
    if !p.family_name.is_empty() {
        n["family"] = json!(p.family_name);
    }
    if !p.given_name.is_empty() {
        n["given"] = json!([p.given_name]);
    }
    names.push(n);
    if !p.name_ug.is_empty() {
        names.push(json!({"use": "usual", "text": p.name_ug}));
    }
    if !p.name_latin.is_empty() {
        names.push(json!({"use": "usual", "text": p.name_latin}));
    }
    r.insert("resourceType".into(), json!("Practitioner"));
    r.insert("id".into(), json!(p.id));
    r.insert("meta".into(), json!({"lastUpdated": p.updated_at}));
    r.insert("name".into(), Value::Array(names));
    r.insert("gender".into(), json!(p.sex));
    if !r.contains_key("telecom") && !p.phone.is_empty() {
        r.insert(
            "telecom".into(),
            json!([{"system": "phone", "value": p.phone}]),
        );
    }
    if !r.contains_key("identifier") && !p.license_no.is_empty() {
        r.insert(
            "identifier".into(),
            json!([{"system": LICENSE_SYSTEM, "value": p.license_no}]),
        );
    }
    if !r.contains_key("qualification") && !p.title.is_empty() {
        r.insert("qualification".into(), json!([{"code": {"text": p.title}}]));
    }
    if !r.contains_key("extension") {
        r.insert("extension".into(), json!([{"url": ORG_EXT, "valueReference": {"reference": format!("Organization/{}", p.org_code)}}]));
    }
    Value::Object(r)
}

/// The parts of an Organization or Location the tree stores.
pub struct OrgData {
    pub code: Option<String>,
    pub parent: Option<String>,
    pub kind: String,
    pub name_zh: String,
    pub name_ug: String,
    pub name_en: String,
}

/// Read an Organization or Location. Names: `name` is the primary (Chinese) name, `alias`
/// entries in Arabic script or Latin letters are the Uyghur and English names.
pub fn org_from_fhir(v: &Value, ty: &str) -> Result<OrgData, AppError> {
    let obj = expect_type(v, ty)?;
    let name = opt_str(obj, "name", ty)?
        .map(str::to_string)
        .ok_or_else(|| invalid(&format!("{ty}.name"), &format!("{ty}.name is required")))?;
    let (mut ug, mut en) = (String::new(), String::new());
    for a in opt_array(obj, "alias", ty)?
        .iter()
        .filter_map(Value::as_str)
    {
        if a.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
            ug = a.to_string();
        } else if en.is_empty() {
            en = a.to_string();
        }
    }
    let parent = ref_id(obj, "partOf", ty)?;
    let kind = match ty {
        "Location" => "village".to_string(),
        _ => opt_array(obj, "type", ty)?
            .iter()
            .find_map(|t| {
                t.get("coding")
                    .and_then(Value::as_array)
                    .and_then(|c| {
                        c.iter()
                            .find(|c| c.get("system").and_then(Value::as_str) == Some(KIND_SYSTEM))
                    })
                    .and_then(|c| c.get("code").and_then(Value::as_str))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "hospital".to_string()),
    };
    let kind = if ty == "Location" {
        obj.get("physicalType")
            .and_then(|p| p.pointer("/coding/0/code"))
            .and_then(Value::as_str)
            .and_then(|c| {
                crate::store::orgs::AREA_KINDS
                    .iter()
                    .find(|k| **k == c)
                    .map(|k| k.to_string())
            })
            .unwrap_or(kind)
    } else {
        kind
    };
    if !crate::store::orgs::AREA_KINDS.contains(&kind.as_str())
        && !crate::store::orgs::ORG_KINDS.contains(&kind.as_str())
    {
        return Err(invalid(
            &format!("{ty}.type"),
            &format!("unknown organisation kind '{kind}'"),
        ));
    }
    let code = opt_array(obj, "identifier", ty)?
        .iter()
        .find_map(|i| i.get("value").and_then(Value::as_str).map(str::to_string));
    Ok(OrgData {
        code,
        parent,
        kind,
        name_zh: name,
        name_ug: ug,
        name_en: en,
    })
}

fn aliases(o: &Org) -> Vec<&str> {
    [o.name_ug.as_str(), o.name_en.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn org_to_fhir(o: &Org) -> Value {
    let mut r = json!({
        "resourceType": "Organization", "id": o.code, "active": true,
        "identifier": [{"system": "https://tianshan.health/fhir/sid/org-code", "value": o.code}],
        "type": [{"coding": [{"system": KIND_SYSTEM, "code": o.kind}]}],
        "name": o.name_zh,
    });
    let a = aliases(o);
    if !a.is_empty() {
        r["alias"] = json!(a);
    }
    if let Some(p) = &o.parent_code {
        r["partOf"] = json!({"reference": format!("Organization/{p}")});
    }
    r
}

pub fn location_to_fhir(o: &Org) -> Value {
    let mut r = json!({
        "resourceType": "Location", "id": o.code, "status": "active", "mode": "instance",
        "identifier": [{"system": "https://tianshan.health/fhir/sid/org-code", "value": o.code}],
        "name": o.name_zh,
        "physicalType": {"coding": [{"system": KIND_SYSTEM, "code": o.kind}]},
        "managingOrganization": {"reference": format!("Organization/{}", o.code)},
    });
    let a = aliases(o);
    if !a.is_empty() {
        r["alias"] = json!(a);
    }
    if let Some(p) = &o.parent_code {
        r["partOf"] = json!({"reference": format!("Location/{p}")});
    }
    r
}
