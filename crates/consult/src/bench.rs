//! Generated loads for the benchmark (`benches/consult.rs`): many cases across the demo
//! network in every state, written in batches straight through the store.
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;

use crate::store::{self, CaseRow};

/// Requesting facilities (Kashgar townships and hospitals) and targets (rear hospitals, the
/// partner, the centre's departments) the generated cases spread over.
const FROM: &[&str] = &[
    "653121100",
    "653121101",
    "653122100",
    "653121-H01",
    "653100-H01-OPH",
    "653100-H01-PED",
];
const TO: &[&str] = &[
    "RH-BJ-PUMCH-CAR",
    "RH-GD-GDPH-OPH",
    "INT-KG-NH",
    "653100-H01-ED",
];
const STATUS: &[&str] = &[
    "acknowledged",
    "acknowledged",
    "acknowledged",
    "acknowledged",
    "acknowledged",
    "acknowledged",
    "filed",
    "accepted",
    "info_requested",
    "answered",
];

/// Insert `n` generated cases, `batch` per transaction, filed over the 400 days before now.
pub async fn load_cases(st: &Platform, n: usize, batch: usize) -> Result<(), AppError> {
    let mut paths = Vec::new();
    for code in FROM.iter().chain(TO) {
        let o = facade::org(st, code).await?.ok_or(AppError::NotFound)?;
        paths.push((o.code, o.path));
    }
    let now = st.clock.now();
    let mut i = 0usize;
    while i < n {
        let end = (i + batch).min(n);
        let rows: Vec<CaseRow> = (i..end)
            .map(|k| {
                let (from_code, from_path) = paths[k % FROM.len()].clone();
                let (to_code, to_path) = paths[FROM.len() + (k / 7) % TO.len()].clone();
                let status = STATUS[(k / 3) % STATUS.len()];
                let filed = now - time::Duration::minutes((k as i64 * 5_741) % 576_000);
                let (half, due) = crate::domain::clock(filed, 4320);
                let t = tianshan_platform::clock::timestamp_text;
                let later = |m: i64| Some(t(filed + time::Duration::minutes(m)));
                let done = status != "filed";
                CaseRow {
                    id: format!("bench-{k:07}"),
                    patient_id: format!("demo-{:04}", k % 240 + 1),
                    p_name: "张三".into(),
                    p_sex: "male".into(),
                    p_birth_date: Some("1980-01-01".into()),
                    p_id_number: String::new(),
                    p_phone: String::new(),
                    kind: "opinion".into(),
                    urgency: "routine".into(),
                    specialty: ["心血管内科", "眼科", "儿科", "全科"][k % 4].into(),
                    status: status.into(),
                    from_code,
                    from_path,
                    requested_by: "bench".into(),
                    requested_by_username: "bench".into(),
                    requested_by_name: "bench".into(),
                    target_kind: "department".into(),
                    target_code: to_code,
                    target_path: to_path,
                    target_expert: String::new(),
                    assignee: if done { "expert".into() } else { String::new() },
                    assignee_name: String::new(),
                    language: "zh".into(),
                    translated_summary: String::new(),
                    deidentified: 0,
                    pipl_consent: 0,
                    complaint: "胸闷气短".into(),
                    history: String::new(),
                    examination: String::new(),
                    investigations: String::new(),
                    question: "是否需要上转？".into(),
                    impression: String::new(),
                    recommendations: String::new(),
                    refer: 0,
                    follow_up: String::new(),
                    rating: None,
                    filed_at: t(filed),
                    half_at: t(half),
                    due_at: t(due),
                    accepted_at: if done { later(90) } else { None },
                    answered_at: if matches!(status, "answered" | "acknowledged") {
                        later(600 + (k as i64 % 5000))
                    } else {
                        None
                    },
                    acknowledged_at: None,
                    paused_at: None,
                    escalated_at: None,
                    updated_at: t(filed),
                }
            })
            .collect();
        st.write(move |tx| {
            Box::pin(async move {
                for r in &rows {
                    store::insert_case(tx, r).await?;
                }
                Ok(())
            })
        })
        .await?;
        i = end;
    }
    Ok(())
}
