use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::{self, PageRequest, after_keyset, lower};
use super::schema::sites;
use super::scope::Scope;

/// A place where a tenant's printers live, with its own time zone for schedules and billing.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug, PartialEq, Eq)]
#[diesel(table_name = sites)]
pub struct Site {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub time_zone: String,
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Days from ordering a supply to its delivery (0 to 120).
    pub lead_time_days: i32,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = sites)]
pub struct NewSite<'a> {
    pub tenant_id: Uuid,
    pub name: &'a str,
    pub time_zone: &'a str,
    pub address: Option<&'a str>,
}

/// Fields to change; `None` leaves a field as it is. `address: Some(None)` clears it.
#[derive(AsChangeset, Debug, Default)]
#[diesel(table_name = sites)]
pub struct SiteChanges<'a> {
    pub name: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub address: Option<Option<&'a str>>,
    pub lead_time_days: Option<i32>,
}

impl Site {
    pub async fn find(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Site> {
        sites::table
            .find(id)
            .filter(sites::tenant_id.eq_any(scope.tenant_ids()))
            .select(Site::as_select())
            .first(conn)
            .await
    }

    /// Every site of one tenant the scope can see (to resolve names, as in a range file).
    pub async fn of_tenant(conn: &mut AsyncPgConnection, scope: &Scope, tenant: Uuid) -> QueryResult<Vec<Site>> {
        scope.require(tenant)?;
        sites::table.filter(sites::tenant_id.eq(tenant)).select(Site::as_select()).load(conn).await
    }

    /// Visible sites ordered by name, one page; `tenant` narrows to one tenant.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Option<Uuid>,
        request: &PageRequest,
    ) -> QueryResult<(Vec<Site>, bool)> {
        let mut query = sites::table
            .filter(sites::tenant_id.eq_any(scope.tenant_ids()))
            .select(Site::as_select())
            .order_by((lower(sites::name), sites::id))
            .limit(request.limit())
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(sites::tenant_id.eq(tenant));
        }
        let query = after_keyset!(query, sites::name, sites::id, &request.after);
        Ok(page::finish(query.load(conn).await?, request))
    }

    pub async fn create(conn: &mut AsyncPgConnection, scope: &Scope, new: NewSite<'_>) -> QueryResult<Site> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(sites::table).values(new).returning(Site::as_returning()).get_result(conn).await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        changes: SiteChanges<'_>,
    ) -> QueryResult<Site> {
        let target = sites::table.find(id).filter(sites::tenant_id.eq_any(scope.tenant_ids()));
        if changes.name.is_none()
            && changes.time_zone.is_none()
            && changes.address.is_none()
            && changes.lead_time_days.is_none()
        {
            return Self::find(conn, scope, id).await;
        }
        diesel::update(target)
            .set((changes, sites::updated_at.eq(diesel::dsl::now)))
            .returning(Site::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<Site> {
        diesel::delete(sites::table.find(id).filter(sites::tenant_id.eq_any(scope.tenant_ids())))
            .returning(Site::as_returning())
            .get_result(conn)
            .await
    }
}
