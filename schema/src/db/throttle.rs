//! Throttling of failed sign-ins per e-mail address, kept in PostgreSQL so that every api
//! replica applies the same limit.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use diesel::sql_types::{Int4, Text, Timestamptz};

use super::schema::login_throttle;

#[derive(QueryableByName)]
struct FailuresRow {
    #[diesel(sql_type = Int4)]
    failures: i32,
}

/// Failures allowed in one window before the address is locked.
pub const FREE_FAILURES: i32 = 5;
/// A window of failures starts afresh after this long without a lock.
pub const WINDOW_MINUTES: i64 = 15;
/// The first lock lasts this long and doubles with each further failure, up to the cap.
pub const FIRST_LOCK_SECONDS: i64 = 30;
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;

/// How long an address stays locked after `failures` failures in a window.
pub fn lock_for(failures: i32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES).unwrap_or(0).min(10);
    let seconds = (FIRST_LOCK_SECONDS << doublings).min(MAX_LOCK_SECONDS);
    Some(Duration::seconds(seconds))
}

/// The time until which `email_key` may not try again, if it is locked now.
pub async fn locked_until(
    conn: &mut AsyncPgConnection,
    email_key: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<DateTime<Utc>>> {
    let until: Option<Option<DateTime<Utc>>> =
        login_throttle::table.find(email_key).select(login_throttle::locked_until).first(conn).await.optional()?;
    Ok(until.flatten().filter(|until| *until > now))
}

/// Counts one failure and returns the lock it triggers, if any.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    email_key: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<DateTime<Utc>>> {
    let window_edge = now - Duration::minutes(WINDOW_MINUTES);
    // One statement, so concurrent failures on several replicas all count. A window that
    // is over (and not locked) starts again at one failure.
    let row: FailuresRow = diesel::sql_query(
        "INSERT INTO login_throttle AS t (email_key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (email_key) DO UPDATE SET \
           failures = CASE WHEN t.window_start < $3 AND (t.locked_until IS NULL OR t.locked_until < $2) \
                      THEN 1 ELSE t.failures + 1 END, \
           window_start = CASE WHEN t.window_start < $3 AND (t.locked_until IS NULL OR t.locked_until < $2) \
                      THEN $2 ELSE t.window_start END \
         RETURNING failures",
    )
    .bind::<Text, _>(email_key)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(window_edge)
    .get_result(conn)
    .await?;
    let failures = row.failures;
    let Some(lock) = lock_for(failures) else {
        return Ok(None);
    };
    let until = now + lock;
    diesel::update(login_throttle::table.find(email_key))
        .set(login_throttle::locked_until.eq(until))
        .execute(conn)
        .await?;
    Ok(Some(until))
}

/// Forgets the failures of an address after a successful sign-in.
pub async fn clear(conn: &mut AsyncPgConnection, email_key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(email_key)).execute(conn).await.map(drop)
}

/// Deletes entries whose window and lock are both over.
pub async fn purge_stale(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    let window_edge = now - Duration::minutes(WINDOW_MINUTES);
    diesel::delete(
        login_throttle::table
            .filter(login_throttle::window_start.lt(window_edge))
            .filter(login_throttle::locked_until.is_null().or(login_throttle::locked_until.lt(now))),
    )
    .execute(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_and_double_up_to_the_cap() {
        assert_eq!(lock_for(FREE_FAILURES - 1), None);
        assert_eq!(lock_for(FREE_FAILURES), Some(Duration::seconds(30)));
        assert_eq!(lock_for(FREE_FAILURES + 1), Some(Duration::seconds(60)));
        assert_eq!(lock_for(FREE_FAILURES + 20), Some(Duration::seconds(MAX_LOCK_SECONDS)));
    }
}
