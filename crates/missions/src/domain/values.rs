//! The values the talent figures are counted by: a trainee's post (professional title) and
//! ethnic group (GB 3304), so an import cannot split one group under two spellings.

/// Professional titles (职称) a trainee may hold.
pub const TRAINEE_POSTS: [&str; 22] = [
    "医士",
    "医师",
    "住院医师",
    "主治医师",
    "副主任医师",
    "主任医师",
    "护士",
    "护师",
    "主管护师",
    "副主任护师",
    "主任护师",
    "药士",
    "药师",
    "主管药师",
    "副主任药师",
    "主任药师",
    "技士",
    "技师",
    "主管技师",
    "副主任技师",
    "主任技师",
    "乡村医生",
];

/// GB 3304 codes and names of the ethnic groups.
const ETHNIC_GROUPS: [(&str, &str); 58] = [
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌孜别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
    ("97", "其他"),
    ("98", "外国血统"),
];

/// The ethnic group's name from its name (with or without 族) or its two-digit code; empty
/// stays empty; anything else is `None`.
pub fn ethnic_group(v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return Some(String::new());
    }
    let code = if v.len() == 1 && v.as_bytes()[0].is_ascii_digit() {
        format!("0{v}")
    } else {
        v.to_string()
    };
    ETHNIC_GROUPS
        .iter()
        .find(|(c, n)| *c == code || *n == v || n.strip_suffix('族') == Some(v))
        .map(|(_, n)| n.to_string())
}

/// The post as written when it is one of the titles; empty stays empty.
pub fn post(v: &str) -> Option<String> {
    let v = v.trim();
    (v.is_empty() || TRAINEE_POSTS.contains(&v)).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethnic_groups_by_name_or_code() {
        assert_eq!(ethnic_group("05").as_deref(), Some("维吾尔族"));
        assert_eq!(ethnic_group("维吾尔").as_deref(), Some("维吾尔族"));
        assert_eq!(ethnic_group(" 哈萨克族 ").as_deref(), Some("哈萨克族"));
        assert_eq!(ethnic_group("3").as_deref(), Some("回族"));
        assert_eq!(ethnic_group("").as_deref(), Some(""));
        assert_eq!(ethnic_group("99"), None);
        assert_eq!(ethnic_group("火星族"), None);
        assert_eq!(post("主治医师").as_deref(), Some("主治医师"));
        assert_eq!(post("大夫"), None);
    }
}
