//! Compile: checked policy + Okta source state → desired state.
//!
//! Pure: no I/O, no clock. Every rule is evaluated against every Okta user;
//! multi-valued outcomes (licences, groups, Teams) add up, single-valued ones
//! (attributes, account state) must agree unless priorities settle it.

pub mod desired;
pub mod licences;

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use foldhash::{HashMap, HashMapExt};

pub use desired::{
    DesiredGroup, DesiredGuest, DesiredOwners, DesiredState, DesiredUser, LeaveReason, Leaver,
    Reasons, ScopeKey, ScopeOf, Sourced,
};

use crate::model::Reason;
use crate::model::fields::Fields;
use crate::model::graph::SubscribedSku;
use crate::model::okta::{self, UserStatus};
use crate::model::state::SourceState;
use crate::model::{OktaGroupId, OktaUserId};
use crate::policy::check::{Checked, Located};
use crate::policy::diagnostic::{Diagnostic, did_you_mean};
use crate::policy::selector::Facts;
use crate::policy::template::{Context, RenderError, Rendered, Template};
use crate::policy::types::{AccountState, LookupValue, PendingUsers, TeamRole};

/// Compiles the desired state. `skus` (the tenant's subscribed SKUs) are used
/// to check licence names; pass an empty slice to skip that check.
pub fn compile(
    checked: &Checked,
    source: &SourceState,
    skus: &[SubscribedSku],
) -> (DesiredState, Vec<Diagnostic>) {
    compile_with(checked, source, skus, &Options::default())
}

/// What the compiler records beyond what the policies ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Okta profile attributes kept on each desired user (in
    /// [`DesiredUser::match_values`]), for matching unlinked accounts.
    pub match_attributes: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            match_attributes: vec!["login".into(), "email".into()],
        }
    }
}

/// [`compile`] with options.
pub fn compile_with(
    checked: &Checked,
    source: &SourceState,
    skus: &[SubscribedSku],
    options: &Options,
) -> (DesiredState, Vec<Diagnostic>) {
    compile_in_shares(checked, source, skus, options, PARALLEL_FROM)
}

/// From this many Okta users on, the users are compiled in two shares on two
/// threads (below it a thread costs more than it saves).
const PARALLEL_FROM: usize = 20_000;

/// [`compile`], splitting the users in two from `parallel_from` users on.
fn compile_in_shares(
    checked: &Checked,
    source: &SourceState,
    skus: &[SubscribedSku],
    options: &Options,
    parallel_from: usize,
) -> (DesiredState, Vec<Diagnostic>) {
    let names = GroupNames::new(source);
    let mut c = Compiler::new(checked, source, &names, options);
    c.parallel_from = parallel_from;
    c.check_okta_groups();
    // Groups first (definitions and mirrors), so that the users' rules can
    // add their memberships as they go.
    c.mirrors();
    c.users();
    c.managers();
    c.memberships();
    c.check_licenses(skus);
    c.governed_skus();
    c.state.clear_unset_managers = checked.policy.manager.as_ref().and_then(|m| {
        (m.value.when_unset == crate::policy::types::ManagerWhenUnset::Clear).then(|| {
            reason_at(
                checked,
                m.file,
                &format!("{}/when_unset", m.pointer),
                "manager: when_unset: clear",
            )
        })
    });
    c.state.guest_rules = checked
        .guests
        .iter()
        .map(|g| {
            (
                c.guest_reasons[g.index].clone(),
                checked.policy.guests[g.index].value.on_leave,
            )
        })
        .collect();
    c.finish()
}

/// Okta group id → its id and name lowercased (the name when the group was read),
/// made once for the selectors.
struct GroupNames(HashMap<OktaGroupId, (String, Option<String>)>);

impl GroupNames {
    fn new(source: &SourceState) -> Self {
        let names: HashMap<&OktaGroupId, String> = source
            .groups
            .iter()
            .map(|g| (&g.id, g.profile.name.to_lowercase()))
            .collect();
        Self(
            source
                .members
                .keys()
                .map(|id| {
                    (
                        id.clone(),
                        (id.as_str().to_lowercase(), names.get(id).cloned()),
                    )
                })
                .collect(),
        )
    }
}

struct Compiler<'a> {
    checked: &'a Checked,
    options: &'a Options,
    source: &'a SourceState,
    /// Okta user id → lowercased names and ids of the user's groups.
    user_groups: HashMap<&'a OktaUserId, BTreeSet<&'a str>>,
    state: DesiredState,
    diagnostics: Vec<Diagnostic>,
    /// (file, pointer, message) already reported, so a template problem is reported once.
    reported: BTreeSet<(usize, String, String)>,
    /// Render failures per template location: (message, users).
    render_failures: BTreeMap<(usize, String), (String, Vec<String>)>,
    /// The reason of each policy rule and guest rule, made once and shared.
    rule_reasons: Vec<Reason>,
    guest_reasons: Vec<Reason>,
    /// From how many users on [`Compiler::users`] splits them in two.
    parallel_from: usize,
}

struct Request<'a> {
    group: String,
    okta_id: &'a OktaUserId,
    role: TeamRole,
    want_team: bool,
    reason: Reason,
    file: usize,
    pointer: &'a str,
}

struct UserContext<'a> {
    user: &'a okta::User,
    lookups: &'a BTreeMap<String, crate::policy::Item<BTreeMap<String, LookupValue>>>,
}

impl Context for UserContext<'_> {
    fn variable(&self, path: &[String]) -> Option<String> {
        match path {
            [root, attr] if root == "profile" => {
                self.user.profile_str(attr).filter(|s| !s.is_empty())
            }
            [root, field] if root == "user" => match field.as_str() {
                "id" => Some(self.user.id.0.to_string()),
                "login" => self.user.login(),
                "status" => Some(self.user.status.as_str().to_owned()),
                _ => None,
            },
            _ => None,
        }
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        lookup(self.lookups, table, key)
    }
}

fn lookup(
    lookups: &BTreeMap<String, crate::policy::Item<BTreeMap<String, LookupValue>>>,
    table: &str,
    key: &str,
) -> Option<Rendered> {
    lookups.get(table)?.value.get(key).map(|v| match v {
        LookupValue::One(s) => Rendered::One(s.clone()),
        LookupValue::Many(v) => Rendered::Many(v.clone()),
    })
}

struct GroupContext<'a> {
    group: &'a okta::Group,
    lookups: &'a BTreeMap<String, crate::policy::Item<BTreeMap<String, LookupValue>>>,
}

impl Context for GroupContext<'_> {
    fn variable(&self, path: &[String]) -> Option<String> {
        match path {
            [root, field] if root == "group" => match field.as_str() {
                "name" => Some(self.group.profile.name.clone()),
                "id" => Some(self.group.id.0.to_string()),
                "description" => self.group.profile.description.clone(),
                _ => None,
            },
            _ => None,
        }
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        lookup(self.lookups, table, key)
    }
}

impl<'a> Compiler<'a> {
    fn new(
        checked: &'a Checked,
        source: &'a SourceState,
        names: &'a GroupNames,
        options: &'a Options,
    ) -> Self {
        let mut user_groups: HashMap<&OktaUserId, BTreeSet<&str>> = HashMap::new();
        for (group, members) in &source.members {
            let (id, name) = &names.0[group];
            for member in members {
                let set = user_groups.entry(member).or_default();
                set.insert(id);
                if let Some(name) = name {
                    set.insert(name);
                }
            }
        }
        Self {
            checked,
            options,
            source,
            user_groups,
            state: DesiredState::default(),
            diagnostics: Vec::new(),
            reported: BTreeSet::new(),
            render_failures: BTreeMap::new(),
            rule_reasons: checked
                .policy
                .rules
                .iter()
                .map(|r| reason_at(checked, r.file, &r.pointer, &r.value.name))
                .collect(),
            guest_reasons: checked
                .policy
                .guests
                .iter()
                .map(|g| reason_at(checked, g.file, &g.pointer, &g.value.name))
                .collect(),
            parallel_from: PARALLEL_FROM,
        }
    }

    fn reason(&self, file: usize, pointer: &str, rule: &str) -> Reason {
        reason_at(self.checked, file, pointer, rule)
    }

    fn report_once(&mut self, d: Diagnostic, file: usize, pointer: &str) {
        if self
            .reported
            .insert((file, pointer.to_owned(), d.message.clone()))
        {
            self.diagnostics.push(d);
        }
    }

    fn render(&mut self, t: &Located<Template>, ctx: &dyn Context, who: &str) -> Option<Rendered> {
        render_or_record(&mut self.render_failures, t, ctx, who)
    }

    fn check_okta_groups(&mut self) {
        let known: BTreeSet<String> = self
            .source
            .groups
            .iter()
            .flat_map(|g| [g.profile.name.to_lowercase(), g.id.as_str().to_lowercase()])
            .collect();
        for item in &self.checked.policy.rules {
            self.check_selector_groups(
                &item.value.when,
                item.file,
                &format!("{}/when", item.pointer),
                &known,
            );
        }
        for item in &self.checked.policy.guests {
            self.check_selector_groups(
                &item.value.when,
                item.file,
                &format!("{}/when", item.pointer),
                &known,
            );
        }
    }

    fn check_selector_groups(
        &mut self,
        s: &crate::policy::types::Selector,
        file: usize,
        pointer: &str,
        known: &BTreeSet<String>,
    ) {
        use crate::policy::types::Selector::*;
        match s {
            All(v) => v.iter().enumerate().for_each(|(i, s)| {
                self.check_selector_groups(s, file, &format!("{pointer}/all/{i}"), known)
            }),
            Any(v) => v.iter().enumerate().for_each(|(i, s)| {
                self.check_selector_groups(s, file, &format!("{pointer}/any/{i}"), known)
            }),
            Not(s) => self.check_selector_groups(s, file, &format!("{pointer}/not"), known),
            Group(g)
                if !g.contains(['*', '?', '['])
                    && !known.contains(&g.to_lowercase())
                    && !self.source.groups.is_empty() =>
            {
                let at = self
                    .checked
                    .policy
                    .location(file, &format!("{pointer}/group"));
                let names: Vec<&str> = self
                    .source
                    .groups
                    .iter()
                    .map(|g| g.profile.name.as_str())
                    .collect();
                let hint = match did_you_mean(g, names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "check the group's name in Okta; the rule matches no one until it exists"
                            .to_owned()
                    }
                };
                self.diagnostics.push(
                    Diagnostic::warning(Some(at), format!("Okta group `{g}` does not exist"))
                        .with_hint(hint),
                );
            }
            _ => {}
        }
    }

    /// Users in at most two shares, compiled in parallel when there are
    /// enough of them to pay for a thread, then merged in Okta order.
    fn users(&mut self) {
        let users: &'a [okta::User] = &self.source.users;
        let split = if users.len() >= self.parallel_from {
            users.len().div_ceil(2)
        } else {
            users.len()
        };
        let (first, second) = users.split_at(split);
        let passes = std::thread::scope(|s| {
            let this = &*self;
            let second = (!second.is_empty()).then(|| {
                s.spawn(move || {
                    let mut pass = UserPass::new(this);
                    pass.run(second);
                    pass.finish()
                })
            });
            let mut pass = UserPass::new(this);
            pass.run(first);
            let mut passes = vec![pass.finish()];
            if let Some(second) = second {
                passes.push(
                    second
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
            passes
        });
        for pass in passes {
            self.absorb(pass);
        }
    }

    /// Merges a share's results, as if its users had been compiled here.
    fn absorb(&mut self, pass: PassResult<'a>) {
        let mut state = pass.state;
        self.state.users.append(&mut state.users);
        self.state.guests.append(&mut state.guests);
        self.state.leavers.append(&mut state.leavers);
        self.state.okta_ids.append(&mut state.okta_ids);
        for (key, mut ids) in state.scopes {
            self.state.scopes.entry(key).or_default().append(&mut ids);
        }
        self.diagnostics.extend(pass.diagnostics);
        for (at, (message, users)) in pass.render_failures {
            self.render_failures
                .entry(at)
                .or_insert_with(|| (message, Vec::new()))
                .1
                .extend(users);
        }
        for request in pass.requests {
            self.request(request);
        }
    }

    fn mirrors(&mut self) {
        let checked = self.checked;
        for (key, g) in &checked.groups {
            let reason = self.reason(g.file, &g.pointer, &format!("group {}", g.value.name));
            let governed = &checked.governance.groups[key];
            let owners = self.owners_of(
                g.file,
                &g.pointer,
                &format!("group {}", g.value.name),
                governed,
            );
            let mut members = BTreeMap::new();
            if let Some(o) = &owners {
                self.declared_owners(governed, &o.reason, &mut members, &g.pointer, g.file);
            }
            let member_scope = scope_of(&g.value.members.scope, ScopeKey::Group(key.clone()));
            let granted_by = self.granted_by(&g.value.name);
            self.state.groups.insert(
                key.clone(),
                DesiredGroup {
                    mail_nickname: g.value.name.clone(),
                    display_name: g
                        .value
                        .display_name
                        .clone()
                        .unwrap_or_else(|| g.value.name.clone()),
                    description: g.value.description.clone(),
                    kind: g.value.kind,
                    team: g.value.team,
                    members,
                    reasons: vec![reason],
                    members_mode: g.value.members.mode,
                    member_scope,
                    owners,
                    visibility: g.value.visibility,
                    granted_by,
                    okta_groups: Vec::new(),
                },
            );
        }
        let users_by_id: HashMap<&OktaUserId, &'a okta::User> =
            self.source.users.iter().map(|u| (&u.id, u)).collect();
        let empty = BTreeSet::new();
        for m in &checked.mirrors {
            let item = &checked.policy.mirrors[m.index];
            let reason = self.reason(item.file, &item.pointer, &item.value.name);
            let governed = &checked.governance.mirrors[m.index];
            let profile = checked.governance.mirror_profiles[m.index].as_ref();
            let owners = self.owners_of(item.file, &item.pointer, &item.value.name, governed);
            for group in &self.source.groups {
                if !m.okta_groups.is_match(&group.profile.name) {
                    continue;
                }
                let kind = group.group_type.as_deref().unwrap_or("OKTA_GROUP");
                if !item
                    .value
                    .okta_group_types
                    .iter()
                    .any(|t| t.as_str() == kind)
                {
                    continue;
                }
                if profile.is_some_and(|p| !p.matches_group_profile(&group.profile)) {
                    continue;
                }
                let ctx = GroupContext {
                    group,
                    lookups: &checked.policy.lookups,
                };
                let who = format!("group {}", group.profile.name);
                let Some(Rendered::One(nickname)) = self.render(&m.group_name, &ctx, &who) else {
                    continue;
                };
                let display_name = match &m.display_name {
                    Some(t) => match self.render(t, &ctx, &who) {
                        Some(Rendered::One(s)) => s,
                        _ => continue,
                    },
                    None => group.profile.name.clone(),
                };
                let mut members = BTreeMap::new();
                let okta_members = self.source.members.get(&group.id);
                for id in okta_members.into_iter().flatten() {
                    members.insert(id.clone(), Sourced::new(TeamRole::Member, reason.clone()));
                }
                if let Some(o) = &owners {
                    self.declared_owners(
                        governed,
                        &o.reason,
                        &mut members,
                        &item.pointer,
                        item.file,
                    );
                    // `owners.when` picks owners among this Okta group's members.
                    if let Some(when) = &governed.owners_when {
                        for id in okta_members.into_iter().flatten() {
                            let Some(user) = users_by_id.get(id) else {
                                continue;
                            };
                            let groups = self.user_groups.get(id).unwrap_or(&empty);
                            if when.matches(&Facts { user, groups }) {
                                merge_member(
                                    &mut members,
                                    id.clone(),
                                    Sourced::new(TeamRole::Owner, o.reason.clone()),
                                );
                            }
                        }
                    }
                }
                let visibility = item.value.visibility.or(
                    // Mirrored Microsoft 365 groups are private unless said otherwise.
                    (item.value.kind == crate::policy::types::GroupKind::Unified)
                        .then_some(crate::policy::types::Visibility::Private),
                );
                let entry = self
                    .state
                    .groups
                    .entry(nickname.to_lowercase())
                    .or_insert_with(|| DesiredGroup {
                        mail_nickname: nickname.clone(),
                        display_name,
                        description: group.profile.description.clone(),
                        kind: item.value.kind,
                        team: item.value.team,
                        members: BTreeMap::new(),
                        reasons: vec![reason.clone()],
                        members_mode: item.value.members.mode,
                        member_scope: scope_of(
                            &item.value.members.scope,
                            ScopeKey::Mirror(m.index),
                        ),
                        owners: owners.clone(),
                        visibility,
                        granted_by: Vec::new(),
                        okta_groups: Vec::new(),
                    });
                if !entry.granted_by.contains(&reason) {
                    entry.granted_by.push(reason.clone());
                }
                entry.okta_groups.push(group.profile.name.clone());
                for (id, role) in members {
                    merge_member(&mut entry.members, id, role);
                }
            }
        }
    }

    /// The rules and guest rules whose `groups` or `teams` can name the
    /// group `name` (literally, or through a lookup table).
    fn granted_by(&self, name: &str) -> Vec<Reason> {
        let checked = self.checked;
        let table = |t: &str| lookup_values(checked, t);
        let names = |t: &Template| {
            t.possible_values(&table)
                .is_some_and(|v| v.iter().any(|v| v.eq_ignore_ascii_case(name)))
        };
        let mut out = Vec::new();
        for rule in &checked.rules {
            let hit = rule.groups.iter().any(|t| names(&t.value))
                || rule.teams.iter().any(|(t, _)| names(&t.value));
            if hit {
                out.push(self.rule_reasons[rule.index].clone());
            }
        }
        for g in &checked.guests {
            if g.groups.iter().chain(&g.teams).any(|t| names(&t.value)) {
                out.push(self.guest_reasons[g.index].clone());
            }
        }
        out
    }

    /// The owners declaration of a group or mirror at `pointer`, if any.
    fn owners_of(
        &self,
        file: usize,
        pointer: &str,
        label: &str,
        governed: &crate::policy::governance::Governed,
    ) -> Option<DesiredOwners> {
        let owners = governed.owners.as_ref()?;
        let lifecycle = self.checked.policy.lifecycle();
        Some(DesiredOwners {
            mode: owners.mode,
            fallback: owners
                .fallback
                .clone()
                .or(lifecycle.offboarding.fallback_owner.clone()),
            reason: self.reason(
                file,
                &format!("{pointer}/owners"),
                &format!("{label}: owners"),
            ),
        })
    }

    /// Adds the owners a declaration names (`owners.users`, Okta logins or
    /// ids) to `members`; unknown names are a warning.
    fn declared_owners(
        &mut self,
        governed: &crate::policy::governance::Governed,
        reason: &Reason,
        members: &mut BTreeMap<OktaUserId, Sourced<TeamRole>>,
        pointer: &str,
        file: usize,
    ) {
        let Some(owners) = &governed.owners else {
            return;
        };
        for (i, owner) in owners.users.iter().enumerate() {
            let found = self.source.users.iter().find(|u| {
                u.id.0 == *owner || u.login().is_some_and(|l| l.eq_ignore_ascii_case(owner))
            });
            match found {
                Some(u) => merge_member(
                    members,
                    u.id.clone(),
                    Sourced::new(TeamRole::Owner, reason.clone()),
                ),
                None if !self.source.users.is_empty() => {
                    let at = self
                        .checked
                        .policy
                        .location(file, &format!("{pointer}/owners/users/{i}"));
                    let d = Diagnostic::warning(
                        Some(at),
                        format!("owner `{owner}` is not an Okta user"),
                    )
                    .with_hint("give an Okta login or user id");
                    self.report_once(d, file, &format!("{pointer}/owners/users/{i}"));
                }
                None => {}
            }
        }
    }

    /// Adds a membership a rule asks for to its group, or reports why it cannot.
    fn request(&mut self, r: Request) {
        let key = r.group.to_lowercase();
        match self.state.groups.get_mut(&key) {
            Some(group) if r.want_team && !group.team => {
                let at = self.checked.policy.location(r.file, r.pointer);
                let d = Diagnostic::error(Some(at), format!("group `{}` has no Team", r.group))
                    .with_hint("set `team: true` on the group, or list it under `groups:`");
                self.report_once(d, r.file, r.pointer);
            }
            Some(group) => merge_member(
                &mut group.members,
                r.okta_id.clone(),
                Sourced::new(r.role, r.reason),
            ),
            None => {
                let at = self.checked.policy.location(r.file, r.pointer);
                let names: Vec<String> = self
                    .state
                    .groups
                    .values()
                    .map(|g| g.mail_nickname.clone())
                    .collect();
                let hint = match did_you_mean(&r.group, names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "define it under `groups:` (or check the lookup table that produced it)"
                            .to_owned()
                    }
                };
                let d = Diagnostic::error(Some(at), format!("unknown group `{}`", r.group))
                    .with_hint(hint);
                self.report_once(d, r.file, r.pointer);
            }
        }
    }

    fn memberships(&mut self) {
        // Members must have an account: drop Okta members that are neither users nor guests.
        let accounts: foldhash::HashSet<&OktaUserId> = (self.state.users.keys())
            .chain(self.state.guests.keys())
            .collect();
        for group in self.state.groups.values_mut() {
            group.members.retain(|id, _| accounts.contains(id));
        }
    }

    /// Settles which SKUs the policies govern (declared, or named by rules
    /// and granted to users), and checks a declared list covers every grant.
    fn governed_skus(&mut self) {
        let checked = self.checked;
        let governed = licences::governed_skus(checked);
        self.diagnostics.extend(governed.warnings(checked));
        let mut granted: BTreeMap<&str, &Reason> = BTreeMap::new();
        for user in self.state.users.values() {
            for (sku, plans) in &user.licenses {
                granted.entry(sku).or_insert(&plans.reasons[0]);
            }
        }
        let template_of = |reason: &Reason| {
            checked
                .rules
                .iter()
                .find(|r| *checked.policy.rules[r.index].value.name == *reason.rule)
                .and_then(|r| r.licenses.first().map(|(t, _)| (t.file, t.pointer.clone())))
                .unwrap_or_default()
        };
        let errors = governed.undeclared(
            granted
                .iter()
                .map(|(sku, reason)| (*sku, template_of(reason))),
            checked,
        );
        self.diagnostics.extend(errors);
        self.state.governed_skus = governed.resolve(granted, &self.rule_reasons);
    }

    fn check_licenses(&mut self, skus: &[SubscribedSku]) {
        if skus.is_empty() {
            return;
        }
        let checked = self.checked;
        let by_part: BTreeMap<&str, &SubscribedSku> = skus
            .iter()
            .map(|s| (s.sku_part_number.as_str(), s))
            .collect();
        let mut seen = BTreeSet::new();
        for user in self.state.users.values() {
            for (sku, plans) in &user.licenses {
                if !seen.insert((sku, plans.value.clone())) {
                    continue;
                }
                let reason = &plans.reasons[0];
                let rule = checked
                    .rules
                    .iter()
                    .find(|r| *checked.policy.rules[r.index].value.name == *reason.rule);
                let (file, pointer) = rule
                    .and_then(|r| r.licenses.first().map(|(t, _)| (t.file, t.pointer.clone())))
                    .unwrap_or((0, String::new()));
                match by_part.get(sku) {
                    None => {
                        let hint = suggest(sku, by_part.keys().copied(), "the tenant has");
                        let at = (!checked.policy.files.is_empty())
                            .then(|| checked.policy.location(file, &pointer));
                        self.diagnostics.push(
                            Diagnostic::error(
                                at,
                                format!("SKU `{sku}` is not in the tenant's subscribedSkus"),
                            )
                            .with_hint(hint),
                        );
                    }
                    Some(s) => {
                        for plan in &plans.value {
                            if !s.service_plans.iter().any(|p| p.service_plan_name == *plan) {
                                let names: Vec<&str> = s
                                    .service_plans
                                    .iter()
                                    .map(|p| p.service_plan_name.as_str())
                                    .collect();
                                let hint =
                                    suggest(plan, names.iter().copied(), &format!("`{sku}` has"));
                                let at = (!checked.policy.files.is_empty())
                                    .then(|| checked.policy.location(file, &pointer));
                                self.diagnostics.push(
                                    Diagnostic::error(
                                        at,
                                        format!("service plan `{plan}` is not part of `{sku}`"),
                                    )
                                    .with_hint(hint),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// Turns the `manager` mapping (an Okta id, login, email or employee
    /// number) into the manager's Okta user. A manager without an account is
    /// a warning: the relationship is set once they have one.
    fn managers(&mut self) {
        let mut index: HashMap<String, &OktaUserId> =
            HashMap::with_capacity(self.source.users.len() * 4);
        for u in &self.source.users {
            index.insert(u.id.as_str().to_lowercase(), &u.id);
            for field in ["login", "email", "employeeNumber"] {
                if let Some(v) = u.profile_str(field).filter(|v| !v.is_empty()) {
                    index.entry(v.to_lowercase()).or_insert(&u.id);
                }
            }
        }
        let accounts: foldhash::HashSet<OktaUserId> = self.state.users.keys().cloned().collect();
        for user in self.state.users.values_mut() {
            let Some(key) = user.attributes.remove("manager") else {
                continue;
            };
            match index.get(key.value.to_lowercase().as_str()) {
                Some(&id) if id == &user.okta_id => {}
                Some(&id) if accounts.contains(id) => {
                    user.manager = Some(Sourced {
                        value: id.clone(),
                        reasons: key.reasons,
                    });
                }
                found => {
                    let why = if found.is_some() {
                        "has no Office 365 account"
                    } else {
                        "is not an Okta user"
                    };
                    self.diagnostics.push(Diagnostic::warning(
                        None,
                        format!(
                            "manager `{}` of `{}` {why}; the manager is left as it is",
                            key.value, user.login
                        ),
                    ));
                }
            }
        }
    }

    fn finish(mut self) -> (DesiredState, Vec<Diagnostic>) {
        for ((file, pointer), (message, users)) in std::mem::take(&mut self.render_failures) {
            let at = self.checked.policy.location(file, &pointer);
            let shown: Vec<String> = users.iter().take(3).map(|u| format!("`{u}`")).collect();
            let more = if users.len() > 3 {
                format!(" and {} more", users.len() - 3)
            } else {
                String::new()
            };
            self.diagnostics.push(
                Diagnostic::error(
                    Some(at),
                    format!("{message} for {}{more}", shown.join(", ")),
                )
                .with_hint("add `| default('…')` to the template, or fix the data in Okta"),
            );
        }
        (self.state, self.diagnostics)
    }
}

/// One share of the users, compiled on its own (on its own thread when the
/// users are many): what it finds is merged into the [`Compiler`] in Okta
/// order, so the result does not depend on how the users were shared out.
struct UserPass<'a, 'c> {
    checked: &'a Checked,
    options: &'a Options,
    /// Okta user id → lowercased names and ids of the user's groups.
    user_groups: &'c HashMap<&'a OktaUserId, BTreeSet<&'a str>>,
    rule_reasons: &'c [Reason],
    guest_reasons: &'c [Reason],
    /// Users, guests, leavers and Okta ids of this share (no groups).
    state: DesiredState,
    diagnostics: Vec<Diagnostic>,
    render_failures: BTreeMap<(usize, String), (String, Vec<String>)>,
    /// Memberships the rules asked for, in order.
    requests: Vec<Request<'a>>,
}

impl<'a, 'c> UserPass<'a, 'c> {
    fn new(c: &'c Compiler<'a>) -> Self {
        Self {
            checked: c.checked,
            options: c.options,
            user_groups: &c.user_groups,
            rule_reasons: &c.rule_reasons,
            guest_reasons: &c.guest_reasons,
            state: DesiredState::default(),
            diagnostics: Vec::new(),
            render_failures: BTreeMap::new(),
            requests: Vec::new(),
        }
    }

    fn render(&mut self, t: &Located<Template>, ctx: &dyn Context, who: &str) -> Option<Rendered> {
        render_or_record(&mut self.render_failures, t, ctx, who)
    }

    fn finish(self) -> PassResult<'a> {
        PassResult {
            state: self.state,
            diagnostics: self.diagnostics,
            render_failures: self.render_failures,
            requests: self.requests,
        }
    }

    /// Compiles `users` (a slice of the Okta users) into this pass.
    fn run(&mut self, users: &'a [okta::User]) {
        let checked = self.checked;
        let lifecycle = checked.policy.lifecycle();
        let lifecycle_reason = checked
            .policy
            .lifecycle
            .as_ref()
            .map(|l| reason_at(checked, l.file, &l.pointer, "lifecycle"));
        let empty = BTreeSet::new();
        for user in users {
            self.state.okta_ids.insert(user.id.clone());
            let login = user.login().unwrap_or_else(|| user.id.0.to_string());
            if user.status.is_leaver() {
                let why = if user.status == UserStatus::Suspended {
                    LeaveReason::Suspended
                } else {
                    LeaveReason::Deprovisioned
                };
                let since = user.status_changed.as_deref().and_then(|s| s.parse().ok());
                self.state.leavers.insert(
                    user.id.clone(),
                    Leaver {
                        okta_id: user.id.clone(),
                        login,
                        why,
                        since,
                    },
                );
                continue;
            }
            let pending = matches!(user.status, UserStatus::Staged | UserStatus::Provisioned);
            if pending && lifecycle.pending_users == PendingUsers::Wait {
                continue;
            }
            let groups = self.user_groups.get(&user.id).unwrap_or(&empty);
            let facts = Facts { user, groups };
            let ctx = UserContext {
                user,
                lookups: &checked.policy.lookups,
            };
            let matched: Vec<_> = checked
                .rules
                .iter()
                .filter(|r| r.matcher.matches(&facts))
                .collect();
            if matched.is_empty() {
                let guest = checked.guests.iter().find(|g| g.matcher.matches(&facts));
                match guest {
                    Some(g) => {
                        self.guest(user, g, &ctx, &login);
                        self.governed_member(user, &facts);
                    }
                    None => {
                        self.state.leavers.insert(
                            user.id.clone(),
                            Leaver {
                                okta_id: user.id.clone(),
                                login,
                                why: LeaveReason::OutOfScope,
                                since: None,
                            },
                        );
                    }
                }
                continue;
            }
            // (attribute, value, priority, reason) from every matching rule.
            let mut attributes: Vec<(&str, String, i32, Reason)> = Vec::new();
            let mut account: Vec<(bool, i32, Reason)> = Vec::new();
            let mut licenses: Fields<Sourced<BTreeSet<String>>> = Fields::new();
            // The rule whose `manager` mapping gave nothing (Okta has no manager).
            let mut manager_unset: Option<Reason> = None;
            for rule in matched {
                let item = &checked.policy.rules[rule.index];
                let reason = self.rule_reasons[rule.index].clone();
                let priority = item.value.priority;
                if let Some(state) = rule.account {
                    account.push((state == AccountState::Enabled, priority, reason.clone()));
                }
                for (name, t) in &rule.attributes {
                    if let Some(v) = self.render(t, &ctx, &login) {
                        match v {
                            // Empty means "not set": Graph rejects empty strings for most properties.
                            Rendered::One(v) if v.trim().is_empty() => {
                                if name == "manager" {
                                    manager_unset.get_or_insert_with(|| reason.clone());
                                }
                            }
                            Rendered::One(v) => {
                                attributes.push((name.as_str(), v, priority, reason.clone()))
                            }
                            Rendered::Many(_) => {
                                self.render_failures
                                    .entry((t.file, t.pointer.clone()))
                                    .or_insert_with(|| {
                                        ("a single-valued attribute got a list".into(), Vec::new())
                                    })
                                    .1
                                    .push(login.clone());
                            }
                        }
                    }
                }
                for (t, plans) in &rule.licenses {
                    let Some(skus) = self.render(t, &ctx, &login) else {
                        continue;
                    };
                    for sku in skus.into_vec().into_iter().filter(|s| !s.is_empty()) {
                        let entry = licenses.get_or_insert_with(sku, || Sourced {
                            value: BTreeSet::new(),
                            reasons: Reasons::new(),
                        });
                        entry.value.extend(plans.iter().cloned());
                        entry.reasons.push(reason.clone());
                    }
                }
                for t in &rule.groups {
                    let Some(names) = self.render(t, &ctx, &login) else {
                        continue;
                    };
                    for group in names.into_vec().into_iter().filter(|s| !s.is_empty()) {
                        self.requests.push(Request {
                            group,
                            okta_id: &user.id,
                            role: TeamRole::Member,
                            want_team: false,
                            reason: reason.clone(),
                            file: t.file,
                            pointer: &t.pointer,
                        });
                    }
                }
                for (t, role) in &rule.teams {
                    let Some(names) = self.render(t, &ctx, &login) else {
                        continue;
                    };
                    for group in names.into_vec().into_iter().filter(|s| !s.is_empty()) {
                        self.requests.push(Request {
                            group,
                            okta_id: &user.id,
                            role: *role,
                            want_team: true,
                            reason: reason.clone(),
                            file: t.file,
                            pointer: &t.pointer,
                        });
                    }
                }
            }
            // Stable: each attribute's candidates stay in rule order.
            attributes.sort_by(|a, b| a.0.cmp(b.0));
            let mut resolved = Vec::new();
            for candidates in attributes.chunk_by(|a, b| a.0 == b.0) {
                let name = candidates[0].0;
                let candidates = candidates.iter().map(|(_, v, p, r)| (v.as_str(), *p, r));
                if let Some(v) = self.settle(&login, name, candidates) {
                    resolved.push((name.into(), v));
                }
            }
            let resolved = Fields::from_entries(resolved);
            let enabled = if pending {
                Sourced {
                    value: false,
                    reasons: lifecycle_reason.iter().cloned().collect(),
                }
            } else {
                let default = Sourced {
                    value: true,
                    reasons: Reasons::new(),
                };
                let candidates = account
                    .iter()
                    .map(|(b, p, r)| (if *b { "true" } else { "false" }, *p, r));
                if account.is_empty() {
                    default
                } else {
                    self.settle(&login, "accountEnabled", candidates)
                        .map(|s| Sourced {
                            value: s.value == "true",
                            reasons: s.reasons,
                        })
                        .unwrap_or(default)
                }
            };
            if !resolved.contains_key("userPrincipalName") {
                self.diagnostics.push(
                    Diagnostic::error(
                        None,
                        format!("no rule sets `userPrincipalName` for Okta user `{login}`"),
                    )
                    .with_hint(
                        "add a `userPrincipalName` attribute to a rule that selects this user",
                    ),
                );
                continue;
            }
            self.state.users.insert(
                user.id.clone(),
                DesiredUser {
                    okta_id: user.id.clone(),
                    login,
                    status: user.status,
                    enabled,
                    attributes: resolved,
                    licenses,
                    manager: None,
                    manager_unset: manager_unset
                        .filter(|_| !attributes.iter().any(|(n, ..)| *n == "manager")),
                    match_values: self
                        .options
                        .match_attributes
                        .iter()
                        .map(|a| {
                            user.profile_str(a)
                                .filter(|v| !v.is_empty())
                                .map(Into::into)
                        })
                        .collect(),
                },
            );
            self.governed_member(user, &facts);
        }
    }

    /// Records which member selectors (`members.scope.when`) an Okta user
    /// with an account matches, and asks for the ownerships a declared
    /// group's `owners.when` gives them.
    fn governed_member(&mut self, user: &'a okta::User, facts: &Facts<'_>) {
        let checked = self.checked;
        let governance = &checked.governance;
        for (key, governed) in &governance.groups {
            if governed.scope.as_ref().is_some_and(|m| m.matches(facts)) {
                self.state
                    .scopes
                    .entry(ScopeKey::Group(key.clone()))
                    .or_default()
                    .insert(facts.user.id.clone());
            }
            if governed
                .owners_when
                .as_ref()
                .is_some_and(|m| m.matches(facts))
            {
                let g = &checked.groups[key];
                let pointer = &g.pointer;
                self.requests.push(Request {
                    group: g.value.name.clone(),
                    okta_id: &user.id,
                    role: TeamRole::Owner,
                    want_team: false,
                    reason: reason_at(
                        checked,
                        g.file,
                        &format!("{pointer}/owners"),
                        &format!("group {}: owners", g.value.name),
                    ),
                    file: g.file,
                    pointer,
                });
            }
        }
        for (i, governed) in governance.mirrors.iter().enumerate() {
            if governed.scope.as_ref().is_some_and(|m| m.matches(facts)) {
                self.state
                    .scopes
                    .entry(ScopeKey::Mirror(i))
                    .or_default()
                    .insert(facts.user.id.clone());
            }
        }
    }

    /// Picks one value from what several rules want (value, priority,
    /// reason), or reports the conflict.
    fn settle<'v>(
        &mut self,
        login: &str,
        name: &str,
        candidates: impl Iterator<Item = (&'v str, i32, &'v Reason)> + Clone,
    ) -> Option<Sourced<CompactString>> {
        let top = candidates.clone().map(|c| c.1).max()?;
        let mut winners = candidates.filter(|c| c.1 == top);
        let first = winners.next()?;
        let mut reasons: Reasons = smallvec::smallvec![first.2.clone()];
        for other in winners {
            if other.0 != first.0 {
                let (a, b) = (first.2, other.2);
                self.diagnostics.push(
                    Diagnostic::error(
                        Some(crate::policy::Location { file: b.file.to_string(), line: b.line, col: 5 }),
                        format!(
                            "rules `{}` ({}:{}) and `{}` ({}:{}) set `{name}` of `{login}` to different values: `{}` and `{}`",
                            a.rule, a.file, a.line, b.rule, b.file, b.line, first.0, other.0
                        ),
                    )
                    .with_hint("give one rule a higher `priority`, or narrow their `when`"),
                );
                return None;
            }
            reasons.push(other.2.clone());
        }
        Some(Sourced {
            value: first.0.into(),
            reasons,
        })
    }

    fn guest(
        &mut self,
        user: &'a okta::User,
        g: &'a crate::policy::check::CheckedGuest,
        ctx: &UserContext,
        login: &str,
    ) {
        let item = &self.checked.policy.guests[g.index];
        let reason = self.guest_reasons[g.index].clone();
        let mail = self.render(&g.mail, ctx, login);
        let display = self.render(&g.display_name, ctx, login);
        let (Some(Rendered::One(mail)), Some(Rendered::One(display_name))) = (mail, display) else {
            return;
        };
        for t in &g.groups {
            if let Some(names) = self.render(t, ctx, login) {
                for group in names.into_vec().into_iter().filter(|s| !s.is_empty()) {
                    self.requests.push(Request {
                        group,
                        okta_id: &user.id,
                        role: TeamRole::Member,
                        want_team: false,
                        reason: reason.clone(),
                        file: t.file,
                        pointer: &t.pointer,
                    });
                }
            }
        }
        for t in &g.teams {
            if let Some(names) = self.render(t, ctx, login) {
                for group in names.into_vec().into_iter().filter(|s| !s.is_empty()) {
                    self.requests.push(Request {
                        group,
                        okta_id: &user.id,
                        role: TeamRole::Member,
                        want_team: true,
                        reason: reason.clone(),
                        file: t.file,
                        pointer: &t.pointer,
                    });
                }
            }
        }
        self.state.guests.insert(
            user.id.clone(),
            DesiredGuest {
                okta_id: user.id.clone(),
                mail: mail.to_lowercase(),
                display_name,
                redirect_url: item.value.redirect_url.clone(),
                send_invitation: item.value.send_invitation,
                on_leave: item.value.on_leave,
                reasons: vec![reason],
            },
        );
    }
}

/// Renders `t`, or records who it failed for (reported once per template).
fn render_or_record(
    failures: &mut BTreeMap<(usize, String), (String, Vec<String>)>,
    t: &Located<Template>,
    ctx: &dyn Context,
    who: &str,
) -> Option<Rendered> {
    match t.value.render(ctx) {
        Ok(r) => Some(r),
        Err(e) => {
            failures
                .entry((t.file, t.pointer.clone()))
                .or_insert_with(|| (describe_render_error(&e), Vec::new()))
                .1
                .push(who.to_owned());
            None
        }
    }
}

/// What a [`UserPass`] found, without its borrows of the compiler.
struct PassResult<'a> {
    state: DesiredState,
    diagnostics: Vec<Diagnostic>,
    render_failures: BTreeMap<(usize, String), (String, Vec<String>)>,
    requests: Vec<Request<'a>>,
}

fn reason_at(checked: &Checked, file: usize, pointer: &str, rule: &str) -> Reason {
    let at = checked.policy.location(file, pointer);
    Reason::new(at.file, at.line, rule)
}

/// Every value of lookup table `table` (lists flattened).
fn lookup_values(checked: &Checked, table: &str) -> Option<Vec<String>> {
    let table = checked.policy.lookups.get(table)?;
    Some(
        table
            .value
            .values()
            .flat_map(|v| match v {
                LookupValue::One(s) => vec![s.clone()],
                LookupValue::Many(v) => v.clone(),
            })
            .collect(),
    )
}

/// The desired form of a `members.scope`.
fn scope_of(scope: &crate::policy::types::MemberScope, key: ScopeKey) -> ScopeOf {
    match scope {
        crate::policy::types::MemberScope::Managed => ScopeOf::Managed,
        crate::policy::types::MemberScope::Guests => ScopeOf::Guests,
        crate::policy::types::MemberScope::When(_) => ScopeOf::When(key),
    }
}

fn merge_member(
    members: &mut BTreeMap<OktaUserId, Sourced<TeamRole>>,
    id: OktaUserId,
    role: Sourced<TeamRole>,
) {
    match members.get_mut(&id) {
        Some(existing) => {
            existing.value = existing.value.max(role.value);
            for r in role.reasons {
                if !existing.reasons.contains(&r) {
                    existing.reasons.push(r);
                }
            }
        }
        None => {
            members.insert(id, role);
        }
    }
}

fn describe_render_error(e: &RenderError) -> String {
    match e {
        RenderError::Missing(v) => format!("`{v}` is not set"),
        other => other.to_string(),
    }
}

/// "did you mean `X`?" when a known name is close to `name`, otherwise
/// `{known_prefix} `A`, `B`, …`: the hint for an unknown SKU or service plan.
fn suggest<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    known_prefix: &str,
) -> String {
    match did_you_mean(name, known.clone()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "{known_prefix} {}",
            known
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load::{PolicySource, load};

    fn compile_text(text: &str, users: &str) -> (DesiredState, Vec<String>) {
        let (policy, d) = load(&[PolicySource {
            path: "p.yaml".into(),
            text: text.into(),
        }]);
        assert!(d.is_empty(), "{d:?}");
        let (checked, d) = crate::policy::check::check(policy.unwrap());
        assert!(d.is_empty(), "{d:?}");
        let source = SourceState {
            users: serde_json::from_str(users).unwrap(),
            ..Default::default()
        };
        let (state, d) = compile(&checked.unwrap(), &source, &[]);
        (state, d.iter().map(Diagnostic::render_plain).collect())
    }

    const USER: &str =
        r#"[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@x.example","title":"Dev"}}]"#;

    #[test]
    fn the_higher_priority_wins_and_agreeing_rules_share_the_value() {
        let (state, d) = compile_text(
            concat!(
                "rules:\n",
                "  - name: base\n    when: { everyone: true }\n    attributes:\n",
                "      userPrincipalName: \"{{ profile.login }}\"\n      jobTitle: Staff\n      department: Eng\n",
                "  - name: titles\n    priority: 10\n    when: { everyone: true }\n",
                "    attributes: { jobTitle: \"{{ profile.title }}\", department: Eng }\n",
            ),
            USER,
        );
        assert!(d.is_empty(), "{d:#?}");
        let user = &state.users[&OktaUserId::from("00u1")];
        assert_eq!(user.attributes["jobTitle"].value, "Dev");
        assert_eq!(user.attributes["jobTitle"].reasons.len(), 1);
        let department = &user.attributes["department"];
        assert_eq!(department.value, "Eng");
        let rules: Vec<&str> = department.reasons.iter().map(|r| &*r.rule).collect();
        assert_eq!(rules, ["titles"], "only the higher priority's rule counts");
    }

    #[test]
    fn two_shares_compile_exactly_what_one_does() {
        use crate::generate::{Params, generate};
        let files = generate(&Params {
            users: 800,
            groups: 40,
            seed: 7,
        });
        let file =
            |name: &str| -> &[u8] { &files.iter().find(|(path, _)| path == name).expect(name).1 };
        let sources: Vec<PolicySource> = files
            .iter()
            .filter(|(path, _)| path.starts_with("policies/"))
            .map(|(path, text)| PolicySource {
                path: path.into(),
                text: String::from_utf8(text.clone()).unwrap(),
            })
            .collect();
        let (policy, _) = load(&sources);
        let (checked, _) = crate::policy::check::check(policy.unwrap());
        let checked = checked.unwrap();
        let source = SourceState {
            users: serde_json::from_slice(file("okta/users.json")).unwrap(),
            groups: serde_json::from_slice(file("okta/groups.json")).unwrap(),
            members: serde_json::from_slice(file("okta/group-members.json")).unwrap(),
        };
        let skus: Vec<SubscribedSku> =
            serde_json::from_slice(file("m365/subscribedSkus.json")).unwrap();
        let one = compile_in_shares(&checked, &source, &skus, &Options::default(), usize::MAX);
        let two = compile_in_shares(&checked, &source, &skus, &Options::default(), 1);
        assert!(one.0.users.len() > 500, "a real amount of work");
        assert!(one.0.groups.values().any(|g| !g.members.is_empty()));
        assert!(one == two, "the shares change nothing");
    }

    #[test]
    fn equal_priorities_that_disagree_are_an_error_naming_both_rules() {
        let (state, d) = compile_text(
            concat!(
                "rules:\n",
                "  - name: one\n    when: { everyone: true }\n    attributes:\n",
                "      userPrincipalName: \"{{ profile.login }}\"\n      jobTitle: Staff\n",
                "  - name: two\n    when: { everyone: true }\n    attributes: { jobTitle: Lead }\n",
            ),
            USER,
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(
            d[0].contains("rules `one` (p.yaml:2) and `two` (p.yaml:7) set `jobTitle` of `a@x.example` to different values: `Staff` and `Lead`"),
            "{d:#?}"
        );
        let user = &state.users[&OktaUserId::from("00u1")];
        assert!(
            !user.attributes.contains_key("jobTitle"),
            "no value is picked"
        );
    }
}
