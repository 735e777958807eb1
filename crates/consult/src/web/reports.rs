//! The measures page, the CSV export and the referral pages.
use super::*;

#[derive(Template)]
#[template(path = "consult_measures.html")]
struct MeasuresPage {
    shell: Shell,
    m: crate::reports::Measures,
    pct: String,
    facilities: Vec<(String, i64)>,
}

pub(super) async fn measures_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let m = crate::reports::measures(&st, &who).await?;
    let n = names(
        &st,
        &ctx.t,
        m.by_facility.iter().map(|c| c.key.clone()).collect(),
    )
    .await?;
    let facilities = m
        .by_facility
        .iter()
        .map(|c| (n.get(&c.key).cloned().unwrap_or(c.key.clone()), c.cases))
        .collect();
    let pct = m
        .answered_within_target_pct
        .map(|p| format!("{p:.1}%"))
        .unwrap_or_default();
    render(&MeasuresPage {
        m,
        pct,
        facilities,
        shell: Shell::new(ctx, &st, Some(&who)),
    })
}

pub(super) async fn export_csv(
    State(st): State<Platform>,
    who: Principal,
) -> Result<Response, AppError> {
    crate::reports::export(&st, &who, false).await
}

pub struct ReferralLine {
    pub r: ReferralView,
    pub from: String,
    pub to: String,
    pub direction: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "consult_referrals.html")]
struct ReferralsPage {
    shell: Shell,
    referrals: Vec<ReferralLine>,
    error: String,
}

pub(super) async fn show_referrals(
    st: &Platform,
    ctx: PageCtx,
    who: &Principal,
    error: String,
) -> Result<Response, AppError> {
    let list = referrals::list(st, who).await?;
    let t = &ctx.t;
    let n = names(
        st,
        t,
        list.iter()
            .flat_map(|r| [r.from_code.clone(), r.to_code.clone()])
            .collect(),
    )
    .await?;
    let name = |c: &str| n.get(c).cloned().unwrap_or(c.to_string());
    let referrals = list
        .into_iter()
        .map(|r| ReferralLine {
            from: name(&r.from_code),
            to: name(&r.to_code),
            direction: t
                .get(&format!("consult.direction.{}", r.direction.as_str()))
                .to_string(),
            status: t
                .get(&format!("consult.rstatus.{}", r.status.as_str()))
                .to_string(),
            r,
        })
        .collect();
    let failed = !error.is_empty();
    let mut resp = render(&ReferralsPage {
        referrals,
        error,
        shell: Shell::new(ctx, st, Some(who)),
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

pub(super) async fn referrals_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    show_referrals(&st, ctx, &who, String::new()).await
}

pub(super) fn messages(t: &Catalog, e: &AppError) -> Option<String> {
    match e {
        AppError::Invalid(errs) => Some(
            errs.iter()
                .map(|e| format!("{}: {}", e.field, t.msg(&e.msg)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        AppError::Conflict(m) => Some(t.msg(m)),
        _ => None,
    }
}

pub(super) async fn create_referral(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Form(f): Form<ReferralInput>,
) -> Result<Response, AppError> {
    match referrals::create(&st, &who, &f).await {
        Ok(_) => Ok(Redirect::to("/consult/referrals").into_response()),
        Err(e) => match messages(&ctx.t, &e) {
            Some(msg) => show_referrals(&st, ctx, &who, msg).await,
            None => Err(e),
        },
    }
}

pub(super) async fn referral_step(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Path(id): Path<String>,
    Form(f): Form<ReferralStep>,
) -> Result<Response, AppError> {
    match referrals::step(&st, &who, &id, &f).await {
        Ok(_) => Ok(Redirect::to("/consult/referrals").into_response()),
        Err(e) => match messages(&ctx.t, &e) {
            Some(msg) => show_referrals(&st, ctx, &who, msg).await,
            None => Err(e),
        },
    }
}
