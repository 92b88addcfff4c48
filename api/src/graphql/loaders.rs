//! DataLoaders: every to-one edge is batched into one query per request.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use cartouche_schema::db::tenants::Tenant;
use cartouche_schema::db::{Pool, Scope};
use uuid::Uuid;

use crate::error::ApiError;

/// Loads tenants by id within a caller's scope (the key carries the scope's home tenant,
/// and the scope itself travels with it).
#[derive(Clone)]
pub struct TenantLoader {
    pool: Pool,
}

impl TenantLoader {
    pub fn new(pool: Pool) -> Self {
        TenantLoader { pool }
    }
}

/// A tenant id as seen by one caller.
#[derive(Clone, Debug)]
pub struct ScopedTenantId {
    pub scope: Scope,
    pub id: Uuid,
}

impl PartialEq for ScopedTenantId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.scope.home() == other.scope.home()
    }
}
impl Eq for ScopedTenantId {}
impl std::hash::Hash for ScopedTenantId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.scope.home().hash(state);
    }
}

impl Loader<ScopedTenantId> for TenantLoader {
    type Value = Tenant;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[ScopedTenantId]) -> Result<HashMap<ScopedTenantId, Tenant>, Self::Error> {
        let wrap = |err: ApiError| Arc::new(async_graphql::Error::from(err));
        let mut conn = self.pool.get().await.map_err(|e| wrap(e.into()))?;
        let mut out = HashMap::with_capacity(keys.len());
        // Requests are per caller, so keys almost always share one scope; group anyway.
        let mut by_home: HashMap<Uuid, (Scope, Vec<Uuid>)> = HashMap::new();
        for key in keys {
            by_home.entry(key.scope.home()).or_insert_with(|| (key.scope.clone(), Vec::new())).1.push(key.id);
        }
        for (scope, ids) in by_home.into_values() {
            let tenants =
                Tenant::load_many(&mut conn, &scope, &ids).await.map_err(|e| wrap(ApiError::from_db("tenant", e)))?;
            for tenant in tenants {
                out.insert(ScopedTenantId { scope: scope.clone(), id: tenant.id }, tenant);
            }
        }
        Ok(out)
    }
}
