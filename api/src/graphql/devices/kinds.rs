//! The device enums of the API: status, order of the list, kind.

use async_graphql::Enum;
use cartouche_schema::db::devices::DeviceOrder;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceStatus {
    Ok,
    Warning,
    Error,
    Offline,
    /// Fine, but it answered only after a timeout the last time (power save, or busy).
    Asleep,
    Unknown,
}

impl DeviceStatus {
    pub(super) fn of(word: &str) -> DeviceStatus {
        match word {
            "ok" => DeviceStatus::Ok,
            "warning" => DeviceStatus::Warning,
            "error" => DeviceStatus::Error,
            "offline" => DeviceStatus::Offline,
            "asleep" => DeviceStatus::Asleep,
            _ => DeviceStatus::Unknown,
        }
    }
    pub(super) fn word(self) -> &'static str {
        match self {
            DeviceStatus::Ok => "ok",
            DeviceStatus::Warning => "warning",
            DeviceStatus::Error => "error",
            DeviceStatus::Offline => "offline",
            DeviceStatus::Asleep => "asleep",
            DeviceStatus::Unknown => "unknown",
        }
    }
}

/// How the device list is ordered.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum DeviceOrderBy {
    /// Vendor, model, address.
    #[default]
    Name,
    /// Longest unseen first: the devices that went quiet.
    LastSeen,
    /// Worst status first (error, offline, warning, asleep, unknown, ok), then by name.
    Status,
}

impl From<DeviceOrderBy> for DeviceOrder {
    fn from(order: DeviceOrderBy) -> DeviceOrder {
        match order {
            DeviceOrderBy::Name => DeviceOrder::Name,
            DeviceOrderBy::LastSeen => DeviceOrder::LastSeen,
            DeviceOrderBy::Status => DeviceOrder::Status,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceKind {
    /// Read over the network (SNMP).
    Snmp,
    /// A local (USB) printer read by its agent through the host's print system.
    Local,
}
