//! The I/O edge that reads the two sides: snapshots on disk, or the live Okta
//! and Microsoft Graph APIs. Each side is read through a trait so the planner
//! never knows which it got.
//!
//! Fail closed: a reader returns the whole state or an error, never a part.

pub mod events;
pub mod graph;
pub mod okta;
pub mod scope;
pub mod snapshot;

use std::future::Future;

use crate::model::state::{LiveState, SourceScope, SourceState};

/// Why a side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A snapshot file is missing or unreadable.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A snapshot file is not valid JSON of the expected shape.
    #[error("{path}:{line}:{column}: error: {message}")]
    Json {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A live API read failed; the message says what to do.
    #[error("{0}")]
    Api(String),
}

/// Reads the Okta side.
pub trait OktaReader {
    /// Reads users of every status, groups, and the members of the groups in `scope`.
    fn read(
        &self,
        scope: &SourceScope,
    ) -> impl Future<Output = Result<SourceState, ReadError>> + Send;
}

/// Reads the Office 365 side.
pub trait M365Reader {
    /// Reads users, groups, memberships of the groups in `scope`, and subscribed SKUs.
    fn read(&self, scope: &LiveScope) -> impl Future<Output = Result<LiveState, ReadError>> + Send;
}

/// What of Office 365 a plan needs: live readers read only this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveScope {
    /// Mail nicknames, display names or object ids of the groups whose
    /// members and owners to read (matched case-insensitively).
    pub groups: std::collections::BTreeSet<String>,
    /// User properties the policies map (Graph names), beyond those every
    /// plan reads.
    pub user_properties: std::collections::BTreeSet<String>,
    /// Whether the policies map managers (read each user's manager id).
    pub managers: bool,
    /// Accounts being offboarded, whose groups, ownerships and manager are
    /// read one by one; `None` when nothing is offboarded from groups.
    pub offboard: Option<Offboard>,
}

/// Which accounts are being offboarded: those whose ownership marker names
/// an Okta user who left, or one Okta no longer has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offboard {
    /// The ownership marker.
    pub marker: crate::plan::Marker,
    /// Okta ids of leavers.
    pub leavers: std::collections::BTreeSet<String>,
    /// Every Okta user id read.
    pub okta_ids: std::collections::BTreeSet<String>,
}

impl Offboard {
    /// Whether `user` is a managed account being offboarded.
    pub fn is_leaving(&self, user: &crate::model::graph::User) -> bool {
        self.marker.get_str(user).is_some_and(|id| {
            self.leavers.contains(id) || (!self.okta_ids.is_empty() && !self.okta_ids.contains(id))
        })
    }
}

impl LiveScope {
    /// Whether the members of `group` are needed.
    pub fn wants(&self, group: &crate::model::graph::Group) -> bool {
        let has = |s: &str| {
            self.groups.contains(s) || self.groups.iter().any(|g| g.eq_ignore_ascii_case(s))
        };
        has(group.id.as_str())
            || has(&group.display_name)
            || group.mail_nickname.as_deref().is_some_and(has)
    }
}
