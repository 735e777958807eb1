//! The record as HL7 FHIR R4 resources, in one `collection` Bundle: the Encounter (the chain of
//! hospitals as its locations), a Condition per injury (ICD-10, AIS severity and region, how it
//! was coded), Observations for GCS, vital signs and the computed scores (with the TRISS
//! coefficient set), a Procedure for the first operation. Served by the platform's FHIR REST
//! layer under `/fhir/r4` (read, search by patient or encounter) and, as one Bundle, at
//! `/api/v1/trauma/records/{id}/fhir`.
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::{FhirRead, FhirType, Prepared, RefMap, Search, SearchResult};
use tianshan_platform::{AppError, Platform};

use crate::service::RecordView;

/// Local code system of the computed scores (no LOINC codes for RTS/ISS/NISS/TRISS Ps).
pub const SCORE_SYSTEM: &str = "https://tianshan.health/fhir/CodeSystem/trauma-score";
const LOINC: &str = "http://loinc.org";
/// Local code systems of the AIS severity (1-6) and the ISS body region of an injury.
pub const AIS_SEVERITY: &str = "https://tianshan.health/fhir/CodeSystem/ais-severity";
pub const AIS_REGION: &str = "https://tianshan.health/fhir/CodeSystem/iss-region";

fn reference(kind: &str, id: &str) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

fn observation(
    v: &RecordView,
    key: &str,
    code: Value,
    value: Value,
    note: Option<String>,
) -> Value {
    let r = &v.record;
    let mut o = json!({
        "resourceType": "Observation",
        "id": format!("{}-{key}", r.id),
        "status": "final",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": if key.starts_with("score") { "survey" } else { "vital-signs" } }] }],
        "code": code,
        "subject": reference("Patient", &r.patient_id),
        "encounter": reference("Encounter", &r.id),
        "effectiveDateTime": r.first_arrival_at,
    });
    if let Some(n) = note {
        o["note"] = json!([{ "text": n }]);
    }
    if let Value::Object(m) = value {
        for (k, val) in m {
            o[k] = val;
        }
    }
    o
}

fn qty(v: f64, unit: &str, code: &str) -> Value {
    json!({ "valueQuantity": { "value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": code } })
}

/// The resources of one record: its Encounter, one Encounter per stay (`partOf` the record's),
/// the Conditions, Observations and the Procedure.
pub fn resources(v: &RecordView) -> Vec<Value> {
    let r = &v.record;
    let mut entries: Vec<Value> = Vec::new();
    let mut period = json!({ "start": r.first_arrival_at });
    if !r.discharge_at.is_empty() {
        period["end"] = json!(r.discharge_at);
    }
    let locations: Vec<Value> = v
        .stays
        .iter()
        .map(|s| {
            let mut p = json!({ "start": s.arrived_at });
            if !s.departed_at.is_empty() {
                p["end"] = json!(s.departed_at);
            }
            json!({ "location": { "identifier": { "system": "urn:tianshan:org", "value": s.org_code }, "display": s.org_code },
                    "status": if s.departed_at.is_empty() { "active" } else { "completed" }, "period": p })
        })
        .collect();
    let mut enc = json!({
        "resourceType": "Encounter",
        "id": r.id,
        "status": if r.discharge_at.is_empty() { "in-progress" } else { "finished" },
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER", "display": "emergency" },
        "subject": reference("Patient", &r.patient_id),
        "period": period,
        "location": locations,
        "reasonCode": [{ "text": r.mechanism }],
    });
    if !r.disposition.is_empty() {
        enc["hospitalization"] = json!({ "dischargeDisposition": { "text": r.disposition } });
    }
    entries.push(enc);
    for (n, s) in v.stays.iter().enumerate() {
        let mut p = json!({ "start": s.arrived_at });
        if !s.departed_at.is_empty() {
            p["end"] = json!(s.departed_at);
        }
        entries.push(json!({
            "resourceType": "Encounter",
            "id": format!("{}-stay-{}", r.id, n + 1),
            "status": if s.departed_at.is_empty() { "in-progress" } else { "finished" },
            "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER", "display": "emergency" },
            "subject": reference("Patient", &r.patient_id),
            "period": p,
            "partOf": reference("Encounter", &r.id),
            "serviceProvider": { "identifier": { "system": "urn:tianshan:org", "value": s.org_code }, "display": s.org_code },
        }));
    }
    for i in &v.injuries {
        let mut coding = Vec::new();
        if !i.icd10.is_empty() {
            coding.push(json!({ "system": "http://hl7.org/fhir/sid/icd-10", "code": i.icd10 }));
        }
        let mut c = json!({
            "resourceType": "Condition",
            "id": format!("{}-injury-{}", r.id, i.position + 1),
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": if r.discharge_at.is_empty() { "active" } else { "resolved" } }] },
            "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed" }] },
            "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis" }] }],
            "severity": { "coding": [{ "system": AIS_SEVERITY, "code": i.severity.to_string() }], "text": format!("AIS {}", i.severity) },
            "code": { "coding": coding, "text": if i.ais_code.is_empty() { i.icd10.clone() } else { format!("AIS {}", i.ais_code) } },
            "bodySite": [{ "coding": [{ "system": AIS_REGION, "code": i.region }], "text": i.region }],
            "subject": reference("Patient", &r.patient_id),
            "encounter": reference("Encounter", &r.id),
            "note": [{ "text": format!("coded by {}", i.source) }],
        });
        if !r.injured_at.is_empty() {
            c["onsetDateTime"] = json!(r.injured_at);
        }
        entries.push(c);
    }
    let loinc = |code: &str, text: &str| json!({ "coding": [{ "system": LOINC, "code": code }], "text": text });
    let score = |code: &str, text: &str| json!({ "coding": [{ "system": SCORE_SYSTEM, "code": code }], "text": text });
    if let Some(g) = r.gcs {
        entries.push(observation(
            v,
            "gcs",
            loinc("9269-2", "Glasgow coma score total"),
            json!({ "valueInteger": g }),
            None,
        ));
    }
    if let Some(s) = r.sbp {
        entries.push(observation(
            v,
            "sbp",
            loinc("8480-6", "Systolic blood pressure"),
            qty(s as f64, "mmHg", "mm[Hg]"),
            None,
        ));
    }
    if let Some(s) = r.rr {
        entries.push(observation(
            v,
            "rr",
            loinc("9279-1", "Respiratory rate"),
            qty(s as f64, "/min", "/min"),
            None,
        ));
    }
    if let Some(x) = r.rts_e4 {
        entries.push(observation(
            v,
            "score-rts",
            score("rts", "Revised Trauma Score"),
            json!({ "valueDecimal": x as f64 / 10_000.0 }),
            None,
        ));
    }
    if let Some(x) = r.iss {
        entries.push(observation(
            v,
            "score-iss",
            score("iss", "Injury Severity Score"),
            json!({ "valueInteger": x }),
            None,
        ));
    }
    if let Some(x) = r.niss {
        entries.push(observation(
            v,
            "score-niss",
            score("niss", "New Injury Severity Score"),
            json!({ "valueInteger": x }),
            None,
        ));
    }
    if let Some(x) = r.ps_e6 {
        entries.push(observation(
            v,
            "score-triss",
            score("triss-ps", "TRISS probability of survival"),
            json!({ "valueDecimal": x as f64 / 1e6 }),
            Some(format!("coefficients {}", r.triss_model)),
        ));
    }
    if !r.operation_at.is_empty() {
        entries.push(json!({
            "resourceType": "Procedure",
            "id": format!("{}-operation", r.id),
            "status": "completed",
            "category": { "coding": [{ "system": "http://snomed.info/sct", "code": "387713003", "display": "Surgical procedure" }] },
            "code": { "text": "first operation" },
            "subject": reference("Patient", &r.patient_id),
            "encounter": reference("Encounter", &r.id),
            "performedDateTime": r.operation_at,
            "location": { "identifier": { "system": "urn:tianshan:org", "value": r.operation_org_code }, "display": r.operation_org_code },
        }));
    }
    entries
}

/// The Bundle of one record.
pub fn bundle(v: &RecordView) -> Value {
    let r = &v.record;
    let entries = resources(v);
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": r.updated_at,
        "entry": entries.into_iter().map(|res| {
            let url = format!("urn:tianshan:trauma:{}/{}", res["resourceType"].as_str().unwrap_or(""), res["id"].as_str().unwrap_or(""));
            json!({ "fullUrl": url, "resource": res })
        }).collect::<Vec<_>>(),
    })
}

/// The FHIR types the trauma registry serves under `/fhir/r4`: read and search, scope-checked
/// and audited as the pages are (a record outside the caller's scope answers 404).
pub fn types() -> Vec<Arc<dyn FhirType>> {
    ["Encounter", "Condition", "Observation", "Procedure"]
        .into_iter()
        .map(|t| Arc::new(TraumaType(t)) as Arc<dyn FhirType>)
        .collect()
}

struct TraumaType(&'static str);

/// The record a resource id belongs to (`{record}`, `{record}-stay-2`, `{record}-injury-1`,
/// `{record}-score-iss`, `{record}-gcs`, `{record}-operation`).
fn record_of(id: &str) -> &str {
    for sep in ["-stay-", "-injury-", "-score-"] {
        if let Some((rec, _)) = id.rsplit_once(sep) {
            return rec;
        }
    }
    for suffix in ["-gcs", "-sbp", "-rr", "-operation"] {
        if let Some(rec) = id.strip_suffix(suffix) {
            return rec;
        }
    }
    id
}

fn ref_id(v: &str) -> &str {
    v.rsplit('/').next().unwrap_or(v)
}

impl FhirType for TraumaType {
    fn resource_type(&self) -> &'static str {
        self.0
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        if self.0 == "Encounter" {
            vec![("patient", "reference")]
        } else {
            vec![("patient", "reference"), ("encounter", "reference")]
        }
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some(match self.0 {
            "Encounter" => "Trauma registry: the record (the whole chain, one location per hospital) and one Encounter per hospital stay (partOf the record's). Search by patient.",
            "Condition" => "Trauma registry: one per injury, ICD-10 code, AIS severity (https://tianshan.health/fhir/CodeSystem/ais-severity) and ISS body region (https://tianshan.health/fhir/CodeSystem/iss-region). Search by patient or encounter.",
            "Observation" => "Trauma registry: GCS, systolic pressure, respiratory rate (LOINC) and the computed RTS, ISS, NISS and TRISS Ps (https://tianshan.health/fhir/CodeSystem/trauma-score, the TRISS coefficient set in note). Search by patient or encounter.",
            _ => "Trauma registry: the first operation. Search by patient or encounter.",
        })
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
            let v = crate::service::read(st, who, record_of(id)).await?;
            let resource = resources(&v)
                .into_iter()
                .find(|r| r["resourceType"] == self.0 && r["id"] == id)
                .ok_or(AppError::NotFound)?;
            Ok(FhirRead {
                resource: resource.into(),
                version: Some(v.record.version),
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
            let patient = search.get("patient");
            let encounter = search.get("encounter");
            if patient.is_none() && encounter.is_none() {
                return Err(tianshan_platform::fhir::invalid(
                    "patient",
                    "search the trauma registry by patient (or encounter)",
                ));
            }
            let records = crate::service::fhir_records(
                st,
                who,
                patient.as_deref().map(ref_id),
                encounter.as_deref().map(|e| record_of(ref_id(e))),
            )
            .await?;
            let all: Vec<Value> = records
                .iter()
                .flat_map(resources)
                .filter(|r| r["resourceType"] == self.0)
                .collect();
            let total = all.len() as i64;
            let start = usize::try_from(search.offset).unwrap_or(0);
            let count = usize::try_from(search.count).unwrap_or(20);
            Ok(SearchResult {
                resources: all
                    .into_iter()
                    .skip(start)
                    .take(count)
                    .map(Into::into)
                    .collect(),
                total: Some(total),
            })
        })
    }
}
