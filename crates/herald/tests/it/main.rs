//! Herald's integration tests: real HTTP between Herald and the sandbox, on SQLite and PostgreSQL.

mod bad_input;
mod e2e;
mod form;
mod harness;
mod isolation;
mod secrets;
