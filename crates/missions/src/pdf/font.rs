//! The CJK font a PDF is written in: `TIANSHAN_CJK_FONT` (a `.ttc`, `.otf` or `.ttf` path)
//! or the first of the usual system places (fonts-noto-cjk, WenQuanYi, Droid). Read at each
//! PDF, not kept: the server's idle memory stays small and a font installed later is found.
use std::path::PathBuf;

/// The environment variable naming the font file.
pub const FONT_ENV: &str = "TIANSHAN_CJK_FONT";

const CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FontError {
    /// No font with Chinese characters was found (or the configured one cannot be read).
    #[error("no CJK font found (set TIANSHAN_CJK_FONT or install fonts-noto-cjk)")]
    Missing,
    /// The font file is there but cannot be parsed or subset.
    #[error("the CJK font cannot be used")]
    Unusable,
}

pub struct FontData {
    pub data: Vec<u8>,
    /// The face in a collection: the Simplified Chinese one when the collection has it.
    pub index: u32,
}

impl FontData {
    pub fn face(&self) -> Result<ttf_parser::Face<'_>, FontError> {
        ttf_parser::Face::parse(&self.data, self.index).map_err(|_| FontError::Unusable)
    }
}

/// Find and read the font: the configured path first (an error if it is set and unusable,
/// so a typo does not silently fall back), then the system places.
pub fn find_font() -> Result<FontData, FontError> {
    find_font_in(
        std::env::var_os(FONT_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    )
}

fn find_font_in(configured: Option<PathBuf>) -> Result<FontData, FontError> {
    let paths: Vec<PathBuf> = match configured {
        Some(p) => vec![p],
        None => CANDIDATES
            .iter()
            .map(PathBuf::from)
            .chain(scan(std::path::Path::new("/usr/share/fonts"), 4))
            .collect(),
    };
    for p in paths {
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        if let Some(index) = cjk_face(&data) {
            return Ok(FontData { data, index });
        }
    }
    Err(FontError::Missing)
}

/// Font files elsewhere under the system's font folder whose names say they cover Chinese.
fn scan(dir: &std::path::Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && depth > 0 {
            out.extend(scan(&p, depth - 1));
            continue;
        }
        let name = e.file_name().to_string_lossy().to_lowercase();
        let font = [".ttc", ".otf", ".ttf"].iter().any(|x| name.ends_with(x));
        let chinese = ["cjk", "wqy", "droidsansfallback", "sc-", "hei", "song"]
            .iter()
            .any(|k| name.contains(k));
        if font && chinese {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The face to use: one with Chinese glyphs, the Simplified Chinese one of a collection first.
fn cjk_face(data: &[u8]) -> Option<u32> {
    let count = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    let mut first = None;
    for i in 0..count {
        let Ok(face) = ttf_parser::Face::parse(data, i) else {
            continue;
        };
        if face.glyph_index('中').is_none() || face.glyph_index('A').is_none() {
            continue;
        }
        let sc = face.names().into_iter().any(|n| {
            n.name_id == ttf_parser::name_id::FAMILY
                && n.to_string().is_some_and(|s| s.ends_with(" SC"))
        });
        if sc {
            return Some(i);
        }
        first.get_or_insert(i);
    }
    first
}

/// Width of a text in points at `size`.
pub fn text_width(face: &ttf_parser::Face<'_>, s: &str, size: f32) -> f32 {
    let upem = f32::from(face.units_per_em());
    s.chars()
        .filter_map(|c| face.glyph_index(c))
        .map(|g| f32::from(face.glyph_hor_advance(g).unwrap_or(0)))
        .sum::<f32>()
        * size
        / upem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_that_is_not_a_cjk_font_is_a_clear_error() {
        let missing = find_font_in(Some(PathBuf::from("/nonexistent/font.ttc")));
        assert_eq!(missing.err(), Some(FontError::Missing));
        let not_font = find_font_in(Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml"
        ))));
        assert_eq!(not_font.err(), Some(FontError::Missing));
    }

    #[test]
    fn the_system_font_has_simplified_chinese() {
        // fonts-noto-cjk is installed by .ci/run.
        let f = find_font_in(None).expect("a CJK font on this machine");
        let face = f.face().unwrap();
        assert!(face.glyph_index('援').is_some());
        assert!(text_width(&face, "天山", 10.0) > 15.0);
    }
}
