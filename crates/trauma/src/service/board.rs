//! The live board of the cases under way.
use super::*;

/// One patient on the emergency department's live board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    pub id: String,
    pub patient_id: String,
    pub mechanism: String,
    pub iss: Option<i64>,
    /// Where the patient is now and since when.
    pub org_code: String,
    pub arrived_at: String,
    /// Minutes since arrival at the current hospital (now − arrival).
    pub minutes: i64,
    pub operation_at: String,
    /// `late` (severe, not operated, past the 60-minute target), `running` (severe, clock
    /// running), `operated`, `watch` (not severe).
    pub status: String,
}

/// The last 24 hours of the chain in the caller's hospitals, severe first, longest waiting
/// first: the clock since arrival against the 60-minute operating target.
pub async fn board(st: &Platform, who: &Principal) -> Result<Vec<BoardLine>, AppError> {
    who.require(perms::READ)?;
    let now = st.clock.now();
    let from = tianshan_platform::clock::timestamp_text(now - time::Duration::hours(24));
    let (lo, hi) = if who.scope.subtree_applies() {
        who.scope.path_range()
    } else {
        (String::new(), String::new())
    };
    let f = Filter {
        lo,
        hi,
        from,
        to: "9999".into(),
        review: String::new(),
        limit: LIST_LIMIT,
    };
    let rows = store::list(&st.db, &f).await?;
    let now_text = tianshan_platform::clock::timestamp_text(now);
    let mut lines = Vec::new();
    for r in rows.into_iter().filter(|r| r.discharge_at.is_empty()) {
        let stays = store::stays(&st.db, &r.id).await?;
        let Some(cur) = stays.last() else { continue };
        let minutes = domain::minutes(&cur.arrived_at, &now_text).unwrap_or(0);
        let severe = r.iss.is_some_and(|i| i >= indicators::SEVERE_ISS);
        let status = if !r.operation_at.is_empty() {
            "operated"
        } else if !severe {
            "watch"
        } else if minutes > indicators::TARGET_OPERATION_MIN {
            "late"
        } else {
            "running"
        };
        lines.push(BoardLine {
            id: r.id.clone(),
            patient_id: r.patient_id.clone(),
            mechanism: r.mechanism.clone(),
            iss: r.iss,
            org_code: cur.org_code.clone(),
            arrived_at: cur.arrived_at.clone(),
            minutes,
            operation_at: r.operation_at.clone(),
            status: status.to_string(),
        });
    }
    let rank = |s: &str| match s {
        "late" => 0,
        "running" => 1,
        "watch" => 2,
        _ => 3,
    };
    lines.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then(b.minutes.cmp(&a.minutes))
    });
    if !lines.is_empty() {
        let ids: Vec<&str> = lines.iter().map(|l| l.id.as_str()).collect();
        let detail = format!("trauma board {}: {}", lines.len(), ids.join(" "));
        st.audit(who, Event::new(Action::SEARCH, ENTITY, "").detail(&detail))
            .await?;
    }
    Ok(lines)
}
