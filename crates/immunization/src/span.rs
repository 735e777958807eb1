//! Calendar arithmetic of the CDSi specification (section 3.4, CALCDT-1..6): spans such as
//! `6 months - 4 days` and the rule that an impossible date moves to the first of the next month.

use std::fmt;

use time::{Date, Month};

/// A signed duration in CDSi units: years and months move the calendar, days (and weeks) count days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub years: i32,
    pub months: i32,
    pub days: i32,
}

impl Span {
    pub const ZERO: Span = Span {
        years: 0,
        months: 0,
        days: 0,
    };

    pub const fn days(days: i32) -> Span {
        Span {
            years: 0,
            months: 0,
            days,
        }
    }

    pub const fn months(months: i32) -> Span {
        Span {
            years: 0,
            months,
            days: 0,
        }
    }

    pub const fn years(years: i32) -> Span {
        Span {
            years,
            months: 0,
            days: 0,
        }
    }

    /// Parses `6 weeks - 4 days`, `12 months + 4 weeks`, `1 year`, `0 days`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let mut span = Span::ZERO;
        let mut sign = 1;
        let mut tokens = text.split_whitespace().peekable();
        let mut any = false;
        while let Some(token) = tokens.next() {
            match token {
                "+" => sign = 1,
                "-" => sign = -1,
                number => {
                    let amount: i32 = number
                        .parse()
                        .map_err(|_| format!("`{text}`: `{number}` is not a number"))?;
                    let unit = tokens
                        .next()
                        .ok_or_else(|| format!("`{text}`: unit missing after {amount}"))?;
                    let amount = sign * amount;
                    match unit.trim_end_matches('s').to_ascii_lowercase().as_str() {
                        "year" => span.years += amount,
                        "month" => span.months += amount,
                        "week" => span.days += 7 * amount,
                        "day" => span.days += amount,
                        other => return Err(format!("`{text}`: unknown unit `{other}`")),
                    }
                    any = true;
                }
            }
        }
        if any {
            Ok(span)
        } else {
            Err(format!("`{text}` is not a duration"))
        }
    }

    /// CALCDT-1..6: years, then months holding the day (an impossible day moves to the first
    /// of the next month), then days.
    pub fn after(self, date: Date) -> Date {
        let total_months =
            date.year() * 12 + (date.month() as i32 - 1) + self.years * 12 + self.months;
        let year = total_months.div_euclid(12);
        let month0 = total_months.rem_euclid(12);
        let month = month_from_index(month0);
        let shifted = match Date::from_calendar_date(year, month, date.day()) {
            Ok(d) => d,
            Err(_) => {
                let next = month_from_index((month0 + 1) % 12);
                let next_year = if month0 == 11 { year + 1 } else { year };
                Date::from_calendar_date(next_year, next, 1).unwrap_or(date)
            }
        };
        add_days(shifted, self.days)
    }

    /// Subtracts the span from a date (used only where the specification counts backwards).
    pub fn before(self, date: Date) -> Date {
        Span {
            years: -self.years,
            months: -self.months,
            days: -self.days,
        }
        .after(date)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.years != 0 {
            parts.push(format!("{} years", self.years));
        }
        if self.months != 0 {
            parts.push(format!("{} months", self.months));
        }
        if self.days != 0 || parts.is_empty() {
            parts.push(format!("{} days", self.days));
        }
        f.write_str(&parts.join(" "))
    }
}

/// A calendar day as a count of days since 1970-01-01: the engine's internal date. Adding a
/// span or comparing two days is integer arithmetic (CALCDT-1..6 via the civil-calendar
/// conversions of H. Hinnant), which keeps date work off the profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

/// Julian day number of 1970-01-01.
const UNIX_JULIAN: i32 = 2_440_588;

impl Day {
    /// 12/31/2999: the specification's "assumed value if empty" for a latest date.
    pub const NEVER: Day = Day(376_199);

    pub fn from_date(date: Date) -> Day {
        Day(date.to_julian_day() - UNIX_JULIAN)
    }

    /// The calendar date; days beyond what `time` can represent saturate at its limits.
    pub fn to_date(self) -> Date {
        Date::from_julian_day(self.0.saturating_add(UNIX_JULIAN)).unwrap_or(if self.0 < 0 {
            Date::MIN
        } else {
            Date::MAX
        })
    }

    pub fn plus_days(self, days: i32) -> Day {
        Day(self.0.saturating_add(days))
    }

    /// (year, month 1-12, day 1-31). The Euclidean-affine-function algorithm of Neri and
    /// Schneider (2022): no division by a variable, no branch but one; exhaustively tested
    /// against Hinnant's algorithm below.
    #[inline]
    pub fn civil(self) -> (i32, i32, i32) {
        // Shift so that every day of years -327680..327679 is a positive 32-bit number.
        const S: u32 = 82;
        const K: u32 = 719_468 + 146_097 * S;
        const L: u32 = 400 * S;
        let n = (self.0 as u32).wrapping_add(K);
        let n1 = 4 * n + 3;
        let c = n1 / 146_097;
        let nc = n1 % 146_097 / 4;
        let n2 = 4 * nc + 3;
        let p2 = 2_939_745u64 * u64::from(n2);
        let z = (p2 >> 32) as u32;
        let ny = (p2 as u32) / 2_939_745 / 4;
        let y = 100 * c + z;
        let n3 = 2141 * ny + 197_913;
        let m = n3 >> 16;
        let d = (n3 & 0xFFFF) / 2141;
        let j = ny >= 306;
        let y = y.wrapping_sub(L).wrapping_add(u32::from(j)) as i32;
        let m = if j { m - 12 } else { m };
        (y, m as i32, d as i32 + 1)
    }

    /// The day of a civil date; the day must exist in the month (Neri and Schneider).
    #[inline]
    pub fn from_civil(y: i32, m: i32, d: i32) -> Day {
        const S: u32 = 82;
        const K: u32 = 719_468 + 146_097 * S;
        const L: u32 = 400 * S;
        let j = m <= 2;
        let y = (y as u32).wrapping_add(L).wrapping_sub(u32::from(j));
        let m = if j { m as u32 + 12 } else { m as u32 };
        let c = y / 100;
        let ystar = 1461 * y / 4 - c + c / 4;
        let mstar = (979 * m - 2919) / 32;
        let n = ystar + mstar + d as u32 - 1;
        Day(n.wrapping_sub(K) as i32)
    }

    /// Hinnant's algorithms (reference for the tests).
    #[cfg(test)]
    fn civil_hinnant(self) -> (i32, i32, i32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i32::from(m <= 2);
        (y, m, d)
    }
}

fn days_in_month(y: i32, m: i32) -> i32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Span {
    /// CALCDT-1..6 on the engine's day count (same result as [`Span::after`]).
    #[inline]
    pub fn from_day(self, day: Day) -> Day {
        let mut out = day;
        if self.years != 0 || self.months != 0 {
            let (y, m, d) = day.civil();
            let total = y * 12 + (m - 1) + self.years * 12 + self.months;
            let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            out = if d <= days_in_month(ny, nm) {
                Day::from_civil(ny, nm, d)
            } else if nm == 12 {
                Day::from_civil(ny + 1, 1, 1)
            } else {
                Day::from_civil(ny, nm + 1, 1)
            };
        }
        out.plus_days(self.days)
    }
}

impl Span {
    /// Two spans from the same day (an absolute minimum and a minimum interval): when they move
    /// the calendar by the same years and months, that move is made once (CALCDT-6 adds days
    /// last).
    #[inline]
    pub fn add_both(a: Option<Span>, b: Option<Span>, day: Day) -> (Option<Day>, Option<Day>) {
        match (a, b) {
            (Some(x), Some(y)) if x.years == y.years && x.months == y.months => {
                let base = Span { days: 0, ..x }.from_day(day);
                (Some(base.plus_days(x.days)), Some(base.plus_days(y.days)))
            }
            (a, b) => (a.map(|s| s.from_day(day)), b.map(|s| s.from_day(day))),
        }
    }
}

/// Adds whole days, saturating at the limits of the calendar.
pub fn add_days(date: Date, days: i32) -> Date {
    Date::from_julian_day(date.to_julian_day() + days).unwrap_or(date)
}

fn month_from_index(index0: i32) -> Month {
    const MONTHS: [Month; 12] = [
        Month::January,
        Month::February,
        Month::March,
        Month::April,
        Month::May,
        Month::June,
        Month::July,
        Month::August,
        Month::September,
        Month::October,
        Month::November,
        Month::December,
    ];
    MONTHS[index0.rem_euclid(12) as usize]
}

/// Parses the date forms found in supporting data and FHIR: `YYYYMMDD`, `YYYY-MM-DD`
/// (also the date part of a dateTime), `MM/DD/YYYY` and `YYYY/MM/DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a date");
    let num = |s: &str| s.parse::<i32>().map_err(|_| bad());
    let (y, m, d) = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        (num(&text[0..4])?, num(&text[4..6])?, num(&text[6..8])?)
    } else if text.contains('/') {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [a, b, c] if a.len() == 4 => (num(a)?, num(b)?, num(c)?),
            [a, b, c] => (num(c)?, num(a)?, num(b)?),
            _ => return Err(bad()),
        }
    } else {
        let date_part = text.get(0..10).ok_or_else(bad)?;
        let parts: Vec<&str> = date_part.split('-').collect();
        match parts.as_slice() {
            [a, b, c] => (num(a)?, num(b)?, num(c)?),
            _ => return Err(bad()),
        }
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    Date::from_calendar_date(y, month, day).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn calcdt_examples_of_the_specification() {
        let cases = [
            ("01/01/2000", "3 years", "01/01/2003"),
            ("01/01/2000", "6 months", "07/01/2000"),
            ("11/01/2000", "6 months", "05/01/2001"),
            ("01/01/2000", "3 weeks", "01/22/2000"),
            ("02/01/2000", "5 weeks", "03/07/2000"),
            ("02/01/2001", "5 weeks", "03/08/2001"),
            ("01/15/2000", "- 4 days", "01/11/2000"),
            ("03/31/2000", "6 months", "10/01/2000"),
            ("08/31/2000", "6 months", "03/01/2001"),
            ("01/31/2000", "6 months - 4 days", "07/27/2000"),
        ];
        for (from, span, to) in cases {
            assert_eq!(
                Span::parse(span).unwrap().after(d(from)),
                d(to),
                "{from} + {span}"
            );
        }
    }

    #[test]
    fn day_arithmetic_matches_the_calendar() {
        let spans = [
            "3 years",
            "6 months",
            "6 months - 4 days",
            "5 weeks",
            "- 4 days",
            "1 year - 4 days",
            "18 months",
            "0 days",
            "-6 months",
        ];
        let mut date = d("1899-12-25");
        while date < d("2101-01-10") {
            assert_eq!(Day::from_date(date).to_date(), date);
            let (y, m, dd) = Day::from_date(date).civil();
            assert_eq!(
                (y, m, dd),
                (
                    date.year(),
                    i32::from(u8::from(date.month())),
                    i32::from(date.day())
                )
            );
            for span in spans {
                let span = Span::parse(span).unwrap();
                assert_eq!(
                    span.from_day(Day::from_date(date)).to_date(),
                    span.after(date),
                    "{date} + {span}"
                );
            }
            date = add_days(date, 3);
        }
        assert_eq!(Day::NEVER.to_date(), d("2999-12-31"));
    }

    #[test]
    fn civil_conversions_match_hinnant_over_ten_thousand_years() {
        for n in -2_000_000..2_000_000 {
            let day = Day(n);
            let (y, m, d) = day.civil();
            assert_eq!((y, m, d), day.civil_hinnant(), "day {n}");
            assert_eq!(Day::from_civil(y, m, d), day, "day {n}");
        }
    }

    #[test]
    fn parses_all_supporting_data_forms() {
        assert_eq!(
            Span::parse("12 months + 4 weeks").unwrap(),
            Span {
                years: 0,
                months: 12,
                days: 28
            }
        );
        assert_eq!(
            Span::parse("1 year - 4 days").unwrap(),
            Span {
                years: 1,
                months: 0,
                days: -4
            }
        );
        assert!(Span::parse("soon").is_err());
        assert_eq!(d("20211025"), d("2021-10-25"));
        assert_eq!(d("2019/01/10"), d("01/10/2019"));
    }
}
