#![doc = include_str!("../README.md")]

pub mod domain;

#[cfg(feature = "db")]
pub mod db;
