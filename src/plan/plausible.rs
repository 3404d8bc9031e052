//! Reads checked for plausibility, not just success. A read that succeeded
//! can still be short (one page answered `[]`, a member list cut off); a
//! plan made from it would turn the missing people into removals or the
//! missing accounts into creates. Two checks, both pure:
//!
//! * [`empty_reads`]: no Okta users while the policies select users, or no
//!   Office 365 users at all (every tenant has at least its admin), is an error;
//! * [`short_read`]: counts that fell, since the previous read, by more than
//!   a share (and at least a number) are refused, and so is a member list
//!   that came back empty for a group that had members.
//!
//! The edge keeps the previous read's [`ReadCounts`] and decides when a drop
//! is accepted (`--accept-read-drop`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::action::Op;
use crate::model::state::{LiveState, SourceState};
use crate::policy::Diagnostic;

/// Errors for reads that came back empty where people are expected.
pub fn empty_reads(
    okta_users: usize,
    policies_select_users: bool,
    m365_users: usize,
    wanted_accounts: usize,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if okta_users == 0 && policies_select_users {
        out.push(
            Diagnostic::error(
                None,
                "Okta returned no users while the policies select users: a failed or partial read cannot be planned from (fail closed)",
            )
            .with_hint("check the Okta connection (the token's admin role can read users) or the snapshot's okta/users.json"),
        );
    }
    if m365_users == 0 && wanted_accounts > 0 {
        out.push(
            Diagnostic::error(
                None,
                format!(
                    "Office 365 returned no users, yet every tenant has at least its admin account: refusing to plan {wanted_accounts} account(s) as new (fail closed)"
                ),
            )
            .with_hint("check the Graph connection (the app's `User.Read.All` permission) or the snapshot's m365/users.json"),
        );
    }
    out
}

/// How much a read returned: users, groups and members per group, per side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCounts {
    /// Okta users (every status).
    pub okta_users: usize,
    /// Okta groups.
    pub okta_groups: usize,
    /// Members of each Okta group read, by group id.
    pub okta_members: BTreeMap<String, usize>,
    /// Office 365 users.
    pub m365_users: usize,
    /// Office 365 groups.
    pub m365_groups: usize,
    /// Members of each Office 365 group read, by group id.
    pub m365_members: BTreeMap<String, usize>,
}

impl ReadCounts {
    /// The counts of two states as read.
    pub fn of(source: &SourceState, live: &LiveState) -> Self {
        Self {
            okta_users: source.users.len(),
            okta_groups: source.groups.len(),
            okta_members: source
                .members
                .iter()
                .map(|(g, m)| (g.to_string(), m.len()))
                .collect(),
            m365_users: live.users.len(),
            m365_groups: live.groups.len(),
            m365_members: live
                .members
                .iter()
                .map(|(g, m)| (g.to_string(), m.len()))
                .collect(),
        }
    }
}

impl ReadCounts {
    /// The Office 365 counts expected after these operations were carried
    /// out (okta365's own changes are not a short read): users created and
    /// removed, groups created, members added to and removed from groups
    /// read before, and the memberships of deleted users (`groups_of`: the
    /// groups each deleted user was in, as read). Members of groups created
    /// by the ops are not counted (their lists are new at the next read).
    pub fn after<'a>(
        &self,
        done: impl IntoIterator<Item = &'a Op>,
        groups_of: &BTreeMap<String, Vec<String>>,
    ) -> Self {
        let mut next = self.clone();
        let mut changed: std::collections::BTreeSet<(String, String)> = Default::default();
        let mut member = |next: &mut Self, group: &str, user: &str, delta: isize| {
            if !changed.insert((group.to_owned(), user.to_owned())) {
                return; // counted already (removed, then deleted)
            }
            if let Some(n) = next.m365_members.get_mut(group) {
                *n = n.saturating_add_signed(delta);
            }
        };
        let id = |u: &super::action::UserRef| u.id.as_ref().map(|i| i.as_str().to_owned());
        for op in done {
            match op {
                Op::CreateUser { .. } | Op::InviteGuest { .. } => next.m365_users += 1,
                Op::DeleteUser { user } | Op::RemoveGuest { user } => {
                    next.m365_users = next.m365_users.saturating_sub(1);
                    let user = id(user).unwrap_or_default();
                    for group in groups_of.get(&user).into_iter().flatten() {
                        member(&mut next, group, &user, -1);
                    }
                }
                Op::CreateGroup { .. } => next.m365_groups += 1,
                Op::AddMember { group, user } | Op::AddTeamMember { group, user, .. } => {
                    if let (Some(g), Some(u)) = (&group.id, id(user)) {
                        member(&mut next, g.as_str(), &u, 1);
                    }
                }
                Op::RemoveMember { group, user } | Op::RemoveTeamMember { group, user, .. } => {
                    if let (Some(g), Some(u)) = (&group.id, id(user)) {
                        member(&mut next, g.as_str(), &u, -1);
                    }
                }
                _ => {}
            }
        }
        next
    }

    /// The groups (as read) each of `users` is a member of, for [`Self::after`].
    pub fn groups_of(live: &LiveState, users: &[&str]) -> BTreeMap<String, Vec<String>> {
        let wanted: std::collections::BTreeSet<&str> = users.iter().copied().collect();
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if wanted.is_empty() {
            return out;
        }
        for (group, members) in &live.members {
            for m in members {
                if wanted.contains(m.as_str()) {
                    out.entry(m.to_string())
                        .or_default()
                        .push(group.to_string());
                }
            }
        }
        out
    }
}

/// How far counts may fall between two reads before a read is refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropLimit {
    /// Refuse a fall of more than this percentage…
    pub max_percent: f64,
    /// …when it is also at least this many.
    pub min: usize,
}

/// Errors for counts that fell too far since `previous` (read at `when`),
/// and for member lists that came back empty. `names` gives a group's name
/// by id, for the messages.
pub fn short_read(
    previous: &ReadCounts,
    current: &ReadCounts,
    limit: DropLimit,
    when: &str,
    names: &dyn Fn(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut fell = |what: &str, before: usize, now: usize| {
        let drop = before.saturating_sub(now);
        let share = if before == 0 {
            0.0
        } else {
            drop as f64 * 100.0 / before as f64
        };
        if drop > 0 && drop >= limit.min && share > limit.max_percent {
            out.push(short(format!(
                "{what}: {now}, {drop} fewer ({share:.0} %) than the previous read ({before}, {when}): likely a short read, refusing to plan from it"
            )));
        }
    };
    fell("Okta users", previous.okta_users, current.okta_users);
    fell("Okta groups", previous.okta_groups, current.okta_groups);
    fell(
        "Okta group members",
        common_total(&previous.okta_members, &current.okta_members),
        common_total(&current.okta_members, &previous.okta_members),
    );
    fell("Office 365 users", previous.m365_users, current.m365_users);
    fell(
        "Office 365 groups",
        previous.m365_groups,
        current.m365_groups,
    );
    fell(
        "Office 365 group members",
        common_total(&previous.m365_members, &current.m365_members),
        common_total(&current.m365_members, &previous.m365_members),
    );
    for (side, before, now) in [
        ("Okta", &previous.okta_members, &current.okta_members),
        ("Office 365", &previous.m365_members, &current.m365_members),
    ] {
        for (group, &had) in before {
            if had > 0 && now.get(group) == Some(&0) {
                let name = names(group).unwrap_or_else(|| group.clone());
                out.push(short(format!(
                    "the member list of {side} group `{name}` came back empty; it had {had} member(s) at the previous read ({when}): likely a short read, refusing to plan its removals"
                )));
            }
        }
    }
    out
}

/// The members counted in `these` of the groups that `other` has too (the
/// groups read both times).
fn common_total(these: &BTreeMap<String, usize>, other: &BTreeMap<String, usize>) -> usize {
    these
        .iter()
        .filter(|(g, _)| other.contains_key(*g))
        .map(|(_, n)| n)
        .sum()
}

fn short(message: String) -> Diagnostic {
    Diagnostic::error(None, message).with_hint(
        "check the connection and read again; if the drop is real (people or groups were deleted), run again with `--accept-read-drop` (recorded in the plan and the audit trail)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: DropLimit = DropLimit {
        max_percent: 2.0,
        min: 10,
    };

    fn counts(users: usize, members: &[(&str, usize)]) -> ReadCounts {
        ReadCounts {
            okta_users: users,
            okta_groups: 40,
            okta_members: members.iter().map(|(g, n)| ((*g).to_owned(), *n)).collect(),
            m365_users: users,
            m365_groups: 40,
            m365_members: BTreeMap::new(),
        }
    }

    fn check(before: &ReadCounts, now: &ReadCounts) -> Vec<String> {
        short_read(before, now, LIMIT, "at T", &|g| Some(format!("name-{g}")))
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_missing_page_of_users_is_refused_a_few_leavers_are_not() {
        let before = counts(5_000, &[("g1", 158)]);
        // One page of 200 users answered `[]`.
        let mut now = counts(4_800, &[("g1", 158)]);
        now.m365_users = 5_000;
        let errors = check(&before, &now);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "Okta users: 4800, 200 fewer (4 %) than the previous read (5000, at T)"
            ),
            "{errors:?}"
        );
        // Five people deleted in Okta: under the minimum.
        let mut now = counts(4_995, &[("g1", 158)]);
        now.m365_users = 5_000;
        assert!(check(&before, &now).is_empty());
        // Growth is never a short read.
        assert!(check(&before, &counts(6_000, &[("g1", 300)])).is_empty());
    }

    #[test]
    fn an_empty_member_list_of_a_group_that_had_members_is_refused() {
        let before = counts(100, &[("g1", 158), ("g2", 3)]);
        let now = counts(100, &[("g1", 0), ("g2", 3)]);
        let errors = check(&before, &now);
        assert!(
            errors.iter().any(|e| e.starts_with(
                "the member list of Okta group `name-g1` came back empty; it had 158"
            )),
            "{errors:?}"
        );
        // A group read for the first time, or no longer read, is not compared.
        let now = counts(100, &[("g2", 3), ("g3", 0)]);
        assert!(check(&before, &now).is_empty());
    }

    #[test]
    fn okta365s_own_removals_are_counted_in_before_the_next_read() {
        use crate::plan::action::{GroupRef, UserRef};
        let mut before = counts(10, &[]);
        before.m365_members.insert("g1".into(), 1);
        let group = GroupRef {
            id: Some("g1".into()),
            mail_nickname: "partners".into(),
        };
        let user = UserRef {
            id: Some("u1".into()),
            upn: "u@x".into(),
            okta_id: None,
        };
        let removed = Op::RemoveMember { group, user };
        let after = before.after([&removed], &BTreeMap::new());
        assert_eq!(after.m365_members["g1"], 0);
        let mut now = counts(10, &[]);
        now.m365_members.insert("g1".into(), 0);
        assert!(check(&after, &now).is_empty());
        assert_eq!(check(&before, &now).len(), 1);
    }

    #[test]
    fn empty_reads_are_errors_where_people_are_expected() {
        assert_eq!(empty_reads(0, true, 10, 5).len(), 1);
        assert!(
            empty_reads(0, false, 10, 0).is_empty(),
            "no rule selects anyone"
        );
        let both = empty_reads(0, true, 0, 2_000);
        assert_eq!(both.len(), 2);
        assert!(
            both[1]
                .message
                .contains("refusing to plan 2000 account(s) as new")
        );
    }
}
