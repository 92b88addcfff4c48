#![doc = include_str!("../README.md")]

pub mod domain;
pub mod identity;
pub mod profiles;
pub mod ranges;

#[cfg(feature = "db")]
pub mod db;
