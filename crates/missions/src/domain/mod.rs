//! The missions module's pure rules: what a need, an offer, a mission, a day's activity, a
//! mentorship and a department request must hold, and how needs and offers are ranked
//! against each other. No I/O; today's date is an input.
use serde::{Deserialize, Serialize};
use tianshan_platform::{FieldError, Msg};
use time::macros::format_description;
use time::Date;

mod ranking;
pub use ranking::*;
pub mod values;

/// Kinds of things a department can ask for from the menu.
pub const NEED_KINDS: [&str; 4] = ["technique", "disease", "training", "equipment"];
pub const PRIORITIES: [&str; 3] = ["high", "normal", "low"];
/// Engagements a match can become.
pub const MISSION_KINDS: [&str; 3] = ["mission", "fellowship", "mentorship"];
/// What a mission day logs.
pub const ACTIVITY_KINDS: [&str; 8] = [
    "clinic",
    "screening",
    "operation",
    "lecture",
    "ward_round",
    "donation",
    "agreement",
    "technique",
];
/// What a front-line aid doctor asks of the home department.
pub const LIAISON_KINDS: [&str; 4] = ["visit", "remote", "protocol", "opinion"];

const MAX_TEXT: usize = 500;

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// Collects field errors while reading a form, a JSON body or a file row.
#[derive(Default)]
pub struct Check(pub Vec<FieldError>);

impl Check {
    pub fn fail(&mut self, field: &str, key: &'static str) {
        self.0.push(FieldError::new(field, Msg::new(key)));
    }
    pub fn text(&mut self, field: &str, v: &str, required: bool) -> String {
        let v = v.trim().to_string();
        if required && v.is_empty() {
            self.fail(field, "missions.err.required");
        } else if v.chars().count() > MAX_TEXT {
            self.fail(field, "missions.err.too_long");
        }
        v
    }
    pub fn one_of(&mut self, field: &str, v: &str, allowed: &[&str]) -> String {
        let v = v.trim().to_string();
        if !allowed.contains(&v.as_str()) {
            self.0.push(FieldError::new(
                field,
                Msg::new("missions.err.choice").arg("allowed", allowed.join(", ")),
            ));
        }
        v
    }
    pub fn date(&mut self, field: &str, v: &str) -> Option<Date> {
        let d = parse_date(v);
        if d.is_none() {
            self.fail(field, "missions.err.date");
        }
        d
    }
    /// Two dates, the second not before the first.
    pub fn period(&mut self, from_f: &str, from: &str, to_f: &str, to: &str) -> (String, String) {
        let (a, b) = (self.date(from_f, from), self.date(to_f, to));
        if let (Some(a), Some(b)) = (a, b) {
            if b < a {
                self.fail(to_f, "missions.err.order");
            }
        }
        (from.trim().to_string(), to.trim().to_string())
    }
    pub fn done<T>(self, v: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(v)
        } else {
            Err(self.0)
        }
    }
}

/// A need as posted from the menu.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NeedInput {
    /// The recipient department (or hospital) posting the need.
    pub org_code: String,
    /// `technique`, `disease`, `training` or `equipment`.
    pub kind: String,
    /// e.g. 神经内科, 血液内科.
    pub specialty: String,
    /// The technique, disease area, role or equipment, e.g. 异基因造血干细胞移植.
    pub topic: String,
    /// `high`, `normal` or `low`.
    #[serde(default)]
    pub priority: String,
    /// `YYYY-MM-DD`
    pub wanted_from: String,
    /// `YYYY-MM-DD`, not before `wanted_from`.
    pub wanted_to: String,
    #[serde(default)]
    pub reason: String,
}

impl NeedInput {
    pub fn validate(&self) -> Result<NeedInput, Vec<FieldError>> {
        let mut c = Check::default();
        let priority = if self.priority.trim().is_empty() {
            "normal".to_string()
        } else {
            c.one_of("priority", &self.priority, &PRIORITIES)
        };
        let (wanted_from, wanted_to) = c.period(
            "wanted_from",
            &self.wanted_from,
            "wanted_to",
            &self.wanted_to,
        );
        let v = NeedInput {
            org_code: c.text("org_code", &self.org_code, true),
            kind: c.one_of("kind", &self.kind, &NEED_KINDS),
            specialty: c.text("specialty", &self.specialty, true),
            topic: c.text("topic", &self.topic, true),
            priority,
            wanted_from,
            wanted_to,
            reason: c.text("reason", &self.reason, false),
        };
        c.done(v)
    }
}

/// What a rear hospital department can send or teach.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct OfferInput {
    /// The rear hospital or its department.
    pub org_code: String,
    pub specialty: String,
    /// Techniques it can teach, the disease area, e.g. 机械取栓.
    pub topic: String,
    /// The expert(s) available.
    #[serde(default)]
    pub expert: String,
    pub available_from: String,
    pub available_to: String,
    #[serde(default)]
    pub note: String,
}

impl OfferInput {
    pub fn validate(&self) -> Result<OfferInput, Vec<FieldError>> {
        let mut c = Check::default();
        let (available_from, available_to) = c.period(
            "available_from",
            &self.available_from,
            "available_to",
            &self.available_to,
        );
        let v = OfferInput {
            org_code: c.text("org_code", &self.org_code, true),
            specialty: c.text("specialty", &self.specialty, true),
            topic: c.text("topic", &self.topic, true),
            expert: c.text("expert", &self.expert, false),
            available_from,
            available_to,
            note: c.text("note", &self.note, false),
        };
        c.done(v)
    }
}

/// Turning a need and an offer into an engagement, in one action.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConvertInput {
    pub offer_id: String,
    /// `mission`, `fellowship` or `mentorship`.
    pub kind: String,
    /// Empty: made from the need and the offer.
    #[serde(default)]
    pub title: String,
    /// Empty: the overlap of the need's period and the offer's availability.
    #[serde(default)]
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    /// Members, one per line or comma-separated; empty: the offer's expert.
    #[serde(default)]
    pub team: String,
}

/// A mission, fellowship or mentorship planned directly.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MissionInput {
    pub kind: String,
    pub title: String,
    /// Where the work happens (a recipient hospital or department).
    pub site_code: String,
    /// The rear hospital leading it.
    pub lead_code: String,
    pub starts_on: String,
    pub ends_on: String,
    #[serde(default)]
    pub team: String,
}

impl MissionInput {
    pub fn validate(&self) -> Result<MissionInput, Vec<FieldError>> {
        let mut c = Check::default();
        let (starts_on, ends_on) = c.period("starts_on", &self.starts_on, "ends_on", &self.ends_on);
        let v = MissionInput {
            kind: c.one_of("kind", &self.kind, &MISSION_KINDS),
            title: c.text("title", &self.title, true),
            site_code: c.text("site_code", &self.site_code, true),
            lead_code: c.text("lead_code", &self.lead_code, true),
            starts_on,
            ends_on,
            team: c.text("team", &self.team, false),
        };
        c.done(v)
    }
}

/// One entry of a mission day's log.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ActivityInput {
    /// `YYYY-MM-DD`, inside the mission's dates.
    pub day: String,
    /// `clinic`, `screening`, `operation`, `lecture`, `ward_round`, `donation`, `agreement`
    /// or `technique` (a technique introduced).
    pub kind: String,
    /// The technique, lecture topic, agreement, donated items.
    #[serde(default)]
    pub topic: String,
    /// Patients seen, people screened, operations, attendance, value in yuan.
    #[serde(default)]
    pub count: i64,
    /// Local staff who assisted or attended, the speaker, the parties.
    #[serde(default)]
    pub people: String,
    #[serde(default)]
    pub note: String,
}

impl ActivityInput {
    /// Checked against the mission's dates.
    pub fn validate(
        &self,
        starts_on: &str,
        ends_on: &str,
    ) -> Result<ActivityInput, Vec<FieldError>> {
        let mut c = Check::default();
        if let Some(d) = c.date("day", &self.day) {
            let inside = match (parse_date(starts_on), parse_date(ends_on)) {
                (Some(a), Some(b)) => a <= d && d <= b,
                _ => false,
            };
            if !inside {
                c.fail("day", "missions.err.day_outside");
            }
        }
        let kind = c.one_of("kind", &self.kind, &ACTIVITY_KINDS);
        let topic_needed = matches!(
            kind.as_str(),
            "operation" | "lecture" | "technique" | "agreement" | "donation"
        );
        let topic = c.text("topic", &self.topic, topic_needed);
        if !(0..=1_000_000_000).contains(&self.count) {
            c.fail("count", "missions.err.count");
        }
        let v = ActivityInput {
            day: self.day.trim().to_string(),
            kind,
            topic,
            count: self.count,
            people: c.text("people", &self.people, false),
            note: c.text("note", &self.note, false),
        };
        c.done(v)
    }
}

/// A mentor group of one (师带徒): mentor, trainee, goals and the competencies to sign off.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MentorshipInput {
    /// The mentor's user name (they alone sign off).
    pub mentor_username: String,
    /// The mentor's organisation.
    pub mentor_code: String,
    pub trainee_name: String,
    /// A professional title (职称: 住院医师, 主治医师, 护师 …), for the talent figures.
    #[serde(default)]
    pub trainee_post: String,
    /// GB 3304 code or name, kept as the name, for the minority-training (特培) figures.
    #[serde(default)]
    pub trainee_ethnicity: String,
    /// The trainee's department or hospital.
    pub trainee_code: String,
    #[serde(default)]
    pub goals: String,
    pub starts_on: String,
    pub ends_on: String,
    /// Competencies to sign off, in order.
    #[serde(default)]
    pub competencies: Vec<String>,
    #[serde(default)]
    pub mission_id: Option<String>,
}

impl MentorshipInput {
    pub fn validate(&self) -> Result<MentorshipInput, Vec<FieldError>> {
        let mut c = Check::default();
        let (starts_on, ends_on) = c.period("starts_on", &self.starts_on, "ends_on", &self.ends_on);
        let competencies: Vec<String> = self
            .competencies
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if competencies.is_empty() {
            c.fail("competencies", "missions.err.competencies");
        }
        if competencies.iter().any(|s| s.chars().count() > MAX_TEXT) || competencies.len() > 50 {
            c.fail("competencies", "missions.err.too_long");
        }
        let v = MentorshipInput {
            mentor_username: c.text("mentor_username", &self.mentor_username, true),
            mentor_code: c.text("mentor_code", &self.mentor_code, true),
            trainee_name: c.text("trainee_name", &self.trainee_name, true),
            trainee_post: match values::post(&self.trainee_post) {
                Some(p) => p,
                None => {
                    c.0.push(FieldError::new(
                        "trainee_post",
                        Msg::new("missions.err.choice")
                            .arg("allowed", values::TRAINEE_POSTS.join("、")),
                    ));
                    self.trainee_post.trim().to_string()
                }
            },
            trainee_ethnicity: match values::ethnic_group(&self.trainee_ethnicity) {
                Some(e) => e,
                None => {
                    c.fail("trainee_ethnicity", "missions.err.ethnicity");
                    self.trainee_ethnicity.trim().to_string()
                }
            },
            trainee_code: c.text("trainee_code", &self.trainee_code, true),
            goals: c.text("goals", &self.goals, false),
            starts_on,
            ends_on,
            competencies,
            mission_id: self
                .mission_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        };
        c.done(v)
    }
}

/// A mentor signs off one competency.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SignOffInput {
    /// `YYYY-MM-DD`, not after today.
    pub signed_on: String,
    /// Cases, an observed procedure.
    pub evidence: String,
}

impl SignOffInput {
    pub fn validate(&self, today: Date) -> Result<SignOffInput, Vec<FieldError>> {
        let mut c = Check::default();
        if let Some(d) = c.date("signed_on", &self.signed_on) {
            if d > today {
                c.fail("signed_on", "missions.err.future");
            }
        }
        let v = SignOffInput {
            signed_on: self.signed_on.trim().to_string(),
            evidence: c.text("evidence", &self.evidence, true),
        };
        c.done(v)
    }
}

/// An aid professional's rotation (援疆干部人才).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StaffInput {
    pub full_name: String,
    /// e.g. 第十批.
    #[serde(default)]
    pub batch: String,
    #[serde(default)]
    pub specialty: String,
    /// Home hospital or department (rear).
    pub home_code: String,
    /// Post in Xinjiang.
    pub post_code: String,
    pub arrived_on: String,
    pub leaves_on: String,
}

impl StaffInput {
    pub fn validate(&self) -> Result<StaffInput, Vec<FieldError>> {
        let mut c = Check::default();
        let (arrived_on, leaves_on) =
            c.period("arrived_on", &self.arrived_on, "leaves_on", &self.leaves_on);
        let v = StaffInput {
            full_name: c.text("full_name", &self.full_name, true),
            batch: c.text("batch", &self.batch, false),
            specialty: c.text("specialty", &self.specialty, false),
            home_code: c.text("home_code", &self.home_code, true),
            post_code: c.text("post_code", &self.post_code, true),
            arrived_on,
            leaves_on,
        };
        c.done(v)
    }
}

/// A front-line aid doctor's request to their home department (一人援疆，全科援疆).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LiaisonInput {
    /// The front-line department asking.
    pub from_code: String,
    /// The home (rear) department asked.
    pub home_code: String,
    /// `visit`, `remote`, `protocol` or `opinion`.
    pub kind: String,
    pub subject: String,
}

impl LiaisonInput {
    pub fn validate(&self) -> Result<LiaisonInput, Vec<FieldError>> {
        let mut c = Check::default();
        let v = LiaisonInput {
            from_code: c.text("from_code", &self.from_code, true),
            home_code: c.text("home_code", &self.home_code, true),
            kind: c.one_of("kind", &self.kind, &LIAISON_KINDS),
            subject: c.text("subject", &self.subject, true),
        };
        c.done(v)
    }
}

/// The home department's answer: dates and people committed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LiaisonAnswer {
    pub answer: String,
    pub answer_from: String,
    pub answer_to: String,
    /// Who comes or answers.
    pub answer_people: String,
}

impl LiaisonAnswer {
    pub fn validate(&self) -> Result<LiaisonAnswer, Vec<FieldError>> {
        let mut c = Check::default();
        let (answer_from, answer_to) = c.period(
            "answer_from",
            &self.answer_from,
            "answer_to",
            &self.answer_to,
        );
        let v = LiaisonAnswer {
            answer: c.text("answer", &self.answer, true),
            answer_from,
            answer_to,
            answer_people: c.text("answer_people", &self.answer_people, true),
        };
        c.done(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_out_of_order_are_refused() {
        let n = NeedInput {
            org_code: "x".into(),
            kind: "technique".into(),
            specialty: "神经内科".into(),
            topic: "机械取栓".into(),
            priority: "".into(),
            wanted_from: "2025-06-10".into(),
            wanted_to: "2025-06-01".into(),
            reason: "".into(),
        };
        let e = n.validate().unwrap_err();
        assert_eq!(e[0].field, "wanted_to");
        assert_eq!(e[0].msg.key, "missions.err.order");
    }

    #[test]
    fn activity_outside_the_mission_is_refused() {
        let a = ActivityInput {
            day: "2023-12-09".into(),
            kind: "clinic".into(),
            count: 120,
            ..Default::default()
        };
        assert!(a.validate("2023-12-01", "2023-12-07").is_err());
        assert!(a.validate("2023-12-01", "2023-12-09").is_ok());
        let op = ActivityInput {
            day: "2023-12-03".into(),
            kind: "operation".into(),
            ..Default::default()
        };
        let e = op.validate("2023-12-01", "2023-12-07").unwrap_err();
        assert_eq!(e[0].field, "topic");
    }

    #[test]
    fn ranking_prefers_the_same_specialty_technique_and_dates() {
        let need = NeedFacts {
            specialty: "神经内科",
            topic: "急性缺血性卒中机械取栓",
            from: "2025-09-01",
            to: "2025-09-30",
        };
        let good = fit(
            &need,
            &OfferFacts {
                specialty: "神经内科",
                topic: "机械取栓 卒中中心建设",
                from: "2025-09-10",
                to: "2025-10-10",
                past_missions: 2,
            },
        );
        let other = fit(
            &need,
            &OfferFacts {
                specialty: "眼科",
                topic: "白内障超声乳化",
                from: "2026-01-01",
                to: "2026-02-01",
                past_missions: 0,
            },
        );
        assert!(good.specialty && good.topic);
        assert_eq!(good.overlap_days, 21);
        assert!(good.score > 80, "{good:?}");
        assert_eq!(other.score, 0);
    }

    #[test]
    fn planned_period_is_the_overlap() {
        assert_eq!(
            planned_period(("2025-09-01", "2025-09-30"), ("2025-09-10", "2025-10-10")),
            ("2025-09-10".to_string(), "2025-09-30".to_string())
        );
        assert_eq!(
            team_members("尹森，郭纪锋\n张俊"),
            vec!["尹森", "郭纪锋", "张俊"]
        );
    }
}
