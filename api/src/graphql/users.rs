//! Users and roles.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::sessions::Session;
use cartouche_schema::db::users::{NewUser, User, UserChanges};
use cartouche_schema::domain::{DisplayName, Email, Role};
use chrono::{DateTime, Utc};

use super::connection::{connection, page_request};
use super::tenants::{TenantNode, load_tenant};
use super::{actor, conn, parse_id, visible_tenant};
use crate::auth::password;
use crate::error::ApiError;

/// What a user may do; each role includes the rights of those below it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role", remote = "cartouche_schema::domain::Role")]
pub enum RoleValue {
    /// Manages tenants, users and API tokens, and everything below.
    Admin,
    /// Manages sites, agents, ranges and contracts.
    Manager,
    /// Works on devices and work orders.
    Technician,
    /// Reads, changes nothing.
    Viewer,
}

pub struct UserNode(pub User);

#[Object(name = "User")]
impl UserNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn role(&self) -> RoleValue {
        self.0.role.into()
    }

    async fn disabled(&self) -> bool {
        self.0.disabled_at.is_some()
    }

    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }

    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

fn user_keyset(user: &User) -> Keyset {
    Keyset { key: user.email.to_lowercase(), id: user.id }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UserNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let user = User::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("user", e))?;
        Ok(UserNode(user))
    }

    /// Users you may see, by e-mail; `tenantId` narrows to one tenant.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, UserNode>> {
        let actor = actor(ctx)?;
        let tenant = visible_tenant(actor, "tenantId", tenant_id.as_ref())?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) =
            User::page(&mut conn, &actor.scope, tenant, &request).await.map_err(|e| ApiError::from_db("user", e))?;
        Ok(connection(rows, more, request.after.is_some(), user_keyset, UserNode))
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    /// Defaults to your own tenant.
    pub tenant_id: Option<ID>,
    pub email: String,
    pub display_name: Option<String>,
    pub role: RoleValue,
    /// At least 10 characters.
    pub password: String,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub display_name: Option<String>,
    pub role: Option<RoleValue>,
    /// Disabling ends the user's sessions at once.
    pub disabled: Option<bool>,
    /// Sets a new password (at least 10 characters) and ends the user's sessions.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user. Admins only.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> async_graphql::Result<UserNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "creating a user")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let email = Email::parse(&input.email).map_err(|e| ApiError::validation("email", e))?;
        let display_name = match input.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => DisplayName::parse(name).map_err(|e| ApiError::validation("displayName", e))?.into_inner(),
            None => String::new(),
        };
        password::validate_new_password(&input.password)?;
        let hash = password::hash(input.password).await?;
        let mut conn = conn(ctx).await?;
        let user = User::create(
            &mut conn,
            &actor.scope,
            NewUser {
                tenant_id,
                email: email.as_str(),
                display_name: &display_name,
                role: input.role.into(),
                password_hash: &hash,
            },
        )
        .await
        .map_err(|err| {
            if cartouche_schema::db::is_unique_violation(&err) {
                ApiError::Conflict(format!("a user with the e-mail {email} already exists"))
            } else {
                ApiError::from_db("user", err)
            }
        })?;
        tracing::info!(user.id = %user.id, tenant.id = %tenant_id, role = %user.role, "user created");
        Ok(UserNode(user))
    }

    /// Changes a user's name, role, password or access. Admins only.
    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UpdateUserInput) -> async_graphql::Result<UserNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "changing a user")?;
        let id = parse_id("id", &id)?;
        let display_name = input
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| ApiError::validation("displayName", e))?;
        let hash = match input.password {
            Some(new_password) => {
                password::validate_new_password(&new_password)?;
                Some(password::hash(new_password).await?)
            }
            None => None,
        };
        let mut conn = conn(ctx).await?;
        let current = User::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("user", e))?;
        let role: Option<Role> = input.role.map(Into::into);
        let loses_admin = current.role == Role::Admin
            && current.disabled_at.is_none()
            && (role.is_some_and(|r| r != Role::Admin) || input.disabled == Some(true));
        if loses_admin
            && User::count_active_admins(&mut conn, current.tenant_id)
                .await
                .map_err(|e| ApiError::from_db("user", e))?
                <= 1
        {
            return Err(ApiError::validation(
                if input.disabled == Some(true) { "disabled" } else { "role" },
                "this is the tenant's last active admin; make another admin first",
            )
            .into());
        }
        let disabled_at = match input.disabled {
            Some(true) => Some(Some(current.disabled_at.unwrap_or_else(Utc::now))),
            Some(false) => Some(None),
            None => None,
        };
        let changes = UserChanges {
            display_name: display_name.as_ref().map(DisplayName::as_str),
            role,
            disabled_at,
            password_hash: hash.as_deref(),
        };
        let user =
            User::update(&mut conn, &actor.scope, id, changes).await.map_err(|e| ApiError::from_db("user", e))?;
        if input.disabled == Some(true) || hash.is_some() {
            Session::revoke_all_of_user(&mut conn, user.id, None).await.map_err(|e| ApiError::from_db("session", e))?;
        }
        Ok(UserNode(user))
    }
}
