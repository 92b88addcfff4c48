//! Device knowledge: declarative model profiles (TOML data files) and the pure interpreter
//! that turns a walk of raw varbinds into a [`DeviceSnapshot`].
//!
//! - [`Walk`]: the raw reading (what agents upload, what `.snmprec` recordings hold);
//! - [`ProfileSet`]: the profiles (shipped in `schema/profiles/`, or loaded from a folder),
//!   checked at load with file, line and reason on any error, plus the fault catalogue;
//! - [`interpret`]: walk + profiles → snapshot, with provenance and warnings;
//! - [`ReadPlan`]: per device, what to GET and walk in each cycle.

pub mod catalogue;
mod interpret;
pub mod oid;
pub mod profile;
pub mod snapshot;
pub mod spec;
mod tlv;
pub mod value;
pub mod walk;

pub use catalogue::{Fault, FaultCatalogue, Skill};
pub use interpret::{interpret, interpret_known};
pub use oid::Oid;
pub use profile::{CyclePlan, Profile, ProfileError, ProfileSet, ReadPlan};
pub use snapshot::DeviceSnapshot;
pub use value::Value;
pub use walk::{Walk, read_recordings};

/// The read plan for a device whose walk (even a partial one from discovery) is `walk`.
pub fn read_plan_for(walk: &Walk, set: &ProfileSet) -> ReadPlan {
    let system = interpret::system(walk);
    let chain = interpret::resolve_chain(walk, set, &system);
    ReadPlan::of(&chain.profiles)
}
