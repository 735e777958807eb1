//! The demo's talent development: mentor groups (师带徒 1+X) with signed competencies, aid
//! staff of the tenth Guangdong batch and of the group-style aid, and department requests.
use time::Date;

use super::{day, id, Paths};
use crate::store::{LiaisonRow, MentorshipRow, MilestoneRow, StaffRow};

type Talent = (
    Vec<(MentorshipRow, Vec<MilestoneRow>)>,
    Vec<StaffRow>,
    Vec<LiaisonRow>,
);

pub(super) fn build(p: &Paths<'_>, today: Date, hami: &str) -> Talent {
    let ts = |offset: i64| format!("{}T09:00:00Z", day(today, offset));
    let mentor = |key: &str,
                  trainee: &str,
                  post: &str,
                  eth: &str,
                  code: &str,
                  mission: Option<&str>,
                  goals: &str,
                  steps: &[(&str, Option<(&str, &str)>)]| {
        let mid = id(key);
        (
            MentorshipRow {
                id: mid.clone(),
                mentor_username: "expert".into(),
                mentor_name: "陈立新".into(),
                mentor_code: "RH-BJ-PUMCH-NEU".into(),
                mentor_path: p.get("RH-BJ-PUMCH-NEU").cloned().unwrap_or_default(),
                trainee_name: trainee.into(),
                trainee_post: post.into(),
                trainee_ethnicity: eth.into(),
                trainee_code: code.into(),
                trainee_path: p.get(code).cloned().unwrap_or_default(),
                goals: goals.into(),
                starts_on: "2025-03-01".into(),
                ends_on: "2026-02-28".into(),
                mission_id: mission.map(id),
                created_by: "coordinator".into(),
                created_at: "2025-03-01T09:00:00Z".into(),
            },
            steps
                .iter()
                .enumerate()
                .map(|(i, (c, signed))| MilestoneRow {
                    id: format!("{mid}-m{}", i + 1),
                    mentorship_id: mid.clone(),
                    position: i as i64 + 1,
                    competency: c.to_string(),
                    signed_on: signed.map(|s| s.0.to_string()),
                    evidence: signed.map(|s| s.1.to_string()).unwrap_or_default(),
                    signed_by: if signed.is_some() {
                        "expert".into()
                    } else {
                        String::new()
                    },
                })
                .collect(),
        )
    };
    let mentorships = vec![
        mentor(
            "mentor-hami-aili",
            "艾力·买买提",
            "主治医师",
            "维吾尔族",
            "650500-H01-NEU",
            Some(hami),
            "师带徒“1+X”：卒中与帕金森病专病能力",
            &[
                (
                    "急性缺血性卒中静脉溶栓评估与实施",
                    Some(("2025-06-18", "独立完成溶栓8例，病历已审")),
                ),
                (
                    "帕金森病运动症状量表（MDS-UPDRS）评估",
                    Some(("2025-09-02", "观察评估12例")),
                ),
                ("帕金森病专病门诊独立接诊", None),
                ("脑电图常见异常判读", None),
            ],
        ),
        mentor(
            "mentor-yiwu-aset",
            "阿斯叶·努尔兰",
            "住院医师",
            "哈萨克族",
            "650522-H01-NEU",
            None,
            "县医院卒中绿色通道",
            &[
                (
                    "卒中绿色通道流程（门-针时间）",
                    Some(("2025-08-20", "门-针时间由92分钟降至58分钟")),
                ),
                ("NIHSS评分", None),
            ],
        ),
    ];
    let staff = vec![
        StaffRow {
            id: id("staff-huang"),
            full_name: "黄宇贤".into(),
            batch: "第十批广东援疆".into(),
            specialty: "血液内科".into(),
            home_code: "RH-GD-GDPH-HEM".into(),
            home_path: p.get("RH-GD-GDPH-HEM").cloned().unwrap_or_default(),
            post_code: "653100-H01-HEM".into(),
            post_path: p.get("653100-H01-HEM").cloned().unwrap_or_default(),
            arrived_on: "2024-05-06".into(),
            leaves_on: "2026-05-31".into(),
            created_by: "coordinator".into(),
            created_at: "2024-05-06T09:00:00Z".into(),
        },
        StaffRow {
            id: id("staff-xiao"),
            full_name: "肖非".into(),
            batch: "第十批广东援疆".into(),
            specialty: "血液内科".into(),
            home_code: "RH-GD-GDPH-HEM".into(),
            home_path: p.get("RH-GD-GDPH-HEM").cloned().unwrap_or_default(),
            post_code: "653100-H01-HEM".into(),
            post_path: p.get("653100-H01-HEM").cloned().unwrap_or_default(),
            arrived_on: "2024-02-20".into(),
            leaves_on: "2026-02-28".into(),
            created_by: "coordinator".into(),
            created_at: "2024-02-20T09:00:00Z".into(),
        },
        StaffRow {
            id: id("staff-zhang"),
            full_name: "张俊".into(),
            batch: "医疗人才组团式援疆".into(),
            specialty: "胸外科".into(),
            home_code: "RH-HB-WHUH-THO".into(),
            home_path: p.get("RH-HB-WHUH-THO").cloned().unwrap_or_default(),
            post_code: "650100-H02".into(),
            post_path: p.get("650100-H02").cloned().unwrap_or_default(),
            arrived_on: "2023-08-01".into(),
            leaves_on: "2025-07-31".into(),
            created_by: "coordinator".into(),
            created_at: "2023-08-01T09:00:00Z".into(),
        },
    ];
    let liaison = vec![
        LiaisonRow {
            id: id("req-gvhd"),
            from_code: "653100-H01-HEM".into(),
            from_path: p.get("653100-H01-HEM").cloned().unwrap_or_default(),
            home_code: "RH-GD-GDPH-HEM".into(),
            home_path: p.get("RH-GD-GDPH-HEM").cloned().unwrap_or_default(),
            kind: "protocol".into(),
            subject: "移植后急性GVHD分级处理流程".into(),
            status: "done".into(),
            asked_by: "doctor".into(),
            asked_by_name: "阿里木·吐尔逊".into(),
            asked_at: "2025-10-08T03:00:00Z".into(),
            answer: "后方科室发送流程并安排远程讲解".into(),
            answer_from: Some("2025-10-10".into()),
            answer_to: Some("2025-10-10".into()),
            answer_people: "广东省人民医院血液内科移植组".into(),
            answered_by: "admin".into(),
            answered_at: Some("2025-10-09T01:00:00Z".into()),
            done_at: Some("2025-10-11T09:00:00Z".into()),
        },
        LiaisonRow {
            id: id("req-pd-remote"),
            from_code: "650500-H01-NEU".into(),
            from_path: p.get("650500-H01-NEU").cloned().unwrap_or_default(),
            home_code: "RH-BJ-PUMCH-NEU".into(),
            home_path: p.get("RH-BJ-PUMCH-NEU").cloned().unwrap_or_default(),
            kind: "remote".into(),
            subject: "帕金森病疑难病例远程会诊（2例）".into(),
            status: "open".into(),
            asked_by: "coordinator".into(),
            asked_by_name: "王志强".into(),
            asked_at: ts(-2),
            answer: String::new(),
            answer_from: None,
            answer_to: None,
            answer_people: String::new(),
            answered_by: String::new(),
            answered_at: None,
            done_at: None,
        },
    ];
    (mentorships, staff, liaison)
}
