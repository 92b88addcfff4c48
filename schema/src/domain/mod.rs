//! Domain values that parse on construction: once you hold one, it is valid.

mod email;
mod name;
mod role;
mod time_zone;

pub use email::{Email, EmailError};
pub use name::{DisplayName, NameError};
pub use role::{Role, RoleError};
pub use time_zone::{TimeZoneError, TimeZoneName};
