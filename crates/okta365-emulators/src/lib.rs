//! Loopback emulators of the Okta Management API and Microsoft Graph, for
//! okta365's tests, benchmarks and offline rehearsal. They behave like the
//! vendors' APIs (shapes, paging, errors, throttling, replication lag), not
//! like okta365 expects, and only ever listen on loopback.

pub mod graph;
pub mod okta;
pub mod routes;
