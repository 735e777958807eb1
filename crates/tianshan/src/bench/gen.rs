//! Generated patients for the registry benchmark: Han and Uyghur names in the proportions of
//! the demo villages, valid and distinct resident ID numbers, deterministic for a given seed.
use tianshan_registry::bulk::{check_char, pinyin_initials, Sample};
use tianshan_registry::facade::PatientInput;
use time::Date;

/// A small deterministic generator (SplitMix64): the same run gives the same patients.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Skewed towards 0, as surname frequencies are: 王, 李 and 张 far ahead of the rest.
    fn skewed(&mut self, n: usize) -> usize {
        let r = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((r * r * n as f64) as usize).min(n.saturating_sub(1))
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The hundred most frequent Han surnames, most frequent first.
const HAN_FAMILY: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴",
    "莫", "孔", "向", "汤",
];
const HAN_GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "斌", "鹏", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "阳", "瑞", "博", "亮", "成",
    "彬", "翔", "志", "海", "春", "新", "利", "荣", "生", "福", "松", "庆", "德", "江", "山", "东",
    "峰", "建", "国", "文", "华", "兵", "林", "晨", "毅", "刚", "力", "永",
];
const HAN_GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "秀", "英", "敏", "静", "丽", "艳", "娟", "兰", "霞", "桂", "红", "玉", "萍", "雪",
    "琳", "婷", "慧", "颖", "倩", "晶", "丹", "欣", "蕾", "璐", "梅", "燕", "春", "云", "凤", "君",
    "美", "佳", "欢", "月", "莉", "琴", "洁", "琼", "晓", "小", "亚", "彩", "金", "淑", "珍", "华",
    "霞", "瑶", "怡", "楠", "雨", "萱", "涵", "妍", "婧", "薇", "茜", "露",
];

/// Uyghur personal names: (Chinese transliteration, Uyghur Arabic script, Latin).
type UgName = (&'static str, &'static str, &'static str);
const UG_MALE: &[UgName] = &[
    ("艾力", "ئەلى", "Eli"),
    ("买买提", "مەمەت", "Memet"),
    ("吐尔逊", "تۇرسۇن", "Tursun"),
    ("艾买提", "ئەخمەت", "Ehmet"),
    ("阿不都", "ئابدۇ", "Abdu"),
    ("依明", "ئىمىن", "Imin"),
    ("卡德尔", "قادىر", "Qadir"),
    ("玉苏甫", "يۈسۈپ", "Yusup"),
    ("努尔", "نۇر", "Nur"),
    ("艾则孜", "ئەزىز", "Eziz"),
    ("热合曼", "رەھمان", "Rehman"),
    ("阿布拉", "ئابلا", "Abla"),
    ("库尔班", "قۇربان", "Qurban"),
    ("肉孜", "روزى", "Rozi"),
    ("吐尔洪", "تۇرغۇن", "Turghun"),
    ("斯拉木", "ئىسلام", "Islam"),
    ("亚森", "ياسىن", "Yasin"),
    ("哈力克", "خالىق", "Xaliq"),
    ("买合木提", "مەخمۇت", "Mexmut"),
    ("阿迪力", "ئادىل", "Adil"),
    ("塔依尔", "تاھىر", "Tahir"),
    ("亚库甫", "ياقۇپ", "Yaqup"),
    ("伊力哈木", "ئىلھام", "Ilham"),
    ("木拉提", "مۇرات", "Murat"),
    ("吾斯曼", "ئوسمان", "Osman"),
    ("司马义", "ئىسمائىل", "Ismail"),
    ("沙塔尔", "ساتتار", "Sattar"),
    ("排尔哈提", "پەرھات", "Perhat"),
    ("阿里木", "ئالىم", "Alim"),
    ("米吉提", "مىجىت", "Mijit"),
    ("艾尼瓦尔", "ئەنۋەر", "Enwer"),
    ("克然木", "كېرىم", "Kerim"),
    ("尼亚孜", "نىياز", "Niyaz"),
    ("麦麦提敏", "مەمتىمىن", "Memtimin"),
    ("阿布都热依木", "ئابدۇرېھىم", "Abdurehim"),
    ("热西提", "رەشىت", "Reshit"),
    ("吐逊", "تۇسۇن", "Tusun"),
    ("阿克木", "ئەكرەم", "Ekrem"),
    ("伊斯坎德尔", "ئىسكەندەر", "Iskender"),
    ("巴拉提", "بارات", "Barat"),
];
const UG_FEMALE: &[UgName] = &[
    ("阿依古丽", "ئايگۈل", "Aygul"),
    ("古丽米拉", "گۈلمىرا", "Gulmira"),
    ("热依拉", "رەيلا", "Reyla"),
    ("帕提古丽", "پاتىگۈل", "Patigul"),
    ("米娜瓦尔", "مىناۋەر", "Minawer"),
    ("祖丽菲亚", "زۇلپىيە", "Zulpiye"),
    ("阿孜古丽", "ئازىگۈل", "Azigul"),
    ("努尔古丽", "نۇرگۈل", "Nurgul"),
    ("阿依努尔", "ئاينۇر", "Aynur"),
    ("古丽娜尔", "گۈلنار", "Gulnar"),
    ("迪丽努尔", "دىلنۇر", "Dilnur"),
    ("热娜古丽", "رەناگۈل", "Renagul"),
    ("帕丽达", "پەرىدە", "Peride"),
    ("阿瓦古丽", "ئاۋاگۈل", "Awagul"),
    ("再努尔", "زەينۇر", "Zeynur"),
    ("茹仙古丽", "رۇشەنگۈل", "Rushengul"),
    ("阿米娜", "ئامىنە", "Amine"),
    ("古丽巴哈尔", "گۈلباھار", "Gulbahar"),
    ("麦尔耶姆", "مەريەم", "Meryem"),
    ("阿依夏木", "ئائىشەم", "Ayshem"),
    ("图尔荪娜依", "تۇرسۇنناي", "Tursunnay"),
    ("左合热", "زۆھرە", "Zohre"),
    ("西仁古丽", "شىرىنگۈل", "Shiringul"),
    ("哈丽旦", "خالىدە", "Xalide"),
];
/// Men's names often carry -jan (江): 艾力江 Elijan.
const JAN: UgName = ("江", "جان", "jan");

/// A village patients are registered in: its code and materialised path.
#[derive(Debug, Clone)]
pub struct Village {
    pub code: String,
    pub path: String,
    /// Share of Uyghur residents, in percent (Kashgar villages high, Hami lower).
    pub uyghur_percent: u64,
}

/// What the benchmark searches for, taken from the patients it generated.
#[derive(Debug, Default)]
pub struct Samples {
    pub full_names: Vec<String>,
    pub initials: Vec<String>,
    pub id_numbers: Vec<String>,
}

/// First and last birth date generated, and how many days lie between.
const FIRST_BIRTH_YEAR: i32 = 1940;
const BIRTH_DAYS: u64 = 31_000;
/// Birth days are visited in a scrambled order: `i * STRIDE mod BIRTH_DAYS` (STRIDE is prime,
/// so coprime to BIRTH_DAYS), and the sequence number grows each time all days are used, so
/// (birth date, sequence) — hence the ID number — is distinct for every generated patient.
const STRIDE: u64 = 7_919;
/// Sequence numbers 500–999 are the benchmark's; the demo patients use 0–479.
const SEQ_BASE: u64 = 500;

pub fn resident_id(region: &str, birth: Date, seq: u64, male: bool) -> String {
    let seq = seq * 2 + u64::from(male);
    let first17 = format!(
        "{}{:04}{:02}{:02}{:03}",
        &region[..6.min(region.len())],
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        seq % 1000
    );
    let digits: Vec<u32> = first17.chars().filter_map(|c| c.to_digit(10)).collect();
    format!("{first17}{}", check_char(&digits))
}

fn birth_day(offset: u64) -> Date {
    let first = Date::from_calendar_date(FIRST_BIRTH_YEAR, time::Month::January, 1)
        .map(|d| d.to_julian_day())
        .unwrap_or(2_429_630);
    Date::from_julian_day(first + offset as i32).unwrap_or(Date::MIN)
}

/// Patient number `i`'s raw input, as a registration clerk would type it.
pub fn patient_input(i: u64, villages: &[Village], rng: &mut Rng) -> PatientInput {
    let v = &villages[(i % villages.len().max(1) as u64) as usize];
    let day = i.wrapping_mul(STRIDE) % BIRTH_DAYS;
    let round = i / BIRTH_DAYS;
    let birth = birth_day(day);
    let mut p = PatientInput {
        org_code: v.code.clone(),
        birth_date: birth.to_string(),
        ..Default::default()
    };
    let male = rng.percent(50);
    if rng.percent(v.uyghur_percent) {
        let with_jan = |n: UgName, jan: bool| {
            if jan {
                (
                    format!("{}{}", n.0, JAN.0),
                    format!("{}{}", n.1, JAN.1),
                    format!("{}{}", n.2, JAN.2),
                )
            } else {
                (n.0.to_string(), n.1.to_string(), n.2.to_string())
            }
        };
        let own = if male {
            *rng.pick(UG_MALE)
        } else {
            *rng.pick(UG_FEMALE)
        };
        let given = with_jan(own, male && rng.percent(25));
        let fathers = *rng.pick(UG_MALE);
        let father = with_jan(fathers, rng.percent(15));
        p.given_name = format!("{}·{}", given.0, father.0);
        p.name_ug = format!("{} {}", given.1, father.1);
        p.name_latin = format!("{} {}", given.2, father.2);
        p.ethnicity = "05".into();
    } else {
        let family = HAN_FAMILY[rng.skewed(HAN_FAMILY.len())];
        let pool = if male {
            HAN_GIVEN_MALE
        } else {
            HAN_GIVEN_FEMALE
        };
        let given = if rng.percent(70) {
            format!("{}{}", rng.pick(pool), rng.pick(pool))
        } else {
            rng.pick(pool).to_string()
        };
        p.family_name = family.into();
        p.given_name = given;
        p.ethnicity = if rng.percent(6) { "03" } else { "01" }.into();
    }
    p.sex = if male { "male" } else { "female" }.into();
    // Most adults carry their ID number; about half of the children are registered without one.
    let child = birth.year() >= 2012;
    if round < 250 && !(child && rng.percent(50)) {
        p.id_number = resident_id(&v.code, birth, SEQ_BASE / 2 + round, male);
    }
    p.phone = format!("1{}{:09}", 3 + rng.below(7), rng.below(1_000_000_000));
    p.address = format!("{}号", 1 + rng.below(300));
    p
}

/// The query forms of a generated patient: full name, 2–3 pinyin initials, ID number.
pub fn sample(d: &Sample, rng: &mut Rng, s: &mut Samples) {
    s.full_names.push(d.full_name.clone());
    let initials = pinyin_initials(&d.full_name);
    let take = if rng.percent(50) { 2 } else { 3 };
    let prefix: String = initials.chars().take(take).collect();
    if prefix.chars().count() >= 2 {
        s.initials.push(prefix);
    }
    if let Some(id) = &d.id_number {
        s.id_numbers.push(id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tianshan_registry::resident_id::ResidentId;

    #[test]
    fn generated_patients_are_valid_and_their_id_numbers_distinct() {
        let villages = vec![
            Village {
                code: "653121100201".into(),
                path: "/x/".into(),
                uyghur_percent: 70,
            },
            Village {
                code: "650522101201".into(),
                path: "/y/".into(),
                uyghur_percent: 25,
            },
        ];
        let today = Date::from_calendar_date(2026, time::Month::November, 22).unwrap();
        let mut rng = Rng::new(7);
        let mut ids = std::collections::HashSet::new();
        // Cross one full round of birth days to check the sequence number moves on.
        for i in (0..2_000).chain(BIRTH_DAYS - 500..BIRTH_DAYS + 500) {
            let input = patient_input(i, &villages, &mut rng);
            let (_, d) =
                tianshan_registry::bulk::prepare(format!("p{i}"), &input, today, "/x/".into())
                    .unwrap_or_else(|e| panic!("patient {i} {input:?}: {e:?}"));
            if let Some(id) = d.id_number {
                assert!(ResidentId::parse(&id).is_ok());
                assert!(ids.insert(id.clone()), "duplicate ID number {id}");
            }
        }
        assert!(ids.len() > 2_000);
    }
}
