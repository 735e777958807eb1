//! Registry pages: patient search, registration and editing, the patient page, the
//! practitioner directory and the organisation tree.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::scope::Permission;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};

use crate::domain::patient::{GuardianInput, ETHNICITIES};
use crate::domain::PatientInput;
use crate::service::{self, CreateOptions, CreateOutcome, DuplicateView};
use crate::store::practitioners::PractitionerQuery;
use crate::store::{orgs, practitioners, Org, PatientRow, PractitionerRow};

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/patients", get(patient_search))
        .route("/patients/new", get(new_patient_form).post(create_patient))
        .route("/patients/{id}", get(patient_page))
        .route(
            "/patients/{id}/edit",
            get(edit_patient_form).post(update_patient),
        )
        .route("/patients/{id}/share", post(share_patient))
        .route("/practitioners", get(practitioner_search))
        .route("/practitioners/{id}", get(practitioner_page))
        .route("/orgs", get(org_tree))
}

/// A patient row as a list shows it, with labels in the reader's language.
pub struct PatientLine {
    pub id: String,
    pub name: String,
    pub other_names: String,
    pub sex: String,
    pub birth_date: String,
    pub org: String,
}

fn sex_label(t: &Catalog, sex: &str) -> String {
    t.get(&format!("sex.{sex}")).to_string()
}

fn line(t: &Catalog, p: &PatientRow) -> PatientLine {
    let other: Vec<&str> = [p.name_ug.as_str(), p.name_latin.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty() && *s != p.full_name)
        .collect();
    PatientLine {
        id: p.id.clone(),
        name: p.full_name.clone(),
        other_names: other.join(" / "),
        sex: sex_label(t, &p.sex),
        birth_date: p.birth_date.clone().unwrap_or_default(),
        org: p.org_code.clone(),
    }
}

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    shell: Shell,
    q: String,
    results: Vec<PatientLine>,
    searched: bool,
    /// The page is full: more patients may match than are shown.
    more: bool,
    can_write: bool,
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn patient_search(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, AppError> {
    who.require(Permission::ReadPatients)?;
    let query = service::query_from_box(&sq.q);
    let searched = !query.is_empty();
    let rows = if searched {
        service::search(&st, &who, &query).await?
    } else {
        Vec::new()
    };
    let more = rows.len() as i64 >= query.limit;
    let mut results: Vec<PatientLine> = rows.iter().map(|r| line(&ctx.t, r)).collect();
    // Show each village or facility by name: few distinct ones per page.
    let mut names: HashMap<String, String> = HashMap::new();
    for r in &mut results {
        if !names.contains_key(&r.org) {
            let name = orgs::get(&st.db, &r.org)
                .await?
                .map(|o| o.name(ctx.t.locale).to_string())
                .unwrap_or_default();
            names.insert(r.org.clone(), name);
        }
        if let Some(n) = names.get(&r.org) {
            r.org = n.clone();
        }
    }
    let can_write = who.role.can(Permission::WritePatients);
    render(&PatientsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q: sq.q,
        results,
        searched,
        more,
        can_write,
    })
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "patient_form.html")]
struct PatientForm {
    shell: Shell,
    action: String,
    title: String,
    f: PatientInput,
    g: GuardianInput,
    errors: HashMap<String, String>,
    orgs: Vec<Choice>,
    ethnicities: Vec<Choice>,
    duplicates: Vec<DuplicateView>,
    version: i64,
    from_server: bool,
}

impl PatientForm {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
    fn has_err(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }
}

/// Organisations a user may register patients at: their subtree, indented by depth.
async fn org_choices(st: &Platform, who: &Principal, t: &Catalog) -> Result<Vec<Choice>, AppError> {
    let nodes = orgs::subtree(&st.db, &who.scope, 3000).await?;
    let base = nodes.first().map(Org::depth).unwrap_or(0);
    Ok(nodes
        .iter()
        .filter(|o| o.kind != "department")
        .map(|o| Choice {
            value: o.code.clone(),
            label: format!(
                "{}{}",
                "· ".repeat(o.depth().saturating_sub(base)),
                o.name(t.locale)
            ),
        })
        .collect())
}

fn ethnicity_choices(t: &Catalog) -> Vec<Choice> {
    ETHNICITIES
        .iter()
        .map(|c| Choice {
            value: (*c).to_string(),
            label: t.get(&format!("ethnicity.{c}")).to_string(),
        })
        .collect()
}

fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = HashMap::new();
    for e in errs {
        // Guardian fields are drawn as one guardian block in the form.
        let field = e.field.replace("guardians[0].", "guardian_");
        m.entry(field)
            .and_modify(|s| {
                s.push(' ');
                s.push_str(&t.msg(&e.msg));
            })
            .or_insert_with(|| t.msg(&e.msg));
    }
    m
}

/// The form as posted: patient fields, one guardian, and the duplicate confirmation.
#[derive(Deserialize, Default)]
struct PatientFormData {
    #[serde(flatten)]
    p: PatientInput,
    #[serde(default)]
    guardian_name: String,
    #[serde(default)]
    guardian_relationship: String,
    #[serde(default)]
    guardian_phone: String,
    #[serde(default)]
    guardian_patient_id: String,
    #[serde(default)]
    confirm_new: Option<String>,
    #[serde(default)]
    version: Option<i64>,
}

impl PatientFormData {
    fn into_parts(self) -> (PatientInput, GuardianInput, bool, Option<i64>) {
        let g = GuardianInput {
            name: self.guardian_name,
            relationship: self.guardian_relationship,
            phone: self.guardian_phone,
            patient_id: Some(self.guardian_patient_id).filter(|s| !s.trim().is_empty()),
        };
        let mut p = self.p;
        p.guardians = vec![g.clone()];
        (p, g, self.confirm_new.is_some(), self.version)
    }
}

/// What a patient form shows: where it posts, what was typed, and why it was refused.
struct FormState {
    action: String,
    title_key: &'static str,
    f: PatientInput,
    g: GuardianInput,
    errs: Vec<FieldError>,
    duplicates: Vec<DuplicateView>,
    version: i64,
}

impl FormState {
    fn new(action: String, title_key: &'static str, f: PatientInput, g: GuardianInput) -> Self {
        FormState {
            action,
            title_key,
            f,
            g,
            errs: Vec::new(),
            duplicates: Vec::new(),
            version: 0,
        }
    }
}

async fn form_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    form: FormState,
) -> Result<Response, AppError> {
    let FormState {
        action,
        title_key,
        f,
        g,
        errs,
        duplicates,
        version,
    } = form;
    let errs = errs.as_slice();
    let orgs = org_choices(st, who, &ctx.t).await?;
    let errors = error_map(&ctx.t, errs);
    let status = if errs.is_empty() && duplicates.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let from_server = !errs.is_empty() || !duplicates.is_empty() || version > 0;
    let page = PatientForm {
        title: ctx.t.get(title_key).to_string(),
        ethnicities: ethnicity_choices(&ctx.t),
        shell: Shell::new(ctx, st, Some(who)),
        action,
        f,
        g,
        errors,
        orgs,
        duplicates,
        version,
        from_server,
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    Ok(resp)
}

async fn new_patient_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    who.require(Permission::WritePatients)?;
    let f = PatientInput {
        org_code: who.scope_code.clone().unwrap_or_default(),
        ..Default::default()
    };
    form_page(
        &st,
        ctx,
        &who,
        FormState::new(
            "/patients/new".into(),
            "patient.new",
            f,
            GuardianInput::default(),
        ),
    )
    .await
}

async fn create_patient(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(data): Form<PatientFormData>,
) -> Result<Response, AppError> {
    let (input, g, confirmed, _) = data.into_parts();
    let opts = CreateOptions {
        confirmed_not_duplicate: confirmed,
        fhir_extra: "{}",
        id: None,
    };
    match service::create(&st, &who, &input, opts).await {
        Ok(CreateOutcome::Created(id)) => {
            Ok(Redirect::to(&format!("/patients/{id}?created=1")).into_response())
        }
        Ok(CreateOutcome::Duplicates(d)) => {
            form_page(
                &st,
                ctx,
                &who,
                FormState {
                    duplicates: d,
                    ..FormState::new("/patients/new".into(), "patient.new", input, g)
                },
            )
            .await
        }
        Err(AppError::Invalid(errs)) => {
            form_page(
                &st,
                ctx,
                &who,
                FormState {
                    errs,
                    ..FormState::new("/patients/new".into(), "patient.new", input, g)
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "patient.html")]
struct PatientPage {
    shell: Shell,
    p: PatientRow,
    sex: String,
    ethnicity: String,
    org: String,
    guardians: Vec<crate::store::patients::GuardianRow>,
    wards: Vec<(String, String)>,
    created: bool,
    can_write: bool,
    share_targets: Vec<Choice>,
}

#[derive(Deserialize, Default)]
struct PatientPageQuery {
    created: Option<String>,
    updated: Option<String>,
}

async fn patient_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<PatientPageQuery>,
) -> Result<Response, AppError> {
    let rec = service::read(&st, &who, &id).await?;
    let org = orgs::get(&st.db, &rec.row.org_code)
        .await?
        .map(|o| o.name(ctx.t.locale).to_string())
        .unwrap_or_default();
    let ethnicity = if rec.row.ethnicity.is_empty() {
        String::new()
    } else {
        ctx.t
            .get(&format!("ethnicity.{}", rec.row.ethnicity))
            .to_string()
    };
    let can_write = who.role.can(Permission::WritePatients);
    let mut share_targets = Vec::new();
    if can_write {
        let q = orgs::OrgQuery {
            kinds: vec!["rear_hospital", "partner"],
            limit: 100,
            ..Default::default()
        };
        share_targets = orgs::search(&st.db, &q)
            .await?
            .iter()
            .map(|o| Choice {
                value: o.code.clone(),
                label: o.name(ctx.t.locale).to_string(),
            })
            .collect();
    }
    let page = PatientPage {
        sex: sex_label(&ctx.t, &rec.row.sex),
        shell: Shell::new(ctx, &st, Some(&who)),
        p: rec.row,
        ethnicity,
        org,
        guardians: rec.guardians,
        wards: rec.wards,
        created: q.created.is_some() || q.updated.is_some(),
        can_write,
        share_targets,
    };
    render(&page)
}

async fn edit_patient_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(Permission::WritePatients)?;
    let rec = service::read(&st, &who, &id).await?;
    let r = rec.row;
    let g = rec
        .guardians
        .first()
        .map(|g| GuardianInput {
            name: g.name.clone(),
            relationship: g.relationship.clone(),
            phone: g.phone.clone(),
            patient_id: g.guardian_id.clone(),
        })
        .unwrap_or_default();
    let f = PatientInput {
        family_name: r.family_name,
        given_name: r.given_name,
        name_ug: r.name_ug,
        name_latin: r.name_latin,
        sex: r.sex,
        birth_date: r.birth_date.unwrap_or_default(),
        ethnicity: r.ethnicity,
        id_number: r.id_number.unwrap_or_default(),
        phone: r.phone,
        org_code: r.org_code,
        address: r.address,
        guardians: Vec::new(),
    };
    form_page(
        &st,
        ctx,
        &who,
        FormState {
            version: r.version,
            ..FormState::new(format!("/patients/{id}/edit"), "patient.edit", f, g)
        },
    )
    .await
}

async fn update_patient(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(data): Form<PatientFormData>,
) -> Result<Response, AppError> {
    let (input, g, _, version) = data.into_parts();
    match service::update(&st, &who, &id, &input, version, None).await {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}?updated=1")).into_response()),
        Err(AppError::Invalid(errs)) => {
            form_page(
                &st,
                ctx,
                &who,
                FormState {
                    errs,
                    version: version.unwrap_or(0),
                    ..FormState::new(format!("/patients/{id}/edit"), "patient.edit", input, g)
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ShareForm {
    org_code: String,
}

async fn share_patient(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ShareForm>,
) -> Result<Response, AppError> {
    service::share(&st, &who, &id, &f.org_code).await?;
    Ok(Redirect::to(&format!("/patients/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "practitioners.html")]
struct PractitionersPage {
    shell: Shell,
    q: String,
    results: Vec<(PractitionerRow, String)>,
}

async fn practitioner_search(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let q = PractitionerQuery {
        name: Some(sq.q.clone()),
        limit: 100,
        ..Default::default()
    };
    let rows = practitioners::search(&st.db, &q).await?;
    let mut results = Vec::new();
    for r in rows {
        let org = orgs::get(&st.db, &r.org_code)
            .await?
            .map(|o| o.name(ctx.t.locale).to_string())
            .unwrap_or_default();
        results.push((r, org));
    }
    render(&PractitionersPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q: sq.q,
        results,
    })
}

#[derive(Template)]
#[template(path = "practitioner.html")]
struct PractitionerPage {
    shell: Shell,
    p: PractitionerRow,
    org: String,
    sex: String,
}

async fn practitioner_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let p = practitioners::get(&st.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let org = orgs::get(&st.db, &p.org_code)
        .await?
        .map(|o| o.name(ctx.t.locale).to_string())
        .unwrap_or_default();
    let sex = sex_label(&ctx.t, &p.sex);
    render(&PractitionerPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        p,
        org,
        sex,
    })
}

pub struct OrgLine {
    pub code: String,
    pub name: String,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    shell: Shell,
    current: Option<OrgLine>,
    trail: Vec<OrgLine>,
    children: Vec<OrgLine>,
    q: String,
}

#[derive(Deserialize, Default)]
struct OrgQueryParams {
    code: Option<String>,
    #[serde(default)]
    q: String,
}

async fn org_tree(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<OrgQueryParams>,
) -> Result<Response, AppError> {
    who.require(Permission::ReadRegistry)?;
    let t = &ctx.t;
    let to_line = |o: &Org| OrgLine {
        code: o.code.clone(),
        name: o.name(t.locale).to_string(),
        kind: t.get(&format!("org.kind.{}", o.kind)).to_string(),
    };
    let (current, trail, children) = if !p.q.trim().is_empty() {
        let q = orgs::OrgQuery {
            name: Some(p.q.trim().to_string()),
            limit: 200,
            ..Default::default()
        };
        (
            None,
            Vec::new(),
            orgs::search(&st.db, &q)
                .await?
                .iter()
                .map(to_line)
                .collect(),
        )
    } else if let Some(code) = p.code.as_deref() {
        let node = orgs::get(&st.db, code).await?.ok_or(AppError::NotFound)?;
        let mut trail = Vec::new();
        for c in node.path.trim_matches('/').split('/') {
            if c != node.code {
                if let Some(o) = orgs::get(&st.db, c).await? {
                    trail.push(to_line(&o));
                }
            }
        }
        let kids = orgs::children(&st.db, Some(code)).await?;
        (
            Some(to_line(&node)),
            trail,
            kids.iter().map(to_line).collect(),
        )
    } else {
        (
            None,
            Vec::new(),
            orgs::children(&st.db, None)
                .await?
                .iter()
                .map(to_line)
                .collect(),
        )
    };
    render(&OrgsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        current,
        trail,
        children,
        q: p.q,
    })
}
