//! The missions module's operations, shared by its pages and JSON API: each checks permission
//! and scope, runs the domain rules and writes through the platform's write path with its audit
//! entry in the same transaction.
pub mod missions;
pub mod needs;
pub mod talent;

use tianshan_platform::audit::{Action, ActionDef};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::{Permission, PermissionDef};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade::{self, OrgInfo};
use time::Date;

pub mod perms {
    use super::Permission;
    /// See needs, offers, missions, mentorships and requests in one's scope.
    pub const READ: Permission = Permission("missions.read");
    /// Post needs (recipient departments), offers (rear hospitals) and department requests.
    pub const POST: Permission = Permission("missions.post");
    /// Match needs and offers and plan missions, fellowships and mentorships.
    pub const PLAN: Permission = Permission("missions.plan");
    /// Log what a mission did, day by day.
    pub const RECORD: Permission = Permission("missions.record");
    /// Mentor apprentices and sign off their competencies.
    pub const MENTOR: Permission = Permission("talent.mentor");
}

pub fn permissions() -> Vec<PermissionDef> {
    use tianshan_platform::scope::builtin::*;
    vec![
        PermissionDef {
            permission: perms::READ,
            label: "perm.missions.read",
            default_roles: &[COORDINATOR, CLINICIAN, OFFICIAL],
        },
        PermissionDef {
            permission: perms::POST,
            label: "perm.missions.post",
            default_roles: &[COORDINATOR, CLINICIAN],
        },
        PermissionDef {
            permission: perms::PLAN,
            label: "perm.missions.plan",
            default_roles: &[COORDINATOR],
        },
        PermissionDef {
            permission: perms::RECORD,
            label: "perm.missions.record",
            default_roles: &[COORDINATOR, CLINICIAN],
        },
        PermissionDef {
            permission: perms::MENTOR,
            label: "perm.talent.mentor",
            default_roles: &[COORDINATOR, CLINICIAN],
        },
    ]
}

/// A need and an offer became a mission, a fellowship or a mentorship.
pub const PLAN: Action = Action("missions.plan");
/// A mentor signed off a competency.
pub const SIGN_OFF: Action = Action("talent.sign_off");
/// A home department answered (or closed) a department request.
pub const ANSWER: Action = Action("missions.liaison.answer");

pub fn actions() -> Vec<ActionDef> {
    vec![
        ActionDef {
            action: PLAN,
            label: "audit.act.missions_plan",
        },
        ActionDef {
            action: SIGN_OFF,
            label: "audit.act.talent_sign_off",
        },
        ActionDef {
            action: ANSWER,
            label: "audit.act.missions_liaison_answer",
        },
    ]
}

/// Most rows a list shows.
pub const LIST_LIMIT: i64 = 500;

pub fn today(st: &Platform) -> Date {
    st.clock.now().date()
}

pub fn new_id() -> String {
    tianshan_platform::new_id()
}

/// An organisation named in an input, refused field by field when unknown.
pub async fn known_org(st: &Platform, field: &str, code: &str) -> Result<OrgInfo, AppError> {
    facade::org(st, code).await?.ok_or_else(|| {
        AppError::invalid(
            field,
            Msg::new("missions.err.org_unknown").arg("code", code.to_string()),
        )
    })
}

/// An organisation the caller acts for: in their own subtree.
pub async fn own_org(
    st: &Platform,
    who: &Principal,
    field: &str,
    code: &str,
) -> Result<OrgInfo, AppError> {
    let o = known_org(st, field, code).await?;
    if !who.scope.owns(&o.path) {
        return Err(AppError::Invalid(vec![FieldError::new(
            field,
            Msg::new("missions.err.org_outside"),
        )]));
    }
    Ok(o)
}

/// Does the caller's scope cover any of these paths?
pub fn covers_any(who: &Principal, paths: &[&str]) -> bool {
    who.scope.subtree_applies() && paths.iter().any(|p| who.scope.covers(p))
}
