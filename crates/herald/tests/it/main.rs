//! Herald's integration tests: real HTTP between Herald and the sandbox, on SQLite and PostgreSQL.

mod api_docs;
mod bad_input;
mod bench;
mod binding;
mod catch_up;
mod cli;
mod crash;
mod e2e;
mod engagement;
mod exactly_once;
mod facebook;
mod fault_harness;
mod fleet;
mod form;
mod harness;
mod http;
mod isolation;
mod leases;
mod lifecycle;
mod platform_names;
mod sandbox_mode;
mod secrets;
mod sessions;
mod signin;
mod specs;
mod tokens;
