//! Integration tests: the `okta365` binary on copies of the bundled example.

mod common;
mod crash;

mod arrays;
mod ci_workflows;
mod conformance;
mod emulate_graph;
mod emulate_okta;
mod explain;
mod fuzz;
mod generate;
mod governance;
mod graph_live;
mod guards;
mod install;
mod okta_dpop;
mod okta_live;
mod output;
mod plan_apply;
mod policy_tests;
mod purity;
mod report;
mod report_html;
mod safety;
mod scenarios;
mod schema;
mod serve;
mod sinks;
mod snapshot_save;
mod snapshots;
mod target;
mod typos;
mod validate;
mod watch;
