//! The fleet at a glance, as GraphQL reads it.

use async_graphql::Object;
use cartouche_schema::db::devices as queries;

pub struct FleetSummaryNode(pub(super) queries::FleetSummary);

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The fleet at a glance.
#[Object(name = "FleetSummary")]
impl FleetSummaryNode {
    async fn devices(&self) -> i32 {
        count(self.0.devices)
    }
    async fn ok(&self) -> i32 {
        count(self.0.ok)
    }
    async fn warning(&self) -> i32 {
        count(self.0.warning)
    }
    async fn error(&self) -> i32 {
        count(self.0.error)
    }
    async fn offline(&self) -> i32 {
        count(self.0.offline)
    }
    async fn unknown(&self) -> i32 {
        count(self.0.unknown)
    }
    /// Fine, but slow to answer the last time (power save).
    async fn asleep(&self) -> i32 {
        count(self.0.asleep)
    }
    /// Alerts not ended.
    async fn open_alerts(&self) -> i32 {
        count(self.0.open_alerts)
    }
    /// Supplies below the threshold asked (a waste receptacle: its room left below it).
    async fn low_supplies(&self) -> i32 {
        count(self.0.low_supplies)
    }
    /// Agents not revoked.
    async fn agents(&self) -> i32 {
        count(self.0.agents)
    }
    /// Agents linked now.
    async fn agents_connected(&self) -> i32 {
        count(self.0.agents_connected)
    }
}
