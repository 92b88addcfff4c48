//! What agents are told to do: SNMP credentials (secrets write-only), discovery ranges with
//! their schedules, agent settings, and "run now" orders. Every change publishes an event;
//! the gateway sends the agents concerned their new configuration.

mod commands;
mod credentials;
mod import;
mod ranges;
mod schedules;

use async_graphql::MergedObject;

pub use ranges::DiscoveryRangeNode;

#[derive(MergedObject, Default)]
pub struct AgentConfigQuery(credentials::CredentialQuery, ranges::RangeQuery, commands::CommandQuery);

#[derive(MergedObject, Default)]
pub struct AgentConfigMutation(
    credentials::CredentialMutation,
    ranges::RangeMutation,
    import::ImportMutation,
    commands::CommandMutation,
);
