//! `okta365 serve`: event mode as a service. Okta event hooks and System
//! Log polling feed one durable journal; a worker acts on what is
//! journaled (lockdowns within the breaker, the conditional-access relay,
//! debounced full plans); `/healthz`, `/readyz` and `/metrics` report on it.

pub mod alert;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod poller;
pub mod reconcile;
pub mod service;
pub mod tls;
pub mod worker;
