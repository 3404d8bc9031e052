//! Ordering: a dependency graph over the draft operations (petgraph), then a
//! deterministic topological order. Dependencies come from the operations'
//! data, not from the order the diff found them in:
//!
//! * an object is created before anything refers to it (users, guests, groups);
//! * a new Team's owners are added to its group first (Graph needs an
//!   owner to create a Team), then the Team is created, then its members;
//! * attribute updates (`usageLocation`) come before licence changes;
//! * sign-in is blocked before sessions are revoked;
//! * a user is deleted only after every other change to them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::action::{Action, GroupRef, Op, UserRef};
use super::diff::Draft;
use crate::policy::types::TeamRole;

/// A user's key: the object id once it exists; before, the person (Okta id)
/// whose create makes it, so an action is bound to that create.
fn user_key(u: &UserRef) -> String {
    match (&u.id, &u.okta_id) {
        (Some(id), _) => format!("id:{id}"),
        (None, Some(okta_id)) => format!("okta:{okta_id}"),
        (None, None) => format!("upn:{}", u.upn.to_lowercase()),
    }
}

fn group_key(g: &GroupRef) -> String {
    match &g.id {
        Some(id) => format!("id:{id}"),
        None => format!("nick:{}", g.mail_nickname.to_lowercase()),
    }
}

/// The user and group an op touches (by key), and what it creates.
fn keys(op: &Op) -> (Option<String>, Option<String>) {
    match op {
        Op::CreateUser { okta_id, .. } | Op::InviteGuest { okta_id, .. } => {
            (Some(format!("okta:{okta_id}")), None)
        }
        Op::CreateGroup { mail_nickname, .. } => {
            (None, Some(format!("nick:{}", mail_nickname.to_lowercase())))
        }
        Op::UpdateUser { user, .. }
        | Op::EnableUser { user }
        | Op::DisableUser { user }
        | Op::RevokeSessions { user }
        | Op::AssignLicenses { user, .. }
        | Op::DeleteUser { user }
        | Op::RemoveGuest { user }
        | Op::SetManager { user, .. } => (Some(user_key(user)), None),
        Op::AddMember { group, user }
        | Op::RemoveMember { group, user }
        | Op::AddTeamMember { group, user, .. }
        | Op::RemoveTeamMember { group, user, .. } => {
            (Some(user_key(user)), Some(group_key(group)))
        }
        Op::CreateTeam { group } => (None, Some(group_key(group))),
    }
}

/// Execution rank of each kind, used to sort independent actions readably.
fn rank(op: &Op) -> u8 {
    match op {
        Op::CreateGroup { .. } => 0,
        Op::CreateUser { .. } | Op::InviteGuest { .. } => 1,
        Op::UpdateUser { .. } => 2,
        Op::EnableUser { .. } | Op::DisableUser { .. } => 3,
        Op::RevokeSessions { .. } => 4,
        Op::AssignLicenses { .. } => 5,
        Op::CreateTeam { .. } => 6,
        Op::AddMember { .. } | Op::AddTeamMember { .. } => 7,
        Op::RemoveMember { .. } | Op::RemoveTeamMember { .. } => 8,
        Op::SetManager { .. } => 7,
        Op::RemoveGuest { .. } | Op::DeleteUser { .. } => 9,
    }
}

/// A dependency cycle, named by the targets in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

/// Orders drafts into actions with ids and dependencies.
pub fn order(mut drafts: Vec<Draft>) -> Result<Vec<Action>, Cycle> {
    drafts.sort_by(|a, b| (rank(&a.op), &a.target).cmp(&(rank(&b.op), &b.target)));
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..drafts.len()).map(|i| graph.add_node(i)).collect();
    let mut creates_user: BTreeMap<String, usize> = BTreeMap::new();
    let mut creates_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut teams: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        let (user, group) = keys(&d.op);
        match &d.op {
            Op::CreateUser { .. } | Op::InviteGuest { .. } => {
                creates_user.insert(user.clone().expect("creates have a key"), i);
            }
            Op::CreateGroup { .. } => {
                creates_group.insert(group.clone().expect("creates have a key"), i);
            }
            Op::CreateTeam { .. } => {
                teams.insert(group.clone().expect("teams have a group"), i);
            }
            _ => {}
        }
        if let Some(u) = user {
            by_user.entry(u).or_default().push(i);
        }
    }
    let mut edge = |from: usize, to: usize| {
        if from != to {
            graph.update_edge(nodes[from], nodes[to], ());
        }
    };
    for (i, d) in drafts.iter().enumerate() {
        let (user, group) = keys(&d.op);
        if let Some(u) = &user
            && let Some(&c) = creates_user.get(u)
        {
            edge(c, i);
        }
        if let Some(g) = &group
            && let Some(&c) = creates_group.get(g)
        {
            edge(c, i);
        }
        if let Op::SetManager { manager, .. } = &d.op
            && let Some(&c) = creates_user.get(&user_key(manager))
        {
            edge(c, i);
        }
        if let (Op::AddTeamMember { .. } | Op::RemoveTeamMember { .. }, Some(g)) = (&d.op, &group)
            && let Some(&t) = teams.get(g)
        {
            // Graph creates a Team only on a group that has an owner, so
            // owners are added (to the group) first; members come after.
            match &d.op {
                Op::AddTeamMember {
                    role: TeamRole::Owner,
                    ..
                } => edge(i, t),
                _ => edge(t, i),
            }
        }
        if let Some(u) = &user {
            for &j in &by_user[u] {
                let other = &drafts[j].op;
                match (&d.op, other) {
                    (Op::AssignLicenses { .. }, Op::UpdateUser { .. }) => edge(j, i),
                    (Op::RevokeSessions { .. }, Op::DisableUser { .. }) => edge(j, i),
                    (Op::DeleteUser { .. } | Op::RemoveGuest { .. }, o)
                        if !matches!(o, Op::DeleteUser { .. } | Op::RemoveGuest { .. }) =>
                    {
                        edge(j, i)
                    }
                    _ => {}
                }
            }
        }
    }
    let cycles: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    if let Some(cycle) = cycles.first() {
        let mut names: Vec<String> = cycle
            .iter()
            .map(|n| drafts[graph[*n]].target.clone())
            .collect();
        names.sort();
        return Err(Cycle(names));
    }
    // Kahn's algorithm, always taking the smallest ready index: deterministic.
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|n| graph.neighbors_directed(*n, petgraph::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..drafts.len())
        .filter(|i| indegree[*i] == 0)
        .map(Reverse)
        .collect();
    let mut position = vec![usize::MAX; drafts.len()];
    let mut sequence = Vec::with_capacity(drafts.len());
    while let Some(Reverse(i)) = ready.pop() {
        position[i] = sequence.len();
        sequence.push(i);
        for n in graph.neighbors_directed(nodes[i], petgraph::Outgoing) {
            let j = graph[n];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    let mut drafts: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    Ok(sequence
        .iter()
        .enumerate()
        .map(|(id, &i)| {
            let mut depends_on: Vec<usize> = graph
                .neighbors_directed(nodes[i], petgraph::Incoming)
                .map(|n| position[graph[n]])
                .collect();
            depends_on.sort_unstable();
            let d = drafts[i].take().expect("each draft once");
            Action {
                id,
                kind: d.op.kind(),
                target: d.target,
                changes: d.changes,
                reasons: d.reasons,
                depends_on,
                op: d.op,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::action::LicenseAdd;
    use crate::policy::types::{GroupKind, TeamRole};

    fn draft(op: Op, target: &str) -> Draft {
        Draft {
            op,
            target: target.into(),
            changes: Vec::new(),
            reasons: Vec::new(),
        }
    }

    /// A user the plan creates, bound to the Okta user `00u1`.
    fn new_user(upn: &str) -> UserRef {
        UserRef {
            id: None,
            upn: upn.into(),
            okta_id: Some("00u1".into()),
        }
    }

    #[test]
    fn creates_come_before_what_refers_to_them() {
        let group = GroupRef {
            id: None,
            mail_nickname: "eng-mobile".into(),
        };
        let drafts = vec![
            draft(
                Op::AddTeamMember {
                    group: group.clone(),
                    user: new_user("a@x"),
                    role: TeamRole::Member,
                },
                "team eng-mobile member a@x",
            ),
            draft(
                Op::CreateTeam {
                    group: group.clone(),
                },
                "team eng-mobile",
            ),
            draft(
                Op::AssignLicenses {
                    user: new_user("a@x"),
                    add: vec![LicenseAdd {
                        sku_id: "s".into(),
                        sku: "SPE_E3".into(),
                        disabled_plans: vec![],
                        disabled_plan_names: vec![],
                    }],
                    remove: vec![],
                },
                "user a@x",
            ),
            draft(
                Op::CreateUser {
                    upn: "a@x".into(),
                    okta_id: "00u1".into(),
                    account_enabled: true,
                    properties: BTreeMap::new(),
                },
                "user a@x",
            ),
            draft(
                Op::CreateGroup {
                    mail_nickname: "eng-mobile".into(),
                    display_name: "M".into(),
                    description: None,
                    kind: GroupKind::Unified,
                },
                "group eng-mobile",
            ),
        ];
        let actions = order(drafts).unwrap();
        let pos =
            |k: crate::plan::action::ActionKind| actions.iter().position(|a| a.kind == k).unwrap();
        use crate::plan::action::ActionKind::*;
        assert!(pos(CreateGroup) < pos(CreateTeam));
        assert!(pos(CreateTeam) < pos(AddTeamMember));
        assert!(pos(CreateUser) < pos(AssignLicenses));
        assert!(pos(CreateUser) < pos(AddTeamMember));
        let member = &actions[pos(AddTeamMember)];
        assert_eq!(member.depends_on.len(), 3, "{member:?}"); // user, group, team
    }

    #[test]
    fn delete_comes_last_for_its_user() {
        let u = UserRef {
            id: Some("1".into()),
            upn: "gone@x".into(),
            okta_id: None,
        };
        let drafts = vec![
            draft(Op::DeleteUser { user: u.clone() }, "user gone@x"),
            draft(
                Op::RemoveMember {
                    group: GroupRef {
                        id: Some("g".into()),
                        mail_nickname: "g".into(),
                    },
                    user: u.clone(),
                },
                "group g member gone@x",
            ),
            draft(Op::RevokeSessions { user: u.clone() }, "user gone@x"),
            draft(Op::DisableUser { user: u.clone() }, "user gone@x"),
        ];
        let actions = order(drafts).unwrap();
        assert_eq!(
            actions.last().unwrap().kind,
            crate::plan::action::ActionKind::DeleteUser
        );
        assert_eq!(actions.last().unwrap().depends_on.len(), 3);
        let disable = actions
            .iter()
            .position(|a| a.kind == crate::plan::action::ActionKind::DisableUser)
            .unwrap();
        let revoke = actions
            .iter()
            .position(|a| a.kind == crate::plan::action::ActionKind::RevokeSessions)
            .unwrap();
        assert!(disable < revoke);
    }

    #[test]
    fn a_new_teams_owners_come_before_the_team_and_members_after() {
        let group = GroupRef {
            id: Some("g1".into()),
            mail_nickname: "eng".into(),
        };
        let add = |upn: &str, role| {
            draft(
                Op::AddTeamMember {
                    group: group.clone(),
                    user: UserRef {
                        id: Some(upn.into()),
                        upn: upn.into(),
                        okta_id: None,
                    },
                    role,
                },
                upn,
            )
        };
        let drafts = vec![
            add("member@x", TeamRole::Member),
            draft(
                Op::CreateTeam {
                    group: group.clone(),
                },
                "team eng",
            ),
            add("owner@x", TeamRole::Owner),
        ];
        let actions = order(drafts).unwrap();
        let at = |t: &str| actions.iter().position(|a| a.target == t).unwrap();
        assert!(at("owner@x") < at("team eng"));
        assert!(at("team eng") < at("member@x"));
        let team = &actions[at("team eng")];
        assert_eq!(team.depends_on, vec![actions[at("owner@x")].id]);
    }
}
