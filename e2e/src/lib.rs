#![doc = include_str!("../README.md")]

pub mod agent_socket;
pub mod app;
pub mod browser;
pub mod db;
pub mod graphql;
pub mod ipp_printer;
pub mod relay;
pub mod simulator;
pub mod snmpd;
pub mod ws;
