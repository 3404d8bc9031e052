//! Why a desired value or a plan action exists: the policy item (file, line,
//! rule) that asked for it. Shared by the compiler, which attaches reasons to
//! every desired value, and the planner, which carries them onto actions.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Why an action is in the plan: the policy item that asked for it.
///
/// Shared (one pointer to copy): a large tenant's desired state holds
/// millions of reasons, copies of a few dozen distinct ones. It reads as a
/// [`ReasonData`] and serialises as one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reason(Arc<ReasonData>);

/// What a [`Reason`] says.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReasonData {
    /// Policy file.
    pub file: Arc<str>,
    /// Line in that file.
    pub line: u32,
    /// Rule, mirror or guest rule name (or a built-in reason such as `offboarding`).
    pub rule: Arc<str>,
}

impl Reason {
    /// The reason of `rule` at `file:line`.
    pub fn new(file: impl Into<Arc<str>>, line: u32, rule: impl Into<Arc<str>>) -> Self {
        Self(Arc::new(ReasonData {
            file: file.into(),
            line,
            rule: rule.into(),
        }))
    }

    /// The same place with another rule text.
    pub fn with_rule(&self, rule: impl Into<Arc<str>>) -> Self {
        Self::new(Arc::clone(&self.file), self.line, rule)
    }
}

impl std::ops::Deref for Reason {
    type Target = ReasonData;

    fn deref(&self) -> &ReasonData {
        &self.0
    }
}
