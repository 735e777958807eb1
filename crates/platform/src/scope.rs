//! Permissions and scopes: who may do what, and on which part of the organisation tree.
//! Pure rules, no I/O. Permissions are declared by the modules that check them (a
//! [`PermissionDef`] in the module's declaration); roles are data (tables `roles`,
//! `role_permissions`, `user_roles`) that bundle permissions. The stores turn a [`Scope`] into
//! SQL with [`Scope::path_range`].
use std::collections::BTreeSet;

/// A right to do one kind of thing, named `module.thing` (`vaccination.administer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission(pub &'static str);

impl Permission {
    pub const fn key(self) -> &'static str {
        self.0
    }
}

/// The codes of the roles every installation starts with. They are ordinary rows of `roles`:
/// an administrator can change their permissions like any other role's.
pub mod builtin {
    pub const ADMINISTRATOR: &str = "administrator";
    pub const COORDINATOR: &str = "coordinator";
    pub const CLINICIAN: &str = "clinician";
    pub const NURSE: &str = "nurse";
    pub const OFFICIAL: &str = "official";
    pub const PARTNER: &str = "partner";
    pub const ALL: [&str; 6] = [
        ADMINISTRATOR,
        COORDINATOR,
        CLINICIAN,
        NURSE,
        OFFICIAL,
        PARTNER,
    ];
}

/// A permission as a module declares it: its key, the catalogue key of its description, and
/// the built-in roles that receive it when it first appears in a database.
#[derive(Debug, Clone, Copy)]
pub struct PermissionDef {
    pub permission: Permission,
    /// Catalogue key of a one-line description (`perm.vaccination.administer`).
    pub label: &'static str,
    /// Built-in roles granted this permission when it is first installed. The administrator
    /// role receives every permission.
    pub default_roles: &'static [&'static str],
}

/// The platform's own permissions.
pub mod perms {
    use super::Permission;
    /// See every record of the scope's subtree, not only what is shared into it. Partners
    /// (international hospitals) do not have it: they see only what is shared with them.
    pub const SUBTREE: Permission = Permission("scope.subtree");
    pub const AUDIT_READ: Permission = Permission("audit.read");
    /// Users, roles, tokens and sessions.
    pub const USERS_MANAGE: Permission = Permission("users.manage");
}

pub fn platform_permissions() -> Vec<PermissionDef> {
    use builtin::*;
    vec![
        PermissionDef {
            permission: perms::SUBTREE,
            label: "perm.scope.subtree",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL],
        },
        PermissionDef {
            permission: perms::AUDIT_READ,
            label: "perm.audit.read",
            default_roles: &[],
        },
        PermissionDef {
            permission: perms::USERS_MANAGE,
            label: "perm.users.manage",
            default_roles: &[],
        },
    ]
}

/// The permissions a user holds: the union of their roles' permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermSet(BTreeSet<String>);

impl PermSet {
    pub fn new<I: IntoIterator<Item = String>>(keys: I) -> Self {
        PermSet(keys.into_iter().collect())
    }
    pub fn has(&self, p: Permission) -> bool {
        self.0.contains(p.0)
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The part of the organisation tree a user works in. `path` is the materialised path of the
/// scope node (`/650000/653100/`); `None` means the whole network. `subtree` is false for
/// users who see only what is shared into their scope (partners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub path: Option<String>,
    pub subtree: bool,
}

impl Scope {
    /// Does this scope cover an organisation with the given path?
    pub fn covers(&self, org_path: &str) -> bool {
        match &self.path {
            None => true,
            Some(p) => org_path.starts_with(p.as_str()),
        }
    }

    /// May this user see a record registered at `org_path`, shared with `shared_with`?
    /// Partners see only what is shared with them; everyone else sees their subtree plus what
    /// is shared with an organisation in it (rear-hospital experts).
    pub fn can_see(&self, org_path: &str, shared_with: &[String]) -> bool {
        let shared = self.path.is_some() && shared_with.iter().any(|s| self.covers(s));
        if self.subtree {
            self.covers(org_path) || shared
        } else {
            shared
        }
    }

    /// May this user change records registered at `org_path`? Only in their own subtree:
    /// sharing grants reading (and what the share says), never ownership.
    pub fn owns(&self, org_path: &str) -> bool {
        self.subtree && self.covers(org_path)
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
        self.subtree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(subtree: bool, path: Option<&str>) -> Scope {
        Scope {
            subtree,
            path: path.map(str::to_string),
        }
    }

    const TOWNSHIP: &str = "/650000/653100/653121/653121100/";
    const VILLAGE: &str = "/650000/653100/653121/653121100/653121100201/";
    const OTHER_TOWNSHIP: &str = "/650000/653100/653121/653121101/";
    const HAMI: &str = "/650000/650500/";

    #[test]
    fn township_nurse_sees_only_her_township() {
        let nurse = scope(true, Some(TOWNSHIP));
        assert!(nurse.can_see(VILLAGE, &[]));
        assert!(nurse.can_see(TOWNSHIP, &[]));
        assert!(!nurse.can_see(OTHER_TOWNSHIP, &[]));
        assert!(!nurse.can_see(HAMI, &[]));
    }

    #[test]
    fn path_prefix_does_not_leak_to_sibling_with_longer_code() {
        // "/6531/" must not cover "/65310/": paths end with '/' so prefixes align on nodes.
        let s = scope(true, Some("/650000/6531/"));
        assert!(!s.covers("/650000/65310/"));
    }

    #[test]
    fn rear_hospital_expert_sees_only_shared_and_owns_nothing_shared() {
        let expert = scope(true, Some("/RH-BJ/"));
        assert!(!expert.can_see(VILLAGE, &[]));
        assert!(expert.can_see(VILLAGE, &["/RH-BJ/".to_string()]));
        assert!(!expert.can_see(VILLAGE, &["/RH-GD/".to_string()]));
        assert!(!expert.owns(VILLAGE));
    }

    #[test]
    fn partner_sees_only_shared_even_inside_own_subtree() {
        let partner = scope(false, Some("/INT-PK/"));
        assert!(!partner.can_see("/INT-PK/", &[]));
        assert!(partner.can_see(VILLAGE, &["/INT-PK/".to_string()]));
        assert!(!partner.owns("/INT-PK/"));
        let unscoped_partner = scope(false, None);
        assert!(!unscoped_partner.can_see(VILLAGE, &[]));
        assert!(!unscoped_partner.can_see(VILLAGE, &["/INT-PK/".to_string()]));
    }

    #[test]
    fn whole_network_sees_all() {
        let admin = scope(true, None);
        assert!(admin.can_see(HAMI, &[]));
        assert!(admin.can_see("/RH-BJ/", &[]));
        assert!(admin.owns(HAMI));
    }

    #[test]
    fn permission_sets() {
        let s = PermSet::new(["a.b".to_string(), "c.d".to_string()]);
        assert!(s.has(Permission("a.b")));
        assert!(!s.has(Permission("a.c")));
    }
}
