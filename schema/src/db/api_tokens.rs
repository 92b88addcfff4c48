use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::api_tokens;
use super::scope::Scope;
use crate::domain::Role;

/// A credential for an integration (an ERP, a dashboard): acts in its tenant with its role.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub role: Role,
    #[diesel(deserialize_as = Vec<u8>)]
    pub secret_hash: Vec<u8>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub tenant_id: Uuid,
    pub name: &'a str,
    pub role: Role,
    pub secret_hash: &'a [u8],
    pub created_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

impl ApiToken {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    pub async fn create(conn: &mut AsyncPgConnection, scope: &Scope, new: NewApiToken<'_>) -> QueryResult<ApiToken> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(api_tokens::table).values(new).returning(ApiToken::as_returning()).get_result(conn).await
    }

    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<ApiToken> {
        api_tokens::table
            .find(id)
            .filter(api_tokens::tenant_id.eq_any(scope.tenant_ids()))
            .select(ApiToken::as_select())
            .first(conn)
            .await
    }

    /// Look-up by secret hash for authentication; unscoped, since it establishes the scope.
    pub async fn find_by_secret_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::secret_hash.eq(hash))
            .select(ApiToken::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Visible tokens ordered by name, one page.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<ApiToken>, bool)> {
        let mut query = api_tokens::table
            .filter(api_tokens::tenant_id.eq_any(scope.tenant_ids()))
            .select(ApiToken::as_select())
            .order_by((lower(api_tokens::name), api_tokens::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(api_tokens::tenant_id.eq(tenant));
        }
        let query = after_keyset!(query, api_tokens::name, api_tokens::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    /// Revokes a visible token; revoking twice keeps the first revocation time.
    pub async fn revoke(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<ApiToken> {
        let token = Self::find(conn, scope, id).await?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::revoked_at.eq(diesel::dsl::now))
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await
    }

    /// Records use, at most once a minute per token (keeps writes off the hot path).
    pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
        let stale = now - chrono::Duration::minutes(1);
        diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(stale))),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
    }

    /// Deletes tokens that expired or were revoked before `before`.
    pub async fn purge_ended(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(
            api_tokens::table.filter(api_tokens::expires_at.lt(before).or(api_tokens::revoked_at.lt(before))),
        )
        .execute(conn)
        .await
    }
}
