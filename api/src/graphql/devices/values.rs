//! What a device carries: counter values and points, supplies and their events, alerts,
//! address stretches, and the raw reading behind each value.

use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use cartouche_schema::db::devices::{self as queries, AlertRow, LatestCounter, SupplyEventRow, SupplyRow};
use cartouche_schema::db::fleet::Device;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::{actor, conn};

use super::{DeviceNode, load_device};

/// Where a value came from: the agent's batch, and in it the reading of this device.
pub struct Source {
    pub(super) agent_id: Uuid,
    pub(super) sequence: i64,
    pub(super) device_id: Uuid,
}

#[Object]
impl Source {
    async fn agent_id(&self) -> ID {
        ID(self.agent_id.to_string())
    }
    /// The batch's sequence number at its agent.
    async fn sequence(&self) -> i64 {
        self.sequence
    }
    /// The raw reading of this device in that batch, exactly as the agent sent it (varbinds
    /// in `.snmprec` form, pages, notes), for re-reading what the device said.
    async fn reading(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Json<serde_json::Value>>> {
        let actor = actor(ctx)?;
        let mut conn = conn(ctx).await?;
        let batch = queries::raw_batch(&mut conn, &actor.scope, self.agent_id, self.sequence)
            .await
            .map_err(|e| ApiError::from_db("raw reading", e))?;
        let device =
            Device::find(&mut conn, &actor.scope, self.device_id).await.map_err(|e| ApiError::from_db("device", e))?;
        let addresses: Vec<String> = queries::addresses_of(&mut conn, device.id)
            .await
            .map_err(|e| ApiError::from_db("device", e))?
            .into_iter()
            .map(|a| a.address)
            .collect();
        let id = device.id.to_string();
        let found = batch.readings.as_array().and_then(|readings| {
            readings
                .iter()
                .find(|r| r["device_id"].as_str() == Some(id.as_str()))
                .or_else(|| {
                    readings.iter().find(|r| r["address"].as_str().is_some_and(|a| addresses.iter().any(|x| x == a)))
                })
                .cloned()
        });
        Ok(found.map(Json))
    }
}

/// The latest value of one counter.
pub struct CounterValue(pub(super) LatestCounter);

#[Object]
impl CounterValue {
    /// total, mono, color, print_color, copy, scan, …; `other:<label>` for vendor counters.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn value(&self) -> i64 {
        self.0.value
    }
    async fn read_at(&self) -> DateTime<Utc> {
        self.0.read_at
    }
    /// Why the value is not to be billed as it is: decrease, wrap, color_above_total,
    /// implausible_jump; null when it is fine.
    async fn flag(&self) -> Option<&str> {
        self.0.flag.as_deref()
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

/// One point of a counter series.
pub struct CounterPointNode {
    pub(super) point: queries::CounterPoint,
    pub(super) device_id: Uuid,
}

#[Object(name = "CounterPoint")]
impl CounterPointNode {
    /// The period's start (in the site's time zone), or the reading's time for READING.
    async fn period(&self) -> DateTime<Utc> {
        self.point.period
    }
    /// The last reading of the period.
    async fn read_at(&self) -> DateTime<Utc> {
        self.point.read_at
    }
    async fn value(&self) -> i64 {
        self.point.value
    }
    async fn flag(&self) -> Option<&str> {
        self.point.flag.as_deref()
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.point.agent_id, sequence: self.point.sequence, device_id: self.device_id }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CounterGranularity {
    Reading,
    Hour,
    Day,
    Month,
}

pub struct SupplyNode(pub(super) SupplyRow);

#[Object(name = "Supply")]
impl SupplyNode {
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn device(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeviceNode>> {
        load_device(ctx, self.0.device_id).await
    }
    async fn index(&self) -> i32 {
        self.0.supply_index
    }
    /// toner, ink, drum, waste_toner, fuser, …
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn color(&self) -> Option<&str> {
        self.0.color.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn level(&self) -> Option<i64> {
        self.0.level
    }
    async fn max_capacity(&self) -> Option<i64> {
        self.0.max_capacity
    }
    /// What remains (for a receptacle: the room left), 0 to 100; null when not measured.
    async fn percent(&self) -> Option<f64> {
        self.0.percent
    }
    /// ok, low, empty, some_remaining, unrestricted, unknown, full.
    async fn state(&self) -> &str {
        &self.0.state
    }
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    async fn receptacle(&self) -> bool {
        self.0.receptacle
    }
    async fn part_number(&self) -> Option<&str> {
        self.0.part_number.as_deref()
    }
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    async fn remaining_pages(&self) -> Option<i64> {
        self.0.remaining_pages
    }
    /// When this supply (this cartridge) was first seen in place.
    async fn installed_at(&self) -> Option<DateTime<Utc>> {
        self.0.installed_at
    }
    async fn read_at(&self) -> DateTime<Utc> {
        self.0.read_at
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

pub struct SupplyEventNode(pub(super) SupplyEventRow);

/// What happened to a supply: installed, serial_changed, level_jumped_up, removed.
#[Object(name = "SupplyEvent")]
impl SupplyEventNode {
    async fn supply_index(&self) -> i32 {
        self.0.supply_index
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// From/to values for serial and level changes.
    async fn detail(&self) -> Json<serde_json::Value> {
        Json(self.0.detail.clone())
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

pub struct AlertNode(pub(super) AlertRow);

#[Object(name = "Alert")]
impl AlertNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn device_id(&self) -> ID {
        ID(self.0.device_id.to_string())
    }
    async fn device(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeviceNode>> {
        load_device(ctx, self.0.device_id).await
    }
    /// jam, cover_open, toner_empty, toner_low, … (the fault catalogue's types).
    async fn fault_type(&self) -> &str {
        &self.0.fault_type
    }
    /// prtAlertCode, when the alert came from the Printer-MIB.
    async fn code(&self) -> Option<i64> {
        self.0.code
    }
    /// critical, warning, other.
    async fn severity(&self) -> &str {
        &self.0.severity
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Null while it is open.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// Who the device says must clear it (prtAlertTrainingLevel: untrained, trained,
    /// field_service, management, …), when it says.
    async fn training_level(&self) -> Option<&str> {
        self.0.training_level.as_deref()
    }
    /// The fault as the catalogue knows it: who can fix it, whether a specialist must come,
    /// the usual time and parts.
    async fn fault(&self, ctx: &Context<'_>) -> FaultInfo {
        let catalogue = &crate::graphql::state(ctx).ingestor.profiles().catalogue;
        FaultInfo::of(catalogue.of_type(&self.0.fault_type), self.0.training_level.as_deref())
    }
    async fn source(&self) -> Source {
        Source { agent_id: self.0.agent_id, sequence: self.0.sequence, device_id: self.0.device_id }
    }
}

/// A fault as the catalogue knows it, and who can fix it.
#[derive(SimpleObject)]
pub struct FaultInfo {
    /// The catalogue's type (jam, toner_empty, fuser_failure, …).
    pub fault_type: String,
    pub title: String,
    /// user, trained_user or field_technician: the more demanding of what the device says
    /// (its training level) and what the catalogue knows of the fault.
    pub fixed_by: String,
    /// A service technician must come (fixed by field_technician).
    pub specialist_needed: bool,
    /// Usual minutes of work for whoever can fix it.
    pub estimated_minutes: i32,
    /// Usual parts cost, in euros (0 when nothing is replaced).
    pub parts_cost: f64,
}

impl FaultInfo {
    pub fn of(fault: &cartouche_schema::profiles::Fault, training_level: Option<&str>) -> FaultInfo {
        let skill = fault.who_fixes(training_level);
        FaultInfo {
            fault_type: fault.fault_type.clone(),
            title: fault.title.clone(),
            fixed_by: skill.name().to_owned(),
            specialist_needed: skill == cartouche_schema::profiles::Skill::FieldTechnician,
            estimated_minutes: i32::try_from(fault.minutes).unwrap_or(i32::MAX),
            parts_cost: fault.parts_cost,
        }
    }
}

/// An error bit the device reports (hrPrinterDetectedErrorState), with what it means.
#[derive(SimpleObject)]
pub struct StatusError {
    /// jammed, door_open, no_toner, service_requested, …
    pub bit: String,
    pub fault: FaultInfo,
}

/// A change of a device's status or of the error bits behind it.
#[derive(SimpleObject)]
pub struct StatusChangeNode {
    pub at: DateTime<Utc>,
    pub status: super::DeviceStatus,
    pub errors: Vec<String>,
}

/// A stretch of time a device spent at one address.
#[derive(SimpleObject)]
pub struct DeviceAddress {
    pub address: String,
    pub host_name: Option<String>,
    pub agent_id: Option<ID>,
    pub site_id: Option<ID>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}
