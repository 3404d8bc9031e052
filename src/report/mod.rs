//! Reports derived from the two states and the policies, for people rather
//! than for `apply`. Pure, like the planner: data in, data out.

pub mod cost;
pub mod licenses;
