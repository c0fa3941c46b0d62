//! Shared helpers for the workspace-level integration tests (see `tests/`).

pub mod firmware;
