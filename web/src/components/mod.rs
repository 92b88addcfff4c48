//! Pieces the pages share.

pub mod download;
pub mod form;
pub mod format;
pub mod gauge;
pub mod lang_switch;
pub mod paged;
pub mod reload;
pub mod schedule;
pub mod shell;
pub mod sites;
pub mod tenant_select;
