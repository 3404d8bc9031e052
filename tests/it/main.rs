//! Integration tests: the `okta365` binary on copies of the bundled example.

mod common;
mod crash;

mod emulate_graph;
mod emulate_okta;
mod explain;
mod fuzz;
mod generate;
mod graph_live;
mod guards;
mod okta_dpop;
mod okta_live;
mod output;
mod plan_apply;
mod purity;
mod report;
mod safety;
mod scenarios;
mod schema;
mod snapshots;
mod target;
mod validate;
mod watch;
