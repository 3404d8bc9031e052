//! The target the executor writes to: a snapshot folder, or Microsoft Graph.

use std::future::Future;

use super::audit::SentRequest;
use super::guard::LiveTarget;
use crate::model::ObjectId;
use crate::plan::action::Op;

/// What a successful operation produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; nothing new to remember.
    Done,
    /// Created an object with this id (users, guests, groups).
    Created(ObjectId),
}

/// Why an operation failed. The message names the object and says what to
/// do; it never contains a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApplyError {
    /// What failed and what to do.
    pub message: String,
}

impl ApplyError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Carries out operations. Every reference in an op handed to a backend is
/// resolved: the executor fills in the ids of objects created earlier in the
/// run, so `UserRef::id` and `GroupRef::id` are `Some` for every object that
/// exists.
pub trait Backend {
    /// Runs a wave of independent operations (none depends on another) and
    /// returns one result per op, in the same order. A backend may batch them
    /// (Graph `$batch`, 20 members per PATCH) or run them one by one.
    fn execute(
        &mut self,
        ops: &[Op],
    ) -> impl Future<Output = Vec<Result<Outcome, ApplyError>>> + Send;

    /// Called once after the last wave (a snapshot writes its files here).
    fn finish(&mut self) -> impl Future<Output = Result<(), ApplyError>> + Send;

    /// Reads these users as they are now, for the check before a
    /// destructive request: one answer per id, `None` when it does not exist.
    fn look_up(
        &mut self,
        users: &[ObjectId],
    ) -> impl Future<Output = Vec<Result<Option<LiveTarget>, ApplyError>>> + Send;

    /// The write requests sent for each op of the last [`Backend::execute`]
    /// (one list per op, in order; empty lists when the backend sends none).
    fn take_sent(&mut self) -> Vec<Vec<SentRequest>> {
        Vec::new()
    }
}
