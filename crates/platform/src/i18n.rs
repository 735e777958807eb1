//! Message catalogues and language choice. Every string a person sees comes from a catalogue
//! (`locales/<lang>.toml` of each crate); templates and handlers only name keys.
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Msg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    ZhHans,
    ZhHant,
    Ug,
    En,
}

pub const LOCALES: [Locale; 4] = [Locale::ZhHans, Locale::ZhHant, Locale::Ug, Locale::En];

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhHans => "zh-Hans",
            Locale::ZhHant => "zh-Hant",
            Locale::Ug => "ug",
            Locale::En => "en",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::ZhHans => "简体中文",
            Locale::ZhHant => "繁體中文",
            Locale::Ug => "ئۇيغۇرچە",
            Locale::En => "English",
        }
    }

    pub fn is_rtl(self) -> bool {
        self == Locale::Ug
    }

    pub fn dir(self) -> &'static str {
        if self.is_rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// Parse a tag as users and browsers write it (`zh-CN`, `zh-TW`, `ug-CN`, `en-US`, ...).
    pub fn parse(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase();
        if t.is_empty() {
            return None;
        }
        if t == "zh-hant"
            || t.starts_with("zh-hant")
            || t == "zh-tw"
            || t == "zh-hk"
            || t == "zh-mo"
        {
            return Some(Locale::ZhHant);
        }
        if t == "zh" || t.starts_with("zh-") {
            return Some(Locale::ZhHans);
        }
        if t == "ug" || t.starts_with("ug-") {
            return Some(Locale::Ug);
        }
        if t == "en" || t.starts_with("en-") {
            return Some(Locale::En);
        }
        None
    }

    /// Best supported language from an `Accept-Language` header, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Locale::parse(tag) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, l));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

/// All catalogues, merged from every crate.
#[derive(Debug, Default)]
pub struct I18n {
    maps: HashMap<Locale, HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("message catalogue {locale} ({origin}) is not valid TOML: {message}")]
pub struct CatalogueError {
    pub locale: &'static str,
    pub origin: &'static str,
    pub message: String,
}

/// One crate's catalogue for one language: (locale, origin for errors, TOML text).
pub type CatalogueSource = (Locale, &'static str, &'static str);

impl I18n {
    pub fn load(sources: &[CatalogueSource]) -> Result<Arc<I18n>, CatalogueError> {
        let mut i18n = I18n::default();
        for (locale, origin, text) in sources {
            let value: toml::Table = toml::from_str(text).map_err(|e| CatalogueError {
                locale: locale.tag(),
                origin,
                message: e.to_string(),
            })?;
            let map = i18n.maps.entry(*locale).or_default();
            flatten("", &toml::Value::Table(value), map);
        }
        Ok(Arc::new(i18n))
    }

    pub fn catalog(self: &Arc<Self>, locale: Locale) -> Catalog {
        Catalog {
            i18n: self.clone(),
            locale,
        }
    }

    pub fn keys(&self, locale: Locale) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .maps
            .get(&locale)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    pub fn lookup(&self, locale: Locale, key: &str) -> Option<&str> {
        self.maps
            .get(&locale)
            .and_then(|m| m.get(key))
            .map(String::as_str)
    }
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut HashMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        _ => {}
    }
}

/// The catalogue of one language, handed to templates as `t`.
#[derive(Debug, Clone)]
pub struct Catalog {
    i18n: Arc<I18n>,
    pub locale: Locale,
}

impl Catalog {
    /// The message for `key`; falls back to English, then to the key itself so a missing
    /// entry is visible rather than blank (a test checks none is missing).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.i18n
            .lookup(self.locale, key)
            .or_else(|| self.i18n.lookup(Locale::En, key))
            .unwrap_or(key)
    }

    /// The message for `key` if a catalogue has it (this language or English).
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.i18n
            .lookup(self.locale, key)
            .or_else(|| self.i18n.lookup(Locale::En, key))
    }

    /// The message with `{name}` placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    pub fn msg(&self, m: &Msg) -> String {
        let args: Vec<(&str, &str)> = m.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.fmt(m.key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_tags_and_accept_language() {
        assert_eq!(Locale::parse("zh-CN"), Some(Locale::ZhHans));
        assert_eq!(Locale::parse("zh-TW"), Some(Locale::ZhHant));
        assert_eq!(Locale::parse("zh-Hant-HK"), Some(Locale::ZhHant));
        assert_eq!(Locale::parse("ug"), Some(Locale::Ug));
        assert_eq!(Locale::parse("fr"), None);
        assert_eq!(
            Locale::from_accept_language("fr-FR, en;q=0.8, ug;q=0.9"),
            Some(Locale::Ug)
        );
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("de"), None);
    }

    #[test]
    fn catalogue_lookup_fallback_and_format() {
        let i18n = I18n::load(&[
            (
                Locale::En,
                "t",
                "[a]\nhello = \"Hello {name}\"\nonly_en = \"E\"",
            ),
            (Locale::Ug, "t", "[a]\nhello = \"ياخشىمۇسىز {name}\""),
        ])
        .unwrap();
        let ug = i18n.catalog(Locale::Ug);
        assert_eq!(ug.fmt("a.hello", &[("name", "X")]), "ياخشىمۇسىز X");
        assert_eq!(ug.get("a.only_en"), "E");
        assert_eq!(ug.get("a.missing"), "a.missing");
        assert!(Locale::Ug.is_rtl() && Locale::Ug.dir() == "rtl");
    }
}
