//! Live events for pages that update themselves (server-sent events: the vaccination queue
//! board, the emergency department board). In one process a broadcast channel; on PostgreSQL
//! every event also goes through `NOTIFY`, so a board served by one server process sees what
//! a nurse did on another.
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::db::{Db, Pools};

const CHANNEL: &str = "tianshan_events";
/// PostgreSQL's NOTIFY payload limit is 8000 bytes; events are small pointers, not records.
const MAX_PAYLOAD: usize = 7000;

/// One event: a topic (`vaccination.queue:CLINIC-01`) and a small JSON payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveEvent {
    pub topic: String,
    pub payload: String,
}

#[derive(Clone)]
pub struct Events {
    local: broadcast::Sender<LiveEvent>,
    pg: Option<sqlx::PgPool>,
}

impl Events {
    /// Start the bus; on PostgreSQL this also starts listening for other processes' events.
    pub fn start(db: &Db) -> Events {
        let (local, _) = broadcast::channel(1024);
        let pg = match db.pools() {
            Pools::Postgres(pool) => Some(pool.clone()),
            Pools::Sqlite(_) => None,
        };
        if let Some(pool) = &pg {
            let (pool, tx) = (pool.clone(), local.clone());
            tokio::spawn(async move { listen(pool, tx).await });
        }
        Events { local, pg }
    }

    /// An event bus for one process only (tests, command line).
    pub fn local() -> Events {
        let (local, _) = broadcast::channel(1024);
        Events { local, pg: None }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe()
    }

    /// Publish to every subscriber in every process. Best effort: a live page that misses an
    /// event catches up on its next refresh, so a failure here is logged, not returned.
    pub async fn publish(&self, topic: &str, payload: &str) {
        let ev = LiveEvent {
            topic: topic.to_string(),
            payload: payload.to_string(),
        };
        match &self.pg {
            None => {
                let _ = self.local.send(ev);
            }
            Some(pool) => {
                let text = serde_json::to_string(&ev).unwrap_or_default();
                if text.len() > MAX_PAYLOAD {
                    tracing::warn!(topic, "live event too large for NOTIFY; sent locally only");
                    let _ = self.local.send(ev);
                    return;
                }
                // Our own listener delivers it locally too, so every process sees one copy.
                let r = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&text)
                    .execute(pool)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "NOTIFY failed; event sent locally only");
                    let _ = self.local.send(ev);
                }
            }
        }
    }
}

async fn listen(pool: sqlx::PgPool, tx: broadcast::Sender<LiveEvent>) {
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for live events; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) => {
                    if let Ok(ev) = serde_json::from_str::<LiveEvent>(n.payload()) {
                        let _ = tx.send(ev);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live event listener lost its connection");
                    break;
                }
            }
        }
    }
}

/// A server-sent-events response of the live events whose topic starts with `prefix`; each
/// event's `data` is its payload. A comment is sent every 15 s so proxies keep it open, and a
/// client that falls behind gets a `lagged` event and should reload.
pub fn sse(
    events: &Events,
    prefix: String,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let rx = events.subscribe();
    let stream = futures_util::stream::unfold(rx, move |mut rx| {
        let prefix = prefix.clone();
        async move {
            loop {
                match rx.recv().await {
                    Ok(ev) if ev.topic.starts_with(&prefix) => {
                        let e = Event::default().event(ev.topic).data(ev.payload);
                        return Some((Ok(e), rx));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Event::default().event("lagged").data("")), rx));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}
