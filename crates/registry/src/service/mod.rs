//! The registry's operations, shared by its pages, JSON API and FHIR resources and by the
//! public facade other modules use: each checks permission and scope, runs the domain rules,
//! writes through the platform's write path with its audit entry in the same transaction.
//! One path per operation, so no face can drift from another on who may see what.
pub mod directory;
pub mod patients;
pub mod requests;

pub use patients::*;

use tianshan_platform::scope::{Permission, PermissionDef};

/// The registry's permissions.
pub mod perms {
    use super::Permission;
    pub const PATIENTS_READ: Permission = Permission("registry.patients.read");
    pub const PATIENTS_WRITE: Permission = Permission("registry.patients.write");
    /// Approve or refuse requests to transfer or share a patient registered in one's scope.
    pub const PATIENTS_TRANSFER: Permission = Permission("registry.patients.transfer");
    pub const DIRECTORY_READ: Permission = Permission("registry.read");
    pub const DIRECTORY_MANAGE: Permission = Permission("registry.manage");
}

pub fn permissions() -> Vec<PermissionDef> {
    use tianshan_platform::scope::builtin::*;
    vec![
        PermissionDef {
            permission: perms::PATIENTS_READ,
            label: "perm.registry.patients.read",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL, PARTNER],
        },
        PermissionDef {
            permission: perms::PATIENTS_WRITE,
            label: "perm.registry.patients.write",
            default_roles: &[CLINICIAN, NURSE],
        },
        PermissionDef {
            permission: perms::PATIENTS_TRANSFER,
            label: "perm.registry.patients.transfer",
            default_roles: &[COORDINATOR],
        },
        PermissionDef {
            permission: perms::DIRECTORY_READ,
            label: "perm.registry.read",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL, PARTNER],
        },
        PermissionDef {
            permission: perms::DIRECTORY_MANAGE,
            label: "perm.registry.manage",
            default_roles: &[COORDINATOR],
        },
    ]
}

/// The registry's own audit actions (beside the platform's read, create, update, ...).
pub fn actions() -> Vec<tianshan_platform::audit::ActionDef> {
    use tianshan_platform::audit::ActionDef;
    vec![
        ActionDef {
            action: patients::MOVE,
            label: "audit.act.patient_move",
        },
        ActionDef {
            action: patients::SHARE,
            label: "audit.act.patient_share",
        },
        ActionDef {
            action: patients::UNSHARE,
            label: "audit.act.patient_unshare",
        },
        ActionDef {
            action: requests::REQUEST,
            label: "audit.act.patient_request",
        },
        ActionDef {
            action: requests::REQUEST_APPROVE,
            label: "audit.act.patient_request_approve",
        },
        ActionDef {
            action: requests::REQUEST_REFUSE,
            label: "audit.act.patient_request_refuse",
        },
        ActionDef {
            action: requests::REQUEST_WITHDRAW,
            label: "audit.act.patient_request_withdraw",
        },
    ]
}
