//! Tables in and out of every module: reading an uploaded CSV or XLSX file into rows with their
//! line numbers, reporting each row's problems, and writing registers as CSV or XLSX.
//!
//! An import is all-or-nothing: every row is checked first; a file with any bad row writes
//! nothing unless the user asks to skip the bad rows, and the good rows are then written in one
//! transaction. [`ImportReport`] is what the pages, the API and the command line show.
use std::collections::HashMap;

use serde::Serialize;

use crate::error::{AppError, FieldError, Msg};

/// Largest file an import accepts.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Most rows one import takes (a county's year of records fits many times).
pub const MAX_IMPORT_ROWS: usize = 200_000;

/// One data row and the number a person sees for it (the line in the CSV file, the row in
/// the spreadsheet; the header is row 1).
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    cells: Vec<String>,
}

/// A table read from a file: named columns and rows.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    index: HashMap<String, usize>,
    pub rows: Vec<Row>,
}

fn norm(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').to_lowercase()
}

impl Table {
    pub fn new(headers: Vec<String>, rows: Vec<Row>) -> Table {
        let index = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (norm(h), i))
            .collect();
        Table {
            headers,
            index,
            rows,
        }
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Refuse a file that lacks a required column, naming every missing one.
    pub fn require(&self, columns: &[&str]) -> Result<(), AppError> {
        let missing: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !self.index.contains_key(&norm(c)))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AppError::BadRequest(
                Msg::new("import.missing_columns").arg("columns", missing.join(", ")),
            ))
        }
    }

    /// A cell by column name, trimmed ("" when the column or cell is absent).
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> &'a str {
        self.index
            .get(&norm(column))
            .and_then(|i| row.cells.get(*i))
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

fn is_xlsx(bytes: &[u8], filename: &str) -> bool {
    bytes.starts_with(b"PK\x03\x04") || filename.to_lowercase().ends_with(".xlsx")
}

/// Read a CSV (UTF-8, with or without BOM; GB18030 as Chinese Excel saves it) or an XLSX file
/// (first sheet). The first row names the columns. Empty rows are skipped.
pub fn read(bytes: &[u8], filename: &str) -> Result<Table, AppError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(AppError::BadRequest(Msg::new("error.too_large")));
    }
    let table = if is_xlsx(bytes, filename) {
        read_xlsx(bytes)?
    } else {
        read_csv(bytes)?
    };
    if table.rows.len() > MAX_IMPORT_ROWS {
        return Err(AppError::BadRequest(
            Msg::new("import.too_many_rows").arg("max", MAX_IMPORT_ROWS.to_string()),
        ));
    }
    Ok(table)
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, AppError> {
    let text = decode(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // The line a record starts on, from its byte offset (the reader's own line count skips
    // blank lines).
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let raw = text.as_bytes();
    let line_of = |mut byte: usize| {
        // A record's position may point at the blank lines before it.
        while matches!(raw.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        newlines.partition_point(|&nl| nl < byte) + 1
    };
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            AppError::BadRequest(
                Msg::new("import.bad_csv")
                    .arg("line", line.to_string())
                    .arg("detail", e.to_string()),
            )
        })?;
        let line = rec
            .position()
            .map(|p| line_of(p.byte() as usize))
            .unwrap_or(0);
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match headers {
            None => headers = Some(cells),
            Some(_) => rows.push(Row {
                number: line,
                cells,
            }),
        }
    }
    let headers = headers.ok_or_else(|| AppError::BadRequest(Msg::new("import.empty")))?;
    Ok(Table::new(headers, rows))
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, AppError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|e| {
        AppError::BadRequest(Msg::new("import.bad_xlsx").arg("detail", e.to_string()))
    })?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::BadRequest(Msg::new("import.empty")))?
        .map_err(|e| {
            AppError::BadRequest(Msg::new("import.bad_xlsx").arg("detail", e.to_string()))
        })?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let cell = |d: &Data| -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(dt) => excel_date(dt.as_f64()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let cells: Vec<String> = r.iter().map(cell).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match headers {
            None => headers = Some(cells),
            Some(_) => rows.push(Row {
                number: first_row + i + 1,
                cells,
            }),
        }
    }
    let headers = headers.ok_or_else(|| AppError::BadRequest(Msg::new("import.empty")))?;
    Ok(Table::new(headers, rows))
}

/// An Excel serial date (days since 1899-12-30) as `YYYY-MM-DD`, with `THH:MM` when it has a
/// time of day.
fn excel_date(serial: f64) -> String {
    let base = time::macros::date!(1899 - 12 - 30);
    let days = serial.floor();
    let Some(d) = base.checked_add(time::Duration::days(days as i64)) else {
        return serial.to_string();
    };
    let minutes = ((serial - days) * 1440.0).round() as i64;
    if minutes == 0 || minutes == 1440 {
        d.to_string()
    } else {
        format!("{d}T{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// One problem of one row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    /// In the reader's language once rendered ([`ImportReport::localise`]).
    pub message: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub msg: Option<Msg>,
}

/// What an import did, row by row.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub skipped: usize,
    /// True when nothing was written because some rows had errors.
    pub refused: bool,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    /// Record a row's field errors.
    pub fn row_failed(&mut self, row: usize, errs: Vec<FieldError>) {
        for e in errs {
            self.errors.push(RowError {
                row,
                field: e.field,
                message: String::new(),
                msg: Some(e.msg),
            });
        }
    }

    /// Fill each error's message in the reader's language.
    pub fn localise(&mut self, t: &crate::i18n::Catalog) {
        for e in &mut self.errors {
            if let Some(m) = &e.msg {
                e.message = t.msg(m);
            }
        }
    }

    /// Rows that had at least one error.
    pub fn bad_rows(&self) -> usize {
        let mut rows: Vec<usize> = self.errors.iter().map(|e| e.row).collect();
        rows.dedup();
        rows.len()
    }
}

/// Check every row with `check`; the good ones come back with the report. When some rows are
/// bad and `skip_bad` is false, no row comes back and the report says the file was refused.
pub fn check_rows<T>(
    table: &Table,
    skip_bad: bool,
    mut check: impl FnMut(&Table, &Row) -> Result<T, Vec<FieldError>>,
) -> (Vec<(usize, T)>, ImportReport) {
    let mut report = ImportReport {
        rows: table.rows.len(),
        ..Default::default()
    };
    let mut good = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        match check(table, row) {
            Ok(v) => good.push((row.number, v)),
            Err(errs) => report.row_failed(row.number, errs),
        }
    }
    let bad = report.bad_rows();
    if bad > 0 && !skip_bad {
        report.refused = true;
        return (Vec::new(), report);
    }
    report.skipped = bad;
    report.imported = good.len();
    (good, report)
}

/// A spreadsheet would run a cell starting with `=`, `+`, `-` or `@` as a formula: prefix `'`.
pub fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A CSV file (UTF-8 with BOM, so Excel shows Chinese and Uyghur), header first.
pub fn to_csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(headers);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| defuse(c)));
    }
    let mut out = b"\xef\xbb\xbf".to_vec();
    out.extend(w.into_inner().unwrap_or_default());
    out
}

/// An XLSX workbook of one sheet, header in bold, numbers kept as numbers.
pub fn to_xlsx(sheet: &str, headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let name: String = sheet
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    ws.set_name(if name.is_empty() { "Sheet1" } else { &name })
        .map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = ((r + 1) as u32, c as u16);
            match v.parse::<f64>() {
                // Codes with leading zeros (ID numbers, GB codes) stay text.
                Ok(n) if !v.starts_with('0') || v == "0" || v.starts_with("0.") => {
                    ws.write_number(r, c, n).map_err(fail)?
                }
                _ => ws.write_string(r, c, v).map_err(fail)?,
            };
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

/// A download response: `Content-Disposition: attachment` with the file name.
pub fn download(
    filename: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let safe: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

pub const CSV_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_blank_lines_and_line_numbers() {
        let t = read(
            "\u{feff}Name,Dose\n张三,1\n\n\"李,四\",2\n".as_bytes(),
            "x.csv",
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.get(&t.rows[1], "name"), "李,四");
        assert_eq!(t.rows[0].number, 2);
        assert_eq!(t.rows[1].number, 4);
        assert!(t.require(&["name", "lot"]).is_err());
    }

    #[test]
    fn gb18030_csv_is_read() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("姓名,剂次\n张三,1\n");
        let t = read(&bytes, "x.csv").unwrap();
        assert_eq!(t.get(&t.rows[0], "姓名"), "张三");
    }

    #[test]
    fn xlsx_round_trip() {
        let bytes = to_xlsx(
            "doses",
            &["name", "id", "n"],
            &[vec!["张三".into(), "0653".into(), "12".into()]],
        )
        .unwrap();
        let t = read(&bytes, "x.xlsx").unwrap();
        assert_eq!(t.get(&t.rows[0], "name"), "张三");
        assert_eq!(t.get(&t.rows[0], "id"), "0653");
        assert_eq!(t.get(&t.rows[0], "n"), "12");
        assert_eq!(t.rows[0].number, 2);
    }

    #[test]
    fn bad_rows_refuse_the_file_unless_skipped() {
        let t = read(b"n\n1\nx\n3\n", "x.csv").unwrap();
        let check = |t: &Table, r: &Row| {
            t.get(r, "n")
                .parse::<i32>()
                .map_err(|_| vec![FieldError::new("n", Msg::new("error.invalid"))])
        };
        let (good, rep) = check_rows(&t, false, check);
        assert!(good.is_empty() && rep.refused);
        assert_eq!(rep.errors[0].row, 3);
        let (good, rep) = check_rows(&t, true, check);
        assert_eq!(good.len(), 2);
        assert_eq!((rep.imported, rep.skipped, rep.refused), (2, 1, false));
    }

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date(45_000.0), "2023-03-15");
        assert_eq!(excel_date(45_000.5), "2023-03-15T12:00");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(defuse("-5"), "-5");
        let csv = String::from_utf8(to_csv(&["a"], &[vec!["@x".into()]])).unwrap();
        assert!(csv.contains("'@x"));
    }
}
