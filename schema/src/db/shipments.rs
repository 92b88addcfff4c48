//! Supply models, shipments and their cartridges, and where each shipped cartridge went: the
//! devices that reported its serial (as the current supply, or in a serial change).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{shipments, shipped_supplies, supply_models};
use crate::db::scope::Scope;

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = supply_models)]
pub struct SupplyModel {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub part_number: String,
    pub name: String,
    pub kind: String,
    pub color: Option<String>,
    pub rated_yield: Option<i32>,
    /// What one costs the dealer, in millionths of the currency.
    pub unit_cost: Option<i64>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = supply_models)]
pub struct NewSupplyModel {
    pub tenant_id: Uuid,
    pub part_number: String,
    pub name: String,
    pub kind: String,
    pub color: Option<String>,
    pub rated_yield: Option<i32>,
    pub unit_cost: Option<i64>,
}

impl SupplyModel {
    pub async fn create(conn: &mut AsyncPgConnection, scope: &Scope, new: NewSupplyModel) -> QueryResult<SupplyModel> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(supply_models::table)
            .values(new)
            .returning(SupplyModel::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<Vec<SupplyModel>> {
        supply_models::table
            .filter(supply_models::tenant_id.eq_any(scope.tenant_ids()))
            .order_by(supply_models::part_number)
            .select(SupplyModel::as_select())
            .load(conn)
            .await
    }

    /// A tenant's model by part number (any case).
    pub async fn by_part(conn: &mut AsyncPgConnection, tenant: Uuid, part: &str) -> QueryResult<Option<SupplyModel>> {
        supply_models::table
            .filter(supply_models::tenant_id.eq(tenant))
            .filter(crate::db::page::lower(supply_models::part_number).eq(part.trim().to_lowercase()))
            .select(SupplyModel::as_select())
            .first(conn)
            .await
            .optional()
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = shipments)]
pub struct Shipment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub supply_model_id: Uuid,
    pub quantity: i32,
    pub shipped_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    pub reference: Option<String>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = shipments)]
pub struct NewShipment {
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub supply_model_id: Uuid,
    pub quantity: i32,
    pub shipped_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    pub reference: Option<String>,
}

impl Shipment {
    /// Serials among `serials` already shipped to the tenant.
    pub async fn shipped_already(
        conn: &mut AsyncPgConnection,
        tenant: Uuid,
        serials: &[String],
    ) -> QueryResult<Vec<String>> {
        shipped_supplies::table
            .filter(shipped_supplies::tenant_id.eq(tenant))
            .filter(shipped_supplies::serial.eq_any(serials))
            .select(shipped_supplies::serial)
            .load(conn)
            .await
    }

    /// Records a shipment and its cartridges in one transaction.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewShipment,
        serials: &[String],
    ) -> QueryResult<Shipment> {
        scope.require(new.tenant_id)?;
        conn.transaction(async |conn| {
            let shipment: Shipment = diesel::insert_into(shipments::table)
                .values(&new)
                .returning(Shipment::as_returning())
                .get_result(conn)
                .await?;
            let rows: Vec<_> = serials
                .iter()
                .map(|s| {
                    (
                        shipped_supplies::shipment_id.eq(shipment.id),
                        shipped_supplies::tenant_id.eq(shipment.tenant_id),
                        shipped_supplies::serial.eq(s),
                    )
                })
                .collect();
            diesel::insert_into(shipped_supplies::table).values(rows).execute(conn).await?;
            Ok(shipment)
        })
        .await
    }

    /// Visible shipments (or one site's), newest first.
    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope, site: Option<Uuid>) -> QueryResult<Vec<Shipment>> {
        let mut query = shipments::table
            .filter(shipments::tenant_id.eq_any(scope.tenant_ids()))
            .order_by((shipments::shipped_on.desc(), shipments::id))
            .select(Shipment::as_select())
            .into_boxed();
        if let Some(site) = site {
            query = query.filter(shipments::site_id.eq(site));
        }
        query.load(conn).await
    }
}

/// The cost of the shipped cartridges installed in a tenant's devices during a period
/// (`from` to `to`, local dates read as UTC days), per device, in millionths.
pub async fn supply_costs(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let ids: Vec<Uuid> =
        shipments::table.filter(shipments::tenant_id.eq(tenant)).select(shipments::id).load(conn).await?;
    let models: Vec<(Uuid, Option<i64>)> = shipments::table
        .inner_join(supply_models::table)
        .filter(shipments::tenant_id.eq(tenant))
        .select((shipments::id, supply_models::unit_cost))
        .load(conn)
        .await?;
    let mut out: std::collections::BTreeMap<Uuid, i64> = std::collections::BTreeMap::new();
    for item in shipped_supplies(conn, &ids).await? {
        let (Some(device), Some(at)) = (item.device_id, item.installed_at) else { continue };
        let day = at.date_naive();
        if day < from || day >= to {
            continue;
        }
        let cost = models.iter().find(|(id, _)| *id == item.shipment_id).and_then(|(_, c)| *c).unwrap_or(0);
        *out.entry(device).or_insert(0) += cost;
    }
    Ok(out.into_iter().collect())
}

/// A shipped cartridge and where it went.
#[derive(QueryableByName, Clone, Debug, PartialEq)]
pub struct ShippedSupply {
    #[diesel(sql_type = SqlUuid)]
    pub shipment_id: Uuid,
    #[diesel(sql_type = Text)]
    pub serial: String,
    /// The device that reported it first, its site and when.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub device_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub device_site_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub installed_at: Option<DateTime<Utc>>,
    /// When it was replaced (a serial change away from it); none while it is in.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub removed_at: Option<DateTime<Utc>>,
}

/// The cartridges of the given shipments, each matched by serial to the device that reported
/// it: as its current supply (installed since `installed_at`, or since the device was first
/// seen when it came with it) or as the one a serial change replaced (installed since the
/// change before, or since the device was first seen).
pub async fn shipped_supplies(conn: &mut AsyncPgConnection, shipments: &[Uuid]) -> QueryResult<Vec<ShippedSupply>> {
    diesel::sql_query(
        "WITH seen AS ( \
            SELECT s.tenant_id, s.serial, s.device_id, coalesce(s.installed_at, d.first_seen_at) AS at_in, \
                NULL::timestamptz AS at_out \
              FROM supplies s JOIN devices d ON d.id = s.device_id WHERE s.serial IS NOT NULL \
            UNION ALL \
            SELECT e.tenant_id, e.detail->>'from', e.device_id, \
                coalesce((SELECT max(e2.at) FROM supply_events e2 WHERE e2.device_id = e.device_id \
                    AND e2.supply_index = e.supply_index AND e2.at < e.at AND e2.kind IN ('serial_changed', 'installed')), \
                  d.first_seen_at), \
                e.at \
              FROM supply_events e JOIN devices d ON d.id = e.device_id WHERE e.kind = 'serial_changed'), \
         matched AS (SELECT i.shipment_id, i.serial, \
              (array_agg(seen.device_id ORDER BY seen.at_in))[1] AS device_id, \
              min(seen.at_in) AS installed_at, \
              CASE WHEN bool_or(seen.device_id IS NOT NULL AND seen.at_out IS NULL) THEN NULL ELSE max(seen.at_out) END \
                AS removed_at \
            FROM shipped_supplies i LEFT JOIN seen ON seen.tenant_id = i.tenant_id AND seen.serial = i.serial \
            WHERE i.shipment_id = ANY($1) GROUP BY i.shipment_id, i.serial) \
         SELECT m.shipment_id, m.serial, m.device_id, d.site_id AS device_site_id, m.installed_at, m.removed_at \
         FROM matched m LEFT JOIN devices d ON d.id = m.device_id ORDER BY m.shipment_id, m.serial",
    )
    .bind::<Array<SqlUuid>, _>(shipments)
    .load(conn)
    .await
}
