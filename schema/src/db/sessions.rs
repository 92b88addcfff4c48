use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{refresh_tokens, sessions};

/// A signed-in browser: access tokens name it, refresh tokens extend it up to `expires_at`.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<&'a str>,
}

/// Who is behind a session, as one request needs it: the session's state, the user's, and
/// the tenants the user may see (read in one statement).
#[derive(QueryableByName, Debug)]
pub struct SessionCaller {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: crate::domain::Role,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    visible: Vec<Uuid>,
}

impl SessionCaller {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// The tenants the user may see: its own and those below it.
    pub fn scope(&self) -> super::scope::Scope {
        super::scope::Scope::new(self.tenant_id, self.visible.clone())
    }
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was valid and is now used; a new one may be issued for this session.
    Rotated { session_id: Uuid, user_id: Uuid },
    /// No such token, or it or its session expired or was revoked.
    Invalid,
    /// The token had already been used: someone replayed it. The session is now revoked.
    Replayed { session_id: Uuid },
}

impl Session {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    pub async fn create(conn: &mut AsyncPgConnection, new: NewSession<'_>) -> QueryResult<Session> {
        diesel::insert_into(sessions::table).values(new).returning(Session::as_returning()).get_result(conn).await
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Session>> {
        sessions::table.find(id).select(Session::as_select()).first(conn).await.optional()
    }

    /// The caller behind a session, `None` when there is no such session (or user).
    pub async fn caller(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SessionCaller>> {
        diesel::sql_query(
            "WITH RECURSIVE caller AS ( \
                 SELECT u.id AS user_id, u.tenant_id, u.role, u.disabled_at, s.revoked_at, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 \
             ), tree(id) AS ( \
                 SELECT tenant_id FROM caller \
                 UNION ALL \
                 SELECT child.id FROM tenants child JOIN tree ON child.parent_id = tree.id \
             ) SELECT caller.*, ARRAY(SELECT id FROM tree) AS visible FROM caller",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(conn)
        .await
        .optional()
    }

    /// Revokes the session (logout, replay, disabled user). Idempotent.
    pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
            .set(sessions::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Revokes every session of a user (disabled, password changed), but `keep`.
    pub async fn revoke_all_of_user(
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> QueryResult<usize> {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::id.ne(keep.unwrap_or(Uuid::nil()))),
        )
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
    }

    /// Stores a new refresh token (its hash) for the session.
    pub async fn issue_refresh_token(
        &self,
        conn: &mut AsyncPgConnection,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::tenant_id.eq(self.tenant_id),
                refresh_tokens::session_id.eq(self.id),
                refresh_tokens::token_hash.eq(token_hash),
                refresh_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Uses a refresh token once. Run inside a transaction: the row is locked so two
    /// concurrent refreshes with the same token cannot both succeed.
    pub async fn use_refresh_token(
        conn: &mut AsyncPgConnection,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> QueryResult<RefreshOutcome> {
        let found: Option<(Uuid, Option<DateTime<Utc>>, DateTime<Utc>)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((refresh_tokens::id, refresh_tokens::used_at, refresh_tokens::expires_at))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((token_id, used_at, expires_at)) = found else {
            return Ok(RefreshOutcome::Invalid);
        };
        let session: Session = refresh_tokens::table
            .find(token_id)
            .inner_join(sessions::table)
            .select(Session::as_select())
            .first(conn)
            .await?;
        if used_at.is_some() {
            Self::revoke(conn, session.id).await?;
            return Ok(RefreshOutcome::Replayed { session_id: session.id });
        }
        if expires_at <= now || !session.is_active(now) {
            return Ok(RefreshOutcome::Invalid);
        }
        diesel::update(refresh_tokens::table.find(token_id)).set(refresh_tokens::used_at.eq(now)).execute(conn).await?;
        diesel::update(sessions::table.find(session.id)).set(sessions::last_seen_at.eq(now)).execute(conn).await?;
        Ok(RefreshOutcome::Rotated { session_id: session.id, user_id: session.user_id })
    }

    /// Deletes sessions (and their refresh tokens) that ended before `before`, and used or
    /// expired refresh tokens of live sessions. Returns (sessions, refresh tokens) deleted.
    pub async fn purge_ended(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<(usize, usize)> {
        let tokens = diesel::delete(
            refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before).or(refresh_tokens::used_at.lt(before))),
        )
        .execute(conn)
        .await?;
        let ended =
            diesel::delete(sessions::table.filter(sessions::expires_at.lt(before).or(sessions::revoked_at.lt(before))))
                .execute(conn)
                .await?;
        Ok((ended, tokens))
    }
}
