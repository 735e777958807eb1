//! The demo's consultations (see `demo.rs`): organisations the seeds name that the registry's
//! tree lacks (Hotan and Kizilsu county hospitals, a Shanghai rear hospital, partners in
//! Pakistan and Uzbekistan), a pairing, and cases in every state filed by the demo users.
use std::sync::Arc;

use tianshan_platform::auth::{Channel, Principal};
use tianshan_platform::scope::{PermSet, Scope};
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;

use crate::domain::CaseInput;
use crate::service::{self, PairingInput, StepInput};

/// (code, parent, kind, zh, ug, en)
type Node = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const EXTRA: &[Node] = &[
    (
        "653200",
        Some("650000"),
        "prefecture",
        "和田地区",
        "خوتەن ۋىلايىتى",
        "Hotan Prefecture",
    ),
    (
        "653200-H01",
        Some("653200"),
        "hospital",
        "和田地区人民医院",
        "خوتەن ۋىلايەتلىك خەلق دوختۇرخانىسى",
        "Hotan Prefecture People's Hospital",
    ),
    (
        "653000",
        Some("650000"),
        "prefecture",
        "克孜勒苏柯尔克孜自治州",
        "قىزىلسۇ قىرغىز ئاپتونوم ئوبلاستى",
        "Kizilsu Kirghiz Prefecture",
    ),
    (
        "653000-H01",
        Some("653000"),
        "hospital",
        "克州人民医院",
        "قىزىلسۇ ئوبلاستلىق خەلق دوختۇرخانىسى",
        "Kizilsu Prefecture People's Hospital",
    ),
    (
        "RH-SH-ZS",
        None,
        "rear_hospital",
        "复旦大学附属中山医院",
        "شاڭخەي جوڭشەن دوختۇرخانىسى",
        "Zhongshan Hospital, Fudan University",
    ),
    (
        "RH-SH-ZS-CAR",
        Some("RH-SH-ZS"),
        "department",
        "心内科",
        "يۈرەك ئىچكى كېسەللىكلەر بۆلۈمى",
        "Cardiology",
    ),
    (
        "INT-PK-SKM",
        None,
        "partner",
        "巴基斯坦合作医院",
        "پاكىستان ھەمكارلىق دوختۇرخانىسى",
        "Partner hospital, Islamabad",
    ),
    (
        "INT-UZ-RC",
        None,
        "partner",
        "乌兹别克斯坦合作医院",
        "ئۆزبېكىستان ھەمكارلىق دوختۇرخانىسى",
        "Partner hospital, Tashkent",
    ),
];

pub fn demo_user(
    username: &str,
    scope_code: Option<&str>,
    path: Option<String>,
    perms: &[&str],
) -> Principal {
    Principal {
        user_id: format!("demo-{username}"),
        username: username.to_string(),
        display_name: username.to_string(),
        roles: Arc::from(vec!["demo".to_string()]),
        perms: Arc::new(PermSet::new(perms.iter().map(|p| p.to_string()))),
        scope: Scope {
            path,
            subtree: true,
        },
        scope_code: scope_code.map(str::to_string),
        locale: "zh-Hans".into(),
        channel: Channel::Cli,
        ip: String::new(),
        user_agent: "demo".into(),
    }
}

pub const ALL: &[&str] = &[
    "registry.patients.read",
    "consult.request",
    "consult.answer",
    "consult.coordinate",
];

pub async fn load(st: &Platform) -> Result<(), AppError> {
    // Only once: a database that already has cases keeps them.
    if !service::targets(st).await?.is_empty()
        && crate::store::cases_in(
            &st.db,
            &Scope {
                path: None,
                subtree: true,
            },
            1,
        )
        .await?
        .len()
            == 1
    {
        return Ok(());
    }
    for (code, parent, kind, zh, ug, en) in EXTRA {
        facade::ensure_org(st, code, *parent, kind, [zh, ug, en]).await?;
    }
    let path = |code: &str| {
        let code = code.to_string();
        async move { Ok::<_, AppError>(facade::org(st, &code).await?.map(|o| o.path)) }
    };
    let region = demo_user("coordinator", Some("650000"), path("650000").await?, ALL);
    service::add_pairing(
        st,
        &region,
        &PairingInput {
            local_code: "653100-H01-OPH".into(),
            remote_code: "RH-GD-GDPH-OPH".into(),
            specialty: String::new(),
        },
    )
    .await?;
    service::add_pairing(
        st,
        &region,
        &PairingInput {
            local_code: "653100".into(),
            remote_code: "RH-BJ-PUMCH-CAR".into(),
            specialty: "心血管内科".into(),
        },
    )
    .await?;
    let nurse = demo_user("nurse", Some("653121100"), path("653121100").await?, ALL);
    let centre = demo_user("doctor", Some("653100-H01-OPH"), path("653100").await?, ALL);
    let expert = demo_user(
        "expert",
        Some("RH-BJ-PUMCH-CAR"),
        path("RH-BJ-PUMCH-CAR").await?,
        ALL,
    );
    let case = |patient: &str,
                kind: &str,
                urgency: &str,
                tk: &str,
                target: &str,
                spec: &str,
                c: &str,
                q: &str| CaseInput {
        patient_id: patient.into(),
        kind: kind.into(),
        urgency: urgency.into(),
        specialty: spec.into(),
        target_kind: tk.into(),
        target_code: target.into(),
        complaint: c.into(),
        question: q.into(),
        ..Default::default()
    };
    // A township asks the Kashgar centre's emergency department: answered and acknowledged.
    let a = service::file(
        st,
        &nurse,
        &case(
            "demo-0001",
            "opinion",
            "urgent",
            "department",
            "653100-H01-ED",
            "急诊医学",
            "反复胸闷气短3天，活动后加重",
            "是否需要转上级医院进一步检查？",
        ),
    )
    .await?;
    let doctor_ed = demo_user("doctor", Some("653100"), path("653100").await?, ALL);
    step(st, &doctor_ed, &a.id, "accept", "").await?;
    let mut ans = StepInput {
        step: "answer".into(),
        impression: "考虑不稳定型心绞痛，需排除急性冠脉综合征".into(),
        recommendations: "立即查心电图和肌钙蛋白，阿司匹林嚼服，尽快上转县医院".into(),
        refer: true,
        ..Default::default()
    };
    service::step(st, &doctor_ed, &a.id, &ans).await?;
    ans = StepInput {
        step: "acknowledge".into(),
        rating: Some(5),
        ..Default::default()
    };
    service::step(st, &nurse, &a.id, &ans).await?;
    // The centre's ophthalmology asks the network: routed to the paired Guangdong department.
    service::file(
        st,
        &centre,
        &case(
            "demo-0002",
            "reading",
            "routine",
            "pool",
            "",
            "眼科",
            "右眼视力下降半年，眼底照相见视网膜出血",
            "请协助判读眼底照片，是否为糖尿病视网膜病变？",
        ),
    )
    .await?;
    // A cardiology case to Peking Union: accepted, information asked (clock paused).
    let b = service::file(
        st,
        &doctor_ed,
        &case(
            "demo-0009",
            "opinion",
            "routine",
            "department",
            "RH-BJ-PUMCH-CAR",
            "心血管内科",
            "高血压20年，近1月下肢水肿",
            "心衰治疗方案是否需要调整？",
        ),
    )
    .await?;
    step(st, &expert, &b.id, "accept", "").await?;
    step(
        st,
        &expert,
        &b.id,
        "request_info",
        "请补充心脏超声报告和近期BNP结果。",
    )
    .await?;
    // A partner's case in English, de-identified (no PIPL consent recorded).
    let mut c = case(
        "demo-0003",
        "mdt",
        "routine",
        "partner",
        "INT-KG-NH",
        "General surgery",
        "Recurrent right upper quadrant pain for 2 months",
        "Is laparoscopic cholecystectomy advisable before the winter?",
    );
    c.language = "en".into();
    service::file(st, &doctor_ed, &c).await?;
    // An emergency nobody accepted, filed two hours ago (its half-target of 30 minutes long
    // past): escalated to the coordinator by the sweep.
    let mut earlier = st.clone();
    earlier.clock =
        tianshan_platform::clock::Clock::fixed(st.clock.now() - time::Duration::hours(2));
    service::file(
        &earlier,
        &nurse,
        &case(
            "demo-0007",
            "opinion",
            "emergency",
            "pool",
            "",
            "儿科",
            "患儿高热惊厥1次",
            "是否需要立即转诊？",
        ),
    )
    .await?;
    let _ = crate::tasks::escalate_overdue(st).await;
    // Referrals: up to the county hospital, and back down with a care plan.
    let up = crate::referrals::create(
        st,
        &nurse,
        &crate::referrals::ReferralInput {
            patient_id: "demo-0001".into(),
            direction: "up".into(),
            to_code: "653100-H01".into(),
            reason: "疑似急性冠脉综合征，需冠脉造影".into(),
            case_id: a.id.clone(),
            ..Default::default()
        },
    )
    .await?;
    let _ = up;
    crate::referrals::create(
        st,
        &doctor_ed,
        &crate::referrals::ReferralInput {
            patient_id: "demo-0013".into(),
            direction: "down".into(),
            to_code: "653121100-C01".into(),
            reason: "术后病情稳定，回乡康复".into(),
            care_plan: "每周测血压，2周后复查伤口".into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

async fn step(
    st: &Platform,
    who: &Principal,
    id: &str,
    s: &str,
    text: &str,
) -> Result<(), AppError> {
    service::step(
        st,
        who,
        id,
        &StepInput {
            step: s.into(),
            text: text.into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
