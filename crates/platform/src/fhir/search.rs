//! A FHIR search's parameters: checked against the type's, paged, linked.
use super::invalid;
use crate::error::{AppError, Msg};

/// FHIR `_count`: default 20, at most 200.
pub fn page_size(count: Option<&str>) -> Result<i64, AppError> {
    match count {
        None | Some("") => Ok(20),
        Some(c) => match c.parse::<i64>() {
            Ok(n) if (0..=200).contains(&n) => Ok(n),
            Ok(_) => Ok(200),
            Err(_) => Err(invalid(
                "_count",
                &format!("_count must be a whole number, not '{c}'"),
            )),
        },
    }
}

/// A search's parameters, checked against the ones a resource type supports.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Accepted `(name, value)` pairs, without the paging and result parameters.
    pub params: Vec<(String, String)>,
    pub count: i64,
    pub offset: i64,
    /// `_summary=count`: only the total.
    pub summary_count: bool,
    /// `_total=accurate` or `estimate` (or fhirpy's `_totalMethod`): count every match even
    /// when the page is full. Without it the total is given only when it costs nothing (a
    /// first page that is not full), as FHIR allows; a full page has a `next` link.
    pub total_wanted: bool,
}

impl Search {
    /// Whether the total must be counted: asked for, or the only thing asked for.
    pub fn counts_total(&self) -> bool {
        self.total_wanted || self.summary_count || self.count == 0
    }
}

/// Parameters every search takes.
const RESULT_PARAMS: [&str; 4] = ["_count", "_offset", "_summary", "_format"];

impl Search {
    /// Check the query: unknown parameters are refused (400 OperationOutcome naming them), or,
    /// with `Prefer: handling=lenient`, dropped (and left out of the `self` link).
    pub fn parse(
        query: Option<&str>,
        headers: &axum::http::HeaderMap,
        known: &[&str],
    ) -> Result<Search, AppError> {
        let lenient = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|p| p.trim() == "handling=lenient"));
        let mut s = Search {
            count: 20,
            ..Default::default()
        };
        let mut unknown = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let (k, v) = (k.into_owned(), v.into_owned());
            // Modifiers (`name:exact`) are not supported: treat as unknown.
            match k.as_str() {
                "_count" => s.count = page_size(Some(&v))?,
                "_offset" => {
                    s.offset = v
                        .parse::<i64>()
                        .ok()
                        .filter(|o| (0..=1_000_000).contains(o))
                        .ok_or_else(|| invalid("_offset", "_offset must be a whole number"))?
                }
                "_summary" => match v.as_str() {
                    "count" => s.summary_count = true,
                    "false" => {}
                    _ => unknown.push(format!("_summary={v}")),
                },
                // How a total is counted (`_total`, FHIR; `_totalMethod`, sent by fhirpy's
                // `.count()`): when asked for, this server counts exactly, up to its cap.
                "_total" => match v.as_str() {
                    "accurate" | "estimate" => s.total_wanted = true,
                    "none" => {}
                    _ => unknown.push(format!("_total={v}")),
                },
                "_totalMethod" => s.total_wanted = true,
                "_format" => {}
                _ if known.contains(&k.as_str()) => s.params.push((k, v)),
                _ => unknown.push(k),
            }
        }
        if !unknown.is_empty() && !lenient {
            return Err(AppError::BadRequest(
                Msg::new("error.fhir_unknown_param").arg("names", unknown.join(", ")),
            ));
        }
        let _ = RESULT_PARAMS;
        Ok(s)
    }

    /// The first value of a parameter, trimmed, if not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `self` and `next` links for a page of `got` results.
    pub fn links(
        &self,
        base: &str,
        ty: &str,
        got: usize,
        total: Option<i64>,
    ) -> (String, Option<String>) {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            q.append_pair(k, v);
        }
        q.append_pair("_count", &self.count.to_string());
        let query = q.finish();
        let self_url = format!("{base}/{ty}?{query}&_offset={}", self.offset);
        let more = match total {
            Some(t) => self.offset + (got as i64) < t,
            None => got as i64 == self.count,
        };
        let next = (more && self.count > 0 && got > 0)
            .then(|| format!("{base}/{ty}?{query}&_offset={}", self.offset + self.count));
        (self_url, next)
    }
}
