//! HL7 FHIR R4 for the registry: Patient, Practitioner, Organization and Location as
//! [`FhirType`]s. The platform serves the REST interactions, Bundles and the capability
//! statement for them; scopes and audit are those of the pages, because every operation goes
//! through the registry's service.
pub mod directory;
#[cfg(test)]
mod fuzz;
pub mod patient;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tianshan_platform::auth::Principal;
use tianshan_platform::fhir::{
    invalid, Alone, FhirRead, FhirType, Prepared, RefMap, Search, SearchResult,
};
use tianshan_platform::{ApiRouter, AppError, Msg, Platform};

use crate::service::{self, directory as dir, Checked, CreateOptions, ReadDetail};
use crate::store::orgs::{NewOrg, OrgQuery, AREA_KINDS};
use crate::store::patients::{DateOp, PatientQuery};
use crate::store::practitioners::PractitionerQuery;

/// The registry adds no FHIR routes of its own: the platform routes by type.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
}

pub fn types() -> Vec<Arc<dyn FhirType>> {
    vec![
        Arc::new(PatientType),
        Arc::new(PractitionerType),
        Arc::new(OrgType("Organization")),
        Arc::new(OrgType("Location")),
    ]
}

/// Name refused fields by their FHIR path, so an OperationOutcome points into the resource.
fn patient_paths(e: AppError) -> AppError {
    match e {
        AppError::Invalid(fields) => AppError::Invalid(
            fields
                .into_iter()
                .map(|mut f| {
                    let path = match f.field.split('[').next().unwrap_or("") {
                        "family_name" | "given_name" | "name_ug" | "name_latin" => "Patient.name",
                        "sex" => "Patient.gender",
                        "birth_date" => "Patient.birthDate",
                        "id_number" => "Patient.identifier",
                        "phone" => "Patient.telecom",
                        "ethnicity" => "Patient.extension",
                        "org_code" => "Patient.managingOrganization",
                        "address" => "Patient.address",
                        "guardians" => "Patient.contact",
                        _ => "",
                    };
                    if !path.is_empty() {
                        f.field = path.to_string();
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

fn date_param(v: &str) -> Result<(DateOp, String), AppError> {
    let (op, d) = match v.get(..2) {
        Some("eq") => (DateOp::Eq, &v[2..]),
        Some("ge") => (DateOp::Ge, &v[2..]),
        Some("le") => (DateOp::Le, &v[2..]),
        Some("gt") => (DateOp::Gt, &v[2..]),
        Some("lt") => (DateOp::Lt, &v[2..]),
        _ => (DateOp::Eq, v),
    };
    if crate::domain::patient::parse_date(d).is_none() {
        return Err(invalid(
            "birthdate",
            &format!(
                "birthdate must be YYYY-MM-DD with an optional eq/ge/le/gt/lt prefix, not '{v}'"
            ),
        ));
    }
    Ok((op, d.to_string()))
}

/// A Patient's managing organisation may be a bundle-local reference to an Organization
/// entry; resolve it before the registry reads the code.
fn resolve_org_ref(v: &Value, refs: &RefMap) -> Value {
    let mut v = v.clone();
    if let Some(r) = v
        .pointer_mut("/managingOrganization/reference")
        .filter(|r| r.as_str().is_some_and(|s| s.starts_with("urn:")))
    {
        if let Some(id) = r.as_str().and_then(|s| refs.id_of(s, "Organization")) {
            *r = Value::String(format!("Organization/{id}"));
        }
    }
    v
}

pub struct PatientType;

const DUP: &str = "patient.dup.intro";
const DUP_ELSEWHERE: &str = "patient.dup.elsewhere";
const DUP_SAME_ID: &str = "patient.dup.same_id_title";

impl FhirType for PatientType {
    fn resource_type(&self) -> &'static str {
        "Patient"
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("name", "string"),
            ("family", "string"),
            ("given", "string"),
            ("identifier", "token"),
            ("birthdate", "date"),
            ("gender", "token"),
            ("telecom", "token"),
        ]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "create", "update", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("A Patient without managingOrganization is registered at the creating user's own organisation; a user whose scope is the whole network must name one (422 otherwise). Names are searched in every script, in pinyin and by pinyin initials. A same-ID duplicate answers 409.")
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
            let v = resolve_org_ref(resource, refs);
            let (input, extra) = patient::from_fhir(&v, who.scope_code.as_deref())?;
            let opts = CreateOptions {
                confirmed_not_duplicate: false,
                fhir_extra: extra.to_string(),
                id: Some(id.clone()),
            };
            match service::check_create(st, who, &input, opts)
                .await
                .map_err(patient_paths)?
            {
                Checked::Duplicates(d) => Err(AppError::Conflict(Msg::new(
                    if d.iter().any(|x| x.elsewhere) {
                        DUP_ELSEWHERE
                    } else if d.iter().any(|x| x.kind == "same_id_number") {
                        // A whole sentence: a FHIR client gets no list after the intro.
                        DUP_SAME_ID
                    } else {
                        DUP
                    },
                ))),
                Checked::Ready(w) => {
                    let (statements, rec) = w.statements(st, who);
                    let alone = Alone {
                        statements,
                        stored: patient::resource(&rec.row, &rec.guardians)?,
                        on_error: service::id_taken,
                    };
                    let who = who.clone();
                    Ok(Prepared {
                        resource_type: "Patient",
                        id,
                        created: true,
                        apply: Box::new(move |tx| {
                            Box::pin(async move {
                                let rec = w.apply(tx, &who).await?;
                                patient::to_fhir(&rec.row, &rec.guardians)
                            })
                        }),
                        alone: Some(alone),
                    })
                }
            }
        })
    }
    fn prepare_update<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        version: Option<i64>,
        refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        Box::pin(async move {
            let v = resolve_org_ref(resource, refs);
            let (input, extra) = patient::from_fhir(&v, who.scope_code.as_deref())?;
            let u = service::check_update(st, who, &id, &input, version, Some(extra.to_string()))
                .await
                .map_err(patient_paths)?;
            let who = who.clone();
            Ok(Prepared {
                resource_type: "Patient",
                id,
                created: false,
                apply: Box::new(move |tx| {
                    Box::pin(async move {
                        let rec = u.apply(tx, &who).await?;
                        patient::to_fhir(&rec.row, &rec.guardians)
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
            let rec = service::read(st, who, id, ReadDetail::default()).await?;
            Ok(FhirRead {
                resource: patient::resource(&rec.row, &rec.guardians)?,
                version: Some(rec.row.version),
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
            let mut q = PatientQuery {
                term: s.get("name"),
                family: s.get("family"),
                given: s.get("given"),
                sex: s.get("gender"),
                phone: s
                    .get("telecom")
                    .map(|t| t.rsplit('|').next().unwrap_or("").to_string()),
                limit: s.count,
                offset: s.offset,
                ..Default::default()
            };
            if let Some(i) = s.get("identifier") {
                q.id_number = Some(i.rsplit('|').next().unwrap_or("").to_string());
            }
            if let Some(b) = s.get("birthdate") {
                q.birth_date = Some(date_param(&b)?);
            }
            let (rows, total) = service::search_counted(st, who, &q, s.counts_total()).await?;
            Ok(SearchResult {
                resources: rows
                    .iter()
                    .map(|r| patient::resource(r, &[]))
                    .collect::<Result<_, _>>()?,
                total,
            })
        })
    }
}

pub struct PractitionerType;

impl FhirType for PractitionerType {
    fn resource_type(&self) -> &'static str {
        "Practitioner"
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![("name", "string"), ("gender", "token")]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "create", "update", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("The organisation is named with the extension https://tianshan.health/fhir/StructureDefinition/practitioner-organization; without it, the creating user's own organisation.")
    }
    fn prepare_create<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        _refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        Box::pin(practitioner_write(st, who, resource, id, true))
    }
    fn prepare_update<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        _version: Option<i64>,
        _refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        Box::pin(practitioner_write(st, who, resource, id, false))
    }
    fn read<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        id: &'a str,
    ) -> BoxFuture<'a, Result<FhirRead, AppError>> {
        Box::pin(async move {
            let p = dir::practitioner(st, who, id).await?;
            Ok(FhirRead {
                resource: directory::practitioner_to_fhir(&p).into(),
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
            let q = PractitionerQuery {
                name: s.get("name"),
                sex: s.get("gender"),
                limit: s.count.max(1),
                offset: s.offset,
                ..Default::default()
            };
            let rows = dir::search_practitioners(st, who, &q).await?;
            let total = if s.count == 0 {
                Some(dir::count_practitioners(st, who, &q).await?)
            } else {
                None
            };
            Ok(SearchResult {
                resources: if s.count == 0 {
                    Vec::new()
                } else {
                    rows.iter()
                        .map(|p| directory::practitioner_to_fhir(p).into())
                        .collect()
                },
                total: total.or_else(|| {
                    (s.offset == 0 && (rows.len() as i64) < s.count).then_some(rows.len() as i64)
                }),
            })
        })
    }
}

async fn practitioner_write(
    st: &Platform,
    who: &Principal,
    v: &Value,
    id: String,
    create: bool,
) -> Result<Prepared, AppError> {
    let data = directory::practitioner_from_fhir(v, who.scope_code.as_deref())?;
    let w = dir::check_practitioner(st, who, id.clone(), create, data).await?;
    let who = who.clone();
    Ok(Prepared {
        resource_type: "Practitioner",
        id,
        created: create,
        apply: Box::new(move |tx| {
            Box::pin(async move {
                let row = w.apply(tx, &who).await?;
                Ok(directory::practitioner_to_fhir(&row))
            })
        }),
        alone: None,
    })
}

/// Organization (every node of the tree) or Location (areas: region to village).
pub struct OrgType(&'static str);

impl OrgType {
    fn render(&self, o: &crate::store::orgs::Org) -> Value {
        if self.0 == "Location" {
            directory::location_to_fhir(o)
        } else {
            directory::org_to_fhir(o)
        }
    }
}

impl FhirType for OrgType {
    fn resource_type(&self) -> &'static str {
        self.0
    }
    fn search_params(&self) -> Vec<(&'static str, &'static str)> {
        vec![("name", "string"), ("partof", "reference")]
    }
    fn interactions(&self) -> Vec<&'static str> {
        vec!["read", "create", "update", "search-type"]
    }
    fn documentation(&self) -> Option<&'static str> {
        Some("A node of the organisation tree; partOf names its parent, which must be inside the caller's scope. The id is the node's code.")
    }
    fn prepare_create<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        let ty = self.0;
        Box::pin(async move {
            let d = directory::org_from_fhir(resource, ty)?;
            let parent = d
                .parent
                .as_deref()
                .map(|p| refs.id_of(p, ty).unwrap_or_else(|| p.to_string()));
            // Without a code of its own, the id's last ten characters: a new id begins with
            // the time (`new_id`), which organisations created together share.
            let code = d.code.clone().unwrap_or_else(|| {
                let hex: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
                format!(
                    "ORG-{}",
                    hex.get(hex.len().saturating_sub(10)..).unwrap_or(&hex)
                )
            });
            let w = dir::check_create_org(
                st,
                who,
                NewOrg {
                    code: code.clone(),
                    parent_code: parent,
                    kind: d.kind.clone(),
                    name_zh: d.name_zh.clone(),
                    name_ug: d.name_ug.clone(),
                    name_en: d.name_en.clone(),
                },
            )
            .await?;
            let who = who.clone();
            Ok(Prepared {
                resource_type: ty,
                id: code,
                created: true,
                apply: Box::new(move |tx| {
                    Box::pin(async move {
                        let org = w.apply(tx, &who).await?;
                        Ok(OrgType(ty).render(&org))
                    })
                }),
                alone: None,
            })
        })
    }
    fn prepare_update<'a>(
        &'a self,
        st: &'a Platform,
        who: &'a Principal,
        resource: &'a Value,
        id: String,
        _version: Option<i64>,
        _refs: &'a RefMap,
    ) -> BoxFuture<'a, Result<Prepared, AppError>> {
        let ty = self.0;
        Box::pin(async move {
            let d = directory::org_from_fhir(resource, ty)?;
            let w =
                dir::check_rename_org(st, who, &id, &d.kind, [&d.name_zh, &d.name_ug, &d.name_en])
                    .await?;
            let who = who.clone();
            Ok(Prepared {
                resource_type: ty,
                id,
                created: false,
                apply: Box::new(move |tx| {
                    Box::pin(async move {
                        let org = w.apply(tx, &who).await?;
                        Ok(OrgType(ty).render(&org))
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
            let o = dir::read_org(st, who, id).await?;
            if self.0 == "Location" && !o.is_area() {
                return Err(AppError::NotFound);
            }
            Ok(FhirRead {
                resource: self.render(&o).into(),
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
            let q = OrgQuery {
                name: s.get("name"),
                kinds: if self.0 == "Location" {
                    AREA_KINDS.to_vec()
                } else {
                    Vec::new()
                },
                parent: s
                    .get("partof")
                    .map(|v| v.rsplit('/').next().unwrap_or("").to_string()),
                limit: s.count.max(1),
                offset: s.offset,
            };
            let rows = dir::search_orgs(st, who, &q).await?;
            let total = (s.offset == 0 && (rows.len() as i64) < s.count.max(1))
                .then_some(rows.len() as i64);
            Ok(SearchResult {
                resources: if s.count == 0 {
                    Vec::new()
                } else {
                    rows.iter().map(|o| self.render(o).into()).collect()
                },
                total,
            })
        })
    }
}
