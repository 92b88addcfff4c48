//! The per-request DataLoader of the fleet's edges.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use cartouche_schema::db::Pool;
use cartouche_schema::db::devices::{self as queries, LatestCounter, SupplyRow};
use cartouche_schema::db::fleet::Device;
use uuid::Uuid;

use crate::error::ApiError;

/// Batches the fleet's per-device edges of one request: latest counters, supplies, and
/// devices by id, each in one query for all the devices of a page. Keys come from rows the
/// caller already read through its scope; devices by id are checked against it again.
pub struct FleetLoader {
    pool: Pool,
    scope: cartouche_schema::db::Scope,
}

impl FleetLoader {
    pub fn new(pool: Pool, scope: cartouche_schema::db::Scope) -> FleetLoader {
        FleetLoader { pool, scope }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LatestCountersOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SuppliesOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DeviceById(pub Uuid);

fn db_error(what: &'static str) -> impl Fn(diesel::result::Error) -> Arc<async_graphql::Error> {
    move |e| Arc::new(async_graphql::Error::from(ApiError::from_db(what, e)))
}

impl Loader<LatestCountersOf> for FleetLoader {
    type Value = Vec<LatestCounter>;
    type Error = Arc<async_graphql::Error>;

    async fn load(
        &self,
        keys: &[LatestCountersOf],
    ) -> Result<HashMap<LatestCountersOf, Vec<LatestCounter>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = queries::latest_counters(&mut conn, &ids).await.map_err(db_error("counter"))?;
        let mut out: HashMap<LatestCountersOf, Vec<LatestCounter>> = HashMap::new();
        for row in rows {
            out.entry(LatestCountersOf(row.device_id)).or_default().push(row);
        }
        Ok(out)
    }
}

impl Loader<SuppliesOf> for FleetLoader {
    type Value = Vec<SupplyRow>;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[SuppliesOf]) -> Result<HashMap<SuppliesOf, Vec<SupplyRow>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = queries::supplies_of(&mut conn, &ids).await.map_err(db_error("supply"))?;
        let mut out: HashMap<SuppliesOf, Vec<SupplyRow>> = HashMap::new();
        for row in rows {
            out.entry(SuppliesOf(row.device_id)).or_default().push(row);
        }
        Ok(out)
    }
}

impl Loader<DeviceById> for FleetLoader {
    type Value = Device;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[DeviceById]) -> Result<HashMap<DeviceById, Device>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.pool.get().await.map_err(|e| Arc::new(async_graphql::Error::from(ApiError::from(e))))?;
        let rows = Device::load_many(&mut conn, &self.scope, &ids).await.map_err(db_error("device"))?;
        Ok(rows.into_iter().map(|d| (DeviceById(d.id), d)).collect())
    }
}
