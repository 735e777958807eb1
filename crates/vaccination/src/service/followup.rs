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
        id: tianshan_platform::new_id(),
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

/// Kinds of organisation a child can be born at.
const BIRTH_KINDS: [&str; 4] = ["hospital", "clinic", "rear_hospital", "partner"];

/// Record where a child was born: an organisation of the tree (by code: a hospital or clinic,
/// anywhere in the network) or, with no code, a place in words (born at home, elsewhere).
pub async fn set_birth_facility(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
    code: &str,
    name: &str,
) -> Result<store::BirthFacility, AppError> {
    who.require(perms::ADMINISTER)?;
    let child = facade::require_patient(st, who, patient_id.trim()).await?;
    let (code, name) = (code.trim(), name.trim());
    let facility = if !code.is_empty() {
        let org = facade::org(st, code)
            .await?
            .filter(|o| BIRTH_KINDS.contains(&o.kind.as_str()))
            .ok_or_else(|| invalid("code", "vacc.err.birth_facility"))?;
        store::BirthFacility {
            code: org.code.clone(),
            name: org.name_zh.clone(),
            updated_by: who.username.clone(),
            updated_at: st.clock.now_text(),
        }
    } else if !name.is_empty() && name.chars().count() <= 200 {
        store::BirthFacility {
            code: String::new(),
            name: name.to_string(),
            updated_by: who.username.clone(),
            updated_at: st.clock.now_text(),
        }
    } else {
        return Err(invalid("name", "vacc.err.birth_facility"));
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::upsert_birth_facility(tx, &child.id, &child.org_path, &facility).await?;
            let detail = format!("birth facility {} {}", facility.code, facility.name);
            tx.record(
                &who2,
                Event::new(CHILD, "Child", &child.id)
                    .patient(&child.id)
                    .detail(&detail),
            );
            Ok(facility)
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
    /// The organisation the child is registered at (the village doctor's list it belongs to).
    pub org_code: String,
    #[serde(skip)]
    pub org_path: String,
    pub guardian: String,
    pub guardian_phone: String,
    /// resident, moved_in (children with no recorded status count as resident).
    pub residence: String,
    /// The overdue vaccine groups with the dose number and the past-due date.
    pub overdue: Vec<String>,
}

/// At most this many children are assessed for one overdue list (a township has a few
/// thousand children under seven).
const OVERDUE_MAX: usize = 50_000;

/// The children of a place: those registered at it or below (the registry, a page of 5,000 at
/// a time, with their guardians), and those the module knows there (a dose or a residence
/// entry: moved in, or registered somewhere else).
async fn children_of_place(
    st: &Platform,
    who: &Principal,
    org: &facade::OrgInfo,
) -> Result<Vec<facade::PatientSummary>, AppError> {
    let mut out: Vec<facade::PatientSummary> = Vec::new();
    let mut page = facade::PatientPage {
        org_code: Some(org.code.clone()),
        limit: 5000,
        ..Default::default()
    };
    loop {
        let rows = facade::patient_page(st, who, &page).await?;
        let full = rows.len() as i64 == page.limit;
        page.after = rows.last().map(|p| p.id.clone()).unwrap_or_default();
        out.extend(rows);
        if !full || out.len() >= OVERDUE_MAX {
            break;
        }
    }
    let hi = tianshan_platform::db::prefix_end(&org.path);
    let known: std::collections::HashSet<&str> = out.iter().map(|p| p.id.as_str()).collect();
    let others: Vec<String> = store::children_in(&st.db, &org.path, &hi, 5000)
        .await?
        .into_iter()
        .filter(|id| !known.contains(id.as_str()))
        .collect();
    for chunk in others.chunks(1000) {
        let page = facade::PatientPage {
            ids: chunk.to_vec(),
            limit: 1000,
            ..Default::default()
        };
        out.extend(facade::patient_page(st, who, &page).await?);
    }
    Ok(out)
}

/// Children of a village (or any organisation of the caller's area: a township, with every
/// village below it) overdue for any dose on today's date, with the guardian's phone; children
/// who moved out are left out. Reads the children a page at a time through the registry's
/// facade and their doses and residence in batches.
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
    let children = children_of_place(st, who, &org).await?;
    let ids: Vec<String> = children.iter().map(|p| p.id.clone()).collect();
    let statuses: std::collections::HashMap<String, String> = store::residence_now(&st.db, &ids)
        .await?
        .into_iter()
        .collect();
    let mut doses: std::collections::HashMap<String, Vec<store::DoseBrief>> =
        std::collections::HashMap::new();
    for d in store::dose_briefs_of_many(&st.db, &ids).await? {
        doses.entry(d.patient_id.clone()).or_default().push(d);
    }
    let products = products(st).await?;
    let as_of = today(st);
    let mut items = Vec::with_capacity(children.len());
    for p in children {
        let residence = statuses
            .get(&p.id)
            .cloned()
            .unwrap_or_else(|| "resident".into());
        if residence == "moved_out" {
            continue;
        }
        let given = doses.remove(&p.id).unwrap_or_default();
        items.push((p, residence, given));
    }
    // The engine's work, on two threads (the rest of the list is a few queries).
    let half = items.len().div_ceil(2);
    let second = items.split_off(half);
    let mut out = Vec::new();
    let runs = [items, second].map(|part| {
        let products = products.clone();
        tokio::task::spawn_blocking(move || overdue_of(&products, part, as_of))
    });
    for run in runs {
        out.extend(
            run.await
                .map_err(|e| AppError::Internal(format!("overdue evaluation: {e}")))??,
        );
    }
    out.sort_by(|a, b| {
        a.org_code
            .cmp(&b.org_code)
            .then(a.birth_date.cmp(&b.birth_date))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

/// The overdue children among `items` (child, residence status, doses) on `as_of`.
fn overdue_of(
    products: &[ProductRow],
    items: Vec<(facade::PatientSummary, String, Vec<store::DoseBrief>)>,
    as_of: Date,
) -> Result<Vec<OverdueChild>, AppError> {
    let mut out = Vec::new();
    for (p, residence, given) in items {
        let Some(birth) = p.birth_date.as_deref().and_then(domain::parse_date) else {
            continue;
        };
        let due = due_list(products, birth, &p.sex, &given, as_of)?;
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
            residence,
            name: p.full_name.clone(),
            birth_date: p.birth_date.clone().unwrap_or_default(),
            org_code: p.org_code.clone(),
            org_path: p.org_path.clone(),
            guardian: g.map(|g| g.name.clone()).unwrap_or_default(),
            guardian_phone: g
                .map(|g| g.phone.clone())
                .filter(|ph| !ph.is_empty())
                .unwrap_or_else(|| p.phone.clone()),
            patient_id: p.id,
            overdue,
        });
    }
    Ok(out)
}

/// A village doctor: a practitioner of the registry attached to the village or to its clinic.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VillageDoctor {
    pub id: String,
    pub name: String,
    pub title: String,
    /// The organisation the practitioner is attached to (the village or its clinic).
    pub org_code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverduePlace {
    /// A village (the list of its village doctor) or another organisation children are
    /// registered at.
    pub org_code: String,
    pub name: String,
    /// The practitioners who trace this list: those of the organisation itself and, for a
    /// village, of the clinics directly below it. Empty when the registry names none.
    pub doctors: Vec<VillageDoctor>,
    /// The caller's own place (their scope is this organisation or one of its clinics, or they
    /// bear the name of one of its doctors): listed first.
    pub mine: bool,
    pub children: Vec<OverdueChild>,
}

/// At most this many doctors are named per organisation.
const DOCTORS_PER_ORG: i64 = 20;

/// The overdue list of a place grouped per village, each group naming its village doctor(s);
/// the caller's own village comes first, the others in code order.
pub async fn overdue_by_village(
    st: &Platform,
    who: &Principal,
    org_code: &str,
    locale: tianshan_platform::i18n::Locale,
) -> Result<Vec<OverduePlace>, AppError> {
    let rows = overdue(st, who, org_code).await?;
    let mut codes: Vec<String> = rows.iter().map(|c| c.org_code.clone()).collect();
    codes.dedup();
    let orgs = facade::orgs(st, &codes).await?;
    let mut out: Vec<OverduePlace> = Vec::new();
    for c in rows {
        match out.last_mut() {
            Some(p) if p.org_code == c.org_code => p.children.push(c),
            _ => out.push(OverduePlace {
                name: orgs
                    .iter()
                    .find(|o| o.code == c.org_code)
                    .map(|o| o.name(locale).to_string())
                    .unwrap_or_else(|| c.org_code.clone()),
                org_code: c.org_code.clone(),
                doctors: Vec::new(),
                mine: false,
                children: vec![c],
            }),
        }
    }
    for place in &mut out {
        // The village itself and its clinics (村卫生室) hold its doctors.
        let mut doctor_orgs = vec![place.org_code.clone()];
        if orgs
            .iter()
            .any(|o| o.code == place.org_code && o.kind == "village")
        {
            doctor_orgs.extend(
                facade::children(st, &place.org_code)
                    .await?
                    .into_iter()
                    .filter(|o| o.kind == "clinic")
                    .map(|o| o.code),
            );
        }
        let doctors = facade::practitioners_at(st, &doctor_orgs, DOCTORS_PER_ORG).await?;
        // The caller's own village: their scope is it (or its clinic), or — a user account is
        // not linked to a practitioner — they bear the name of one of its doctors.
        place.mine = who
            .scope_code
            .as_ref()
            .is_some_and(|s| doctor_orgs.contains(s))
            || doctors.iter().any(|d| d.full_name == who.display_name);
        place.doctors = doctors
            .into_iter()
            .map(|p| VillageDoctor {
                name: match locale {
                    tianshan_platform::i18n::Locale::Ug if !p.name_ug.is_empty() => p.name_ug,
                    tianshan_platform::i18n::Locale::En if !p.name_latin.is_empty() => p.name_latin,
                    _ => p.full_name,
                },
                id: p.id,
                title: p.title,
                org_code: p.org_code,
            })
            .collect();
    }
    // Stable: the caller's own village first, the rest keep their order.
    out.sort_by_key(|p| !p.mine);
    Ok(out)
}
