//! Demo data (Jiashi county 伽师县, Kashgar, as the seeds describe its digital vaccination
//! clinics): a clinic in Jiashi and one in Tokkuzak (the demo nurse's township), infants with
//! their guardians, lots (one near expiry), refrigerators (Jiashi's with a past excursion and a
//! quarantined lot), a week of doses and a morning queue at every station.
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tianshan_platform::auth::{Channel, Principal};
use tianshan_platform::scope::{PermSet, Scope};
use tianshan_platform::{AppError, Platform};
use tianshan_registry::facade::{self, CreateOptions, GuardianInput, PatientInput, Registered};
use time::Duration;

use crate::domain::{self, Screening};
use crate::service::{self as svc, CheckIn, DeviceInput, LotInput};

pub const JIASHI_CLINIC: &str = "653129100-VC";
pub const TOKKUZAK_CLINIC: &str = "653121100-VC";
/// Barin village (巴仁村), Jiashi: the demo's village with a village doctor.
pub const JIASHI_VILLAGE: &str = "653129100201";

pub fn loader(st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(load(st))
}

fn demo_principal() -> Principal {
    let mut p = Principal::cli("demo");
    p.display_name = "古丽娜尔·买买提".into();
    p.perms = Arc::new(PermSet::new(
        [
            "registry.patients.read",
            "registry.patients.write",
            "vaccination.read",
            "vaccination.administer",
            "vaccination.stock",
        ]
        .into_iter()
        .map(str::to_string),
    ));
    p.scope = Scope {
        path: None,
        subtree: true,
    };
    p.channel = Channel::Cli;
    p
}

const CHILDREN: &[(&str, &str, &str, &str, i64)] = &[
    // (given name in Chinese, Uyghur script, Latin, sex, age in days)
    ("艾力·买买提", "ئەلى مەمەت", "Eli Memet", "male", 3),
    (
        "阿依古丽·吐尔逊",
        "ئايگۈل تۇرسۇن",
        "Aygul Tursun",
        "female",
        62,
    ),
    ("买买提·艾力", "مەمەت ئەلى", "Memet Eli", "male", 95),
    (
        "古丽米拉·阿不都",
        "گۈلمىرا ئابدۇ",
        "Gulmira Abdu",
        "female",
        122,
    ),
    (
        "努尔艾力·热合曼",
        "نۇرئەلى رەھمان",
        "Nurali Rehman",
        "male",
        184,
    ),
    ("热依拉·艾力", "رەيلا ئەلى", "Reyla Eli", "female", 245),
    ("张小红", "", "Zhang Xiaohong", "female", 250),
    ("王晓东", "", "Wang Xiaodong", "male", 370),
];

async fn register_child(
    st: &Platform,
    who: &Principal,
    i: usize,
    village: &str,
) -> Result<Option<String>, AppError> {
    let (zh, ug, la, sex, age) = CHILDREN[i % CHILDREN.len()];
    let birth = st.clock.now().date() - Duration::days(age + (i as i64 / 8) * 7);
    let input = PatientInput {
        given_name: zh.to_string(),
        name_ug: ug.to_string(),
        name_latin: la.to_string(),
        sex: sex.to_string(),
        birth_date: domain::date_text(birth),
        ethnicity: if ug.is_empty() { "01" } else { "05" }.to_string(),
        org_code: village.to_string(),
        phone: format!("139{:08}", 9_100_000 + i * 7717),
        guardians: vec![GuardianInput {
            name: format!("{}的母亲", zh.split('·').next().unwrap_or(zh)),
            relationship: "mother".into(),
            phone: format!("139{:08}", 9_100_000 + i * 7717),
            patient_id: None,
        }],
        ..Default::default()
    };
    let opts = CreateOptions {
        confirmed_not_duplicate: true,
        ..Default::default()
    };
    Ok(
        match facade::register_patient(st, who, &input, opts).await? {
            Registered::Created(p) => Some(p.id),
            Registered::Duplicates(_) => None,
        },
    )
}

pub async fn load(st: &Platform) -> Result<(), AppError> {
    let who = demo_principal();
    facade::ensure_org(
        st,
        "653129",
        Some("653100"),
        "county",
        ["伽师县", "پەيزىۋات ناھىيەسى", "Jiashi County"],
    )
    .await?;
    facade::ensure_org(
        st,
        "653129100",
        Some("653129"),
        "township",
        ["巴仁镇", "بارىن بازىرى", "Barin Town"],
    )
    .await?;
    facade::ensure_org(
        st,
        JIASHI_VILLAGE,
        Some("653129100"),
        "village",
        ["巴仁村", "بارىن كەنتى", "Barin Village"],
    )
    .await?;
    // Barin village's doctor (乡村医生), who traces its overdue children.
    facade::ensure_practitioner(
        st,
        &who,
        "pr-jiashi-vd01",
        JIASHI_VILLAGE,
        [
            "阿不都热西提·吐尔逊",
            "ئابدۇرەشىت تۇرسۇن",
            "Abdureshit Tursun",
        ],
        "乡村医生",
        "全科",
    )
    .await?;
    facade::ensure_org(
        st,
        JIASHI_CLINIC,
        Some("653129100"),
        "clinic",
        [
            "巴仁镇数字化预防接种门诊",
            "بارىن بازارلىق ئەملەش ئورنى",
            "Barin Town Vaccination Clinic",
        ],
    )
    .await?;
    facade::ensure_org(
        st,
        TOKKUZAK_CLINIC,
        Some("653121100"),
        "clinic",
        [
            "托克扎克镇预防接种门诊",
            "توققۇزاق بازارلىق ئەملەش ئورنى",
            "Tokkuzak Town Vaccination Clinic",
        ],
    )
    .await?;

    let today = st.clock.now().date();
    for (clinic, fridge) in [(JIASHI_CLINIC, "JS-BR-F01"), (TOKKUZAK_CLINIC, "SF-TK-F01")] {
        svc::create_device(
            st,
            &who,
            DeviceInput {
                id: fridge.into(),
                org_code: clinic.into(),
                name: if clinic == JIASHI_CLINIC {
                    "1号冷藏冰箱".into()
                } else {
                    "冷藏冰箱".into()
                },
                kind: "refrigerator".into(),
                min_c: Some(2.0),
                max_c: Some(8.0),
                excursion_minutes: Some(60),
            },
        )
        .await?;
        let lots: &[(&str, &str, &str, i64, i64)] = &[
            ("HepB", "20250612", "深圳康泰生物", 400, 300),
            ("BCG", "202505B08", "上海生物制品研究所", 200, 120),
            ("bOPV", "C202507031", "北京生物制品研究所", 300, 260),
            (
                "IPV",
                "202504067",
                "中国医学科学院医学生物学研究所",
                300,
                160,
            ),
            ("DTaP", "202506A112", "武汉生物制品研究所", 400, 180),
            ("MMR", "202503M021", "北京生物制品研究所", 200, 20),
            ("JE-L", "202502J17", "成都生物制品研究所", 200, 90),
            ("MPSV-A", "202501A05", "兰州生物制品研究所", 200, 80),
        ];
        for (i, (product, lot_no, maker, days, qty)) in lots.iter().enumerate() {
            // MMR's lot expires in three weeks: the expiry warning of the demo.
            let expiry = today + Duration::days(if *product == "MMR" { 21 } else { *days });
            svc::receive_lot(
                st,
                &who,
                LotInput {
                    org_code: clinic.into(),
                    product_code: (*product).into(),
                    lot_no: format!("{lot_no}{}", if clinic == JIASHI_CLINIC { "" } else { "T" }),
                    manufacturer: (*maker).into(),
                    expiry: domain::date_text(expiry),
                    quantity: *qty,
                    doses_per_vial: if *product == "BCG" { 10 } else { 1 },
                    // Reconstituted BCG is discarded four hours after opening.
                    open_policy: if *product == "BCG" { "hours" } else { "none" }.into(),
                    open_hours: if *product == "BCG" { 4 } else { 0 },
                    device_id: if (1..4).contains(&i) || clinic == TOKKUZAK_CLINIC {
                        Some(fridge.into())
                    } else {
                        None
                    },
                },
            )
            .await?;
        }
    }
    // A past excursion in Jiashi: the fridge's door left ajar three days ago, 11.5 °C for 90 minutes.
    if let Some(d) = crate::store::device(&st.db, "JS-BR-F01").await? {
        let start = st.clock.now() - Duration::days(3);
        for k in 0..16i64 {
            let t = if (2..=10).contains(&k) { 115 } else { 45 };
            svc::ingest(st, &who, d.clone(), start + Duration::minutes(10 * k), t).await?;
        }
    }
    // Children: eight in Jiashi, eight in Ayagh Menggen (the nurse's township).
    let mut jiashi = Vec::new();
    let mut tokkuzak = Vec::new();
    for i in 0..8 {
        if let Some(id) = register_child(st, &who, i, JIASHI_VILLAGE).await? {
            jiashi.push(id);
        }
        if let Some(id) = register_child(st, &who, i + 8, "653121100201").await? {
            tokkuzak.push(id);
        }
    }
    // A week of doses from the Tokkuzak clinic: HepB and BCG at birth for the older infants.
    for (n, id) in tokkuzak.iter().enumerate().skip(1) {
        let days = (n as i64) % 7 + 1;
        let given = today - Duration::days(days);
        let who2 = who.clone();
        let id = id.clone();
        let p = facade::require_patient(st, &who, &id).await?;
        st.write(move |tx| {
            Box::pin(async move {
                for (code, cvx, lot) in [("HepB", 8, "20250612T"), ("BCG", 19, "202505B08T")] {
                    let d = crate::store::DoseRow {
                        id: tianshan_platform::new_id(),
                        patient_id: id.clone(),
                        patient_path: p.org_path.clone(),
                        org_code: TOKKUZAK_CLINIC.into(),
                        product_code: code.into(),
                        cvx,
                        lot_id: None,
                        lot_no: lot.into(),
                        given_on: domain::date_text(given),
                        site: if code == "BCG" {
                            "LA".into()
                        } else {
                            "RT".into()
                        },
                        route: if code == "BCG" {
                            "ID".into()
                        } else {
                            "IM".into()
                        },
                        vaccinator: "古丽娜尔·买买提".into(),
                        source: "clinic".into(),
                        visit_id: None,
                        status: "completed".into(),
                        recorded_by: who2.username.clone(),
                        created_at: tx.now().to_string(),
                    };
                    crate::store::insert_dose(tx, &d).await?;
                }
                Ok(())
            })
        })
        .await?;
    }
    // This morning's queue in both clinics: children at every station.
    for (clinic, kids) in [(TOKKUZAK_CLINIC, &tokkuzak), (JIASHI_CLINIC, &jiashi)] {
        for (n, id) in kids.iter().enumerate().take(6) {
            let v = svc::check_in(
                st,
                &who,
                &CheckIn {
                    clinic_code: clinic.into(),
                    patient_id: id.clone(),
                },
            )
            .await?;
            if n >= 2 {
                let v2 = svc::screen(
                    st,
                    &who,
                    &v.id,
                    svc::ScreeningInput {
                        answers: Screening::default(),
                        return_date: String::new(),
                    },
                )
                .await?;
                if n >= 3 {
                    let lot = if clinic == TOKKUZAK_CLINIC {
                        "20250612T"
                    } else {
                        "20250612"
                    };
                    svc::register(
                        st,
                        &who,
                        &v2.id,
                        svc::Registration {
                            products: vec!["HepB".into()],
                            consent_by: "母亲".into(),
                        },
                    )
                    .await?;
                    if n >= 4 {
                        svc::vaccinate(
                            st,
                            &who,
                            &v2.id,
                            svc::VaccinationInput {
                                doses: vec![svc::VaccinationDose {
                                    product_code: "HepB".into(),
                                    lot_no: lot.into(),
                                    site: "RT".into(),
                                    route: "IM".into(),
                                }],
                                vaccinator: "古丽娜尔·买买提".into(),
                            },
                        )
                        .await?;
                    }
                }
            }
        }
    }
    Ok(())
}
