//! One module per page.

pub mod agents;
pub mod api_tokens;
pub mod billing;
pub mod contracts;
pub mod credentials;
pub mod customers;
pub mod device;
pub mod devices;
pub mod login;
pub mod maintenance;
pub mod not_found;
pub mod notifications;
pub mod overview;
pub mod ranges;
pub mod reports;
pub mod sites;
pub mod supplies;
pub mod users;
pub mod work_order;
