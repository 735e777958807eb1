//! Opened multi-dose vials: the first dose from a vial opens it, later doses use the open vial,
//! and an open vial past its lot's discard time (hours after opening, or the end of the clinic
//! day) is wasted with its doses left, a wastage movement and an audit entry. Runs inside the
//! dose's transaction, after the lot's count was taken (the lot's row lock on PostgreSQL, the
//! single writer on SQLite, orders two stations using one vial).
use futures_util::future::BoxFuture;
use tianshan_platform::clock::{parse_timestamp, timestamp_text};
use tianshan_platform::db::Tx;

use super::*;
use crate::domain::vial::OpenPolicy;
use crate::store::VialRow;

/// `expires_at` of a vial kept until empty.
const NEVER: &str = "9999-12-31T00:00:00Z";

/// Waste an open vial with its doses left (a wastage movement, never below zero) and a reason
/// code (`vial_expired_hours`, `vial_expired_session`).
async fn waste(tx: &mut Tx, who: &Principal, v: &VialRow, reason: &str) -> Result<(), AppError> {
    store::lock_lot(tx, &v.lot_id).await?;
    if !store::waste_vial(tx, &v.id, reason).await? {
        return Ok(());
    }
    let Some(lot) = store::lot_tx(tx, &v.lot_id).await? else {
        return Ok(());
    };
    let k = v.doses_left.min(lot.quantity);
    if k > 0 {
        store::adjust_quantity(tx, &lot.id, -k).await?;
        store::insert_move(tx, &lot.id, "wastage", -k, reason, None, &who.username).await?;
    }
    let detail = format!("opened vial {} wasted: {k} doses, {reason}", v.id);
    tx.record(
        who,
        Event::new(STOCK, "VaccineLot", &lot.id).detail(&detail),
    );
    Ok(())
}

fn reason_of(lot: &LotRow) -> &'static str {
    if lot.open_policy == "session" {
        "vial_expired_session"
    } else {
        "vial_expired_hours"
    }
}

/// Waste the lot's open vial when it is past its discard time.
pub(crate) async fn expire_lot_vial(
    tx: &mut Tx,
    who: &Principal,
    lot_id: &str,
) -> Result<(), AppError> {
    let now = tx.now().to_string();
    // The lot first, then its vial: the order every path takes (no deadlock between two
    // stations, or a station and the sweep).
    store::lock_lot(tx, lot_id).await?;
    if let Some(v) = store::open_vial_tx(tx, lot_id).await? {
        if v.expires_at <= now {
            let lot = store::lot_tx(tx, lot_id).await?.ok_or(AppError::NotFound)?;
            waste(tx, who, &v, reason_of(&lot)).await?;
        }
    }
    Ok(())
}

/// The dose just taken from the lot's count came from its open vial, or opened a new one.
pub(crate) async fn use_vial(tx: &mut Tx, lot_id: &str) -> Result<(), AppError> {
    let lot = store::lot_tx(tx, lot_id).await?.ok_or(AppError::NotFound)?;
    if lot.doses_per_vial <= 1 {
        return Ok(());
    }
    if let Some(v) = store::open_vial_tx(tx, lot_id).await? {
        if store::take_from_vial(tx, &v.id).await? {
            return Ok(());
        }
    }
    let now_text = tx.now().to_string();
    let now = parse_timestamp(&now_text).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let policy = OpenPolicy::parse(&lot.open_policy, lot.open_hours).unwrap_or(OpenPolicy::None);
    // The count was already taken: `quantity + 1` doses were on hand, the new vial among them.
    let left = lot.doses_per_vial.min(lot.quantity + 1) - 1;
    let v = VialRow {
        id: tianshan_platform::new_id(),
        lot_id: lot.id,
        opened_at: now_text.clone(),
        expires_at: policy
            .expires(now)
            .map(timestamp_text)
            .unwrap_or_else(|| NEVER.to_string()),
        doses_left: left,
        status: if left > 0 { "open" } else { "used" }.into(),
        closed_at: (left == 0).then_some(now_text),
        reason: String::new(),
    };
    store::insert_vial(tx, &v).await
}

/// Waste every open vial past its discard time at the clock's now (the background sweep: a
/// vial nobody takes another dose from is wasted all the same). Returns how many.
pub async fn expire_vials(st: &Platform, who: &Principal) -> Result<usize, AppError> {
    let now = st.clock.now_text();
    let due = store::expired_vials(&st.db, &now, 200).await?;
    let n = due.len();
    for v in due {
        let who2 = who.clone();
        st.write(move |tx| {
            Box::pin(async move {
                let lot = store::lot_tx(tx, &v.lot_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                waste(tx, &who2, &v, reason_of(&lot)).await
            })
        })
        .await?;
    }
    Ok(n)
}

/// The vials of a lot of the caller's area, newest first.
pub async fn vials(st: &Platform, who: &Principal, lot_id: &str) -> Result<Vec<VialRow>, AppError> {
    let l = lot(st, who, lot_id).await?;
    store::vials_of(&st.db, &l.id, 100).await
}

/// The open vials of the caller's area (for the stock page).
pub async fn open_vials(st: &Platform, who: &Principal) -> Result<Vec<VialRow>, AppError> {
    who.require(perms::STOCK)?;
    let (lo, hi) = who.scope.path_range();
    store::open_vials_in(&st.db, &lo, &hi).await
}

/// The sweep every five minutes.
pub fn vial_task(st: Platform) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let who = Principal::cli("vials");
        loop {
            if let Err(e) = expire_vials(&st, &who).await {
                tracing::warn!(error = %e, "opened-vial sweep failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(300)).await;
        }
    })
}
