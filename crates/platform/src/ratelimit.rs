//! Sign-in rate limit: after too many failures for one address or one username within a
//! window, further attempts are refused until the window passes. In memory, per process.
use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MINUTES: i64 = 15;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, OffsetDateTime)>>,
}

impl LoginLimiter {
    fn keys(ip: &str, username: &str) -> [String; 2] {
        [
            format!("ip:{ip}"),
            format!("user:{}", username.to_lowercase()),
        ]
    }

    /// Is another attempt allowed now?
    pub fn allowed(&self, ip: &str, username: &str, now: OffsetDateTime) -> bool {
        let Ok(map) = self.failures.lock() else {
            return true;
        };
        Self::keys(ip, username).iter().all(|k| match map.get(k) {
            Some((n, since)) => {
                *n < MAX_FAILURES || now - *since > Duration::minutes(WINDOW_MINUTES)
            }
            None => true,
        })
    }

    pub fn failed(&self, ip: &str, username: &str, now: OffsetDateTime) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| now - *since <= Duration::minutes(WINDOW_MINUTES));
        }
        for k in Self::keys(ip, username) {
            let e = map.entry(k).or_insert((0, now));
            if now - e.1 > Duration::minutes(WINDOW_MINUTES) {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    pub fn succeeded(&self, ip: &str, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("user:{}", username.to_lowercase()));
            let _ = ip;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn blocks_after_max_failures_then_window_passes() {
        let l = LoginLimiter::default();
        let t0 = datetime!(2026-11-22 08:00 UTC);
        for _ in 0..MAX_FAILURES {
            assert!(l.allowed("1.2.3.4", "nurse", t0));
            l.failed("1.2.3.4", "nurse", t0);
        }
        assert!(!l.allowed("1.2.3.4", "nurse", t0));
        // The same username from another address is also held back (password guessing).
        assert!(!l.allowed("5.6.7.8", "nurse", t0));
        assert!(l.allowed("5.6.7.8", "doctor", t0));
        assert!(l.allowed(
            "1.2.3.4",
            "nurse",
            t0 + Duration::minutes(WINDOW_MINUTES + 1)
        ));
    }
}
