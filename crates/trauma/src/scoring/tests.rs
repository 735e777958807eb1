//! Tests of the scores: worked examples from the published definitions.
use super::*;

fn ais(region: Region, s: u8) -> Injury {
    injury_from_ais("", region, s).unwrap()
}

fn close(a: f64, b: f64, eps: f64) {
    assert!((a - b).abs() < eps, "{a} != {b}");
}

#[test]
fn gcs_parts_and_bounds() {
    assert_eq!(Gcs::new(4, 5, 6).unwrap().total(), 15);
    assert_eq!(Gcs::new(1, 1, 1).unwrap().total(), 3);
    assert_eq!(Gcs::new(2, 3, 5).unwrap().total(), 10);
    assert!(matches!(
        Gcs::new(5, 5, 6),
        Err(ScoreError::GcsPart { part: "eye", .. })
    ));
    assert!(Gcs::new(4, 0, 6).is_err());
    assert!(Gcs::new(4, 5, 7).is_err());
}

/// RTS-1 and RTS-2 of worked_examples.csv (Champion 1989 weights).
#[test]
fn rts_examples() {
    close(rts(15, 120, 16).unwrap(), 7.8408, 1e-9);
    close(rts_from_codes(3, 4, 4), 6.9040, 1e-9);
    assert_eq!(rts(10, 120, 16).unwrap(), 6.904);
    assert_eq!(rts(3, 120, 16).unwrap(), 4.0936);
    // band edges from rts_coding.csv
    assert_eq!(
        (sbp_code(90), sbp_code(89), sbp_code(76), sbp_code(75)),
        (4, 3, 3, 2)
    );
    assert_eq!((sbp_code(50), sbp_code(49), sbp_code(0)), (2, 1, 0));
    assert_eq!(
        (rr_code(29), rr_code(30), rr_code(9), rr_code(5), rr_code(0)),
        (4, 3, 2, 1, 0)
    );
    assert_eq!(
        (
            gcs_code(13),
            gcs_code(12),
            gcs_code(8),
            gcs_code(5),
            gcs_code(3)
        ),
        (4, 3, 2, 1, 0)
    );
    close(rts(3, 0, 0).unwrap(), 0.0, 1e-9);
    assert!(rts(16, 120, 16).is_err());
    assert!(rts(15, 400, 16).is_err());
}

/// ISS-1 (boneandspine.com / Wikipedia ISS article): 3²+4²+5² = 50; NISS-1 = 50.
#[test]
fn iss_niss_published_example() {
    let inj = vec![
        ais(Region::HeadNeck, 3),
        ais(Region::Chest, 4),
        ais(Region::Abdomen, 2),
        ais(Region::Abdomen, 5),
        ais(Region::Extremities, 3),
    ];
    assert_eq!(iss(&inj), 50);
    assert_eq!(niss(&inj), 50);
    // NISS counts two injuries of one region; ISS does not.
    let two = vec![
        ais(Region::Abdomen, 4),
        ais(Region::Abdomen, 4),
        ais(Region::Chest, 2),
    ];
    assert_eq!(iss(&two), 20);
    assert_eq!(niss(&two), 36);
    assert_eq!(iss(&[]), 0);
}

/// ISS-AIS6 (Baker 1974; codingace.net): any AIS 6 gives ISS 75 and NISS 75.
#[test]
fn ais6_gives_75() {
    let inj = vec![ais(Region::HeadNeck, 6), ais(Region::Face, 1)];
    assert_eq!(iss(&inj), 75);
    assert_eq!(niss(&inj), 75);
    // 5,5,5 also reaches 75 without the rule
    let inj = vec![
        ais(Region::HeadNeck, 5),
        ais(Region::Chest, 5),
        ais(Region::Abdomen, 5),
    ];
    assert_eq!(iss(&inj), 75);
    assert!(injury_from_ais("x", Region::Face, 7).is_err());
    assert!(injury_from_ais("x", Region::Face, 0).is_err());
}

/// The codes of ICDPIC-3/4 (worked_examples.csv) mapped through the embedded WHO base table
/// by hand: NIS rows S008 1 Head/Neck, S220 2 / S224 4 Chest, S308 1 / S322 2 Abdomen,
/// S422 2 / S822 1 / S824 1 Extremities → ISS 4²+2²+2² = 24, NISS 4²+2²+2² = 24; TQIP rows
/// 1, 1/2, 1/1, 1/1/1 → ISS 2²+1+1 = 6, NISS 6. (The worked-example file quotes 4 and 1
/// from an icdpicr test we could not find at the stored commit; see the report.)
#[test]
fn icdpicr_base_codes_examples() {
    let codes = [
        "S00.81", "S22.08", "S22.41", "S30.81", "S32.2", "S42.25", "S42.29", "S82.23", "S82.49",
    ];
    for (method, want) in [(IcdpicMethod::Nis, 24), (IcdpicMethod::Tqip, 6)] {
        let inj: Vec<Injury> = codes
            .iter()
            .map(|c| injury_from_icd(c, method).unwrap())
            .collect();
        assert_eq!(iss(&inj), want, "{method:?}");
        assert_eq!(niss(&inj), want, "{method:?}");
        assert_eq!(inj[0].source, method.as_str());
    }
    let dai = injury_from_icd("S06.501", IcdpicMethod::Nis).unwrap();
    assert_eq!((dai.region, dai.severity), (Region::HeadNeck, 5));
    assert_eq!(
        injury_from_icd("Z99.9", IcdpicMethod::Nis),
        Err(ScoreError::UnknownIcd("Z99.9".into()))
    );
    assert!(injury_from_icd("", IcdpicMethod::Nis).is_err());
}

/// TRISS-A/B/C (codingace.net examples) and TRISS-D/E (traumar tests) with MTOS_1995.
#[test]
fn triss_published_examples() {
    let m = triss_model(DEFAULT_TRISS).unwrap();
    close(
        triss_ps(m, InjuryType::Blunt, 7.8408, 9, 28),
        0.994164,
        1e-6,
    );
    close(
        triss_ps(m, InjuryType::Blunt, 6.9048, 22, 68),
        0.825293,
        1e-6,
    );
    close(
        triss_ps(m, InjuryType::Penetrating, 4.0932, 29, 60),
        0.183440,
        1e-6,
    );
    close(triss_ps(m, InjuryType::Blunt, 7.84, 10, 30), 0.993655, 1e-6);
    close(
        triss_ps(m, InjuryType::Penetrating, 6.90, 25, 60),
        0.825701,
        1e-6,
    );
    // under 15: blunt coefficients whatever the mechanism
    close(
        triss_ps(m, InjuryType::Penetrating, 6.9, 25, 12),
        triss_ps(m, InjuryType::Blunt, 6.9, 25, 12),
        1e-12,
    );
    // the age term starts at 55
    assert!(
        triss_ps(m, InjuryType::Blunt, 7.84, 10, 55) < triss_ps(m, InjuryType::Blunt, 7.84, 10, 54)
    );
    let m90 = triss_model("MTOS_1990").unwrap();
    close(
        triss_ps(m90, InjuryType::Blunt, 7.8408, 9, 28),
        0.996108,
        1e-6,
    );
    close(
        triss_ps(m90, InjuryType::Penetrating, 4.0932, 29, 60),
        0.047954,
        1e-6,
    );
    assert!(triss_model("NTDB_2009").is_err());
}

/// W, Z and O/E computed by hand for four patients.
#[test]
fn w_z_oe_by_hand() {
    // Ps 0.9, 0.8, 0.5, 0.2; the 0.8 died, the 0.2 survived.
    let s = triss_stats(&[(0.9, true), (0.8, false), (0.5, true), (0.2, true)]);
    // A = 3, ΣPs = 2.4, W = 0.6 / 0.04 = 15
    close(s.w, 15.0, 1e-9);
    // var = .09 + .16 + .25 + .16 = .66; Z = 0.6 / √.66
    close(s.z.unwrap(), 0.6 / 0.66f64.sqrt(), 1e-9);
    // O = 1, E = 1.6 → 0.625 ± 1.96·√.66/1.6
    close(s.oe.unwrap(), 0.625, 1e-9);
    close(
        s.oe_high.unwrap(),
        0.625 + 1.96 * 0.66f64.sqrt() / 1.6,
        1e-9,
    );
    assert_eq!(s.oe_low, Some(0.0));
    let empty = triss_stats(&[]);
    assert_eq!((empty.n, empty.z, empty.oe), (0, None, None));
}

#[test]
fn nearest_rank_percentiles() {
    let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    assert_eq!(percentile(&v, 0.5), Some(50));
    assert_eq!(percentile(&v, 0.9), Some(90));
    assert_eq!(percentile(&[7], 0.9), Some(7));
    assert_eq!(percentile(&[1, 2, 3], 0.5), Some(2));
    assert_eq!(percentile(&[], 0.5), None);
}
