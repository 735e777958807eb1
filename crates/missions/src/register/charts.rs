//! The measures page's charts, drawn on the server as SVG (no script, no inline style): one
//! bar chart per figure, a bar per year, summed over the prefectures in the reader's scope.
use std::collections::BTreeMap;

use super::measures::MeasureLine;

/// Chart width and height in SVG units; bars sit between the margins.
pub const W: i64 = 320;
pub const H: i64 = 170;
const TOP: i64 = 18;
const BOTTOM: i64 = 24;

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub year: String,
    pub value: i64,
    /// Where the year and the value are written.
    pub label_x: i64,
    pub value_y: i64,
}

pub struct Chart {
    /// Catalogue key of the figure's name.
    pub title_key: &'static str,
    pub id: &'static str,
    pub bars: Vec<Bar>,
}

/// A figure charted: its catalogue key, the chart's id, and how to read it from a line.
type Figure = (&'static str, &'static str, fn(&MeasureLine) -> i64);

/// The figures charted.
const FIGURES: [Figure; 5] = [
    ("missions.measures.missions", "chart-missions", |l| {
        l.missions
    }),
    ("missions.measures.patients", "chart-patients", |l| {
        l.patients_seen
    }),
    ("missions.measures.operations", "chart-operations", |l| {
        l.operations
    }),
    ("missions.measures.trained", "chart-trained", |l| {
        l.people_trained
    }),
    ("missions.measures.independent", "chart-independent", |l| {
        l.techniques_independent
    }),
];

/// One chart per figure over the years present (pure).
pub fn charts(lines: &[MeasureLine]) -> Vec<Chart> {
    FIGURES
        .iter()
        .map(|(key, id, value)| {
            let mut per_year: BTreeMap<&str, i64> = BTreeMap::new();
            for l in lines {
                *per_year.entry(l.year.as_str()).or_default() += value(l);
            }
            let max = per_year.values().copied().max().unwrap_or(0).max(1);
            let n = per_year.len().max(1) as i64;
            let slot = (W - 8) / n;
            let width = (slot * 2 / 3).max(2);
            let room = H - TOP - BOTTOM;
            let bars = per_year
                .iter()
                .enumerate()
                .map(|(i, (year, v))| {
                    let height = v * room / max;
                    let x = 4 + i as i64 * slot + (slot - width) / 2;
                    Bar {
                        x,
                        y: TOP + room - height,
                        width,
                        height,
                        year: year.to_string(),
                        value: *v,
                        label_x: x + width / 2,
                        value_y: TOP + room - height - 4,
                    }
                })
                .collect();
            Chart {
                title_key: key,
                id,
                bars,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(year: &str, missions: i64) -> MeasureLine {
        MeasureLine {
            year: year.into(),
            missions,
            ..Default::default()
        }
    }

    #[test]
    fn bars_are_summed_per_year_and_scaled_to_the_tallest() {
        let c = charts(&[line("2023", 2), line("2023", 2), line("2024", 2)]);
        let m = &c[0];
        assert_eq!(m.bars.len(), 2);
        assert_eq!((m.bars[0].year.as_str(), m.bars[0].value), ("2023", 4));
        assert_eq!(m.bars[0].height, H - TOP - BOTTOM);
        assert_eq!(m.bars[1].height * 2, m.bars[0].height);
        assert!(m.bars[1].x > m.bars[0].x + m.bars[0].width);
        assert!(c[1].bars.iter().all(|b| b.height == 0));
    }
}
