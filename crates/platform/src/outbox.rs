//! Outbound notifications through a pluggable webhook (an SMS or WeChat gateway, a hospital's
//! paging system): a module enqueues a message inside the transaction that caused it, so a
//! message exists exactly when its cause was committed; a background task delivers it with
//! retries and records the delivery state, which the module can show (a guardian's reminder:
//! pending, delivered, failed).
//!
//! The gateway is configured per topic prefix in `webhooks` (or `TIANSHAN_WEBHOOK_URL` for
//! every topic). Each POST carries the JSON `{"id", "topic", "payload"}` and an
//! `X-Tianshan-Signature: sha256=<hex>` of the body with the endpoint's secret, so the gateway can
//! check it came from this server. Several server processes may run the worker: a message is
//! leased before it is sent, so only one of them sends it.
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::{parse_timestamp, timestamp_text, Clock};
use crate::db::{Db, Tx};
use crate::error::AppError;
use crate::{tx_exec, with_db, with_tx};

/// How often the worker looks for messages to send.
pub const POLL: Duration = Duration::from_secs(2);
/// Attempts before a message is marked failed (about a day with the back-off below).
pub const MAX_ATTEMPTS: i64 = 8;
/// Most characters of a payload (a notification points at a record; it does not carry one).
pub const MAX_PAYLOAD: usize = 16_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Message {
    pub id: i64,
    pub topic: String,
    pub payload: String,
    pub created_at: String,
    /// pending, delivered, failed, or unrouted (no gateway configured for the topic).
    pub status: String,
    pub attempts: i64,
    pub delivered_at: Option<String>,
    pub last_error: String,
}

/// Queue a message in the caller's transaction; returns its id (for showing its state later).
pub async fn enqueue(
    tx: &mut Tx,
    topic: &str,
    payload: &serde_json::Value,
) -> Result<i64, AppError> {
    let text = payload.to_string();
    if text.len() > MAX_PAYLOAD {
        return Err(AppError::Internal(format!(
            "outbox payload of {} bytes for {topic}",
            text.len()
        )));
    }
    let now = tx.now().to_string();
    let id: i64 = with_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO outbox (topic, payload, created_at, status, attempts, next_at, last_error) \
         VALUES ($1, $2, $3, 'pending', 0, $3, '') RETURNING id")
        .bind(topic).bind(&text).bind(&now).fetch_one(&mut *c).await)?;
    Ok(id)
}

/// Messages by id (for delivery state), in id order.
pub async fn messages(db: &Db, ids: &[i64]) -> Result<Vec<Message>, AppError> {
    let mut out = Vec::new();
    for id in ids.iter().take(1000) {
        let m: Option<Message> = with_db!(db, pool => sqlx::query_as(
            "SELECT id, topic, payload, created_at, status, attempts, delivered_at, last_error FROM outbox WHERE id = $1")
            .bind(*id).fetch_optional(pool).await)?;
        out.extend(m);
    }
    Ok(out)
}

/// The newest messages of a topic prefix (an administrator's delivery log).
pub async fn recent(db: &Db, prefix: &str, limit: i64) -> Result<Vec<Message>, AppError> {
    let (lo, hi) = (prefix.to_string(), crate::db::prefix_end(prefix));
    Ok(with_db!(db, pool => sqlx::query_as(
        "SELECT id, topic, payload, created_at, status, attempts, delivered_at, last_error FROM outbox \
         WHERE topic >= $1 AND topic < $2 ORDER BY id DESC LIMIT $3")
        .bind(&lo).bind(&hi).bind(limit).fetch_all(pool).await)?)
}

/// Route a topic prefix to a gateway URL (the longest matching prefix wins).
pub async fn set_route(
    db: &Db,
    clock: &Clock,
    prefix: &str,
    url: &str,
    secret: &str,
) -> Result<(), AppError> {
    let (prefix, url, secret) = (prefix.to_string(), url.to_string(), secret.to_string());
    db.write(clock.now_text(), move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM webhooks WHERE topic_prefix = $1").bind(&prefix)
            )?;
            if !url.is_empty() {
                tx_exec!(
                    tx,
                    sqlx::query(
                        "INSERT INTO webhooks (topic_prefix, url, secret) VALUES ($1, $2, $3)"
                    )
                    .bind(&prefix)
                    .bind(&url)
                    .bind(&secret)
                )?;
            }
            Ok(())
        })
    })
    .await
}

#[derive(sqlx::FromRow)]
struct Route {
    topic_prefix: String,
    url: String,
    secret: String,
}

fn backoff(attempts: i64) -> time::Duration {
    let minutes = [1, 5, 15, 60, 180, 360, 720, 1440];
    time::Duration::minutes(minutes[(attempts.clamp(1, 8) - 1) as usize])
}

fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC-SHA256 by hand (RFC 2104) on the hash the platform already has.
    let mut key = secret.as_bytes().to_vec();
    if key.len() > 64 {
        key = Sha256::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Send what is due once; returns how many were delivered. Run by [`run`] every [`POLL`].
pub async fn deliver_due(
    db: &Db,
    clock: &Clock,
    client: &reqwest::Client,
) -> Result<usize, AppError> {
    let now = clock.now();
    let due: Vec<(i64, String, String, i64)> = with_db!(db, pool => sqlx::query_as(
        "SELECT id, topic, payload, attempts FROM outbox WHERE status = 'pending' AND next_at <= $1 ORDER BY id LIMIT 50")
        .bind(timestamp_text(now)).fetch_all(pool).await)?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut routes: Vec<Route> = with_db!(db, pool => sqlx::query_as(
        "SELECT topic_prefix, url, secret FROM webhooks").fetch_all(pool).await)?;
    if let Ok(url) = std::env::var("TIANSHAN_WEBHOOK_URL") {
        routes.push(Route {
            topic_prefix: String::new(),
            url,
            secret: std::env::var("TIANSHAN_WEBHOOK_SECRET").unwrap_or_default(),
        });
    }
    routes.sort_by_key(|r| std::cmp::Reverse(r.topic_prefix.len()));
    let mut delivered = 0;
    for (id, topic, payload, attempts) in due {
        // Lease it for two minutes so another process does not send it too.
        let lease = timestamp_text(now + time::Duration::minutes(2));
        let claimed = db
            .write(timestamp_text(now), move |tx| {
                Box::pin(async move {
                    let now = tx.now().to_string();
                    Ok(tx_exec!(tx, sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2 AND status = 'pending' AND next_at <= $3")
                        .bind(&lease).bind(id).bind(&now))?)
                })
            })
            .await?;
        if claimed == 0 {
            continue;
        }
        let outcome = match routes.iter().find(|r| topic.starts_with(&r.topic_prefix)) {
            None => Err((true, "no gateway is configured for this topic".to_string())),
            Some(r) => {
                let body = serde_json::json!({"id": id, "topic": topic, "payload": serde_json::from_str::<serde_json::Value>(&payload).unwrap_or_default()}).to_string();
                let sig = signature(&r.secret, body.as_bytes());
                match client
                    .post(&r.url)
                    .header("content-type", "application/json")
                    .header("x-tianshan-signature", format!("sha256={sig}"))
                    .body(body)
                    .send()
                    .await
                {
                    Ok(resp) if resp.status().is_success() => Ok(()),
                    Ok(resp) => Err((false, format!("gateway answered {}", resp.status()))),
                    Err(e) => Err((false, format!("gateway unreachable: {e}"))),
                }
            }
        };
        let attempts = attempts + 1;
        let (status, next, error) = match &outcome {
            Ok(()) => ("delivered", now, String::new()),
            Err((true, e)) => ("unrouted", now, e.clone()),
            Err((false, e)) if attempts >= MAX_ATTEMPTS => ("failed", now, e.clone()),
            Err((false, e)) => ("pending", now + backoff(attempts), e.clone()),
        };
        if outcome.is_ok() {
            delivered += 1;
        }
        let (next, at) = (timestamp_text(next), timestamp_text(clock.now()));
        db.write(at, move |tx| {
            Box::pin(async move {
                let now = tx.now().to_string();
                let done = (status == "delivered").then_some(now);
                tx_exec!(tx, sqlx::query("UPDATE outbox SET status = $1, attempts = $2, next_at = $3, last_error = $4, delivered_at = $5 WHERE id = $6")
                    .bind(status).bind(attempts).bind(&next).bind(&error).bind(&done).bind(id))?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(delivered)
}

/// The delivery worker: runs for as long as the process does.
pub async fn run(db: Db, clock: Clock) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the notification worker");
            return;
        }
    };
    loop {
        if let Err(e) = deliver_due(&db, &clock, &client).await {
            tracing::warn!(error = %e, "notification delivery failed");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Messages still pending past this age are worth an operator's look.
pub fn is_stale(m: &Message, clock: &Clock) -> bool {
    m.status == "pending"
        && parse_timestamp(&m.created_at)
            .is_some_and(|t| clock.now() - t > time::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_and_stops() {
        assert_eq!(backoff(1), time::Duration::minutes(1));
        assert_eq!(backoff(8), time::Duration::minutes(1440));
        assert_eq!(backoff(20), time::Duration::minutes(1440));
    }
}
