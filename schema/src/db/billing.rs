//! Price plans and what billing reads: the pages of a tenant's devices over a period.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Bigint, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::price_plans;
use crate::db::scope::Scope;

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = price_plans)]
pub struct PricePlan {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub name: String,
    pub currency: String,
    pub mono_price: i64,
    pub color_price: i64,
    pub included_mono: i64,
    pub included_color: i64,
    pub pooled: bool,
    pub minimum_charge: i64,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub large_format_factor: i32,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = price_plans)]
pub struct NewPricePlan {
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub name: String,
    pub currency: String,
    pub mono_price: i64,
    pub color_price: i64,
    pub included_mono: i64,
    pub included_color: i64,
    pub pooled: bool,
    pub minimum_charge: i64,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub large_format_factor: i32,
}

/// Why a plan was not created.
#[derive(Debug)]
pub enum CreateError {
    /// Another plan of the same scope is in force on some of the same days.
    Overlaps(String),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for CreateError {
    fn from(err: diesel::result::Error) -> CreateError {
        CreateError::Db(err)
    }
}

impl PricePlan {
    /// Creates a plan, refusing one whose scope (tenant, site, device) already has a plan on
    /// some of its days; plans of one tenant are created one at a time (a lock on the tenant).
    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewPricePlan,
    ) -> Result<PricePlan, CreateError> {
        scope.require(new.tenant_id)?;
        conn.transaction(async |conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('price_plans:' || $1::text))")
                .bind::<SqlUuid, _>(new.tenant_id)
                .execute(conn)
                .await?;
            #[derive(QueryableByName)]
            struct Name {
                #[diesel(sql_type = Text)]
                name: String,
            }
            let clash: Option<Name> = diesel::sql_query(
                "SELECT name FROM price_plans WHERE tenant_id = $1 \
                   AND site_id IS NOT DISTINCT FROM $2 AND device_id IS NOT DISTINCT FROM $3 \
                   AND daterange(valid_from, valid_to) && daterange($4, $5) LIMIT 1",
            )
            .bind::<SqlUuid, _>(new.tenant_id)
            .bind::<Nullable<SqlUuid>, _>(new.site_id)
            .bind::<Nullable<SqlUuid>, _>(new.device_id)
            .bind::<Date, _>(new.valid_from)
            .bind::<Nullable<Date>, _>(new.valid_to)
            .get_result(conn)
            .await
            .optional()?;
            if let Some(clash) = clash {
                return Err(CreateError::Overlaps(clash.name));
            }
            Ok(diesel::insert_into(price_plans::table)
                .values(&new)
                .returning(PricePlan::as_returning())
                .get_result(conn)
                .await?)
        })
        .await
    }

    /// Visible plans (or one tenant's), newest validity first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Option<Uuid>,
    ) -> QueryResult<Vec<PricePlan>> {
        let mut query = price_plans::table
            .filter(price_plans::tenant_id.eq_any(scope.tenant_ids()))
            .select(PricePlan::as_select())
            .order_by((price_plans::valid_from.desc(), price_plans::name))
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(price_plans::tenant_id.eq(tenant));
        }
        query.load(conn).await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<PricePlan> {
        diesel::delete(price_plans::table.find(id).filter(price_plans::tenant_id.eq_any(scope.tenant_ids())))
            .returning(PricePlan::as_returning())
            .get_result(conn)
            .await
    }

    /// The days within (from, to) on which one of a tenant's plans starts or ends.
    pub async fn changes_within(
        conn: &mut AsyncPgConnection,
        tenant: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> QueryResult<Vec<NaiveDate>> {
        #[derive(QueryableByName)]
        struct Day {
            #[diesel(sql_type = Date)]
            day: NaiveDate,
        }
        let days: Vec<Day> = diesel::sql_query(
            "SELECT DISTINCT d AS day FROM price_plans, LATERAL (VALUES (valid_from), (valid_to)) v(d) \
             WHERE tenant_id = $1 AND d > $2 AND d < $3 ORDER BY 1",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(conn)
        .await?;
        Ok(days.into_iter().map(|d| d.day).collect())
    }

    /// Plans of a tenant in force on `day`.
    pub async fn in_force(conn: &mut AsyncPgConnection, tenant: Uuid, day: NaiveDate) -> QueryResult<Vec<PricePlan>> {
        price_plans::table
            .filter(price_plans::tenant_id.eq(tenant))
            .filter(price_plans::valid_from.le(day))
            .filter(price_plans::valid_to.is_null().or(price_plans::valid_to.gt(day)))
            .select(PricePlan::as_select())
            .load(conn)
            .await
    }

    /// Whether this plan covers a device of `site`, and how specifically (device 2, site 1,
    /// tenant 0).
    pub fn covers(&self, device: Uuid, site: Option<Uuid>) -> Option<u8> {
        match (self.device_id, self.site_id) {
            (Some(d), _) => (d == device).then_some(2),
            (None, Some(s)) => (Some(s) == site).then_some(1),
            (None, None) => Some(0),
        }
    }
}

/// A device of a tenant with its pages per meter over a period.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct MeterPages {
    #[diesel(sql_type = SqlUuid)]
    pub device_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub site_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub serial: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub model: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kind: Option<String>,
    #[diesel(sql_type = Bigint)]
    pub pages: i64,
    #[diesel(sql_type = Bigint)]
    pub held: i64,
}

/// Every device of `tenant` (with or without pages) and its pages per meter from `from` to
/// `to` (local days), by device.
pub async fn tenant_pages(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<MeterPages>> {
    diesel::sql_query(
        "SELECT d.id AS device_id, d.site_id, d.serial, d.model, p.kind, \
           coalesce(p.pages, 0)::int8 AS pages, coalesce(p.held, 0)::int8 AS held \
         FROM devices d LEFT JOIN (SELECT device_id, kind, sum(pages) AS pages, sum(held) AS held FROM page_counts \
             WHERE tenant_id = $1 AND day >= $2 AND day < $3 GROUP BY device_id, kind) p ON p.device_id = d.id \
         WHERE d.tenant_id = $1 ORDER BY d.serial, d.id, p.kind",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}
