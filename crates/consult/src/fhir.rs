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
use crate::service::{self, CaseDetail, CaseView, ENTITY};
use crate::store::{self, AttachmentMeta, MessageRow};
use tianshan_platform::Msg;

pub const KIND_SYSTEM: &str = "https://tianshan.health/fhir/CodeSystem/consult-kind";

pub fn types() -> Vec<Arc<dyn FhirType>> {
    vec![
        Arc::new(CaseType { task: false }),
        Arc::new(CaseType { task: true }),
        Arc::new(PartType { documents: false }),
        Arc::new(PartType { documents: true }),
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
        Some("Tele-consultation cases (read-only here; filed and moved through /api/v1/consult). Visible to the requesting side, the target side and coordinators above either side; a case sent abroad without PIPL consent names no patient.")
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
                resource: self.to_fhir(&d.case).into(),
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
                resources: page.into_iter().map(Into::into).collect(),
                total: Some(total),
            })
        })
    }
}

pub fn communication(m: &MessageRow) -> Value {
    let mut v = json!({
        "resourceType": "Communication",
        "id": m.id,
        "status": "completed",
        "basedOn": [{"reference": format!("ServiceRequest/{}", m.case_id)}],
        "category": [{"coding": [{"system": "https://tianshan.health/fhir/CodeSystem/consult-step", "code": m.kind}]}],
        "sent": m.at,
        "sender": {"display": if m.author_name.is_empty() { "system" } else { m.author_name.as_str() }},
    });
    if !m.body.is_empty() {
        v["payload"] = json!([{"contentString": m.body}]);
    }
    v
}

pub fn document_reference(a: &AttachmentMeta, c: &CaseView) -> Value {
    let mut v = json!({
        "resourceType": "DocumentReference",
        "id": a.id,
        "status": "current",
        "date": a.at,
        "author": [{"display": a.added_by_name}],
        "content": [{"attachment": {
            "contentType": a.content_type,
            "size": a.size,
            "title": a.name,
            "url": format!("/api/v1/consult/cases/{}/attachments/{}", a.case_id, a.id),
        }}],
        "context": {"related": [{"reference": format!("ServiceRequest/{}", a.case_id)}]},
    });
    if let (Some(id), Some(name)) = (&c.patient.id, &c.patient.name) {
        v["subject"] = json!({"reference": format!("Patient/{id}"), "display": name});
    }
    v
}

/// Communication (the thread) and DocumentReference (attachments) of the cases the caller
/// may see; searched by the case they belong to.
struct PartType {
    documents: bool,
}

impl PartType {
    fn param(&self) -> &'static str {
        if self.documents {
            "related"
        } else {
            "based-on"
        }
    }
    fn resources(&self, d: &CaseDetail) -> Vec<(String, Value)> {
        if self.documents {
            d.attachments
                .iter()
                .map(|a| (a.id.clone(), document_reference(a, &d.case)))
                .collect()
        } else {
            d.thread
                .iter()
                .map(|m| (m.id.clone(), communication(m)))
                .collect()
        }
    }
}

impl FhirType for PartType {
    fn resource_type(&self) -> &'static str {
        if self.documents {
            "DocumentReference"
        } else {
            "Communication"
        }
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![(self.param(), "reference")]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("The thread (Communication, searched by based-on=ServiceRequest/id) and the attachments (DocumentReference, searched by related=ServiceRequest/id) of a consultation case, to the same people who see the case.")
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
            let table = if self.documents {
                "attachments"
            } else {
                "messages"
            };
            let case_id = store::case_of(&st.db, table, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let d = service::get(st, who, &case_id).await?;
            let resource = self
                .resources(&d)
                .into_iter()
                .find(|(rid, _)| rid == id)
                .map(|(_, v)| v)
                .ok_or(AppError::NotFound)?;
            Ok(FhirRead {
                resource: resource.into(),
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
            let Some(case) = s.get(self.param()) else {
                return Err(AppError::BadRequest(
                    Msg::new("consult.err.search_case").arg("param", self.param()),
                ));
            };
            let case_id = case.rsplit('/').next().unwrap_or("").to_string();
            let all = match service::get(st, who, &case_id).await {
                Ok(d) => self.resources(&d),
                // A case the caller may not see has no parts for them.
                Err(AppError::NotFound) => Vec::new(),
                Err(e) => return Err(e),
            };
            let total = all.len() as i64;
            let resources = if s.summary_count {
                Vec::new()
            } else {
                all.into_iter()
                    .skip(s.offset as usize)
                    .take(s.count as usize)
                    .map(|(_, v)| v.into())
                    .collect()
            };
            Ok(SearchResult {
                resources,
                total: Some(total),
            })
        })
    }
}
