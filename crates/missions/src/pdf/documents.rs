//! What the mission report and a certificate say, as blocks for [`super::render`], in the
//! language of the catalogue given (Chinese or English).
use std::collections::HashMap;

use tianshan_platform::i18n::Catalog;

use super::Block;
use crate::certificates::CertificateRow;
use crate::service::missions::Report;

fn label(t: &Catalog, prefix: &str, v: &str) -> String {
    t.get(&format!("{prefix}.{v}")).to_string()
}

/// The mission report: what was planned, what was done and by whom, the figures, what it left
/// behind, and the day log.
pub fn report(t: &Catalog, r: &Report, names: &HashMap<String, String>) -> Vec<Block> {
    let m = &r.mission;
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let mut b = vec![
        Block::Title(t.get("missions.pdf.report_title").to_string()),
        Block::Subtitle(m.title.clone()),
        Block::Gap(8.0),
        Block::Heading(t.get("missions.pdf.planned").to_string()),
        Block::Pair(
            t.get("missions.pdf.kind").to_string(),
            label(t, "missions.mkind", &m.kind),
        ),
        Block::Pair(t.get("missions.pdf.site").to_string(), name(&m.site_code)),
        Block::Pair(t.get("missions.pdf.lead").to_string(), name(&m.lead_code)),
        Block::Pair(
            t.get("missions.pdf.period").to_string(),
            format!("{} – {}", m.starts_on, m.ends_on),
        ),
        Block::Pair(
            t.get("missions.pdf.days_planned").to_string(),
            r.days_planned.to_string(),
        ),
    ];
    if let Some(n) = &r.need {
        b.push(Block::Pair(
            t.get("missions.report.answers").to_string(),
            format!("{} · {}", label(t, "missions.need_kind", &n.kind), n.topic),
        ));
    }
    if !r.team.is_empty() {
        b.push(Block::Pair(
            t.get("missions.team").to_string(),
            r.team.join("、"),
        ));
    }
    b.push(Block::Heading(t.get("missions.pdf.done").to_string()));
    b.push(Block::Pair(
        t.get("missions.pdf.days_logged").to_string(),
        r.days_logged.to_string(),
    ));
    for (kind, v) in &r.totals {
        b.push(Block::Pair(
            label(t, "missions.akind", kind),
            t.fmt(
                "missions.pdf.count_entries",
                &[
                    ("count", &v.count.to_string()),
                    ("entries", &v.entries.to_string()),
                ],
            ),
        ));
    }
    let list = |b: &mut Vec<Block>, key: &str, items: &[String]| {
        if !items.is_empty() {
            b.push(Block::Heading(t.get(key).to_string()));
            for i in items {
                b.push(Block::Text(format!("· {i}")));
            }
        }
    };
    list(&mut b, "missions.report.techniques", &r.techniques);
    list(&mut b, "missions.report.people", &r.people_trained);
    list(&mut b, "missions.report.agreements", &r.agreements);
    let apprentices: Vec<String> = r
        .apprentices
        .iter()
        .map(|a| {
            format!(
                "{} · {} · {} {} · {}/{}",
                a.trainee_name,
                a.trainee_post,
                t.get("missions.mentor"),
                a.mentor_name,
                a.signed,
                a.total
            )
        })
        .collect();
    list(&mut b, "missions.mentorships", &apprentices);
    b.push(Block::Heading(t.get("missions.pdf.by_whom").to_string()));
    for a in &r.activities {
        let mut line = format!("{} · {}", a.day, label(t, "missions.akind", &a.kind));
        if !a.topic.is_empty() {
            line.push_str(&format!(" · {}", a.topic));
        }
        line.push_str(&format!(" · {}", a.count));
        if !a.people.is_empty() {
            line.push_str(&format!(" · {}", a.people));
        }
        line.push_str(&format!(
            " · {}",
            t.fmt("missions.pdf.recorded_by", &[("who", &a.recorded_by)])
        ));
        b.push(Block::Text(line));
    }
    b
}

/// A certificate: who, what, when, issued by whom, and how to check it.
pub fn certificate(t: &Catalog, c: &CertificateRow, issuer: &str, verify_url: &str) -> Vec<Block> {
    let period = if c.starts_on == c.ends_on {
        c.starts_on.clone()
    } else {
        format!("{} – {}", c.starts_on, c.ends_on)
    };
    vec![
        Block::Gap(90.0),
        Block::Title(label(t, "missions.cert.title", &c.kind)),
        Block::Gap(40.0),
        Block::Title(c.holder_name.clone()),
        Block::Gap(16.0),
        Block::Subtitle(label(t, "missions.cert.statement", &c.kind)),
        Block::Subtitle(c.title.clone()),
        Block::Gap(40.0),
        Block::Pair(t.get("missions.cert.period").to_string(), period),
        Block::Pair(
            t.get("missions.cert.issuer").to_string(),
            issuer.to_string(),
        ),
        Block::Pair(
            t.get("missions.cert.issued_on").to_string(),
            c.issued_on.clone(),
        ),
        Block::Pair(t.get("missions.cert.code").to_string(), c.code.clone()),
        Block::Gap(24.0),
        Block::Text(t.fmt("missions.cert.verify_at", &[("url", verify_url)])),
    ]
}
