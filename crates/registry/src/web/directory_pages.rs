//! The practitioner directory and the organisation tree.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use tianshan_platform::auth::Principal;
use tianshan_platform::web::{render, PageCtx, Shell};
use tianshan_platform::{AppError, Platform};

use super::{org_names, sex_label};
use crate::service::directory;
use crate::store::orgs::{self, Org};

use crate::store::practitioners::PractitionerQuery;
use crate::store::PractitionerRow;

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "practitioners.html")]
struct PractitionersPage {
    shell: Shell,
    q: String,
    results: Vec<(PractitionerRow, String)>,
}

pub(super) async fn practitioner_search(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let q = PractitionerQuery {
        name: Some(sq.q.clone()),
        limit: 100,
        ..Default::default()
    };
    let rows = directory::search_practitioners(&st, &who, &q).await?;
    let names = org_names(&st, &ctx.t, rows.iter().map(|r| r.org_code.clone())).await?;
    let results = rows
        .into_iter()
        .map(|r| {
            let org = names.get(&r.org_code).cloned().unwrap_or_default();
            (r, org)
        })
        .collect();
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

pub(super) async fn practitioner_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let p = directory::practitioner(&st, &who, &id).await?;
    let org = directory::org(&st, &p.org_code)
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
pub(super) struct OrgQueryParams {
    code: Option<String>,
    #[serde(default)]
    q: String,
}

pub(super) async fn org_tree(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(p): Query<OrgQueryParams>,
) -> Result<Response, AppError> {
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
            directory::search_orgs(&st, &who, &q)
                .await?
                .iter()
                .map(to_line)
                .collect(),
        )
    } else if let Some(code) = p.code.as_deref() {
        let node = directory::read_org(&st, &who, code).await?;
        let above: Vec<String> = node
            .path
            .trim_matches('/')
            .split('/')
            .filter(|c| *c != node.code)
            .map(str::to_string)
            .collect();
        // `orgs_by_codes` answers in path order: root first.
        let trail = directory::orgs_by_codes(&st, &above)
            .await?
            .iter()
            .map(to_line)
            .collect();
        let kids = directory::children(&st, &who, Some(code)).await?;
        (
            Some(to_line(&node)),
            trail,
            kids.iter().map(to_line).collect(),
        )
    } else {
        (
            None,
            Vec::new(),
            directory::children(&st, &who, None)
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
