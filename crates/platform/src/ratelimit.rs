//! Sign-in throttling: a progressive delay per (username, address), and a ceiling per username
//! over all addresses. The counters are rows of `signin_failures`, so every server process
//! sharing the database applies the same delays. One address's failures never hold back
//! another user; a user is never held back for more than [`MAX_DELAY_SECS`] at a time; an
//! administrator can lift the hold (`tianshan user unlock`, the user's page, the API).
use time::{Duration, OffsetDateTime};

use crate::audit::{Action, Event};
use crate::clock::{parse_timestamp, timestamp_text};
use crate::error::{AppError, Msg};
use crate::state::Platform;
use crate::users::{By, UserSummary, USER_AUDIT};
use crate::{tx_exec, with_db, with_tx};

/// Failures from one address for one user before the first delay.
pub const PAIR_FREE: i64 = 5;
/// Failures after which the next attempt from the same address waits.
pub const MAX_FAILURES: i64 = PAIR_FREE;
/// First delay for one (user, address); it doubles with each further failure.
pub const PAIR_BASE_SECS: i64 = 5;
/// Failures for one user from all addresses together before that user's delay starts.
pub const USER_FREE: i64 = 20;
pub const USER_BASE_SECS: i64 = 30;
/// The longest any hold lasts (the ceiling).
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// Counters older than this start again from zero.
pub const FORGET_HOURS: i64 = 24;
/// The row key for "every address".
const ALL: &str = "*";

/// The delay after `n` failures, given the free failures and the first delay.
pub fn delay_after(n: i64, free: i64, base: i64) -> i64 {
    if n < free {
        return 0;
    }
    let exp = (n - free).min(20) as u32;
    base.saturating_mul(1_i64 << exp).min(MAX_DELAY_SECS)
}

fn key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(64).collect()
}

/// Until when sign-in as `username` from `ip` is held back, if it is now.
async fn held_until(
    st: &Platform,
    username: &str,
    ip: &str,
) -> Result<Option<OffsetDateTime>, AppError> {
    let now = st.clock.now();
    let rows: Vec<(String,)> = with_db!(&st.db, pool => sqlx::query_as(
        "SELECT locked_until FROM signin_failures WHERE username = $1 AND (ip = $2 OR ip = $3)")
        .bind(key(username)).bind(ip).bind(ALL).fetch_all(pool).await)?;
    Ok(rows
        .iter()
        .filter_map(|(t,)| parse_timestamp(t))
        .filter(|t| *t > now)
        .max())
}

/// Refuse an attempt while a hold lasts, saying until when (UTC) and how many seconds.
pub async fn check(st: &Platform, username: &str, ip: &str) -> Result<(), AppError> {
    match held_until(st, username, ip).await? {
        None => Ok(()),
        Some(t) => {
            let secs = (t - st.clock.now()).whole_seconds().max(1);
            Err(AppError::RateLimitedUntil(
                Msg::new("login.held")
                    .arg(
                        "until",
                        t.time().to_string().chars().take(8).collect::<String>(),
                    )
                    .arg("seconds", secs.to_string()),
            ))
        }
    }
}

/// Count a failed attempt for (user, address) and for the user over all addresses.
pub async fn failed(st: &Platform, username: &str, ip: &str) -> Result<(), AppError> {
    let (user, ip) = (key(username), ip.to_string());
    st.db
        .write(st.clock.now_text(), move |tx| {
            Box::pin(async move {
                let now_text = tx.now().to_string();
                let now = parse_timestamp(&now_text).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                for (row_ip, free, base) in [
                    (ip.as_str(), PAIR_FREE, PAIR_BASE_SECS),
                    (ALL, USER_FREE, USER_BASE_SECS),
                ] {
                    let old: Option<(i64, String)> = with_tx!(tx, c => sqlx::query_as(
                        "SELECT failures, last_at FROM signin_failures WHERE username = $1 AND ip = $2")
                        .bind(&user).bind(row_ip).fetch_optional(&mut *c).await)?;
                    let n = match old {
                        Some((n, last)) if parse_timestamp(&last)
                            .is_some_and(|l| now - l < Duration::hours(FORGET_HOURS)) => n + 1,
                        _ => 1,
                    };
                    let until = timestamp_text(now + Duration::seconds(delay_after(n, free, base)));
                    tx_exec!(tx, sqlx::query(
                        "INSERT INTO signin_failures (username, ip, failures, last_at, locked_until) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username, ip) DO UPDATE SET \
                         failures = excluded.failures, last_at = excluded.last_at, locked_until = excluded.locked_until")
                        .bind(&user).bind(row_ip).bind(n).bind(&now_text).bind(&until))?;
                }
                Ok(())
            })
        })
        .await
}

/// A successful sign-in clears the user's counters.
pub async fn succeeded(st: &Platform, username: &str) -> Result<(), AppError> {
    let user = key(username);
    let any: Option<String> = with_db!(&st.db, pool => sqlx::query_scalar(
        "SELECT username FROM signin_failures WHERE username = $1 LIMIT 1")
        .bind(&user).fetch_optional(pool).await)?;
    if any.is_none() {
        return Ok(());
    }
    st.db
        .write(st.clock.now_text(), move |tx| {
            Box::pin(async move {
                tx_exec!(
                    tx,
                    sqlx::query("DELETE FROM signin_failures WHERE username = $1").bind(&user)
                )?;
                Ok(())
            })
        })
        .await
}

/// When the user's hold over all addresses ends, if one is in force (for the admin pages).
pub async fn locked_until(st: &Platform, username: &str) -> Result<Option<String>, AppError> {
    let now = st.clock.now();
    let rows: Vec<(String,)> = with_db!(&st.db, pool => sqlx::query_as(
        "SELECT locked_until FROM signin_failures WHERE username = $1")
        .bind(key(username)).fetch_all(pool).await)?;
    Ok(rows
        .iter()
        .filter_map(|(t,)| parse_timestamp(t))
        .filter(|t| *t > now)
        .max()
        .map(timestamp_text))
}

/// An administrator lifts every hold on a user (audited).
pub async fn unlock(
    db: &crate::db::Db,
    clock: &crate::clock::Clock,
    by: By<'_>,
    user: &UserSummary,
) -> Result<(), AppError> {
    let at = clock.now_text();
    let audit = by.row(
        &at,
        Event::new(Action::UPDATE, USER_AUDIT, &user.id).detail("sign-in unlocked"),
    );
    let name = key(&user.username);
    db.write(at, move |tx| {
        Box::pin(async move {
            tx_exec!(
                tx,
                sqlx::query("DELETE FROM signin_failures WHERE username = $1").bind(&name)
            )?;
            tx.audit(audit);
            Ok(())
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_at_the_ceiling() {
        assert_eq!(delay_after(1, PAIR_FREE, PAIR_BASE_SECS), 0);
        assert_eq!(delay_after(4, PAIR_FREE, PAIR_BASE_SECS), 0);
        assert_eq!(delay_after(5, PAIR_FREE, PAIR_BASE_SECS), 5);
        assert_eq!(delay_after(6, PAIR_FREE, PAIR_BASE_SECS), 10);
        assert_eq!(delay_after(12, PAIR_FREE, PAIR_BASE_SECS), 640);
        assert_eq!(delay_after(13, PAIR_FREE, PAIR_BASE_SECS), MAX_DELAY_SECS);
        assert_eq!(delay_after(1000, USER_FREE, USER_BASE_SECS), MAX_DELAY_SECS);
        assert_eq!(delay_after(19, USER_FREE, USER_BASE_SECS), 0);
    }
}
