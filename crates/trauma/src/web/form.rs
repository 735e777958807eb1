//! The quick emergency form and the full form: create and edit a record.
use super::*;
/// The form as posted: every field text, parsed here so a wrong number is a field error.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct FormData {
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
pub(super) struct NewQuery {
    #[serde(default)]
    patient: String,
}

pub(super) async fn quick_form(
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

pub(super) async fn create(
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

pub(super) async fn edit_form(
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

pub(super) async fn update(
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
