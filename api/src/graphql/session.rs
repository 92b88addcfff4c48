//! Signing in and out, and who am I.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use cartouche_schema::db::api_tokens::ApiToken;
use cartouche_schema::db::sessions::Session;
use cartouche_schema::db::users::{User, UserChanges};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::tenants::{TenantNode, load_tenant};
use super::users::{RoleValue, UserNode};
use super::{actor, conn, state};
use crate::auth::session::{self, IssuedTokens};
use crate::auth::{Principal, password};
use crate::error::ApiError;

/// The `User-Agent` of the request, kept with a new session so a user can tell them apart.
#[derive(Clone, Debug)]
pub struct UserAgent(pub String);

/// Tokens for a signed-in user.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`; valid for minutes.
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Exchange with `refresh` for new tokens; works once.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: UserNode,
}

impl From<IssuedTokens> for AuthPayload {
    fn from(t: IssuedTokens) -> Self {
        AuthPayload {
            access_token: t.access_token,
            access_token_expires_at: t.access_token_expires_at,
            refresh_token: t.refresh_token.expose_secret().to_owned(),
            refresh_token_expires_at: t.refresh_token_expires_at,
            user: UserNode(t.user),
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PrincipalKind {
    /// A person signed in to the console.
    User,
    /// An integration using an API token.
    ApiToken,
}

/// Whoever is calling.
pub struct Me {
    kind: PrincipalKind,
    id: uuid::Uuid,
    email: Option<String>,
    display_name: String,
    role: RoleValue,
    tenant_id: uuid::Uuid,
}

#[Object]
impl Me {
    /// The user's id, or the API token's.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// Null for an API token.
    async fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The user's name, or the API token's.
    async fn display_name(&self) -> &str {
        &self.display_name
    }

    async fn role(&self) -> RoleValue {
        self.role
    }

    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in user (or API token).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let me = match actor.principal {
            Principal::User { user_id, .. } => {
                let user =
                    User::find(&mut conn, &actor.scope, user_id).await.map_err(|e| ApiError::from_db("user", e))?;
                Me {
                    kind: PrincipalKind::User,
                    id: user.id,
                    email: Some(user.email),
                    display_name: user.display_name,
                    role: actor.role.into(),
                    tenant_id: actor.tenant_id,
                }
            }
            Principal::ApiToken { token_id } => {
                let token = ApiToken::find(&mut conn, &actor.scope, token_id)
                    .await
                    .map_err(|e| ApiError::from_db("API token", e))?;
                Me {
                    kind: PrincipalKind::ApiToken,
                    id: token.id,
                    email: None,
                    display_name: token.name,
                    role: actor.role.into(),
                    tenant_id: actor.tenant_id,
                }
            }
        };
        Ok(me)
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in. Any failure reads "wrong e-mail or password"; repeated failures for one
    /// address are throttled (RATE_LIMITED with `retryAfterSeconds`).
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> async_graphql::Result<AuthPayload> {
        let user_agent = ctx.data_opt::<UserAgent>().map(|ua| ua.0.as_str());
        let issued = session::login(state(ctx), &email, password, user_agent).await?;
        Ok(issued.into())
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once.
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<AuthPayload> {
        let issued = session::refresh(state(ctx), &refresh_token).await?;
        Ok(issued.into())
    }

    /// Ends the current session: its access and refresh tokens stop working at once.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let actor = actor(ctx)?;
        match actor.principal {
            Principal::User { session_id, .. } => {
                session::logout(state(ctx), session_id).await?;
                Ok(true)
            }
            Principal::ApiToken { .. } => {
                Err(ApiError::validation("token", "an API token has no session; revoke it instead").into())
            }
        }
    }

    /// Changes your own password; your other sessions end, this one goes on.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let actor = actor(ctx)?;
        let Principal::User { user_id, session_id } = actor.principal else {
            return Err(ApiError::validation("token", "an API token has no password").into());
        };
        password::validate_new_password(&new_password).map_err(|_| {
            ApiError::validation(
                "newPassword",
                format!("a password needs at least {} characters", password::MIN_PASSWORD_CHARS),
            )
        })?;
        let mut conn = conn(ctx).await?;
        let user = User::find(&mut conn, &actor.scope, user_id).await.map_err(|e| ApiError::from_db("user", e))?;
        if !password::verify(current_password, Some(user.password_hash.clone())).await? {
            return Err(ApiError::validation("currentPassword", "the current password is wrong").into());
        }
        let hash = password::hash(new_password).await?;
        User::update(
            &mut conn,
            &actor.scope,
            user_id,
            UserChanges { password_hash: Some(&hash), ..UserChanges::default() },
        )
        .await
        .map_err(|e| ApiError::from_db("user", e))?;
        Session::revoke_all_of_user(&mut conn, user_id, Some(session_id))
            .await
            .map_err(|e| ApiError::from_db("session", e))?;
        Ok(true)
    }
}
