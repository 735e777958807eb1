//! The only I/O of the crate: reads a directory of CDSi supporting-data XML (and an optional
//! `product-codes.csv`) into a [`Schedule`], optionally with an errata overlay.

use std::fs;
use std::path::Path;

use crate::errata::Errata;
use crate::model::ScheduleData;
use crate::schedule::{parse_antigen, parse_product_codes, Schedule, ScheduleError};

/// Loads `ScheduleSupportingData*.xml`, every `AntigenSupportingData*.xml` and, when present,
/// `product-codes.csv` from `dir`. Antigen files are read in name order so results are stable.
pub fn load_schedule_dir(dir: impl AsRef<Path>) -> Result<Schedule, ScheduleError> {
    load(dir.as_ref(), None)
}

/// [`load_schedule_dir`], then the errata file `errata` applied to the antigen data before the
/// schedule is built (see [`crate::errata`]). For conformance testing against CDC cases that
/// still expect retired rules (`schedules/cdc-errata/cdc-errata.xml`): a clinical system loads
/// the supporting data as published.
pub fn load_schedule_dir_with_errata(
    dir: impl AsRef<Path>,
    errata: impl AsRef<Path>,
) -> Result<Schedule, ScheduleError> {
    let path = errata.as_ref();
    let text = fs::read_to_string(path).map_err(|source| ScheduleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let errata = Errata::parse(&text).map_err(|e| match e {
        ScheduleError::Xml { message, .. } => ScheduleError::Xml {
            file: path.display().to_string(),
            message,
        },
        other => other,
    })?;
    load(dir.as_ref(), Some(&errata))
}

fn load(dir: &Path, errata: Option<&Errata>) -> Result<Schedule, ScheduleError> {
    let io = |path: &Path, source| ScheduleError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    names.sort();
    let mut schedule: Option<ScheduleData> = None;
    let mut antigens = Vec::new();
    for path in &names {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(path).map_err(|e| io(path, e))?;
        if file.starts_with("ScheduleSupportingData") {
            let data = quick_xml::de::from_str(&text).map_err(|e| ScheduleError::Xml {
                file: file.clone(),
                message: e.to_string(),
            })?;
            schedule = Some(data);
        } else if file.starts_with("AntigenSupportingData") {
            antigens.push(
                parse_antigen(&text).map_err(|message| ScheduleError::Xml { file, message })?,
            );
        }
    }
    let data = schedule.ok_or_else(|| {
        ScheduleError::Invalid(format!("{}: no ScheduleSupportingData*.xml", dir.display()))
    })?;
    if let Some(errata) = errata {
        errata.apply(&mut antigens)?;
    }
    let mut schedule = Schedule::from_parts(data, antigens)?;
    let products = dir.join("product-codes.csv");
    if products.exists() {
        let text = fs::read_to_string(&products).map_err(|e| io(&products, e))?;
        schedule = schedule.with_products(parse_product_codes(&text)?);
    }
    Ok(schedule)
}
