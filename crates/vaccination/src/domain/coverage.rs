//! Coverage rules (pure): which doses of China's programme are counted by 12 and 24 months of
//! age, when a dose is on time, which dropouts are reported, and the tally of a birth cohort.
use time::{Date, Duration, Month};

/// An age: days or calendar months after birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    Days(i64),
    Months(u32),
}

/// The date a child born on `birth` reaches `age` (a month later on the 31st is the month's
/// last day).
pub fn age_date(birth: Date, age: Age) -> Date {
    match age {
        Age::Days(d) => birth.saturating_add(Duration::days(d)),
        Age::Months(m) => {
            let months = i64::from(birth.month() as u8) - 1 + i64::from(m);
            let year = birth.year() + (months / 12) as i32;
            let month = Month::try_from((months % 12) as u8 + 1).unwrap_or(Month::January);
            let last = month.length(year);
            Date::from_calendar_date(year, month, birth.day().min(last)).unwrap_or(birth)
        }
    }
}

/// One dose of the programme that coverage counts: the `dose`-th dose of any of `products`,
/// due at `due`, on time when given from `due` up to (not including) `on_time_end`.
#[derive(Debug, Clone, Copy)]
pub struct Milestone {
    pub antigen: &'static str,
    pub products: &'static [&'static str],
    pub dose: usize,
    pub due: Age,
    pub on_time_end: Age,
}

const fn m(
    antigen: &'static str,
    products: &'static [&'static str],
    dose: usize,
    due: Age,
    on_time_end: Age,
) -> Milestone {
    Milestone {
        antigen,
        products,
        dose,
        due,
        on_time_end,
    }
}

use Age::{Days, Months};
const HEPB: &[&str] = &["HepB"];
const POLIO: &[&str] = &["IPV", "bOPV"];
const DTAP: &[&str] = &["DTaP"];
const MMR: &[&str] = &["MMR"];

/// China's national programme doses due before two years of age (2021 schedule). On time is
/// the month after the due age (HepB 1: the day of birth or the next; BCG: by three months).
pub const MILESTONES: &[Milestone] = &[
    m("BCG", &["BCG"], 1, Days(0), Months(3)),
    m("HepB", HEPB, 1, Days(0), Days(2)),
    m("HepB", HEPB, 2, Months(1), Months(2)),
    m("HepB", HEPB, 3, Months(6), Months(7)),
    m("Polio", POLIO, 1, Months(2), Months(3)),
    m("Polio", POLIO, 2, Months(3), Months(4)),
    m("Polio", POLIO, 3, Months(4), Months(5)),
    m("DTaP", DTAP, 1, Months(3), Months(4)),
    m("DTaP", DTAP, 2, Months(4), Months(5)),
    m("DTaP", DTAP, 3, Months(5), Months(6)),
    m("MenA", &["MPSV-A"], 1, Months(6), Months(7)),
    m("MMR", MMR, 1, Months(8), Months(9)),
    m("JE", &["JE-L", "JE-I"], 1, Months(8), Months(9)),
    m("MenA", &["MPSV-A"], 2, Months(9), Months(10)),
    m("DTaP", DTAP, 4, Months(18), Months(19)),
    m("MMR", MMR, 2, Months(18), Months(19)),
    m("HepA", &["HepA-L", "HepA-I"], 1, Months(18), Months(19)),
];

/// Dropouts reported: (antigen, first dose, later dose), e.g. DTaP 1 → 3.
pub const DROPOUTS: &[(&str, usize, usize)] = &[("DTaP", 1, 3), ("Polio", 1, 3), ("HepB", 1, 3)];

fn due_before(ms: &Milestone, months: u32) -> bool {
    match ms.due {
        Days(d) => d < i64::from(months) * 28,
        Months(m) => m < months,
    }
}

/// The date of the `dose`-th dose (by date) among `doses` of the milestone's products.
fn nth<'a>(doses: &'a [(String, Date)], products: &[&str], dose: usize) -> Option<&'a Date> {
    doses
        .iter()
        .filter(|(p, _)| products.contains(&p.as_str()))
        .map(|(_, d)| d)
        .nth(dose.saturating_sub(1))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MilestoneTally {
    /// Children (of those who reached 12, 24 months) who had the dose before that birthday.
    pub by_12: i64,
    pub by_24: i64,
    /// Children who had the dose at all (on `as_of`), and of them those on time.
    pub given: i64,
    pub on_time: i64,
}

/// The tally of a group of children (a birth cohort of a place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub children: i64,
    pub reached_12: i64,
    pub reached_24: i64,
    /// One per [`MILESTONES`], in order.
    pub milestones: Vec<MilestoneTally>,
    /// Every dose due before 12 (24) months given before that birthday.
    pub fully_12: i64,
    pub fully_24: i64,
    /// One per [`DROPOUTS`]: children with the first dose, and of them with the later one.
    pub dropouts: Vec<(i64, i64)>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            children: 0,
            reached_12: 0,
            reached_24: 0,
            milestones: vec![MilestoneTally::default(); MILESTONES.len()],
            fully_12: 0,
            fully_24: 0,
            dropouts: vec![(0, 0); DROPOUTS.len()],
        }
    }
}

impl Tally {
    /// Count one child born on `birth` with `doses` (product code, date given; sorted by date),
    /// on `as_of`.
    pub fn add(&mut self, birth: Date, doses: &[(String, Date)], as_of: Date) {
        self.children += 1;
        let b12 = age_date(birth, Months(12));
        let b24 = age_date(birth, Months(24));
        let (r12, r24) = (b12 <= as_of, b24 <= as_of);
        self.reached_12 += i64::from(r12);
        self.reached_24 += i64::from(r24);
        let (mut full12, mut full24) = (r12, r24);
        for (ms, t) in MILESTONES.iter().zip(self.milestones.iter_mut()) {
            let given = nth(doses, ms.products, ms.dose).filter(|d| **d <= as_of);
            let before = |limit: Date| given.is_some_and(|d| *d < limit);
            t.by_12 += i64::from(r12 && before(b12));
            t.by_24 += i64::from(r24 && before(b24));
            if due_before(ms, 12) && !before(b12) {
                full12 = false;
            }
            if due_before(ms, 24) && !before(b24) {
                full24 = false;
            }
            if let Some(d) = given {
                t.given += 1;
                let on_time = *d >= age_date(birth, ms.due) && *d < age_date(birth, ms.on_time_end);
                t.on_time += i64::from(on_time);
            }
        }
        self.fully_12 += i64::from(full12);
        self.fully_24 += i64::from(full24);
        for ((antigen, from, to), t) in DROPOUTS.iter().zip(self.dropouts.iter_mut()) {
            let products = MILESTONES
                .iter()
                .find(|m| m.antigen == *antigen)
                .map(|m| m.products)
                .unwrap_or(&[]);
            if nth(doses, products, *from).is_some_and(|d| *d <= as_of) {
                t.0 += 1;
                t.1 += i64::from(nth(doses, products, *to).is_some_and(|d| *d <= as_of));
            }
        }
    }

    /// Add another group's tally (a township is the sum of its villages).
    pub fn merge(&mut self, o: &Tally) {
        self.children += o.children;
        self.reached_12 += o.reached_12;
        self.reached_24 += o.reached_24;
        self.fully_12 += o.fully_12;
        self.fully_24 += o.fully_24;
        for (a, b) in self.milestones.iter_mut().zip(&o.milestones) {
            a.by_12 += b.by_12;
            a.by_24 += b.by_24;
            a.given += b.given;
            a.on_time += b.on_time;
        }
        for (a, b) in self.dropouts.iter_mut().zip(&o.dropouts) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// A share in percent with one decimal; `None` when nobody is counted.
pub fn percent(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| (num as f64 * 1000.0 / den as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_clamp_to_the_month_end() {
        assert_eq!(
            age_date(date!(2024 - 01 - 31), Months(1)),
            date!(2024 - 02 - 29)
        );
        assert_eq!(
            age_date(date!(2024 - 02 - 29), Months(12)),
            date!(2025 - 02 - 28)
        );
        assert_eq!(
            age_date(date!(2023 - 11 - 15), Months(2)),
            date!(2024 - 01 - 15)
        );
        assert_eq!(
            age_date(date!(2024 - 01 - 01), Days(1)),
            date!(2024 - 01 - 02)
        );
    }

    #[test]
    fn a_child_counted_by_hand() {
        let birth = date!(2023 - 01 - 10);
        let d = |p: &str, s: Date| (p.to_string(), s);
        // HepB on the day of birth, at 1 and 6 months; DTaP 1 and 2 only; everything else none.
        let doses = vec![
            d("HepB", birth),
            d("HepB", date!(2023 - 02 - 10)),
            d("DTaP", date!(2023 - 04 - 20)),
            d("DTaP", date!(2023 - 06 - 01)),
            d("HepB", date!(2023 - 08 - 15)),
        ];
        let mut t = Tally::default();
        t.add(birth, &doses, date!(2024 - 03 - 01));
        assert_eq!((t.children, t.reached_12, t.reached_24), (1, 1, 0));
        let hepb3 = MILESTONES
            .iter()
            .position(|m| m.antigen == "HepB" && m.dose == 3)
            .unwrap();
        // HepB 3 at 7 months 5 days: by 12 months, but late (window 6 months to 7).
        assert_eq!(
            t.milestones[hepb3],
            MilestoneTally {
                by_12: 1,
                by_24: 0,
                given: 1,
                on_time: 0
            }
        );
        let dtap1 = MILESTONES
            .iter()
            .position(|m| m.antigen == "DTaP" && m.dose == 1)
            .unwrap();
        assert_eq!(
            t.milestones[dtap1],
            MilestoneTally {
                by_12: 1,
                by_24: 0,
                given: 1,
                on_time: 1
            }
        );
        assert_eq!((t.fully_12, t.fully_24), (0, 0));
        assert_eq!(t.dropouts[0], (1, 0), "DTaP 1 → 3: started, not completed");
        assert_eq!(t.dropouts[2], (1, 1), "HepB 1 → 3 completed");
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(1, 0), None);
    }
}
