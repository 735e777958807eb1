//! Finding records: the filtered list, its indicators, and the quality review of a case.
use super::*;

/// Which records: organisation (a hospital or area inside the caller's scope), period, list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct Query {
    /// Organisation code: records with a stay at it or below it. Default: the caller's scope.
    pub org: String,
    /// First day (`YYYY-MM-DD`), China time, inclusive.
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Review list: `time_target`, `unexpected_death`, `unexpected_survivor`.
    pub review: String,
}

fn day_bound(d: &str, end: bool) -> Result<String, AppError> {
    let d = d.trim();
    if d.is_empty() {
        return Ok(if end { "9999".into() } else { String::new() });
    }
    let date = time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| {
            AppError::invalid(if end { "to" } else { "from" }, Msg::new("trauma.err.date"))
        })?;
    let date = if end {
        date.next_day().unwrap_or(date)
    } else {
        date
    };
    // midnight China time
    let t = date
        .with_hms(0, 0, 0)
        .map_err(|_| AppError::invalid("from", Msg::new("trauma.err.date")))?
        .assume_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
    Ok(tianshan_platform::clock::timestamp_text(t))
}

pub(super) async fn filter(
    st: &Platform,
    who: &Principal,
    q: &Query,
    limit: i64,
) -> Result<Filter, AppError> {
    who.require(perms::READ)?;
    if !["", "time_target", "unexpected_death", "unexpected_survivor"].contains(&q.review.as_str())
    {
        return Err(AppError::invalid("review", Msg::new("trauma.err.choice")));
    }
    let (mut lo, mut hi) = who.scope.path_range();
    if !who.scope.subtree_applies() {
        hi = lo.clone();
    }
    if !q.org.trim().is_empty() {
        let org = facade::org(st, q.org.trim())
            .await?
            .filter(|o| who.scope.covers(&o.path))
            .ok_or_else(|| AppError::invalid("org", Msg::new("trauma.err.org_scope")))?;
        lo = org.path.clone();
        hi = tianshan_platform::db::prefix_end(&org.path);
    }
    Ok(Filter {
        lo,
        hi,
        from: day_bound(&q.from, false)?,
        to: day_bound(&q.to, true)?,
        review: q.review.clone(),
        limit,
    })
}

pub const LIST_LIMIT: i64 = 500;

/// Records (newest first), or one review list. Audited as a search listing the records shown.
pub async fn list(st: &Platform, who: &Principal, q: &Query) -> Result<Vec<RecordRow>, AppError> {
    let f = filter(st, who, q, LIST_LIMIT).await?;
    let rows = store::list(&st.db, &f).await?;
    if !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let detail = format!("trauma {} {}: {}", q.review, rows.len(), ids.join(" "));
        st.audit(who, Event::new(Action::SEARCH, ENTITY, "").detail(&detail))
            .await?;
    }
    Ok(rows)
}

/// Indicators of the records chosen (no personal data: not audited).
pub async fn indicators(st: &Platform, who: &Principal, q: &Query) -> Result<Indicators, AppError> {
    let mut q = q.clone();
    q.review.clear();
    let f = filter(st, who, &q, 0).await?;
    let rows = store::indicator_rows(&st.db, &f).await?;
    Ok(indicators::compute(&rows))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReviewInput {
    /// What the review found (required, at most 2000 characters).
    pub finding: String,
}

/// Mark a case reviewed with its finding.
pub async fn review(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: ReviewInput,
) -> Result<RecordView, AppError> {
    who.require(perms::REVIEW)?;
    let v = visible(st, who, id).await?;
    let finding = input.finding.trim().to_string();
    if finding.is_empty() || finding.chars().count() > 2000 {
        return Err(AppError::invalid("finding", Msg::new("trauma.err.finding")));
    }
    let (w, rid, pid) = (
        who.clone(),
        v.record.id.clone(),
        v.record.patient_id.clone(),
    );
    st.write(move |tx| {
        Box::pin(async move {
            store::set_review(tx, &rid, &w.username, &finding).await?;
            tx.record(&w, Event::new(REVIEW, ENTITY, &rid).patient(&pid));
            Ok(())
        })
    })
    .await?;
    read_unaudited(st, who, id).await
}
