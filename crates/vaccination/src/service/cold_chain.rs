//! The cold chain: devices, temperature readings, excursions and the lots they quarantine.
use super::*;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DeviceInput {
    pub id: String,
    pub org_code: String,
    pub name: String,
    /// refrigerator, freezer, cold_box.
    #[serde(default)]
    pub kind: String,
    /// Safe range in °C (default 2–8).
    #[serde(default)]
    pub min_c: Option<f64>,
    #[serde(default)]
    pub max_c: Option<f64>,
    /// Cumulative minutes out of range within 24 hours that make an excursion (default 60).
    #[serde(default)]
    pub excursion_minutes: Option<i64>,
}

pub async fn create_device(
    st: &Platform,
    who: &Principal,
    input: DeviceInput,
) -> Result<DeviceRow, AppError> {
    who.require(perms::STOCK)?;
    let org = owned_org(st, who, &input.org_code).await?;
    let id = input.id.trim().to_string();
    let mut errs = Vec::new();
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errs.push(FieldError::new("id", Msg::new("vacc.err.device_id")));
    }
    let kind = if input.kind.is_empty() {
        "refrigerator".to_string()
    } else {
        input.kind.clone()
    };
    if !matches!(kind.as_str(), "refrigerator" | "freezer" | "cold_box") {
        errs.push(FieldError::new("kind", Msg::new("vacc.err.device_kind")));
    }
    let min = input
        .min_c
        .map(domain::temperature_tenths)
        .unwrap_or(Some(domain::DEFAULT_MIN_TENTHS));
    let max = input
        .max_c
        .map(domain::temperature_tenths)
        .unwrap_or(Some(domain::DEFAULT_MAX_TENTHS));
    let (min, max) = match (min, max) {
        (Some(a), Some(b)) if a < b => (a, b),
        _ => {
            errs.push(FieldError::new("min_c", Msg::new("vacc.err.range")));
            (0, 0)
        }
    };
    let minutes = input
        .excursion_minutes
        .unwrap_or(domain::DEFAULT_EXCURSION_MINUTES);
    if !(1..=1440).contains(&minutes) {
        errs.push(FieldError::new(
            "excursion_minutes",
            Msg::new("vacc.err.minutes"),
        ));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let row = DeviceRow {
        id,
        org_code: org.code,
        org_path: org.path,
        name: input.name.trim().to_string(),
        kind,
        min_tenths: min,
        max_tenths: max,
        excursion_minutes: minutes,
        status: "ok".into(),
        created_at: st.clock.now_text(),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            store::insert_device(tx, &row).await?;
            tx.record(
                &who2,
                Event::new(COLD_CHAIN, "Device", &row.id).detail("created"),
            );
            Ok(row)
        })
    })
    .await
}

pub async fn devices(st: &Platform, who: &Principal) -> Result<Vec<DeviceRow>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    store::devices_in(&st.db, &lo, &hi).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceDetail {
    pub device: DeviceRow,
    pub readings: Vec<store::ReadingRow>,
    pub excursions: Vec<store::ExcursionRow>,
    pub lots: Vec<LotRow>,
}

pub async fn device_detail(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<DeviceDetail, AppError> {
    who.require(perms::READ)?;
    let device = match store::device(&st.db, id).await? {
        Some(d) if who.scope.covers(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let readings = store::readings(&st.db, id, 500).await?;
    let excursions = store::excursions(&st.db, id).await?;
    let lots = store::lots_in(
        &st.db,
        &device.org_path,
        &tianshan_platform::db::prefix_end(&device.org_path),
        500,
    )
    .await?
    .into_iter()
    .filter(|l| l.device_id.as_deref() == Some(id))
    .collect();
    Ok(DeviceDetail {
        device,
        readings,
        excursions,
        lots,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReadingInput {
    /// When the sensor read it (RFC 3339).
    pub at: String,
    /// °C.
    pub celsius: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadingOutcome {
    /// false when the device already had a reading at that instant (sent twice).
    pub stored: bool,
    /// Minutes out of range in the last 24 hours.
    pub minutes_out: i64,
    /// An excursion was raised by this reading: the lots quarantined.
    pub quarantined: Vec<String>,
}

/// Check a reading's payload: a time and a temperature a sensor can read.
pub fn check_reading(r: &ReadingInput) -> Result<(OffsetDateTime, i64), AppError> {
    let at = tianshan_platform::clock::parse_timestamp(r.at.trim())
        .ok_or_else(|| invalid("at", "vacc.err.time"))?;
    let t = domain::temperature_tenths(r.celsius)
        .ok_or_else(|| invalid("celsius", "vacc.err.temperature"))?;
    Ok((at, t))
}

/// A reading from the HTTP API (person or device token with `vaccination.stock`).
pub async fn add_reading(
    st: &Platform,
    who: &Principal,
    device: &str,
    r: &ReadingInput,
) -> Result<ReadingOutcome, AppError> {
    who.require(perms::STOCK)?;
    let d = match store::device(&st.db, device).await? {
        Some(d) if who.scope.owns(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let (at, t) = check_reading(r)?;
    ingest(st, who, d, at, t).await
}

/// Store a reading and recount the device's time out of range over the last 24 hours from the
/// stored readings (late readings fall into place; one sent twice is stored once). Crossing the
/// device's threshold raises one excursion: an alert and its active lots quarantined.
pub async fn ingest(
    st: &Platform,
    who: &Principal,
    d: DeviceRow,
    at: OffsetDateTime,
    tenths: i64,
) -> Result<ReadingOutcome, AppError> {
    let at_text = tianshan_platform::clock::timestamp_text(at);
    let dev_id = d.id.clone();
    let who2 = who.clone();
    let now = st.clock.now();
    let out = st
        .write(move |tx| {
            Box::pin(async move {
                let stored = store::insert_reading(tx, &d.id, &at_text, tenths).await?;
                let window_start = now.min(at) - time::Duration::hours(domain::WINDOW_HOURS);
                let mut since = tianshan_platform::clock::timestamp_text(window_start);
                if let Some(r) = store::last_reviewed_excursion_tx(tx, &d.id).await? {
                    if r > since {
                        since = r;
                    }
                }
                let rows = store::readings_since_tx(tx, &d.id, &since).await?;
                let pts: Vec<(i64, i64)> = rows
                    .iter()
                    .filter_map(|r| {
                        tianshan_platform::clock::parse_timestamp(&r.at)
                            .map(|t| (t.unix_timestamp(), r.tenths))
                    })
                    .collect();
                let (secs, extreme) = domain::out_of_range(&pts, d.min_tenths, d.max_tenths);
                let minutes_out = secs / 60;
                let mut quarantined = Vec::new();
                if stored && d.status == "ok" && minutes_out >= d.excursion_minutes {
                    let start = domain::excursion_start(&pts, d.min_tenths, d.max_tenths)
                        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                        .map(tianshan_platform::clock::timestamp_text)
                        .unwrap_or_else(|| at_text.clone());
                    let e = store::ExcursionRow {
                        id: tianshan_platform::new_id(),
                        device_id: d.id.clone(),
                        started_at: start,
                        detected_at: tx.now().to_string(),
                        minutes: minutes_out,
                        extreme_tenths: extreme.unwrap_or(tenths),
                        reviewed: 0,
                    };
                    if store::open_excursion(tx, &e).await? {
                        let reason =
                            format!("cold-chain excursion {} min on {}", minutes_out, d.name);
                        quarantined = store::quarantine_device_lots(tx, &d.id, &reason).await?;
                        let msg = format!(
                            "{}: {} min out of range, extreme {:.1} °C; {} lot(s) quarantined",
                            d.name,
                            minutes_out,
                            e.extreme_tenths as f64 / 10.0,
                            quarantined.len()
                        );
                        store::insert_alert(tx, "cold_chain_excursion", &d.org_path, &e.id, &msg)
                            .await?;
                        let detail = format!("excursion; quarantined {}", quarantined.join(" "));
                        tx.record(
                            &who2,
                            Event::new(COLD_CHAIN, "Device", &d.id).detail(&detail),
                        );
                    }
                }
                Ok(ReadingOutcome {
                    stored,
                    minutes_out,
                    quarantined,
                })
            })
        })
        .await?;
    if !out.quarantined.is_empty() {
        st.events
            .publish(
                "vaccination.alert",
                &serde_json::json!({"kind": "cold_chain_excursion", "device": dev_id}).to_string(),
            )
            .await;
    }
    Ok(out)
}

/// A person reviewed the device: the excursion is closed (its readings no longer count). Each
/// quarantined lot is released or discarded on its own ([`decide_lot`]).
pub async fn review_device(
    st: &Platform,
    who: &Principal,
    id: &str,
) -> Result<DeviceRow, AppError> {
    who.require(perms::STOCK)?;
    let d = match store::device(&st.db, id).await? {
        Some(d) if who.scope.owns(&d.org_path) => d,
        _ => return Err(AppError::NotFound),
    };
    let who2 = who.clone();
    st.write(move |tx| {
        Box::pin(async move {
            if !store::close_excursion(tx, &d.id).await? {
                return Err(AppError::Conflict(Msg::new("vacc.err.no_excursion")));
            }
            tx.record(
                &who2,
                Event::new(COLD_CHAIN, "Device", &d.id).detail("excursion reviewed"),
            );
            store::device_tx(tx, &d.id).await?.ok_or(AppError::NotFound)
        })
    })
    .await
}
