#![doc = include_str!("../README.md")]

pub mod accounting;
pub mod billing;
pub mod domain;
pub mod fleet;
pub mod forecast;
pub mod identity;
pub mod ipp;
pub mod maintenance;
pub mod profiles;
pub mod ranges;
pub mod reports;
pub mod schedule;
pub mod wire;

#[cfg(feature = "db")]
pub mod db;
