//! Who is calling, and what they may see.
//!
//! Every request is authenticated once, before GraphQL runs: the bearer credential (an access
//! token or an API token) is checked against the database, and the caller's tenant scope is
//! resolved. Resolvers then obtain an [`Actor`] from the context; the only way to a
//! [`Scope`] is through it.

pub mod password;
pub mod session;
pub mod tokens;

use cartouche_schema::db::api_tokens::ApiToken;
use cartouche_schema::db::sessions::Session;
use cartouche_schema::db::{PooledConn, Scope};
use cartouche_schema::domain::Role;
use chrono::Utc;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// What the caller authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person signed in through a session.
    User { user_id: Uuid, session_id: Uuid },
    /// An integration with an API token.
    ApiToken { token_id: Uuid },
}

/// An authenticated caller: identity, role and the tenants it may see.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: Principal,
    pub tenant_id: Uuid,
    pub role: Role,
    pub scope: Scope,
}

impl Actor {
    pub fn user_id(&self) -> Option<Uuid> {
        match self.principal {
            Principal::User { user_id, .. } => Some(user_id),
            Principal::ApiToken { .. } => None,
        }
    }

    /// Fails with FORBIDDEN unless the role carries `needed`'s rights.
    pub fn require(&self, needed: Role, doing: &str) -> ApiResult<()> {
        if self.role.includes(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("{doing} needs the {needed} role; you are {}", self.role)))
        }
    }
}

/// The outcome of authenticating a request: requests without credentials may still sign in.
#[derive(Clone, Debug)]
pub enum Authentication {
    Anonymous,
    Authenticated(Actor),
    /// Credentials were presented but refused; the message says why, without secrets.
    Refused(String),
}

impl Authentication {
    pub fn actor(&self) -> ApiResult<&Actor> {
        match self {
            Authentication::Authenticated(actor) => Ok(actor),
            Authentication::Anonymous => Err(ApiError::Unauthenticated("sign in first".into())),
            Authentication::Refused(why) => Err(ApiError::Unauthenticated(why.clone())),
        }
    }
}

/// Checks a bearer credential (the part after `Bearer `).
pub async fn authenticate(state: &AppState, bearer: Option<&str>) -> Authentication {
    let Some(bearer) = bearer.map(str::trim).filter(|b| !b.is_empty()) else {
        return Authentication::Anonymous;
    };
    let result = async {
        let mut conn = state.pool.get().await?;
        if bearer.starts_with(tokens::API_TOKEN_PREFIX) {
            api_token_actor(&mut conn, bearer).await
        } else {
            let claims = state
                .access_tokens
                .verify(bearer)
                .map_err(|err| ApiError::Unauthenticated(format!("access token refused: {err}")))?;
            session_actor(&mut conn, claims.sid, claims.sub).await
        }
    }
    .await;
    match result {
        Ok(actor) => Authentication::Authenticated(actor),
        Err(ApiError::Unauthenticated(why)) => Authentication::Refused(why),
        Err(other) => {
            // A database fault is not the caller's fault: log it and refuse politely.
            let err: async_graphql::Error = other.into();
            Authentication::Refused(format!("could not check credentials: {}", err.message))
        }
    }
}

/// The actor of a live session: the session must be active and the user enabled. The role
/// and tenant come from the database, so a change applies to the very next request.
pub async fn session_actor(conn: &mut PooledConn, session_id: Uuid, user_id: Uuid) -> ApiResult<Actor> {
    let refused = || ApiError::Unauthenticated("session ended; sign in again".into());
    let caller =
        Session::caller(conn, session_id).await.map_err(|e| ApiError::from_db("session", e))?.ok_or_else(refused)?;
    if caller.user_id != user_id || !caller.is_active(Utc::now()) {
        return Err(refused());
    }
    if caller.disabled_at.is_some() {
        return Err(ApiError::Unauthenticated("this account is disabled".into()));
    }
    Ok(Actor {
        principal: Principal::User { user_id, session_id },
        tenant_id: caller.tenant_id,
        role: caller.role,
        scope: caller.scope(),
    })
}

async fn api_token_actor(conn: &mut PooledConn, secret: &str) -> ApiResult<Actor> {
    let now = Utc::now();
    let token = ApiToken::find_by_secret_hash(conn, &tokens::hash_secret(secret))
        .await
        .map_err(|e| ApiError::from_db("API token", e))?
        .ok_or_else(|| ApiError::Unauthenticated("unknown API token".into()))?;
    if token.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated("this API token was revoked".into()));
    }
    if !token.is_active(now) {
        return Err(ApiError::Unauthenticated("this API token has expired".into()));
    }
    ApiToken::touch(conn, token.id, now).await.map_err(|e| ApiError::from_db("API token", e))?;
    let scope = Scope::resolve(conn, token.tenant_id).await.map_err(|e| ApiError::from_db("tenant", e))?;
    Ok(Actor {
        principal: Principal::ApiToken { token_id: token.id },
        tenant_id: token.tenant_id,
        role: token.role,
        scope,
    })
}
