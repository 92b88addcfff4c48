#![doc = include_str!("../README.md")]

pub mod inspect;
pub mod profiles;
