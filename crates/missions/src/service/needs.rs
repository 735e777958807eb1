//! The needs menu and the offers: recipient departments post needs, rear hospitals post what
//! they can send or teach, and the coordinator sees them side by side, ranked, and turns a
//! match into a mission, a fellowship or a mentorship in one action.
use std::collections::HashMap;

use serde::Serialize;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::{AppError, Msg, Platform};

use super::{covers_any, known_org, new_id, own_org, perms, today, LIST_LIMIT, PLAN};
use crate::domain::{
    self, age_days, fit_sides, planned_period, ConvertInput, Fit, NeedInput, OfferIndex,
    OfferInput, Side, DATES_ONLY_MAX, MISSION_KINDS,
};
use crate::store::{self, MissionRow, NeedRow, OfferRow};

pub const NEED: &str = "MissionNeed";
pub const OFFER: &str = "MissionOffer";
pub const MISSION: &str = "Mission";
/// Offers ranked against each need on the board.
pub const BEST: usize = 3;

pub async fn post_need(
    st: &Platform,
    who: &Principal,
    input: &NeedInput,
) -> Result<NeedRow, AppError> {
    who.require(perms::POST)?;
    let n = input.validate().map_err(AppError::Invalid)?;
    let org = own_org(st, who, "org_code", &n.org_code).await?;
    let row = NeedRow {
        id: new_id(),
        org_code: org.code,
        org_path: org.path,
        kind: n.kind,
        specialty: n.specialty,
        topic: n.topic,
        priority: n.priority,
        wanted_from: n.wanted_from,
        wanted_to: n.wanted_to,
        reason: n.reason,
        status: "open".into(),
        mission_id: None,
        posted_by: who.username.clone(),
        posted_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.posted_at = tx.now().to_string();
            store::insert_need(tx, &row).await?;
            let detail = format!("{} {} at {}", row.kind, row.topic, row.org_code);
            tx.record(
                &who2,
                Event::new(Action::CREATE, NEED, &row.id).detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

/// Write checked needs (an import) in one transaction, one audit entry each.
pub async fn insert_needs(
    st: &Platform,
    who: &Principal,
    rows: Vec<NeedRow>,
) -> Result<usize, AppError> {
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let n = rows.len();
            for mut row in rows {
                row.posted_at = tx.now().to_string();
                store::insert_need(tx, &row).await?;
                tx.record(
                    &who2,
                    Event::new(Action::IMPORT, NEED, &row.id).detail(&row.topic),
                );
            }
            Ok(n)
        })
    })
    .await
}

pub async fn post_offer(
    st: &Platform,
    who: &Principal,
    input: &OfferInput,
) -> Result<OfferRow, AppError> {
    who.require(perms::POST)?;
    let o = input.validate().map_err(AppError::Invalid)?;
    let org = own_org(st, who, "org_code", &o.org_code).await?;
    let row = OfferRow {
        id: new_id(),
        org_code: org.code,
        org_path: org.path,
        specialty: o.specialty,
        topic: o.topic,
        expert: o.expert,
        available_from: o.available_from,
        available_to: o.available_to,
        note: o.note,
        posted_by: who.username.clone(),
        posted_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.posted_at = tx.now().to_string();
            store::insert_offer(tx, &row).await?;
            let detail = format!("{} {} at {}", row.specialty, row.topic, row.org_code);
            tx.record(
                &who2,
                Event::new(Action::CREATE, OFFER, &row.id).detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

/// A need the caller may see (its department is in their scope), else NotFound.
pub async fn need(st: &Platform, who: &Principal, id: &str) -> Result<NeedRow, AppError> {
    who.require(perms::READ)?;
    match store::need(&st.db, id).await? {
        Some(n) if covers_any(who, &[&n.org_path]) => Ok(n),
        _ => Err(AppError::NotFound),
    }
}

pub async fn needs(
    st: &Platform,
    who: &Principal,
    open_only: bool,
) -> Result<Vec<NeedRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    store::needs(&st.db, &who.scope, open_only, LIST_LIMIT).await
}

/// Offers: a planner sees every current offer (rear hospitals are roots of their own); others
/// see those of their own organisations.
pub async fn offers(st: &Platform, who: &Principal) -> Result<Vec<OfferRow>, AppError> {
    who.require(perms::READ)?;
    if who.can(perms::PLAN) {
        store::current_offers(&st.db, &today(st).to_string(), LIST_LIMIT).await
    } else if who.scope.subtree_applies() {
        store::offers_in(&st.db, &who.scope, LIST_LIMIT).await
    } else {
        Ok(Vec::new())
    }
}

/// An offer ranked against a need.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RankedOffer {
    pub offer: OfferRow,
    pub fit: Fit,
}

/// A need on the coordinator's board: its age and the best offers for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoardLine {
    pub need: NeedRow,
    /// Days since it was posted.
    pub age_days: i64,
    pub matches: Vec<RankedOffer>,
}

/// Rank offers for needs. `pairs` are `(lead_path, site_path)` of past missions. Each offer
/// and need is read once; past missions are counted per rear hospital once per need. Offers
/// are indexed by their character pairs: a need is ranked first against the offers that share
/// one with it or whose hospital has been there before; only when fewer than `best` of those
/// score above what dates alone can give are all offers ranked (the result is the same).
pub fn rank(
    needs: Vec<NeedRow>,
    offers: &[OfferRow],
    pairs: &[(String, String)],
    today: time::Date,
    best: usize,
) -> Vec<BoardLine> {
    rank_with(needs, offers, pairs, today, best, true)
}

fn root(p: &str) -> &str {
    p.split('/').find(|s| !s.is_empty()).unwrap_or("")
}

fn rank_with(
    needs: Vec<NeedRow>,
    offers: &[OfferRow],
    pairs: &[(String, String)],
    today: time::Date,
    best: usize,
    indexed: bool,
) -> Vec<BoardLine> {
    let sides: Vec<(Side<'_>, &str)> = offers
        .iter()
        .map(|o| {
            (
                Side::new(&o.specialty, &o.topic, &o.available_from, &o.available_to),
                root(&o.org_path),
            )
        })
        .collect();
    let index = OfferIndex::new(sides.iter().map(|(s, _)| s));
    let mut by_root: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, r)) in sides.iter().enumerate() {
        by_root.entry(r).or_default().push(i);
    }
    let mut marks = vec![false; sides.len()];
    needs
        .into_iter()
        .map(|n| {
            let mut past: HashMap<&str, usize> = HashMap::new();
            for (lead, site) in pairs {
                if n.org_path.starts_with(site.as_str()) || site.starts_with(n.org_path.as_str()) {
                    *past.entry(root(lead)).or_default() += 1;
                }
            }
            let need = Side::new(&n.specialty, &n.topic, &n.wanted_from, &n.wanted_to);
            let score = |i: usize| {
                let (side, r) = &sides[i];
                (i, fit_sides(&need, side, past.get(r).copied().unwrap_or(0)))
            };
            let order = |ranked: &mut Vec<(usize, Fit)>| {
                ranked.sort_by(|a, b| {
                    b.1.score
                        .cmp(&a.1.score)
                        .then_with(|| offers[a.0].available_from.cmp(&offers[b.0].available_from))
                        .then_with(|| a.0.cmp(&b.0))
                });
            };
            let mut ranked: Vec<(usize, Fit)> = Vec::new();
            let mut complete = false;
            if indexed {
                marks.iter_mut().for_each(|m| *m = false);
                index.mark(&need, &mut marks);
                for r in past.keys() {
                    for i in by_root.get(r).into_iter().flatten() {
                        marks[*i] = true;
                    }
                }
                ranked = (0..sides.len())
                    .filter(|i| marks[*i])
                    .map(score)
                    .filter(|(_, f)| f.score > 0)
                    .collect();
                order(&mut ranked);
                complete = best > 0
                    && ranked
                        .get(best - 1)
                        .is_some_and(|(_, f)| f.score > DATES_ONLY_MAX);
            }
            if !complete {
                ranked = (0..sides.len())
                    .map(score)
                    .filter(|(_, f)| f.score > 0)
                    .collect();
                order(&mut ranked);
            }
            ranked.truncate(best);
            BoardLine {
                age_days: age_days(&n.posted_at, today),
                matches: ranked
                    .into_iter()
                    .map(|(i, fit)| RankedOffer {
                        offer: offers[i].clone(),
                        fit,
                    })
                    .collect(),
                need: n,
            }
        })
        .collect()
}

/// [`rank`] against every offer, without the index: the reference the index is measured and
/// tested against.
pub(crate) fn rank_all(
    needs: Vec<NeedRow>,
    offers: &[OfferRow],
    pairs: &[(String, String)],
    today: time::Date,
    best: usize,
) -> Vec<BoardLine> {
    rank_with(needs, offers, pairs, today, best, false)
}

/// The coordinator's board: open needs of the scope, oldest and most urgent first, each with
/// its best offers.
pub async fn board(st: &Platform, who: &Principal) -> Result<Vec<BoardLine>, AppError> {
    Ok(board_top(st, who, usize::MAX).await?.0)
}

/// The board's `most` most urgent needs (high priority, then the oldest), each ranked, and how
/// many open needs there are in all (up to the list's limit).
pub async fn board_top(
    st: &Platform,
    who: &Principal,
    most: usize,
) -> Result<(Vec<BoardLine>, usize), AppError> {
    who.require(perms::PLAN)?;
    let mut needs = needs(st, who, true).await?;
    let total = needs.len();
    needs.truncate(most);
    let offers = store::current_offers(&st.db, &today(st).to_string(), LIST_LIMIT).await?;
    let (lo, hi) = who.scope.path_range();
    let pairs = store::mission_pairs(&st.db, &lo, &hi).await?;
    Ok((rank(needs, &offers, &pairs, today(st), BEST), total))
}

/// Turn a need and an offer into a mission, a fellowship or a mentorship, in one action: the
/// engagement is created at the need's department, led by the offer's hospital, for the overlap
/// of their dates, and the need is marked planned. A need planned meanwhile answers Conflict.
pub async fn convert(
    st: &Platform,
    who: &Principal,
    need_id: &str,
    input: &ConvertInput,
) -> Result<MissionRow, AppError> {
    who.require(perms::PLAN)?;
    let n = need(st, who, need_id).await?;
    if !who.scope.owns(&n.org_path) {
        return Err(AppError::NotFound);
    }
    if n.status != "open" {
        return Err(AppError::Conflict(Msg::new("missions.err.need_planned")));
    }
    let mut c = domain::Check::default();
    let kind = c.one_of("kind", &input.kind, &MISSION_KINDS);
    let offer = match store::offer(&st.db, input.offer_id.trim()).await? {
        Some(o) => Some(o),
        None => {
            c.fail("offer_id", "missions.err.offer_unknown");
            None
        }
    };
    let (mut starts_on, mut ends_on) = match &offer {
        Some(o) => planned_period(
            (&n.wanted_from, &n.wanted_to),
            (&o.available_from, &o.available_to),
        ),
        None => (n.wanted_from.clone(), n.wanted_to.clone()),
    };
    if !input.starts_on.trim().is_empty() || !input.ends_on.trim().is_empty() {
        (starts_on, ends_on) = c.period("starts_on", &input.starts_on, "ends_on", &input.ends_on);
    }
    let title = c.text("title", &input.title, false);
    let team = c.text("team", &input.team, false);
    let Some(o) = c.done(offer).map_err(AppError::Invalid)? else {
        return Err(AppError::NotFound);
    };
    let lead = known_org(st, "offer_id", &o.org_code).await?;
    let title = if title.is_empty() {
        format!("{} · {}", n.topic, o.topic)
    } else {
        title
    };
    let team = if team.is_empty() {
        o.expert.clone()
    } else {
        team
    };
    let row = MissionRow {
        id: new_id(),
        kind,
        title,
        site_code: n.org_code.clone(),
        site_path: n.org_path.clone(),
        lead_code: lead.code,
        lead_path: lead.path,
        starts_on,
        ends_on,
        need_id: Some(n.id.clone()),
        offer_id: Some(o.id.clone()),
        team,
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            store::insert_mission(tx, &row).await?;
            if store::plan_need(tx, &n.id, &row.id).await? == 0 {
                return Err(AppError::Conflict(Msg::new("missions.err.need_planned")));
            }
            let detail = format!("{} from need {} and offer {}", row.kind, n.id, o.id);
            tx.record(&who2, Event::new(PLAN, MISSION, &row.id).detail(&detail));
            Ok(row)
        })
    })
    .await
}
