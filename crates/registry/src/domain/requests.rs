//! Requests to transfer or share a patient registered elsewhere (流动人口, moved-in children):
//! a user who cannot see a record asks, by its resident ID number, the organisation that holds
//! it; that organisation's coordinator approves or refuses. Pure rules: kinds, states and the
//! checks of what is typed.
use serde::{Deserialize, Serialize};
use tianshan_platform::{FieldError, Msg};

use super::resident_id::ResidentId;

/// What the requesting organisation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Move the record to the requesting organisation: it becomes theirs, and the old owner no
    /// longer sees it (the family moved for good).
    Transfer,
    /// Let the requesting organisation read the record; the owner keeps it (a stay, a visit).
    Share,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Transfer => "transfer",
            RequestKind::Share => "share",
        }
    }
    pub fn parse(s: &str) -> Option<RequestKind> {
        match s.trim() {
            "transfer" => Some(RequestKind::Transfer),
            "share" => Some(RequestKind::Share),
            _ => None,
        }
    }
}

/// Where a request stands. Only a pending request can be decided or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Refused,
    Withdrawn,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Refused => "refused",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<RequestStatus> {
        match s {
            "pending" => Some(RequestStatus::Pending),
            "approved" => Some(RequestStatus::Approved),
            "refused" => Some(RequestStatus::Refused),
            "withdrawn" => Some(RequestStatus::Withdrawn),
            _ => None,
        }
    }
}

/// Longest reason or decision note, in characters.
pub const MAX_TEXT: usize = 500;

/// A request as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    /// The resident ID number of the person whose record is asked for.
    #[serde(default)]
    pub id_number: String,
    /// `transfer` or `share`.
    #[serde(default)]
    pub kind: String,
    /// The requesting organisation (in the caller's own area): where a transferred record is
    /// registered, or which organisation a shared record is shared with. Default: the caller's
    /// scope node.
    #[serde(default)]
    pub org_code: String,
    /// Why: the family moved here, the child is vaccinated here now, ... (required).
    #[serde(default)]
    pub reason: String,
}

/// A request that passed its checks (the record and organisation are looked up after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDraft {
    pub id_number: ResidentId,
    pub kind: RequestKind,
    /// Empty: the caller's own scope node.
    pub org_code: String,
    pub reason: String,
}

fn text_check(field: &str, text: &str, required: bool, errs: &mut Vec<FieldError>) -> String {
    let t = text.trim().to_string();
    if required && t.is_empty() {
        errs.push(FieldError::new(
            field,
            Msg::new("request.err.text_required"),
        ));
    } else if t.chars().count() > MAX_TEXT {
        errs.push(FieldError::new(
            field,
            Msg::new("request.err.text_long").arg("max", MAX_TEXT.to_string()),
        ));
    }
    t
}

impl RequestInput {
    /// Check every field and return all problems at once, each tied to its field.
    pub fn validate(&self) -> Result<RequestDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let id_number = if self.id_number.trim().is_empty() {
            errs.push(FieldError::new(
                "id_number",
                Msg::new("request.err.id_required"),
            ));
            None
        } else {
            match ResidentId::parse(&self.id_number) {
                Ok(id) => Some(id),
                Err(e) => {
                    errs.push(FieldError::new("id_number", e.msg()));
                    None
                }
            }
        };
        let kind = RequestKind::parse(&self.kind);
        if kind.is_none() {
            errs.push(FieldError::new("kind", Msg::new("request.err.kind")));
        }
        let reason = text_check("reason", &self.reason, true, &mut errs);
        match (id_number, kind) {
            (Some(id_number), Some(kind)) if errs.is_empty() => Ok(RequestDraft {
                id_number,
                kind,
                org_code: self.org_code.trim().to_string(),
                reason,
            }),
            _ => Err(errs),
        }
    }
}

/// Check a decision note: required to refuse (the requester deserves a reason), optional to
/// approve.
pub fn decision_note(note: &str, refusing: bool) -> Result<String, Vec<FieldError>> {
    let mut errs = Vec::new();
    let t = text_check("note", note, refusing, &mut errs);
    if errs.is_empty() {
        Ok(t)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RequestInput {
        RequestInput {
            id_number: "11010519491231002x".into(),
            kind: "transfer".into(),
            org_code: " 653121100201 ".into(),
            reason: " The family moved to Tokkuzak. ".into(),
        }
    }

    #[test]
    fn valid_request_passes_trimmed() {
        let d = input().validate().unwrap();
        assert_eq!(d.id_number.as_str(), "11010519491231002X");
        assert_eq!(d.kind, RequestKind::Transfer);
        assert_eq!(d.org_code, "653121100201");
        assert_eq!(d.reason, "The family moved to Tokkuzak.");
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let i = RequestInput {
            id_number: "110105194912310021".into(),
            kind: "steal".into(),
            reason: "  ".into(),
            ..Default::default()
        };
        let errs = i.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id_number", "kind", "reason"]);
        assert_eq!(errs[0].msg.key, "patient.err.id_check");
        assert_eq!(errs[2].msg.key, "request.err.text_required");
        let empty = RequestInput::default().validate().unwrap_err();
        assert_eq!(empty[0].msg.key, "request.err.id_required");
    }

    #[test]
    fn reason_and_note_have_a_limit() {
        let mut i = input();
        i.reason = "字".repeat(MAX_TEXT);
        assert!(i.validate().is_ok());
        i.reason = "字".repeat(MAX_TEXT + 1);
        assert_eq!(
            i.validate().unwrap_err()[0].msg.key,
            "request.err.text_long"
        );
        assert_eq!(decision_note("  ", false).unwrap(), "");
        assert_eq!(
            decision_note("  ", true).unwrap_err()[0].msg.key,
            "request.err.text_required"
        );
        assert!(decision_note(&"x".repeat(MAX_TEXT + 1), false).is_err());
    }

    #[test]
    fn kinds_and_states_round_trip() {
        for k in [RequestKind::Transfer, RequestKind::Share] {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Refused,
            RequestStatus::Withdrawn,
        ] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestKind::parse("move"), None);
    }
}
