//! Injury prevention activities (school, village, road safety, workplace, media).
use super::*;

pub const PREVENTION_KINDS: &[&str] = &["school", "village", "road_safety", "workplace", "media"];

/// A prevention activity as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PreventionInput {
    /// Where it was held (an organisation of the caller's own area).
    pub org_code: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    /// school, village, road_safety, workplace, media.
    pub kind: String,
    pub topic: String,
    pub attendance: i64,
}

/// Record a public education session (audited).
pub async fn add_prevention(
    st: &Platform,
    who: &Principal,
    input: PreventionInput,
) -> Result<store::PreventionRow, AppError> {
    who.require(perms::WRITE)?;
    let mut errs = Vec::new();
    let date_ok = time::Date::parse(
        input.held_on.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_ok();
    if !date_ok {
        errs.push(tianshan_platform::error::FieldError::new(
            "held_on",
            Msg::new("trauma.err.date"),
        ));
    }
    if !PREVENTION_KINDS.contains(&input.kind.as_str()) {
        errs.push(tianshan_platform::error::FieldError::new(
            "kind",
            Msg::new("trauma.err.choice"),
        ));
    }
    let topic = input.topic.trim().to_string();
    if topic.is_empty() || topic.chars().count() > 200 {
        errs.push(tianshan_platform::error::FieldError::new(
            "topic",
            Msg::new("trauma.err.required"),
        ));
    }
    if !(0..=100_000).contains(&input.attendance) {
        errs.push(tianshan_platform::error::FieldError::new(
            "attendance",
            Msg::new("trauma.err.vital"),
        ));
    }
    let org = facade::org(st, input.org_code.trim())
        .await?
        .filter(|o| who.scope.owns(&o.path));
    if org.is_none() {
        errs.push(tianshan_platform::error::FieldError::new(
            "org_code",
            Msg::new("trauma.err.org_scope"),
        ));
    }
    let Some(org) = org.filter(|_| errs.is_empty()) else {
        return Err(invalid(errs));
    };
    let row = store::PreventionRow {
        id: tianshan_platform::new_id(),
        org_code: org.code,
        org_path: org.path,
        held_on: input.held_on.trim().to_string(),
        kind: input.kind,
        topic,
        attendance: input.attendance,
        created_by: who.username.clone(),
        created_at: String::new(),
    };
    let w = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            let mut row = row;
            row.created_at = tx.now().to_string();
            store::insert_prevention(tx, &row).await?;
            let detail = format!("prevention {} {} people", row.kind, row.attendance);
            tx.record(
                &w,
                Event::new(Action::CREATE, "TraumaPrevention", &row.id).detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

/// Prevention activities in the caller's area, newest first (not personal data).
pub async fn prevention(
    st: &Platform,
    who: &Principal,
) -> Result<Vec<store::PreventionRow>, AppError> {
    who.require(perms::READ)?;
    if !who.scope.subtree_applies() {
        return Ok(Vec::new());
    }
    let (lo, hi) = who.scope.path_range();
    store::prevention(&st.db, &lo, &hi, LIST_LIMIT).await
}
