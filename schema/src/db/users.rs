use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::users;
use super::scope::Scope;
use crate::domain::Role;

/// A person who signs in to the console.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub tenant_id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Fields to change; `None` leaves a field as it is. `disabled_at: Some(None)` re-enables.
#[derive(AsChangeset, Debug, Default)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<Role>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<&'a str>,
}

impl User {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<User> {
        users::table
            .find(id)
            .filter(users::tenant_id.eq_any(scope.tenant_ids()))
            .select(User::as_select())
            .first(conn)
            .await
    }

    /// Look-up by e-mail for signing in; the only unscoped user query, since the scope is
    /// what signing in establishes.
    /// The name of any user (a dealer's technician on a customer's work order), whoever asks.
    pub async fn display_name_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<String>> {
        users::table.find(id).select(users::display_name).get_result(conn).await.optional()
    }

    pub async fn find_for_login(conn: &mut AsyncPgConnection, email_key: &str) -> QueryResult<Option<User>> {
        users::table.filter(lower(users::email).eq(email_key)).select(User::as_select()).first(conn).await.optional()
    }

    /// Look-up by id for an authenticated session (the session row proves the identity).
    pub async fn find_for_session(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).first(conn).await
    }

    /// Visible users ordered by e-mail, one page; `tenant` narrows to one tenant.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<User>, bool)> {
        let mut query = users::table
            .filter(users::tenant_id.eq_any(scope.tenant_ids()))
            .select(User::as_select())
            .order_by((lower(users::email), users::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(users::tenant_id.eq(tenant));
        }
        let query = after_keyset!(query, users::email, users::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn create(conn: &mut AsyncPgConnection, scope: &Scope, new: NewUser<'_>) -> QueryResult<User> {
        scope.require(new.tenant_id)?;
        Self::insert(conn, new).await
    }

    /// Inserts without a scope check: for bootstrap only, never from a request.
    pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
        diesel::insert_into(users::table).values(new).returning(User::as_returning()).get_result(conn).await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        changes: UserChanges<'_>,
    ) -> QueryResult<User> {
        let nothing = changes.display_name.is_none()
            && changes.role.is_none()
            && changes.disabled_at.is_none()
            && changes.password_hash.is_none();
        if nothing {
            return Self::find(conn, scope, id).await;
        }
        diesel::update(users::table.find(id).filter(users::tenant_id.eq_any(scope.tenant_ids())))
            .set((changes, users::updated_at.eq(diesel::dsl::now)))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn record_login(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set(users::last_login_at.eq(diesel::dsl::now))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Active admins of a tenant: the last one cannot be demoted or disabled.
    pub async fn count_active_admins(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<i64> {
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::role.eq(Role::Admin))
            .filter(users::disabled_at.is_null())
            .count()
            .get_result(conn)
            .await
    }
}
