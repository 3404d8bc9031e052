//! Diff: desired state vs live Office 365 → draft operations (unordered).
//!
//! Correlation (who is who) happens here: a live user belongs to an Okta user
//! when its ownership marker holds the Okta id (linked), or, failing that,
//! when its UPN or mail equals the desired one (unlinked: the plan links it).
//! Only linked users, and groups the policy owns, are ever disabled, removed
//! or deleted. Unmanaged objects are reported, never touched.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde::{Deserialize, Serialize};

use super::action::{Change, GroupRef, LicenseAdd, LicenseRemove, Op, Reason, UserRef};
use super::settings::PlanSettings;
use crate::compile::{DesiredGroup, DesiredState, LeaveReason, Leaver};
use crate::model::graph::{SubscribedSku, User};
use crate::model::state::LiveState;
use crate::model::{ObjectId, OktaUserId};
use crate::policy::Diagnostic;
use crate::policy::types::{
    GuestLeave, Lifecycle, MailboxOnLeave, MembershipScope, Protected, TeamRole,
};

mod correlate;
mod groups;
mod guests;
mod leavers;
mod licenses;
mod owners;
mod users;

/// An operation with what people need to review it; ordering comes later.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// The operation.
    pub op: Op,
    /// What it acts on, for people.
    pub target: String,
    /// Field-level changes.
    pub changes: Vec<Change>,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// An object in Office 365 that okta365 does not manage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unmanaged {
    /// `user` or `group`.
    pub kind: String,
    /// UPN or display name.
    pub name: String,
    /// Object id.
    pub id: ObjectId,
    /// Why it is left alone.
    pub note: String,
}

/// What the diff found.
#[derive(Debug, Default)]
pub struct DiffOutput {
    /// Operations to run.
    pub drafts: Vec<Draft>,
    /// Objects left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// Problems (errors stop the plan).
    pub diagnostics: Vec<Diagnostic>,
    /// How much of each removable kind okta365 governs (the removal budgets'
    /// denominators).
    pub governed: BTreeMap<super::budget::RemovalKind, usize>,
    /// Steps Graph cannot carry out, for a person to do.
    pub manual_steps: Vec<ManualStep>,
}

/// Something okta365 cannot do through Graph, with the exact command to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// What it is about (`user UPN`).
    pub target: String,
    /// What to do, in words.
    pub what: String,
    /// The command (Exchange Online PowerShell).
    pub command: String,
    /// The policy lines behind it.
    pub reasons: Vec<Reason>,
}

/// Inputs of the diff besides the two states.
pub struct DiffInput<'a> {
    /// What the policies want.
    pub desired: &'a DesiredState,
    /// What the tenant has.
    pub live: &'a LiveState,
    /// Accounts never touched.
    pub protected: &'a Protected,
    /// Offboarding stages.
    pub lifecycle: &'a Lifecycle,
    /// Where lifecycle was declared (reason of offboarding actions); `None`
    /// when no policy has a `lifecycle` section: then nothing is offboarded.
    pub lifecycle_reason: Option<Reason>,
    /// Settings.
    pub settings: &'a PlanSettings,
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    live: &'a LiveState,
    marker: BTreeMap<&'a str, Vec<&'a User>>,
    /// Property name → lowercased value → user, for correlation.
    by_property: BTreeMap<String, HashMap<String, &'a User>>,
    protected: BTreeSet<&'a ObjectId>,
    skus: BTreeMap<&'a str, &'a SubscribedSku>,
    /// Okta id → the user reference plans use for them.
    resolved: HashMap<OktaUserId, UserRef>,
    /// Live users accounted for (matched to a desired user, guest or leaver).
    claimed: HashMap<&'a ObjectId, OktaUserId>,
    /// Managed live users who are leavers and keep their memberships.
    keep_memberships: HashSet<ObjectId>,
    /// Live users by object id.
    users_by_id: HashMap<&'a ObjectId, &'a User>,
    /// Live group display names by object id.
    group_names: HashMap<&'a ObjectId, &'a str>,
    /// Live groups by object id.
    groups_by_id: HashMap<&'a ObjectId, &'a crate::model::graph::Group>,
    /// Live groups by lowercased mail nickname.
    live_groups: HashMap<String, &'a crate::model::graph::Group>,
    /// What group declarations leave alone.
    left_alone: groups::LeftAlone,
    /// Leaver account → the groups it is a member (`.0`) or owner (`.1`) of.
    leaver_groups: HashMap<ObjectId, BTreeMap<&'a ObjectId, (bool, bool)>>,
    /// SKU part number → active managed users holding it directly, for SKUs
    /// no policy governs (left alone, and listed so).
    ungoverned_licences: BTreeMap<String, usize>,
    out: DiffOutput,
}

/// Computes the operations that bring the tenant to the desired state.
pub fn diff(input: &DiffInput) -> DiffOutput {
    let mut d = Differ::new(input);
    d.users();
    d.guests();
    d.managers();
    // Fail closed: with no Okta users read, nobody is a leaver.
    if !input.desired.okta_ids.is_empty() {
        d.leavers();
    }
    d.groups();
    d.keep_groups_owned();
    d.unmanaged();
    d.out
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn user_target(upn: &str) -> String {
    format!("user {upn}")
}

impl<'a> Differ<'a> {
    pub(super) fn new(input: &'a DiffInput<'a>) -> Self {
        let live = input.live;
        let settings = input.settings;
        let mut marker: BTreeMap<&str, Vec<&User>> = BTreeMap::new();
        let mut properties: BTreeSet<&str> =
            settings.match_by.iter().map(|p| p.graph.as_str()).collect();
        // Guests are found by mail; these must stay unique (disputes).
        properties.extend(["mail", "userPrincipalName", "mailNickname"]);
        let mut by_property: BTreeMap<String, HashMap<String, &User>> = properties
            .iter()
            .map(|p| ((*p).to_owned(), HashMap::with_capacity(live.users.len())))
            .collect();
        for u in &live.users {
            if let Some(id) = settings.okta_id_attribute.get_str(u) {
                marker.entry(id).or_default().push(u);
            }
            for (p, index) in by_property.iter_mut() {
                if let Some(v) = u.property(p).filter(|v| !v.is_empty()) {
                    index.entry(lower(&v)).or_insert(u);
                }
            }
        }
        let protected = super::protected::accounts(input.protected, live);
        let governed = governed(live, settings);
        Self {
            input,
            live,
            marker,
            by_property,
            protected,
            skus: live
                .skus
                .iter()
                .map(|s| (s.sku_part_number.as_str(), s))
                .collect(),
            resolved: HashMap::new(),
            claimed: HashMap::new(),
            keep_memberships: HashSet::new(),
            users_by_id: live.users.iter().rev().map(|u| (&u.id, u)).collect(),
            group_names: live
                .groups
                .iter()
                .rev()
                .map(|g| (&g.id, g.display_name.as_str()))
                .collect(),
            ungoverned_licences: BTreeMap::new(),
            groups_by_id: live.groups.iter().rev().map(|g| (&g.id, g)).collect(),
            live_groups: live
                .groups
                .iter()
                .rev()
                .filter_map(|g| Some((lower(g.mail_nickname.as_deref()?), g)))
                .collect(),
            left_alone: groups::LeftAlone::default(),
            leaver_groups: HashMap::new(),
            out: DiffOutput {
                governed,
                ..Default::default()
            },
        }
    }

    pub(super) fn push(
        &mut self,
        op: Op,
        target: String,
        changes: Vec<Change>,
        reasons: Vec<Reason>,
    ) {
        self.out.drafts.push(Draft {
            op,
            target,
            changes,
            reasons,
        });
    }

    pub(super) fn unmanaged(&mut self) {
        let managed_groups: BTreeSet<String> = self.input.desired.groups.keys().cloned().collect();
        for u in &self.live.users {
            if self.claimed.contains_key(&u.id) || self.marker_of(u).is_some() {
                continue;
            }
            let note = if self.protected.contains(&u.id) {
                "protected"
            } else if u.is_guest() {
                "unmanaged guest"
            } else {
                "no Okta user; not managed"
            };
            self.out.unmanaged.push(Unmanaged {
                kind: "user".into(),
                name: u.user_principal_name.clone(),
                id: u.id.clone(),
                note: note.into(),
            });
        }
        let offboarding = &self.input.lifecycle.offboarding;
        let leavers_leave = self.input.lifecycle_reason.is_some()
            && offboarding.remove_memberships
            && offboarding.remove_memberships_from == MembershipScope::AllGroups;
        for g in &self.live.groups {
            if g.mail_nickname
                .as_deref()
                .is_some_and(|n| managed_groups.contains(&lower(n)))
            {
                continue;
            }
            let note = if leavers_leave {
                "not in policy: only leavers are taken out of it"
            } else {
                "not in policy"
            };
            self.out.unmanaged.push(Unmanaged {
                kind: "group".into(),
                name: g.display_name.clone(),
                id: g.id.clone(),
                note: note.into(),
            });
        }
        for (nick, counts) in std::mem::take(&mut self.left_alone.groups) {
            let Some(want) = self.input.desired.groups.get(&lower(&nick)) else {
                continue;
            };
            let at = &want.reasons[0];
            let why = [
                "members are additive",
                "outside `members.scope`",
                "owners, not governed here",
            ];
            let notes: Vec<String> = counts
                .iter()
                .zip(why)
                .filter(|(n, _)| **n > 0)
                .map(|(n, why)| format!("{n} kept ({why})"))
                .collect();
            self.out.unmanaged.push(Unmanaged {
                kind: "members of".into(),
                name: nick.clone(),
                id: self
                    .live_groups
                    .get(&lower(&nick))
                    .map_or_else(|| ObjectId::from(nick.as_str()), |g| g.id.clone()),
                note: format!(
                    "managed members no rule names: {}, per {}:{}",
                    notes.join("; "),
                    at.file,
                    at.line
                ),
            });
        }
        for (part, holders) in std::mem::take(&mut self.ungoverned_licences) {
            let id = self.skus.get(part.as_str()).map_or_else(
                || ObjectId::from(part.as_str()),
                |s| ObjectId::from(s.sku_id.as_str()),
            );
            let people = if holders == 1 {
                "1 user who holds".to_owned()
            } else {
                format!("{holders} users who hold")
            };
            self.out.unmanaged.push(Unmanaged {
                kind: "licence".into(),
                name: part,
                id,
                note: format!("not governed by the policies: kept by {people} it directly"),
            });
        }
        self.out.unmanaged.sort();
    }
}

fn dedup(reasons: impl IntoIterator<Item = Reason>) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    for r in reasons {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// How much of each removable kind okta365 governs: accounts and guests it
/// manages, and their memberships, ownerships and direct licences.
fn governed(
    live: &LiveState,
    settings: &PlanSettings,
) -> BTreeMap<super::budget::RemovalKind, usize> {
    use super::budget::RemovalKind as K;
    let mut out: BTreeMap<K, usize> = BTreeMap::new();
    let managed: HashSet<&ObjectId> = live
        .users
        .iter()
        .filter(|u| settings.okta_id_attribute.get_str(u).is_some())
        .map(|u| &u.id)
        .collect();
    for u in live.users.iter().filter(|u| managed.contains(&u.id)) {
        *out.entry(if u.is_guest() { K::Guests } else { K::Accounts })
            .or_default() += 1;
        *out.entry(K::Licences).or_default() += u.direct_skus().len();
    }
    let teams: HashSet<&ObjectId> = live
        .groups
        .iter()
        .filter(|g| g.has_team())
        .map(|g| &g.id)
        .collect();
    for (g, ids) in &live.members {
        let kind = if teams.contains(g) {
            K::TeamMemberships
        } else {
            K::Memberships
        };
        *out.entry(kind).or_default() += ids.iter().filter(|id| managed.contains(id)).count();
    }
    for groups in live
        .member_of
        .iter()
        .filter(|(u, _)| managed.contains(u))
        .map(|(_, g)| g)
    {
        *out.entry(K::Memberships).or_default() += groups.len();
    }
    for ids in live.owners.values() {
        *out.entry(K::Owners).or_default() += ids.iter().filter(|id| managed.contains(id)).count();
    }
    out
}
