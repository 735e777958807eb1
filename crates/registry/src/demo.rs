//! Demo data: the organisation tree of Kashgar and Hami, two rear hospitals, one international
//! partner, departments, practitioners and patients with Chinese and Uyghur names, generated
//! deterministically so every demo looks the same.
use std::collections::HashMap;

use futures_util::future::BoxFuture;
use tianshan_platform::auth;
use tianshan_platform::db::Tx;
use tianshan_platform::scope::builtin;
use tianshan_platform::users::{self, By, NewUser};
use tianshan_platform::{AppError, Platform};

use crate::domain::patient::GuardianInput;
use crate::domain::resident_id::check_char;
use crate::domain::PatientInput;
use crate::store::orgs::{self, NewOrg};
use crate::store::patients;
use crate::store::practitioners::{self, PractitionerData};

mod tree;

use tree::TREE;

/// Demo logins: (username, password, role, scope, display name)
/// (username, password, role, scope, display name)
pub const DEMO_USERS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "admin",
        "tianshan-admin",
        builtin::ADMINISTRATOR,
        None,
        "马建国",
    ),
    (
        "coordinator",
        "tianshan-coord",
        builtin::COORDINATOR,
        Some("650000"),
        "王志强",
    ),
    (
        "doctor",
        "tianshan-doctor",
        builtin::CLINICIAN,
        Some("653100"),
        "阿里木·吐尔逊",
    ),
    (
        "nurse",
        "tianshan-nurse",
        builtin::NURSE,
        Some("653121100"),
        "古丽娜尔·买买提",
    ),
    (
        "official",
        "tianshan-official",
        builtin::OFFICIAL,
        Some("650500"),
        "李红梅",
    ),
    (
        "expert",
        "tianshan-expert",
        builtin::CLINICIAN,
        Some("RH-BJ-PUMCH"),
        "陈立新",
    ),
    (
        "partner",
        "tianshan-partner",
        builtin::PARTNER,
        Some("INT-KG-NH"),
        "Asel Bekova",
    ),
];

/// A demo login as `tianshan serve --demo` prints it and README.md lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub username: &'static str,
    pub password: &'static str,
    pub role: &'static str,
    /// `whole network`, or the scope node: `township 653121100 (Tokkuzak Town)`.
    pub scope: String,
}

impl DemoLogin {
    /// The row of README.md's table of demo logins.
    pub fn readme_row(&self) -> String {
        format!(
            "| `{}` | `{}` | {} | {} |",
            self.username, self.password, self.role, self.scope
        )
    }
}

/// Every demo login, with its scope described from the demo tree (in English, as the
/// terminal and the README are).
pub fn demo_logins() -> Vec<DemoLogin> {
    DEMO_USERS
        .iter()
        .map(|(username, password, role, scope, _)| DemoLogin {
            username,
            password,
            role,
            scope: match scope {
                None => "whole network".to_string(),
                Some(code) => match TREE.iter().find(|n| n.0 == *code) {
                    Some((_, _, kind, _, _, en)) => {
                        let kind = match *kind {
                            "rear_hospital" => "rear hospital",
                            "partner" => "international partner",
                            k => k,
                        };
                        format!("{kind} {code} ({en})")
                    }
                    None => (*code).to_string(),
                },
            },
        })
        .collect()
}

const HAN_FAMILY: &[&str] = &[
    "张", "王", "李", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡",
];
const HAN_GIVEN: &[&str] = &[
    "三", "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀英", "建华", "海燕", "志强", "小红", "晓东",
];
/// Uyghur names: (Chinese transliteration, Arabic script, Latin)
const UG_NAMES: &[(&str, &str, &str)] = &[
    ("艾力", "ئەلى", "Eli"),
    ("买买提", "مەمەت", "Memet"),
    ("阿依古丽", "ئايگۈل", "Aygul"),
    ("吐尔逊", "تۇرسۇن", "Tursun"),
    ("古丽米拉", "گۈلمىرا", "Gulmira"),
    ("艾买提", "ئەخمەت", "Ehmet"),
    ("努尔", "نۇر", "Nur"),
    ("热依拉", "رەيلا", "Reyla"),
    ("阿不都", "ئابدۇ", "Abdu"),
    ("帕提古丽", "پاتىگۈل", "Patigul"),
    ("依明", "ئىمىن", "Imin"),
    ("米娜瓦尔", "مىناۋەر", "Minawer"),
    ("卡德尔", "قادىر", "Qadir"),
    ("祖丽菲亚", "زۇلپىيە", "Zulpiye"),
    ("玉苏甫", "يۈسۈپ", "Yusup"),
    ("阿孜古丽", "ئازىگۈل", "Azigul"),
];
const FEMALE_UG: &[usize] = &[2, 4, 7, 9, 11, 13, 15];
const VILLAGES: &[&str] = &[
    "653121100201",
    "653121100202",
    "653121101201",
    "653122100201",
    "650522101201",
    "650521100201",
];

fn resident_id(region: &str, birth: &str, seq: u32, male: bool) -> String {
    let seq = seq % 500 * 2 + if male { 1 } else { 0 };
    let first17 = format!(
        "{}{}{:03}",
        &region[..6],
        birth.replace('-', ""),
        seq % 1000
    );
    let digits: Vec<u32> = first17.chars().filter_map(|c| c.to_digit(10)).collect();
    format!("{first17}{}", check_char(&digits))
}

/// Load the demo into an empty database; a database that already has users is left alone.
/// Returns whether anything was loaded.
pub async fn load(st: &Platform) -> Result<bool, AppError> {
    if auth::user_count(&st.db).await? > 0 {
        return Ok(false);
    }
    st.write(|tx| {
        Box::pin(async move {
            let mut paths: HashMap<&'static str, String> = HashMap::new();
            for (code, parent, kind, zh, ug, en) in TREE {
                let path = match parent {
                    Some(p) => format!("{}{code}/", paths.get(p).cloned().unwrap_or_default()),
                    None => format!("/{code}/"),
                };
                let o = NewOrg {
                    code: code.to_string(),
                    parent_code: parent.map(str::to_string),
                    kind: kind.to_string(),
                    name_zh: zh.to_string(),
                    name_ug: ug.to_string(),
                    name_en: en.to_string(),
                };
                orgs::insert(tx, &o, &path).await?;
                paths.insert(code, path);
            }
            load_practitioners(tx, &paths).await?;
            Ok(())
        })
    })
    .await?;
    for (username, password, role, scope, name) in DEMO_USERS {
        users::create_user(
            &st.db,
            &st.clock,
            By::Cli,
            NewUser {
                username,
                password,
                roles: vec![role.to_string()],
                scope_code: *scope,
                display_name: name,
                locale: if *role == builtin::PARTNER {
                    "en"
                } else {
                    "zh-Hans"
                },
            },
        )
        .await?;
    }
    let today = st.clock.now().date();
    st.write(move |tx| Box::pin(async move { load_patients(tx, today).await }))
        .await?;
    Ok(true)
}

/// The registry's demo as a module's demo loader.
pub fn loader(st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(async move { load(st).await.map(|_| ()) })
}

fn path_of(paths: &HashMap<&'static str, String>, code: &str) -> Result<String, AppError> {
    paths.get(code).cloned().ok_or(AppError::NotFound)
}

async fn load_practitioners(
    tx: &mut Tx,
    paths: &HashMap<&'static str, String>,
) -> Result<(), AppError> {
    let places: &[(&str, &str)] = &[
        ("653100-H01-ED", "急诊医学"),
        ("653100-H01-TC", "创伤外科"),
        ("653100-H01-OPH", "眼科"),
        ("653100-H01-PED", "儿科"),
        ("653121-H01-PH", "预防接种"),
        ("653121100-C01", "全科"),
        ("650500-H01-CAR", "心血管内科"),
        ("RH-GD-GDPH-OPH", "眼科"),
        ("RH-BJ-PUMCH-CAR", "心血管内科"),
        ("INT-KG-NH", "General surgery"),
    ];
    let titles = ["主任医师", "副主任医师", "主治医师", "住院医师", "主管护师"];
    for i in 0..36usize {
        let (org_code, specialty) = places[i % places.len()];
        let path = path_of(paths, org_code)?;
        let mut p = PractitionerData {
            org_code: org_code.into(),
            specialty: specialty.into(),
            title: titles[i % titles.len()].into(),
            license_no: format!("1106500{:08}", 1000 + i),
            phone: format!("1399{:07}", 1_000_000 + i * 37),
            fhir_extra: "{}".into(),
            ..Default::default()
        };
        if i % 2 == 0 {
            let (zh, ug, la) = UG_NAMES[i % UG_NAMES.len()];
            let (fzh, fug, fla) = UG_NAMES[(i + 3) % UG_NAMES.len()];
            p.given_name = format!("{zh}·{fzh}");
            p.name_ug = format!("{ug} {fug}");
            p.name_latin = format!("{la} {fla}");
            p.sex = if FEMALE_UG.contains(&(i % UG_NAMES.len())) {
                "female"
            } else {
                "male"
            }
            .into();
        } else {
            p.family_name = HAN_FAMILY[i % HAN_FAMILY.len()].into();
            p.given_name = HAN_GIVEN[(i * 7) % HAN_GIVEN.len()].into();
            p.sex = if i % 3 == 0 { "female" } else { "male" }.into();
        }
        practitioners::insert(tx, &format!("pr-{:04}", i + 1), &p, &path).await?;
    }
    Ok(())
}

async fn load_patients(tx: &mut Tx, today: time::Date) -> Result<(), AppError> {
    let paths: HashMap<&str, String> = TREE.iter().map(|n| n.0).zip(tree_paths()).collect();
    // Everyone's favourite test patient comes first, so `zs` always finds 张三.
    let mut adults: Vec<(String, String, String)> = Vec::new();
    for i in 0..240u32 {
        let village = VILLAGES[(i as usize) % VILLAGES.len()];
        let org_path = paths.get(village).cloned().ok_or(AppError::NotFound)?;
        let child = i % 4 == 3;
        let year = if child {
            2018 + (i % 8)
        } else {
            1950 + (i * 7) % 55
        };
        let birth = format!("{year}-{:02}-{:02}", 1 + i % 12, 1 + (i * 3) % 28);
        let uyghur = i % 3 != 0;
        let mut p = PatientInput {
            birth_date: birth.clone(),
            org_code: village.into(),
            phone: format!("138{:08}", 10_000_000 + i * 7919 % 89_999_999),
            ..Default::default()
        };
        let male;
        if i == 0 {
            p.family_name = "张".into();
            p.given_name = "三".into();
            p.name_latin = "Zhang San".into();
            p.ethnicity = "01".into();
            male = true;
        } else if uyghur {
            let a = (i as usize * 5) % UG_NAMES.len();
            let b = (i as usize * 3 + 1) % UG_NAMES.len();
            let (zh, ug, la) = UG_NAMES[a];
            let (fzh, fug, fla) = UG_NAMES[b];
            p.given_name = format!("{zh}·{fzh}");
            p.name_ug = format!("{ug} {fug}");
            p.name_latin = format!("{la} {fla}");
            p.ethnicity = "05".into();
            male = !FEMALE_UG.contains(&a);
        } else {
            p.family_name = HAN_FAMILY[(i as usize) % HAN_FAMILY.len()].into();
            p.given_name = HAN_GIVEN[(i as usize * 7) % HAN_GIVEN.len()].into();
            p.ethnicity = if i % 5 == 0 { "03" } else { "01" }.into();
            male = i % 2 == 0;
        }
        p.sex = if male { "male" } else { "female" }.into();
        if !child || i % 8 == 3 {
            p.id_number = resident_id(village, &birth, i, male);
        }
        if child {
            if let Some((gid, gname, gphone)) = adults.last() {
                p.guardians.push(GuardianInput {
                    name: gname.clone(),
                    relationship: "mother".into(),
                    phone: gphone.clone(),
                    patient_id: Some(gid.clone()),
                });
            }
        }
        let draft = p.validate(today).map_err(AppError::Invalid)?;
        let id = format!("demo-{:04}", i + 1);
        patients::insert(tx, &id, &draft, &org_path, "{}").await?;
        if !child && !male {
            adults.push((id.clone(), draft.full_name.clone(), draft.phone.clone()));
        }
        if i % 10 == 1 {
            let shared = if i % 20 == 1 {
                "RH-BJ-PUMCH"
            } else {
                "INT-KG-NH"
            };
            let spath = paths.get(shared).cloned().ok_or(AppError::NotFound)?;
            patients::share(tx, &id, shared, &spath, "demo").await?;
        }
    }
    Ok(())
}

/// The materialised path of every node of [`TREE`], in the same order.
fn tree_paths() -> Vec<String> {
    let mut paths: HashMap<&str, String> = HashMap::new();
    let mut out = Vec::with_capacity(TREE.len());
    for (code, parent, ..) in TREE {
        let path = match parent {
            Some(p) => format!("{}{code}/", paths.get(p).cloned().unwrap_or_default()),
            None => format!("/{code}/"),
        };
        paths.insert(code, path.clone());
        out.push(path);
    }
    out
}
