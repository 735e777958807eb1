//! How needs and offers are ranked against each other: specialty, technique wording (by
//! character pairs, so Chinese without spaces compares), shared days and past missions.
use super::*;

/// What the ranking compares of a need.
pub struct NeedFacts<'a> {
    pub specialty: &'a str,
    pub topic: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// What the ranking compares of an offer, with the missions its organisation has already led
/// at the need's hospital.
pub struct OfferFacts<'a> {
    pub specialty: &'a str,
    pub topic: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub past_missions: usize,
}

/// How well an offer fits a need, out of 100, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Fit {
    pub score: u32,
    pub specialty: bool,
    pub topic: bool,
    /// Days the need's period and the offer's availability share.
    pub overlap_days: i64,
    pub past_missions: usize,
}

/// Adjacent character pairs of a text (letters and digits only, lower-cased), each pair as one
/// number, sorted and without repeats: two topics are compared by one merge.
fn bigrams(s: &str) -> Vec<u64> {
    let cs: Vec<char> = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut v: Vec<u64> = cs
        .windows(2)
        .map(|w| (u64::from(w[0] as u32) << 32) | u64::from(w[1] as u32))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Share of `a`'s pairs found in `b` (both sorted).
fn share_in(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut hits) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                hits += 1;
                i += 1;
                j += 1;
            }
        }
    }
    hits as f64 / a.len() as f64
}

/// A topic read once for ranking: its character pairs, whole and term by term.
pub struct Topic {
    whole: Vec<u64>,
    terms: Vec<Vec<u64>>,
}

impl Topic {
    pub fn new(text: &str) -> Topic {
        Topic {
            whole: bigrams(text),
            terms: text
                .split(|c: char| {
                    c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；' | '/')
                })
                .map(bigrams)
                .filter(|t| t.len() >= 2)
                .collect(),
        }
    }
}

/// How much two topics say the same thing, 0 to 1: the share of the need's character pairs
/// found in the offer, or of one of the offer's terms found in the need, whichever is more
/// (Chinese has no spaces: 机械取栓 matches 急性缺血性卒中机械取栓).
fn similarity(need: &Topic, offer: &Topic) -> f64 {
    offer
        .terms
        .iter()
        .map(|t| share_in(t, &need.whole))
        .fold(share_in(&need.whole, &offer.whole), f64::max)
}

/// One side of a match (a need or an offer), read once.
pub struct Side<'a> {
    specialty_text: &'a str,
    specialty: Topic,
    topic: Topic,
    from: Option<Date>,
    to: Option<Date>,
}

impl<'a> Side<'a> {
    pub fn new(specialty: &'a str, topic: &str, from: &str, to: &str) -> Side<'a> {
        Side {
            specialty_text: specialty,
            specialty: Topic::new(specialty),
            topic: Topic::new(topic),
            from: parse_date(from),
            to: parse_date(to),
        }
    }
}

fn overlap(a: (Option<Date>, Option<Date>), b: (Option<Date>, Option<Date>)) -> i64 {
    match (a, b) {
        ((Some(a1), Some(a2)), (Some(b1), Some(b2))) => {
            let (s, e) = (a1.max(b1), a2.min(b2));
            if e < s {
                0
            } else {
                (e - s).whole_days() + 1
            }
        }
        _ => 0,
    }
}

/// Days two periods share (0 when they do not meet).
pub fn overlap_days(a_from: &str, a_to: &str, b_from: &str, b_to: &str) -> i64 {
    overlap(
        (parse_date(a_from), parse_date(a_to)),
        (parse_date(b_from), parse_date(b_to)),
    )
}

/// Rank: specialty 40, topic up to 35, dates up to 15, past missions up to 10.
pub fn fit_sides(need: &Side<'_>, offer: &Side<'_>, past_missions: usize) -> Fit {
    let specialty = !need.specialty_text.is_empty()
        && (need.specialty_text == offer.specialty_text
            || similarity(&need.specialty, &offer.specialty) >= 0.5);
    let sim = similarity(&need.topic, &offer.topic);
    let days = overlap((need.from, need.to), (offer.from, offer.to));
    let mut score = 0u32;
    if specialty {
        score += 40;
    }
    score += (sim * 35.0).round() as u32;
    if days > 0 {
        score += 5 + (days.min(10) as u32);
    }
    score += (past_missions.min(5) * 2) as u32;
    Fit {
        score: score.min(100),
        specialty,
        topic: sim >= 0.5,
        overlap_days: days,
        past_missions,
    }
}

/// [`fit_sides`] for one pair, reading both sides.
pub fn fit(need: &NeedFacts<'_>, offer: &OfferFacts<'_>) -> Fit {
    fit_sides(
        &Side::new(need.specialty, need.topic, need.from, need.to),
        &Side::new(offer.specialty, offer.topic, offer.from, offer.to),
        offer.past_missions,
    )
}

/// The most an offer sharing nothing with a need but dates can score (dates 15; past missions
/// are counted apart): a need's best matches above it are all among its candidates.
pub const DATES_ONLY_MAX: u32 = 15;

/// Offers indexed once per board by the character pairs of their specialty and topic and by
/// their specialty as written: the offers that can match a need on more than dates.
pub struct OfferIndex<'s> {
    topic_pairs: std::collections::HashMap<u64, Vec<u32>>,
    specialty_pairs: std::collections::HashMap<u64, Vec<u32>>,
    specialty: std::collections::HashMap<&'s str, Vec<u32>>,
}

impl<'s> OfferIndex<'s> {
    pub fn new<'a>(offers: impl Iterator<Item = &'a Side<'s>>) -> OfferIndex<'s>
    where
        's: 'a,
    {
        let mut ix = OfferIndex {
            topic_pairs: Default::default(),
            specialty_pairs: Default::default(),
            specialty: Default::default(),
        };
        for (i, o) in offers.enumerate() {
            let i = i as u32;
            for p in &o.topic.whole {
                ix.topic_pairs.entry(*p).or_default().push(i);
            }
            for p in &o.specialty.whole {
                ix.specialty_pairs.entry(*p).or_default().push(i);
            }
            ix.specialty.entry(o.specialty_text).or_default().push(i);
        }
        ix
    }

    /// Mark the offers that share a character pair of topic or specialty with the need, or
    /// its specialty as written (a topic or specialty similarity above 0 needs a shared pair).
    pub fn mark(&self, need: &Side<'_>, marks: &mut [bool]) {
        let mut set = |ids: Option<&Vec<u32>>| {
            for i in ids.into_iter().flatten() {
                if let Some(m) = marks.get_mut(*i as usize) {
                    *m = true;
                }
            }
        };
        for p in &need.topic.whole {
            set(self.topic_pairs.get(p));
        }
        for p in &need.specialty.whole {
            set(self.specialty_pairs.get(p));
        }
        set(self.specialty.get(need.specialty_text));
    }
}

/// Days from `from` (a date or an RFC 3339 timestamp) to `today`.
pub fn age_days(from: &str, today: Date) -> i64 {
    let d = from.get(..10).and_then(parse_date);
    d.map(|d| (today - d).whole_days()).unwrap_or(0)
}

/// The date an engagement made from a match runs: the overlap of the need's period and the
/// offer's availability, or the need's period when they do not meet.
pub fn planned_period(need: (&str, &str), offer: (&str, &str)) -> (String, String) {
    if overlap_days(need.0, need.1, offer.0, offer.1) > 0 {
        (
            need.0.max(offer.0).to_string(),
            need.1.min(offer.1).to_string(),
        )
    } else {
        (need.0.to_string(), need.1.to_string())
    }
}

/// Split a team typed one per line or comma-separated (both Chinese and Latin commas).
pub fn team_members(team: &str) -> Vec<String> {
    team.split(['\n', ',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
