//! Shared helpers for the workspace-level integration tests (see `tests/`) and the firmware size
//! report.

pub mod firmware;
pub mod size;
