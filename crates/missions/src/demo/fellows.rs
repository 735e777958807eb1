//! The demo's fellowships (进修) — a Hami neurologist at Peking Union, and international
//! trainees from Kyrgyzstan, Pakistan and Uzbekistan at Xinjiang hospitals, in English — with
//! their completion reports, and two expert studios (专家工作室).
use time::Date;

use super::{day, id, Paths};
use crate::fellowship::CompletionRow;
use crate::store::MissionRow;
use crate::studios::StudioRow;

pub(super) struct Fellows {
    pub fellowships: Vec<MissionRow>,
    pub completions: Vec<CompletionRow>,
    pub studios: Vec<StudioRow>,
}

pub(super) fn build(p: &Paths<'_>, today: Date) -> Fellows {
    let path = |c: &str| p.get(c).cloned().unwrap_or_default();
    let fellowship = |key: &str,
                      title: &str,
                      site: &str,
                      lead: &str,
                      from: String,
                      to: String,
                      fellows: &str| {
        MissionRow {
            id: id(key),
            kind: "fellowship".into(),
            title: title.into(),
            site_code: site.into(),
            site_path: path(site),
            lead_code: lead.into(),
            lead_path: path(lead),
            created_at: format!("{from}T09:00:00Z"),
            starts_on: from,
            ends_on: to,
            need_id: None,
            offer_id: None,
            team: fellows.into(),
            created_by: "coordinator".into(),
        }
    };
    let fellowships = vec![
        fellowship(
            "fellowship-hami-pumch",
            "神经内科进修（帕金森病与运动障碍）",
            "650500-H01-NEU",
            "RH-BJ-PUMCH-NEU",
            "2024-03-01".into(),
            "2024-08-31".into(),
            "艾力·买买提",
        ),
        fellowship(
            "fellowship-kg-neuro",
            "Neurointervention fellowship (mechanical thrombectomy)",
            "INT-KG-NH",
            "650100-H02",
            "2025-03-01".into(),
            "2025-08-31".into(),
            "Bakyt Asanov",
        ),
        fellowship(
            "fellowship-pk-hsct",
            "Haematopoietic stem-cell transplant fellowship",
            "INT-PK-LRH",
            "653100-H01-HEM",
            day(today, -200),
            day(today, -20),
            "Ayesha Khan",
        ),
        fellowship(
            "fellowship-uz-lap",
            "Laparoscopic surgery fellowship",
            "INT-UZ-RSCS",
            "650100-H02",
            day(today, -60),
            day(today, 120),
            "Dilnoza Karimova",
        ),
    ];
    let completions = vec![
        CompletionRow {
            mission_id: id("fellowship-hami-pumch"),
            supervisor: "陈立新".into(),
            outcome: "completed".into(),
            summary: "完成帕金森病专病门诊轮转，独立评估MDS-UPDRS 40例，考核合格".into(),
            reported_by: "陈立新".into(),
            reported_on: "2024-09-02".into(),
            reported_at: "2024-09-02T09:00:00Z".into(),
        },
        CompletionRow {
            mission_id: id("fellowship-kg-neuro"),
            supervisor: "吴勤奋".into(),
            outcome: "completed".into(),
            summary: "Assisted in 24 thrombectomies and performed 6 as first operator under supervision; passed the final assessment.".into(),
            reported_by: "吴勤奋".into(),
            reported_on: "2025-09-01".into(),
            reported_at: "2025-09-01T09:00:00Z".into(),
        },
    ];
    let studio = |key: &str,
                  name: &str,
                  expert: &str,
                  specialty: &str,
                  home: &str,
                  host: &str,
                  opened: &str| StudioRow {
        id: id(key),
        name: name.into(),
        expert_name: expert.into(),
        specialty: specialty.into(),
        home_code: home.into(),
        home_path: path(home),
        host_code: host.into(),
        host_path: path(host),
        opened_on: opened.into(),
        created_by: "coordinator".into(),
        created_at: format!("{opened}T09:00:00Z"),
    };
    let studios = vec![
        studio(
            "studio-wu",
            "吴勤奋神经介入专家工作室",
            "吴勤奋",
            "神经介入",
            "650100-H02",
            "650500-H01",
            "2023-12-04",
        ),
        studio(
            "studio-chen",
            "陈立新神经内科专家工作室",
            "陈立新",
            "神经内科",
            "RH-BJ-PUMCH-NEU",
            "650500-H01-NEU",
            "2025-03-01",
        ),
    ];
    Fellows {
        fellowships,
        completions,
        studios,
    }
}
