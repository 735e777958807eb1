//! Demo data drawn from the seeds: the 2023 Hami neurology expert mission (新疆特培专家服务团,
//! experts of 齐鲁, 湘雅, 协和 and 新疆医科大学), the 多院帮科·专科联盟 departments, the
//! allogeneic stem-cell transplant platform at the Kashgar First People's Hospital (2024),
//! Guangdong's tenth batch of aid staff, mentorships and department requests. Needs and offers
//! are dated from today so the coordinator's board is live whenever the demo runs.
use futures_util::future::BoxFuture;
use tianshan_platform::audit::{Action, Event};
use tianshan_platform::auth::Principal;
use tianshan_platform::db::Tx;
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade;
use time::{Date, Duration};

mod fellows;
mod orgs;
mod talent;

use crate::store::{
    self, ActivityRow, LiaisonRow, MentorshipRow, MilestoneRow, MissionRow, NeedRow, OfferRow,
    StaffRow,
};
use orgs::ORGS;

fn id(s: &str) -> String {
    format!("demo-{s}")
}

async fn path(st: &Platform, code: &str) -> Result<String, AppError> {
    Ok(facade::org(st, code).await?.ok_or(AppError::NotFound)?.path)
}

fn day(d: Date, offset: i64) -> String {
    (d + Duration::days(offset)).to_string()
}

pub fn loader(st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(load(st))
}

pub async fn load(st: &Platform) -> Result<(), AppError> {
    if store::mission_count(&st.db).await? > 0 {
        return Ok(());
    }
    if facade::org(st, "650500-H01").await?.is_none() {
        return Ok(());
    }
    for (code, parent, kind, zh, ug, en) in ORGS {
        let parent = (!parent.is_empty()).then_some(*parent);
        facade::ensure_org(st, code, parent, kind, [zh, ug, en]).await?;
    }
    let today = st.clock.now().date();
    let mut p = std::collections::HashMap::new();
    for (code, ..) in ORGS {
        p.insert(*code, path(st, code).await?);
    }
    for code in [
        "650100-H02",
        "INT-KG-NH",
        "650500-H01",
        "653100-H01-OPH",
        "RH-GD-GDPH-OPH",
        "RH-GD-GDPH",
    ] {
        p.insert(code, path(st, code).await?);
    }
    let data = Data::build(today, &p);
    let reg: Vec<(String, String)> = p.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    st.write(move |tx| {
        Box::pin(async move {
            data.write(tx).await?;
            crate::register::demo(tx, &reg).await
        })
    })
    .await
}

struct Data {
    needs: Vec<NeedRow>,
    offers: Vec<OfferRow>,
    missions: Vec<MissionRow>,
    activities: Vec<ActivityRow>,
    mentorships: Vec<(MentorshipRow, Vec<MilestoneRow>)>,
    staff: Vec<StaffRow>,
    liaison: Vec<LiaisonRow>,
    fellows: fellows::Fellows,
}

type Paths<'a> = std::collections::HashMap<&'a str, String>;

#[allow(clippy::too_many_arguments)]
fn need(
    p: &Paths<'_>,
    key: &str,
    org: &str,
    kind: &str,
    specialty: &str,
    topic: &str,
    priority: &str,
    period: (String, String),
    reason: &str,
    posted: String,
) -> NeedRow {
    NeedRow {
        id: id(key),
        org_code: org.into(),
        org_path: p.get(org).cloned().unwrap_or_default(),
        kind: kind.into(),
        specialty: specialty.into(),
        topic: topic.into(),
        priority: priority.into(),
        wanted_from: period.0,
        wanted_to: period.1,
        reason: reason.into(),
        status: "open".into(),
        mission_id: None,
        posted_by: "coordinator".into(),
        posted_at: posted,
    }
}

#[allow(clippy::too_many_arguments)]
fn offer(
    p: &Paths<'_>,
    key: &str,
    org: &str,
    specialty: &str,
    topic: &str,
    expert: &str,
    period: (String, String),
    note: &str,
) -> OfferRow {
    OfferRow {
        id: id(key),
        org_code: org.into(),
        org_path: p.get(org).cloned().unwrap_or_default(),
        specialty: specialty.into(),
        topic: topic.into(),
        expert: expert.into(),
        posted_at: format!("{}T08:00:00Z", period.0),
        available_from: period.0,
        available_to: period.1,
        note: note.into(),
        posted_by: "expert".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn act(
    mission: &str,
    n: usize,
    d: &str,
    kind: &str,
    topic: &str,
    count: i64,
    people: &str,
    note: &str,
) -> ActivityRow {
    ActivityRow {
        id: id(&format!("{mission}-a{n}")),
        mission_id: id(mission),
        day: d.into(),
        kind: kind.into(),
        topic: topic.into(),
        count,
        people: people.into(),
        note: note.into(),
        recorded_by: "coordinator".into(),
        recorded_at: format!("{d}T12:00:00Z"),
    }
}

impl Data {
    fn build(today: Date, p: &Paths<'_>) -> Data {
        let ts = |offset: i64| format!("{}T09:00:00Z", day(today, offset));
        let period = |a: i64, b: i64| (day(today, a), day(today, b));
        let mut needs = vec![
            need(
                p,
                "need-yiwu-stroke",
                "650522-H01-NEU",
                "technique",
                "神经内科",
                "急性缺血性卒中静脉溶栓与机械取栓",
                "high",
                period(20, 80),
                "边境县卒中患者转诊哈密路途远，需在本院开展溶栓并建立卒中绿色通道。",
                ts(-46),
            ),
            need(
                p,
                "need-hami-pd",
                "650500-H01-NEU",
                "disease",
                "神经内科",
                "帕金森病规范化诊疗与专病门诊",
                "normal",
                period(30, 120),
                "帕金森病专病联盟签约后，需建立专病门诊与随访。",
                ts(-21),
            ),
            need(
                p,
                "need-barkol-ortho",
                "650521-H01-ORT",
                "training",
                "骨科",
                "基层骨科医生关节镜手术培训",
                "normal",
                period(45, 150),
                "",
                ts(-9),
            ),
            need(
                p,
                "need-kashgar-uro",
                "653100-H01-URO",
                "equipment",
                "泌尿外科",
                "5G远程手术机器人操作",
                "low",
                period(60, 200),
                "国家区域医疗中心5G远程手术机器人培训基地。",
                ts(-3),
            ),
            need(
                p,
                "need-kashgar-cataract",
                "653100-H01-OPH",
                "technique",
                "眼科",
                "白内障超声乳化手术",
                "normal",
                period(10, 100),
                "粤新光明行：县级医院白内障手术能力。",
                ts(-30),
            ),
        ];
        let offers = vec![
            offer(
                p,
                "offer-qilu-neu",
                "RH-SD-QILU-NEU",
                "神经内科",
                "机械取栓 静脉溶栓 卒中中心建设",
                "尹森 主任医师",
                period(25, 90),
                "山东大学齐鲁医院神经内科",
            ),
            offer(
                p,
                "offer-xiangya-neu",
                "RH-HN-XY-NEU",
                "神经内科",
                "帕金森病 运动障碍病诊疗",
                "郭纪锋 主任医师",
                period(15, 180),
                "",
            ),
            offer(
                p,
                "offer-pumch-neu",
                "RH-BJ-PUMCH-NEU",
                "神经内科",
                "帕金森病远程会诊与专病门诊",
                "陈立新",
                period(40, 200),
                "",
            ),
            offer(
                p,
                "offer-whuh-tho",
                "RH-HB-WHUH-THO",
                "胸外科",
                "胸腔镜肺癌根治术教学手术",
                "张俊 副主任医师",
                period(5, 60),
                "",
            ),
            offer(
                p,
                "offer-zj-uro",
                "RH-GD-ZJ-URO",
                "泌尿外科",
                "5G远程手术机器人 泌尿外科微创",
                "珠江医院泌尿外科学科带头人",
                period(90, 240),
                "广东名医进疆工程",
            ),
            offer(
                p,
                "offer-gdph-oph",
                "RH-GD-GDPH-OPH",
                "眼科",
                "白内障超声乳化 眼健康AI筛查",
                "",
                period(0, 120),
                "粤新光明行",
            ),
        ];
        // The 2023 Hami mission, as the seed tells it.
        let hami = "mission-hami-2023";
        let mut missions = vec![MissionRow {
            id: id(hami),
            kind: "mission".into(),
            title: "2023「健康丝绸路，医路惠万家——神经系统常见疾病」新疆特培专家服务团".into(),
            site_code: "650500-H01".into(),
            site_path: p.get("650500-H01").cloned().unwrap_or_default(),
            lead_code: "650100-H02".into(),
            lead_path: p.get("650100-H02").cloned().unwrap_or_default(),
            starts_on: "2023-12-04".into(),
            ends_on: "2023-12-10".into(),
            need_id: None,
            offer_id: None,
            team: "尹森（山东大学齐鲁医院）\n郭纪锋（中南大学湘雅医院）\n张俊（华中科技大学同济医学院附属协和医院）\n更·党木仁加甫（新疆医科大学第一附属医院）\n吴勤奋（新疆医科大学第二附属医院）".into(),
            created_by: "coordinator".into(),
            created_at: "2023-11-20T09:00:00Z".into(),
        }];
        let mut activities = vec![
            act(
                hami,
                1,
                "2023-12-04",
                "clinic",
                "哈密市中心医院义诊（神经内科、神经外科、骨科）",
                186,
                "",
                "启动仪式后义诊",
            ),
            act(
                hami,
                2,
                "2023-12-05",
                "operation",
                "神经介入教学手术",
                3,
                "吴勤奋、艾力·买买提",
                "尹森主任医师主刀示教",
            ),
            act(
                hami,
                3,
                "2023-12-05",
                "lecture",
                "神经系统常见病诊断要点与规范治疗",
                85,
                "更·党木仁加甫（主讲）",
                "哈密市及各县医生",
            ),
            act(
                hami,
                4,
                "2023-12-06",
                "ward_round",
                "巴里坤县人民医院教学查房",
                12,
                "巴里坤县人民医院骨科、内科医生",
                "",
            ),
            act(
                hami,
                5,
                "2023-12-07",
                "clinic",
                "伊吾县人民医院义诊",
                142,
                "",
                "",
            ),
            act(
                hami,
                6,
                "2023-12-07",
                "agreement",
                "新疆医科大学第二附属医院—伊吾县人民医院 医疗联合体协议",
                1,
                "新疆医科大学第二附属医院、伊吾县人民医院",
                "",
            ),
            act(
                hami,
                7,
                "2023-12-08",
                "agreement",
                "新疆医科大学第二附属医院—哈密市中心医院 帕金森病专病联盟",
                1,
                "新疆医科大学第二附属医院、哈密市中心医院",
                "",
            ),
            act(
                hami,
                8,
                "2023-12-08",
                "donation",
                "神经内科常用药品",
                36000,
                "",
                "价值（元）",
            ),
            act(
                hami,
                9,
                "2023-12-09",
                "screening",
                "淖毛湖镇边境地区卒中高危人群筛查",
                124,
                "",
                "阳性19人，已登记随访",
            ),
            act(
                hami,
                10,
                "2023-12-09",
                "technique",
                "胸腔镜肺叶切除术（教学手术）",
                1,
                "哈密市中心医院胸外科 马俊",
                "张俊副主任医师",
            ),
        ];
        // Kashgar 2024: the allogeneic stem-cell transplant platform (广东援疆).
        let hsct = "mission-kashgar-hsct-2024";
        let mut hsct_need = need(
            p,
            "need-kashgar-hsct",
            "653100-H01-HEM",
            "technique",
            "血液内科",
            "异基因造血干细胞移植",
            "high",
            ("2024-05-01".into(), "2024-12-31".into()),
            "设备不完善、检测效率慢、移植药物缺乏，南疆无移植平台。",
            "2024-04-10T09:00:00Z".into(),
        );
        hsct_need.status = "planned".into();
        hsct_need.mission_id = Some(id(hsct));
        needs.push(hsct_need);
        missions.push(MissionRow {
            id: id(hsct),
            kind: "mission".into(),
            title: "异基因造血干细胞移植技术攻关小组（喀地一院血液内科）".into(),
            site_code: "653100-H01-HEM".into(),
            site_path: p.get("653100-H01-HEM").cloned().unwrap_or_default(),
            lead_code: "RH-GD-GDPH".into(),
            lead_path: p.get("RH-GD-GDPH").cloned().unwrap_or_default(),
            starts_on: "2024-05-06".into(),
            ends_on: "2024-12-31".into(),
            need_id: Some(id("need-kashgar-hsct")),
            offer_id: None,
            team: "肖非、黄宇贤".into(),
            created_by: "coordinator".into(),
            created_at: "2024-04-20T09:00:00Z".into(),
        });
        activities.extend([
            act(
                hsct,
                1,
                "2024-07-02",
                "agreement",
                "干细胞采集设备与移植用药落实（前方指挥部协调）",
                1,
                "",
                "两个月解决采集设备和移植用药",
            ),
            act(
                hsct,
                2,
                "2024-09-12",
                "technique",
                "异基因造血干细胞移植",
                1,
                "血液内科 阿依努尔·吐尔逊、王磊",
                "首例，移植平台建成",
            ),
            act(
                hsct,
                3,
                "2024-10-15",
                "lecture",
                "移植后移植物抗宿主病的识别与处理",
                26,
                "黄宇贤（主讲）",
                "",
            ),
        ]);
        let (mentorships, staff, liaison) = talent::build(p, today, hami);
        let fellows = fellows::build(p, today);
        Data {
            needs,
            offers,
            missions,
            activities,
            fellows,
            mentorships,
            staff,
            liaison,
        }
    }

    async fn write(self, tx: &mut Tx) -> Result<(), AppError> {
        let who = Principal::cli("demo");
        for m in &self.missions {
            store::insert_mission(tx, m).await?;
        }
        for n in &self.needs {
            store::insert_need(tx, n).await?;
        }
        for o in &self.offers {
            store::insert_offer(tx, o).await?;
        }
        for a in &self.activities {
            store::insert_activity(tx, a).await?;
        }
        for (m, steps) in &self.mentorships {
            store::insert_mentorship(tx, m).await?;
            for s in steps {
                store::insert_milestone(tx, s).await?;
            }
        }
        for s in &self.staff {
            store::insert_staff(tx, s).await?;
        }
        for l in &self.liaison {
            store::insert_liaison(tx, l).await?;
        }
        for m in &self.fellows.fellowships {
            store::insert_mission(tx, m).await?;
        }
        for c in &self.fellows.completions {
            crate::fellowship::insert(tx, c).await?;
        }
        for s in &self.fellows.studios {
            crate::studios::insert(tx, s).await?;
        }
        let detail = format!(
            "{} needs, {} offers, {} missions, {} log entries",
            self.needs.len(),
            self.offers.len(),
            self.missions.len(),
            self.activities.len()
        );
        tx.record(
            &who,
            Event::new(Action::CREATE, "MissionsDemo", "").detail(&detail),
        );
        Ok(())
    }
}
