//! Opened multi-dose vials (pure): a lot's policy and when an opened vial must be discarded.
use time::{Duration, OffsetDateTime, Time};

/// Most hours an opened vial may be kept (WHO's multi-dose vial policy: 28 days).
pub const MAX_OPEN_HOURS: i64 = 28 * 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenPolicy {
    /// Kept until empty.
    None,
    /// Discarded this many hours after opening.
    Hours(i64),
    /// Discarded at the end of the clinic day it was opened.
    Session,
}

impl OpenPolicy {
    /// From the stored or entered text and hours; `Err` names the catalogue key of the refusal.
    pub fn parse(policy: &str, hours: i64) -> Result<OpenPolicy, &'static str> {
        match policy.trim() {
            "" | "none" => Ok(OpenPolicy::None),
            "session" => Ok(OpenPolicy::Session),
            "hours" if (1..=MAX_OPEN_HOURS).contains(&hours) => Ok(OpenPolicy::Hours(hours)),
            "hours" => Err("vacc.err.open_hours"),
            _ => Err("vacc.err.open_policy"),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            OpenPolicy::None => "none",
            OpenPolicy::Hours(_) => "hours",
            OpenPolicy::Session => "session",
        }
    }

    /// When a vial opened at `opened` must be discarded (`None`: kept until empty).
    pub fn expires(self, opened: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            OpenPolicy::None => None,
            OpenPolicy::Hours(h) => Some(opened + Duration::hours(h)),
            OpenPolicy::Session => Some(
                (opened.date() + Duration::days(1))
                    .with_time(Time::MIDNIGHT)
                    .assume_offset(opened.offset()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn policies() {
        assert_eq!(OpenPolicy::parse("hours", 6), Ok(OpenPolicy::Hours(6)));
        assert_eq!(OpenPolicy::parse("hours", 0), Err("vacc.err.open_hours"));
        assert_eq!(OpenPolicy::parse("weekly", 0), Err("vacc.err.open_policy"));
        let t = datetime!(2026-03-10 09:30 UTC);
        assert_eq!(
            OpenPolicy::Hours(6).expires(t),
            Some(datetime!(2026-03-10 15:30 UTC))
        );
        assert_eq!(
            OpenPolicy::Session.expires(t),
            Some(datetime!(2026-03-11 00:00 UTC))
        );
        assert_eq!(OpenPolicy::None.expires(t), None);
    }
}
