//! The governance parts of group and mirror declarations, checked and
//! compiled once: which members a declaration governs (`members.scope`),
//! who owns it (`owners`), and which Okta groups a mirror takes
//! (`okta_group_types`, `okta_group_profile`). The planner reads these to
//! decide what it may add and remove; anything they do not govern is left
//! as it is.

use std::collections::BTreeMap;

use super::diagnostic::Diagnostic;
use super::load::{Item, Policy};
use super::selector::Matcher;
use super::types::{GroupDef, GroupKind, MemberScope, Mirror, Owners, Selector};

/// Compiled governance of one group or mirror.
#[derive(Clone, Debug, Default)]
pub struct Governed {
    /// `members.scope: {when: …}`, compiled.
    pub scope: Option<Matcher>,
    /// `owners.when`, compiled.
    pub owners_when: Option<Matcher>,
    /// The owners declaration, if any (a mirror's list form included).
    pub owners: Option<Owners>,
}

/// Compiled governance of every declaration.
#[derive(Clone, Debug, Default)]
pub struct Governance {
    /// Declared groups, by lowercased name.
    pub groups: BTreeMap<String, Governed>,
    /// Mirrors, by index into the policy's mirrors.
    pub mirrors: Vec<Governed>,
    /// `okta_group_profile` of each mirror, compiled.
    pub mirror_profiles: Vec<Option<Matcher>>,
}

/// Compiles and checks the governance of groups and mirrors.
pub fn check(policy: &Policy) -> (Governance, Vec<Diagnostic>) {
    let mut c = Checker {
        policy,
        diagnostics: Vec::new(),
    };
    let mut out = Governance::default();
    for g in &policy.groups {
        let governed = c.group(g);
        out.groups.insert(g.value.name.to_lowercase(), governed);
    }
    for m in &policy.mirrors {
        let (governed, profile) = c.mirror(m);
        out.mirrors.push(governed);
        out.mirror_profiles.push(profile);
    }
    (out, c.diagnostics)
}

struct Checker<'a> {
    policy: &'a Policy,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, file: usize, pointer: &str, message: impl Into<String>, hint: &str) {
        let d = Diagnostic::error(Some(self.policy.location(file, pointer)), message);
        self.diagnostics.push(if hint.is_empty() {
            d
        } else {
            d.with_hint(hint)
        });
    }

    fn matcher(&mut self, file: usize, pointer: &str, selector: &Selector) -> Option<Matcher> {
        match Matcher::build(selector, pointer) {
            Ok(m) => Some(m),
            Err(errors) => {
                for (p, message) in errors {
                    self.error(file, &p, message, "");
                }
                None
            }
        }
    }

    fn group(&mut self, item: &Item<GroupDef>) -> Governed {
        let (file, base, g) = (item.file, item.pointer.as_str(), &item.value);
        if g.visibility.is_some() && g.kind == GroupKind::Security {
            self.error(
                file,
                &format!("{base}/visibility"),
                "only Microsoft 365 groups have a visibility",
                "remove `visibility`, or use `kind: unified`",
            );
        }
        let scope = match &g.members.scope {
            MemberScope::When(s) => self.matcher(file, &format!("{base}/members/scope/when"), s),
            _ => None,
        };
        let owners_when = self.owners(file, &format!("{base}/owners"), g.owners.as_ref());
        Governed {
            scope,
            owners_when,
            owners: g.owners.clone(),
        }
    }

    fn mirror(&mut self, item: &Item<Mirror>) -> (Governed, Option<Matcher>) {
        let (file, base, m) = (item.file, item.pointer.as_str(), &item.value);
        if m.visibility.is_some() && m.kind == GroupKind::Security {
            self.error(
                file,
                &format!("{base}/visibility"),
                "only Microsoft 365 groups have a visibility",
                "remove `visibility`, or use `kind: unified`",
            );
        }
        if m.okta_group_types.is_empty() {
            self.error(
                file,
                &format!("{base}/okta_group_types"),
                "`okta_group_types` is empty, so the mirror takes no group",
                "list `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`, or remove the key for the default",
            );
        }
        let profile = m.okta_group_profile.as_ref().and_then(|s| {
            let pointer = format!("{base}/okta_group_profile");
            self.profile_only(file, &pointer, s);
            self.matcher(file, &pointer, s)
        });
        let scope = match &m.members.scope {
            MemberScope::When(s) => self.matcher(file, &format!("{base}/members/scope/when"), s),
            _ => None,
        };
        let owners = m.owners.as_ref().map(|o| o.spec());
        let owners_when = self.owners(file, &format!("{base}/owners"), owners.as_ref());
        (
            Governed {
                scope,
                owners_when,
                owners,
            },
            profile,
        )
    }

    fn owners(&mut self, file: usize, pointer: &str, owners: Option<&Owners>) -> Option<Matcher> {
        let owners = owners?;
        if let Some(fallback) = &owners.fallback
            && !fallback.contains('@')
        {
            self.error(
                file,
                &format!("{pointer}/fallback"),
                format!("`{fallback}` is not a user principal name"),
                "give the UPN of the account that takes over ownership",
            );
        }
        owners
            .when
            .as_ref()
            .and_then(|s| self.matcher(file, &format!("{pointer}/when"), s))
    }

    /// A group profile has attributes only: no group membership or status.
    fn profile_only(&mut self, file: usize, pointer: &str, s: &Selector) {
        match s {
            Selector::All(v) | Selector::Any(v) => {
                let key = if matches!(s, Selector::All(_)) { "all" } else { "any" };
                for (i, s) in v.iter().enumerate() {
                    self.profile_only(file, &format!("{pointer}/{key}/{i}"), s);
                }
            }
            Selector::Not(s) => self.profile_only(file, &format!("{pointer}/not"), s),
            Selector::Group(_) | Selector::Status(_) => self.error(
                file,
                pointer,
                "a group profile test takes `attribute` tests only",
                "test the Okta group's profile, e.g. `attribute: { name: description, glob: \"*squad*\" }`",
            ),
            Selector::Attribute(_) | Selector::Everyone(_) => {}
        }
    }
}
