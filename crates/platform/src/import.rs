//! `tianshan import`: FHIR Bundles and NDJSON from files, through the same checks and writes as
//! the REST API (each module's [`FhirType`]), with the user's scope and audit.
//!
//! - A Bundle file is all-or-nothing: every entry of a type some module handles is checked, then
//!   all are written in one transaction. Entries of types nobody handles are counted and
//!   reported, never silently dropped.
//! - An NDJSON file is resumable: lines are written in chunks, each chunk one transaction, and
//!   the last line written is recorded (`import_progress`, keyed by the file's SHA-256) with the
//!   ids given to the file's resources (`import_ids`), so a run that stopped (a bad line, a
//!   crash) continues where it stopped once the file is fixed or run again. Lines that are not
//!   JSON are found before anything is written.
use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::{AppError, Msg};
use crate::fhir::{Prepared, RefMap};
use crate::state::Platform;
use crate::{tx_exec, with_db};

/// Lines of an NDJSON file written per transaction.
pub const CHUNK: usize = 200;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub created: BTreeMap<String, usize>,
    pub updated: BTreeMap<String, usize>,
    /// Types nobody handles, with how many resources of each were left out.
    pub unhandled: BTreeMap<String, usize>,
    /// NDJSON lines already written by an earlier run and skipped now.
    pub resumed_after: usize,
    /// `(line or entry number, message)` of resources refused (with `--skip-bad`).
    pub refused: Vec<(usize, String)>,
}

impl Outcome {
    pub fn total_written(&self) -> usize {
        self.created.values().sum::<usize>() + self.updated.values().sum::<usize>()
    }
}

/// Progress callback: `(done, total)` resources.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

fn describe(st: &Platform, e: &AppError) -> String {
    let t = st.i18n.catalog(crate::i18n::Locale::En);
    let mut s = t.msg(&e.msg());
    for f in e.fields() {
        s.push_str(&format!(" [{}: {}]", f.field, t.msg(&f.msg)));
    }
    if let AppError::Db(d) = e {
        s.push_str(&format!(" ({d})"));
    }
    s
}

/// One resource of a Bundle file: `(fullUrl, method, url, resource)`.
type FileEntry = (Option<String>, String, String, Value);

/// The resources of a Bundle file.
fn bundle_entries(v: &Value) -> Result<Vec<FileEntry>, AppError> {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let Some(resource) = e.get("resource").cloned() else {
            return Err(AppError::BadRequest(
                Msg::new("import.entry_no_resource").arg("entry", i.to_string()),
            ));
        };
        let ty = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let (method, url) = if kind == "transaction" || kind == "batch" {
            (
                e.pointer("/request/method")
                    .and_then(Value::as_str)
                    .unwrap_or("POST")
                    .to_string(),
                e.pointer("/request/url")
                    .and_then(Value::as_str)
                    .unwrap_or(&ty)
                    .to_string(),
            )
        } else {
            ("POST".to_string(), ty.clone())
        };
        let full = e.get("fullUrl").and_then(Value::as_str).map(str::to_string);
        out.push((full, method, url, resource));
    }
    Ok(out)
}

async fn prepare_one(
    st: &Platform,
    who: &Principal,
    method: &str,
    url: &str,
    resource: &Value,
    id: String,
    refs: &RefMap,
) -> Result<Prepared, AppError> {
    let ty = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let t = st.config.fhir_type(ty).ok_or_else(|| {
        AppError::NotFoundBecause(Msg::new("error.fhir_unsupported").arg("type", ty))
    })?;
    if method == "PUT" {
        let id = url.split('/').nth(1).unwrap_or("").to_string();
        t.prepare_update(st, who, resource, id, None, refs).await
    } else {
        t.prepare_create(st, who, resource, id, refs).await
    }
}

fn tally(out: &mut BTreeMap<String, usize>, ty: &str) {
    *out.entry(ty.to_string()).or_default() += 1;
}

/// Import one Bundle, all or nothing (or, with `skip_bad`, everything that passes its checks).
pub async fn bundle(
    st: &Platform,
    who: &Principal,
    v: &Value,
    skip_bad: bool,
    progress: Progress<'_>,
) -> Result<Outcome, AppError> {
    if v.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(AppError::BadRequest(Msg::new("import.not_bundle")));
    }
    let entries = bundle_entries(v)?;
    let mut out = Outcome::default();
    let mut refs = RefMap::default();
    // Give every handled entry its id first, so references between entries resolve.
    let mut planned = Vec::new();
    for (i, (full, method, url, resource)) in entries.into_iter().enumerate() {
        let ty = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if st.config.fhir_type(&ty).is_none() {
            tally(&mut out.unhandled, &ty);
            continue;
        }
        let id = if method == "PUT" {
            url.split('/').nth(1).unwrap_or("").to_string()
        } else {
            crate::new_id()
        };
        if let Some(f) = &full {
            refs.insert(f, &ty, &id);
        }
        if let Some(own) = resource.get("id").and_then(Value::as_str) {
            refs.insert(&format!("{ty}/{own}"), &ty, &id);
        }
        planned.push((i, ty, method, url, resource, id));
    }
    let total = planned.len();
    let mut prepared = Vec::with_capacity(total);
    for (n, (i, ty, method, url, resource, id)) in planned.into_iter().enumerate() {
        match prepare_one(st, who, &method, &url, &resource, id, &refs).await {
            Ok(p) => prepared.push((ty, p)),
            Err(e) if skip_bad => out.refused.push((i, describe(st, &e))),
            Err(e) => return Err(AppError::InEntry(i, Box::new(e))),
        }
        progress(n + 1, total);
    }
    let heads: Vec<(String, bool)> = prepared
        .iter()
        .map(|(t, p)| (t.clone(), p.created))
        .collect();
    st.write(move |tx| {
        Box::pin(async move {
            for (i, (_, p)) in prepared.into_iter().enumerate() {
                (p.apply)(tx)
                    .await
                    .map_err(|e| AppError::InEntry(i, Box::new(e)))?;
            }
            Ok(())
        })
    })
    .await?;
    for (ty, created) in heads {
        tally(
            if created {
                &mut out.created
            } else {
                &mut out.updated
            },
            &ty,
        );
    }
    Ok(out)
}

fn file_key(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Import an NDJSON file (one resource per line), resumable.
pub async fn ndjson(
    st: &Platform,
    who: &Principal,
    bytes: &[u8],
    skip_bad: bool,
    progress: Progress<'_>,
) -> Result<Outcome, AppError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest(Msg::new("import.not_utf8")))?;
    // Every line must be JSON before anything is written.
    let mut lines: Vec<(usize, Value)> = Vec::new();
    let mut out = Outcome::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.get("resourceType").and_then(Value::as_str).is_some() => lines.push((n, v)),
            Ok(_) | Err(_) if skip_bad => {
                out.refused.push((n, "not a FHIR resource in JSON".into()));
            }
            Ok(_) => {
                return Err(AppError::BadRequest(
                    Msg::new("import.bad_line")
                        .arg("line", n.to_string())
                        .arg("detail", "no resourceType"),
                ))
            }
            Err(e) => {
                return Err(AppError::BadRequest(
                    Msg::new("import.bad_line")
                        .arg("line", n.to_string())
                        .arg("detail", e.to_string()),
                ))
            }
        }
    }
    let key = file_key(bytes);
    let done: Option<i64> = with_db!(&st.db, pool => sqlx::query_scalar(
        "SELECT line FROM import_progress WHERE file_key = $1").bind(&key).fetch_optional(pool).await)?;
    let done = done.unwrap_or(0) as usize;
    let mut refs = RefMap::default();
    let known: Vec<(String, String, String)> = with_db!(&st.db, pool => sqlx::query_as(
        "SELECT source_ref, resource_type, id FROM import_ids WHERE file_key = $1").bind(&key).fetch_all(pool).await)?;
    for (src, ty, id) in known {
        refs.insert(&src, &ty, &id);
    }
    out.resumed_after = done;
    let todo: Vec<(usize, Value)> = lines.into_iter().filter(|(n, _)| *n > done).collect();
    let total = todo.len();
    let mut written = 0;
    for chunk in todo.chunks(CHUNK) {
        let mut prepared = Vec::new();
        let mut new_ids = Vec::new();
        for (n, v) in chunk {
            let ty = v
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if st.config.fhir_type(&ty).is_none() {
                tally(&mut out.unhandled, &ty);
                continue;
            }
            let id = crate::new_id();
            let own = v
                .get("id")
                .and_then(Value::as_str)
                .map(|o| format!("{ty}/{o}"));
            if let Some(o) = &own {
                refs.insert(o, &ty, &id);
            }
            match prepare_one(st, who, "POST", &ty, v, id.clone(), &refs).await {
                Ok(p) => {
                    if let Some(o) = own {
                        new_ids.push((o, ty.clone(), p.id.clone()));
                    }
                    prepared.push((ty, p));
                }
                Err(e) if skip_bad => out.refused.push((*n, describe(st, &e))),
                Err(e) => {
                    return Err(AppError::InEntry(*n, Box::new(e)));
                }
            }
        }
        let last = chunk.last().map(|(n, _)| *n).unwrap_or(done) as i64;
        let heads: Vec<String> = prepared.iter().map(|(t, _)| t.clone()).collect();
        let key2 = key.clone();
        st.write(move |tx| {
            Box::pin(async move {
                for (_, p) in prepared {
                    (p.apply)(tx).await?;
                }
                for (src, ty, id) in &new_ids {
                    tx_exec!(tx, sqlx::query("INSERT INTO import_ids (file_key, source_ref, resource_type, id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                        .bind(&key2).bind(src).bind(ty).bind(id))?;
                }
                let now = tx.now().to_string();
                tx_exec!(tx, sqlx::query("INSERT INTO import_progress (file_key, line, updated_at) VALUES ($1, $2, $3) \
                    ON CONFLICT (file_key) DO UPDATE SET line = $2, updated_at = $3")
                    .bind(&key2).bind(last).bind(&now))?;
                Ok(())
            })
        })
        .await?;
        for ty in heads {
            tally(&mut out.created, &ty);
        }
        written += chunk.len();
        progress(written, total);
    }
    Ok(out)
}
