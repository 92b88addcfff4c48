//! Full-stack tests: the real api on a real PostgreSQL (one fresh database per test).

mod accounting;
mod agent_config;
mod agents;
mod auth;
mod billing;
mod browser;
mod console;
mod cycles;
mod fleet_api;
mod fleet_summary;
mod health;
mod ingestion;
mod jobs;
mod link;
mod local;
mod migrations;
mod outage;
mod pagination;
mod response_cache;
mod roles;
mod shipments;
mod snmpv3;
mod subscriptions;
mod talking;
mod tenancy;
mod work_orders;
