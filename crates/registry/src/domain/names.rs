//! Names in several scripts and the search terms drawn from them: Chinese characters (with
//! pinyin initials and full pinyin, the Chinese-HIS habit: `zs` finds 张三), Uyghur in Arabic
//! script, and Latin transliterations.
use pinyin::ToPinyin;

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

pub fn has_han(s: &str) -> bool {
    s.chars().any(is_han)
}

/// Separators people put inside names: spaces, the Chinese middle dot of transliterated
/// Uyghur names (艾力·买买提), hyphens.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '·' | '•' | '・' | '.' | '-' | '‧' | '_' | ',')
}

/// Lower-case, separators removed: how names and queries are compared.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !is_separator(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a name, split on separators.
pub fn words(s: &str) -> Vec<String> {
    s.split(is_separator)
        .filter(|w| !w.is_empty())
        .map(normalize)
        .collect()
}

/// Pinyin initials of the Han characters in a name: 张三 → "zs", 艾力·买买提 → "almmt".
pub fn pinyin_initials(s: &str) -> String {
    s.to_pinyin()
        .flatten()
        .map(|p| p.first_letter())
        .collect::<String>()
}

/// Full toneless pinyin: 张三 → "zhangsan".
pub fn pinyin_full(s: &str) -> String {
    s.to_pinyin()
        .flatten()
        .map(|p| p.plain())
        .collect::<String>()
}

/// The display form of a primary name: Chinese names run family-then-given with no space;
/// others given-then-family.
pub fn full_name(family: &str, given: &str) -> String {
    let (f, g) = (family.trim(), given.trim());
    if f.is_empty() || g.is_empty() {
        return format!("{f}{g}");
    }
    if has_han(f) && has_han(g) {
        format!("{f}{g}")
    } else {
        format!("{g} {f}")
    }
}

/// Every term under which a person is found by prefix search, de-duplicated.
pub fn search_terms(names: &[&str]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !t.is_empty() && !terms.contains(&t) {
            terms.push(t);
        }
    };
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        push(normalize(name));
        let ws = words(name);
        if ws.len() > 1 {
            for w in &ws {
                push(w.clone());
            }
        }
        if has_han(name) {
            push(pinyin_initials(name));
            push(pinyin_full(name));
            if ws.len() > 1 {
                for w in &ws {
                    push(pinyin_initials(w));
                }
            } else {
                // Chinese given names are searched on their own too: 张三 is found by 三.
                let chars: Vec<char> = name.trim().chars().collect();
                if chars.len() >= 2 && chars.iter().all(|c| is_han(*c)) {
                    let given: String = chars[1..].iter().collect();
                    push(given.clone());
                    push(pinyin_initials(&given));
                }
            }
        }
    }
    terms
}

/// A query as it is compared to terms.
pub fn normalize_query(q: &str) -> String {
    normalize(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_initials_find_chinese_names() {
        assert_eq!(pinyin_initials("张三"), "zs");
        assert_eq!(pinyin_full("张三"), "zhangsan");
        assert_eq!(pinyin_initials("艾力·买买提"), "almmt");
        let terms = search_terms(&["张三"]);
        assert!(terms.contains(&"zs".to_string()));
        assert!(terms.contains(&"zhangsan".to_string()));
        assert!(terms.contains(&"张三".to_string()));
        assert!(terms.contains(&"三".to_string()));
        // "zs" is a prefix of the initials term: that is how `zs` finds 张三 and 张顺利 alike.
        assert!(terms.iter().any(|t| t.starts_with("zs")));
        assert!(!search_terms(&["李四"]).iter().any(|t| t.starts_with("zs")));
    }

    #[test]
    fn uyghur_and_latin_names_split_into_words() {
        let terms = search_terms(&["艾力·买买提", "ئەلى مەمەت", "Eli Memet"]);
        for t in [
            "艾力买买提",
            "艾力",
            "买买提",
            "almmt",
            "mmt",
            "ئەلىمەمەت",
            "مەمەت",
            "elimemet",
            "memet",
        ] {
            assert!(terms.contains(&t.to_string()), "missing {t} in {terms:?}");
        }
    }

    #[test]
    fn full_name_order_by_script() {
        assert_eq!(full_name("张", "三"), "张三");
        assert_eq!(full_name("Memet", "Eli"), "Eli Memet");
        assert_eq!(full_name("", "艾力"), "艾力");
    }

    #[test]
    fn normalize_ignores_case_and_separators() {
        assert_eq!(normalize("Eli  MEMET"), "elimemet");
        assert_eq!(normalize_query(" Z S "), "zs");
    }
}
