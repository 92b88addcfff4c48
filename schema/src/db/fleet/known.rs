//! What ingestion and the gateway read and set about devices already known: their profiles,
//! the devices an agent reads, the addresses a device had, and what a device is.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Device;
use crate::db::schema::{device_addresses, devices};
use crate::profiles::{DeviceSnapshot, ReadPlan};

/// Sets what a device is (vendor, model, firmware, profiles, read plan) from a full reading.
pub async fn describe(
    conn: &mut AsyncPgConnection,
    device_id: Uuid,
    snapshot: &DeviceSnapshot,
    plan: Option<&ReadPlan>,
) -> QueryResult<()> {
    let profile: Vec<Option<String>> = snapshot.profile.iter().cloned().map(Some).collect();
    let plan = plan.map(|p| serde_json::to_value(p).expect("invariant: read plans serialise"));
    diesel::update(devices::table.find(device_id))
        .set((
            devices::vendor.eq(&snapshot.vendor),
            devices::model.eq(&snapshot.model),
            devices::firmware.eq(&snapshot.firmware),
            devices::profile.eq(profile),
            devices::read_plan.eq(plan),
            devices::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

impl Device {
    /// A device by id whatever its tenant (the operator's command line only).
    pub async fn find_any(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Device> {
        devices::table.find(id).select(Device::as_select()).first(conn).await
    }
}

/// Every address a device was seen at.
pub async fn addresses_seen(conn: &mut AsyncPgConnection, device_id: Uuid) -> QueryResult<Vec<String>> {
    device_addresses::table
        .filter(device_addresses::device_id.eq(device_id))
        .select(device_addresses::address)
        .distinct()
        .load(conn)
        .await
}

/// The profiles the tenant's devices were recognised with (base first), to interpret their
/// partial readings; devices without any are left out.
pub async fn profiles_of(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    device_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<String>>> {
    if device_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(Uuid, Vec<Option<String>>)> = devices::table
        .filter(devices::id.eq_any(device_ids))
        .filter(devices::tenant_id.eq(tenant_id))
        .select((devices::id, devices::profile))
        .load(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|(id, profile)| (id, profile.into_iter().flatten().collect::<Vec<String>>()))
        .filter(|(_, profile)| !profile.is_empty())
        .collect())
}

/// The devices an agent reads in its counters and alerts cycles: its network devices with a
/// read plan, in ranges it scans.
pub async fn known_devices(conn: &mut AsyncPgConnection, agent_id: Uuid, ranges: &[Uuid]) -> QueryResult<Vec<Device>> {
    devices::table
        .filter(devices::agent_id.eq(agent_id))
        .filter(devices::kind.eq("snmp"))
        .filter(devices::read_plan.is_not_null())
        .filter(devices::range_id.eq_any(ranges))
        .order_by(devices::address)
        .select(Device::as_select())
        .load(conn)
        .await
}
