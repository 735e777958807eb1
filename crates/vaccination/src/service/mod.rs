//! The vaccination module's operations, shared by its pages, JSON API, FHIR Immunization and
//! the MQTT subscriber: each checks permission and scope, runs the domain rules and writes
//! through the platform's write path with its audit entry in the same transaction.
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tianshan_immunization::{forecast, Cvx, DoseAdministered, Gender, PatientHistory, Schedule};
use tianshan_platform::audit::{Action, ActionDef, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::scope::{Permission, PermissionDef};
use tianshan_platform::{AppError, FieldError, Msg, Platform};
use tianshan_registry::facade;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::{self, LotRefusal, LotStatus, Screening, VisitStatus};
use crate::store::{self, AefiRow, DeviceRow, DoseRow, LotRow, ProductRow, VisitRow};

mod stock;
pub use stock::*;
mod doses;
pub use doses::*;
mod record;
pub use record::*;
mod clinic;
pub use clinic::*;
mod aefi;
pub use aefi::*;
mod cold_chain;
pub use cold_chain::*;
mod coverage;
pub use coverage::*;
mod followup;
pub use followup::*;
mod reminders;
pub use reminders::*;
mod vials;
pub use vials::*;

pub mod perms {
    use super::Permission;
    /// See children's vaccination records, due lists, the clinic board, coverage.
    pub const READ: Permission = Permission("vaccination.read");
    /// Run the clinic day and record doses and adverse events.
    pub const ADMINISTER: Permission = Permission("vaccination.administer");
    /// Receive and adjust vaccine stock, manage cold-chain devices, release quarantined lots.
    pub const STOCK: Permission = Permission("vaccination.stock");
}

pub const DOSE: Action = Action("vaccination.dose");
pub const VISIT: Action = Action("vaccination.visit");
pub const STOCK: Action = Action("vaccination.stock");
pub const AEFI: Action = Action("vaccination.aefi");
pub const COLD_CHAIN: Action = Action("vaccination.cold_chain");
pub const RESIDENCE: Action = Action("vaccination.residence");
pub const REMINDER: Action = Action("vaccination.reminder");
pub const CHILD: Action = Action("vaccination.child");

pub fn permissions() -> Vec<PermissionDef> {
    use tianshan_platform::scope::builtin::*;
    vec![
        PermissionDef {
            permission: perms::READ,
            label: "perm.vaccination.read",
            default_roles: &[COORDINATOR, CLINICIAN, NURSE, OFFICIAL],
        },
        PermissionDef {
            permission: perms::ADMINISTER,
            label: "perm.vaccination.administer",
            default_roles: &[CLINICIAN, NURSE],
        },
        PermissionDef {
            permission: perms::STOCK,
            label: "perm.vaccination.stock",
            default_roles: &[COORDINATOR, NURSE],
        },
    ]
}

pub fn actions() -> Vec<ActionDef> {
    vec![
        ActionDef {
            action: DOSE,
            label: "audit.act.vaccination_dose",
        },
        ActionDef {
            action: VISIT,
            label: "audit.act.vaccination_visit",
        },
        ActionDef {
            action: STOCK,
            label: "audit.act.vaccination_stock",
        },
        ActionDef {
            action: AEFI,
            label: "audit.act.vaccination_aefi",
        },
        ActionDef {
            action: COLD_CHAIN,
            label: "audit.act.vaccination_cold_chain",
        },
        ActionDef {
            action: RESIDENCE,
            label: "audit.act.vaccination_residence",
        },
        ActionDef {
            action: REMINDER,
            label: "audit.act.vaccination_reminder",
        },
        ActionDef {
            action: CHILD,
            label: "audit.act.vaccination_child",
        },
    ]
}

pub(crate) fn invalid(field: &str, key: &'static str) -> AppError {
    AppError::Invalid(vec![FieldError::new(field, Msg::new(key))])
}

pub(crate) fn today(st: &Platform) -> Date {
    st.clock.now().date()
}

/// The China programme schedule, loaded once from the forecast engine's embedded files.
pub fn schedule() -> Result<&'static Schedule, AppError> {
    static CHINA: OnceLock<Result<Schedule, String>> = OnceLock::new();
    CHINA
        .get_or_init(|| Schedule::china().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::Internal(e.clone()))
}

/// Products, cached per server (the table changes only by migration).
#[derive(Default)]
struct ProductCache(std::sync::Mutex<Option<Arc<Vec<ProductRow>>>>);

pub async fn products(st: &Platform) -> Result<Arc<Vec<ProductRow>>, AppError> {
    let cache = st.cache::<ProductCache>();
    if let Ok(g) = cache.0.lock() {
        if let Some(p) = g.as_ref() {
            return Ok(p.clone());
        }
    }
    let rows = Arc::new(store::products(&st.db).await?);
    if let Ok(mut g) = cache.0.lock() {
        *g = Some(rows.clone());
    }
    Ok(rows)
}

pub(crate) async fn product(st: &Platform, code: &str) -> Result<ProductRow, AppError> {
    products(st)
        .await?
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(code.trim()))
        .cloned()
        .ok_or_else(|| invalid("product", "vacc.err.product"))
}

/// An organisation the caller owns (a clinic they work in); others answer 404.
pub(crate) async fn owned_org(
    st: &Platform,
    who: &Principal,
    code: &str,
) -> Result<facade::OrgInfo, AppError> {
    let org = facade::org(st, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.scope.owns(&org.path) {
        return Err(AppError::NotFound);
    }
    Ok(org)
}
