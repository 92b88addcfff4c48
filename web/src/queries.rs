//! Typed GraphQL operations. graphql_client reads `graphql/*.graphql` and checks each document
//! against `api/schema.graphql` at compile time: a field the API does not have fails the build.

#![allow(clippy::all, missing_docs, non_camel_case_types)]

use graphql_client::GraphQLQuery;

/// The API's `DateTime` scalar (RFC 3339).
pub type DateTime = String;

/// The API's `NaiveDate` scalar (YYYY-MM-DD).
pub type NaiveDate = String;

/// The API's `JSON` scalar.
pub type JSON = serde_json::Value;

/// One typed operation per document name; all share the schema and the derives. The file is
/// taken as a `tt`: graphql_client's derive does not see a `literal` fragment as a string.
macro_rules! operations {
    ($($file:tt => [$($name:ident),+ $(,)?]),+ $(,)?) => {
        $($(
            #[derive(GraphQLQuery)]
            #[graphql(
                schema_path = "../api/schema.graphql",
                query_path = $file,
                response_derives = "Debug, Clone, PartialEq",
                variables_derives = "Debug, Clone, Deserialize"
            )]
            pub struct $name;
        )+)+
    };
}

operations! {
    "graphql/session.graphql" => [Login, Refresh, Logout, Me],
    "graphql/sites.graphql" => [Sites, CreateSite, DeleteSite],
    "graphql/users.graphql" => [Users, CreateUser, SetUserDisabled, SetUserRole],
    "graphql/tenants.graphql" => [Tenants, CreateTenant],
    "graphql/api_tokens.graphql" => [ApiTokens, CreateApiToken, RevokeApiToken],
    "graphql/devices.graphql" => [Devices],
    "graphql/device.graphql" => [Device, DeviceCounters, DeviceSources],
    "graphql/fleet.graphql" => [FleetSummary, OpenAlerts, Attention],
    "graphql/agents.graphql" => [Agents, CreateEnrollmentKey, RevokeAgent, RunCycle, ConfigureAgent],
    "graphql/credentials.graphql" => [SnmpCredentials, CreateSnmpCredential, DeleteSnmpCredential],
    "graphql/billing.graphql" => [MeterReads],
    "graphql/contracts.graphql" => [PricePlans, CreatePricePlan, DeletePricePlan, Bill],
    "graphql/supplies.graphql" => [SupplyPlanning],
    "graphql/notifications.graphql" => [NotificationSettings, NotificationAdmin, SetNotificationPreferences, CreateWebhook, DeleteWebhook, TenantNotificationSettings, SetTenantNotificationSettings],
    "graphql/reports.graphql" => [Reports, RequestReport, CreateReportSchedule, DeleteReportSchedule],
    "graphql/maintenance.graphql" => [Maintenance, WorkOrderRules, CreateWorkOrderRule, DeleteWorkOrderRule, SetLabourRate, WorkOrder, UnassignWorkOrder],
    "graphql/ranges.graphql" => [DiscoveryRanges, CreateDiscoveryRange, UpdateDiscoveryRange, DeleteDiscoveryRange, ImportDiscoveryRanges],
}

/// A work order change sends only the fields given: an absent assignee keeps the assignee,
/// where a null would take it off.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../api/schema.graphql",
    query_path = "graphql/maintenance.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, Deserialize",
    skip_serializing_none
)]
pub struct UpdateWorkOrder;
