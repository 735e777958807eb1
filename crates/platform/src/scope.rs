//! Roles and scopes: who may do what, and on which part of the organisation tree.
//! Pure rules, no I/O; the stores turn a [`Scope`] into SQL with [`Scope::path_range`].
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Administrator,
    Coordinator,
    Clinician,
    Nurse,
    Official,
    Partner,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Administrator,
    Role::Coordinator,
    Role::Clinician,
    Role::Nurse,
    Role::Official,
    Role::Partner,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Coordinator => "coordinator",
            Role::Clinician => "clinician",
            Role::Nurse => "nurse",
            Role::Official => "official",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == s)
    }

    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            ReadPatients | ReadRegistry => true,
            WritePatients => matches!(self, Administrator | Clinician | Nurse),
            ManageRegistry => matches!(self, Administrator | Coordinator),
            ReadAudit | ManageUsers => self == Administrator,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadPatients,
    WritePatients,
    ReadRegistry,
    ManageRegistry,
    ReadAudit,
    ManageUsers,
}

/// The part of the organisation tree a user works in. `path` is the materialised path of the
/// scope node (`/650000/653100/`); `None` means the whole network (administrators only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub role: Role,
    pub path: Option<String>,
}

impl Scope {
    /// Does this scope cover an organisation with the given path?
    pub fn covers(&self, org_path: &str) -> bool {
        match &self.path {
            None => true,
            Some(p) => org_path.starts_with(p.as_str()),
        }
    }

    /// May this user see a patient registered at `patient_org_path`, shared with `shared_with`?
    /// Partners (international hospitals) see only what is shared with them; everyone else sees
    /// their subtree plus what is shared with an organisation in it (rear-hospital experts).
    pub fn can_see_patient(&self, patient_org_path: &str, shared_with: &[String]) -> bool {
        let shared = shared_with.iter().any(|s| self.covers(s));
        match self.role {
            Role::Partner => self.path.is_some() && shared,
            _ => self.covers(patient_org_path) || shared,
        }
    }

    /// `[low, high)` text range of org paths inside the scope, for index-friendly SQL filters.
    pub fn path_range(&self) -> (String, String) {
        match &self.path {
            None => (String::new(), "\u{10FFFF}".to_string()),
            Some(p) => (p.clone(), crate::db::prefix_end(p)),
        }
    }

    /// Partners match nothing by subtree, only by share.
    pub fn subtree_applies(&self) -> bool {
        self.role != Role::Partner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(role: Role, path: Option<&str>) -> Scope {
        Scope {
            role,
            path: path.map(str::to_string),
        }
    }

    const TOWNSHIP: &str = "/650000/653100/653121/653121100/";
    const VILLAGE: &str = "/650000/653100/653121/653121100/653121100201/";
    const OTHER_TOWNSHIP: &str = "/650000/653100/653121/653121101/";
    const HAMI: &str = "/650000/650500/";

    #[test]
    fn township_nurse_sees_only_her_township() {
        let nurse = scope(Role::Nurse, Some(TOWNSHIP));
        assert!(nurse.can_see_patient(VILLAGE, &[]));
        assert!(nurse.can_see_patient(TOWNSHIP, &[]));
        assert!(!nurse.can_see_patient(OTHER_TOWNSHIP, &[]));
        assert!(!nurse.can_see_patient(HAMI, &[]));
    }

    #[test]
    fn prefecture_official_sees_prefecture_not_the_other() {
        let official = scope(Role::Official, Some("/650000/653100/"));
        assert!(official.can_see_patient(VILLAGE, &[]));
        assert!(!official.can_see_patient(HAMI, &[]));
        assert!(!Role::Official.can(Permission::WritePatients));
    }

    #[test]
    fn path_prefix_does_not_leak_to_sibling_with_longer_code() {
        // "/6531/" must not cover "/65310/": paths end with '/' so prefixes align on nodes.
        let s = scope(Role::Clinician, Some("/650000/6531/"));
        assert!(!s.covers("/650000/65310/"));
    }

    #[test]
    fn rear_hospital_expert_sees_only_shared() {
        let expert = scope(Role::Clinician, Some("/RH-BJ/"));
        assert!(!expert.can_see_patient(VILLAGE, &[]));
        assert!(expert.can_see_patient(VILLAGE, &["/RH-BJ/".to_string()]));
        assert!(!expert.can_see_patient(VILLAGE, &["/RH-GD/".to_string()]));
    }

    #[test]
    fn partner_sees_only_shared_even_inside_own_subtree() {
        let partner = scope(Role::Partner, Some("/INT-PK/"));
        assert!(!partner.can_see_patient("/INT-PK/", &[]));
        assert!(partner.can_see_patient(VILLAGE, &["/INT-PK/".to_string()]));
        let unscoped_partner = scope(Role::Partner, None);
        assert!(!unscoped_partner.can_see_patient(VILLAGE, &[]));
    }

    #[test]
    fn administrator_without_scope_sees_all() {
        let admin = scope(Role::Administrator, None);
        assert!(admin.can_see_patient(HAMI, &[]));
        assert!(admin.can_see_patient("/RH-BJ/", &[]));
    }

    #[test]
    fn permissions_by_role() {
        assert!(Role::Nurse.can(Permission::WritePatients));
        assert!(Role::Clinician.can(Permission::WritePatients));
        assert!(!Role::Partner.can(Permission::WritePatients));
        assert!(!Role::Coordinator.can(Permission::WritePatients));
        assert!(Role::Administrator.can(Permission::ReadAudit));
        assert!(!Role::Official.can(Permission::ReadAudit));
        for r in ALL_ROLES {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
