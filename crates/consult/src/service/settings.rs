//! Response-time targets, department pairings and the FHIR list of visible cases.
use super::*;

/// Response-time targets, in minutes, by urgency (and `referral`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TargetSetting {
    pub urgency: String,
    pub minutes: i64,
}

pub async fn targets(st: &Platform) -> Result<Vec<TargetSetting>, AppError> {
    Ok(store::targets(&st.db)
        .await?
        .into_iter()
        .map(|(urgency, minutes)| TargetSetting { urgency, minutes })
        .collect())
}

/// An administrator or coordinator sets a response-time target (1 minute to 90 days).
pub async fn set_target(
    st: &Platform,
    who: &Principal,
    t: &TargetSetting,
) -> Result<Vec<TargetSetting>, AppError> {
    who.require(perms::COORDINATE)?;
    let known = domain::Urgency::parse(&t.urgency).is_some() || t.urgency == "referral";
    if !known {
        return Err(AppError::invalid("urgency", Msg::new("consult.err.choice")));
    }
    if !(1..=129_600).contains(&t.minutes) {
        return Err(AppError::invalid(
            "minutes",
            Msg::new("consult.err.minutes"),
        ));
    }
    let (who2, t2) = (who.clone(), t.clone());
    st.write(move |tx| {
        Box::pin(async move {
            store::set_target(tx, &t2.urgency, t2.minutes).await?;
            let detail = format!("target {} = {} min", t2.urgency, t2.minutes);
            tx.record(
                &who2,
                Event::new(CONFIGURE, "ConsultTarget", &t2.urgency).detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    targets(st).await
}

/// Pair a department (or facility) of the network with a rear-hospital department: pool
/// cases of that specialty from under it go there first.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PairingInput {
    pub local_code: String,
    pub remote_code: String,
    #[serde(default)]
    pub specialty: String,
}

pub async fn pairings(st: &Platform, who: &Principal) -> Result<Vec<store::Pairing>, AppError> {
    who.require(perms::COORDINATE)?;
    store::pairings(&st.db).await
}

pub async fn add_pairing(
    st: &Platform,
    who: &Principal,
    p: &PairingInput,
) -> Result<Vec<store::Pairing>, AppError> {
    who.require(perms::COORDINATE)?;
    let unknown = |field: &str, code: &str| {
        AppError::invalid(
            field,
            Msg::new("consult.err.target_unknown").arg("code", code.to_string()),
        )
    };
    let local = facade::org(st, p.local_code.trim())
        .await?
        .ok_or_else(|| unknown("local_code", &p.local_code))?;
    let remote = facade::org(st, p.remote_code.trim())
        .await?
        .ok_or_else(|| unknown("remote_code", &p.remote_code))?;
    let row = store::Pairing {
        local_code: local.code,
        local_path: local.path,
        remote_code: remote.code,
        remote_path: remote.path,
        specialty: p.specialty.trim().to_string(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::add_pairing(tx, &row).await?;
            let detail = format!("pair {} with {}", row.local_code, row.remote_code);
            tx.record(
                &who2,
                Event::new(CONFIGURE, "ConsultPairing", &row.local_code).detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    store::pairings(&st.db).await
}

/// Every case the caller may see (the requesting and the target side of the scope), newest
/// first, for FHIR searches; at most a thousand.
pub async fn visible_cases(st: &Platform, who: &Principal) -> Result<Vec<CaseView>, AppError> {
    if !who.can(perms::REQUEST) && !who.can(perms::ANSWER) && !who.can(perms::COORDINATE) {
        return Err(AppError::Forbidden);
    }
    let mut out = Vec::new();
    for r in store::cases_in(&st.db, &who.scope, 1000).await? {
        if let Some(v) = view(st, who, r)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Import department pairings from a CSV or XLSX file (columns `local_code`, `remote_code`,
/// optional `specialty`): all or nothing, errors named by row.
pub async fn import_pairings(
    st: &Platform,
    who: &Principal,
    bytes: &[u8],
    filename: &str,
) -> Result<tianshan_platform::tabular::ImportReport, AppError> {
    use std::collections::HashMap;
    use tianshan_platform::tabular;
    who.require(perms::COORDINATE)?;
    let table = tabular::read(bytes, filename)?;
    table.require(&["local_code", "remote_code"])?;
    let codes: Vec<String> = table
        .rows
        .iter()
        .flat_map(|r| [table.get(r, "local_code"), table.get(r, "remote_code")])
        .map(str::to_string)
        .collect();
    let orgs: HashMap<String, String> = facade::orgs(st, &codes)
        .await?
        .into_iter()
        .map(|o| (o.code, o.path))
        .collect();
    let (good, mut report) = tabular::check_rows(&table, false, |t, row| {
        let mut errs = Vec::new();
        let mut side = |field: &str| {
            let code = t.get(row, field).to_string();
            match orgs.get(&code) {
                Some(path) => Some((code, path.clone())),
                None => {
                    errs.push(tianshan_platform::FieldError::new(
                        field,
                        Msg::new("consult.err.target_unknown").arg("code", code),
                    ));
                    None
                }
            }
        };
        let (local, remote) = (side("local_code"), side("remote_code"));
        match (local, remote) {
            (Some((lc, lp)), Some((rc, rp))) => Ok(store::Pairing {
                local_code: lc,
                local_path: lp,
                remote_code: rc,
                remote_path: rp,
                specialty: t.get(row, "specialty").to_string(),
            }),
            _ => Err(errs),
        }
    });
    if report.refused {
        return Ok(report);
    }
    let who2 = who.clone();
    let rows: Vec<store::Pairing> = good.into_iter().map(|(_, p)| p).collect();
    let n = rows.len();
    st.write(move |tx| {
        Box::pin(async move {
            for p in &rows {
                store::add_pairing(tx, p).await?;
            }
            let detail = format!("{} pairings imported", rows.len());
            tx.record(
                &who2,
                Event::new(Action::IMPORT, "ConsultPairing", "").detail(&detail),
            );
            Ok(())
        })
    })
    .await?;
    report.imported = n;
    Ok(report)
}
