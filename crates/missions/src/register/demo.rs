//! The demo's technique register: the Kashgar transplant platform from its first case (2024,
//! with the Guangdong experts) to independent, and Hami's thrombectomy introduced in 2023.
use tianshan_platform::db::Tx;
use tianshan_platform::AppError;

use super::{insert_step, insert_technique, StepRow, TechniqueRow};

/// status, date, signer, cases with aid, cases alone, evidence.
type DemoStep = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    &'static str,
);

/// id, department, technique, mission, first case with, steps.
type DemoTechnique = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [DemoStep],
);

pub async fn demo(tx: &mut Tx, paths: &[(String, String)]) -> Result<(), AppError> {
    let path = |c: &str| {
        paths
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    let entries: [DemoTechnique; 2] = [
        (
            "demo-tech-kashgar-hsct",
            "653100-H01-HEM",
            "异基因造血干细胞移植",
            "demo-mission-kashgar-hsct-2024",
            "广东省人民医院 肖非",
            &[
                (
                    "introduced",
                    "2024-09-12",
                    "肖非",
                    1,
                    0,
                    "首例，广东省人民医院专家主刀",
                ),
                (
                    "introduced",
                    "2025-03-20",
                    "肖非",
                    6,
                    0,
                    "本院团队完成第6例，专家在场指导",
                ),
                (
                    "independent",
                    "2025-11-18",
                    "黄宇贤",
                    8,
                    13,
                    "本院团队独立完成，累计21例",
                ),
            ],
        ),
        (
            "demo-tech-hami-thrombectomy",
            "650500-H01",
            "急性缺血性卒中机械取栓",
            "demo-mission-hami-2023",
            "新疆医科大学第二附属医院 吴勤奋",
            &[
                (
                    "introduced",
                    "2023-12-06",
                    "吴勤奋",
                    3,
                    0,
                    "神经介入教学手术3台",
                ),
                ("introduced", "2024-06-15", "吴勤奋", 9, 0, "远程指导下完成"),
            ],
        ),
    ];
    for (id, org, name, mission, with, steps) in entries {
        let t = TechniqueRow {
            id: id.into(),
            org_code: org.into(),
            org_path: path(org),
            technique: name.into(),
            mission_id: Some(mission.into()),
            status: "none".into(),
            first_case_on: None,
            first_case_with: String::new(),
            created_by: "coordinator".into(),
            created_at: "2024-04-20T09:00:00Z".into(),
        };
        insert_technique(tx, &t).await?;
        for (i, (status, on, by, aided, alone, note)) in steps.iter().enumerate() {
            let step = StepRow {
                id: format!("{id}-{i}"),
                technique_id: id.into(),
                status: (*status).into(),
                on_date: (*on).into(),
                signed_by: (*by).into(),
                note: (*note).into(),
                cases_aided: *aided,
                cases_alone: *alone,
            };
            insert_step(tx, &step, (i == 0).then_some(with)).await?;
        }
    }
    Ok(())
}
