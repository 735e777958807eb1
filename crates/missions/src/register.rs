//! The technique register (从无到有、从有到优): a technique introduced at a department, usually
//! by a mission, climbing none → assisted → supervised → independent, each step dated and
//! signed by who saw it; and the measures of the aid work per year and prefecture (page, JSON,
//! CSV/XLSX).
use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use tianshan_platform::api::ApiError;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::{Db, Tx};
use tianshan_platform::tabular;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{tx_exec, with_db, ApiRouter, AppError, FieldError, Msg, Platform};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::domain::team_members;
use crate::service::{covers_any, missions, new_id, own_org, perms, today};
use crate::store::{ActivityRow, MissionRow};

pub const TECHNIQUE: &str = "Technique";
/// The steps a technique climbs, in order.
pub const STATUSES: [&str; 4] = ["none", "assisted", "supervised", "independent"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TechniqueRow {
    pub id: String,
    pub org_code: String,
    pub org_path: String,
    pub technique: String,
    pub mission_id: Option<String>,
    /// `none`, `assisted`, `supervised` or `independent`.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct StepRow {
    pub id: String,
    pub technique_id: String,
    pub status: String,
    pub on_date: String,
    pub signed_by: String,
    pub note: String,
}

/// A technique with its dated, signed steps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TechniqueView {
    pub technique: TechniqueRow,
    pub steps: Vec<StepRow>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TechniqueInput {
    /// The department where it is introduced (in the caller's own subtree).
    #[serde(default)]
    pub org_code: String,
    #[serde(default)]
    pub technique: String,
    /// The mission that introduced it (optional; must be visible to the caller).
    #[serde(default)]
    pub mission_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StepInput {
    /// The next status: `assisted`, `supervised` or `independent`, one step at a time.
    #[serde(default)]
    pub status: String,
    /// The date it was reached (YYYY-MM-DD), not before the previous step nor in the future.
    #[serde(default)]
    pub on_date: String,
    #[serde(default)]
    pub note: String,
}

const TECH_COLS: &str =
    "id, org_code, org_path, technique, mission_id, status, created_by, created_at";
const STEP_COLS: &str = "id, technique_id, status, on_date, signed_by, note";

async fn techniques_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<TechniqueRow>, AppError> {
    let sql = format!("SELECT {TECH_COLS} FROM missions_techniques WHERE org_path >= $1 AND org_path < $2 ORDER BY technique, id LIMIT 2000");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn technique_row(db: &Db, id: &str) -> Result<Option<TechniqueRow>, AppError> {
    let sql = format!("SELECT {TECH_COLS} FROM missions_techniques WHERE id = $1");
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(id).fetch_optional(pool).await)?,
    )
}

pub async fn techniques_of_mission(
    db: &Db,
    mission_id: &str,
) -> Result<Vec<TechniqueRow>, AppError> {
    let sql = format!(
        "SELECT {TECH_COLS} FROM missions_techniques WHERE mission_id = $1 ORDER BY technique, id"
    );
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(&sql).bind(mission_id).fetch_all(pool).await)?,
    )
}

async fn steps(db: &Db, id: &str) -> Result<Vec<StepRow>, AppError> {
    let sql = format!("SELECT {STEP_COLS} FROM missions_technique_steps WHERE technique_id = $1 ORDER BY on_date, id");
    Ok(with_db!(db, pool => sqlx::query_as::<_, StepRow>(&sql).bind(id).fetch_all(pool).await)?)
}

async fn independent_steps(db: &Db) -> Result<Vec<(String, String)>, AppError> {
    let sql =
        "SELECT technique_id, on_date FROM missions_technique_steps WHERE status = 'independent'";
    Ok(with_db!(db, pool => sqlx::query_as::<_, (String, String)>(sql).fetch_all(pool).await)?)
}

pub async fn insert_technique(tx: &mut Tx, t: &TechniqueRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_techniques (id, org_code, org_path, technique, mission_id, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&t.id).bind(&t.org_code).bind(&t.org_path).bind(&t.technique).bind(&t.mission_id)
        .bind(&t.status).bind(&t.created_by).bind(&t.created_at))?;
    Ok(())
}

pub async fn insert_step(tx: &mut Tx, s: &StepRow) -> Result<(), AppError> {
    tx_exec!(tx, sqlx::query("INSERT INTO missions_technique_steps (id, technique_id, status, on_date, signed_by, note) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&s.id).bind(&s.technique_id).bind(&s.status).bind(&s.on_date).bind(&s.signed_by).bind(&s.note))?;
    tx_exec!(
        tx,
        sqlx::query("UPDATE missions_techniques SET status = $1 WHERE id = $2")
            .bind(&s.status)
            .bind(&s.technique_id)
    )?;
    Ok(())
}

fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

// ---- service

pub async fn register(
    st: &Platform,
    who: &Principal,
    input: &TechniqueInput,
) -> Result<TechniqueRow, AppError> {
    who.require(perms::RECORD)?;
    let name = input.technique.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid(
            "technique",
            Msg::new("missions.err.technique_missing"),
        ));
    }
    let org = own_org(st, who, "org_code", input.org_code.trim()).await?;
    let mission_id = match input.mission_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => match missions::get(st, who, id).await {
            Ok(m) => Some(m.id),
            Err(AppError::NotFound) => {
                return Err(AppError::invalid(
                    "mission_id",
                    Msg::new("missions.err.mission_unknown"),
                ))
            }
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let row = TechniqueRow {
        id: new_id(),
        org_code: org.code,
        org_path: org.path,
        technique: name,
        mission_id,
        status: "none".into(),
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            insert_technique(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(Action::CREATE, TECHNIQUE, &row.id).detail(&row.technique),
            );
            Ok(row)
        })
    })
    .await
}

pub async fn technique(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<TechniqueView, AppError> {
    who.require(perms::READ)?;
    match technique_row(&st.db, id).await? {
        Some(t) if covers_any(who, &[&t.org_path]) => {
            let steps = steps(&st.db, &t.id).await?;
            Ok(TechniqueView {
                technique: t,
                steps,
            })
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn techniques(st: &Platform, who: &Principal) -> Result<Vec<TechniqueRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    let (lo, hi) = who.scope.path_range();
    techniques_in(&st.db, &lo, &hi).await
}

/// Check a step against the technique's current state (pure).
pub fn check_step(
    view: &TechniqueView,
    input: &StepInput,
    today: time::Date,
) -> Result<(String, String), Vec<FieldError>> {
    let mut errs = Vec::new();
    let cur = STATUSES
        .iter()
        .position(|s| *s == view.technique.status)
        .unwrap_or(0);
    let next = STATUSES.get(cur + 1).copied();
    let status = input.status.trim();
    if Some(status) != next {
        errs.push(FieldError::new(
            "status",
            Msg::new("missions.err.step_order").arg("next", next.unwrap_or("-").to_string()),
        ));
    }
    match parse_date(&input.on_date) {
        None => errs.push(FieldError::new("on_date", Msg::new("missions.err.date"))),
        Some(d) => {
            let last = view.steps.last().and_then(|s| parse_date(&s.on_date));
            if d > today || last.is_some_and(|l| d < l) {
                errs.push(FieldError::new(
                    "on_date",
                    Msg::new("missions.err.step_date"),
                ));
            }
        }
    }
    if errs.is_empty() {
        Ok((status.to_string(), input.on_date.trim().to_string()))
    } else {
        Err(errs)
    }
}

/// Sign the next step of a technique (needs `missions.record`, department in one's scope).
pub async fn advance(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &StepInput,
) -> Result<TechniqueView, AppError> {
    let view = technique(st, who, id).await?;
    who.require(perms::RECORD)?;
    let (status, on_date) = check_step(&view, input, today(st)).map_err(AppError::Invalid)?;
    let step = StepRow {
        id: new_id(),
        technique_id: view.technique.id.clone(),
        status,
        on_date,
        signed_by: who.display_name.clone(),
        note: input.note.trim().to_string(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            insert_step(tx, &step).await?;
            let detail = format!("{} {}", step.status, step.on_date);
            tx.record(
                &who2,
                Event::new(Action::UPDATE, TECHNIQUE, &step.technique_id).detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    technique(st, who, id).await
}

// ---- measures

/// One year and prefecture's figures.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct MeasureLine {
    pub year: String,
    pub prefecture_code: String,
    pub prefecture: String,
    pub missions: i64,
    pub experts: i64,
    pub days: i64,
    pub patients_seen: i64,
    pub operations: i64,
    pub teaching_sessions: i64,
    pub people_trained: i64,
    pub techniques_independent: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measures {
    /// Per year and prefecture, oldest year first.
    pub lines: Vec<MeasureLine>,
    /// Sum over all lines.
    pub total: MeasureLine,
}

pub const MEASURE_COLUMNS: [&str; 11] = [
    "year",
    "prefecture_code",
    "prefecture",
    "missions",
    "experts",
    "days",
    "patients_seen",
    "operations",
    "teaching_sessions",
    "people_trained",
    "techniques_independent",
];

/// The prefecture of a materialised path: its second level (`/650000/653100/...` → 653100).
pub fn prefecture_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs.get(1)
        .or(segs.first())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Add the figures up (pure).
pub fn build_measures(
    ms: &[MissionRow],
    acts: &[ActivityRow],
    techs: &[TechniqueRow],
    independent: &[(String, String)],
) -> BTreeMap<(String, String), MeasureLine> {
    let mut out: BTreeMap<(String, String), MeasureLine> = BTreeMap::new();
    let mut trained: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut key_of: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for m in ms {
        let key = (
            m.starts_on.get(..4).unwrap_or("").to_string(),
            prefecture_of(&m.site_path),
        );
        key_of.insert(&m.id, key.clone());
        let l = out.entry(key).or_default();
        l.missions += 1;
        l.experts += team_members(&m.team).len() as i64;
        l.days += crate::domain::overlap_days(&m.starts_on, &m.ends_on, &m.starts_on, &m.ends_on);
    }
    for a in acts {
        let Some(key) = key_of.get(a.mission_id.as_str()) else {
            continue;
        };
        let l = out.entry(key.clone()).or_default();
        match a.kind.as_str() {
            "clinic" => l.patients_seen += a.count,
            "operation" | "technique" => l.operations += a.count.max(1),
            "lecture" | "ward_round" => l.teaching_sessions += 1,
            _ => {}
        }
        if matches!(a.kind.as_str(), "operation" | "ward_round" | "technique") {
            let set = trained.entry(key.clone()).or_default();
            for p in team_members(&a.people) {
                set.insert(p);
            }
        }
    }
    for (key, set) in trained {
        out.entry(key).or_default().people_trained += set.len() as i64;
    }
    let paths: std::collections::HashMap<&str, &str> = techs
        .iter()
        .map(|t| (t.id.as_str(), t.org_path.as_str()))
        .collect();
    for (tid, on) in independent {
        if let Some(path) = paths.get(tid.as_str()) {
            let key = (on.get(..4).unwrap_or("").to_string(), prefecture_of(path));
            out.entry(key).or_default().techniques_independent += 1;
        }
    }
    for ((year, pref), l) in out.iter_mut() {
        l.year = year.clone();
        l.prefecture_code = pref.clone();
    }
    out
}

async fn missions_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<MissionRow>, AppError> {
    let sql = "SELECT id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at FROM missions_missions WHERE (site_path >= $1 AND site_path < $2) OR (lead_path >= $1 AND lead_path < $2)";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MissionRow>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

async fn activities_in(db: &Db, lo: &str, hi: &str) -> Result<Vec<ActivityRow>, AppError> {
    let sql = "SELECT a.id, a.mission_id, a.day, a.kind, a.topic, a.count, a.people, a.note, a.recorded_by, a.recorded_at FROM missions_activities a JOIN missions_missions m ON m.id = a.mission_id WHERE (m.site_path >= $1 AND m.site_path < $2) OR (m.lead_path >= $1 AND m.lead_path < $2)";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, ActivityRow>(sql).bind(lo).bind(hi).fetch_all(pool).await)?,
    )
}

pub async fn measures(st: &Platform, who: &Principal) -> Result<Measures, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Measures {
            lines: Vec::new(),
            total: MeasureLine::default(),
        });
    }
    let (lo, hi) = who.scope.path_range();
    let ms = missions_in(&st.db, &lo, &hi).await?;
    let acts = activities_in(&st.db, &lo, &hi).await?;
    let techs = techniques_in(&st.db, &lo, &hi).await?;
    let ind = independent_steps(&st.db).await?;
    let map = build_measures(&ms, &acts, &techs, &ind);
    let codes: Vec<String> = map.keys().map(|k| k.1.clone()).collect();
    let names: BTreeMap<String, String> = tianshan_registry::facade::orgs(st, &codes)
        .await?
        .into_iter()
        .map(|o| {
            (
                o.code.clone(),
                o.name(
                    tianshan_platform::i18n::Locale::parse(&who.locale)
                        .unwrap_or(tianshan_platform::i18n::Locale::En),
                )
                .to_string(),
            )
        })
        .collect();
    let mut total = MeasureLine::default();
    let lines: Vec<MeasureLine> = map
        .into_values()
        .map(|mut l| {
            l.prefecture = names
                .get(&l.prefecture_code)
                .cloned()
                .unwrap_or_else(|| l.prefecture_code.clone());
            total.missions += l.missions;
            total.experts += l.experts;
            total.days += l.days;
            total.patients_seen += l.patients_seen;
            total.operations += l.operations;
            total.teaching_sessions += l.teaching_sessions;
            total.people_trained += l.people_trained;
            total.techniques_independent += l.techniques_independent;
            l
        })
        .collect();
    Ok(Measures { lines, total })
}

fn measure_cells(l: &MeasureLine) -> Vec<String> {
    vec![
        l.year.clone(),
        l.prefecture_code.clone(),
        l.prefecture.clone(),
        l.missions.to_string(),
        l.experts.to_string(),
        l.days.to_string(),
        l.patients_seen.to_string(),
        l.operations.to_string(),
        l.teaching_sessions.to_string(),
        l.people_trained.to_string(),
        l.techniques_independent.to_string(),
    ]
}

pub async fn export_measures(
    st: &Platform,
    who: &Principal,
    format: Option<&str>,
) -> Result<Response, AppError> {
    let m = measures(st, who).await?;
    let rows: Vec<Vec<String>> = m.lines.iter().map(measure_cells).collect();
    st.audit(
        who,
        Event::new(Action::EXPORT, "MissionMeasures", "").detail(&format!("{} lines", rows.len())),
    )
    .await?;
    Ok(match format.unwrap_or("csv") {
        "csv" => tabular::download(
            "measures.csv",
            tabular::CSV_TYPE,
            tabular::to_csv(&MEASURE_COLUMNS, &rows),
        ),
        "xlsx" => tabular::download(
            "measures.xlsx",
            tabular::XLSX_TYPE,
            tabular::to_xlsx("measures", &MEASURE_COLUMNS, &rows)?,
        ),
        _ => return Err(AppError::BadRequest(Msg::new("missions.err.format"))),
    })
}

// ---- API

pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(api_list, api_register))
        .routes(routes!(api_get))
        .routes(routes!(api_step))
        .routes(routes!(api_measures))
        .routes(routes!(api_measures_export))
}

#[derive(Serialize, ToSchema)]
struct TechniqueList {
    techniques: Vec<TechniqueRow>,
}

/// The technique register of the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/techniques", tag = "missions",
    responses((status = 200, body = TechniqueList), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_list(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<TechniqueList>, AppError> {
    Ok(Json(TechniqueList {
        techniques: techniques(&st, &who).await?,
    }))
}

/// Register a technique being introduced at a department in the caller's own subtree (status
/// `none`), optionally by a mission. 422 with per-field messages.
#[utoipa::path(post, path = "/api/v1/missions/techniques", tag = "missions", request_body = TechniqueInput,
    responses((status = 201, body = TechniqueRow), (status = 403, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_register(
    State(st): State<Platform>,
    who: Principal,
    Json(input): Json<TechniqueInput>,
) -> Result<Response, AppError> {
    let t = register(&st, &who, &input).await?;
    Ok((
        StatusCode::CREATED,
        [(
            axum::http::header::LOCATION,
            format!("/api/v1/missions/techniques/{}", t.id),
        )],
        Json(t),
    )
        .into_response())
}

/// One technique with its dated, signed steps (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/missions/techniques/{id}", tag = "missions",
    params(("id" = String, Path, description = "Technique id")),
    responses((status = 200, body = TechniqueView), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_get(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<TechniqueView>, AppError> {
    Ok(Json(technique(&st, &who, &id).await?))
}

/// Sign the next step (none → assisted → supervised → independent, one at a time, dated not
/// before the previous step nor in the future); the signer is the caller.
#[utoipa::path(post, path = "/api/v1/missions/techniques/{id}/steps", tag = "missions",
    params(("id" = String, Path, description = "Technique id")), request_body = StepInput,
    responses((status = 200, body = TechniqueView), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
async fn api_step(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
    Json(input): Json<StepInput>,
) -> Result<Json<TechniqueView>, AppError> {
    Ok(Json(advance(&st, &who, &id, &input).await?))
}

/// Missions, experts, days, patients seen, operations, teaching sessions, people trained and
/// techniques reaching independent, per year and prefecture, in the caller's scope.
#[utoipa::path(get, path = "/api/v1/missions/measures", tag = "missions",
    responses((status = 200, body = Measures), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn api_measures(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Json<Measures>, AppError> {
    Ok(Json(measures(&st, &who).await?))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The measures as CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/missions/measures/export", tag = "missions", params(FormatParam),
    responses((status = 200, description = "CSV or XLSX file", content_type = "text/csv"), (status = 400, body = ApiError)),
    security(("bearer" = [])))]
async fn api_measures_export(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_measures(&st, &who, p.format.as_deref()).await
}

// ---- pages

pub fn page_routes() -> Router<Platform> {
    Router::new()
        .route(
            "/missions/techniques",
            get(register_page).post(register_post),
        )
        .route("/missions/techniques/{id}", get(technique_page))
        .route("/missions/techniques/{id}/steps", post(step_post))
        .route("/missions/measures", get(measures_page))
        .route("/missions/measures.csv", get(measures_file))
}

pub struct TechLine {
    pub id: String,
    pub technique: String,
    pub org: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "missions_techniques.html")]
struct RegisterPage {
    shell: Shell,
    lines: Vec<TechLine>,
    can_record: bool,
    orgs: Vec<super::web::Choice>,
    error: String,
}

async fn register_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    error: String,
) -> Result<Response, AppError> {
    let rows = techniques(st, who).await?;
    let t = &ctx.t;
    let names = super::web::org_names(st, t, rows.iter().map(|r| r.org_code.clone())).await?;
    let lines = rows
        .iter()
        .map(|r| TechLine {
            id: r.id.clone(),
            technique: r.technique.clone(),
            org: names.get(&r.org_code).cloned().unwrap_or_default(),
            status: super::web::label(t, "missions.tstatus", &r.status),
        })
        .collect();
    let can_record = who.can(perms::RECORD);
    let orgs = if can_record {
        super::web::own_orgs(st, who, t).await?
    } else {
        Vec::new()
    };
    let page = RegisterPage {
        lines,
        can_record,
        orgs,
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn register_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    register_view(&st, ctx, &who, String::new()).await
}

async fn register_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<TechniqueInput>,
) -> Result<Response, AppError> {
    match register(&st, &who, &f).await {
        Ok(t) => Ok(Redirect::to(&format!("/missions/techniques/{}", t.id)).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            Ok(super::web::unprocessable(
                register_view(&st, ctx, &who, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

pub struct StepLine {
    pub status: String,
    pub on_date: String,
    pub signed_by: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "missions_technique.html")]
struct TechniquePage {
    shell: Shell,
    id: String,
    technique: String,
    org: String,
    status: String,
    mission_id: String,
    steps: Vec<StepLine>,
    next: String,
    next_label: String,
    can_record: bool,
    error: String,
}

async fn technique_view(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    id: &str,
    error: String,
) -> Result<Response, AppError> {
    let v = technique(st, who, id).await?;
    let t = &ctx.t;
    let names = super::web::org_names(st, t, [v.technique.org_code.clone()]).await?;
    let cur = STATUSES
        .iter()
        .position(|s| *s == v.technique.status)
        .unwrap_or(0);
    let next = STATUSES
        .get(cur + 1)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let page = TechniquePage {
        id: v.technique.id.clone(),
        org: names
            .get(&v.technique.org_code)
            .cloned()
            .unwrap_or_default(),
        status: super::web::label(t, "missions.tstatus", &v.technique.status),
        mission_id: v.technique.mission_id.clone().unwrap_or_default(),
        steps: v
            .steps
            .iter()
            .map(|s| StepLine {
                status: super::web::label(t, "missions.tstatus", &s.status),
                on_date: s.on_date.clone(),
                signed_by: s.signed_by.clone(),
                note: s.note.clone(),
            })
            .collect(),
        next_label: if next.is_empty() {
            String::new()
        } else {
            super::web::label(t, "missions.tstatus", &next)
        },
        next,
        technique: v.technique.technique.clone(),
        can_record: who.can(perms::RECORD),
        error,
        shell: Shell::new(ctx, st, Some(who)),
    };
    render(&page)
}

async fn technique_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    technique_view(&st, ctx, &who, &id, String::new()).await
}

async fn step_post(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<StepInput>,
) -> Result<Response, AppError> {
    match advance(&st, &who, &id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/missions/techniques/{id}")).into_response()),
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| ctx.t.msg(&e.msg))
                .collect::<Vec<_>>()
                .join(" ");
            Ok(super::web::unprocessable(
                technique_view(&st, ctx, &who, &id, msg).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "missions_measures.html")]
struct MeasuresPage {
    shell: Shell,
    m: Measures,
}

async fn measures_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let m = measures(&st, &who).await?;
    render(&MeasuresPage {
        m,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

async fn measures_file(
    State(st): State<Platform>,
    who: Principal,
    Query(p): Query<FormatParam>,
) -> Result<Response, AppError> {
    export_measures(&st, &who, p.format.as_deref()).await
}

/// id, department, technique, mission, steps (status, date, signer, evidence).
type DemoTechnique = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, &'static str)],
);

/// The demo's register: the Kashgar transplant platform from first case (2024, with the
/// Guangdong experts) to independent, and Hami's thrombectomy still supervised.
pub async fn demo(tx: &mut Tx, paths: &[(String, String)]) -> Result<(), AppError> {
    let path = |c: &str| {
        paths
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let entries: [DemoTechnique; 2] = [
        (
            "demo-tech-kashgar-hsct",
            "653100-H01-HEM",
            "异基因造血干细胞移植",
            "demo-mission-kashgar-hsct-2024",
            &[
                (
                    "assisted",
                    "2024-09-12",
                    "肖非",
                    "首例，广东省人民医院专家主刀",
                ),
                (
                    "supervised",
                    "2025-03-20",
                    "肖非",
                    "本院团队完成第6例，专家在场指导",
                ),
                (
                    "independent",
                    "2025-11-18",
                    "黄宇贤",
                    "本院团队独立完成，累计21例",
                ),
            ],
        ),
        (
            "demo-tech-hami-thrombectomy",
            "650500-H01",
            "急性缺血性卒中机械取栓",
            "demo-mission-hami-2023",
            &[
                ("assisted", "2023-12-06", "吴勤奋", "神经介入教学手术3台"),
                ("supervised", "2024-06-15", "吴勤奋", "远程指导下完成"),
            ],
        ),
    ];
    for (id, org, name, mission, steps) in entries {
        let t = TechniqueRow {
            id: id.into(),
            org_code: org.into(),
            org_path: path(org),
            technique: name.into(),
            mission_id: Some(mission.into()),
            status: "none".into(),
            created_by: "coordinator".into(),
            created_at: "2024-04-20T09:00:00Z".into(),
        };
        insert_technique(tx, &t).await?;
        for (i, (status, on, by, note)) in steps.iter().enumerate() {
            insert_step(
                tx,
                &StepRow {
                    id: format!("{id}-{i}"),
                    technique_id: id.into(),
                    status: (*status).into(),
                    on_date: (*on).into(),
                    signed_by: (*by).into(),
                    note: (*note).into(),
                },
            )
            .await?;
        }
    }
    Ok(())
}
