//! The trauma registry's pages: the list with its review tabs, the quick emergency form (large
//! fields, one-tap "now" buttons), the full form, the record page (chain of hospitals, scores,
//! transfer, review) and the indicators with their definitions. All through the service.
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::i18n::Catalog;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;

use crate::domain::{self, InjuryInput, RecordInput, StayInput, MECHANISMS};
use crate::indicators::Indicators;
use crate::service::{self, perms, Query as RecordQuery, RecordView, ReviewInput, TransferInput};
use crate::store::RecordRow;

pub fn routes() -> Router<Platform> {
    Router::new()
        .route("/trauma", get(list_page))
        .route("/trauma/new", get(quick_form).post(create))
        .route("/trauma/quick.js", get(quick_js))
        .route("/trauma/indicators", get(indicators_page))
        .route("/trauma/board", get(board_page))
        .route("/trauma/records/{id}", get(record_page))
        .route("/trauma/records/{id}/edit", get(edit_form).post(update))
        .route("/trauma/records/{id}/transfer", post(transfer))
        .route("/trauma/records/{id}/review", post(review))
}

/// Fills a time field with the device's clock, as local China time, on one tap.
const QUICK_JS: &str = r#"document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-now]");
  if (!b) return;
  e.preventDefault();
  var input = document.getElementById(b.getAttribute("data-now"));
  var d = new Date(Date.now() + 8 * 3600 * 1000);
  input.value = d.toISOString().slice(0, 16);
  input.dispatchEvent(new Event("input", { bubbles: true }));
});
"#;

async fn quick_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        QUICK_JS,
    )
        .into_response()
}

/// A stored UTC time as China local time for a `datetime-local` field.
fn local(ts: &str) -> String {
    tianshan_platform::clock::parse_timestamp(ts)
        .and_then(|t| {
            time::UtcOffset::from_hms(8, 0, 0)
                .ok()
                .map(|o| t.to_offset(o))
        })
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

/// Readable local time: `2025-06-01 10:00`.
fn shown(ts: &str) -> String {
    local(ts).replace('T', " ")
}

fn error_map(t: &Catalog, errs: &[FieldError]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = HashMap::new();
    for e in errs {
        let field = match e.field.as_str() {
            "stays.0.arrived_at" => "arrived_at".to_string(),
            "stays.0.org_code" | "stays" => "org_code".to_string(),
            f if f.starts_with("injuries") => "icd10".to_string(),
            f => f.to_string(),
        };
        m.entry(field)
            .and_modify(|s| {
                s.push(' ');
                s.push_str(&t.msg(&e.msg));
            })
            .or_insert_with(|| t.msg(&e.msg));
    }
    m
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

fn mechanism_choices(t: &Catalog) -> Vec<Choice> {
    MECHANISMS
        .iter()
        .map(|m| Choice {
            value: m.to_string(),
            label: t.get(&format!("trauma.mech.{m}")).to_string(),
        })
        .collect()
}

fn outcome_choices(t: &Catalog) -> Vec<Choice> {
    domain::OUTCOMES
        .iter()
        .map(|o| Choice {
            value: o.to_string(),
            label: t
                .get(&format!(
                    "trauma.outcome.{}",
                    if o.is_empty() { "unknown" } else { o }
                ))
                .to_string(),
        })
        .collect()
}

async fn hospital_choices(
    st: &Platform,
    who: &Principal,
    t: &Catalog,
) -> Result<Vec<Choice>, AppError> {
    Ok(facade::scope_orgs(st, who, 3000)
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind.as_str(), "hospital" | "clinic"))
        .map(|o| Choice {
            label: o.name(t.locale).to_string(),
            value: o.code,
        })
        .collect())
}

/// Network hospitals a patient may be transferred to (any in the network).
async fn transfer_targets(st: &Platform, t: &Catalog) -> Result<Vec<Choice>, AppError> {
    Ok(
        facade::orgs_of_kind(st, &["hospital", "rear_hospital"], 500)
            .await?
            .into_iter()
            .map(|o| Choice {
                label: o.name(t.locale).to_string(),
                value: o.code,
            })
            .collect(),
    )
}

/// The form as posted: every field text, parsed here so a wrong number is a field error.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct FormData {
    patient: String,
    mechanism: String,
    injury_place: String,
    org_code: String,
    arrived_at: String,
    injured_at: String,
    call_at: String,
    dispatch_at: String,
    scene_at: String,
    scene_departed_at: String,
    trauma_team_at: String,
    mdt_called_at: String,
    mdt_arrived_at: String,
    ct_at: String,
    operation_at: String,
    icu_in_at: String,
    icu_out_at: String,
    discharge_at: String,
    rehab_at: String,
    psych_at: String,
    gcs_eye: String,
    gcs_verbal: String,
    gcs_motor: String,
    sbp: String,
    rr: String,
    icd10: String,
    outcome_discharge: String,
    outcome_30d: String,
    disposition: String,
    version: String,
}

const QUICK_TIMES: &[&str] = &[
    "injured_at",
    "call_at",
    "arrived_at",
    "trauma_team_at",
    "ct_at",
    "operation_at",
];
const FULL_TIMES: &[&str] = &[
    "injured_at",
    "call_at",
    "dispatch_at",
    "scene_at",
    "scene_departed_at",
    "arrived_at",
    "trauma_team_at",
    "mdt_called_at",
    "mdt_arrived_at",
    "ct_at",
    "operation_at",
    "icu_in_at",
    "icu_out_at",
    "discharge_at",
    "rehab_at",
    "psych_at",
];

impl FormData {
    fn time(&self, name: &str) -> &str {
        match name {
            "injured_at" => &self.injured_at,
            "call_at" => &self.call_at,
            "dispatch_at" => &self.dispatch_at,
            "scene_at" => &self.scene_at,
            "scene_departed_at" => &self.scene_departed_at,
            "arrived_at" => &self.arrived_at,
            "trauma_team_at" => &self.trauma_team_at,
            "mdt_called_at" => &self.mdt_called_at,
            "mdt_arrived_at" => &self.mdt_arrived_at,
            "ct_at" => &self.ct_at,
            "operation_at" => &self.operation_at,
            "icu_in_at" => &self.icu_in_at,
            "icu_out_at" => &self.icu_out_at,
            "discharge_at" => &self.discharge_at,
            "rehab_at" => &self.rehab_at,
            "psych_at" => &self.psych_at,
            _ => "",
        }
    }

    fn from_view(v: &RecordView) -> FormData {
        let r = &v.record;
        let n = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
        FormData {
            patient: r.patient_id.clone(),
            mechanism: r.mechanism.clone(),
            injury_place: r.injury_place.clone(),
            org_code: r.first_org_code.clone(),
            arrived_at: local(&r.first_arrival_at),
            injured_at: local(&r.injured_at),
            call_at: local(&r.call_at),
            dispatch_at: local(&r.dispatch_at),
            scene_at: local(&r.scene_at),
            scene_departed_at: local(&r.scene_departed_at),
            trauma_team_at: local(&r.trauma_team_at),
            mdt_called_at: local(&r.mdt_called_at),
            mdt_arrived_at: local(&r.mdt_arrived_at),
            ct_at: local(&r.ct_at),
            operation_at: local(&r.operation_at),
            icu_in_at: local(&r.icu_in_at),
            icu_out_at: local(&r.icu_out_at),
            discharge_at: local(&r.discharge_at),
            rehab_at: local(&r.rehab_at),
            psych_at: local(&r.psych_at),
            gcs_eye: n(r.gcs_eye),
            gcs_verbal: n(r.gcs_verbal),
            gcs_motor: n(r.gcs_motor),
            sbp: n(r.sbp),
            rr: n(r.rr),
            icd10: v
                .injuries
                .iter()
                .filter(|i| i.source != "ais_licensed")
                .map(|i| i.icd10.clone())
                .collect::<Vec<_>>()
                .join(" "),
            outcome_discharge: r.outcome_discharge.clone(),
            outcome_30d: r.outcome_30d.clone(),
            disposition: r.disposition.clone(),
            version: r.version.to_string(),
        }
    }

    /// The record input; numbers that are not numbers are field errors.
    fn input(&self, patient_id: String) -> Result<RecordInput, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut num = |name: &str, v: &str| -> Option<u16> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            match v.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errs.push(FieldError::new(name, Msg::new("trauma.err.number")));
                    None
                }
            }
        };
        let small = |v: Option<u16>| v.map(|n| u8::try_from(n).unwrap_or(u8::MAX));
        let gcs_eye = small(num("gcs", &self.gcs_eye));
        let gcs_verbal = small(num("gcs", &self.gcs_verbal));
        let gcs_motor = small(num("gcs", &self.gcs_motor));
        let sbp = num("sbp", &self.sbp);
        let rr = num("rr", &self.rr);
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(RecordInput {
            patient_id,
            mechanism: self.mechanism.clone(),
            injury_place: self.injury_place.clone(),
            stays: vec![StayInput {
                org_code: self.org_code.clone(),
                arrived_at: self.arrived_at.clone(),
                departed_at: String::new(),
            }],
            injured_at: self.injured_at.clone(),
            call_at: self.call_at.clone(),
            dispatch_at: self.dispatch_at.clone(),
            scene_at: self.scene_at.clone(),
            scene_departed_at: self.scene_departed_at.clone(),
            trauma_team_at: self.trauma_team_at.clone(),
            mdt_called_at: self.mdt_called_at.clone(),
            mdt_arrived_at: self.mdt_arrived_at.clone(),
            ct_at: self.ct_at.clone(),
            operation_at: self.operation_at.clone(),
            icu_in_at: self.icu_in_at.clone(),
            icu_out_at: self.icu_out_at.clone(),
            discharge_at: self.discharge_at.clone(),
            rehab_at: self.rehab_at.clone(),
            psych_at: self.psych_at.clone(),
            gcs_eye,
            gcs_verbal,
            gcs_motor,
            sbp,
            rr,
            injuries: self
                .icd10
                .split(|c: char| c == ',' || c == ';' || c == '，' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|c| InjuryInput {
                    icd10: c.to_string(),
                    ..Default::default()
                })
                .collect(),
            outcome_discharge: self.outcome_discharge.clone(),
            outcome_30d: self.outcome_30d.clone(),
            disposition: self.disposition.clone(),
            age_years: None,
        })
    }
}

pub struct TimeField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub err: String,
}

#[derive(Template)]
#[template(path = "trauma_form.html")]
struct FormPage {
    shell: Shell,
    full: bool,
    action: String,
    f: FormData,
    times: Vec<TimeField>,
    mechanisms: Vec<Choice>,
    outcomes: Vec<Choice>,
    hospitals: Vec<Choice>,
    errors: HashMap<String, String>,
}

impl FormPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
    fn has_err(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    full: bool,
    action: String,
    f: FormData,
    errs: &[FieldError],
    status: StatusCode,
) -> Result<Response, AppError> {
    let errors = error_map(&ctx.t, errs);
    let names = if full { FULL_TIMES } else { QUICK_TIMES };
    let times = names
        .iter()
        .map(|n| TimeField {
            name: n,
            label: ctx.t.get(&format!("trauma.f.{n}")).to_string(),
            value: f.time(n).to_string(),
            err: errors.get(*n).cloned().unwrap_or_default(),
        })
        .collect();
    let mut resp = render(&FormPage {
        mechanisms: mechanism_choices(&ctx.t),
        outcomes: outcome_choices(&ctx.t),
        hospitals: hospital_choices(st, who, &ctx.t).await?,
        shell: Shell::new(ctx, st, Some(who)),
        full,
        action,
        f,
        times,
        errors,
    })?;
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    patient: String,
}

async fn quick_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    who.require(perms::WRITE)?;
    let f = FormData {
        patient: q.patient,
        mechanism: "road_traffic".into(),
        ..Default::default()
    };
    form_page(
        &st,
        ctx,
        &who,
        false,
        "/trauma/new".into(),
        f,
        &[],
        StatusCode::OK,
    )
    .await
}

/// The patient box takes a registry id, or a name / ID number / phone that finds exactly one.
async fn resolve_patient(st: &Platform, who: &Principal, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid(
            "patient_id",
            Msg::new("trauma.err.required"),
        ));
    }
    if facade::require_patient(st, who, text).await.is_ok() {
        return Ok(text.to_string());
    }
    let found = facade::find_patients(st, who, text, 2).await?;
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(AppError::invalid(
            "patient_id",
            Msg::new("trauma.err.patient"),
        )),
        _ => Err(AppError::invalid(
            "patient_id",
            Msg::new("trauma.err.patient_many"),
        )),
    }
}

async fn create(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<FormData>,
) -> Result<Response, AppError> {
    who.require(perms::WRITE)?;
    let result = async {
        let pid = resolve_patient(&st, &who, &f.patient).await?;
        let input = f.input(pid).map_err(AppError::Invalid)?;
        service::create(&st, &who, input).await
    }
    .await;
    match result {
        Ok(v) => {
            Ok(Redirect::to(&format!("/trauma/records/{}?saved=1", v.record.id)).into_response())
        }
        Err(AppError::Invalid(errs)) => {
            let errs: Vec<FieldError> = errs
                .into_iter()
                .map(|e| {
                    if e.field == "patient_id" {
                        FieldError::new("patient", e.msg)
                    } else {
                        e
                    }
                })
                .collect();
            form_page(
                &st,
                ctx,
                &who,
                false,
                "/trauma/new".into(),
                f,
                &errs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn edit_form(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    who.require(perms::WRITE)?;
    let v = service::read(&st, &who, &id).await?;
    let f = FormData::from_view(&v);
    form_page(
        &st,
        ctx,
        &who,
        true,
        format!("/trauma/records/{id}/edit"),
        f,
        &[],
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<FormData>,
) -> Result<Response, AppError> {
    who.require(perms::WRITE)?;
    let result = async {
        let old = service::read(&st, &who, &id).await?;
        let mut input = f
            .input(old.record.patient_id.clone())
            .map_err(AppError::Invalid)?;
        // The chain of hospitals changes by transfer; the form edits the first arrival only.
        let mut stays = service::to_input(&old).stays;
        if let (Some(first), Some(new)) = (stays.first_mut(), input.stays.first()) {
            first.arrived_at = new.arrived_at.clone();
        }
        input.stays = stays;
        input.age_years = old.record.age_years.and_then(|a| u16::try_from(a).ok());
        // AIS-coded injuries (licensed entry) are kept as they were.
        input.injuries.extend(
            service::to_input(&old)
                .injuries
                .into_iter()
                .filter(|i| !i.ais_code.is_empty() || i.icd10.is_empty()),
        );
        let version = f
            .version
            .trim()
            .parse::<i64>()
            .unwrap_or(old.record.version);
        service::update(&st, &who, &id, version, input).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/trauma/records/{id}?saved=1")).into_response()),
        Err(AppError::Invalid(errs)) => {
            form_page(
                &st,
                ctx,
                &who,
                true,
                format!("/trauma/records/{id}/edit"),
                f,
                &errs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// A line of a record list, labels in the reader's language.
pub struct Line {
    pub id: String,
    pub arrived: String,
    pub mechanism: String,
    pub iss: String,
    pub ps: String,
    pub arrival_to_op: String,
    pub outcome: String,
    pub reviewed: bool,
}

fn ps_text(ps: Option<i64>) -> String {
    ps.map(|p| format!("{:.1}%", p as f64 / 10_000.0))
        .unwrap_or_default()
}

fn line(t: &Catalog, r: &RecordRow) -> Line {
    Line {
        id: r.id.clone(),
        arrived: shown(&r.first_arrival_at),
        mechanism: t.get(&format!("trauma.mech.{}", r.mechanism)).to_string(),
        iss: r.iss.map(|v| v.to_string()).unwrap_or_default(),
        ps: ps_text(r.ps_e6),
        arrival_to_op: r
            .arrival_to_op_min
            .map(|v| v.to_string())
            .unwrap_or_default(),
        outcome: t
            .get(&format!(
                "trauma.outcome.{}",
                match r.died {
                    Some(1) => "dead",
                    Some(_) => "alive",
                    None => "unknown",
                }
            ))
            .to_string(),
        reviewed: !r.reviewed_at.is_empty(),
    }
}

#[derive(Template)]
#[template(path = "trauma_list.html")]
struct ListPage {
    shell: Shell,
    review: String,
    tabs: Vec<Choice>,
    lines: Vec<Line>,
    can_write: bool,
}

async fn list_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<RecordQuery>,
) -> Result<Response, AppError> {
    let rows = service::list(&st, &who, &q).await?;
    let lines = rows.iter().map(|r| line(&ctx.t, r)).collect();
    let tabs = ["", "time_target", "unexpected_death", "unexpected_survivor"]
        .iter()
        .map(|k| Choice {
            value: k.to_string(),
            label: ctx
                .t
                .get(&format!(
                    "trauma.review.{}",
                    if k.is_empty() { "all" } else { k }
                ))
                .to_string(),
        })
        .collect();
    render(&ListPage {
        can_write: who.can(perms::WRITE),
        review: q.review.clone(),
        tabs,
        lines,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

pub struct Fact {
    pub label: String,
    pub value: String,
}

pub struct StayLine {
    pub org: String,
    pub arrived: String,
    pub departed: String,
}

#[derive(Template)]
#[template(path = "trauma_record.html")]
struct RecordPage {
    shell: Shell,
    id: String,
    version: i64,
    patient: String,
    saved: bool,
    scores: Vec<Fact>,
    times: Vec<Fact>,
    stays: Vec<StayLine>,
    injuries: Vec<Fact>,
    review_finding: String,
    reviewed: String,
    can_write: bool,
    can_review: bool,
    targets: Vec<Choice>,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: String,
}

async fn record_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let v = service::read(&st, &who, &id).await?;
    let t = &ctx.t;
    let r = &v.record;
    let n = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
    let fact = |k: &str, value: String| Fact {
        label: t.get(k).to_string(),
        value,
    };
    let scores = vec![
        fact(
            "trauma.f.mechanism",
            t.get(&format!("trauma.mech.{}", r.mechanism)).to_string(),
        ),
        fact("trauma.f.gcs", n(r.gcs)),
        fact(
            "trauma.f.rts",
            r.rts_e4
                .map(|v| format!("{:.4}", v as f64 / 10_000.0))
                .unwrap_or_default(),
        ),
        fact("trauma.f.iss", n(r.iss)),
        fact("trauma.f.niss", n(r.niss)),
        fact(
            "trauma.f.ps",
            if r.ps_e6.is_some() {
                format!("{} ({})", ps_text(r.ps_e6), r.triss_model)
            } else {
                String::new()
            },
        ),
        fact("trauma.f.age", n(r.age_years)),
        fact("trauma.f.prehospital_min", n(r.prehospital_min)),
        fact("trauma.f.arrival_to_op_min", n(r.arrival_to_op_min)),
        fact("trauma.f.transfer_min", n(r.transfer_min)),
        fact(
            "trauma.f.outcome_discharge",
            t.get(&format!(
                "trauma.outcome.{}",
                if r.outcome_discharge.is_empty() {
                    "unknown"
                } else {
                    &r.outcome_discharge
                }
            ))
            .to_string(),
        ),
    ];
    let view_times: Vec<(&str, &str)> = vec![
        ("injured_at", &r.injured_at),
        ("call_at", &r.call_at),
        ("dispatch_at", &r.dispatch_at),
        ("scene_at", &r.scene_at),
        ("scene_departed_at", &r.scene_departed_at),
        ("trauma_team_at", &r.trauma_team_at),
        ("mdt_called_at", &r.mdt_called_at),
        ("mdt_arrived_at", &r.mdt_arrived_at),
        ("ct_at", &r.ct_at),
        ("operation_at", &r.operation_at),
        ("icu_in_at", &r.icu_in_at),
        ("icu_out_at", &r.icu_out_at),
        ("discharge_at", &r.discharge_at),
        ("rehab_at", &r.rehab_at),
        ("psych_at", &r.psych_at),
    ];
    let times = view_times
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| fact(&format!("trauma.f.{k}"), shown(v)))
        .collect();
    let codes: Vec<String> = v.stays.iter().map(|s| s.org_code.clone()).collect();
    let orgs = facade::orgs(&st, &codes).await?;
    let stays = v
        .stays
        .iter()
        .map(|s| StayLine {
            org: orgs
                .iter()
                .find(|o| o.code == s.org_code)
                .map(|o| o.name(t.locale).to_string())
                .unwrap_or_else(|| s.org_code.clone()),
            arrived: shown(&s.arrived_at),
            departed: shown(&s.departed_at),
        })
        .collect();
    let injuries = v
        .injuries
        .iter()
        .map(|i| Fact {
            label: if i.icd10.is_empty() {
                i.ais_code.clone()
            } else {
                i.icd10.clone()
            },
            value: format!(
                "{} · AIS {} · {}",
                t.get(&format!("trauma.region.{}", i.region)),
                i.severity,
                t.get(&format!("trauma.source.{}", i.source))
            ),
        })
        .collect();
    let targets = if who.can(perms::WRITE) {
        transfer_targets(&st, t).await?
    } else {
        Vec::new()
    };
    render(&RecordPage {
        id: r.id.clone(),
        version: r.version,
        patient: if v.patient_name.is_empty() {
            r.patient_id.clone()
        } else {
            v.patient_name.clone()
        },
        saved: !q.saved.is_empty(),
        scores,
        times,
        stays,
        injuries,
        review_finding: r.review_finding.clone(),
        reviewed: if r.reviewed_at.is_empty() {
            String::new()
        } else {
            format!("{} · {}", r.reviewed_by, shown(&r.reviewed_at))
        },
        can_write: who.can(perms::WRITE),
        can_review: who.can(perms::REVIEW),
        targets,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

#[derive(Deserialize)]
struct TransferForm {
    version: i64,
    org_code: String,
    departed_at: String,
    arrived_at: String,
}

async fn transfer(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<TransferForm>,
) -> Result<Response, AppError> {
    let t = TransferInput {
        version: f.version,
        org_code: f.org_code,
        departed_at: f.departed_at,
        arrived_at: f.arrived_at,
    };
    match service::transfer(&st, &who, &id, t).await {
        Ok(_) => Ok(Redirect::to(&format!("/trauma/records/{id}?saved=1")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            Err(AppError::BadRequest(
                Msg::new("trauma.err.transfer").arg("why", msg),
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    finding: String,
}

async fn review(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, AppError> {
    service::review(&st, &who, &id, ReviewInput { finding: f.finding }).await?;
    Ok(Redirect::to(&format!("/trauma/records/{id}?saved=1")).into_response())
}

pub struct MonthLine {
    pub month: String,
    pub cases: u64,
    pub median: String,
    pub survival: String,
}

#[derive(Template)]
#[template(path = "trauma_indicators.html")]
struct IndicatorsPage {
    shell: Shell,
    q: RecordQuery,
    facts: Vec<Fact>,
    months: Vec<MonthLine>,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default()
}

async fn indicators_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<RecordQuery>,
) -> Result<Response, AppError> {
    let i: Indicators = service::indicators(&st, &who, &q).await?;
    let t = &ctx.t;
    let o = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let f2 = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
    let fact = |k: &str, value: String| Fact {
        label: t.get(k).to_string(),
        value,
    };
    let facts = vec![
        fact("trauma.ind.cases", i.cases.to_string()),
        fact(
            "trauma.ind.a2o",
            format!(
                "{} / {} ({})",
                o(i.arrival_to_op.median),
                o(i.arrival_to_op.p90),
                i.arrival_to_op.n
            ),
        ),
        fact(
            "trauma.ind.pre",
            format!(
                "{} / {} ({})",
                o(i.prehospital.median),
                o(i.prehospital.p90),
                i.prehospital.n
            ),
        ),
        fact(
            "trauma.ind.transfer",
            format!(
                "{} / {} ({})",
                o(i.transfer.median),
                o(i.transfer.p90),
                i.transfer.n
            ),
        ),
        fact(
            "trauma.ind.severe60",
            format!(
                "{} ({}/{})",
                pct(i.severe_within_60_share),
                i.severe_within_60,
                i.severe_operated
            ),
        ),
        fact(
            "trauma.ind.crude",
            format!(
                "{} ({}/{})",
                pct(i.crude_mortality),
                i.deaths,
                i.known_outcome
            ),
        ),
        fact("trauma.ind.w", format!("{:.2}", i.triss.w)),
        fact("trauma.ind.z", f2(i.triss.z)),
        fact(
            "trauma.ind.oe",
            format!(
                "{} [{} – {}] ({})",
                f2(i.triss.oe),
                f2(i.triss.oe_low),
                f2(i.triss.oe_high),
                i.triss.n
            ),
        ),
    ];
    let months = i
        .months
        .iter()
        .map(|m| MonthLine {
            month: m.month.clone(),
            cases: m.cases,
            median: o(m.arrival_to_op_median),
            survival: pct(m.survival),
        })
        .collect();
    render(&IndicatorsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q,
        facts,
        months,
    })
}

pub struct BoardRow {
    pub id: String,
    pub status: String,
    pub status_label: String,
    pub org: String,
    pub mechanism: String,
    pub iss: String,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "trauma_board.html")]
struct BoardPage {
    shell: Shell,
    rows: Vec<BoardRow>,
}

async fn board_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let lines = service::board(&st, &who).await?;
    let codes: Vec<String> = lines.iter().map(|l| l.org_code.clone()).collect();
    let orgs = facade::orgs(&st, &codes).await?;
    let t = &ctx.t;
    let rows = lines
        .into_iter()
        .map(|l| BoardRow {
            status_label: t.get(&format!("trauma.board.{}", l.status)).to_string(),
            org: orgs
                .iter()
                .find(|o| o.code == l.org_code)
                .map(|o| o.name(t.locale).to_string())
                .unwrap_or_else(|| l.org_code.clone()),
            mechanism: t.get(&format!("trauma.mech.{}", l.mechanism)).to_string(),
            iss: l.iss.map(|v| v.to_string()).unwrap_or_default(),
            minutes: l.minutes,
            status: l.status,
            id: l.id,
        })
        .collect();
    render(&BoardPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        rows,
    })
}
