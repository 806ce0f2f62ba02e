//! Herald's binary as a library: resolved settings, and starting the API, the dispatcher and the
//! built-in sandbox in one process (what `herald serve` does and what the integration tests drive).

pub mod app;
pub mod apps;
pub mod audit;
pub mod bench;
pub mod config;
pub mod keys;
pub mod retention;
pub mod users;

pub use app::{RunningApp, start};
pub use config::{KeySetting, Settings};
