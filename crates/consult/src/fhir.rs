//! FHIR R4 ServiceRequest (the request) and Task (its workflow state and owner), read and
//! search, built from the same case views as the pages: the same sides see them, a
//! de-identified case names no patient, and every read is audited.
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::{FhirRead, FhirType, Prepared, RefMap, Search, SearchResult};
use tianshan_platform::{AppError, Platform};

use crate::domain::Status;
use crate::service::{self, CaseView, ENTITY};

pub const KIND_SYSTEM: &str = "https://tianshan.health/fhir/CodeSystem/consult-kind";

pub fn types() -> Vec<Arc<dyn FhirType>> {
    vec![
        Arc::new(CaseType { task: false }),
        Arc::new(CaseType { task: true }),
    ]
}

fn subject(c: &CaseView) -> Value {
    match (&c.patient.id, &c.patient.name) {
        (Some(id), Some(name)) => json!({"reference": format!("Patient/{id}"), "display": name}),
        _ => {
            let age = c
                .patient
                .age
                .map(|a| format!(", {a} y"))
                .unwrap_or_default();
            json!({"display": format!("de-identified patient ({}{age})", c.patient.sex)})
        }
    }
}

pub fn service_request(c: &CaseView) -> Value {
    let status = match c.status {
        Status::Answered | Status::Acknowledged => "completed",
        _ => "active",
    };
    let priority = match c.urgency.as_str() {
        "emergency" => "stat",
        "urgent" => "urgent",
        _ => "routine",
    };
    let mut v = json!({
        "resourceType": "ServiceRequest",
        "id": c.id,
        "status": status,
        "intent": "order",
        "priority": priority,
        "category": [{"coding": [{"system": KIND_SYSTEM, "code": c.kind}]}],
        "code": {"text": c.specialty},
        "subject": subject(c),
        "authoredOn": c.filed_at,
        "requester": {"display": c.requested_by_name},
        "reasonCode": [{"text": c.summary.complaint}],
        "note": [{"text": c.summary.question}],
    });
    if !c.target_code.is_empty() {
        v["performer"] = json!([{"reference": format!("Organization/{}", c.target_code)}]);
    }
    v
}

pub fn task(c: &CaseView) -> Value {
    let status = match c.status {
        Status::Filed => "requested",
        Status::Accepted => "accepted",
        Status::InfoRequested => "on-hold",
        Status::Answered | Status::Acknowledged => "completed",
    };
    let mut v = json!({
        "resourceType": "Task",
        "id": c.id,
        "status": status,
        "businessStatus": {"text": c.status.as_str()},
        "intent": "order",
        "focus": {"reference": format!("ServiceRequest/{}", c.id)},
        "for": subject(c),
        "authoredOn": c.filed_at,
        "restriction": {"period": {"end": c.due_at}},
    });
    if !c.assignee.is_empty() {
        v["owner"] = json!({"display": c.assignee_name});
    }
    if !c.target_code.is_empty() {
        v["requestedPerformer"] = json!([{"reference": format!("Organization/{}", c.target_code)}]);
    }
    v
}

struct CaseType {
    task: bool,
}

impl CaseType {
    fn to_fhir(&self, c: &CaseView) -> Value {
        if self.task {
            task(c)
        } else {
            service_request(c)
        }
    }
}

impl FhirType for CaseType {
    fn resource_type(&self) -> &'static str {
        if self.task {
            "Task"
        } else {
            "ServiceRequest"
        }
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![("status", "token"), ("patient", "reference")]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("Tele-consultation cases (read-only here; filed and moved through /api/v1/consult). Visible to the requesting side, the target side and coordinators over the requesting side; a case sent abroad without PIPL consent names no patient.")
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
            let d = service::get(st, who, id).await?;
            Ok(FhirRead {
                resource: self.to_fhir(&d.case),
                version: None,
            })
        })
    }
    fn search<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        s: &'a Search,
    ) -> BoxFuture<'a, Result<SearchResult, AppError>> {
        Box::pin(async move {
            let patient = s
                .get("patient")
                .map(|p| p.rsplit('/').next().unwrap_or("").to_string());
            let status = s.get("status");
            let all: Vec<Value> = service::visible_cases(st, who)
                .await?
                .iter()
                .filter(|c| match &patient {
                    Some(p) => c.patient.id.as_deref() == Some(p.as_str()),
                    None => true,
                })
                .map(|c| self.to_fhir(c))
                .filter(|v| match &status {
                    Some(st) => v["status"].as_str() == Some(st.as_str()),
                    None => true,
                })
                .collect();
            let total = all.len() as i64;
            let page: Vec<Value> = if s.summary_count {
                Vec::new()
            } else {
                all.into_iter()
                    .skip(s.offset as usize)
                    .take(s.count as usize)
                    .collect()
            };
            let ids: Vec<&str> = page
                .iter()
                .filter_map(|v| {
                    v["subject"]["reference"]
                        .as_str()
                        .or(v["for"]["reference"].as_str())
                })
                .collect();
            let detail = format!("fhir {}: {}", self.resource_type(), ids.join(" "));
            st.audit(who, Event::new(Action::SEARCH, ENTITY, "").detail(&detail))
                .await?;
            Ok(SearchResult {
                resources: page,
                total: Some(total),
            })
        })
    }
}
