//! Pure rules of a consultation: kinds, urgencies, the case's state machine, the input checks
//! of a filing, de-identification for partners abroad and the response clock. No I/O; time is
//! an input.
use serde::{Deserialize, Serialize};
use tianshan_platform::{FieldError, Msg};
use time::{Date, OffsetDateTime};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }
    };
}

text_enum!(
    /// What is asked.
    Kind { Opinion = "opinion", Mdt = "mdt", Reading = "reading", Referral = "referral" }
);
text_enum!(
    /// How soon; each has a response-time target an administrator configures.
    Urgency { Emergency = "emergency", Urgent = "urgent", Routine = "routine" }
);
text_enum!(
    /// Where a case stands. A decline sends it back to `filed` (routing).
    Status {
        Filed = "filed",
        Accepted = "accepted",
        InfoRequested = "info_requested",
        Answered = "answered",
        Acknowledged = "acknowledged",
    }
);
text_enum!(
    /// Whom a case is addressed to.
    TargetKind { Expert = "expert", Department = "department", Partner = "partner", Pool = "pool" }
);
text_enum!(
    /// One step of the workflow.
    Step {
        Accept = "accept",
        Decline = "decline",
        RequestInfo = "request_info",
        ProvideInfo = "provide_info",
        Answer = "answer",
        Acknowledge = "acknowledge",
        Message = "message",
        Route = "route",
        Schedule = "schedule",
    }
);
text_enum!(
    /// Direction of a referral of care.
    Direction { Up = "up", Down = "down" }
);
text_enum!(
    /// Where a referral stands.
    ReferralStatus { Sent = "sent", Accepted = "accepted", Arrived = "arrived", Closed = "closed" }
);

impl Status {
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Acknowledged)
    }
    /// While waiting for the requester's information the response clock stands still.
    pub fn clock_runs(self) -> bool {
        matches!(self, Status::Filed | Status::Accepted)
    }
}

/// Who the viewer is to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sides {
    /// The requesting facility's side (or a coordinator above it).
    pub requester: bool,
    /// The target department, expert or partner.
    pub target: bool,
    /// A programme coordinator above the requesting or the receiving side.
    pub coordinator: bool,
    /// The expert who accepted it.
    pub assignee: bool,
}

/// The state after `step`, if the viewer may take it now.
pub fn next(status: Status, step: Step, s: Sides) -> Option<Status> {
    use Status::*;
    match (step, status) {
        (Step::Accept, Filed) if s.target => Some(Accepted),
        (Step::Decline, Filed | Accepted) if s.target => Some(Filed),
        (Step::RequestInfo, Accepted) if s.assignee => Some(InfoRequested),
        (Step::ProvideInfo, InfoRequested) if s.requester => Some(Accepted),
        (Step::Answer, Accepted) if s.assignee => Some(Answered),
        (Step::Acknowledge, Answered) if s.requester => Some(Acknowledged),
        (Step::Message, st) if st.is_open() && (s.requester || s.target) => Some(st),
        (Step::Route, Filed) if s.coordinator => Some(Filed),
        (Step::Schedule, Accepted | InfoRequested) if s.assignee => Some(status),
        _ => None,
    }
}

/// Steps the viewer may take now.
pub fn allowed(status: Status, s: Sides) -> Vec<Step> {
    Step::ALL
        .iter()
        .copied()
        .filter(|st| next(status, *st, s).is_some())
        .collect()
}

const TEXT_MAX: usize = 8000;

/// A filing as typed (form or JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseInput {
    pub patient_id: String,
    /// opinion, mdt, reading, referral.
    #[serde(default)]
    pub kind: String,
    /// emergency, urgent, routine.
    #[serde(default)]
    pub urgency: String,
    #[serde(default)]
    pub specialty: String,
    /// expert, department, partner, pool.
    #[serde(default)]
    pub target_kind: String,
    /// Organisation code of the department, rear hospital or partner (not for `pool`).
    #[serde(default)]
    pub target_code: String,
    /// Username of the named expert (with `target_kind = expert`).
    #[serde(default)]
    pub target_expert: String,
    #[serde(default)]
    pub complaint: String,
    #[serde(default)]
    pub history: String,
    #[serde(default)]
    pub examination: String,
    #[serde(default)]
    pub investigations: String,
    /// The question asked (required).
    #[serde(default)]
    pub question: String,
    /// zh, en or ug: the language of the case.
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub translated_summary: String,
    /// The patient's separate consent (PIPL) to send identified data abroad.
    #[serde(default, deserialize_with = "checkbox")]
    pub pipl_consent: bool,
}

/// A checkbox arrives as "on"/"true"/"1" from a form and as a boolean from JSON.
pub fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        B(bool),
        S(String),
    }
    Ok(match B::deserialize(d)? {
        B::B(b) => b,
        B::S(s) => matches!(s.as_str(), "on" | "true" | "1" | "yes"),
    })
}

/// A filing that passed its checks.
#[derive(Debug, Clone)]
pub struct CaseDraft {
    pub kind: Kind,
    pub urgency: Urgency,
    pub specialty: String,
    pub target_kind: TargetKind,
    pub target_code: String,
    pub target_expert: String,
    pub complaint: String,
    pub history: String,
    pub examination: String,
    pub investigations: String,
    pub question: String,
    pub language: String,
    pub translated_summary: String,
    pub pipl_consent: bool,
}

fn text(field: &str, v: &str, required: bool, errs: &mut Vec<FieldError>) -> String {
    let v = v.trim();
    if required && v.is_empty() {
        errs.push(FieldError::new(field, Msg::new("consult.err.required")));
    } else if v.chars().count() > TEXT_MAX {
        errs.push(FieldError::new(
            field,
            Msg::new("consult.err.too_long").arg("max", TEXT_MAX.to_string()),
        ));
    }
    v.to_string()
}

fn choice<T: Copy>(
    field: &str,
    v: &str,
    default: Option<T>,
    parse: fn(&str) -> Option<T>,
    errs: &mut Vec<FieldError>,
) -> Option<T> {
    let v = v.trim();
    if v.is_empty() {
        if default.is_none() {
            errs.push(FieldError::new(field, Msg::new("consult.err.required")));
        }
        return default;
    }
    let r = parse(v);
    if r.is_none() {
        errs.push(FieldError::new(field, Msg::new("consult.err.choice")));
    }
    r
}

impl CaseInput {
    pub fn validate(&self) -> Result<CaseDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        if self.patient_id.trim().is_empty() {
            errs.push(FieldError::new(
                "patient_id",
                Msg::new("consult.err.required"),
            ));
        }
        let kind = choice(
            "kind",
            &self.kind,
            Some(Kind::Opinion),
            Kind::parse,
            &mut errs,
        );
        let urgency = choice(
            "urgency",
            &self.urgency,
            Some(Urgency::Routine),
            Urgency::parse,
            &mut errs,
        );
        let target_kind = choice(
            "target_kind",
            &self.target_kind,
            Some(TargetKind::Pool),
            TargetKind::parse,
            &mut errs,
        );
        let target_code = self.target_code.trim().to_string();
        if target_kind.is_some_and(|t| t != TargetKind::Pool) && target_code.is_empty() {
            errs.push(FieldError::new(
                "target_code",
                Msg::new("consult.err.required"),
            ));
        }
        let target_expert = self.target_expert.trim().to_string();
        if target_kind == Some(TargetKind::Expert) && target_expert.is_empty() {
            errs.push(FieldError::new(
                "target_expert",
                Msg::new("consult.err.required"),
            ));
        }
        let specialty = text("specialty", &self.specialty, false, &mut errs);
        let complaint = text("complaint", &self.complaint, true, &mut errs);
        let history = text("history", &self.history, false, &mut errs);
        let examination = text("examination", &self.examination, false, &mut errs);
        let investigations = text("investigations", &self.investigations, false, &mut errs);
        let question = text("question", &self.question, true, &mut errs);
        let translated_summary = text(
            "translated_summary",
            &self.translated_summary,
            false,
            &mut errs,
        );
        let language = match self.language.trim() {
            "" => "zh".to_string(),
            l @ ("zh" | "en" | "ug") => l.to_string(),
            _ => {
                errs.push(FieldError::new("language", Msg::new("consult.err.choice")));
                String::new()
            }
        };
        match (kind, urgency, target_kind) {
            (Some(kind), Some(urgency), Some(target_kind)) if errs.is_empty() => Ok(CaseDraft {
                kind,
                urgency,
                specialty,
                target_kind,
                target_code: if target_kind == TargetKind::Pool {
                    String::new()
                } else {
                    target_code
                },
                target_expert,
                complaint,
                history,
                examination,
                investigations,
                question,
                language,
                translated_summary,
                pipl_consent: self.pipl_consent,
            }),
            _ => Err(errs),
        }
    }
}

/// Checked free text of a step (a decline's reason, a question, an answer): required, bounded.
pub fn step_text(field: &str, v: &str) -> Result<String, Vec<FieldError>> {
    let mut errs = Vec::new();
    let t = text(field, v, true, &mut errs);
    if errs.is_empty() {
        Ok(t)
    } else {
        Err(errs)
    }
}

/// Whole years between a birth date and a day: what a partner abroad sees instead of the date.
pub fn age_on(birth: &str, on: Date) -> Option<i32> {
    let b = Date::parse(
        birth,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let mut years = on.year() - b.year();
    if (on.month() as u8, on.day()) < (b.month() as u8, b.day()) {
        years -= 1;
    }
    Some(years.max(0))
}

/// A case goes to a partner abroad de-identified unless the patient's separate consent to
/// send identified data abroad (PIPL art. 39) is recorded on it.
pub fn deidentify(target_abroad: bool, pipl_consent: bool) -> bool {
    target_abroad && !pipl_consent
}

/// The response clock: the target, and half of it (when an unaccepted case is escalated).
pub fn clock(filed: OffsetDateTime, target_minutes: i64) -> (OffsetDateTime, OffsetDateTime) {
    let due = filed + time::Duration::minutes(target_minutes);
    let half = filed + time::Duration::seconds(target_minutes * 30);
    (half, due)
}

/// The UTC offset, in hours, of the organisations a case may reach: China (Beijing time) by
/// default, and the partners' countries by the country in their code (`INT-KG-...`).
pub fn utc_offset(org_code: &str) -> i64 {
    match org_code.get(..6) {
        Some("INT-KG") => 6,
        Some("INT-PK") | Some("INT-UZ") | Some("INT-TJ") => 5,
        Some("INT-KZ") => 5,
        _ => 8,
    }
}

/// A live session: its time as typed in Beijing time (`YYYY-MM-DDTHH:MM`), shown in both
/// parties' time zones, and a link to an external meeting tool (https only).
pub fn session_text(at: &str, link: &str, target_code: &str) -> Result<String, Vec<FieldError>> {
    let mut errs = Vec::new();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let when = time::PrimitiveDateTime::parse(at.trim(), &fmt);
    if when.is_err() {
        errs.push(FieldError::new("session_at", Msg::new("consult.err.date")));
    }
    let link = link.trim();
    if !link.starts_with("https://") || link.len() > 500 || link.contains(char::is_whitespace) {
        errs.push(FieldError::new("link", Msg::new("consult.err.link")));
    }
    let Ok(when) = when else { return Err(errs) };
    if !errs.is_empty() {
        return Err(errs);
    }
    let off = utc_offset(target_code);
    let show = |t: time::PrimitiveDateTime, h: i64| {
        let t = t + time::Duration::hours(h - 8);
        format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC+{h}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    let mut text = show(when, 8);
    if off != 8 {
        text.push_str(&format!(" / {}", show(when, off)));
    }
    Ok(format!("{text} · {link}"))
}

/// Largest attachment accepted.
pub const MAX_ATTACHMENT: usize = 4 * 1024 * 1024;

/// The type of an attachment, from its first bytes (what the sender claims is not trusted):
/// JPEG, PNG, PDF or DICOM (the `DICM` mark after the 128-byte preamble).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.get(128..132) == Some(b"DICM") {
        Some("application/dicom")
    } else {
        None
    }
}

/// Rating from 1 to 5, or none.
pub fn rating(v: Option<i64>) -> Result<Option<i64>, Vec<FieldError>> {
    match v {
        None => Ok(None),
        Some(r) if (1..=5).contains(&r) => Ok(Some(r)),
        Some(_) => Err(vec![FieldError::new(
            "rating",
            Msg::new("consult.err.rating"),
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Sides {
        Sides {
            target: true,
            ..Default::default()
        }
    }

    #[test]
    fn only_the_target_accepts_and_only_the_assignee_answers() {
        assert_eq!(
            next(Status::Filed, Step::Accept, target()),
            Some(Status::Accepted)
        );
        let req = Sides {
            requester: true,
            ..Default::default()
        };
        assert_eq!(next(Status::Filed, Step::Accept, req), None);
        assert_eq!(next(Status::Accepted, Step::Answer, target()), None);
        let a = Sides {
            target: true,
            assignee: true,
            ..Default::default()
        };
        assert_eq!(
            next(Status::Accepted, Step::Answer, a),
            Some(Status::Answered)
        );
        assert_eq!(
            next(Status::Accepted, Step::RequestInfo, a),
            Some(Status::InfoRequested)
        );
        assert_eq!(
            next(Status::InfoRequested, Step::ProvideInfo, req),
            Some(Status::Accepted)
        );
        assert_eq!(
            next(Status::Answered, Step::Acknowledge, req),
            Some(Status::Acknowledged)
        );
        assert_eq!(next(Status::Acknowledged, Step::Message, req), None);
        assert_eq!(
            next(Status::Accepted, Step::Decline, a),
            Some(Status::Filed)
        );
    }

    #[test]
    fn question_and_complaint_are_required() {
        let e = CaseInput {
            patient_id: "p".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["complaint", "question"]);
    }

    #[test]
    fn partner_abroad_gets_deidentified_without_consent() {
        assert!(deidentify(true, false));
        assert!(!deidentify(true, true));
        assert!(!deidentify(false, false));
    }

    #[test]
    fn attachments_are_typed_by_content() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        let mut dcm = vec![0u8; 128];
        dcm.extend_from_slice(b"DICM");
        assert_eq!(sniff(&dcm), Some("application/dicom"));
        assert_eq!(sniff(b"MZ\x90\x00 an exe named x.png"), None);
    }

    #[test]
    fn a_session_is_shown_in_both_time_zones() {
        let t = session_text("2026-12-01T10:00", "https://meet.example/abc", "INT-KG-NH").unwrap();
        assert_eq!(
            t,
            "2026-12-01 10:00 UTC+8 / 2026-12-01 08:00 UTC+6 · https://meet.example/abc"
        );
        assert!(
            session_text("tomorrow", "http://x", "INT-KG-NH")
                .unwrap_err()
                .len()
                == 2
        );
    }

    #[test]
    fn age_and_clock() {
        let on = time::macros::date!(2026 - 03 - 01);
        assert_eq!(age_on("1980-03-02", on), Some(45));
        assert_eq!(age_on("1980-03-01", on), Some(46));
        let t = time::macros::datetime!(2026-03-01 08:00 UTC);
        let (half, due) = clock(t, 4320);
        assert_eq!(half, time::macros::datetime!(2026-03-02 20:00 UTC));
        assert_eq!(due, time::macros::datetime!(2026-03-04 08:00 UTC));
    }
}
