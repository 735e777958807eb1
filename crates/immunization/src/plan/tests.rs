//! Tests of the compiled plan.
#![allow(clippy::unwrap_used)]

#[test]
/// Measles, mumps and rubella differ only in the single-antigen vaccines they allow.
fn identical_antigens_are_found() {
    let china = crate::Schedule::china().unwrap();
    let plan = china.plan();
    let same: Vec<String> = plan
        .same_as
        .iter()
        .enumerate()
        .filter_map(|(a, s)| {
            s.as_ref().map(|(b, differ)| {
                format!(
                    "{}={} except {differ:?}",
                    china.antigens[a].name,
                    china.antigens[usize::from(*b)].name
                )
            })
        })
        .collect();
    assert_eq!(
        same,
        [
            "Mumps=Measles except [4, 5]",
            "Rubella=Measles except [5]",
            "Tetanus=Diphtheria except []"
        ]
    );
}
