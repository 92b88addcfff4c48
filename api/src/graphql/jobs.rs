//! Background jobs that keep failing, for the platform's admins: apalis' own table read as it
//! is (queue, attempts, the last error), so a recount or a purge that cannot complete is seen.

use async_graphql::{Context, Object, SimpleObject};
use cartouche_schema::domain::Role;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bigint, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;

use crate::error::ApiError;
use crate::graphql::{actor, conn};

/// A job whose last attempt failed (retried later), or that ran out of attempts.
#[derive(SimpleObject, QueryableByName)]
pub struct FailingJob {
    #[diesel(sql_type = Text)]
    pub id: String,
    /// The queue (`cartouche.accounting.count`, …).
    #[diesel(sql_type = Text)]
    pub queue: String,
    /// Failed (retried later) or Killed (out of attempts).
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    /// When it runs next (Failed) or last ran.
    #[diesel(sql_type = Timestamptz)]
    pub run_at: DateTime<Utc>,
    /// What the last attempt said.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// Jobs that failed and are not done, most attempts first. Admins of a top-level tenant
    /// (the platform's operators): jobs are not any one customer's.
    async fn failing_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
    ) -> async_graphql::Result<Vec<FailingJob>> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "reading the failing jobs")?;
        if !(1..=500).contains(&first) {
            return Err(ApiError::validation("first", "1 to 500").into());
        }
        let mut conn = conn(ctx).await?;
        #[derive(QueryableByName)]
        struct Root {
            #[diesel(sql_type = Bigint)]
            n: i64,
        }
        let root: Root = diesel::sql_query("SELECT count(*) AS n FROM tenants WHERE id = $1 AND parent_id IS NULL")
            .bind::<SqlUuid, _>(actor.tenant_id)
            .get_result(&mut conn)
            .await
            .map_err(|e| ApiError::from_db("tenant", e))?;
        if root.n == 0 {
            return Err(
                ApiError::Forbidden("jobs are the platform operators' (a top-level tenant's admins)".into()).into()
            );
        }
        // apalis makes its tables when a worker or the test harness first runs.
        let jobs: Vec<FailingJob> = diesel::sql_query(
            "SELECT id, job_type AS queue, status, attempts, max_attempts, run_at, \
               CASE jsonb_typeof(last_result) WHEN 'string' THEN last_result #>> '{}' \
                 WHEN 'object' THEN coalesce(last_result->>'Err', last_result::text) ELSE last_result::text END AS last_error \
             FROM apalis.jobs WHERE status IN ('Failed', 'Killed') \
             ORDER BY attempts DESC, run_at DESC LIMIT $1",
        )
        .bind::<Bigint, _>(i64::from(first))
        .load(&mut conn)
        .await
        .or_else(|e| match &e {
            diesel::result::Error::DatabaseError(_, info) if info.message().contains("does not exist") => Ok(Vec::new()),
            _ => Err(ApiError::from_db("job", e)),
        })?;
        Ok(jobs)
    }
}
