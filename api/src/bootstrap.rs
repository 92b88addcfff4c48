//! The first tenant and admin of an empty installation.

use anyhow::{Context as _, bail};
use cartouche_schema::db::tenants::{NewTenant, Tenant};
use cartouche_schema::db::users::{NewUser, User};
use cartouche_schema::domain::{DisplayName, Email, Role};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::auth::password;

/// What bootstrapping did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrapped {
    Created {
        tenant: uuid::Uuid,
        admin: uuid::Uuid,
    },
    /// The installation already had tenants; nothing was changed.
    AlreadyInitialised,
}

/// Creates a top-level tenant and its admin, but only in an empty installation, so that it is
/// safe to run at every start of a demo.
pub async fn bootstrap(
    database_url: &str,
    tenant_name: &str,
    email: &str,
    admin_password: &str,
) -> anyhow::Result<Bootstrapped> {
    let name = DisplayName::parse(tenant_name).context("tenant name")?;
    let email = Email::parse(email).context("admin e-mail")?;
    if let Err(err) = password::validate_new_password(admin_password) {
        bail!("admin password: {}", err.message());
    }
    let hash = password::hash(admin_password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {}", e.message()))?;
    let mut conn = AsyncPgConnection::establish(database_url).await.context("connecting to PostgreSQL")?;
    conn.transaction(async |conn| {
        // Serialise concurrent bootstraps.
        diesel_async::RunQueryDsl::execute(diesel::sql_query("LOCK TABLE tenants IN EXCLUSIVE MODE"), conn).await?;
        if Tenant::count_all(conn).await? > 0 {
            return Ok(Bootstrapped::AlreadyInitialised);
        }
        let tenant = Tenant::insert(conn, NewTenant { parent_id: None, name: name.as_str() }).await?;
        let admin = User::insert(
            conn,
            NewUser {
                tenant_id: tenant.id,
                email: email.as_str(),
                display_name: "Administrator",
                role: Role::Admin,
                password_hash: &hash,
            },
        )
        .await?;
        Ok::<_, diesel::result::Error>(Bootstrapped::Created { tenant: tenant.id, admin: admin.id })
    })
    .await
    .context("creating the first tenant and admin")
}
