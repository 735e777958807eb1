//! FHIR R4 Immunization: read, search (patient, date, vaccine-code) and create, over the same
//! service as the pages and the JSON API (a dose given here takes its stock; one given elsewhere,
//! `primarySource: false`, is recorded as written).
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::{
    self as f, FhirRead, FhirType, Prepared, RefMap, Search, SearchResult,
};
use tianshan_platform::{AppError, Platform};

use crate::domain;
use crate::service::{self as svc, DoseInput, DoseQuery};
use crate::store::{DoseRow, ProductRow};

pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub const PRODUCT: &str = "https://tianshan.health/fhir/CodeSystem/vaccine-product";
const SITE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActSite";
const ROUTE: &str = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration";

/// Our route codes and HL7 v3's.
const ROUTES: &[(&str, &str)] = &[
    ("IM", "IM"),
    ("SC", "SQ"),
    ("ID", "IDINJ"),
    ("PO", "PO"),
    ("IN", "NASINHL"),
];

pub fn types() -> Vec<Arc<dyn FhirType>> {
    vec![Arc::new(ImmunizationType), Arc::new(RecommendationType)]
}

pub fn to_fhir(d: &DoseRow, products: &[ProductRow]) -> Value {
    let p = products.iter().find(|p| p.code == d.product_code);
    let name = p.map(|p| p.name_zh.clone()).unwrap_or_default();
    let mut coding = Vec::new();
    if d.cvx < 9000 {
        coding.push(json!({"system": CVX, "code": format!("{:02}", d.cvx)}));
    }
    coding.push(json!({"system": PRODUCT, "code": d.product_code, "display": name}));
    let mut r = json!({
        "resourceType": "Immunization",
        "id": d.id,
        "status": "completed",
        "vaccineCode": {"coding": coding, "text": name},
        "patient": {"reference": format!("Patient/{}", d.patient_id)},
        "occurrenceDateTime": d.given_on,
        "recorded": d.created_at,
        "primarySource": d.source == "clinic",
    });
    if !d.lot_no.is_empty() {
        r["lotNumber"] = json!(d.lot_no);
    }
    if !d.site.is_empty() {
        r["site"] = json!({"coding": [{"system": SITE, "code": d.site}]});
    }
    if let Some((_, v3)) = ROUTES.iter().find(|(o, _)| *o == d.route) {
        r["route"] = json!({"coding": [{"system": ROUTE, "code": v3}]});
    }
    if !d.vaccinator.is_empty() {
        r["performer"] = json!([{"actor": {"display": d.vaccinator}}]);
    }
    if !d.org_code.is_empty() {
        r["location"] = json!({"display": d.org_code});
    }
    r
}

fn first_code<'a>(v: &'a Value, system: &str) -> Option<&'a str> {
    v.get("coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(system))?
        .get("code")?
        .as_str()
}

/// The product a `vaccineCode` names (our product code, or a CVX code of the product table).
fn product_of(v: &Value, products: &[ProductRow]) -> Result<String, AppError> {
    if let Some(code) = first_code(v, PRODUCT) {
        return Ok(code.to_string());
    }
    if let Some(cvx) = first_code(v, CVX).and_then(|c| c.trim().parse::<i64>().ok()) {
        if let Some(p) = products.iter().find(|p| p.cvx == cvx) {
            return Ok(p.code.clone());
        }
    }
    Err(f::invalid(
        "Immunization.vaccineCode",
        "a CVX code or a Tianshan product code of the product table",
    ))
}

/// The dose a FHIR Immunization describes.
pub fn from_fhir(r: &Value, refs: &RefMap, products: &[ProductRow]) -> Result<DoseInput, AppError> {
    let obj = f::expect_type(r, "Immunization")?;
    if obj.get("status").and_then(Value::as_str) != Some("completed") {
        return Err(f::invalid(
            "Immunization.status",
            "only completed doses are recorded",
        ));
    }
    let patient = obj
        .get("patient")
        .and_then(|p| p.get("reference"))
        .and_then(Value::as_str)
        .and_then(|s| refs.id_of(s, "Patient"))
        .ok_or_else(|| f::invalid("Immunization.patient", "a reference to a Patient"))?;
    let vc = obj
        .get("vaccineCode")
        .ok_or_else(|| f::invalid("Immunization.vaccineCode", "required"))?;
    let product_code = product_of(vc, products)?;
    let date = obj
        .get("occurrenceDateTime")
        .and_then(Value::as_str)
        .map(|s| s.chars().take(10).collect::<String>())
        .filter(|s| domain::parse_date(s).is_some())
        .ok_or_else(|| f::invalid("Immunization.occurrenceDateTime", "a date (YYYY-MM-DD)"))?;
    let route = obj
        .get("route")
        .and_then(|v| first_code(v, ROUTE))
        .map(|c| {
            ROUTES
                .iter()
                .find(|(_, v3)| *v3 == c)
                .map(|(o, _)| (*o).to_string())
                .unwrap_or_else(|| c.to_string())
        })
        .unwrap_or_default();
    Ok(DoseInput {
        patient_id: patient,
        product_code,
        lot_no: obj
            .get("lotNumber")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        given_on: date,
        site: obj
            .get("site")
            .and_then(|v| first_code(v, SITE))
            .unwrap_or_default()
            .to_string(),
        route,
        vaccinator: r
            .pointer("/performer/0/actor/display")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        elsewhere: obj.get("primarySource").and_then(Value::as_bool) != Some(true),
        org_code: String::new(),
    })
}

struct ImmunizationType;

impl FhirType for ImmunizationType {
    fn resource_type(&self) -> &'static str {
        "Immunization"
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("patient", "reference"),
            ("date", "date"),
            ("vaccine-code", "token"),
        ]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "create", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("vaccineCode: a CVX code or a product code of https://tianshan.health/fhir/CodeSystem/vaccine-product. primarySource true: given here today from a lot of the caller's stock (taken in the same transaction; 409 for an expired, recalled, quarantined or empty lot); otherwise a dose given elsewhere, recorded as written.")
    }
    fn prepare_create<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        Box::pin(async move {
            let products = svc::products(st).await?;
            let input = from_fhir(resource, refs, &products)?;
            let source = if input.elsewhere { "fhir" } else { "clinic" };
            let mut d = svc::prepare_dose(st, who, &input, source).await?.row;
            d.id = id.clone();
            let who = who.clone();
            let today = domain::date_text(st.clock.now().date());
            Ok(Prepared {
                resource_type: "Immunization",
                id,
                created: true,
                apply: Box::new(move |tx| {
                    Box::pin(async move {
                        svc::write_dose(tx, &who, &d, &today).await?;
                        Ok(to_fhir(&d, &products))
                    })
                }),
                alone: None,
            })
        })
    }
    fn read<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FhirRead, AppError>> {
        Box::pin(async move {
            let d = svc::dose(st, who, id).await?;
            let products = svc::products(st).await?;
            Ok(FhirRead {
                resource: to_fhir(&d, &products).into(),
                version: None,
            })
        })
    }
    fn search<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        search: &'a Search,
    ) -> BoxFuture<'a, Result<SearchResult, AppError>> {
        Box::pin(async move {
            let products = svc::products(st).await?;
            let mut q = DoseQuery {
                patient: search
                    .get("patient")
                    .map(|p| p.rsplit('/').next().unwrap_or(&p).to_string()),
                limit: 500,
                ..Default::default()
            };
            for (_, v) in search.params.iter().filter(|(k, _)| k == "date") {
                let (op, day) = match v.get(..2) {
                    Some(p @ ("ge" | "le" | "gt" | "lt" | "eq")) => (p, &v[2..]),
                    _ => ("eq", v.as_str()),
                };
                let day = day.chars().take(10).collect::<String>();
                if domain::parse_date(&day).is_none() {
                    return Err(f::invalid(
                        "date",
                        "a date (YYYY-MM-DD) with an optional ge, le, gt, lt or eq prefix",
                    ));
                }
                match op {
                    "ge" | "gt" => q.from = Some(day),
                    "le" | "lt" => q.to = Some(day),
                    _ => {
                        q.from = Some(day.clone());
                        q.to = Some(day);
                    }
                }
            }
            if let Some(code) = search.get("vaccine-code") {
                let (system, code) = code.split_once('|').unwrap_or(("", code.as_str()));
                let cvx = if system == PRODUCT {
                    products.iter().find(|p| p.code == code).map(|p| p.cvx)
                } else {
                    code.parse::<i64>().ok()
                };
                q.cvx = Some(
                    cvx.ok_or_else(|| f::invalid("vaccine-code", "a CVX code or system|code"))?,
                );
            }
            let rows = svc::search_doses(st, who, &q).await?;
            let total = rows.len() as i64;
            let start = usize::try_from(search.offset).unwrap_or(0);
            let count = usize::try_from(search.count).unwrap_or(20);
            let resources = rows
                .iter()
                .skip(start)
                .take(count)
                .map(|d| to_fhir(d, &products))
                .collect::<Vec<_>>();
            Ok(SearchResult {
                resources: resources.into_iter().map(Into::into).collect(),
                total: Some(total),
            })
        })
    }
}

const REC_STATUS: &str = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status";
const REC_STATUS_LOCAL: &str = "https://tianshan.health/fhir/CodeSystem/forecast-status";
const LOINC: &str = "http://loinc.org";

/// The engine's due list for a child as an ImmunizationRecommendation (id = the patient's id,
/// dated the assessment day): one recommendation per vaccine group, with the products that fit,
/// the dose number, the status and the earliest, recommended and overdue dates.
pub fn recommendation(r: &svc::ChildRecord, products: &[ProductRow]) -> Value {
    let recs: Vec<Value> = r
        .due
        .iter()
        .map(|d| {
            let mut coding = Vec::new();
            for p in &d.products {
                if let Some(row) = products.iter().find(|x| x.code == p.code) {
                    if row.cvx < 9000 {
                        coding.push(json!({"system": CVX, "code": format!("{:02}", row.cvx)}));
                    }
                }
                coding.push(json!({"system": PRODUCT, "code": p.code, "display": p.name_zh}));
            }
            let system = if matches!(
                d.status.as_str(),
                "due" | "overdue" | "immune" | "contraindicated" | "complete"
            ) {
                REC_STATUS
            } else {
                REC_STATUS_LOCAL
            };
            let mut criteria = Vec::new();
            for (code, display, value) in [
                ("30981-5", "Earliest date to give", &d.earliest),
                ("30980-7", "Date vaccine due", &d.recommended),
                ("59778-1", "Date when overdue for immunization", &d.past_due),
            ] {
                if let Some(v) = value {
                    criteria.push(json!({"code": {"coding": [{"system": LOINC, "code": code, "display": display}]}, "value": v}));
                }
            }
            let mut rec = json!({
                "vaccineCode": [{"coding": coding, "text": d.vaccine_group}],
                "forecastStatus": {"coding": [{"system": system, "code": d.status}], "text": d.status},
            });
            if let Some(n) = d.dose_number {
                rec["doseNumberPositiveInt"] = json!(n);
            }
            if !criteria.is_empty() {
                rec["dateCriterion"] = json!(criteria);
            }
            rec
        })
        .collect();
    json!({
        "resourceType": "ImmunizationRecommendation",
        "id": r.patient_id,
        "patient": {"reference": format!("Patient/{}", r.patient_id)},
        "date": r.assessment_date,
        "recommendation": recs,
    })
}

struct RecommendationType;

impl FhirType for RecommendationType {
    fn resource_type(&self) -> &'static str {
        "ImmunizationRecommendation"
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![("patient", "reference")]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("Computed by the forecast engine on the day asked (China's immunisation programme): the id is the patient's id; one recommendation per vaccine group. Search requires patient.")
    }
    fn prepare_create<'a>(
        &'a self,
        _st: &'a Platform,
        _who: &'a Principal,
        _resource: &'a Value,
        _id: String,
        _refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        Box::pin(async move { Err(self.not_supported("create")) })
    }
    fn read<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FhirRead, AppError>> {
        Box::pin(async move {
            let r = svc::child_record(st, who, id, None).await?;
            let products = svc::products(st).await?;
            Ok(FhirRead {
                resource: recommendation(&r, &products).into(),
                version: None,
            })
        })
    }
    fn search<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        search: &'a Search,
    ) -> BoxFuture<'a, Result<SearchResult, AppError>> {
        Box::pin(async move {
            let patient = search
                .get("patient")
                .map(|p| p.rsplit('/').next().unwrap_or(&p).to_string())
                .ok_or_else(|| f::invalid("patient", "a patient reference (Patient/id)"))?;
            let products = svc::products(st).await?;
            // A patient out of scope or unknown is an empty result, as any search.
            let resources = match svc::child_record(st, who, &patient, None).await {
                Ok(r) => vec![recommendation(&r, &products)],
                Err(AppError::NotFound) => Vec::new(),
                Err(e) => return Err(e),
            };
            let total = resources.len() as i64;
            let resources = if search.offset > 0 {
                Vec::new()
            } else {
                resources
            };
            Ok(SearchResult {
                resources: resources.into_iter().map(Into::into).collect(),
                total: Some(total),
            })
        })
    }
}
