//! The one place that reads the wall clock. Everything else takes `now` as an input, so
//! overdue clocks, due dates and session expiry are testable with a fixed time.
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    #[allow(clippy::disallowed_methods)]
    pub fn system() -> Self {
        Clock(Arc::new(OffsetDateTime::now_utc))
    }

    pub fn fixed(at: OffsetDateTime) -> Self {
        Clock(Arc::new(move || at))
    }

    /// A clock that stands still until moved: tests of overdue requests, due dates and
    /// escalations move it instead of sleeping.
    pub fn manual(start: OffsetDateTime) -> (Self, ManualClock) {
        let at = Arc::new(std::sync::Mutex::new(start));
        let reader = at.clone();
        let clock = Clock(Arc::new(move || reader.lock().map(|t| *t).unwrap_or(start)));
        (clock, ManualClock(at))
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }

    /// Now as the sortable text form stored in the database (`2026-11-22T07:21:34Z`).
    pub fn now_text(&self) -> String {
        timestamp_text(self.now())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Timestamps are stored as RFC 3339 UTC text with whole seconds, identical on both backends
/// and sortable as text.
pub fn timestamp_text(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The hand of a [`Clock::manual`].
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }

    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}
