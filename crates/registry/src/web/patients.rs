//! Patient pages: search, registration (with the duplicate rules), the patient page with its
//! shares, and editing.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Platform};

use super::{org_names, sex_label, when, Choice};
use crate::domain::patient::{GuardianInput, ETHNICITIES};
use crate::domain::PatientInput;
use crate::service::{
    self, directory, perms, CreateOptions, CreateOutcome, DuplicateView, ReadDetail,
};
use crate::store::{Org, PatientRow};

/// A patient row as a list shows it, with labels in the reader's language.
pub struct PatientLine {
    pub id: String,
    pub name: String,
    pub other_names: String,
    pub sex: String,
    pub birth_date: String,
    pub org: String,
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
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn patient_search(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, AppError> {
    who.require(perms::PATIENTS_READ)?;
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
    let names = org_names(&st, &ctx.t, results.iter().map(|r| r.org.clone())).await?;
    for r in &mut results {
        if let Some(n) = names.get(&r.org) {
            r.org = n.clone();
        }
    }
    let can_write = who.can(perms::PATIENTS_WRITE);
    render(&PatientsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q: sq.q,
        results,
        searched,
        more,
        can_write,
    })
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
    /// A record with the same ID number: the same person, never registered twice.
    same_id: Option<DuplicateView>,
    /// Where to ask for a same-ID record held elsewhere.
    request_href: String,
    /// Probable duplicates by name, birth date and village: the user may confirm.
    probable: Vec<DuplicateView>,
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
pub(super) async fn org_choices(
    st: &Platform,
    who: &Principal,
    t: &Catalog,
) -> Result<Vec<Choice>, AppError> {
    let nodes = directory::scope_orgs(st, who, 3000).await?;
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

pub(super) fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
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
pub(super) struct PatientFormData {
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
    let (same, probable): (Vec<DuplicateView>, Vec<DuplicateView>) = duplicates
        .into_iter()
        .partition(|d| d.kind == "same_id_number");
    let id_number = service::requests::typed_id_number(&f.id_number);
    let request_href = format!(
        "/patient-requests/new?id_number={}",
        url::form_urlencoded::byte_serialize(id_number.as_bytes()).collect::<String>()
    );
    let page = PatientForm {
        title: ctx.t.get(title_key).to_string(),
        ethnicities: ethnicity_choices(&ctx.t),
        shell: Shell::new(ctx, st, Some(who)),
        action,
        f,
        g,
        errors,
        orgs,
        same_id: same.into_iter().next(),
        request_href,
        probable,
        version,
        from_server,
    };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    Ok(resp)
}

pub(super) async fn new_patient_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
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

pub(super) async fn create_patient(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(data): Form<PatientFormData>,
) -> Result<Response, AppError> {
    let (input, g, confirmed, _) = data.into_parts();
    let opts = CreateOptions {
        confirmed_not_duplicate: confirmed,
        ..Default::default()
    };
    match service::create(&st, &who, &input, opts).await {
        Ok(CreateOutcome::Created(rec)) => {
            Ok(Redirect::to(&format!("/patients/{}?created=1", rec.row.id)).into_response())
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

/// An organisation the record is shared with, as the owner's page lists it.
pub struct ShareLine {
    pub org_code: String,
    pub org: String,
    pub by: String,
    pub at: String,
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
    /// A message after a change (saved, shared, sharing ended).
    notice: String,
    /// The page follows a successful registration: the form's draft can go.
    created: bool,
    /// The user owns the record (their own subtree) and may change and share it.
    can_edit: bool,
    shares: Vec<ShareLine>,
    share_targets: Vec<Choice>,
}

#[derive(Deserialize, Default)]
pub(super) struct PatientPageQuery {
    created: Option<String>,
    updated: Option<String>,
    shared: Option<String>,
    unshared: Option<String>,
}

pub(super) async fn patient_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<PatientPageQuery>,
) -> Result<Response, AppError> {
    let rec = service::read(&st, &who, &id, ReadDetail { wards: true }).await?;
    let ethnicity = if rec.row.ethnicity.is_empty() {
        String::new()
    } else {
        ctx.t
            .get(&format!("ethnicity.{}", rec.row.ethnicity))
            .to_string()
    };
    let can_edit = who.can(perms::PATIENTS_WRITE) && who.scope.owns(&rec.row.org_path);
    let (mut shares, mut share_targets) = (Vec::new(), Vec::new());
    let mut codes = vec![rec.row.org_code.clone()];
    codes.extend(q.shared.iter().chain(q.unshared.iter()).cloned());
    if can_edit {
        let rows = service::shares(&st, &who, &id).await?;
        codes.extend(rows.iter().map(|s| s.org_code.clone()));
        let names = org_names(&st, &ctx.t, codes.clone()).await?;
        shares = rows
            .iter()
            .map(|s| ShareLine {
                org: names.get(&s.org_code).cloned().unwrap_or_default(),
                org_code: s.org_code.clone(),
                by: s.shared_by_name.clone(),
                at: when(&s.shared_at),
            })
            .collect();
        share_targets = directory::orgs_of_kind(&st, &service::SHARE_KINDS, 200)
            .await?
            .iter()
            .filter(|o| !rows.iter().any(|s| s.org_code == o.code))
            .map(|o| Choice {
                value: o.code.clone(),
                label: o.name(ctx.t.locale).to_string(),
            })
            .collect();
    }
    let names = org_names(&st, &ctx.t, codes).await?;
    let name_of = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let notice = if q.created.is_some() || q.updated.is_some() {
        ctx.t.get("patient.saved").to_string()
    } else if let Some(c) = &q.shared {
        ctx.t.fmt("share.done", &[("org", &name_of(c))])
    } else if let Some(c) = &q.unshared {
        ctx.t.fmt("share.ended", &[("org", &name_of(c))])
    } else {
        String::new()
    };
    let page = PatientPage {
        sex: sex_label(&ctx.t, &rec.row.sex),
        org: name_of(&rec.row.org_code),
        shell: Shell::new(ctx, &st, Some(&who)),
        p: rec.row,
        ethnicity,
        guardians: rec.guardians,
        wards: rec.wards,
        notice,
        created: q.created.is_some(),
        can_edit,
        shares,
        share_targets,
    };
    render(&page)
}

pub(super) async fn edit_patient_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let rec = service::read(&st, &who, &id, ReadDetail { wards: true }).await?;
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

pub(super) async fn update_patient(
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
