use std::time::Duration;

use cartouche_e2e::db::TestDb;
use cartouche_jobs::JobsConfig;
use cartouche_jobs::maintenance::{Purged, purge};
use cartouche_schema::db::api_tokens::{ApiToken, NewApiToken};
use cartouche_schema::db::sessions::{NewSession, Session};
use cartouche_schema::db::tenants::{NewTenant, Tenant};
use cartouche_schema::db::throttle;
use cartouche_schema::db::users::{NewUser, User};
use cartouche_schema::domain::Role;
use chrono::{Duration as Days, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

struct Seeded {
    ended_session: Uuid,
    live_session: Uuid,
    live_token: Uuid,
    tenant: Uuid,
}

/// A tenant and user with one long-ended session, one live session, one long-expired API
/// token and one live token.
async fn seed(conn: &mut AsyncPgConnection) -> anyhow::Result<Seeded> {
    let tenant = Tenant::insert(conn, NewTenant { parent_id: None, name: "Acme" }).await?;
    let user = User::insert(
        conn,
        NewUser {
            tenant_id: tenant.id,
            email: "a@acme.test",
            display_name: "A",
            role: Role::Admin,
            password_hash: "x",
        },
    )
    .await?;
    let now = Utc::now();
    let old = Session::create(
        conn,
        NewSession { tenant_id: tenant.id, user_id: user.id, expires_at: now - Days::days(10), user_agent: None },
    )
    .await?;
    old.issue_refresh_token(conn, &[1; 32], now - Days::days(10)).await?;
    let live = Session::create(
        conn,
        NewSession { tenant_id: tenant.id, user_id: user.id, expires_at: now + Days::days(10), user_agent: None },
    )
    .await?;
    live.issue_refresh_token(conn, &[2; 32], now + Days::days(10)).await?;
    let scope = cartouche_schema::db::Scope::resolve(conn, tenant.id).await?;
    let token = |name: &'static str, hash: &'static [u8], expires| NewApiToken {
        tenant_id: tenant.id,
        name,
        role: Role::Viewer,
        secret_hash: hash,
        created_by: Some(user.id),
        expires_at: expires,
    };
    ApiToken::create(conn, &scope, token("old", &[3; 32], now - Days::days(30))).await?;
    let kept = ApiToken::create(conn, &scope, token("live", &[4; 32], now + Days::days(30))).await?;
    throttle::record_failure(conn, "someone@acme.test", now - Days::hours(2)).await?;
    Ok(Seeded { ended_session: old.id, live_session: live.id, live_token: kept.id, tenant: tenant.id })
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_deletes_ended_credentials_and_keeps_live_ones() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let seeded = seed(&mut db.conn().await?).await?;
    let pool = cartouche_schema::db::pool(db.url(), 2)?;
    let purged = purge(&pool, Utc::now()).await?;
    assert_eq!(purged, Purged { sessions: 1, refresh_tokens: 1, api_tokens: 1, throttles: 1 });
    let mut conn = db.conn().await?;
    assert!(Session::find(&mut conn, seeded.live_session).await?.is_some());
    assert!(Session::find(&mut conn, seeded.ended_session).await?.is_none());
    let scope = cartouche_schema::db::Scope::resolve(&mut conn, seeded.tenant).await?;
    assert_eq!(ApiToken::find(&mut conn, &scope, seeded.live_token).await?.name, "live");
    // Idempotent: a second run finds nothing more.
    assert_eq!(purge(&pool, Utc::now()).await?, Purged::default());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_schedule_enqueues_the_purge_and_a_worker_runs_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let seeded = seed(&mut db.conn().await?).await?;
    let config = JobsConfig {
        database_url: db.url().to_owned(),
        worker_name: format!("test-{}", Uuid::new_v4().simple()),
        purge_schedule: "* * * * * *".into(),
        accounting_schedule: "* * * * * *".into(),
        repairs_schedule: "* * * * * *".into(),
        reports_schedule: "* * * * * *".into(),
        notify_schedule: "* * * * * *".into(),
        mail: cartouche_jobs::notify::Mail::default(),
        retention: Default::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(cartouche_jobs::run(config, async {
        let _ = stopped.await;
        Ok(())
    }));
    let mut conn = db.conn().await?;
    // A second a job normally; a minute each on a machine busy with the rest of the suite.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // Done when apalis finished a purge job and the ended session is gone.
    let purge = cartouche_jobs::maintenance::PURGE_QUEUE;
    while finished_jobs(db.url(), purge).await? == 0 || Session::find(&mut conn, seeded.ended_session).await?.is_some()
    {
        let state = queue_state(db.url(), purge).await?;
        assert!(tokio::time::Instant::now() < deadline, "the purge job never ran; its queue: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(Session::find(&mut conn, seeded.live_session).await?.is_some());
    // The page counting runs on its own schedule beside it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let counting = cartouche_jobs::accounting::QUEUE;
    while finished_jobs(db.url(), counting).await? == 0 {
        let state = queue_state(db.url(), counting).await?;
        assert!(tokio::time::Instant::now() < deadline, "the page counting job never ran; its queue: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(40), workers).await???;
    Ok(())
}

/// The jobs of a queue by status, with the last result of each status (what a failure said).
async fn queue_state(url: &str, queue: &str) -> anyhow::Result<String> {
    use diesel::QueryableByName;
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Nullable<Text>)]
        last: Option<String>,
    }
    let mut conn = AsyncPgConnection::establish(url).await?;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT status, count(*) AS n, max(last_result::text) AS last FROM apalis.jobs WHERE job_type = $1 GROUP BY status",
    )
    .bind::<Text, _>(queue)
    .load(&mut conn)
    .await?;
    Ok(rows.iter().map(|r| format!("{} {} (last result {:?})", r.n, r.status, r.last)).collect::<Vec<_>>().join(", "))
}

/// Jobs of a queue apalis finished, read from its own table.
async fn finished_jobs(url: &str, queue: &str) -> anyhow::Result<i64> {
    use diesel::QueryableByName;
    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await?;
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM apalis.jobs WHERE job_type = $1 AND done_at IS NOT NULL")
        .bind::<diesel::sql_types::Text, _>(queue)
        .get_result(&mut conn)
        .await?;
    Ok(n.n)
}

/// A job that keeps failing is listed for the platform's admins with its last error; a
/// customer's admin and a manager are refused.
#[tokio::test(flavor = "multi_thread")]
async fn failing_jobs_are_shown_to_the_platform_admins_with_their_error() -> anyhow::Result<()> {
    use cartouche_e2e::app::TestApp;
    use cartouche_schema::domain::Role;
    use diesel_async::RunQueryDsl;
    use serde_json::json;

    let app = TestApp::start().await?;
    let (dealer, admin, _) = app.tenant_with_enrollment_key("Dealer").await?;
    let mut conn = app.db.conn().await?;
    diesel::sql_query(
        "INSERT INTO apalis.jobs (job, id, job_type, status, attempts, max_attempts, last_result) VALUES \
         ('\\x00', 'job-1', 'cartouche.accounting.count', 'Killed', 25, 25, '{\"Err\": \"database unavailable\"}'), \
         ('\\x00', 'job-2', 'cartouche.maintenance.purge', 'Done', 1, 25, NULL)",
    )
    .execute(&mut conn)
    .await?;
    let failing =
        admin.data("{ failingJobs { id queue status attempts lastError } }", json!({}), "failingJobs").await?;
    assert_eq!(
        failing,
        json!([{ "id": "job-1", "queue": "cartouche.accounting.count", "status": "Killed", "attempts": 25,
            "lastError": "database unavailable" }])
    );
    let customer = app.tenant("Customer", Some(dealer.id)).await?;
    app.user(customer.id, "root@customer.test", Role::Admin, "correct horse battery").await?;
    let theirs = app.signed_in("root@customer.test", "correct horse battery").await?;
    assert_eq!(theirs.run("{ failingJobs { id } }", json!({})).await?.error_code(), Some("FORBIDDEN"));
    app.user(dealer.id, "mgr@dealer.test", Role::Manager, "correct horse battery").await?;
    let manager = app.signed_in("mgr@dealer.test", "correct horse battery").await?;
    assert_eq!(manager.run("{ failingJobs { id } }", json!({})).await?.error_code(), Some("FORBIDDEN"));
    Ok(())
}
