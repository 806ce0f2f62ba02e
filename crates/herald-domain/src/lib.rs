//! Herald's domain: typed ids, time, platforms, posts, deliveries and platform rules. No I/O.

pub mod clock;
pub mod delivery;
pub mod ids;
pub mod media;
pub mod mp4;
pub mod platform;
pub mod profile;
pub mod role;
pub mod rules;
pub mod schedule;
pub mod scope;

pub use clock::Clock;
pub use ids::*;
pub use role::Role;
pub use scope::Scope;
