//! Signing in, refreshing and signing out.

use cartouche_schema::db::sessions::{NewSession, RefreshOutcome, Session};
use cartouche_schema::db::throttle;
use cartouche_schema::db::users::User;
use cartouche_schema::domain::Email;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{password, tokens};
use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// What a successful sign-in or refresh hands the client.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: SecretString,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: User,
}

const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

/// Signs a user in with e-mail and password.
///
/// Every failure reads the same ("wrong e-mail or password"), whichever part was wrong or
/// whether the account is disabled; failures per address are throttled.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    user_agent: Option<&str>,
) -> ApiResult<IssuedTokens> {
    let email = Email::parse(email).map_err(|e| ApiError::validation("email", e))?;
    let key = email.key();
    let now = Utc::now();
    let mut conn = state.pool.get().await?;
    if let Some(until) =
        throttle::locked_until(&mut conn, &key, now).await.map_err(|e| ApiError::from_db("sign-in", e))?
    {
        return Err(ApiError::RateLimited((until - now).num_seconds().max(1)));
    }
    let user = User::find_for_login(&mut conn, &key).await.map_err(|e| ApiError::from_db("user", e))?;
    let matches = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(user) if matches && user.disabled_at.is_none() => user,
        _ => {
            throttle::record_failure(&mut conn, &key, now).await.map_err(|e| ApiError::from_db("sign-in", e))?;
            tracing::info!(email.key = %key, "sign-in refused");
            return Err(ApiError::Unauthenticated(WRONG_CREDENTIALS.into()));
        }
    };
    throttle::clear(&mut conn, &key).await.map_err(|e| ApiError::from_db("sign-in", e))?;
    User::record_login(&mut conn, user.id).await.map_err(|e| ApiError::from_db("user", e))?;
    let session_ttl = chrono::Duration::from_std(state.config.session_ttl).map_err(ApiError::internal)?;
    let session = Session::create(
        &mut conn,
        NewSession { tenant_id: user.tenant_id, user_id: user.id, expires_at: now + session_ttl, user_agent },
    )
    .await
    .map_err(|e| ApiError::from_db("session", e))?;
    tracing::info!(user.id = %user.id, tenant.id = %user.tenant_id, session.id = %session.id, "signed in");
    issue(state, &mut conn, user, &session, now).await
}

/// Exchanges a refresh token for a new access token and a new refresh token.
///
/// A refresh token works once: presenting it again revokes the whole session, since only a
/// thief would hold a used token.
pub async fn refresh(state: &AppState, refresh_token: &str) -> ApiResult<IssuedTokens> {
    let now = Utc::now();
    let hash = tokens::hash_secret(refresh_token.trim());
    let mut conn = state.pool.get().await?;
    let outcome = conn
        .transaction(async |conn| Session::use_refresh_token(conn, &hash, now).await)
        .await
        .map_err(|e| ApiError::from_db("refresh token", e))?;
    let (session_id, user_id) = match outcome {
        RefreshOutcome::Rotated { session_id, user_id } => (session_id, user_id),
        RefreshOutcome::Invalid => {
            return Err(ApiError::Unauthenticated("refresh token expired or unknown; sign in again".into()));
        }
        RefreshOutcome::Replayed { session_id } => {
            tracing::warn!(session.id = %session_id, "refresh token replayed; session revoked");
            return Err(ApiError::Unauthenticated(
                "this refresh token was already used; the session is revoked, sign in again".into(),
            ));
        }
    };
    let user = User::find_for_session(&mut conn, user_id).await.map_err(|e| ApiError::from_db("user", e))?;
    if user.disabled_at.is_some() {
        Session::revoke(&mut conn, session_id).await.map_err(|e| ApiError::from_db("session", e))?;
        return Err(ApiError::Unauthenticated("this account is disabled".into()));
    }
    let session = Session::find(&mut conn, session_id)
        .await
        .map_err(|e| ApiError::from_db("session", e))?
        .ok_or(ApiError::NotFound("session"))?;
    issue(state, &mut conn, user, &session, now).await
}

/// Ends a session: its access and refresh tokens stop working at once.
pub async fn logout(state: &AppState, session_id: Uuid) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    Session::revoke(&mut conn, session_id).await.map_err(|e| ApiError::from_db("session", e))
}

async fn issue(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    user: User,
    session: &Session,
    now: DateTime<Utc>,
) -> ApiResult<IssuedTokens> {
    let (refresh_token, hash) = tokens::new_secret(tokens::REFRESH_PREFIX);
    // A refresh token lives as long as its session.
    let refresh_expires = session.expires_at;
    session
        .issue_refresh_token(conn, &hash, refresh_expires)
        .await
        .map_err(|e| ApiError::from_db("refresh token", e))?;
    let (access_token, access_expires) =
        state.access_tokens.issue(user.id, session.id, user.tenant_id, now).map_err(ApiError::internal)?;
    // Never outlive the session.
    let access_expires = access_expires.min(session.expires_at);
    debug_assert!(!refresh_token.expose_secret().is_empty());
    Ok(IssuedTokens {
        access_token,
        access_token_expires_at: access_expires,
        refresh_token,
        refresh_token_expires_at: refresh_expires,
        user,
    })
}
