//! Sharing a patient's record with another organisation, and taking the share back.
use super::*;

/// Share a patient with another organisation (a rear hospital or a partner) so its clinicians
/// can read the record. Only the record's owners share it.
pub async fn share(
    st: &Platform,
    who: &Principal,
    id: &str,
    org_code: &str,
) -> Result<(), AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let row = visible_row(st, who, id).await?;
    if !who.scope.owns(&row.org_path) {
        return Err(AppError::NotFoundBecause(Msg::new(
            "patient.err.shared_read_only",
        )));
    }
    let org = crate::service::directory::org(st, org_code)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "org_code",
                Msg::new("patient.err.org_unknown").arg("code", org_code),
            )
        })?;
    let (who2, id2) = (who.clone(), id.to_string());
    st.write(move |tx| {
        Box::pin(async move {
            patients::share(tx, &id2, &org.code, &org.path, &who2.username).await?;
            let detail = format!("with {}", org.code);
            tx.record(
                &who2,
                Event::new(SHARE, PATIENT, &id2)
                    .patient(&id2)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await
}

/// Stop sharing a patient with an organisation.
pub async fn unshare(
    st: &Platform,
    who: &Principal,
    id: &str,
    org_code: &str,
) -> Result<(), AppError> {
    who.require(perms::PATIENTS_WRITE)?;
    let row = visible_row(st, who, id).await?;
    if !who.scope.owns(&row.org_path) {
        return Err(AppError::NotFoundBecause(Msg::new(
            "patient.err.shared_read_only",
        )));
    }
    let (who2, id2, code) = (who.clone(), id.to_string(), org_code.to_string());
    st.write(move |tx| {
        Box::pin(async move {
            if patients::unshare(tx, &id2, &code).await? == 0 {
                return Err(AppError::NotFound);
            }
            let detail = format!("with {code}");
            tx.record(
                &who2,
                Event::new(UNSHARE, PATIENT, &id2)
                    .patient(&id2)
                    .detail(&detail),
            );
            Ok(())
        })
    })
    .await
}

/// Who a patient is shared with (the owner's page). Reads of the record itself are audited by
/// [`read`]; this lists organisations only.
pub async fn shares(st: &Platform, who: &Principal, id: &str) -> Result<Vec<ShareRow>, AppError> {
    visible_row(st, who, id).await?;
    patients::shares(&st.db, id).await
}
