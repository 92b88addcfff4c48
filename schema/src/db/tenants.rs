use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::tenants;
use super::scope::Scope;

/// A dealer, or one of a dealer's customers (`parent_id` names the dealer).
#[derive(Queryable, Selectable, Identifiable, Clone, Debug, PartialEq, Eq)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = tenants)]
pub struct NewTenant<'a> {
    pub parent_id: Option<Uuid>,
    pub name: &'a str,
}

impl Tenant {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Tenant> {
        scope.require(id)?;
        tenants::table.find(id).select(Tenant::as_select()).first(conn).await
    }

    /// The visible tenants among `ids` (for DataLoaders); others are silently left out.
    pub async fn load_many(conn: &mut AsyncPgConnection, scope: &Scope, ids: &[Uuid]) -> QueryResult<Vec<Tenant>> {
        let ids: Vec<Uuid> = ids.iter().copied().filter(|id| scope.contains(*id)).collect();
        tenants::table.filter(tenants::id.eq_any(ids)).select(Tenant::as_select()).load(conn).await
    }

    /// Visible tenants ordered by name, one page; `parent` narrows to one dealer's customers.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        parent: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<Tenant>, bool)> {
        let mut query = tenants::table
            .filter(tenants::id.eq_any(scope.tenant_ids()))
            .select(Tenant::as_select())
            .order_by((lower(tenants::name), tenants::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(parent) = parent {
            query = query.filter(tenants::parent_id.eq(parent));
        }
        let query = after_keyset!(query, tenants::name, tenants::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    /// Creates a customer tenant under `parent_id`, which must be visible.
    pub async fn create_customer(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        parent_id: Uuid,
        name: &str,
    ) -> QueryResult<Tenant> {
        scope.require(parent_id)?;
        Self::insert(conn, NewTenant { parent_id: Some(parent_id), name }).await
    }

    /// Creates a tenant without any scope check: for bootstrap (the first tenant of an
    /// installation, the demo) only, never from a request.
    pub async fn insert(conn: &mut AsyncPgConnection, new: NewTenant<'_>) -> QueryResult<Tenant> {
        diesel::insert_into(tenants::table).values(new).returning(Tenant::as_returning()).get_result(conn).await
    }

    pub async fn rename(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid, name: &str) -> QueryResult<Tenant> {
        scope.require(id)?;
        diesel::update(tenants::table.find(id))
            .set((tenants::name.eq(name), tenants::updated_at.eq(diesel::dsl::now)))
            .returning(Tenant::as_returning())
            .get_result(conn)
            .await
    }

    /// The number of tenants in the installation (0 means it needs bootstrapping).
    pub async fn count_all(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        tenants::table.count().get_result(conn).await
    }
}
