//! A bounded fuzz suite (deterministic xorshift, a few seconds, run with the unit tests): the
//! FHIR Patient parser, the patient rules behind it and the resident-ID parser never panic on
//! any input, and every refusal is a 4xx.
use serde_json::{json, Map, Value};

use super::patient::from_fhir;
use crate::domain::resident_id::ResidentId;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const KEYS: &[&str] = &[
    "resourceType",
    "name",
    "family",
    "given",
    "text",
    "gender",
    "birthDate",
    "identifier",
    "system",
    "value",
    "telecom",
    "address",
    "line",
    "managingOrganization",
    "reference",
    "extension",
    "url",
    "valueString",
    "valueCoding",
    "code",
    "contact",
    "relationship",
    "communication",
    "language",
    "id",
    "meta",
    "use",
];

const PIECES: &[&str] = &[
    "",
    "Patient",
    "female",
    "male",
    "other",
    "unknown",
    "2019-06-12",
    "2019-13-45",
    "1880-01-01",
    "9999-12-31",
    "110105194912310021",
    "11010519491231002X",
    "65312119900101123x",
    "urn:oid:2.16.156.10011.1.1",
    "Organization/653121100201",
    "Organization/",
    "Organization/../x",
    "https://tianshan.health/fhir/StructureDefinition/ethnicity",
    "05",
    "张",
    "阿依古丽",
    "ئايگۈل",
    "\u{0}",
    "\u{202e}",
    "🙂",
    " ",
    "\\",
    "%00",
    "'; DROP TABLE patients; --",
];

fn random_string(r: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..r.below(4) {
        s.push_str(PIECES[r.below(PIECES.len())]);
    }
    if r.below(50) == 0 {
        s.push_str(&"长".repeat(r.below(5000)));
    }
    s
}

fn random_value(r: &mut Rng, depth: usize) -> Value {
    let top = if depth > 4 { 4 } else { 7 };
    match r.below(top) {
        0 => Value::Null,
        1 => json!(r.below(2) == 0),
        2 => match r.below(4) {
            0 => json!(r.next() as i64),
            1 => json!(-1.5e308),
            2 => json!(0.5),
            _ => json!(r.below(100)),
        },
        3 | 4 => json!(random_string(r)),
        5 => Value::Array(
            (0..r.below(5))
                .map(|_| random_value(r, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..r.below(6) {
                m.insert(
                    KEYS[r.below(KEYS.len())].to_string(),
                    random_value(r, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

/// Replace one randomly chosen element, at any depth, by a random value.
fn mutate(r: &mut Rng, v: &mut Value) {
    match v {
        Value::Object(m) if !m.is_empty() && r.below(3) != 0 => {
            let k = m.keys().nth(r.below(m.len())).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&k) {
                mutate(r, child);
            }
        }
        Value::Array(a) if !a.is_empty() && r.below(3) != 0 => {
            let i = r.below(a.len());
            mutate(r, &mut a[i]);
        }
        other => *other = random_value(r, 2),
    }
}

fn valid() -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": "110105194912310021"}],
        "name": [{"family": "阿", "given": ["依古丽"]}, {"text": "ئايگۈل"}],
        "gender": "female",
        "birthDate": "1949-12-31",
        "telecom": [{"system": "phone", "value": "13912345678"}],
        "address": [{"text": "喀什地区疏附县"}],
        "managingOrganization": {"reference": "Organization/653121100201"},
        "contact": [{"name": {"text": "买买提"}, "relationship": [{"text": "父亲"}]}],
        "extension": [{"url": "https://tianshan.health/fhir/StructureDefinition/ethnicity",
            "valueCoding": {"system": "urn:gb:3304", "code": "05"}}]
    })
}

#[test]
fn the_patient_parser_never_panics_and_refuses_with_4xx() {
    let today = time::macros::date!(2026 - 11 - 24);
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..30_000 {
        let mut v = if i % 3 == 0 {
            random_value(&mut r, 0)
        } else {
            valid()
        };
        for _ in 0..=r.below(3) {
            mutate(&mut r, &mut v);
        }
        match from_fhir(&v, Some("653121100202")) {
            Ok((input, _)) => match input.validate(today) {
                Ok(_) => accepted += 1,
                Err(errs) => {
                    assert!(!errs.is_empty());
                    refused += 1;
                }
            },
            Err(e) => {
                assert!(e.status().is_client_error(), "{v}: {e:?}");
                refused += 1;
            }
        }
    }
    assert!(accepted > 0 && refused > 0, "{accepted} / {refused}");
}

#[test]
fn the_resident_id_parser_never_panics() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let alphabet: Vec<char> = "0123456789Xx -一١🙂\u{0}".chars().collect();
    for _ in 0..50_000 {
        let s: String = (0..r.below(24))
            .map(|_| alphabet[r.below(alphabet.len())])
            .collect();
        if let Err(e) = ResidentId::parse(&s) {
            // Every refusal has a message for a person.
            assert!(!e.msg().key.is_empty());
        }
    }
}
