//! Apply: the executor walks the plan's dependency graph in waves, hands each
//! wave to a [`Backend`], stops only the dependents of what failed, re-checks
//! the target of every destructive op just before it is sent, and writes the
//! audit trail ahead of the requests (an intent, then an outcome, per action).
//!
//! The executor chooses nothing: every decision is in the plan.

pub mod audit;
pub mod backend;
pub mod executor;
pub mod graph;
pub mod guard;
pub mod snapshot;

pub use audit::{AuditRecord, AuditSink, JsonlAudit, MemoryAudit, Phase, SentRequest};
pub use backend::{ApplyError, Backend, Outcome};
pub use executor::{ActionResult, Report, execute};
pub use graph::GraphBackend;
pub use guard::{LiveTarget, TargetGuard};
pub use snapshot::SnapshotBackend;
