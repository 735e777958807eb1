//! Checks over every module's message catalogues and templates: the same keys in every
//! language, every key that code or templates name exists, and no text typed into a template.
#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use tianshan_platform::i18n::{I18n, Locale, LOCALES};

    fn crates_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn files(ext: &str) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![crates_dir()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                if p.is_dir() && !name.starts_with('.') && name != "target" && name != "tests" {
                    stack.push(p);
                } else if name.ends_with(ext) {
                    out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out
    }

    /// String literals that follow `marker` in `text`: `Msg::new("a.b")` → `a.b`.
    fn literals_after(text: &str, marker: &str) -> Vec<String> {
        text.match_indices(marker)
            .filter_map(|(i, _)| {
                text[i + marker.len()..]
                    .split('"')
                    .next()
                    .map(str::to_string)
            })
            .filter(|k| k.contains('.') && !k.contains('{') && !k.contains(' '))
            .collect()
    }

    #[test]
    fn every_language_has_every_key() {
        let i18n = I18n::load(&crate::app::catalogues()).unwrap();
        let en = i18n.keys(Locale::En);
        assert!(en.len() > 150, "{} keys", en.len());
        for l in LOCALES {
            assert_eq!(i18n.keys(l), en, "{} differs from en", l.tag());
        }
    }

    #[test]
    fn every_key_named_in_code_and_templates_exists() {
        let i18n = I18n::load(&crate::app::catalogues()).unwrap();
        let mut named = Vec::new();
        // The catalogue code itself and this check use made-up keys in their own tests.
        for (_, text) in files(".rs")
            .into_iter()
            .filter(|(p, _)| !p.ends_with("i18n_check.rs") && !p.ends_with("i18n.rs"))
        {
            named.extend(literals_after(&text, "Msg::new(\""));
            named.extend(literals_after(&text, "t.get(\""));
            named.extend(literals_after(&text, "t.fmt(\""));
        }
        for (_, text) in files(".html") {
            named.extend(literals_after(&text, "shell.t(\""));
        }
        let mods = crate::app::modules();
        for n in crate::app::nav(&mods) {
            named.push(n.label.to_string());
        }
        // Every module's permissions and audit actions are named on the roles and audit pages.
        for m in &mods {
            named.extend(m.permissions.iter().map(|p| p.label.to_string()));
            named.extend(m.actions.iter().map(|a| a.label.to_string()));
        }
        assert!(named.len() > 100);
        for key in named {
            assert!(
                i18n.lookup(Locale::En, &key).is_some(),
                "catalogue has no key {key}"
            );
        }
    }

    /// Outside `{{ }}`, `{% %}` and tags, a template may hold only spaces and punctuation.
    #[test]
    fn templates_hold_no_typed_text() {
        for (path, text) in files(".html") {
            let mut rest = text.as_str();
            let mut visible = String::new();
            while !rest.is_empty() {
                let next = ["{{", "{%", "<"]
                    .iter()
                    .filter_map(|m| rest.find(m).map(|i| (i, *m)))
                    .min();
                match next {
                    None => {
                        visible.push_str(rest);
                        break;
                    }
                    Some((i, m)) => {
                        visible.push_str(&rest[..i]);
                        let close = match m {
                            "{{" => "}}",
                            "{%" => "%}",
                            _ => ">",
                        };
                        let after = &rest[i + m.len()..];
                        rest = after
                            .find(close)
                            .map(|j| &after[j + close.len()..])
                            .unwrap_or("");
                    }
                }
            }
            let letters: String = visible.chars().filter(|c| c.is_alphabetic()).collect();
            assert!(
                letters.is_empty(),
                "{} has text outside the catalogue: {letters:?}",
                path.display()
            );
        }
    }
}
