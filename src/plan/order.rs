//! Ordering: a dependency graph over the draft operations (petgraph), then a
//! deterministic topological order. Dependencies come from the operations'
//! data, not from the order the diff found them in:
//!
//! * an object is created before anything refers to it (users, guests, groups);
//! * a new Team's owners are added to its group first (Graph needs an
//!   owner to create a Team), then the Team is created, then its members;
//! * attribute updates (`usageLocation`) come before licence changes;
//! * sign-in is blocked before sessions are revoked;
//! * a group's new owners are added before its old owners are removed;
//! * where seats are short, a SKU's removals come before its assignments;
//! * a user is deleted only after every other change to them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::action::{Action, GroupRef, Op, UserRef};
use super::diff::Draft;
use crate::model::SkuId;
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
        | Op::ClearManager { user }
        | Op::SetManager { user, .. } => (Some(user_key(user)), None),
        Op::AddMember { group, user }
        | Op::RemoveMember { group, user }
        | Op::AddOwner { group, user }
        | Op::RemoveOwner { group, user }
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
        Op::AddMember { .. } | Op::AddTeamMember { .. } | Op::AddOwner { .. } => 7,
        Op::RemoveMember { .. } | Op::RemoveTeamMember { .. } | Op::RemoveOwner { .. } => 8,
        Op::SetManager { .. } | Op::ClearManager { .. } => 7,
        Op::RemoveGuest { .. } | Op::DeleteUser { .. } => 9,
    }
}

/// Frees seats before using them: for each seat-limited SKU, the actions
/// that remove it come before the actions that assign it. An edge that
/// would close a cycle (two swaps in opposite directions) is left out.
fn seat_edges(
    graph: &mut DiGraph<usize, ()>,
    nodes: &[NodeIndex],
    drafts: &[Draft],
    seat_limited: &BTreeSet<SkuId>,
) {
    if seat_limited.is_empty() {
        return;
    }
    let mut frees: BTreeMap<&SkuId, Vec<usize>> = BTreeMap::new();
    let mut uses: BTreeMap<&SkuId, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        if let Op::AssignLicenses { add, remove, .. } = &d.op {
            for r in remove.iter().filter(|r| seat_limited.contains(&r.sku_id)) {
                frees.entry(&r.sku_id).or_default().push(i);
            }
            for a in add.iter().filter(|a| seat_limited.contains(&a.sku_id)) {
                uses.entry(&a.sku_id).or_default().push(i);
            }
        }
    }
    // Actions that both free and use limited seats could form a cycle.
    let swaps: BTreeSet<usize> = frees
        .values()
        .flatten()
        .filter(|i| uses.values().flatten().any(|j| j == *i))
        .copied()
        .collect();
    for (sku, freeing) in &frees {
        for &user in uses.get(sku).into_iter().flatten() {
            for &free in freeing {
                if free == user {
                    continue;
                }
                let risky = swaps.contains(&free) && swaps.contains(&user);
                if risky
                    && petgraph::algo::has_path_connecting(&*graph, nodes[user], nodes[free], None)
                {
                    continue;
                }
                graph.update_edge(nodes[free], nodes[user], ());
            }
        }
    }
}

/// Whether the op makes someone an owner of a group.
fn is_owner_add(op: &Op) -> bool {
    matches!(
        op,
        Op::AddOwner { .. }
            | Op::AddTeamMember {
                role: TeamRole::Owner,
                ..
            }
    )
}

/// Whether the op takes an ownership away.
fn is_owner_removal(op: &Op) -> bool {
    matches!(
        op,
        Op::RemoveOwner { .. }
            | Op::RemoveTeamMember {
                role: TeamRole::Owner,
                ..
            }
    )
}

/// A dependency cycle, named by the targets in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

/// Orders drafts into actions with ids and dependencies. `seat_limited`
/// names the SKUs (by id) whose free seats before the plan do not cover the
/// seats it assigns: there, every removal of the SKU comes before every
/// assignment of it, so apply frees seats before it uses them.
pub fn order(mut drafts: Vec<Draft>, seat_limited: &BTreeSet<SkuId>) -> Result<Vec<Action>, Cycle> {
    drafts.sort_by(|a, b| (rank(&a.op), &a.target).cmp(&(rank(&b.op), &b.target)));
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..drafts.len()).map(|i| graph.add_node(i)).collect();
    let mut creates_user: BTreeMap<String, usize> = BTreeMap::new();
    let mut creates_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut teams: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut owner_adds: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        let (user, group) = keys(&d.op);
        if is_owner_add(&d.op)
            && let Some(g) = &group
        {
            owner_adds.entry(g.clone()).or_default().push(i);
        }
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
        if let (
            Op::AddTeamMember { .. } | Op::RemoveTeamMember { .. } | Op::AddOwner { .. },
            Some(g),
        ) = (&d.op, &group)
            && let Some(&t) = teams.get(g)
        {
            // Graph creates a Team only on a group that has an owner, so
            // owners are added (to the group) first; members come after.
            if is_owner_add(&d.op) {
                edge(i, t);
            } else {
                edge(t, i);
            }
        }
        // A group never goes without an owner: new owners first, then the
        // removals of the old ones (a hand-over).
        if is_owner_removal(&d.op)
            && let Some(g) = &group
        {
            for &j in owner_adds.get(g).into_iter().flatten() {
                edge(j, i);
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
    seat_edges(&mut graph, &nodes, &drafts, seat_limited);
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
                    visibility: None,
                },
                "group eng-mobile",
            ),
        ];
        let actions = order(drafts, &BTreeSet::new()).unwrap();
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
        let actions = order(drafts, &BTreeSet::new()).unwrap();
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
        let actions = order(drafts, &BTreeSet::new()).unwrap();
        let at = |t: &str| actions.iter().position(|a| a.target == t).unwrap();
        assert!(at("owner@x") < at("team eng"));
        assert!(at("team eng") < at("member@x"));
        let team = &actions[at("team eng")];
        assert_eq!(team.depends_on, vec![actions[at("owner@x")].id]);
    }

    fn licences(upn: &str, add: &[&str], remove: &[&str]) -> Draft {
        let user = UserRef {
            id: Some(crate::model::ObjectId::from(format!("id-{upn}"))),
            upn: upn.into(),
            okta_id: None,
        };
        draft(
            Op::AssignLicenses {
                user,
                add: add
                    .iter()
                    .map(|s| LicenseAdd {
                        sku_id: (*s).into(),
                        sku: (*s).into(),
                        disabled_plans: vec![],
                        disabled_plan_names: vec![],
                    })
                    .collect(),
                remove: remove
                    .iter()
                    .map(|s| crate::plan::action::LicenseRemove {
                        sku_id: (*s).into(),
                        sku: (*s).into(),
                    })
                    .collect(),
            },
            &format!("user {upn}"),
        )
    }

    /// Issue 13: with seats short, a joiner's licence waits for the
    /// leaver's reclaim of the same SKU; with seats to spare, it does not.
    #[test]
    fn short_seats_are_freed_before_they_are_assigned() {
        let drafts = || {
            vec![
                licences("a-joiner@x", &["E3"], &[]),
                licences("z-leaver@x", &[], &["E3"]),
                licences("m-mover@x", &["E5"], &["E3"]),
            ]
        };
        let limited: BTreeSet<SkuId> = [SkuId::from("E3")].into();
        let actions = order(drafts(), &limited).unwrap();
        let id = |upn: &str| {
            actions
                .iter()
                .find(|a| a.target == format!("user {upn}"))
                .unwrap()
                .id
        };
        let joiner = actions.iter().find(|a| a.id == id("a-joiner@x")).unwrap();
        let mut deps = joiner.depends_on.clone();
        deps.sort();
        let mut want = vec![id("z-leaver@x"), id("m-mover@x")];
        want.sort();
        assert_eq!(deps, want, "both frees of E3 come first");
        let free = order(drafts(), &BTreeSet::new()).unwrap();
        assert!(
            free.iter().all(|a| a.depends_on.is_empty()),
            "no seat edges when seats suffice"
        );
    }

    /// Two swaps in opposite directions with both SKUs short would need
    /// each other first: the order leaves one edge out instead of failing.
    #[test]
    fn opposite_swaps_do_not_make_a_cycle() {
        let drafts = vec![
            licences("a@x", &["E5"], &["E3"]),
            licences("b@x", &["E3"], &["E5"]),
        ];
        let limited: BTreeSet<SkuId> = [SkuId::from("E3"), SkuId::from("E5")].into();
        let actions = order(drafts, &limited).expect("no cycle");
        let edges: usize = actions.iter().map(|a| a.depends_on.len()).sum();
        assert_eq!(edges, 1);
    }
}
