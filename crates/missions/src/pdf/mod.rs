//! PDF documents the module hands out (the mission report, certificates): a few kinds of
//! blocks laid out on A4 pages, in a CJK font found on the system at run time and subset into
//! each file, so a report in Chinese reads everywhere without shipping a 20 MB font.
pub mod documents;
mod font;

use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub use font::{find_font, FontError};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// What a document is made of, top to bottom.
pub enum Block {
    /// Large, centred.
    Title(String),
    /// Centred, smaller: under a title.
    Subtitle(String),
    Heading(String),
    Text(String),
    /// A label and a value side by side (a figure of the report).
    Pair(String, String),
    /// Empty space, in points.
    Gap(f32),
}

impl Block {
    fn size(&self) -> f32 {
        match self {
            Block::Title(_) => 20.0,
            Block::Subtitle(_) => 13.0,
            Block::Heading(_) => 13.0,
            Block::Text(_) | Block::Pair(..) => 10.5,
            Block::Gap(_) => 0.0,
        }
    }
}

/// One positioned run of text.
struct Run {
    page: usize,
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

/// Lay the blocks out and write the PDF, with a frame on every page when `framed`
/// (certificates). Fails only when no usable font is found.
pub fn render(title: &str, blocks: &[Block], framed: bool) -> Result<Vec<u8>, FontError> {
    let font = find_font()?;
    let face = font.face()?;
    let width = |s: &str, size: f32| font::text_width(&face, s, size);
    let mut runs: Vec<Run> = Vec::new();
    let (mut page, mut y) = (0usize, PAGE_H - MARGIN);
    let line_w = PAGE_W - 2.0 * MARGIN;
    for b in blocks {
        let size = b.size();
        let lead = size * 1.5;
        let mut place = |x: f32, text: String, runs: &mut Vec<Run>, y: &mut f32| {
            if *y - lead < MARGIN {
                page += 1;
                *y = PAGE_H - MARGIN;
            }
            *y -= lead;
            runs.push(Run {
                page,
                x,
                y: *y,
                size,
                text,
            });
        };
        match b {
            Block::Gap(h) => y -= h,
            Block::Title(s) | Block::Subtitle(s) => {
                for line in wrap(s, line_w, |t| width(t, size)) {
                    let x = MARGIN + (line_w - width(&line, size)).max(0.0) / 2.0;
                    place(x, line, &mut runs, &mut y);
                }
            }
            Block::Heading(s) => {
                y -= 6.0;
                for line in wrap(s, line_w, |t| width(t, size)) {
                    place(MARGIN, line, &mut runs, &mut y);
                }
            }
            Block::Text(s) => {
                for line in wrap(s, line_w, |t| width(t, size)) {
                    place(MARGIN, line, &mut runs, &mut y);
                }
            }
            Block::Pair(label, value) => {
                let col = line_w * 0.55;
                let lines = wrap(label, col - 8.0, |t| width(t, size));
                let vlines = wrap(value, line_w - col, |t| width(t, size));
                for i in 0..lines.len().max(vlines.len()) {
                    if let Some(l) = lines.get(i) {
                        place(MARGIN, l.clone(), &mut runs, &mut y);
                        if let Some(v) = vlines.get(i) {
                            let last = runs.len() - 1;
                            let (p, yy) = (runs[last].page, runs[last].y);
                            runs.push(Run {
                                page: p,
                                x: MARGIN + col,
                                y: yy,
                                size,
                                text: v.clone(),
                            });
                        }
                    } else if let Some(v) = vlines.get(i) {
                        place(MARGIN + col, v.clone(), &mut runs, &mut y);
                    }
                }
            }
        }
    }
    write_pdf(title, &font, &face, &runs, page + 1, framed)
}

/// Break a text into lines no wider than `max` (CJK breaks anywhere, other scripts at
/// spaces when they can).
fn wrap(s: &str, max: f32, width: impl Fn(&str) -> f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in split_words(para) {
            let candidate = format!("{line}{word}");
            if line.is_empty() || width(&candidate) <= max {
                line = candidate;
                // A single word longer than the line is cut by characters.
                while width(&line) > max && line.chars().count() > 1 {
                    let mut head = String::new();
                    for c in line.chars() {
                        if width(&format!("{head}{c}")) > max && !head.is_empty() {
                            break;
                        }
                        head.push(c);
                    }
                    let rest = line[head.len()..].to_string();
                    out.push(head);
                    line = rest;
                }
            } else {
                out.push(line.trim_end().to_string());
                line = word.trim_start().to_string();
            }
        }
        out.push(line.trim_end().to_string());
    }
    out
}

/// Words with their trailing space; every CJK character is a word of its own.
fn split_words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        let wide = c as u32 >= 0x2E80;
        if wide {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else {
            cur.push(c);
            if c == ' ' {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn write_pdf(
    title: &str,
    font: &font::FontData,
    face: &ttf_parser::Face<'_>,
    runs: &[Run],
    pages: usize,
    framed: bool,
) -> Result<Vec<u8>, FontError> {
    // Glyphs used, remapped to a compact range the subset keeps.
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut to_unicode: Vec<(u16, char)> = Vec::new();
    let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(runs.len());
    for r in runs {
        let mut bytes = Vec::with_capacity(r.text.len() * 2);
        for c in r.text.chars() {
            let Some(g) = face.glyph_index(c) else {
                continue;
            };
            let new = remapper.remap(g.0);
            if !to_unicode.iter().any(|(n, _)| *n == new) {
                to_unicode.push((new, c));
            }
            bytes.extend_from_slice(&new.to_be_bytes());
        }
        encoded.push(bytes);
    }
    let subset =
        subsetter::subset(&font.data, font.index, &remapper).map_err(|_| FontError::Unusable)?;
    let cff = face.tables().cff.is_some();
    let embedded = if cff {
        // A CID-keyed CFF program (CIDFontType0C) is what every reader knows.
        let raw = ttf_parser::RawFace::parse(&subset, 0).map_err(|_| FontError::Unusable)?;
        raw.table(ttf_parser::Tag::from_bytes(b"CFF "))
            .ok_or(FontError::Unusable)?
            .to_vec()
    } else {
        subset
    };

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let type0 = alloc();
    let cid = alloc();
    let descriptor = alloc();
    let file = alloc();
    let cmap = alloc();
    let page_ids: Vec<(Ref, Ref)> = (0..pages).map(|_| (alloc(), alloc())).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(pages as i32);
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Tianshan"));

    let base = Name(b"AAAAAA+TianshanCJK");
    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let scale = 1000.0 / f32::from(face.units_per_em());
    let mut widths: Vec<(u16, f32)> = remapper
        .remapped_gids()
        .enumerate()
        .map(|(new, old)| {
            let adv = face
                .glyph_hor_advance(ttf_parser::GlyphId(old))
                .unwrap_or(0);
            (new as u16, f32::from(adv) * scale)
        })
        .collect();
    widths.sort_by_key(|(g, _)| *g);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    {
        let mut c = pdf.cid_font(cid);
        c.subtype(if cff {
            CidFontType::Type0
        } else {
            CidFontType::Type2
        })
        .base_font(base)
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(1000.0);
        if !cff {
            c.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        c.widths()
            .consecutive(0, widths.iter().map(|(_, w)| *w))
            .finish();
    }
    let bbox = face.global_bounding_box();
    let s = |v: i16| f32::from(v) * scale;
    {
        let mut d = pdf.font_descriptor(descriptor);
        d.name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                s(bbox.x_min),
                s(bbox.y_min),
                s(bbox.x_max),
                s(bbox.y_max),
            ))
            .italic_angle(0.0)
            .ascent(s(face.ascender()))
            .descent(s(face.descender()))
            .cap_height(s(face.capital_height().unwrap_or(face.ascender())))
            .stem_v(80.0);
        if cff {
            d.font_file3(file);
        } else {
            d.font_file2(file);
        }
    }
    let packed = compress_to_vec_zlib(&embedded, 6);
    let mut stream = pdf.stream(file, &packed);
    stream.filter(Filter::FlateDecode);
    if cff {
        stream.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    }
    stream.finish();
    let mut uni = pdf_writer::types::UnicodeCmap::<u16>::new(Name(b"Tianshan-UCS"), system);
    for (g, c) in &to_unicode {
        uni.pair(*g, *c);
    }
    pdf.cmap(cmap, &uni.finish()).finish();

    for (i, (page_id, content_id)) in page_ids.iter().enumerate() {
        let mut content = Content::new();
        if framed {
            content
                .set_stroke_rgb(0.55, 0.12, 0.12)
                .set_line_width(2.0)
                .rect(28.0, 28.0, PAGE_W - 56.0, PAGE_H - 56.0)
                .stroke()
                .set_line_width(0.6)
                .rect(36.0, 36.0, PAGE_W - 72.0, PAGE_H - 72.0)
                .stroke();
        }
        for (r, bytes) in runs.iter().zip(&encoded).filter(|(r, _)| r.page == i) {
            content
                .begin_text()
                .set_font(Name(b"F1"), r.size)
                .next_line(r.x, r.y)
                .show(Str(bytes))
                .end_text();
        }
        let data = compress_to_vec_zlib(&content.finish(), 6);
        let mut page = pdf.page(*page_id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), type0);
        page.finish();
        pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_cjk_anywhere_and_latin_at_spaces() {
        let w = |s: &str| s.chars().count() as f32;
        assert_eq!(wrap("一二三四五", 2.0, w), vec!["一二", "三四", "五"]);
        assert_eq!(wrap("ab cd ef", 6.0, w), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3.0, w), vec!["abc", "def", "gh"]);
    }

    #[test]
    fn a_document_is_a_pdf_with_the_font_subset_in_it() {
        let blocks = [
            Block::Title("专家服务团工作报告".into()),
            Block::Pair("手术".into(), "12".into()),
            Block::Text("Lecture: stroke thrombolysis".into()),
        ];
        let pdf = render("t", &blocks, true).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // A subset: far smaller than the 20 MB collection.
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    }
}
