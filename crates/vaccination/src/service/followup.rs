//! Follow-up: a child's residence status and history, and the overdue children of a place.
use super::*;

pub const RESIDENCE_STATUSES: [&str; 3] = ["resident", "moved_in", "moved_out"];

/// Record a change of a child's residence status (resident, moved in, moved out) from a date.
pub async fn set_residence(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
    status: &str,
    since: &str,
    note: &str,
) -> Result<store::ResidenceRow, AppError> {
    who.require(perms::ADMINISTER)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    let mut errs = Vec::new();
    if !RESIDENCE_STATUSES.contains(&status) {
        errs.push(FieldError::new("status", Msg::new("vacc.err.residence")));
    }
    let since_date = domain::parse_date(since.trim());
    match since_date {
        None => errs.push(FieldError::new("since", Msg::new("vacc.err.date"))),
        Some(d) if d > today(st) => errs.push(FieldError::new("since", Msg::new("vacc.err.date"))),
        _ => {}
    }
    if note.chars().count() > 500 {
        errs.push(FieldError::new("note", Msg::new("vacc.err.reason")));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let row = store::ResidenceRow {
        id: uuid::Uuid::new_v4().to_string(),
        patient_id: child.id,
        patient_path: child.org_path,
        status: status.to_string(),
        since: since_date.map(domain::date_text).unwrap_or_default(),
        note: note.trim().to_string(),
        recorded_by: who.username.clone(),
        recorded_at: st.clock.now_text(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_residence(tx, &row).await?;
            let detail = format!("{} since {}", row.status, row.since);
            tx.record(
                &who2,
                Event::new(RESIDENCE, "ChildResidence", &row.id)
                    .patient(&row.patient_id)
                    .detail(&detail),
            );
            Ok(row)
        })
    })
    .await
}

/// A child's residence history, newest first (the child is read through the facade first).
pub async fn residence(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
) -> Result<Vec<store::ResidenceRow>, AppError> {
    who.require(perms::READ)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    store::residence_of(&st.db, &child.id).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueChild {
    pub patient_id: String,
    pub name: String,
    pub birth_date: String,
    pub guardian: String,
    pub guardian_phone: String,
    /// resident, moved_in (children with no recorded status count as resident).
    pub residence: String,
    /// The overdue vaccine groups with the dose number and the past-due date.
    pub overdue: Vec<String>,
}

/// Children of a village (or any organisation of the caller's area) overdue for any dose on
/// today's date, with the guardian's phone; children who moved out are left out. The children
/// are those registered at the place and those with a dose or a residence entry there.
pub async fn overdue(
    st: &Platform,
    who: &Principal,
    org_code: &str,
) -> Result<Vec<OverdueChild>, AppError> {
    who.require(perms::READ)?;
    let org = facade::org(st, org_code.trim())
        .await?
        .filter(|o| who.scope.can_see(&o.path, &[]))
        .ok_or(AppError::NotFound)?;
    let hi = tianshan_platform::db::prefix_end(&org.path);
    // The children registered at the place (the registry), and those the module knows there
    // (a dose or a residence entry: moved in, or registered at a place below it).
    let mut ids: Vec<String> = facade::patients_at(st, who, &org.code, 2000)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    for id in store::children_in(&st.db, &org.path, &hi, 2000).await? {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let statuses = store::residence_now(&st.db, &ids).await?;
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| !statuses.iter().any(|(p, s)| p == id && s == "moved_out"))
        .collect();
    let products = products(st).await?;
    let as_of = today(st);
    let mut out = Vec::new();
    for id in ids {
        let p = match facade::patient(st, who, &id).await {
            Ok(p) => p,
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let Some(birth) = p.birth_date.as_deref().and_then(domain::parse_date) else {
            continue;
        };
        let doses = store::doses_of(&st.db, &p.id).await?;
        let (_, due) = evaluate(&products, birth, &p.sex, doses, as_of)?;
        let overdue: Vec<String> = due
            .iter()
            .filter(|d| d.status == "overdue")
            .map(|d| match d.dose_number {
                Some(n) => format!("{} #{}", d.vaccine_group, n),
                None => d.vaccine_group.clone(),
            })
            .collect();
        if overdue.is_empty() {
            continue;
        }
        let g = p.guardians.first();
        out.push(OverdueChild {
            residence: statuses
                .iter()
                .find(|(x, _)| *x == p.id)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| "resident".into()),
            name: p.full_name.clone(),
            birth_date: p.birth_date.clone().unwrap_or_default(),
            guardian: g.map(|g| g.name.clone()).unwrap_or_default(),
            guardian_phone: g
                .map(|g| g.phone.clone())
                .unwrap_or_else(|| p.phone.clone()),
            patient_id: p.id,
            overdue,
        });
    }
    out.sort_by(|a, b| a.birth_date.cmp(&b.birth_date).then(a.name.cmp(&b.name)));
    Ok(out)
}
