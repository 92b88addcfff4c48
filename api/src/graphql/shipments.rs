//! Supplies from shipment onward: the supply model catalogue, shipments recorded by ERPs or
//! people (each cartridge by its serial), and what became of each cartridge — installed at
//! the site it was shipped to, installed elsewhere, or never installed — with the pages it
//! printed against its rated yield.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use cartouche_schema::accounting::pages_between;
use cartouche_schema::db::shipments::{
    NewShipment, NewSupplyModel, Shipment, ShippedSupply, SupplyModel, shipped_supplies,
};
use cartouche_schema::db::sites::Site;
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ApiError;
use crate::graphql::{actor, conn, parse_id};

/// A cartridge not installed this many days after delivery (or shipment) is flagged.
const NEVER_INSTALLED_DAYS: i64 = 60;

#[derive(SimpleObject, Clone)]
#[graphql(name = "SupplyModel")]
pub struct SupplyModelNode {
    pub id: ID,
    pub part_number: String,
    pub name: String,
    /// toner, drum, ink, waste_toner, …
    pub kind: String,
    pub color: Option<String>,
    /// Pages at 5 % coverage, as the maker rates it.
    pub rated_yield: Option<i32>,
    /// What one costs you ("42.50").
    pub unit_cost: Option<String>,
}

impl From<SupplyModel> for SupplyModelNode {
    fn from(m: SupplyModel) -> SupplyModelNode {
        SupplyModelNode {
            id: ID(m.id.to_string()),
            part_number: m.part_number,
            name: m.name,
            kind: m.kind,
            color: m.color,
            rated_yield: m.rated_yield,
            unit_cost: m.unit_cost.map(|c| cartouche_schema::billing::format_money(c, 2)),
        }
    }
}

#[derive(InputObject)]
pub struct SupplyModelInput {
    /// Whose catalogue (a customer's, for its shipments); omitted: your own.
    pub tenant_id: Option<ID>,
    pub part_number: String,
    pub name: String,
    pub kind: String,
    pub color: Option<String>,
    pub rated_yield: Option<i32>,
    /// What one costs you, a decimal string ("42.50"): for the cost per page of contracts.
    pub unit_cost: Option<String>,
}

#[derive(InputObject)]
pub struct ShipmentInput {
    pub site_id: ID,
    /// A part number of your supply models.
    pub part_number: String,
    pub quantity: i32,
    /// One serial per cartridge (as many as the quantity), each shipped once.
    pub serials: Vec<String>,
    pub shipped_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    /// The ERP's delivery note or order number.
    pub reference: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ShippedSupplyStatus {
    /// Not installed yet.
    Shipped,
    /// Installed in a device of the site it was shipped to.
    Installed,
    /// Installed in a device of another site.
    InstalledElsewhere,
    /// Not installed 60 days after delivery (or shipment): lost, stocked, or sold on.
    NeverInstalled,
}

/// One shipped cartridge and what became of it.
#[derive(SimpleObject)]
pub struct ShippedSupplyNode {
    pub serial: String,
    pub status: ShippedSupplyStatus,
    pub device_id: Option<ID>,
    pub installed_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    /// Pages its device printed while it was in (page accounting's total meter).
    pub pages_printed: Option<i64>,
    /// Pages printed over the model's rated yield (1.0: as rated).
    pub yield_ratio: Option<f64>,
}

#[derive(SimpleObject)]
#[graphql(name = "Shipment")]
pub struct ShipmentNode {
    pub id: ID,
    pub site_id: ID,
    pub model: SupplyModelNode,
    pub quantity: i32,
    pub shipped_on: NaiveDate,
    pub delivered_on: Option<NaiveDate>,
    pub reference: Option<String>,
    pub supplies: Vec<ShippedSupplyNode>,
}

fn status(shipment: &Shipment, item: &ShippedSupply, today: NaiveDate) -> ShippedSupplyStatus {
    match (item.device_id, item.device_site_id) {
        (Some(_), Some(site)) if site == shipment.site_id => ShippedSupplyStatus::Installed,
        (Some(_), _) => ShippedSupplyStatus::InstalledElsewhere,
        (None, _) => {
            let since = shipment.delivered_on.unwrap_or(shipment.shipped_on);
            if (today - since).num_days() > NEVER_INSTALLED_DAYS {
                ShippedSupplyStatus::NeverInstalled
            } else {
                ShippedSupplyStatus::Shipped
            }
        }
    }
}

/// Pages each installed cartridge printed while it was in (serial → pages), from its device's
/// total meter readings by page accounting's rules.
async fn pages_printed(
    conn: &mut cartouche_schema::db::PooledConn,
    items: &[ShippedSupply],
) -> Result<HashMap<String, i64>, ApiError> {
    let mut out = HashMap::new();
    for item in items {
        let (Some(device), Some(from)) = (item.device_id, item.installed_at) else { continue };
        let to = item.removed_at.unwrap_or_else(Utc::now);
        let reads = cartouche_schema::db::accounting::meter_reads_spanning(conn, device, "total", from, to)
            .await
            .map_err(|e| ApiError::from_db("counter", e))?;
        out.insert(item.serial.clone(), pages_between(&reads, from, to).0);
    }
    Ok(out)
}

/// A shipment with its cartridges (those of `items` that are its own).
fn shipment_node(
    shipment: Shipment,
    model: SupplyModel,
    items: &[ShippedSupply],
    pages: &HashMap<String, i64>,
    today: NaiveDate,
) -> ShipmentNode {
    let supplies = items
        .iter()
        .filter(|i| i.shipment_id == shipment.id)
        .map(|i| ShippedSupplyNode {
            serial: i.serial.clone(),
            status: status(&shipment, i, today),
            device_id: i.device_id.map(|d| ID(d.to_string())),
            installed_at: i.installed_at,
            removed_at: i.removed_at,
            pages_printed: pages.get(&i.serial).copied(),
            yield_ratio: match (pages.get(&i.serial).copied(), model.rated_yield) {
                (Some(pages), Some(rated)) => Some(pages as f64 / f64::from(rated)),
                _ => None,
            },
        })
        .collect();
    ShipmentNode {
        id: ID(shipment.id.to_string()),
        site_id: ID(shipment.site_id.to_string()),
        model: model.into(),
        quantity: shipment.quantity,
        shipped_on: shipment.shipped_on,
        delivered_on: shipment.delivered_on,
        reference: shipment.reference,
        supplies,
    }
}

#[derive(Default)]
pub struct ShipmentQuery;

#[Object]
impl ShipmentQuery {
    /// Your supply models, by part number.
    async fn supply_models(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SupplyModelNode>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let models =
            SupplyModel::list(&mut conn, &actor.scope).await.map_err(|e| ApiError::from_db("supply model", e))?;
        Ok(models.into_iter().map(SupplyModelNode::from).collect())
    }

    /// Shipments you may see (or one site's), newest first, each cartridge with what became
    /// of it.
    async fn shipments(&self, ctx: &Context<'_>, site_id: Option<ID>) -> async_graphql::Result<Vec<ShipmentNode>> {
        let actor = actor(ctx)?;
        let site = site_id.as_ref().map(|s| parse_id("siteId", s)).transpose()?;
        let mut conn = conn(ctx).await?;
        let list = Shipment::list(&mut conn, &actor.scope, site).await.map_err(|e| ApiError::from_db("shipment", e))?;
        let models =
            SupplyModel::list(&mut conn, &actor.scope).await.map_err(|e| ApiError::from_db("supply model", e))?;
        let ids: Vec<_> = list.iter().map(|s| s.id).collect();
        let items = shipped_supplies(&mut conn, &ids).await.map_err(|e| ApiError::from_db("shipment", e))?;
        let pages = pages_printed(&mut conn, &items).await?;
        let today = Utc::now().date_naive();
        Ok(list
            .into_iter()
            .filter_map(|shipment| {
                let model = models.iter().find(|m| m.id == shipment.supply_model_id)?.clone();
                Some(shipment_node(shipment, model, &items, &pages, today))
            })
            .collect())
    }
}

#[derive(Default)]
pub struct ShipmentMutation;

#[Object]
impl ShipmentMutation {
    /// Adds a supply model to your catalogue (or a customer's). Managers and admins.
    async fn create_supply_model(
        &self,
        ctx: &Context<'_>,
        input: SupplyModelInput,
    ) -> async_graphql::Result<SupplyModelNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "adding a supply model")?;
        let part = input.part_number.trim();
        if part.is_empty() || part.len() > 100 {
            return Err(ApiError::validation("partNumber", "1 to 100 characters").into());
        }
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let kind = input.kind.trim().to_lowercase();
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(ApiError::validation("kind", "a word such as toner, drum, ink, waste_toner").into());
        }
        if input.rated_yield.is_some_and(|y| y <= 0) {
            return Err(ApiError::validation("ratedYield", "a number of pages above 0").into());
        }
        let tenant =
            crate::graphql::visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let mut conn = conn(ctx).await?;
        let new = NewSupplyModel {
            tenant_id: tenant,
            part_number: part.to_owned(),
            name: name.into_inner(),
            kind,
            color: input.color.map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()),
            rated_yield: input.rated_yield,
            unit_cost: input
                .unit_cost
                .as_deref()
                .map(cartouche_schema::billing::parse_money)
                .transpose()
                .map_err(|e| ApiError::validation("unitCost", e))?,
        };
        let model = SupplyModel::create(&mut conn, &actor.scope, new)
            .await
            .map_err(|e| ApiError::from_db("supply model", e))?;
        Ok(model.into())
    }

    /// Records a shipment of cartridges to a site (by an ERP or a person). Managers and
    /// admins. An unknown part number, a serial shipped before or listed twice, a quantity
    /// that is not the number of serials, a delivery before the shipment: VALIDATION, named.
    async fn record_shipment(&self, ctx: &Context<'_>, input: ShipmentInput) -> async_graphql::Result<ShipmentNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "recording a shipment")?;
        if let Some(delivered) = input.delivered_on
            && delivered < input.shipped_on
        {
            return Err(ApiError::validation(
                "deliveredOn",
                format!("delivered ({delivered}) before it was shipped ({})", input.shipped_on),
            )
            .into());
        }
        if !(1..=10_000).contains(&input.quantity) {
            return Err(ApiError::validation("quantity", "1 to 10000").into());
        }
        let serials: Vec<String> = input.serials.iter().map(|s| s.trim().to_owned()).collect();
        if usize::try_from(input.quantity).ok() != Some(serials.len()) {
            return Err(ApiError::validation(
                "serials",
                format!("{} serials for a quantity of {}", serials.len(), input.quantity),
            )
            .into());
        }
        let mut seen = HashSet::new();
        for (i, serial) in serials.iter().enumerate() {
            if serial.is_empty() {
                return Err(ApiError::validation(format!("serials[{i}]"), "empty").into());
            }
            if !seen.insert(serial) {
                return Err(ApiError::validation(format!("serials[{i}]"), format!("{serial:?} is listed twice")).into());
            }
        }
        let mut conn = conn(ctx).await?;
        let site = Site::find(&mut conn, &actor.scope, parse_id("siteId", &input.site_id)?)
            .await
            .map_err(|e| ApiError::from_db("site", e))?;
        let Some(model) = SupplyModel::by_part(&mut conn, site.tenant_id, &input.part_number)
            .await
            .map_err(|e| ApiError::from_db("supply model", e))?
        else {
            return Err(ApiError::validation(
                "partNumber",
                format!("{:?} is not one of the supply models (add it first)", input.part_number),
            )
            .into());
        };
        let already = Shipment::shipped_already(&mut conn, site.tenant_id, &serials)
            .await
            .map_err(|e| ApiError::from_db("shipment", e))?;
        if let Some(serial) = already.first() {
            let i = serials.iter().position(|s| s == serial).unwrap_or(0);
            return Err(ApiError::validation(format!("serials[{i}]"), format!("{serial:?} was shipped before")).into());
        }
        let new = NewShipment {
            tenant_id: site.tenant_id,
            site_id: site.id,
            supply_model_id: model.id,
            quantity: input.quantity,
            shipped_on: input.shipped_on,
            delivered_on: input.delivered_on,
            reference: input.reference.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()),
        };
        let shipment = Shipment::create(&mut conn, &actor.scope, new, &serials)
            .await
            .map_err(|e| ApiError::from_db("shipment", e))?;
        let today = Utc::now().date_naive();
        let items = shipped_supplies(&mut conn, &[shipment.id]).await.map_err(|e| ApiError::from_db("shipment", e))?;
        let pages = pages_printed(&mut conn, &items).await?;
        Ok(shipment_node(shipment, model, &items, &pages, today))
    }
}
