//! The clinic day, station by station: check-in, screening, registration, vaccination,
//! observation and leave, and the board of today's visits.
use super::*;

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CheckIn {
    pub clinic_code: String,
    pub patient_id: String,
}

pub(crate) fn visit_topic(clinic: &str) -> String {
    format!("vaccination.queue:{clinic}")
}

pub(crate) async fn publish(st: &Platform, v: &VisitRow) {
    let payload =
        serde_json::json!({"visit": v.id, "queue_no": v.queue_no, "status": v.status}).to_string();
    st.events
        .publish(&visit_topic(&v.clinic_code), &payload)
        .await;
}

/// Check a child in at a clinic: a queue number for today.
pub async fn check_in(
    st: &Platform,
    who: &Principal,
    input: &CheckIn,
) -> Result<VisitRow, AppError> {
    who.require(perms::ADMINISTER)?;
    let clinic = owned_org(st, who, &input.clinic_code).await?;
    let child = facade::require_patient(st, who, input.patient_id.trim()).await?;
    let day = domain::date_text(today(st));
    let now = st.clock.now_text();
    let who2 = who.clone();
    let v = st
        .write(move |tx| {
            Box::pin(async move {
                let queue_no = store::next_queue_no(tx, &clinic.code, &day).await?;
                let v = VisitRow {
                    id: tianshan_platform::new_id(),
                    clinic_code: clinic.code,
                    clinic_path: clinic.path,
                    patient_id: child.id,
                    patient_path: child.org_path,
                    day,
                    queue_no,
                    status: VisitStatus::CheckedIn.as_str().into(),
                    screening: String::new(),
                    deferral_reason: String::new(),
                    return_date: None,
                    planned: String::new(),
                    consent_by: String::new(),
                    consent_at: None,
                    obs_start: None,
                    obs_end: None,
                    early_leave: 0,
                    next_date: None,
                    checked_in_at: now.clone(),
                    updated_at: now,
                };
                store::insert_visit(tx, &v).await?;
                let detail = format!("check-in #{}", v.queue_no);
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail(&detail),
                );
                Ok(v)
            })
        })
        .await?;
    publish(st, &v).await;
    Ok(v)
}

/// A visit of a clinic the caller owns.
pub async fn visit(st: &Platform, who: &Principal, id: &str) -> Result<VisitRow, AppError> {
    who.require(perms::READ)?;
    match store::visit(&st.db, id).await? {
        Some(v) if who.scope.covers(&v.clinic_path) => Ok(v),
        _ => Err(AppError::NotFound),
    }
}

/// Move a visit from `from` to its new state (one transaction, conditional on `from`).
pub(crate) async fn advance<F>(
    st: &Platform,
    who: &Principal,
    id: &str,
    from: VisitStatus,
    change: F,
    detail: String,
) -> Result<VisitRow, AppError>
where
    F: FnOnce(&mut VisitRow) + Send + 'static,
{
    who.require(perms::ADMINISTER)?;
    let mut v = visit(st, who, id).await?;
    if !who.scope.owns(&v.clinic_path) {
        return Err(AppError::NotFound);
    }
    if v.status != from.as_str() {
        return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
    }
    change(&mut v);
    v.updated_at = st.clock.now_text();
    let who2 = who.clone();
    let v = st
        .write(move |tx| {
            Box::pin(async move {
                if !store::update_visit(tx, &v, from.as_str()).await? {
                    return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
                }
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail(&detail),
                );
                Ok(v)
            })
        })
        .await?;
    publish(st, &v).await;
    Ok(v)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ScreeningInput {
    #[serde(flatten)]
    pub answers: Screening,
    /// When deferred: the day to come back (`YYYY-MM-DD`); required with a contraindication.
    #[serde(default)]
    pub return_date: String,
}

pub async fn screen(
    st: &Platform,
    who: &Principal,
    id: &str,
    s: ScreeningInput,
) -> Result<VisitRow, AppError> {
    let defers = s.answers.defers();
    let return_date = if defers {
        match domain::parse_date(&s.return_date) {
            Some(d) if d > today(st) => Some(domain::date_text(d)),
            _ => return Err(invalid("return_date", "vacc.err.return_date")),
        }
    } else {
        None
    };
    let reasons = s.answers.reasons().join(",");
    let answers =
        serde_json::to_string(&s.answers).map_err(|e| AppError::Internal(e.to_string()))?;
    let detail = if defers {
        format!("deferred: {reasons}")
    } else {
        "screened".to_string()
    };
    advance(
        st,
        who,
        id,
        VisitStatus::CheckedIn,
        move |v| {
            v.screening = answers;
            if defers {
                v.status = VisitStatus::Deferred.as_str().into();
                v.deferral_reason = reasons;
                v.return_date = return_date;
            } else {
                v.status = VisitStatus::Screened.as_str().into();
            }
        },
        detail,
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Registration {
    /// Product codes chosen from the due list.
    pub products: Vec<String>,
    /// The guardian who gave consent (name).
    pub consent_by: String,
}

pub async fn register(
    st: &Platform,
    who: &Principal,
    id: &str,
    r: Registration,
) -> Result<VisitRow, AppError> {
    let mut codes = Vec::new();
    for p in &r.products {
        codes.push(product(st, p).await?.code);
    }
    if codes.is_empty() {
        return Err(invalid("products", "vacc.err.no_products"));
    }
    let consent = r.consent_by.trim().to_string();
    if consent.is_empty() || consent.chars().count() > 100 {
        return Err(invalid("consent_by", "vacc.err.consent"));
    }
    let now = st.clock.now_text();
    let planned = codes.join(",");
    let detail = format!("registered {planned}; consent {consent}");
    advance(
        st,
        who,
        id,
        VisitStatus::Screened,
        move |v| {
            v.status = VisitStatus::Registered.as_str().into();
            v.planned = planned;
            v.consent_by = consent;
            v.consent_at = Some(now);
        },
        detail,
    )
    .await
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct VaccinationInput {
    /// One entry per dose given now.
    pub doses: Vec<VaccinationDose>,
    #[serde(default)]
    pub vaccinator: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct VaccinationDose {
    #[serde(default)]
    pub product_code: String,
    pub lot_no: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub route: String,
}

/// Vaccinate: every dose, its stock movement and the visit's move to observation commit
/// together, or nothing does.
pub async fn vaccinate(
    st: &Platform,
    who: &Principal,
    id: &str,
    input: VaccinationInput,
) -> Result<(VisitRow, Vec<DoseRow>), AppError> {
    who.require(perms::ADMINISTER)?;
    let mut v = visit(st, who, id).await?;
    if !who.scope.owns(&v.clinic_path) {
        return Err(AppError::NotFound);
    }
    if v.status != VisitStatus::Registered.as_str() {
        return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
    }
    if input.doses.is_empty() || input.doses.len() > 6 {
        return Err(invalid("doses", "vacc.err.no_products"));
    }
    let mut rows = Vec::new();
    for (i, d) in input.doses.iter().enumerate() {
        let di = DoseInput {
            patient_id: v.patient_id.clone(),
            product_code: d.product_code.clone(),
            lot_no: d.lot_no.clone(),
            site: d.site.clone(),
            route: d.route.clone(),
            vaccinator: input.vaccinator.clone(),
            org_code: v.clinic_code.clone(),
            ..Default::default()
        };
        let mut p = prepare_dose(st, who, &di, "clinic")
            .await
            .map_err(|e| match e {
                AppError::Invalid(f) => AppError::Invalid(
                    f.into_iter()
                        .map(|x| FieldError::new(format!("doses[{i}].{}", x.field), x.msg))
                        .collect(),
                ),
                e => e,
            })?;
        p.row.visit_id = Some(v.id.clone());
        rows.push(p.row);
    }
    let now = st.clock.now_text();
    v.status = VisitStatus::Observing.as_str().into();
    v.obs_start = Some(now.clone());
    v.updated_at = now;
    let who2 = who.clone();
    let today = domain::date_text(today(st));
    let out = st
        .write(move |tx| {
            Box::pin(async move {
                for d in &rows {
                    write_dose(tx, &who2, d, &today).await?;
                }
                if !store::update_visit(tx, &v, VisitStatus::Registered.as_str()).await? {
                    return Err(AppError::Conflict(Msg::new("vacc.err.visit_state")));
                }
                tx.record(
                    &who2,
                    Event::new(VISIT, "VaccinationVisit", &v.id)
                        .patient(&v.patient_id)
                        .detail("vaccinated"),
                );
                Ok((v, rows))
            })
        })
        .await?;
    publish(st, &out.0).await;
    Ok(out)
}

/// The child leaves: flagged when before the end of the 30-minute observation; the next
/// appointment is the earliest due date of the child's record.
pub async fn leave(st: &Platform, who: &Principal, id: &str) -> Result<VisitRow, AppError> {
    let v = visit(st, who, id).await?;
    let now = st.clock.now();
    let early = v
        .obs_start
        .as_deref()
        .and_then(tianshan_platform::clock::parse_timestamp)
        .is_some_and(|s| domain::leaves_early(s, now));
    let next = next_appointment(st, who, &v.patient_id)
        .await
        .ok()
        .flatten();
    let now_text = st.clock.now_text();
    let detail = if early {
        "left early".to_string()
    } else {
        "left".to_string()
    };
    advance(
        st,
        who,
        id,
        VisitStatus::Observing,
        move |v| {
            v.status = VisitStatus::Left.as_str().into();
            v.obs_end = Some(now_text);
            v.early_leave = i64::from(early);
            v.next_date = next;
        },
        detail,
    )
    .await
}

pub(crate) async fn next_appointment(
    st: &Platform,
    who: &Principal,
    patient: &str,
) -> Result<Option<String>, AppError> {
    // The due list alone (no dose views): leave is a station's action, kept short.
    let p = facade::patient(st, who, patient).await?;
    let Some(birth) = p.birth_date.as_deref().and_then(domain::parse_date) else {
        return Ok(None);
    };
    let doses = store::dose_briefs_of_many(&st.db, std::slice::from_ref(&p.id)).await?;
    let products = products(st).await?;
    let due = due_list(
        &products,
        birth,
        &p.sex,
        &doses,
        today(st) + time::Duration::days(1),
    )?;
    Ok(due
        .iter()
        .filter(|d| matches!(d.status.as_str(), "due" | "overdue" | "not_yet_due"))
        .filter_map(|d| d.recommended.clone().or(d.earliest.clone()))
        .min())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardLine {
    pub visit_id: String,
    pub queue_no: i64,
    pub patient_id: String,
    pub name: String,
    pub status: String,
    /// The station the child waits for: screening, registration, vaccination, observation, done.
    pub station: String,
    /// Seconds of observation left (observing children).
    pub observation_left: Option<i64>,
    pub early_leave: bool,
}

/// Today's visits of a clinic, for the stations and the queue board.
pub async fn board(
    st: &Platform,
    who: &Principal,
    clinic: &str,
) -> Result<Vec<BoardLine>, AppError> {
    who.require(perms::READ)?;
    let org = facade::org(st, clinic.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.scope.covers(&org.path) {
        return Err(AppError::NotFound);
    }
    let day = domain::date_text(today(st));
    let visits = store::visits_of_day(&st.db, &org.code, &day).await?;
    let ids: Vec<String> = visits.iter().map(|v| v.patient_id.clone()).collect();
    let people = facade::patients_by_ids(st, who, &ids).await?;
    let now = st.clock.now();
    Ok(visits
        .into_iter()
        .map(|v| {
            let status = VisitStatus::parse(&v.status).unwrap_or(VisitStatus::Left);
            let left = (status == VisitStatus::Observing)
                .then(|| {
                    v.obs_start
                        .as_deref()
                        .and_then(tianshan_platform::clock::parse_timestamp)
                })
                .flatten()
                .map(|s| {
                    let end = s + time::Duration::minutes(domain::OBSERVATION_MINUTES);
                    (end - now).whole_seconds().max(0)
                });
            BoardLine {
                name: people
                    .iter()
                    .find(|p| p.id == v.patient_id)
                    .map(|p| p.full_name.clone())
                    .unwrap_or_default(),
                visit_id: v.id,
                queue_no: v.queue_no,
                patient_id: v.patient_id,
                station: status.station().into(),
                status: v.status,
                observation_left: left,
                early_leave: v.early_leave == 1,
            }
        })
        .collect())
}
