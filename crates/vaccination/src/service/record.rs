//! A child's record: the forecast engine's evaluation of each dose and the due list on a date.
use super::*;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductName {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    pub vaccine_group: String,
    /// valid, not_valid, extraneous.
    pub status: String,
    /// Reason codes (`age_too_young`, `interval_too_soon`, ...).
    pub reasons: Vec<String>,
    pub dose_number: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoseView {
    #[serde(flatten)]
    pub dose: DoseRow,
    pub product_name_zh: String,
    pub evaluations: Vec<Evaluation>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueItem {
    pub vaccine_group: String,
    /// due, overdue, not_yet_due, complete, immune, contraindicated, not_recommended, aged_out.
    pub status: String,
    pub dose_number: Option<u32>,
    pub earliest: Option<String>,
    pub recommended: Option<String>,
    pub past_due: Option<String>,
    /// Products of the product table that fit the next dose.
    pub products: Vec<ProductName>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildRecord {
    pub patient_id: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub sex: String,
    pub guardian: String,
    pub guardian_phone: String,
    pub org_code: String,
    /// Where the child was born, when recorded.
    pub birth_facility: Option<store::BirthFacility>,
    pub assessment_date: String,
    pub doses: Vec<DoseView>,
    pub due: Vec<DueItem>,
}

pub(crate) fn classify(
    status: &str,
    as_of: Date,
    earliest: Option<Date>,
    past_due: Option<Date>,
) -> String {
    if status != "not_complete" {
        return status.to_string();
    }
    if past_due.is_some_and(|p| as_of >= p) {
        "overdue".into()
    } else if earliest.is_some_and(|e| as_of >= e) {
        "due".into()
    } else {
        "not_yet_due".into()
    }
}

/// A child's history for the engine from (id, CVX, date given) of each dose.
fn history<'a>(
    birth: Date,
    sex: &str,
    doses: impl Iterator<Item = (&'a str, i64, &'a str)>,
) -> PatientHistory {
    let mut history = PatientHistory::new(birth);
    history.gender = Gender::from_fhir(sex);
    for (id, cvx, given_on) in doses {
        if let (Some(date), Ok(cvx)) = (domain::parse_date(given_on), u16::try_from(cvx)) {
            history.doses.push(DoseAdministered {
                id: id.to_string(),
                date,
                cvx: Cvx(cvx),
                mvx: None,
            });
        }
    }
    history
}

/// The due list alone (an overdue list's need) from the doses' brief rows.
pub fn due_list(
    products: &[ProductRow],
    birth: Date,
    sex: &str,
    doses: &[store::DoseBrief],
    as_of: Date,
) -> Result<Vec<DueItem>, AppError> {
    let h = history(
        birth,
        sex,
        doses
            .iter()
            .map(|d| (d.id.as_str(), d.cvx, d.given_on.as_str())),
    );
    let f = forecast(schedule()?, &h, as_of);
    Ok(due_items(products, &f, as_of))
}

/// The engine's evaluation and forecast for a child's doses on `as_of`.
pub fn evaluate(
    products: &[ProductRow],
    birth: Date,
    sex: &str,
    doses: Vec<DoseRow>,
    as_of: Date,
) -> Result<(Vec<DoseView>, Vec<DueItem>), AppError> {
    let history = history(
        birth,
        sex,
        doses
            .iter()
            .map(|d| (d.id.as_str(), d.cvx, d.given_on.as_str())),
    );
    let f = forecast(schedule()?, &history, as_of);
    let name_of = |cvx: i64| products.iter().find(|p| p.cvx == cvx);
    let mut views = Vec::with_capacity(doses.len());
    for d in doses {
        let idx = history.doses.iter().position(|h| h.id == d.id);
        let mut evaluations: Vec<Evaluation> = Vec::new();
        if let Some(i) = idx {
            for e in f.evaluations.iter().filter(|e| e.dose == i) {
                if evaluations
                    .iter()
                    .any(|x| x.vaccine_group == e.vaccine_group)
                {
                    continue;
                }
                if let Some((status, reasons)) = f.dose_status(i, e.vaccine_group) {
                    evaluations.push(Evaluation {
                        vaccine_group: e.vaccine_group.to_string(),
                        status: status.code().to_string(),
                        reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
                        dose_number: e.target_dose,
                    });
                }
            }
        }
        views.push(DoseView {
            product_name_zh: name_of(d.cvx)
                .map(|p| p.name_zh.clone())
                .unwrap_or_default(),
            dose: d,
            evaluations,
        });
    }
    Ok((views, due_items(products, &f, as_of)))
}

fn due_items(
    products: &[ProductRow],
    f: &tianshan_immunization::Forecast,
    as_of: Date,
) -> Vec<DueItem> {
    let name_of = |cvx: i64| products.iter().find(|p| p.cvx == cvx);
    f.vaccine_groups
        .iter()
        .map(|g| DueItem {
            vaccine_group: g.vaccine_group.to_string(),
            status: classify(g.status.code(), as_of, g.earliest, g.past_due),
            dose_number: g.dose_number,
            earliest: g.earliest.map(domain::date_text),
            recommended: g.recommended.map(domain::date_text),
            past_due: g.past_due.map(domain::date_text),
            products: g
                .vaccines
                .iter()
                .filter_map(|c| name_of(i64::from(c.0)))
                .map(|p| ProductName {
                    code: p.code.clone(),
                    name_zh: p.name_zh.clone(),
                    name_en: p.name_en.clone(),
                })
                .collect(),
        })
        .collect()
}

/// A child's record: doses with their evaluation and the due list on `as_of` (today when
/// `None`). Read through the registry's facade (scope checked, read audited).
pub async fn child_record(
    st: &Platform,
    who: &Principal,
    patient_id: &str,
    as_of: Option<Date>,
) -> Result<ChildRecord, AppError> {
    who.require(perms::READ)?;
    let p = facade::patient(st, who, patient_id).await?;
    let as_of = as_of.unwrap_or_else(|| today(st));
    let birth = p
        .birth_date
        .as_deref()
        .and_then(domain::parse_date)
        .ok_or_else(|| invalid("birth_date", "vacc.err.no_birth_date"))?;
    let doses = store::doses_of(&st.db, &p.id).await?;
    let birth_facility = store::birth_facility(&st.db, &p.id).await?;
    let products = products(st).await?;
    let (doses, due) = evaluate(&products, birth, &p.sex, doses, as_of)?;
    let g = p.guardians.first();
    Ok(ChildRecord {
        name: p.full_name.clone(),
        birth_date: p.birth_date.clone(),
        sex: p.sex.clone(),
        guardian: g.map(|g| g.name.clone()).unwrap_or_default(),
        guardian_phone: g
            .map(|g| g.phone.clone())
            .unwrap_or_else(|| p.phone.clone()),
        org_code: p.org_code.clone(),
        birth_facility,
        patient_id: p.id,
        assessment_date: domain::date_text(as_of),
        doses,
        due,
    })
}
