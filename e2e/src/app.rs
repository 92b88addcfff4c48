//! The real api, started in-process on a free port, with a fresh database.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_api::{Config, Server};
use cartouche_schema::db::tenants::{NewTenant, Tenant};
use cartouche_schema::db::users::{NewUser, User};
use cartouche_schema::domain::Role;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::TestDb;
use crate::graphql::GraphqlClient;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// The sealing key of the test api (base64 of 32 bytes).
pub const SECRET_KEY: &str = "dGVzdC1zZWFsaW5nLWtleS10ZXN0LXNlYWxpbmctayE=";

/// A running api with its own database. Stops when dropped.
pub struct TestApp {
    pub db: TestDb,
    pub base_url: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    config: Config,
}

/// A second api process on a test app's database.
pub struct Replica {
    pub base_url: String,
    /// Dropped with the replica, which then stops.
    _stop: oneshot::Sender<()>,
}

impl Replica {
    pub fn ws_url(&self) -> String {
        format!("{}/graphql/ws", self.base_url.replacen("http://", "ws://", 1))
    }
}

/// Options for starting the api.
#[derive(Default)]
pub struct TestAppOptions {
    /// Serve the console from this folder (the browser tests).
    pub web_dir: Option<PathBuf>,
    pub access_token_ttl: Option<Duration>,
}

impl TestApp {
    pub async fn start() -> anyhow::Result<TestApp> {
        Self::start_with(TestAppOptions::default()).await
    }

    pub async fn start_with(options: TestAppOptions) -> anyhow::Result<TestApp> {
        let db = TestDb::new().await?;
        let config = Config {
            database_url: SecretString::from(db.url().to_owned()),
            listen: "127.0.0.1:0".parse()?,
            jwt_secret: SecretString::from(JWT_SECRET.to_owned()),
            access_token_ttl: options.access_token_ttl.unwrap_or(Duration::from_secs(900)),
            session_ttl: Duration::from_secs(24 * 3600),
            web_dir: options.web_dir,
            db_pool_size: 8,
            // The template is migrated already; starting must still work when nothing is pending.
            migrate_on_start: true,
            response_cache_entries: 4096,
            secret_keys: cartouche_api::secrets::SecretKeys::parse(SECRET_KEY, None)?,
        };
        let mut app = TestApp {
            db,
            base_url: String::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
            stop: None,
            serving: None,
            config,
        };
        app.serve().await?;
        Ok(app)
    }

    async fn serve(&mut self) -> anyhow::Result<()> {
        let server = Server::bind(self.config.clone()).await?;
        let addr = server.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        self.base_url = format!("http://{addr}");
        self.stop = Some(stop);
        self.serving = Some(tokio::spawn(async move {
            if let Ok(Err(err)) = serving.await {
                tracing::error!(error = %err, "the test api stopped with an error");
            }
        }));
        self.wait_ready().await
    }

    /// Stops the api (its open connections must have been closed, e.g. by a relay cut);
    /// the database stays.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            tokio::time::timeout(Duration::from_secs(20), serving).await.context("the api did not stop in 20 s")??;
        }
        Ok(())
    }

    /// Starts the api again on the same database (on another port: see `base_url`).
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.serve().await
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready =
                self.http.get(format!("{}/readyz", self.base_url)).send().await.is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("the api did not become ready in 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Another api process on the same database (a second replica behind the same load
    /// balancer); stops when dropped.
    pub async fn replica(&self) -> anyhow::Result<Replica> {
        let server = Server::bind(self.config.clone()).await?;
        let addr = server.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        let replica = Replica { base_url: format!("http://{addr}"), _stop: stop };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !self.http.get(format!("{}/readyz", replica.base_url)).send().await.is_ok_and(|r| r.status().is_success())
        {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the replica did not become ready in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(replica)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/graphql/ws", self.base_url.replacen("http://", "ws://", 1))
    }

    /// A GraphQL client without credentials.
    pub fn anonymous(&self) -> GraphqlClient {
        GraphqlClient::new(self.http.clone(), format!("{}/graphql", self.base_url), None)
    }

    /// A GraphQL client with a bearer token.
    pub fn client(&self, bearer: &str) -> GraphqlClient {
        GraphqlClient::new(self.http.clone(), format!("{}/graphql", self.base_url), Some(bearer.to_owned()))
    }

    /// Creates a top-level tenant (a dealer) directly in the database.
    pub async fn tenant(&self, name: &str, parent: Option<Uuid>) -> anyhow::Result<Tenant> {
        let mut conn = self.db.conn().await?;
        Ok(Tenant::insert(&mut conn, NewTenant { parent_id: parent, name }).await?)
    }

    /// Creates a user directly in the database (password hashed for real).
    pub async fn user(&self, tenant: Uuid, email: &str, role: Role, password: &str) -> anyhow::Result<User> {
        let hash = cartouche_api::auth::password::hash(password.to_owned())
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let mut conn = self.db.conn().await?;
        Ok(User::insert(
            &mut conn,
            NewUser {
                tenant_id: tenant,
                email,
                display_name: email.split('@').next().unwrap_or(email),
                role,
                password_hash: &hash,
            },
        )
        .await?)
    }

    /// Signs in and returns the whole `AuthPayload`.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<Value> {
        let response = self
            .anonymous()
            .run(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { \
                   accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email role } } }",
                json!({ "e": email, "p": password }),
            )
            .await?;
        response.data("login").context("login failed")
    }

    /// Signs in and returns a client carrying the access token.
    pub async fn signed_in(&self, email: &str, password: &str) -> anyhow::Result<GraphqlClient> {
        let payload = self.login(email, password).await?;
        let token = payload["accessToken"].as_str().context("no access token")?;
        Ok(self.client(token))
    }

    /// A tenant with a signed-in admin (`admin@<slug>.test`, password `correct horse battery`)
    /// who has created a one-use enrollment key: the start of every agent story.
    pub async fn tenant_with_enrollment_key(&self, name: &str) -> anyhow::Result<(Tenant, GraphqlClient, String)> {
        let tenant = self.tenant(name, None).await?;
        let email = format!("admin@{}.test", name.to_lowercase().replace(' ', "-"));
        self.user(tenant.id, &email, Role::Admin, "correct horse battery").await?;
        let admin = self.signed_in(&email, "correct horse battery").await?;
        let created = admin
            .data(
                "mutation($name: String!) { createEnrollmentKey(input: { name: $name, uses: 1, expiresInHours: 24 }) { secret } }",
                json!({ "name": format!("{name} HQ") }),
                "createEnrollmentKey",
            )
            .await?;
        let key = created["secret"].as_str().context("no enrollment key secret")?.to_owned();
        Ok((tenant, admin, key))
    }

    /// A discovery range of `site` over `ranges` (default schedules) made by `admin`; its id.
    pub async fn discovery_range(admin: &GraphqlClient, site: &str, ranges: &str) -> anyhow::Result<String> {
        Ok(admin
            .data(
                "mutation($site: ID!, $ranges: String!) { createDiscoveryRange(input: { siteId: $site, name: \"HQ\", ranges: $ranges }) { id } }",
                json!({ "site": site, "ranges": ranges }),
                "createDiscoveryRange",
            )
            .await?["id"]
            .as_str()
            .context("no range id")?
            .to_owned())
    }

    /// A site (Europe/Paris) made by `admin`, and a one-use enrollment key for it: agents
    /// enrolled with it scan the site's ranges. Returns the site id and the key.
    pub async fn site_with_enrollment_key(admin: &GraphqlClient, name: &str) -> anyhow::Result<(String, String)> {
        let site = admin
            .data(
                "mutation($name: String!) { createSite(input: { name: $name, timeZone: \"Europe/Paris\" }) { id } }",
                json!({ "name": name }),
                "createSite",
            )
            .await?["id"]
            .as_str()
            .context("no site id")?
            .to_owned();
        let key = admin
            .data(
                "mutation($site: ID!, $name: String!) { createEnrollmentKey(input: { name: $name, siteId: $site, uses: 1 }) { secret } }",
                json!({ "site": site, "name": name }),
                "createEnrollmentKey",
            )
            .await?["secret"]
            .as_str()
            .context("no enrollment key secret")?
            .to_owned();
        Ok((site, key))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
