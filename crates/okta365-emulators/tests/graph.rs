//! Drives the Graph emulator over real HTTP (reqwest, loopback only) and
//! checks it answers the way Microsoft Graph does.

#[path = "graph/support.rs"]
mod support;

// Token endpoint, bearer checks and permissions.
#[path = "graph/auth.rs"]
mod auth;
// Paging, $select, $filter, members, SKUs, snapshots, counts.
#[path = "graph/reads.rs"]
mod reads;
// Users, membership rules, licences, guests, sessions, managers.
#[path = "graph/writes.rs"]
mod writes;
// Teams creation and members.
#[path = "graph/teams.rs"]
mod teams;
// $batch and delta.
#[path = "graph/batch_delta.rs"]
mod batch_delta;
// Throttling, replication lag and faults.
#[path = "graph/resilience.rs"]
mod resilience;
// Identity Protection's risky users.
#[path = "graph/risky.rs"]
mod risky;
