//! Semantic checks a schema cannot express, done once before any user is
//! compiled: unique names, templates that parse and name known variables and
//! lookup tables, known attribute names, groups and Teams that exist, sound
//! selectors. The result, [`Checked`], holds the parsed templates and
//! compiled selectors the rules engine runs.

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::load::{Item, Policy};
use super::selector::Matcher;
use super::template::Template;
use super::types::{AccountState, GroupDef, GroupKind, TeamRole};

/// Graph user properties a rule may set.
pub const USER_ATTRIBUTES: &[&str] = &[
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "jobTitle",
    "department",
    "officeLocation",
    "employeeId",
    "employeeType",
    "usageLocation",
    "companyName",
    "city",
    "state",
    "country",
    "streetAddress",
    "postalCode",
    "mobilePhone",
    "preferredLanguage",
    "manager",
];

const RULE_VARIABLES: &[&str] = &[
    "profile.<attribute>",
    "user.id",
    "user.login",
    "user.status",
];
const GROUP_VARIABLES: &[&str] = &["group.name", "group.id", "group.description"];

/// A template with where it was written.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// File index.
    pub file: usize,
    /// JSON pointer.
    pub pointer: String,
}

/// A provisioning rule, ready to run.
#[derive(Clone, Debug)]
pub struct CheckedRule {
    /// Index into `Policy::rules`.
    pub index: usize,
    /// The compiled `when`.
    pub matcher: Matcher,
    /// Attribute name → template.
    pub attributes: Vec<(String, Located<Template>)>,
    /// SKU template and disabled plan names.
    pub licenses: Vec<(Located<Template>, Vec<String>)>,
    /// Group name templates.
    pub groups: Vec<Located<Template>>,
    /// Team name templates with roles.
    pub teams: Vec<(Located<Template>, TeamRole)>,
    /// Account state, if the rule sets it.
    pub account: Option<AccountState>,
}

/// A guest rule, ready to run.
#[derive(Clone, Debug)]
pub struct CheckedGuest {
    /// Index into `Policy::guests`.
    pub index: usize,
    /// The compiled `when`.
    pub matcher: Matcher,
    /// Template of the invited address.
    pub mail: Located<Template>,
    /// Template of the display name.
    pub display_name: Located<Template>,
    /// Group name templates.
    pub groups: Vec<Located<Template>>,
    /// Team name templates.
    pub teams: Vec<Located<Template>>,
}

/// A mirroring rule, ready to run.
#[derive(Clone, Debug)]
pub struct CheckedMirror {
    /// Index into `Policy::mirrors`.
    pub index: usize,
    /// Okta group name matcher.
    pub okta_groups: globset::GlobMatcher,
    /// Template of the mail nickname.
    pub group_name: Located<Template>,
    /// Template of the display name.
    pub display_name: Option<Located<Template>>,
}

/// A policy that passed every static check.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The policy.
    pub policy: Policy,
    /// Rules in file order.
    pub rules: Vec<CheckedRule>,
    /// Guest rules.
    pub guests: Vec<CheckedGuest>,
    /// Mirroring rules.
    pub mirrors: Vec<CheckedMirror>,
    /// Defined groups by lowercased name.
    pub groups: BTreeMap<String, Item<GroupDef>>,
    /// Which members and owners each group and mirror governs.
    pub governance: super::governance::Governance,
}

struct Checker<'a> {
    policy: &'a Policy,
    diagnostics: Vec<Diagnostic>,
}

/// Runs every static check. Returns the checked policy when there was no error.
pub fn check(policy: Policy) -> (Option<Checked>, Vec<Diagnostic>) {
    let mut c = Checker {
        policy: &policy,
        diagnostics: Vec::new(),
    };
    c.unique_names();
    let groups = c.groups();
    let rules = policy
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| c.rule(i, r, &groups))
        .collect::<Vec<_>>();
    let guests = policy
        .guests
        .iter()
        .enumerate()
        .map(|(i, g)| c.guest(i, g, &groups))
        .collect::<Vec<_>>();
    let mirrors = policy
        .mirrors
        .iter()
        .enumerate()
        .map(|(i, m)| c.mirror(i, m))
        .collect::<Vec<_>>();
    if !policy.rules.is_empty()
        && !policy
            .rules
            .iter()
            .any(|r| r.value.attributes.contains_key("userPrincipalName"))
    {
        c.diagnostics.push(
            Diagnostic::warning(
                Some(policy.item_location(&policy.rules[0])),
                "no rule sets `userPrincipalName`",
            )
            .with_hint(
                "new accounts need one, e.g. `userPrincipalName: \"{{ profile.login | lower }}\"`",
            ),
        );
    }
    let (governance, governance_diagnostics) = super::governance::check(&policy);
    c.diagnostics.extend(governance_diagnostics);
    // Names and values are echoed cut short (a hostile policy's are huge).
    let diagnostics: Vec<Diagnostic> = c
        .diagnostics
        .into_iter()
        .map(super::diagnostic::clip)
        .collect();
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    let checked = ok.then(|| Checked {
        rules: rules.into_iter().flatten().collect(),
        guests: guests.into_iter().flatten().collect(),
        mirrors: mirrors.into_iter().flatten().collect(),
        groups,
        governance,
        policy,
    });
    (checked, diagnostics)
}

impl Checker<'_> {
    fn error(
        &mut self,
        file: usize,
        pointer: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::error(Some(self.policy.location(file, pointer)), message);
        d.hint = hint;
        self.diagnostics.push(d);
    }

    fn unique_names(&mut self) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let names = self
            .policy
            .rules
            .iter()
            .map(|r| (&r.value.name, r.file, format!("{}/name", r.pointer)))
            .chain(
                self.policy
                    .guests
                    .iter()
                    .map(|g| (&g.value.name, g.file, format!("{}/name", g.pointer))),
            )
            .chain(
                self.policy
                    .mirrors
                    .iter()
                    .map(|m| (&m.value.name, m.file, format!("{}/name", m.pointer))),
            )
            .collect::<Vec<_>>();
        for (name, file, pointer) in names {
            let here = self.policy.location(file, &pointer).to_string();
            match seen.get(name) {
                Some(first) => {
                    let hint = Some(format!(
                        "the first is at {first}; names must be unique across rules, guests and mirrors"
                    ));
                    self.error(
                        file,
                        &pointer,
                        format!("duplicate rule name `{name}`"),
                        hint,
                    );
                }
                None => {
                    seen.insert(name.clone(), here);
                }
            }
        }
    }

    fn groups(&mut self) -> BTreeMap<String, Item<GroupDef>> {
        let mut groups = BTreeMap::new();
        for g in &self.policy.groups {
            let key = g.value.name.to_lowercase();
            let name_ptr = format!("{}/name", g.pointer);
            if g.value.name.is_empty()
                || g.value
                    .name
                    .contains(|c: char| c.is_whitespace() || "@()\\[]\";:<>,".contains(c))
            {
                self.error(
                    g.file,
                    &name_ptr,
                    format!("`{}` cannot be a mail nickname", g.value.name),
                    Some("use ASCII letters, digits, `.`, `-` and `_`; put the readable name in `display_name`".into()),
                );
            }
            if g.value.team && g.value.kind == GroupKind::Security {
                self.error(
                    g.file,
                    &format!("{}/team", g.pointer),
                    "a security group cannot carry a Team",
                    Some("use `kind: unified`".into()),
                );
            }
            if let Some(first) = groups.get(&key) {
                let first_at = self.policy.item_location(first).to_string();
                self.error(
                    g.file,
                    &name_ptr,
                    format!("group `{}` is defined twice", g.value.name),
                    Some(format!("the first is at {first_at}")),
                );
                continue;
            }
            groups.insert(key, g.clone());
        }
        groups
    }

    fn template(
        &mut self,
        file: usize,
        pointer: &str,
        text: &str,
        allowed: &[&str],
    ) -> Option<Located<Template>> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                let mut d = Diagnostic::error(
                    Some(self.policy.location_in_string(file, pointer, e.offset)),
                    e.message,
                );
                d.hint = e.hint;
                self.diagnostics.push(d);
                return None;
            }
        };
        let mut ok = true;
        for (path, offset) in template.variables() {
            let known = match (path.first().map(String::as_str), path.len()) {
                (Some("profile"), 2) => allowed.contains(&"profile.<attribute>"),
                _ => allowed.contains(&path.join(".").as_str()),
            };
            if !known {
                ok = false;
                let name = path.join(".");
                let hint = match did_you_mean(&name, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "variables here are {}",
                        allowed
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        Some(self.policy.location_in_string(file, pointer, offset)),
                        format!("unknown template variable `{name}`"),
                    )
                    .with_hint(hint),
                );
            }
        }
        for (table, offset) in template.lookups() {
            if !self.policy.lookups.contains_key(&table) {
                ok = false;
                let hint =
                    match did_you_mean(&table, self.policy.lookups.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "define it under `lookups:`".to_owned(),
                    };
                self.diagnostics.push(
                    Diagnostic::error(
                        Some(self.policy.location_in_string(file, pointer, offset)),
                        format!("unknown lookup table `{table}`"),
                    )
                    .with_hint(hint),
                );
            }
        }
        ok.then(|| Located {
            value: template,
            file,
            pointer: pointer.to_owned(),
        })
    }

    fn matcher(
        &mut self,
        file: usize,
        pointer: &str,
        selector: &super::types::Selector,
    ) -> Option<Matcher> {
        match Matcher::build(selector, pointer) {
            Ok(m) => Some(m),
            Err(errors) => {
                for (p, message) in errors {
                    self.error(file, &p, message, None);
                }
                None
            }
        }
    }

    fn group_ref(
        &mut self,
        file: usize,
        pointer: &str,
        template: &Template,
        text: &str,
        groups: &BTreeMap<String, Item<GroupDef>>,
        want_team: bool,
    ) {
        if !template.is_literal()
            || !self.policy.mirrors.is_empty() && !groups.contains_key(&text.to_lowercase())
        {
            return; // resolved per user at compile time (mirrors create names from Okta data)
        }
        match groups.get(&text.to_lowercase()) {
            None => {
                let hint = match did_you_mean(text, groups.values().map(|g| g.value.name.as_str()))
                {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "define it under `groups:`".to_owned(),
                };
                self.error(file, pointer, format!("unknown group `{text}`"), Some(hint));
            }
            Some(g) if want_team && !g.value.team => {
                let at = self.policy.item_location(g).to_string();
                self.error(
                    file,
                    pointer,
                    format!("group `{text}` has no Team"),
                    Some(format!(
                        "set `team: true` on it ({at}) or list it under `groups:`"
                    )),
                );
            }
            Some(_) => {}
        }
    }

    fn rule(
        &mut self,
        index: usize,
        item: &Item<super::types::Rule>,
        groups: &BTreeMap<String, Item<GroupDef>>,
    ) -> Option<CheckedRule> {
        let (file, base, rule) = (item.file, item.pointer.as_str(), &item.value);
        let matcher = self.matcher(file, &format!("{base}/when"), &rule.when);
        let mut attributes = Vec::new();
        for (name, text) in &rule.attributes {
            let pointer = format!("{base}/attributes/{}", super::yaml::escape(name));
            if !USER_ATTRIBUTES.contains(&name.as_str()) && !name.starts_with("extension_") {
                let hint = match did_you_mean(name, USER_ATTRIBUTES.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "see docs/policy.md for the attributes okta365 manages".to_owned(),
                };
                let at = self.policy.key_location(file, &pointer);
                self.diagnostics.push(
                    Diagnostic::error(Some(at), format!("unknown user attribute `{name}`"))
                        .with_hint(hint),
                );
                continue;
            }
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                attributes.push((name.clone(), t));
            }
        }
        let mut licenses = Vec::new();
        for (i, grant) in rule.licenses.iter().enumerate() {
            if let Some(t) = self.template(
                file,
                &format!("{base}/licenses/{i}/sku"),
                &grant.sku,
                RULE_VARIABLES,
            ) {
                licenses.push((t, grant.disabled_plans.clone()));
            }
        }
        let mut group_refs = Vec::new();
        for (i, text) in rule.groups.iter().enumerate() {
            let pointer = format!("{base}/groups/{i}");
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, text, groups, false);
                group_refs.push(t);
            }
        }
        let mut teams = Vec::new();
        for (i, grant) in rule.teams.iter().enumerate() {
            let pointer = format!("{base}/teams/{i}/team");
            if let Some(t) = self.template(file, &pointer, &grant.team, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, &grant.team, groups, true);
                teams.push((t, grant.role));
            }
        }
        Some(CheckedRule {
            index,
            matcher: matcher?,
            attributes,
            licenses,
            groups: group_refs,
            teams,
            account: rule.account,
        })
    }

    fn guest(
        &mut self,
        index: usize,
        item: &Item<super::types::GuestRule>,
        groups: &BTreeMap<String, Item<GroupDef>>,
    ) -> Option<CheckedGuest> {
        let (file, base, g) = (item.file, item.pointer.as_str(), &item.value);
        let matcher = self.matcher(file, &format!("{base}/when"), &g.when);
        if !g.redirect_url.starts_with("https://") {
            self.error(
                file,
                &format!("{base}/redirect_url"),
                "`redirect_url` must be an https:// URL",
                Some("for example https://myapps.microsoft.com".into()),
            );
        }
        let mail = self.template(file, &format!("{base}/mail"), &g.mail, RULE_VARIABLES);
        let display_name = self.template(
            file,
            &format!("{base}/display_name"),
            &g.display_name,
            RULE_VARIABLES,
        );
        let mut group_refs = Vec::new();
        for (i, text) in g.groups.iter().enumerate() {
            let pointer = format!("{base}/groups/{i}");
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, text, groups, false);
                group_refs.push(t);
            }
        }
        let mut teams = Vec::new();
        for (i, text) in g.teams.iter().enumerate() {
            let pointer = format!("{base}/teams/{i}");
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, text, groups, true);
                teams.push(t);
            }
        }
        Some(CheckedGuest {
            index,
            matcher: matcher?,
            mail: mail?,
            display_name: display_name?,
            groups: group_refs,
            teams,
        })
    }

    fn mirror(&mut self, index: usize, item: &Item<super::types::Mirror>) -> Option<CheckedMirror> {
        let (file, base, m) = (item.file, item.pointer.as_str(), &item.value);
        if m.team && m.kind == GroupKind::Security {
            self.error(
                file,
                &format!("{base}/team"),
                "a security group cannot carry a Team",
                Some("use `kind: unified`".into()),
            );
        }
        let okta_groups = match super::selector::glob(&m.okta_groups) {
            Ok(g) => Some(g),
            Err(e) => {
                self.error(file, &format!("{base}/okta_groups"), e, None);
                None
            }
        };
        let group_name = self.template(
            file,
            &format!("{base}/group_name"),
            &m.group_name,
            GROUP_VARIABLES,
        );
        let display_name = match &m.display_name {
            Some(text) => {
                Some(self.template(file, &format!("{base}/display_name"), text, GROUP_VARIABLES)?)
            }
            None => None,
        };
        Some(CheckedMirror {
            index,
            okta_groups: okta_groups?,
            group_name: group_name?,
            display_name,
        })
    }
}

/// Names of the Okta groups a checked policy refers to (for scoped reads).
pub fn referenced_okta_groups(checked: &Checked) -> (BTreeSet<String>, BTreeSet<String>) {
    fn walk(
        s: &super::types::Selector,
        names: &mut BTreeSet<String>,
        globs: &mut BTreeSet<String>,
    ) {
        use super::types::Selector::*;
        match s {
            All(v) | Any(v) => v.iter().for_each(|s| walk(s, names, globs)),
            Not(s) => walk(s, names, globs),
            Group(g) if g.contains(['*', '?', '[']) => {
                globs.insert(g.clone());
            }
            Group(g) => {
                names.insert(g.clone());
            }
            _ => {}
        }
    }
    let (mut names, mut globs) = (BTreeSet::new(), BTreeSet::new());
    for r in &checked.policy.rules {
        walk(&r.value.when, &mut names, &mut globs);
    }
    for g in &checked.policy.guests {
        walk(&g.value.when, &mut names, &mut globs);
    }
    for m in &checked.policy.mirrors {
        globs.insert(m.value.okta_groups.clone());
    }
    // Governance selectors (`members.scope.when`, `owners.when`) read Okta groups too.
    let owners_when = |o: Option<&super::types::Owners>| o.and_then(|o| o.when.clone());
    let scope_when = |m: &super::types::MemberGovernance| match &m.scope {
        super::types::MemberScope::When(s) => Some(s.clone()),
        _ => None,
    };
    let governance = checked
        .policy
        .groups
        .iter()
        .flat_map(|g| {
            [
                scope_when(&g.value.members),
                owners_when(g.value.owners.as_ref()),
            ]
        })
        .chain(checked.policy.mirrors.iter().flat_map(|m| {
            [
                scope_when(&m.value.members),
                owners_when(m.value.owners.as_ref().map(|o| o.spec()).as_ref()),
            ]
        }));
    for s in governance.flatten() {
        walk(&s, &mut names, &mut globs);
    }
    (names, globs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load::{PolicySource, load};

    fn diagnostics(text: &str) -> Vec<String> {
        let (policy, d) = load(&[PolicySource {
            path: "p.yaml".into(),
            text: text.into(),
        }]);
        assert!(d.is_empty(), "{d:?}");
        let (_, d) = check(policy.unwrap());
        d.iter().map(Diagnostic::render_plain).collect()
    }

    #[test]
    fn unknown_variable_lookup_and_filter_point_inside_the_string() {
        let d = diagnostics(concat!(
            "lookups:\n  usage: { US: US }\n",
            "rules:\n  - name: a\n    when: { everyone: true }\n    attributes:\n",
            "      userPrincipalName: \"{{ profle.login }}\"\n",
            "      usageLocation: \"{{ profile.countryCode | lookup('usag') }}\"\n",
            "      displayName: \"{{ profile.firstName | lowr }}\"\n",
        ));
        assert_eq!(d.len(), 3, "{d:#?}");
        assert!(
            d.iter()
                .any(|m| m.starts_with("p.yaml:8:48: error: unknown lookup table `usag`")),
            "{d:#?}"
        );
        assert!(
            d.iter()
                .any(|m| m
                    .starts_with("p.yaml:7:30: error: unknown template variable `profle.login`")),
            "{d:#?}"
        );
        assert!(
            d.iter()
                .any(|m| m.starts_with("p.yaml:9:44: error: unknown filter `lowr`")),
            "{d:#?}"
        );
    }

    #[test]
    fn duplicate_names_unknown_attributes_and_groups() {
        let d = diagnostics(concat!(
            "groups:\n  - { name: eng, kind: unified }\n",
            "rules:\n",
            "  - name: a\n    when: { everyone: true }\n    attributes: { jobTitel: x }\n    groups: [egn]\n",
            "  - name: a\n    when: { everyone: true }\n    teams: [{ team: eng }]\n",
        ));
        let joined = d.join("\n");
        assert!(
            joined.contains("p.yaml:8:11: error: duplicate rule name `a`"),
            "{joined}"
        );
        assert!(
            joined.contains("unknown user attribute `jobTitel`\n  hint: did you mean `jobTitle`?"),
            "{joined}"
        );
        assert!(
            joined.contains("unknown group `egn`\n  hint: did you mean `eng`?"),
            "{joined}"
        );
        assert!(joined.contains("group `eng` has no Team"), "{joined}");
    }
}
