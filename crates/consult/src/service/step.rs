//! One step of a case's workflow (accept, decline, ask, answer, acknowledge, route, ...).
use super::*;

/// One step of the workflow, as a form or JSON client sends it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StepInput {
    /// accept, decline, request_info, provide_info, answer, acknowledge, message, route.
    pub step: String,
    /// The decline's reason, the question, the information, the message (required for those).
    #[serde(default)]
    pub text: String,
    /// Answer: the impression (required).
    #[serde(default)]
    pub impression: String,
    #[serde(default)]
    pub recommendations: String,
    /// Answer: whether the patient should be referred.
    #[serde(default, deserialize_with = "checkbox")]
    pub refer: bool,
    #[serde(default)]
    pub follow_up: String,
    /// Acknowledge: 1–5, optional.
    #[serde(default, deserialize_with = "opt_int")]
    #[schema(value_type = Option<i64>)]
    pub rating: Option<i64>,
    /// Route: the department, rear hospital or partner to send the case to.
    #[serde(default)]
    pub target_code: String,
    /// Schedule: the live session's time in Beijing time, `YYYY-MM-DDTHH:MM`.
    #[serde(default)]
    pub session_at: String,
    /// Schedule: the https link of the external meeting tool.
    #[serde(default)]
    pub link: String,
}

fn opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        S(String),
        Nil(()),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::I(i)) => Some(i),
        Some(N::S(s)) if s.trim().is_empty() => None,
        Some(N::S(s)) => Some(s.trim().parse().unwrap_or(0)),
        _ => None,
    })
}

fn side_label(s: Sides) -> &'static str {
    if s.target {
        "target"
    } else if s.requester {
        "requester"
    } else {
        "coordinator"
    }
}

/// Take one step. Refusals: 404 outside the case, 409 when the step is not open to the caller
/// now (or someone moved the case first), 422 for missing text.
pub async fn step(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: &StepInput,
) -> Result<CaseView, AppError> {
    let r = visible_row(st, who, id).await?;
    let s = sides(who, &r);
    let Some(step) = Step::parse(input.step.trim()) else {
        return Err(AppError::invalid("step", Msg::new("consult.err.choice")));
    };
    let status = status_of(&r)?;
    let Some(next) = domain::next(status, step, s) else {
        return Err(AppError::Conflict(Msg::new("consult.err.step")));
    };
    let now = st.clock.now();
    let now_text = timestamp_text(now);
    let text = match step {
        Step::Decline | Step::RequestInfo | Step::ProvideInfo | Step::Message => {
            domain::step_text("text", &input.text).map_err(AppError::Invalid)?
        }
        _ => input.text.trim().to_string(),
    };
    let rating = domain::rating(input.rating).map_err(AppError::Invalid)?;
    let session = if step == Step::Schedule {
        domain::session_text(&input.session_at, &input.link, &r.target_code)
            .map_err(AppError::Invalid)?
    } else {
        String::new()
    };
    let impression = if step == Step::Answer {
        domain::step_text("impression", &input.impression).map_err(AppError::Invalid)?
    } else {
        String::new()
    };
    // Where a declined (or coordinator-routed) case goes next.
    let mut new_target: Option<(String, String, String, bool)> = None;
    if step == Step::Decline {
        let mut declined = store::declined(&st.db, id).await?;
        declined.push(r.target_code.clone());
        new_target = Some(
            match route_for(st, &r.from_path, &r.specialty, &declined).await? {
                Some((c, p)) => {
                    let ab = match facade::org(st, &c).await? {
                        Some(o) => abroad(st, &o).await?,
                        None => false,
                    };
                    ("pool".to_string(), c, p, ab)
                }
                None => ("pool".to_string(), String::new(), String::new(), false),
            },
        );
    }
    if step == Step::Route {
        let code = input.target_code.trim();
        let Some(o) = facade::org(st, code).await?.filter(|_| !code.is_empty()) else {
            return Err(AppError::invalid(
                "target_code",
                Msg::new("consult.err.target_unknown").arg("code", code.to_string()),
            ));
        };
        let ab = abroad(st, &o).await?;
        let kind = if ab { "partner" } else { "department" };
        new_target = Some((kind.to_string(), o.code, o.path, ab));
    }
    // Information given: the clock resumes, moved on by the time it stood still.
    let resumed = if step == Step::ProvideInfo {
        let paused = r
            .paused_at
            .as_deref()
            .and_then(parse_timestamp)
            .unwrap_or(now);
        let waited = now - paused;
        let shift = |t: &str| {
            parse_timestamp(t)
                .map(|t| timestamp_text(t + waited))
                .unwrap_or_else(|| t.to_string())
        };
        Some((shift(&r.due_at), shift(&r.half_at)))
    } else {
        None
    };
    let (who2, r2, inp) = (who.clone(), r.clone(), input.clone());
    let side = side_label(s);
    st.write(move |tx| {
        Box::pin(async move {
            let (id, expect, to) = (r2.id.as_str(), r2.status.as_str(), next.as_str());
            let n = match step {
                Step::Accept => {
                    store::set_status(
                        tx,
                        id,
                        expect,
                        to,
                        &["accepted_at", "assignee", "assignee_name"],
                        &[
                            now_text.clone(),
                            who2.username.clone(),
                            who2.display_name.clone(),
                        ],
                    )
                    .await?
                }
                Step::Decline | Step::Route => {
                    let (kind, code, path, ab) = new_target.clone().unwrap_or_default();
                    if step == Step::Decline {
                        store::add_decline(tx, id, &r2.target_code).await?;
                    }
                    let n = store::route(tx, id, expect, &kind, &code, &path).await?;
                    let deid = domain::deidentify(ab, r2.pipl_consent == 1) as i64;
                    tianshan_platform::tx_exec!(
                        tx,
                        sqlx::query("UPDATE consult_cases SET deidentified = $1 WHERE id = $2")
                            .bind(deid)
                            .bind(id)
                    )?;
                    n
                }
                Step::RequestInfo => {
                    store::set_status(
                        tx,
                        id,
                        expect,
                        to,
                        &["paused_at"],
                        std::slice::from_ref(&now_text),
                    )
                    .await?
                }
                Step::ProvideInfo => {
                    let n = store::set_status(tx, id, expect, to, &[], &[]).await?;
                    if let Some((due, half)) = &resumed {
                        store::clear_paused(tx, id, due, half).await?;
                    }
                    n
                }
                Step::Answer => {
                    let n = store::set_status(
                        tx,
                        id,
                        expect,
                        to,
                        &["answered_at", "impression", "recommendations", "follow_up"],
                        &[
                            now_text.clone(),
                            impression.clone(),
                            inp.recommendations.trim().to_string(),
                            inp.follow_up.trim().to_string(),
                        ],
                    )
                    .await?;
                    store::set_numbers(tx, id, Some(inp.refer as i64), None).await?;
                    n
                }
                Step::Acknowledge => {
                    let n = store::set_status(
                        tx,
                        id,
                        expect,
                        to,
                        &["acknowledged_at"],
                        std::slice::from_ref(&now_text),
                    )
                    .await?;
                    store::set_numbers(tx, id, None, rating).await?;
                    n
                }
                Step::Message | Step::Schedule => 1,
            };
            if n == 0 {
                return Err(AppError::Conflict(Msg::new("consult.err.moved")));
            }
            let body = match step {
                Step::Answer => impression.clone(),
                Step::Schedule => session.clone(),
                Step::Route => new_target.as_ref().map(|t| t.1.clone()).unwrap_or_default(),
                _ => text.clone(),
            };
            store::add_message(
                tx,
                id,
                &who2.username,
                &who2.display_name,
                side,
                step.as_str(),
                &body,
            )
            .await?;
            let detail = format!("{} {} -> {}", step.as_str(), expect, to);
            tx.record(
                &who2,
                Event::new(STEP, ENTITY, id)
                    .patient(&r2.patient_id)
                    .detail(&detail),
            );
            if matches!(step, Step::Answer | Step::RequestInfo) {
                notify(tx, &format!("consult.{}", step.as_str()), &r2).await?;
            }
            Ok(())
        })
    })
    .await?;
    let r = store::get_case(&st.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    match view(st, who, r)? {
        Some(v) => Ok(v),
        // Declined and sent elsewhere: the decliner no longer sees it.
        None => Err(AppError::NotFound),
    }
}
