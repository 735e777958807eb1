//! The rules of ARCHITECTURE.md that the compiler does not enforce on its own: a module crate
//! depends on the platform, the registry's facade and pure libraries, never on another module;
//! outside the registry, only its public front (`facade`, `bulk`, `demo`, `module`, `perms`,
//! `resident_id`) is named.
use std::path::{Path, PathBuf};

/// Crates that are not modules: what modules stand on, and the binary that wires them.
const FOUNDATION: [&str; 4] = ["platform", "registry", "immunization", "tianshan"];
/// Crates a module may depend on.
const ALLOWED: [&str; 3] = [
    "tianshan-platform",
    "tianshan-registry",
    "tianshan-immunization",
];
const REGISTRY_FRONT: [&str; 6] = ["facade", "bulk", "demo", "module", "perms", "resident_id"];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `tianshan-…` dependencies named in a Cargo.toml (any table).
fn our_dependencies(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|l| l.split('=').next())
        .map(str::trim)
        .filter(|k| k.starts_with("tianshan-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn modules_depend_only_on_the_foundation() {
    let mut modules = 0;
    for e in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let manifest = e.path().join("Cargo.toml");
        if !manifest.exists() || FOUNDATION.contains(&name.as_str()) {
            continue;
        }
        modules += 1;
        let text = std::fs::read_to_string(&manifest).unwrap();
        for dep in our_dependencies(&text) {
            assert!(
                ALLOWED.contains(&dep.as_str()),
                "module {name} depends on {dep}: a module may use only the platform, the registry's facade and pure libraries"
            );
        }
    }
    // The rule is only worth something once modules exist; until then it checks nothing.
    let _ = modules;
}

#[test]
fn outside_the_registry_only_its_front_is_named() {
    let mut files = Vec::new();
    for e in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name == "registry" || !e.path().join("Cargo.toml").exists() {
            continue;
        }
        rust_files(&e.path().join("src"), &mut files);
        rust_files(&e.path().join("tests"), &mut files);
    }
    let mut checked = 0;
    for f in files.iter().filter(|f| !f.ends_with("architecture.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices("tianshan_registry::") {
            checked += 1;
            let rest = &text[i + "tianshan_registry::".len()..];
            let item: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                REGISTRY_FRONT.contains(&item.as_str()),
                "{} names tianshan_registry::{item}; use tianshan_registry::facade",
                f.display()
            );
        }
    }
    assert!(checked > 5, "the scan found too little");
}

#[test]
fn the_rule_catches_a_module_that_depends_on_another() {
    let bad = "[dependencies]\ntianshan-platform = { path = \"../platform\" }\ntianshan-vaccination = { path = \"../vaccination\" }\n";
    let deps = our_dependencies(bad);
    assert!(deps.iter().any(|d| !ALLOWED.contains(&d.as_str())));
}

/// Every answer carries `Content-Security-Policy: script-src 'self'; style-src 'self'`: a
/// `style` attribute, a `<style>` block, an inline `<script>` or an `on…=` handler in a
/// template would be silently ignored by the browser, so none may be written.
#[test]
fn templates_keep_to_the_content_security_policy() {
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let templates = entry.unwrap().path().join("templates");
        let Ok(files) = std::fs::read_dir(&templates) else {
            continue;
        };
        for f in files {
            let path = f.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let l = line.to_ascii_lowercase();
                let inline_script = l.contains("<script") && !l.contains(" src=");
                let handler = [
                    " onclick=",
                    " onchange=",
                    " onsubmit=",
                    " oninput=",
                    " onload=",
                ]
                .iter()
                .any(|h| l.contains(h));
                if l.contains(" style=\"") || l.contains("<style") || inline_script || handler {
                    bad.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "inline styles or scripts the CSP blocks:\n{}",
        bad.join("\n")
    );
}
