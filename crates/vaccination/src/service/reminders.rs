//! Reminders to the guardians of overdue children through the platform's outbox: an SMS or
//! WeChat gateway behind a webhook receives each one; its delivery state (queued, sent,
//! retrying with the reason, failed with the reason) is read back from the outbox.
use tianshan_platform::i18n::Catalog;
use tianshan_platform::outbox;

use super::*;
use crate::store::ReminderRow;

/// The outbox topic of reminders (route it to the gateway with `webhooks`).
pub const REMINDER_TOPIC: &str = "vaccination.reminder";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderView {
    pub id: String,
    pub patient_id: String,
    /// The village (or other place) the child is registered at.
    pub org_code: String,
    pub phone: String,
    pub overdue: String,
    pub created_by: String,
    pub created_at: String,
    /// queued, sent, retrying (a failed attempt, tried again later), failed.
    pub state: String,
    pub attempts: i64,
    /// Why the last attempt failed (the gateway's answer, or no gateway configured).
    pub reason: String,
    pub sent_at: Option<String>,
}

/// The reminder's state from its outbox message's.
pub fn delivery_state(status: &str, attempts: i64) -> &'static str {
    match status {
        "delivered" => "sent",
        "failed" | "unrouted" => "failed",
        _ if attempts > 0 => "retrying",
        _ => "queued",
    }
}

async fn views(st: &Platform, rows: Vec<ReminderRow>) -> Result<Vec<ReminderView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
    let msgs = outbox::messages(&st.db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = msgs.iter().find(|m| m.id == r.message_id);
            ReminderView {
                state: m
                    .map(|m| delivery_state(&m.status, m.attempts))
                    .unwrap_or("queued")
                    .to_string(),
                attempts: m.map(|m| m.attempts).unwrap_or(0),
                reason: m.map(|m| m.last_error.clone()).unwrap_or_default(),
                sent_at: m.and_then(|m| m.delivered_at.clone()),
                id: r.id,
                patient_id: r.patient_id,
                org_code: r.org_code,
                phone: r.phone,
                overdue: r.overdue,
                created_by: r.created_by,
                created_at: r.created_at,
            }
        })
        .collect())
}

/// Remind the guardian of every child of a place overdue today (the overdue list), once a day
/// at most per child, children with no phone left out. Each reminder, its outbox message and
/// its audit entry are written in one transaction with the others.
pub async fn send_reminders(
    st: &Platform,
    who: &Principal,
    org_code: &str,
    t: &Catalog,
) -> Result<Vec<ReminderView>, AppError> {
    who.require(perms::ADMINISTER)?;
    if org_code.trim().is_empty() {
        return Err(invalid("org_code", "vacc.err.org"));
    }
    let children = overdue(st, who, org_code).await?;
    let ids: Vec<String> = children.iter().map(|c| c.patient_id.clone()).collect();
    let day_start = format!("{}T00:00:00", domain::date_text(today(st)));
    let done = store::reminded_since(&st.db, &ids, &day_start).await?;
    let now = st.clock.now_text();
    let mut batch: Vec<(ReminderRow, serde_json::Value)> = Vec::new();
    for c in children {
        if c.guardian_phone.trim().is_empty() || done.contains(&c.patient_id) {
            continue;
        }
        let overdue = c.overdue.join(", ");
        let text = t.fmt("vacc.rem.text", &[("name", &c.name), ("doses", &overdue)]);
        let row = ReminderRow {
            id: tianshan_platform::new_id(),
            patient_id: c.patient_id,
            patient_path: c.org_path,
            org_code: c.org_code,
            phone: c.guardian_phone,
            overdue,
            message_id: 0,
            created_by: who.username.clone(),
            created_at: now.clone(),
        };
        let payload = serde_json::json!({
            "reminder": row.id, "to": row.phone, "text": text, "locale": t.locale.tag(),
        });
        batch.push((row, payload));
    }
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let who2 = who.clone();
    let rows = st
        .write(move |tx| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(batch.len());
                for (mut row, payload) in batch {
                    row.message_id = outbox::enqueue(tx, REMINDER_TOPIC, &payload).await?;
                    store::insert_reminder(tx, &row).await?;
                    tx.record(
                        &who2,
                        Event::new(REMINDER, "VaccinationReminder", &row.id)
                            .patient(&row.patient_id)
                            .detail(&row.overdue),
                    );
                    out.push(row);
                }
                Ok(out)
            })
        })
        .await?;
    views(st, rows).await
}

/// The newest reminders of a place the caller may see, with their delivery state.
pub async fn reminders(
    st: &Platform,
    who: &Principal,
    org_code: &str,
) -> Result<Vec<ReminderView>, AppError> {
    who.require(perms::READ)?;
    let org = facade::org(st, org_code.trim())
        .await?
        .filter(|o| who.scope.can_see(&o.path, &[]))
        .ok_or(AppError::NotFound)?;
    let hi = tianshan_platform::db::prefix_end(&org.path);
    let rows = store::reminders_in(&st.db, &org.path, &hi, 500).await?;
    views(st, rows).await
}

/// A child's reminders with their delivery state (the child read through the facade first).
pub async fn child_reminders(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
) -> Result<Vec<ReminderView>, AppError> {
    who.require(perms::READ)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    let rows = store::reminders_of(&st.db, &child.id).await?;
    views(st, rows).await
}
