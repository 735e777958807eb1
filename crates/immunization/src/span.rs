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
