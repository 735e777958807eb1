//! The explanation API: per dose the rules that made it valid or not, per antigen the series
//! chosen and why the others were not, with stable codes and English text.

use tianshan_immunization::{explain, DoseAdministered, PatientHistory, PatientObservation};
use time::macros::date;

use super::china_schedule;

fn child() -> PatientHistory {
    let schedule = china_schedule();
    let mut p = PatientHistory::new(date!(2024 - 03 - 10));
    for (i, (code, when)) in [
        ("HepB", date!(2024 - 03 - 10)),
        ("HepB", date!(2024 - 04 - 01)),
        ("MMR", date!(2024 - 11 - 10)),
        ("JE-L", date!(2024 - 12 - 01)),
    ]
    .into_iter()
    .enumerate()
    {
        p.doses.push(DoseAdministered {
            id: format!("d{i}"),
            date: when,
            cvx: schedule.resolve_product(code).unwrap(),
            mvx: None,
        });
    }
    p
}

#[test]
fn explains_doses_series_and_dates() {
    let schedule = china_schedule();
    let e = explain(&schedule, &child(), date!(2025 - 01 - 01));
    println!("{}", e.to_text());
    let hepb = e
        .vaccine_groups
        .iter()
        .find(|g| g.vaccine_group == "HepB")
        .unwrap();
    let antigen = &hepb.antigens[0];
    let second = &antigen.doses[1];
    assert_eq!(second.status, "not_valid");
    assert_eq!(second.reasons, ["age_too_young", "interval_too_soon"]);
    let age = second
        .checks
        .iter()
        .find(|c| c.code == "dose.age.too_young")
        .unwrap();
    assert_eq!(age.params["min_age"], "1 month");
    assert_eq!(age.params["min_age_date"], "2024-04-10");
    assert!(antigen
        .series_selection
        .iter()
        .any(|s| s.chosen && s.verdict.code == "series.chosen"));
    // The JE-L dose 21 days after MMR: a live virus conflict, with the MMR dose named.
    let je = e
        .vaccine_groups
        .iter()
        .find(|g| g.vaccine_group == "Japanese Encephalitis")
        .unwrap();
    let je_dose = je.antigens[0]
        .doses
        .iter()
        .find(|d| d.date == "2024-12-01")
        .unwrap();
    let conflict = je_dose
        .checks
        .iter()
        .find(|c| c.code == "dose.live_virus_conflict")
        .unwrap();
    assert_eq!(conflict.params["previous_date"], "2024-11-10");
    // Forecast dates say where they come from.
    let f = &antigen.forecast;
    assert!(f
        .iter()
        .any(|m| m.code == "forecast.earliest_component" && m.params["decides"] == "true"));
    assert!(f.iter().any(|m| m.code == "forecast.dates"));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["vaccine_groups"][0]["vaccine_group"], "HepB");
}

#[test]
fn explains_why_a_risk_series_is_or_is_not_relevant() {
    let schedule = china_schedule();
    let mut p = child();
    let plain = explain(&schedule, &p, date!(2024 - 03 - 10));
    let hepb = &plain.vaccine_groups[0].antigens[0];
    assert!(hepb
        .series_selection
        .iter()
        .any(|s| s.verdict.code == "series.not_relevant.no_indication"));
    p.observations.push(PatientObservation {
        code: "CN001".into(),
        date: None,
    });
    let risk = explain(&schedule, &p, date!(2024 - 03 - 10));
    let hepb = &risk.vaccine_groups[0].antigens[0];
    assert!(hepb
        .series_selection
        .iter()
        .any(|s| s.series_type == "risk" && s.relevant));
}

/// On every CDC case (and its schedule) the explanation says what the forecast says: the same
/// status per vaccine group and the same status per dose, and every dose evaluated against a
/// target dose has its checks.
#[test]
fn explanation_agrees_with_the_forecast_on_every_cdc_case() {
    let schedule = tianshan_immunization::load_schedule_dir(
        super::data_dir().join("cdsi/supporting-data-v4.64-508"),
    )
    .unwrap();
    for file in [
        "healthy-test-cases-v4.45.ndjson",
        "underlying-conditions-test-cases-v4.6.ndjson",
    ] {
        let path = super::data_dir()
            .join("cdsi/testcases-fhir-ndjson")
            .join(file);
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let params: serde_json::Value = serde_json::from_str(line).unwrap();
            let request = tianshan_immunization::fhir::read_parameters(&schedule, &params).unwrap();
            let (history, on) = (&request.history, request.assessment_date);
            let result = tianshan_immunization::forecast(&schedule, history, on);
            let e = explain(&schedule, history, on);
            for g in &e.vaccine_groups {
                let status = result
                    .group(g.vaccine_group)
                    .map_or("none", |f| f.status.code());
                assert_eq!(g.status, status, "{:?} {}", request.id, g.vaccine_group);
                for a in &g.antigens {
                    for d in &a.doses {
                        let got = result
                            .evaluations
                            .iter()
                            .find(|x| x.dose == d.dose && x.antigen == a.antigen)
                            .unwrap();
                        assert_eq!(
                            d.status,
                            got.status.code(),
                            "{:?} {}",
                            request.id,
                            a.antigen
                        );
                        assert!(!d.checks.is_empty(), "{:?} {}", request.id, a.antigen);
                    }
                }
            }
            assert!(!e.to_text().is_empty());
        }
    }
}

/// Guidance of the supporting data travels with the explanation (BCG: test first from 3 months).
#[test]
fn explanation_carries_the_series_guidance() {
    let schedule = china_schedule();
    let p = PatientHistory::new(date!(2024 - 03 - 10));
    let e = explain(&schedule, &p, date!(2024 - 09 - 01));
    let bcg = e
        .vaccine_groups
        .iter()
        .find(|g| g.vaccine_group == "BCG")
        .unwrap();
    let guidance = bcg.antigens[0]
        .forecast
        .iter()
        .find(|m| m.code == "series.guidance")
        .unwrap();
    assert!(guidance.params["text"].contains("PPD"), "{guidance:?}");
}
