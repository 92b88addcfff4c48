//! An agent's configuration as the server knows it, turned into the `schema::wire::AgentConfig`
//! the gateway sends: its ranges with their site's time zone and schedules, the SNMP
//! credentials they use (opened from their sealed form here, sent only inside the agent's
//! link), and how often it polls local printers.

use std::collections::BTreeMap;

use cartouche_schema::db::agent_config::{DiscoveryRangeRow, SnmpCredentialRow};
use cartouche_schema::db::agents::Agent;
use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::{AgentConfig, CredentialConfig, Cycle, KnownDevice, RangeConfig};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secrets::{SecretError, SecretKeys};

/// The secret part of an SNMP credential, sealed as JSON.
#[derive(Default, Serialize, Deserialize)]
pub struct SecretParts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priv_password: Option<String>,
}

impl std::fmt::Debug for SecretParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretParts(…)")
    }
}

/// What a sealed credential is bound to: its tenant and id.
fn bound_to(tenant_id: Uuid, id: Uuid) -> Vec<u8> {
    [tenant_id.as_bytes().as_slice(), id.as_bytes()].concat()
}

pub fn seal(keys: &SecretKeys, tenant_id: Uuid, id: Uuid, parts: &SecretParts) -> (Vec<u8>, String) {
    let json = serde_json::to_vec(parts).expect("invariant: secret parts serialise");
    keys.seal(&bound_to(tenant_id, id), &json)
}

pub fn open(keys: &SecretKeys, row: &SnmpCredentialRow) -> Result<SecretParts, SecretError> {
    let json = keys.open(&row.key_id, &bound_to(row.tenant_id, row.id), &row.sealed)?;
    serde_json::from_slice(&json).map_err(|_| SecretError::Corrupt(row.key_id.clone()))
}

/// The wire form of a stored credential.
pub fn credential_config(keys: &SecretKeys, row: &SnmpCredentialRow) -> Result<CredentialConfig, SecretError> {
    let parts = open(keys, row)?;
    Ok(match row.version.as_str() {
        "v1" => CredentialConfig::V1 { community: parts.community.unwrap_or_default() },
        "v2c" => CredentialConfig::V2c { community: parts.community.unwrap_or_default() },
        _ => CredentialConfig::V3 {
            user: row.v3_user.clone().unwrap_or_default(),
            auth_protocol: row.auth_protocol.clone(),
            auth_password: parts.auth_password,
            priv_protocol: row.priv_protocol.clone(),
            priv_password: parts.priv_password,
            context: row.context.clone(),
        },
    })
}

/// A range's schedules as stored (cycle name → schedule); cycles missing get their default.
pub fn schedules_of(row: &DiscoveryRangeRow) -> BTreeMap<Cycle, Schedule> {
    let stored: BTreeMap<String, Schedule> = serde_json::from_value(row.schedules.clone()).unwrap_or_default();
    Cycle::ALL
        .into_iter()
        .map(|cycle| (cycle, stored.get(cycle.name()).cloned().unwrap_or_else(|| cycle.default_schedule())))
        .collect()
}

/// Builds the agent's configuration. A credential that cannot be opened (its key is gone)
/// is left out and logged by name; the ranges using it then report it as missing.
pub async fn build(conn: &mut AsyncPgConnection, keys: &SecretKeys, agent: &Agent) -> diesel::QueryResult<AgentConfig> {
    let ranges = DiscoveryRangeRow::for_agent(conn, agent).await?;
    let mut wanted: Vec<Uuid> = ranges.iter().flat_map(|(r, _)| r.credentials()).collect();
    wanted.sort();
    wanted.dedup();
    let rows = SnmpCredentialRow::by_ids(conn, agent.tenant_id, &wanted).await?;
    let mut credentials = BTreeMap::new();
    for row in rows {
        match credential_config(keys, &row) {
            Ok(config) => {
                credentials.insert(row.id.to_string(), config);
            }
            Err(err) => {
                tracing::error!(credential.id = %row.id, credential.name = %row.name, error = %err, "credential left out of an agent's configuration");
            }
        }
    }
    let range_ids: Vec<Uuid> = ranges.iter().map(|(r, _)| r.id).collect();
    let devices = cartouche_schema::db::fleet::known_devices(conn, agent.id, &range_ids)
        .await?
        .into_iter()
        .filter_map(|device| {
            let plan = serde_json::from_value(device.read_plan.clone()?).ok()?;
            Some(KnownDevice {
                id: device.id.to_string(),
                range_id: device.range_id?.to_string(),
                address: device.address,
                port: u16::try_from(device.port).unwrap_or(161),
                credential: device.credential_id.map(|c| c.to_string()).unwrap_or_default(),
                plan,
                serial: device.serial,
                mac: device.mac,
            })
        })
        .collect();
    let ranges = ranges
        .into_iter()
        .map(|(row, time_zone)| RangeConfig {
            id: row.id.to_string(),
            ranges: row.ranges.clone(),
            site_time_zone: time_zone,
            credentials: row.credentials().iter().map(Uuid::to_string).collect(),
            schedules: schedules_of(&row),
        })
        .collect();
    Ok(AgentConfig {
        ranges,
        credentials,
        // Devices learnt from discovery readings, with the read plan their profiles give.
        devices,
        usb_interval_minutes: agent.usb_interval_minutes.and_then(|m| u32::try_from(m).ok()),
    })
}
