#![doc = include_str!("../README.md")]

pub mod cycles;
pub mod discovery;
pub mod http;
pub mod inspect;
pub mod link;
pub mod local;
pub mod profiles;
pub mod read;
pub mod scheduler;
pub mod service;
pub mod snmp;
pub mod spool;
