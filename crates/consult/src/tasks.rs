//! The escalation sweep: a case nobody accepted by half its target, or accepted and still
//! unanswered at its target, goes to the programme coordinator, exactly once (a conditional
//! UPDATE, so two sweeps or two server processes never escalate it twice).
use futures_util::future::BoxFuture;
use tianshan_platform::audit::{Actor, AuditRow, Event};
use tianshan_platform::{AppError, Platform};

use crate::service::{notify, ENTITY, ESCALATE};
use crate::store;

/// How often the sweep runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Escalate every case due now; returns how many this call escalated.
pub async fn escalate_overdue(st: &Platform) -> Result<usize, AppError> {
    let now = st.clock.now_text();
    let due = store::due_for_escalation(&st.db, &now, 500).await?;
    let mut done = 0;
    for r in due {
        let escalated = st
            .write(move |tx| {
                Box::pin(async move {
                    if store::mark_escalated(tx, &r.id).await? == 0 {
                        return Ok(false);
                    }
                    let why = if r.status == "filed" {
                        "not accepted at half its target"
                    } else {
                        "not answered within its target"
                    };
                    store::add_message(tx, &r.id, "system", "", "system", "escalate", why).await?;
                    let at = tx.now().to_string();
                    let actor = Actor {
                        user_id: "",
                        username: "system",
                        role: "system",
                        channel: "other",
                        ip: "",
                        user_agent: "consult escalation sweep",
                    };
                    tx.audit(AuditRow::raw(
                        &at,
                        actor,
                        Event::new(ESCALATE, ENTITY, &r.id)
                            .patient(&r.patient_id)
                            .detail(why),
                    ));
                    notify(tx, "consult.escalated", &r).await?;
                    Ok(true)
                })
            })
            .await?;
        if escalated {
            done += 1;
        }
    }
    Ok(done)
}

/// The background task the module declares.
pub fn sweep(st: Platform) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        loop {
            if let Err(e) = escalate_overdue(&st).await {
                tracing::warn!(error = %e, "consultation escalation sweep failed");
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
