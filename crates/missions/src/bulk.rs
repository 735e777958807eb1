//! Generated loads for benchmarks: ten years of a region's aid work on top of the demo's
//! organisations — missions with their day logs, open needs and current offers for the board,
//! trainees in mentor groups with their competencies half signed off, and techniques.
use tianshan_platform::db::Tx;
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;

use crate::register::{insert_step, insert_technique, StepRow, TechniqueRow};
use crate::store::{self, ActivityRow, MentorshipRow, MilestoneRow, MissionRow, NeedRow, OfferRow};

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Decade {
    pub missions: usize,
    pub day_logs: usize,
    pub trainees: usize,
    pub sign_offs: usize,
    pub open_needs: usize,
    pub offers: usize,
    pub techniques: usize,
}

impl Default for Decade {
    /// The figures: 500 missions, 20,000 day logs, 50,000 trainees, 200,000
    /// sign-offs; the board at its limits (500 open needs, 500 current offers).
    fn default() -> Self {
        Decade {
            missions: 500,
            day_logs: 20_000,
            trainees: 50_000,
            sign_offs: 200_000,
            open_needs: 500,
            offers: 500,
            techniques: 2_000,
        }
    }
}

const SITES: [&str; 6] = [
    "650500-H01",
    "650522-H01",
    "650521-H01",
    "653100-H01",
    "653121-H01",
    "653100-H01-HEM",
];
const LEADS: [&str; 4] = ["RH-GD-GDPH", "RH-BJ-PUMCH", "650100-H02", "RH-GD-ZJ"];
const SPECIALTIES: [&str; 6] = [
    "神经内科",
    "神经外科",
    "骨科",
    "血液内科",
    "眼科",
    "泌尿外科",
];
const TOPICS: [&str; 6] = [
    "急性缺血性卒中静脉溶栓与机械取栓",
    "帕金森病规范化诊疗与专病门诊",
    "关节镜手术",
    "异基因造血干细胞移植",
    "白内障超声乳化手术",
    "经皮肾镜碎石取石术",
];
const KINDS: [&str; 5] = ["clinic", "operation", "lecture", "ward_round", "screening"];

/// Rows per write transaction.
const BATCH: usize = 2_000;

/// Insert the load; `today` dates the board's open needs and current offers.
pub async fn decade(st: &Platform, d: Decade, today: time::Date) -> Result<(), AppError> {
    let mut paths = Vec::new();
    for c in SITES.iter().chain(LEADS.iter()) {
        let o = facade::org(st, c).await?.ok_or(AppError::NotFound)?;
        paths.push((c.to_string(), o.path));
    }
    let path = move |c: &str| {
        paths
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let date = |i: usize, day: usize| {
        format!(
            "{}-{:02}-{:02}",
            2016 + (i * 10 / d.missions.max(1)) % 10,
            i % 12 + 1,
            day
        )
    };
    let missions: Vec<MissionRow> = (0..d.missions)
        .map(|i| {
            let (site, lead) = (SITES[i % SITES.len()], LEADS[i % LEADS.len()]);
            MissionRow {
                id: format!("bulk-m{i}"),
                kind: "mission".into(),
                title: format!("{} · {}", TOPICS[i % 6], i),
                site_code: site.into(),
                site_path: path(site),
                lead_code: lead.into(),
                lead_path: path(lead),
                starts_on: date(i, 1),
                ends_on: date(i, 7),
                need_id: None,
                offer_id: None,
                team: format!("专家{}、专家{}、专家{}", i, i + 1, i + 2),
                created_by: "bench".into(),
                created_at: format!("{}T08:00:00Z", date(i, 1)),
            }
        })
        .collect();
    let rows = missions.clone();
    write(st, rows, |tx, m| Box::pin(store::insert_mission(tx, m))).await?;
    let logs: Vec<ActivityRow> = (0..d.day_logs)
        .map(|j| {
            let m = &missions[j % missions.len().max(1)];
            ActivityRow {
                id: format!("bulk-a{j}"),
                mission_id: m.id.clone(),
                day: format!("{}{}", &m.starts_on[..8], format_args!("{:02}", j % 7 + 1)),
                kind: KINDS[j % KINDS.len()].into(),
                topic: TOPICS[j % 6].into(),
                count: (j % 40) as i64,
                people: format!("学员{}、学员{}", j % 997, j % 389),
                note: String::new(),
                recorded_by: "bench".into(),
                recorded_at: format!("{}T12:00:00Z", m.starts_on),
            }
        })
        .collect();
    write(st, logs, |tx, a| Box::pin(store::insert_activity(tx, a))).await?;
    let (from, to) = (
        today.to_string(),
        (today + time::Duration::days(90)).to_string(),
    );
    let needs: Vec<NeedRow> = (0..d.open_needs)
        .map(|i| {
            let site = SITES[i % SITES.len()];
            NeedRow {
                id: format!("bulk-n{i}"),
                org_code: site.into(),
                org_path: path(site),
                kind: "technique".into(),
                specialty: SPECIALTIES[i % 6].into(),
                topic: TOPICS[(i / 3) % 6].into(),
                priority: "normal".into(),
                wanted_from: from.clone(),
                wanted_to: to.clone(),
                reason: String::new(),
                status: "open".into(),
                mission_id: None,
                posted_by: "bench".into(),
                posted_at: format!("{from}T08:00:00Z"),
            }
        })
        .collect();
    write(st, needs, |tx, n| Box::pin(store::insert_need(tx, n))).await?;
    let offers: Vec<OfferRow> = (0..d.offers)
        .map(|j| {
            let lead = LEADS[j % LEADS.len()];
            OfferRow {
                id: format!("bulk-o{j}"),
                org_code: lead.into(),
                org_path: path(lead),
                specialty: SPECIALTIES[(j / 2) % 6].into(),
                topic: TOPICS[(j / 5) % 6].into(),
                expert: format!("专家{j}"),
                available_from: from.clone(),
                available_to: to.clone(),
                note: String::new(),
                posted_by: "bench".into(),
                posted_at: format!("{from}T08:00:00Z"),
            }
        })
        .collect();
    write(st, offers, |tx, o| Box::pin(store::insert_offer(tx, o))).await?;
    let per = (d.sign_offs / d.trainees.max(1)).max(1);
    let trainees: Vec<(MentorshipRow, Vec<MilestoneRow>)> = (0..d.trainees)
        .map(|k| {
            let (site, lead) = (SITES[k % SITES.len()], LEADS[k % LEADS.len()]);
            let id = format!("bulk-t{k}");
            let steps = (0..per)
                .map(|s| MilestoneRow {
                    id: format!("{id}-{s}"),
                    mentorship_id: id.clone(),
                    position: s as i64 + 1,
                    competency: format!("能力{s}"),
                    signed_on: (s % 2 == 0).then(|| date(k % d.missions.max(1), 20)),
                    evidence: String::new(),
                    signed_by: if s % 2 == 0 {
                        "bench".into()
                    } else {
                        String::new()
                    },
                })
                .collect();
            (
                MentorshipRow {
                    id,
                    mentor_username: "bench".into(),
                    mentor_name: format!("导师{}", k % 400),
                    mentor_code: lead.into(),
                    mentor_path: path(lead),
                    trainee_name: format!("学员{k}"),
                    trainee_post: "住院医师".into(),
                    trainee_ethnicity: "维吾尔族".into(),
                    trainee_code: site.into(),
                    trainee_path: path(site),
                    goals: String::new(),
                    starts_on: date(k % d.missions.max(1), 1),
                    ends_on: date(k % d.missions.max(1), 28),
                    mission_id: None,
                    created_by: "bench".into(),
                    created_at: "2016-01-01T00:00:00Z".into(),
                },
                steps,
            )
        })
        .collect();
    write(st, trainees, |tx, (m, steps)| {
        Box::pin(async move {
            store::insert_mentorship(tx, m).await?;
            for s in steps {
                store::insert_milestone(tx, s).await?;
            }
            Ok(())
        })
    })
    .await?;
    let techniques: Vec<(TechniqueRow, StepRow)> = (0..d.techniques)
        .map(|k| {
            let site = SITES[k % SITES.len()];
            let id = format!("bulk-x{k}");
            (
                TechniqueRow {
                    id: id.clone(),
                    org_code: site.into(),
                    org_path: path(site),
                    technique: TOPICS[k % 6].into(),
                    mission_id: None,
                    status: "none".into(),
                    first_case_on: None,
                    first_case_with: String::new(),
                    created_by: "bench".into(),
                    created_at: "2016-01-01T00:00:00Z".into(),
                },
                StepRow {
                    id: format!("{id}-s"),
                    technique_id: id,
                    status: if k % 2 == 0 {
                        "independent"
                    } else {
                        "introduced"
                    }
                    .into(),
                    on_date: date(k % d.missions.max(1), 15),
                    signed_by: "bench".into(),
                    note: String::new(),
                    cases_aided: 3,
                    cases_alone: if k % 2 == 0 { 5 } else { 0 },
                },
            )
        })
        .collect();
    write(st, techniques, |tx, (t, s)| {
        Box::pin(async move {
            insert_technique(tx, t).await?;
            insert_step(tx, s, Some("bench")).await
        })
    })
    .await
}

type Insert<T> =
    for<'a> fn(&'a mut Tx, &'a T) -> futures_util::future::BoxFuture<'a, Result<(), AppError>>;

/// Insert rows in transactions of [`BATCH`].
async fn write<T: Send + Sync + 'static>(
    st: &Platform,
    rows: Vec<T>,
    insert: Insert<T>,
) -> Result<(), AppError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<T> = rows.by_ref().take(BATCH).collect();
        st.write(move |tx| {
            Box::pin(async move {
                for r in &batch {
                    insert(tx, r).await?;
                }
                Ok(())
            })
        })
        .await?;
    }
    Ok(())
}
