//! Replication lag: objects this emulator created stay invisible to reads
//! (and to writes addressed to them) for a configured while, as a Graph
//! replica that has not caught up would answer.

use std::time::Duration;

use tokio::time::Instant;

use super::state::Directory;

/// Whether `id` was created less than `lag` ago.
pub(crate) fn is_younger_than(dir: &Directory, id: &str, lag: Duration, now: Instant) -> bool {
    !lag.is_zero()
        && dir
            .created_at
            .get(id)
            .is_some_and(|created| now.saturating_duration_since(*created) < lag)
}

/// Whether a read (or a write addressed to `id`) can see the object yet.
pub(crate) fn is_visible(dir: &Directory, id: &str, lag: Duration, now: Instant) -> bool {
    !is_younger_than(dir, id, lag, now)
}
