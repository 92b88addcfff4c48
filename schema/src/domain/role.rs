use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user (or an API token) may do inside its tenant and the tenant's customers.
///
/// Ordered from most to least powerful: `Admin > Manager > Technician > Viewer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "db", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages tenants, users, API tokens and everything a manager does.
    Admin,
    /// Manages sites, agents, ranges, contracts; cannot manage users.
    Manager,
    /// Works on devices and work orders; cannot change the set-up.
    Technician,
    /// Reads everything in scope, changes nothing.
    Viewer,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?}: expected admin, manager, technician or viewer")]
pub struct RoleError(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Technician, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Technician => "technician",
            Role::Viewer => "viewer",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Role::Admin => 3,
            Role::Manager => 2,
            Role::Technician => 1,
            Role::Viewer => 0,
        }
    }

    /// True when this role carries at least the rights of `other`.
    pub fn includes(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    /// May change anything at all (viewers may not).
    pub fn can_write(self) -> bool {
        self.includes(Role::Technician)
    }

    /// May create and change sites, agents, ranges and other set-up.
    pub fn can_manage_setup(self) -> bool {
        self.includes(Role::Manager)
    }

    /// May manage tenants, users and API tokens.
    pub fn can_manage_users(self) -> bool {
        self == Role::Admin
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| RoleError(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("Admin".parse::<Role>(), Err(RoleError("Admin".into())));
    }

    #[test]
    fn rights_are_ordered() {
        assert!(Role::Admin.can_manage_users());
        assert!(!Role::Manager.can_manage_users());
        assert!(Role::Manager.can_manage_setup());
        assert!(!Role::Technician.can_manage_setup());
        assert!(Role::Technician.can_write());
        assert!(!Role::Viewer.can_write());
        assert!(Role::Manager.includes(Role::Viewer));
        assert!(!Role::Viewer.includes(Role::Manager));
    }
}
