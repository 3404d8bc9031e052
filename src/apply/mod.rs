//! Apply: the executor walks the plan's dependency graph in waves, hands each
//! wave to a [`Backend`], stops only the dependents of what failed, and writes
//! one audit record per action.
//!
//! The executor chooses nothing: every decision is in the plan.

pub mod audit;
pub mod backend;
pub mod executor;
pub mod graph;
pub mod snapshot;

pub use audit::{AuditRecord, AuditSink, JsonlAudit, MemoryAudit};
pub use backend::{ApplyError, Backend, Outcome};
pub use executor::{ActionResult, Report, execute};
pub use graph::GraphBackend;
pub use snapshot::SnapshotBackend;
