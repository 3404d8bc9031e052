//! Coverage of the policies by their tests: which rules, guest rules and
//! mirrors some case exercised (their reason appears in a desired state),
//! and which lookup table entries some case looked up (the templates of
//! the rules that applied are rendered again, recording each lookup).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::compile::DesiredState;
use crate::compile::context::{GroupContext, UserContext};
use crate::model::state::SourceState;
use crate::policy::check::Checked;
use crate::policy::template::{Context, Rendered, Template};

/// What one case exercised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exercised {
    /// Policy items (file, line) that some desired value came from.
    pub items: BTreeSet<(String, u32)>,
    /// Lookup entries (table, key) that some template found.
    pub lookups: BTreeSet<(String, String)>,
}

impl Exercised {
    /// Adds what another case exercised.
    pub fn extend(&mut self, other: &Self) {
        self.items.extend(other.items.iter().cloned());
        self.lookups.extend(other.lookups.iter().cloned());
    }
}

/// A template context over an Okta user or group (the compiler's own) that
/// records every lookup entry it finds.
struct Recording<'a> {
    inner: &'a dyn Context,
    found: RefCell<BTreeSet<(String, String)>>,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a dyn Context) -> Self {
        Self {
            inner,
            found: RefCell::default(),
        }
    }
}

impl Context for Recording<'_> {
    fn variable(&self, path: &[String]) -> Option<Rendered> {
        self.inner.variable(path)
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        let value = self.inner.lookup(table, key)?;
        self.found
            .borrow_mut()
            .insert((table.to_owned(), key.to_owned()));
        Some(value)
    }
}

fn render_all<'t>(ctx: &Recording, templates: impl Iterator<Item = &'t Template>) {
    for t in templates {
        // A failure is the compiler's to report; only the lookups matter here.
        let _ = t.render(ctx);
    }
}

/// What `desired` (compiled from `source`) exercised of the policies.
pub fn exercised<'a>(
    checked: &Checked,
    source: &SourceState,
    desired: &'a DesiredState,
) -> Exercised {
    let mut out = Exercised::default();
    let mut per_user: BTreeMap<&str, BTreeSet<(String, u32)>> = BTreeMap::new();
    let mut note = |id: &'a str, r: &crate::model::Reason| {
        let key = (r.file.to_string(), r.line);
        per_user.entry(id).or_default().insert(key);
    };
    for (id, u) in &desired.users {
        let reasons = u
            .enabled
            .reasons
            .iter()
            .chain(u.attributes.values().flat_map(|a| &a.reasons))
            .chain(u.licenses.values().flat_map(|l| &l.reasons))
            .chain(u.manager.iter().flat_map(|m| &m.reasons));
        for r in reasons {
            note(id.as_str(), r);
        }
    }
    for (id, g) in &desired.guests {
        for r in &g.reasons {
            note(id.as_str(), r);
        }
    }
    for g in desired.groups.values() {
        for r in &g.reasons {
            out.items.insert((r.file.to_string(), r.line));
        }
        for (id, m) in &g.members {
            for r in &m.reasons {
                note(id.as_str(), r);
            }
        }
    }
    let at = |file: usize, pointer: &str| {
        let l = checked.policy.location(file, pointer);
        (l.file, l.line)
    };
    for user in &source.users {
        let Some(items) = per_user.get(user.id.as_str()) else {
            continue;
        };
        out.items.extend(items.iter().cloned());
        let user_ctx = UserContext {
            user,
            lookups: &checked.policy.lookups,
        };
        let ctx = Recording::new(&user_ctx);
        for rule in &checked.rules {
            let item = &checked.policy.rules[rule.index];
            if !items.contains(&at(item.file, &item.pointer)) {
                continue;
            }
            let templates = (rule.attributes.iter().map(|(_, t)| &t.value))
                .chain(rule.licenses.iter().map(|(t, _)| &t.value))
                .chain(rule.groups.iter().map(|t| &t.value))
                .chain(rule.teams.iter().map(|(t, _)| &t.value));
            render_all(&ctx, templates);
        }
        for guest in &checked.guests {
            let item = &checked.policy.guests[guest.index];
            if !items.contains(&at(item.file, &item.pointer)) {
                continue;
            }
            let templates = [&guest.mail.value, &guest.display_name.value]
                .into_iter()
                .chain(guest.groups.iter().map(|t| &t.value))
                .chain(guest.teams.iter().map(|t| &t.value));
            render_all(&ctx, templates);
        }
        out.lookups.extend(ctx.found.into_inner());
    }
    for mirror in &checked.mirrors {
        let item = &checked.policy.mirrors[mirror.index];
        if !out.items.contains(&at(item.file, &item.pointer)) {
            continue;
        }
        for group in &source.groups {
            if !mirror.okta_groups.is_match(&group.profile.name) {
                continue;
            }
            let group_ctx = GroupContext {
                group,
                lookups: &checked.policy.lookups,
            };
            let ctx = Recording::new(&group_ctx);
            let templates = std::iter::once(&mirror.group_name.value)
                .chain(mirror.display_name.iter().map(|t| &t.value));
            render_all(&ctx, templates);
            out.lookups.extend(ctx.found.into_inner());
        }
    }
    out
}

/// Lines naming what no case exercised: rules, guest rules, mirrors, lookup
/// tables, and lookup entries. Empty when the tests cover everything.
pub fn gaps(checked: &Checked, exercised: &Exercised) -> Vec<String> {
    let mut out = Vec::new();
    let policy = &checked.policy;
    let mut item = |kind: &str, name: &str, file: usize, pointer: &str| {
        let l = policy.location(file, pointer);
        if !exercised.items.contains(&(l.file.clone(), l.line)) {
            out.push(format!(
                "{kind} `{name}` ({}:{}) is exercised by no test",
                l.file, l.line
            ));
        }
    };
    for r in &policy.rules {
        item("rule", &r.value.name, r.file, &r.pointer);
    }
    for g in &policy.guests {
        item("guest rule", &g.value.name, g.file, &g.pointer);
    }
    for m in &policy.mirrors {
        item("mirror", &m.value.name, m.file, &m.pointer);
    }
    for (table, entries) in &policy.lookups {
        let unused: Vec<&str> = entries
            .value
            .keys()
            .filter(|k| !exercised.lookups.contains(&(table.clone(), (*k).clone())))
            .map(String::as_str)
            .collect();
        if unused.is_empty() {
            continue;
        }
        let l = policy.location(entries.file, &entries.pointer);
        if unused.len() == entries.value.len() {
            out.push(format!(
                "lookup `{table}` ({}:{}) is used by no test",
                l.file, l.line
            ));
        } else {
            out.push(format!(
                "lookup `{table}` ({}:{}): {} of {} entries used by no test: {}",
                l.file,
                l.line,
                unused.len(),
                entries.value.len(),
                unused.join(", ")
            ));
        }
    }
    out
}

/// Counts for the coverage summary: (kind, exercised, total).
pub fn summary(checked: &Checked, exercised: &Exercised) -> Vec<(&'static str, usize, usize)> {
    let policy = &checked.policy;
    let hit = |file: usize, pointer: &str| {
        let l = policy.location(file, pointer);
        exercised.items.contains(&(l.file, l.line))
    };
    let count = |items: Vec<(usize, &str)>| {
        (
            items.iter().filter(|(f, p)| hit(*f, p)).count(),
            items.len(),
        )
    };
    let rules = count(
        policy
            .rules
            .iter()
            .map(|r| (r.file, r.pointer.as_str()))
            .collect(),
    );
    let guests = count(
        policy
            .guests
            .iter()
            .map(|r| (r.file, r.pointer.as_str()))
            .collect(),
    );
    let mirrors = count(
        policy
            .mirrors
            .iter()
            .map(|r| (r.file, r.pointer.as_str()))
            .collect(),
    );
    let entries: usize = policy.lookups.values().map(|t| t.value.len()).sum();
    let used = policy
        .lookups
        .iter()
        .map(|(name, t)| {
            t.value
                .keys()
                .filter(|k| exercised.lookups.contains(&(name.clone(), (*k).clone())))
                .count()
        })
        .sum();
    vec![
        ("rules", rules.0, rules.1),
        ("guest rules", guests.0, guests.1),
        ("mirrors", mirrors.0, mirrors.1),
        ("lookup entries", used, entries),
    ]
}
