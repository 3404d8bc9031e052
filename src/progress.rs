//! Progress of long reads and applies, reported as `tracing` events on the
//! [`TARGET`] target. The readers and the executor call these; the CLI turns
//! the events into progress bars on a terminal (and ignores them elsewhere),
//! so nothing here knows about terminals.

/// The target the events are logged on.
pub const TARGET: &str = "okta365::progress";

/// `done` of `total` (`None` while the total is unknown) for `task`.
pub fn set(task: &'static str, done: usize, total: Option<usize>) {
    tracing::trace!(
        target: TARGET,
        task,
        done = done as u64,
        total = total.unwrap_or(0) as u64
    );
}

/// `n` more done for `task`.
pub fn add(task: &'static str, n: usize) {
    tracing::trace!(target: TARGET, task, add = n as u64);
}
