use yew_router::Routable;

/// The console's pages. Unknown paths show "not found" inside the shell.
#[derive(Clone, Debug, PartialEq, Eq, Routable)]
pub enum Route {
    #[at("/")]
    Overview,
    #[at("/devices")]
    Devices,
    #[at("/devices/:id")]
    Device { id: String },
    #[at("/agents")]
    Agents,
    #[at("/maintenance")]
    Maintenance,
    #[at("/work-orders/:id")]
    WorkOrder { id: String },
    #[at("/notifications")]
    Notifications,
    #[at("/reports")]
    Reports,
    #[at("/supplies")]
    Supplies,
    #[at("/contracts")]
    Contracts,
    #[at("/meter-reads")]
    Billing,
    #[at("/ranges")]
    Ranges,
    #[at("/credentials")]
    Credentials,
    #[at("/sites")]
    Sites,
    #[at("/users")]
    Users,
    #[at("/customers")]
    Customers,
    #[at("/api-tokens")]
    ApiTokens,
    #[not_found]
    #[at("/404")]
    NotFound,
}
