//! okta365 keeps Office 365 (Microsoft Entra ID / Microsoft 365) in line with
//! Okta, declared as YAML policies.
//!
//! The pipeline, one module a stage:
//!
//! ```text
//! policy ──compile──▶ desired state ──plan (diff vs live)──▶ plan ──apply──▶ Office 365
//! ```
//!
//! * Pure core, no network and no clock (time is an input): [`policy`],
//!   [`model`], [`compile`], [`plan`], [`render`], and the synthetic tenant
//!   [`generate`] for benchmarks, and the policy test runner [`testing`].
//! * I/O edge: [`providers`] (snapshots, Okta, Graph), [`apply`] (executor,
//!   audit trail), [`sinks`] (audit and alert sinks), [`cli`].

pub mod apply;
pub mod cli;
pub mod compile;
pub mod config;
pub mod events;
pub mod generate;
pub mod model;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod providers;
pub mod render;
pub mod report;
pub mod secret;
pub mod serve;
pub mod sinks;
pub mod testing;
