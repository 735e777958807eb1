//! The directory: the organisation tree and practitioners. Holds no health data, so reading it
//! needs only the directory permission and is not audited; every change is.
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Tx;
use tianshan_platform::{AppError, Msg, Platform};

use super::perms;
use crate::store::orgs::{self, NewOrg, Org, OrgQuery};
use crate::store::practitioners::{self, PractitionerData, PractitionerQuery, PractitionerRow};

/// The organisation tree changes rarely and is read on every registration and many pages:
/// nodes are cached per server, emptied whenever the auth generation moves (every change to
/// the tree moves it, in whichever process made the change).
#[derive(Default)]
pub struct OrgCache {
    generation: std::sync::atomic::AtomicI64,
    nodes: std::sync::RwLock<std::collections::HashMap<String, Org>>,
}

/// A node of the tree by code (cached).
pub async fn org(st: &Platform, code: &str) -> Result<Option<Org>, AppError> {
    use std::sync::atomic::Ordering;
    let cache = st.cache::<OrgCache>();
    let g = st.auth.generation();
    if cache.generation.swap(g, Ordering::Relaxed) != g {
        if let Ok(mut m) = cache.nodes.write() {
            m.clear();
        }
    } else if let Some(o) = cache.nodes.read().ok().and_then(|m| m.get(code).cloned()) {
        return Ok(Some(o));
    }
    let found = orgs::get(&st.db, code).await?;
    if let (Some(o), Ok(mut m)) = (&found, cache.nodes.write()) {
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(code.to_string(), o.clone());
    }
    Ok(found)
}

/// Forget cached nodes after this process changed the tree (other processes follow the
/// generation the change moved).
fn forget_orgs(st: &Platform) {
    if let Ok(mut m) = st.cache::<OrgCache>().nodes.write() {
        m.clear();
    }
}

pub async fn read_org(st: &Platform, who: &Principal, code: &str) -> Result<Org, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    org(st, code).await?.ok_or(AppError::NotFound)
}

pub async fn children(
    st: &Platform,
    who: &Principal,
    parent: Option<&str>,
) -> Result<Vec<Org>, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    orgs::children(&st.db, parent).await
}

pub async fn search_orgs(
    st: &Platform,
    who: &Principal,
    q: &OrgQuery,
) -> Result<Vec<Org>, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    orgs::search(&st.db, q).await
}

/// Many organisations by code (lists name their organisations; the tree is not personal data).
pub async fn orgs_by_codes(st: &Platform, codes: &[String]) -> Result<Vec<Org>, AppError> {
    orgs::by_codes(&st.db, codes).await
}

/// Organisations of given kinds anywhere in the network (rear hospitals and partners: targets
/// of shares), at most `limit`.
pub async fn orgs_of_kind(
    st: &Platform,
    kinds: &[&'static str],
    limit: i64,
) -> Result<Vec<Org>, AppError> {
    let q = OrgQuery {
        kinds: kinds.to_vec(),
        limit,
        ..Default::default()
    };
    orgs::search(&st.db, &q).await
}

/// The nodes inside the user's scope, in tree order (forms offer these).
pub async fn scope_orgs(st: &Platform, who: &Principal, limit: i64) -> Result<Vec<Org>, AppError> {
    orgs::subtree(&st.db, &who.scope, limit).await
}

/// A new node that passed every check.
pub struct OrgWrite {
    org: NewOrg,
    path: String,
}

impl OrgWrite {
    pub async fn apply(self, tx: &mut Tx, who: &Principal) -> Result<Org, AppError> {
        let org = orgs::insert(tx, &self.org, &self.path).await?;
        tianshan_platform::auth::bump_generation(tx).await?;
        tx.record(who, Event::new(Action::CREATE, "Organization", &org.code));
        Ok(org)
    }
}

/// Check a node to add under a parent inside the user's scope (whole-network users may add
/// roots).
pub async fn check_create_org(
    st: &Platform,
    who: &Principal,
    o: NewOrg,
) -> Result<OrgWrite, AppError> {
    who.require(perms::DIRECTORY_MANAGE)?;
    let path = orgs::path_for(&st.db, &o.code, o.parent_code.as_deref()).await?;
    let allowed = match (&o.parent_code, &who.scope.path) {
        (_, None) => true,
        (Some(_), Some(_)) => who.scope.owns(&path),
        (None, Some(_)) => false,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    forget_orgs(st);
    if orgs::get(&st.db, &o.code).await?.is_some() {
        return Err(AppError::Conflict(
            Msg::new("org.err.exists").arg("code", o.code.clone()),
        ));
    }
    Ok(OrgWrite { org: o, path })
}

/// A rename that passed every check.
pub struct OrgRename {
    org: Org,
}

impl OrgRename {
    pub async fn apply(self, tx: &mut Tx, who: &Principal) -> Result<Org, AppError> {
        let o = &self.org;
        orgs::rename(tx, &o.code, &o.kind, &o.name_zh, &o.name_ug, &o.name_en).await?;
        tianshan_platform::auth::bump_generation(tx).await?;
        tx.record(who, Event::new(Action::UPDATE, "Organization", &o.code));
        Ok(self.org)
    }
}

pub async fn check_rename_org(
    st: &Platform,
    who: &Principal,
    code: &str,
    kind: &str,
    names: [&str; 3],
) -> Result<OrgRename, AppError> {
    who.require(perms::DIRECTORY_MANAGE)?;
    forget_orgs(st);
    let mut org = orgs::get(&st.db, code).await?.ok_or(AppError::NotFound)?;
    if !who.scope.owns(&org.path) {
        return Err(AppError::NotFound);
    }
    org.kind = kind.to_string();
    org.name_zh = names[0].to_string();
    org.name_ug = names[1].to_string();
    org.name_en = names[2].to_string();
    Ok(OrgRename { org })
}

pub async fn practitioner(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<PractitionerRow, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    practitioners::get(&st.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn search_practitioners(
    st: &Platform,
    who: &Principal,
    q: &PractitionerQuery,
) -> Result<Vec<PractitionerRow>, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    practitioners::search(&st.db, q).await
}

/// The practitioner's organisation, which must be inside the user's scope.
async fn practitioner_org(st: &Platform, who: &Principal, code: &str) -> Result<String, AppError> {
    let org = org(st, code).await?.ok_or_else(|| {
        AppError::invalid(
            "org_code",
            Msg::new("practitioner.err.org_unknown").arg("code", code),
        )
    })?;
    if !who.scope.owns(&org.path) {
        return Err(AppError::Forbidden);
    }
    Ok(org.path)
}

/// A practitioner to add or change, checked.
pub struct PractitionerWrite {
    id: String,
    create: bool,
    data: PractitionerData,
    path: String,
}

impl PractitionerWrite {
    pub async fn apply(self, tx: &mut Tx, who: &Principal) -> Result<PractitionerRow, AppError> {
        if self.create {
            practitioners::insert(tx, &self.id, &self.data, &self.path).await?;
        } else {
            practitioners::update(tx, &self.id, &self.data, &self.path).await?;
        }
        let action = if self.create {
            Action::CREATE
        } else {
            Action::UPDATE
        };
        tx.record(who, Event::new(action, "Practitioner", &self.id));
        let now = tx.now().to_string();
        Ok(practitioners::row_from_data(
            &self.id, &self.data, &self.path, &now,
        ))
    }
}

/// Check a practitioner to add (`create`) or change.
pub async fn check_practitioner(
    st: &Platform,
    who: &Principal,
    id: String,
    create: bool,
    data: PractitionerData,
) -> Result<PractitionerWrite, AppError> {
    who.require(perms::DIRECTORY_MANAGE)?;
    let path = practitioner_org(st, who, &data.org_code).await?;
    if !create {
        let old = practitioners::get(&st.db, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !who.scope.owns(&old.org_path) {
            return Err(AppError::NotFound);
        }
    }
    Ok(PractitionerWrite {
        id,
        create,
        data,
        path,
    })
}

/// How many practitioners match (for `_summary=count`).
pub async fn count_practitioners(
    st: &Platform,
    who: &Principal,
    q: &PractitionerQuery,
) -> Result<i64, AppError> {
    who.require(perms::DIRECTORY_READ)?;
    let mut all = q.clone();
    all.limit = 10_000;
    all.offset = 0;
    Ok(practitioners::search(&st.db, &all).await?.len() as i64)
}
