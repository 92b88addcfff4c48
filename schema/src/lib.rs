#![doc = include_str!("../README.md")]

pub mod domain;
pub mod profiles;

#[cfg(feature = "db")]
pub mod db;
