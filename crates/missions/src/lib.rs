//! Expert missions and talent development: recipient departments' needs from a menu, rear
//! hospitals' offers, the coordinator's ranked matching, missions with their day logs and
//! reports, aid staff rotations, mentorships (师带徒) and department requests (一人援疆，全科援疆).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod bulk;
mod certificates;
pub mod demo;
mod domain;
mod fellowship;
mod files;
mod handover;
mod pdf;
pub(crate) mod register;
mod roster;
mod schema;
mod service;
mod store;
mod studios;
mod web;

use tianshan_platform::state::NavItem;
use tianshan_platform::Module;

pub use service::perms;

/// The missions module.
pub fn module() -> Module {
    Module {
        permissions: service::permissions(),
        actions: service::actions(),
        migrations: schema::migrations(),
        catalogues: tianshan_platform::catalogues!("missions"),
        nav: vec![NavItem::new("missions.nav", "/missions", Some(perms::READ))],
        pages: web::routes(),
        api: api::routes(),
        demo: Some(demo::loader),
        ..Module::new("missions")
    }
}

/// For the benchmark: the coordinator's board ranking on generated needs, offers and past
/// missions, without a database.
pub mod bench {
    pub use crate::domain::{fit, Fit, NeedFacts, OfferFacts};
    use crate::store::{NeedRow, OfferRow};

    const SPECIALTIES: [&str; 8] = [
        "神经内科",
        "神经外科",
        "骨科",
        "心胸外科",
        "神经康复科",
        "消化内科",
        "血液内科",
        "眼科",
    ];
    const TOPICS: [&str; 8] = [
        "急性缺血性卒中静脉溶栓与机械取栓",
        "帕金森病规范化诊疗与专病门诊",
        "关节镜手术",
        "胸腔镜肺癌根治术教学手术",
        "卒中后康复训练",
        "消化内镜下黏膜剥离术",
        "异基因造血干细胞移植",
        "白内障超声乳化手术 眼健康AI筛查",
    ];

    /// Each need's kept matches: offer id and score.
    #[cfg(test)]
    type Ranked = Vec<Vec<(String, u32)>>;

    /// Open needs, current offers and past missions as the board loads them.
    pub struct Board {
        needs: Vec<NeedRow>,
        offers: Vec<OfferRow>,
        pairs: Vec<(String, String)>,
    }

    impl Board {
        pub fn generate(needs: usize, offers: usize, missions: usize) -> Board {
            let date = |m: usize, d: usize| format!("2026-{:02}-{:02}", m % 12 + 1, d);
            let site = |i: usize| format!("/650000/6505{:02}/6505{:02}-H01/", i % 20, i % 20);
            let rear = |i: usize| format!("/RH-{:03}/RH-{:03}-D{}/", i % 60, i % 60, i % 5);
            Board {
                needs: (0..needs)
                    .map(|i| NeedRow {
                        id: format!("n{i}"),
                        org_code: format!("n{i}"),
                        org_path: format!("{}D{}/", site(i), i % 6),
                        kind: "technique".into(),
                        specialty: SPECIALTIES[i % 8].into(),
                        topic: TOPICS[(i / 3) % 8].into(),
                        priority: "normal".into(),
                        wanted_from: date(i, 1),
                        wanted_to: date(i + 2, 28),
                        reason: String::new(),
                        status: "open".into(),
                        mission_id: None,
                        posted_by: String::new(),
                        posted_at: "2026-01-01T00:00:00Z".into(),
                    })
                    .collect(),
                offers: (0..offers)
                    .map(|j| OfferRow {
                        id: format!("o{j}"),
                        org_code: format!("o{j}"),
                        org_path: rear(j),
                        specialty: SPECIALTIES[(j / 2) % 8].into(),
                        topic: TOPICS[(j / 5) % 8].into(),
                        expert: String::new(),
                        available_from: date(j, 10),
                        available_to: date(j + 3, 20),
                        note: String::new(),
                        posted_by: String::new(),
                        posted_at: String::new(),
                    })
                    .collect(),
                pairs: (0..missions).map(|k| (rear(k * 7), site(k))).collect(),
            }
        }

        /// The measures page's aggregation (per year and prefecture) over generated missions,
        /// day-log sums by kind, training entries' people and techniques, generation
        /// included; returns the number of lines.
        pub fn measures(missions: usize, logs: usize, techniques: usize) -> usize {
            use crate::register::{build_measures, KindSums};
            use crate::store::MissionRow;
            let site = |i: usize| format!("/650000/6531{:02}/6531{:02}-H01/", i % 14, i % 14);
            let ms: Vec<MissionRow> = (0..missions)
                .map(|i| MissionRow {
                    id: format!("m{i}"),
                    kind: "mission".into(),
                    title: String::new(),
                    site_code: String::new(),
                    site_path: site(i),
                    lead_code: String::new(),
                    lead_path: "/RH-001/".into(),
                    starts_on: format!("{}-{:02}-01", 2016 + i % 10, i % 12 + 1),
                    ends_on: format!("{}-{:02}-07", 2016 + i % 10, i % 12 + 1),
                    need_id: None,
                    offer_id: None,
                    team: "甲、乙、丙、丁".into(),
                    created_by: String::new(),
                    created_at: String::new(),
                })
                .collect();
            let kinds = ["clinic", "operation", "lecture", "ward_round", "screening"];
            // The database adds the logs up per mission and kind: what reaches the code.
            let per = logs / (missions.max(1) * kinds.len()).max(1);
            let sums: Vec<KindSums> = (0..missions)
                .flat_map(|i| {
                    kinds.iter().map(move |k| KindSums {
                        mission_id: format!("m{i}"),
                        kind: k.to_string(),
                        entries: per as i64,
                        total: (per * 20) as i64,
                        at_least_one: (per * 20) as i64,
                    })
                })
                .collect();
            let people: Vec<(String, String)> = (0..logs * 2 / 5)
                .map(|j| {
                    (
                        format!("m{}", j % missions.max(1)),
                        format!("学员{}、学员{}", j % 997, j % 389),
                    )
                })
                .collect();
            let ind: Vec<(String, String)> = (0..techniques / 2)
                .map(|k| (site(k), format!("{}-06-01", 2017 + k % 9)))
                .collect();
            build_measures(&ms, &sums, &people, &ind).len()
        }

        /// As [`Board::rank`] but every need against every offer (no index), for comparison.
        pub fn rank_every_offer(&self) -> usize {
            let today = time::macros::date!(2026 - 03 - 01);
            crate::service::needs::rank_all(
                self.needs.clone(),
                &self.offers,
                &self.pairs,
                today,
                crate::service::needs::BEST,
            )
            .iter()
            .map(|l| l.matches.len())
            .sum()
        }

        /// Rank every need's offers as the board does; returns how many matches were kept.
        #[cfg(test)]
        fn both_ways(&self) -> (Ranked, Ranked) {
            let today = time::macros::date!(2026 - 03 - 01);
            let flat = |lines: Vec<crate::service::needs::BoardLine>| {
                lines
                    .into_iter()
                    .map(|l| {
                        l.matches
                            .into_iter()
                            .map(|m| (m.offer.id, m.fit.score))
                            .collect()
                    })
                    .collect()
            };
            let best = crate::service::needs::BEST;
            (
                flat(crate::service::needs::rank(
                    self.needs.clone(),
                    &self.offers,
                    &self.pairs,
                    today,
                    best,
                )),
                flat(crate::service::needs::rank_all(
                    self.needs.clone(),
                    &self.offers,
                    &self.pairs,
                    today,
                    best,
                )),
            )
        }

        pub fn rank(&self) -> usize {
            let today = time::macros::date!(2026 - 03 - 01);
            crate::service::needs::rank(
                self.needs.clone(),
                &self.offers,
                &self.pairs,
                today,
                crate::service::needs::BEST,
            )
            .iter()
            .map(|l| l.matches.len())
            .sum()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Board;

        #[test]
        fn the_indexed_board_ranks_exactly_as_ranking_every_offer() {
            for (needs, offers, missions) in [(120, 150, 60), (40, 7, 300), (30, 300, 0)] {
                let (indexed, all) = Board::generate(needs, offers, missions).both_ways();
                assert_eq!(indexed, all, "{needs} needs, {offers} offers");
                assert!(indexed.iter().any(|m| !m.is_empty()));
            }
        }
    }
}
