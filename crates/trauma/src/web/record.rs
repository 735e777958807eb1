//! The record list with its review tabs and the record page: chain of hospitals, scores,
//! transfer, review.
use super::*;
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

pub(super) async fn list_page(
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
pub(super) struct SavedQuery {
    #[serde(default)]
    saved: String,
}

pub(super) async fn record_page(
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
pub(super) struct TransferForm {
    version: i64,
    org_code: String,
    departed_at: String,
    arrived_at: String,
}

pub(super) async fn transfer(
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
pub(super) struct ReviewForm {
    finding: String,
}

pub(super) async fn review(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, AppError> {
    service::review(&st, &who, &id, ReviewInput { finding: f.finding }).await?;
    Ok(Redirect::to(&format!("/trauma/records/{id}?saved=1")).into_response())
}
