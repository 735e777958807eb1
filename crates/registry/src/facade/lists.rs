//! Lists for a place: the patients registered at an organisation (a village doctor's list, a
//! cohort), its practitioners (the village doctors), and the demo's practitioner.
use super::*;

/// Patients registered at one organisation (exactly that code: a village's children), inside
/// the caller's scope, at most `limit`, by name. Audited as one search listing the ids shown.
/// Guardians are not included: read a patient with [`patient`] for them.
pub async fn patients_at(
    st: &Platform,
    who: &Principal,
    org_code: &str,
    limit: i64,
) -> Result<Vec<PatientSummary>, AppError> {
    let q = PatientQuery {
        org_code: Some(org_code.to_string()),
        limit: limit.clamp(1, 5000),
        ..Default::default()
    };
    let rows = service::search(st, who, &q).await?;
    Ok(rows
        .into_iter()
        .map(|r| PatientSummary::from_row(r, Vec::new()))
        .collect())
}

/// Which patients [`patient_page`] returns: those registered at `org_code` or below (when
/// given) or with one of `ids` (at most 1,000), born in `[born_from, born_to]` (`YYYY-MM-DD`,
/// when given), with an id after `after` (the last id of the previous page), at most `limit`
/// (1..=5000).
#[derive(Debug, Default, Clone)]
pub struct PatientPage {
    pub org_code: Option<String>,
    pub ids: Vec<String>,
    pub born_from: Option<String>,
    pub born_to: Option<String>,
    pub after: String,
    pub limit: i64,
}

/// A page of patients the caller may see, with their guardians (a village doctor's list with
/// the guardians' phones, a cohort for coverage), in two queries however long the page. Needs
/// `registry.patients.read`; an unknown organisation answers NotFound. Audited as one search
/// entry listing the ids returned, as [`patients_by_ids`].
pub async fn patient_page(
    st: &Platform,
    who: &Principal,
    page: &PatientPage,
) -> Result<Vec<PatientSummary>, AppError> {
    who.require(perms::PATIENTS_READ)?;
    let under = match &page.org_code {
        Some(code) => {
            let org = org(st, code).await?.ok_or(AppError::NotFound)?;
            let hi = tianshan_platform::db::prefix_end(&org.path);
            Some((org.path, hi))
        }
        None => None,
    };
    let q = crate::store::pages::PageQuery {
        under,
        ids: page.ids.clone(),
        born_from: page.born_from.clone(),
        born_to: page.born_to.clone(),
        after: page.after.clone(),
        limit: page.limit,
    };
    let rows = crate::store::pages::page_with_guardians(&st.db, &q, &who.scope).await?;
    let shown: Vec<&str> = rows.iter().map(|(r, _)| r.id.as_str()).collect();
    let detail = format!("{} by page: {}", rows.len(), shown.join(" "));
    st.audit(
        who,
        Event::new(Action::SEARCH, service::PATIENT, "").detail(&detail),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(r, g)| {
            let guardians = g
                .into_iter()
                .map(|g| Guardian {
                    patient_id: g.guardian_id,
                    name: g.name,
                    relationship: g.relationship,
                    phone: g.phone,
                })
                .collect();
            PatientSummary::from_row(r, guardians)
        })
        .collect())
}

/// The practitioners attached to any of these organisations (a village's doctors: those of the
/// village and of its clinic), at most `per_org` each, by name. The practitioner directory holds
/// no health data: no permission is needed, as for the organisation tree.
pub async fn practitioners_at(
    st: &Platform,
    codes: &[String],
    per_org: i64,
) -> Result<Vec<PractitionerInfo>, AppError> {
    let mut out = Vec::new();
    for code in codes {
        let q = crate::store::practitioners::PractitionerQuery {
            org_code: Some(code.clone()),
            limit: per_org.clamp(1, 200),
            ..Default::default()
        };
        out.extend(
            crate::store::practitioners::search(&st.db, &q)
                .await?
                .into_iter()
                .map(|p| PractitionerInfo {
                    id: p.id,
                    full_name: p.full_name,
                    name_ug: p.name_ug,
                    name_latin: p.name_latin,
                    org_code: p.org_code,
                    org_path: p.org_path,
                    title: p.title,
                    specialty: p.specialty,
                }),
        );
    }
    Ok(out)
}

/// Demo data adds a practitioner a module needs (a village's doctor), attached to `org_code`;
/// an existing id is left as it is. `names`: Chinese given name (whole name), Uyghur, Latin.
/// The write is audited as `who`'s.
pub async fn ensure_practitioner(
    st: &Platform,
    who: &Principal,
    id: &str,
    org_code: &str,
    names: [&str; 3],
    title: &str,
    specialty: &str,
) -> Result<PractitionerInfo, AppError> {
    if let Some(p) = practitioner(st, id).await? {
        return Ok(p);
    }
    let org = directory::org(st, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    let data = crate::store::practitioners::PractitionerData {
        org_code: org.code.clone(),
        given_name: names[0].to_string(),
        name_ug: names[1].to_string(),
        name_latin: names[2].to_string(),
        title: title.to_string(),
        specialty: specialty.to_string(),
        fhir_extra: "{}".into(),
        ..Default::default()
    };
    let (id2, who2, path) = (id.to_string(), who.clone(), org.path.clone());
    st.write(move |tx| {
        Box::pin(async move {
            crate::store::practitioners::insert(tx, &id2, &data, &path).await?;
            tx.record(&who2, Event::new(Action::CREATE, "Practitioner", &id2));
            Ok(())
        })
    })
    .await?;
    practitioner(st, id).await?.ok_or(AppError::NotFound)
}
