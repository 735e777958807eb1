//! Temperature readings over MQTT: the module subscribes to a topic pattern (default
//! `tianshan/coldchain/+/reading`, set with `TIANSHAN_MQTT_TOPIC`; broker `TIANSHAN_MQTT_HOST`
//! and `TIANSHAN_MQTT_PORT`, default 127.0.0.1:1883; `TIANSHAN_MQTT=off` disables it). The
//! segment matched by the first `+` names the device; the payload is
//! `{"at": "2026-03-10T08:00:00Z", "celsius": 4.5}`. Readings for devices this server does
//! not know are ignored; a malformed payload is logged and dropped. Ingestion is idempotent
//! (one reading per device and instant), so several server processes may all subscribe.
use std::time::Duration;

use futures_util::future::BoxFuture;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tianshan_platform::auth::Principal;
use tianshan_platform::Platform;

use crate::service::{self, ReadingInput};

pub const DEFAULT_TOPIC: &str = "tianshan/coldchain/+/reading";

pub fn task(st: Platform) -> BoxFuture<'static, ()> {
    Box::pin(run(st))
}

/// The device id a topic names under `pattern` (the level matched by the first `+`).
pub fn device_of(pattern: &str, topic: &str) -> Option<String> {
    let pat: Vec<&str> = pattern.split('/').collect();
    let top: Vec<&str> = topic.split('/').collect();
    let mut device = None;
    for (i, p) in pat.iter().enumerate() {
        match *p {
            "#" => return device,
            "+" => {
                let t = top.get(i)?;
                if device.is_none() {
                    device = Some((*t).to_string());
                }
            }
            lit => {
                if top.get(i) != Some(&lit) {
                    return None;
                }
            }
        }
    }
    (pat.len() == top.len()).then_some(device).flatten()
}

async fn run(st: Platform) {
    if std::env::var("TIANSHAN_MQTT").is_ok_and(|v| v == "off") {
        return;
    }
    let topic = std::env::var("TIANSHAN_MQTT_TOPIC").unwrap_or_else(|_| DEFAULT_TOPIC.to_string());
    let host = std::env::var("TIANSHAN_MQTT_HOST").unwrap_or_else(|_| "127.0.0.1".to_string());
    let port = std::env::var("TIANSHAN_MQTT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1883u16);
    let id = format!("tianshan-{}", uuid::Uuid::new_v4().simple());
    let mut opts = MqttOptions::new(id, host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 64);
    let who = Principal::cli("mqtt");
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(e) = client.subscribe(topic.clone(), QoS::AtLeastOnce).await {
                    tracing::warn!(error = %e, "MQTT subscribe failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                handle(&st, &who, &topic, &p.topic, &p.payload).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "MQTT connection lost; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

async fn handle(st: &Platform, who: &Principal, pattern: &str, topic: &str, payload: &[u8]) {
    let Some(device) = device_of(pattern, topic) else {
        return;
    };
    let Ok(Some(d)) = crate::store::device(&st.db, &device).await else {
        return;
    };
    let reading: ReadingInput = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(device, error = %e, "malformed MQTT reading dropped");
            return;
        }
    };
    let (at, tenths) = match service::check_reading(&reading) {
        Ok(x) => x,
        Err(_) => {
            tracing::warn!(device, "impossible MQTT reading dropped");
            return;
        }
    };
    if let Err(e) = service::ingest(st, who, d, at, tenths).await {
        tracing::warn!(device, error = %e, "MQTT reading not stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_from_topic() {
        assert_eq!(
            device_of(DEFAULT_TOPIC, "tianshan/coldchain/F-01/reading").as_deref(),
            Some("F-01")
        );
        assert_eq!(
            device_of(DEFAULT_TOPIC, "tianshan/coldchain/F-01/other"),
            None
        );
        assert_eq!(
            device_of("site/+/#", "site/F-02/a/b").as_deref(),
            Some("F-02")
        );
        assert_eq!(device_of(DEFAULT_TOPIC, "tianshan/coldchain/F-01"), None);
    }
}
