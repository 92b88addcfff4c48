//! A fresh database per test, cloned from a migrated template.
//!
//! The template's name carries a hash of the migrations, so a changed migration builds a new
//! template; concurrent test processes build it once between them under an advisory lock.

use std::hash::{Hash, Hasher};
use std::path::Path;

use anyhow::Context as _;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// The server tests create databases on: `DATABASE_URL`, any database of it.
pub fn server_url() -> anyhow::Result<String> {
    std::env::var("DATABASE_URL").context(
        "DATABASE_URL is not set: run the tests with ./dev test, or point DATABASE_URL at a PostgreSQL \
         server where the tests may create databases",
    )
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    name: String,
    url: String,
    server: String,
}

impl TestDb {
    /// A new, migrated, empty database (apalis' tables included).
    pub async fn new() -> anyhow::Result<TestDb> {
        let server = server_url()?;
        let template = ensure_template(&server).await?;
        let name = format!("cartouche_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&with_database(&server, "postgres")).await?;
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cloning {template}"))?;
        Ok(TestDb { url: with_database(&server, &name), name, server })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn conn(&self) -> anyhow::Result<AsyncPgConnection> {
        Ok(AsyncPgConnection::establish(&self.url).await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = with_database(&self.server, "postgres");
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("note: test database {} was left behind", self.name);
        }
    }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn ensure_template(server: &str) -> anyhow::Result<String> {
    let template = format!("cartouche_tpl_{:016x}", migrations_hash()?);
    let mut admin = AsyncPgConnection::establish(&with_database(server, "postgres"))
        .await
        .context("connecting to DATABASE_URL's server")?;
    diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut admin).await?;
    let found: Exists = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(&template)
        .get_result(&mut admin)
        .await?;
    if found.n == 0 {
        let building = format!("{template}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut admin).await?;
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).await?;
        let url = with_database(server, &building);
        let conn = AsyncPgConnection::establish(&url).await?;
        cartouche_schema::db::run_migrations(conn).await.map_err(|e| anyhow::anyhow!("migrating the template: {e}"))?;
        cartouche_jobs::prepare_queue(&url).await?;
        // Renaming last means a half-built template is never used.
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}")).execute(&mut admin).await?;
    }
    diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).await?;
    Ok(template)
}

fn migrations_hash() -> anyhow::Result<u64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        for file in ["up.sql", "down.sql"] {
            let path = entry.path().join(file);
            if path.is_file() {
                files.push((path.clone(), std::fs::read(&path)?));
            }
        }
    }
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut hasher);
    // apalis' own migrations change with its version.
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(with_database("postgres://u@h:5/db", "x"), "postgres://u@h:5/x");
        assert_eq!(with_database("postgres://u@h:5/db?sslmode=disable", "x"), "postgres://u@h:5/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    }
}
