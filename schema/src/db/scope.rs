use std::sync::Arc;

use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The tenants a caller may see: its own tenant and, for a dealer, every customer below it.
///
/// Obtained only from an authenticated identity (the api's auth layer resolves it once per
/// request); every query on a tenant-owned table takes one. A parent sees its customers,
/// never the reverse.
#[derive(Clone, Debug)]
pub struct Scope {
    home: Uuid,
    visible: Arc<[Uuid]>,
}

#[derive(QueryableByName)]
struct TenantIdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

impl Scope {
    /// Resolves the scope of a caller whose home tenant is `home`.
    pub async fn resolve(conn: &mut AsyncPgConnection, home: Uuid) -> diesel::QueryResult<Scope> {
        let rows: Vec<TenantIdRow> = diesel::sql_query(
            "WITH RECURSIVE tree(id) AS ( \
                 SELECT id FROM tenants WHERE id = $1 \
                 UNION ALL \
                 SELECT child.id FROM tenants child JOIN tree ON child.parent_id = tree.id \
             ) SELECT id FROM tree",
        )
        .bind::<SqlUuid, _>(home)
        .load(conn)
        .await?;
        if rows.is_empty() {
            return Err(diesel::result::Error::NotFound);
        }
        Ok(Scope { home, visible: rows.into_iter().map(|row| row.id).collect() })
    }

    /// A scope already resolved (its tenants read with the caller, in one statement).
    pub(crate) fn new(home: Uuid, visible: Vec<Uuid>) -> Scope {
        Scope { home, visible: visible.into() }
    }

    /// The caller's own tenant.
    pub fn home(&self) -> Uuid {
        self.home
    }

    /// Every tenant the caller may see, its own first.
    pub fn tenant_ids(&self) -> &[Uuid] {
        &self.visible
    }

    pub fn contains(&self, tenant_id: Uuid) -> bool {
        self.visible.contains(&tenant_id)
    }

    /// `Ok` when the tenant is visible, `NotFound` otherwise: out of scope and missing
    /// look the same from outside.
    pub fn require(&self, tenant_id: Uuid) -> diesel::QueryResult<()> {
        if self.contains(tenant_id) { Ok(()) } else { Err(diesel::result::Error::NotFound) }
    }
}
