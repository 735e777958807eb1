//! The handover page for departing aid staff (进疆为什么、在疆干什么、离疆留什么): built from
//! the records — the missions they served on, the techniques whose steps they signed, the
//! apprentices they mentored with their sign-offs, the requests they filed to their home
//! department — what they leave behind.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tianshan_platform::api::ApiError;
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Db;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{with_db, ApiRouter, AppError, Platform};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::domain::team_members;
use crate::register::{TechniqueRow, STATUSES};
use crate::service::missions::{apprentice, Apprentice};
use crate::service::{covers_any, perms};
use crate::store::{LiaisonRow, MentorshipRow, MissionRow, StaffRow};

/// A technique and the steps this person signed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HandoverTechnique {
    pub technique: TechniqueRow,
    /// The statuses this person signed, in order.
    pub signed: Vec<String>,
}

/// What a departing aid professional leaves behind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handover {
    pub staff: StaffRow,
    pub missions: Vec<MissionRow>,
    pub techniques: Vec<HandoverTechnique>,
    pub apprentices: Vec<Apprentice>,
    pub requests: Vec<LiaisonRow>,
}

async fn staff_row(db: &Db, id: &str) -> Result<Option<StaffRow>, AppError> {
    let sql = "SELECT id, full_name, batch, specialty, home_code, home_path, post_code, post_path, arrived_on, leaves_on, created_by, created_at FROM missions_staff WHERE id = $1";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, StaffRow>(sql).bind(id).fetch_optional(pool).await)?,
    )
}

async fn missions_naming(db: &Db, name: &str) -> Result<Vec<MissionRow>, AppError> {
    let sql = "SELECT id, kind, title, site_code, site_path, lead_code, lead_path, starts_on, ends_on, need_id, offer_id, team, created_by, created_at FROM missions_missions WHERE team LIKE $1 ORDER BY starts_on, id LIMIT 500";
    let like = format!("%{name}%");
    let rows = with_db!(db, pool => sqlx::query_as::<_, MissionRow>(sql).bind(&like).fetch_all(pool).await)?;
    // The LIKE finds candidates; the team list decides (王磊 is not 王磊磊).
    Ok(rows
        .into_iter()
        .filter(|m| team_members(&m.team).iter().any(|p| p == name))
        .collect())
}

async fn signed_steps(db: &Db, name: &str) -> Result<Vec<(String, String)>, AppError> {
    let sql = "SELECT technique_id, status FROM missions_technique_steps WHERE signed_by = $1 ORDER BY on_date, id";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, (String, String)>(sql).bind(name).fetch_all(pool).await)?,
    )
}

async fn technique_rows(db: &Db, ids: &[String]) -> Result<Vec<TechniqueRow>, AppError> {
    let mut out = Vec::new();
    for id in ids {
        let sql = "SELECT id, org_code, org_path, technique, mission_id, status, first_case_on, first_case_with, created_by, created_at FROM missions_techniques WHERE id = $1";
        if let Some(t) = with_db!(db, pool => sqlx::query_as::<_, TechniqueRow>(sql).bind(id).fetch_optional(pool).await)?
        {
            out.push(t);
        }
    }
    Ok(out)
}

async fn mentorships_of(db: &Db, name: &str) -> Result<Vec<MentorshipRow>, AppError> {
    let sql = "SELECT id, mentor_username, mentor_name, mentor_code, mentor_path, trainee_name, trainee_post, trainee_ethnicity, trainee_code, trainee_path, goals, starts_on, ends_on, mission_id, created_by, created_at FROM missions_mentorships WHERE mentor_name = $1 ORDER BY starts_on, id";
    Ok(
        with_db!(db, pool => sqlx::query_as::<_, MentorshipRow>(sql).bind(name).fetch_all(pool).await)?,
    )
}

async fn requests_of(db: &Db, name: &str) -> Result<Vec<LiaisonRow>, AppError> {
    let sql = "SELECT id, from_code, from_path, home_code, home_path, kind, subject, status, asked_by, asked_by_name, asked_at, answer, answer_from, answer_to, answer_people, answered_by, answered_at, done_at FROM missions_liaison WHERE asked_by_name = $1 ORDER BY asked_at, id";
    Ok(with_db!(db, pool => sqlx::query_as::<_, LiaisonRow>(sql).bind(name).fetch_all(pool).await)?)
}

/// The handover of one aid professional on the roster (404 outside the caller's scope); each
/// part lists only records the caller may see.
pub async fn handover(st: &Platform, who: &Principal, id: &str) -> Result<Handover, AppError> {
    who.require(perms::READ)?;
    let staff = match staff_row(&st.db, id).await? {
        Some(s) if covers_any(who, &[&s.post_path, &s.home_path]) => s,
        _ => return Err(AppError::NotFound),
    };
    let name = staff.full_name.clone();
    let missions: Vec<MissionRow> = missions_naming(&st.db, &name)
        .await?
        .into_iter()
        .filter(|m| covers_any(who, &[&m.site_path, &m.lead_path]))
        .collect();
    let steps = signed_steps(&st.db, &name).await?;
    let mut ids: Vec<String> = steps.iter().map(|(t, _)| t.clone()).collect();
    ids.dedup();
    let techniques = technique_rows(&st.db, &ids)
        .await?
        .into_iter()
        .filter(|t| covers_any(who, &[&t.org_path]))
        .map(|t| {
            let mut signed: Vec<String> = steps
                .iter()
                .filter(|(id, _)| *id == t.id)
                .map(|(_, s)| s.clone())
                .collect();
            signed.sort_by_key(|s| STATUSES.iter().position(|x| x == s));
            // Evidence added at the same status is one status signed.
            signed.dedup();
            HandoverTechnique {
                technique: t,
                signed,
            }
        })
        .collect();
    let mut apprentices = Vec::new();
    for ms in mentorships_of(&st.db, &name).await? {
        if covers_any(who, &[&ms.trainee_path, &ms.mentor_path]) {
            apprentices.push(apprentice(st, ms).await?);
        }
    }
    let requests = requests_of(&st.db, &name)
        .await?
        .into_iter()
        .filter(|l| covers_any(who, &[&l.from_path, &l.home_path]))
        .collect();
    st.audit(
        who,
        tianshan_platform::audit::Event::new(
            tianshan_platform::audit::Action::READ,
            crate::service::missions::STAFF,
            &staff.id,
        )
        .detail("handover"),
    )
    .await?;
    Ok(Handover {
        staff,
        missions,
        techniques,
        apprentices,
        requests,
    })
}

pub fn api_routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(api_handover))
}

/// The handover of a departing aid professional: missions, techniques whose steps they signed,
/// apprentices with their sign-offs, requests to their home department.
#[utoipa::path(get, path = "/api/v1/missions/staff/{id}/handover", tag = "missions",
    params(("id" = String, Path, description = "Aid staff id")),
    responses((status = 200, body = Handover), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn api_handover(
    State(st): State<Platform>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover(&st, &who, &id).await?))
}

pub fn page_routes() -> Router<Platform> {
    Router::new().route("/missions/staff/{id}/handover", get(handover_page))
}

pub struct Line {
    pub href: String,
    pub text: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "missions_handover.html")]
struct HandoverPage {
    shell: Shell,
    name: String,
    facts: String,
    missions: Vec<Line>,
    techniques: Vec<Line>,
    apprentices: Vec<Line>,
    requests: Vec<Line>,
}

async fn handover_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let h = handover(&st, &who, &id).await?;
    let t = &ctx.t;
    let lbl = |p: &str, v: &str| crate::web::label(t, p, v);
    let page = HandoverPage {
        name: h.staff.full_name.clone(),
        facts: format!(
            "{} · {} · {} – {}",
            h.staff.batch, h.staff.specialty, h.staff.arrived_on, h.staff.leaves_on
        ),
        missions: h
            .missions
            .iter()
            .map(|m| Line {
                href: format!("/missions/m/{}/report", m.id),
                text: m.title.clone(),
                detail: format!("{} – {}", m.starts_on, m.ends_on),
            })
            .collect(),
        techniques: h
            .techniques
            .iter()
            .map(|x| Line {
                href: format!("/missions/techniques/{}", x.technique.id),
                text: x.technique.technique.clone(),
                detail: format!(
                    "{} ({})",
                    lbl("missions.tstatus", &x.technique.status),
                    x.signed
                        .iter()
                        .map(|s| lbl("missions.tstatus", s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .collect(),
        apprentices: h
            .apprentices
            .iter()
            .map(|a| Line {
                href: format!("/missions/mentorships/{}", a.mentorship_id),
                text: a.trainee_name.clone(),
                detail: format!("{} · {}/{}", a.trainee_post, a.signed, a.total),
            })
            .collect(),
        requests: h
            .requests
            .iter()
            .map(|l| Line {
                href: format!("/missions/requests/{}", l.id),
                text: l.subject.clone(),
                detail: lbl("missions.lstatus", &l.status),
            })
            .collect(),
        shell: Shell::new(ctx, &st, Some(&who)),
    };
    render(&page)
}
