//! Resident identity card numbers per GB 11643-1999: 6-digit address code, 8-digit birth
//! date, 3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character.
use time::{Date, Month};

use tianshan_platform::Msg;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// First two digits of the address code: provinces, autonomous regions and municipalities.
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    number: String,
    birth: Date,
    male: bool,
}

/// Why a number was refused; each maps to a message that names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("must have 18 characters, has {0}")]
    Length(usize),
    #[error("only digits, and X as the last character, are allowed")]
    Characters,
    #[error("region code {0} is not a Chinese province code")]
    Region(String),
    #[error("birth date {0} in the number is not a real date")]
    BirthDate(String),
    #[error("check character should be {expected}, not {found}")]
    CheckDigit { expected: char, found: char },
}

impl ResidentIdError {
    pub fn msg(&self) -> Msg {
        match self {
            ResidentIdError::Length(n) => Msg::new("patient.err.id_length").arg("n", n.to_string()),
            ResidentIdError::Characters => Msg::new("patient.err.id_chars"),
            ResidentIdError::Region(r) => Msg::new("patient.err.id_region").arg("code", r.clone()),
            ResidentIdError::BirthDate(d) => {
                Msg::new("patient.err.id_birth").arg("date", d.clone())
            }
            ResidentIdError::CheckDigit { expected, found } => Msg::new("patient.err.id_check")
                .arg("expected", expected.to_string())
                .arg("found", found.to_string()),
        }
    }
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u32]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK[(sum % 11) as usize]
}

impl ResidentId {
    /// Parse a number as typed: spaces are ignored and a lower-case x is accepted.
    pub fn parse(input: &str) -> Result<ResidentId, ResidentIdError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(ResidentIdError::Length(n));
        }
        let chars: Vec<char> = s.chars().collect();
        let mut digits = Vec::with_capacity(17);
        for c in &chars[..17] {
            digits.push(c.to_digit(10).ok_or(ResidentIdError::Characters)?);
        }
        let last = chars[17];
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(ResidentIdError::Characters);
        }
        let province = digits[0] * 10 + digits[1];
        if !PROVINCES.contains(&province) {
            return Err(ResidentIdError::Region(s[..6].to_string()));
        }
        let num = |r: std::ops::Range<usize>| digits[r].iter().fold(0u32, |a, d| a * 10 + d);
        let (y, m, d) = (num(6..10), num(10..12), num(12..14));
        let birth = Month::try_from(m as u8)
            .ok()
            .and_then(|month| Date::from_calendar_date(y as i32, month, d as u8).ok())
            .filter(|_| y >= 1850)
            .ok_or_else(|| ResidentIdError::BirthDate(format!("{y:04}-{m:02}-{d:02}")))?;
        let expected = check_char(&digits);
        if expected != last {
            return Err(ResidentIdError::CheckDigit {
                expected,
                found: last,
            });
        }
        Ok(ResidentId {
            number: s,
            birth,
            male: digits[16] % 2 == 1,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }
    pub fn birth_date(&self) -> Date {
        self.birth
    }
    pub fn is_male(&self) -> bool {
        self.male
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers() {
        // The standard's own example and a number ending in X.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), time::macros::date!(1949 - 12 - 31));
        assert!(!id.is_male());
        let id = ResidentId::parse("440524188001010014").unwrap();
        assert!(id.is_male());
        assert!(ResidentId::parse("11010519491231002x").is_ok());
        assert!(ResidentId::parse(" 110105 19491231 002X ").is_ok());
    }

    #[test]
    fn wrong_check_digit_names_the_expected_one() {
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::CheckDigit {
                expected: 'X',
                found: '1'
            })
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            ResidentId::parse("1101051949123100"),
            Err(ResidentIdError::Length(16))
        );
        assert_eq!(
            ResidentId::parse("1101051949123100A2"),
            Err(ResidentIdError::Characters)
        );
        assert_eq!(
            ResidentId::parse("X10105194912310021"),
            Err(ResidentIdError::Characters)
        );
        assert_eq!(
            ResidentId::parse("990105194912310021"),
            Err(ResidentIdError::Region("990105".into()))
        );
        assert_eq!(
            ResidentId::parse("110105194902300021"),
            Err(ResidentIdError::BirthDate("1949-02-30".into()))
        );
    }

    #[test]
    fn check_char_matches_generated_xinjiang_numbers() {
        let first17: Vec<u32> = "65312120150612003"
            .chars()
            .map(|c| c.to_digit(10).unwrap())
            .collect();
        let c = check_char(&first17);
        let full = format!("65312120150612003{c}");
        assert!(ResidentId::parse(&full).is_ok());
    }
}
