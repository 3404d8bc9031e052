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
    /// `okta_groups` as written.
    pub pattern: String,
    /// Whether each mirrored group carries a Team.
    pub team: bool,
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
    /// Lookup entries (table, key, value) already reported as naming an
    /// unknown group, so a table used by several rules is reported once.
    reported_entries: BTreeSet<(String, String, String)>,
}

/// The groups the policies declare and the mirrors that make more.
struct Declared<'a> {
    groups: &'a BTreeMap<String, Item<GroupDef>>,
    mirrors: &'a [Option<CheckedMirror>],
}

/// Runs every static check. Returns the checked policy when there was no error.
pub fn check(policy: Policy) -> (Option<Checked>, Vec<Diagnostic>) {
    let mut c = Checker {
        policy: &policy,
        diagnostics: Vec::new(),
        reported_entries: BTreeSet::new(),
    };
    c.unique_names();
    let groups = c.groups();
    let mirrors = policy
        .mirrors
        .iter()
        .enumerate()
        .map(|(i, m)| c.mirror(i, m))
        .collect::<Vec<_>>();
    let declared = Declared {
        groups: &groups,
        mirrors: &mirrors,
    };
    let rules = policy
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| c.rule(i, r, &declared))
        .collect::<Vec<_>>();
    let guests = policy
        .guests
        .iter()
        .enumerate()
        .map(|(i, g)| c.guest(i, g, &declared))
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

    /// Checks the groups a group or Team template can name: its literal
    /// text, or every value of the lookup table it goes through. Names
    /// made from Okta data are checked when planning.
    fn group_ref(
        &mut self,
        file: usize,
        pointer: &str,
        template: &Template,
        declared: &Declared,
        want_team: bool,
    ) {
        if let Some(text) = template.literal() {
            if let Some((message, hint)) = group_problem(&text, declared, want_team) {
                self.error(file, pointer, message, Some(hint));
            }
            return;
        }
        let Some((table, _)) = template.lookups().pop() else {
            return;
        };
        let Some(values) = template.known_values(&|t| self.lookup_entries(t)) else {
            return;
        };
        for (value, key) in values {
            if value.is_empty() {
                continue; // an empty name is skipped when planning
            }
            let Some((message, hint)) = group_problem(&value, declared, want_team) else {
                continue;
            };
            match key {
                Some(key) => {
                    if !self
                        .reported_entries
                        .insert((table.clone(), key.clone(), value.clone()))
                    {
                        continue;
                    }
                    let item = &self.policy.lookups[&table];
                    let at = format!("{}/{}", item.pointer, super::yaml::escape(&key));
                    let used = self.policy.location(file, pointer);
                    self.error(
                        item.file,
                        &at,
                        format!("lookup table `{table}` entry `{key}`: {message}"),
                        Some(format!("{hint} (the table names groups for {used})")),
                    );
                }
                None => self.error(file, pointer, format!("the default: {message}"), Some(hint)),
            }
        }
    }

    /// Checks the SKU names a licence template can give (its literal text,
    /// or the values of the lookup table it goes through) for their form:
    /// which SKUs exist only the tenant knows, and `plan` checks that.
    fn sku_ref(&mut self, file: usize, pointer: &str, template: &Template) {
        if let Some(text) = template.literal() {
            self.name_form(file, pointer, &text, "SKU");
            return;
        }
        let Some((table, _)) = template.lookups().pop() else {
            return;
        };
        let Some(values) = template.known_values(&|t| self.lookup_entries(t)) else {
            return;
        };
        for (value, key) in values {
            if value.is_empty() {
                continue;
            }
            match key {
                Some(key) => {
                    if !self
                        .reported_entries
                        .insert((table.clone(), key.clone(), value.clone()))
                    {
                        continue;
                    }
                    let item = &self.policy.lookups[&table];
                    let at = format!("{}/{}", item.pointer, super::yaml::escape(&key));
                    self.name_form(item.file, &at, &value, "SKU");
                }
                None => self.name_form(file, pointer, &value, "SKU"),
            }
        }
    }

    /// A SKU part number or service plan name has the form Graph gives
    /// them: no surrounding spaces or control characters (an error), and
    /// not a product's display name (`Office 365 E3`, a warning: a few
    /// real part numbers have spaces, none is only words).
    fn name_form(&mut self, file: usize, pointer: &str, name: &str, what: &str) {
        let at = Some(self.policy.location(file, pointer));
        let example = if what == "SKU" {
            "`SPE_E3`, `ENTERPRISEPACK`"
        } else {
            "`YAMMER_ENTERPRISE`, `SWAY`"
        };
        if name.trim() != name || name.chars().any(char::is_control) || name.is_empty() {
            self.diagnostics.push(
                Diagnostic::error(at, format!("`{name}` is not a {what} name"))
                    .with_hint(format!(
                        "write the {what}'s name as Graph gives it, e.g. {example}, without spaces around it"
                    )),
            );
        } else if name.contains(' ') && !name.contains('_') {
            self.diagnostics.push(
                Diagnostic::warning(at, format!("`{name}` looks like a product name, not a {what} name"))
                    .with_hint(format!(
                        "licences are named as `GET /subscribedSkus` gives them, e.g. {example}; `plan` checks the name against the tenant"
                    )),
            );
        }
    }

    /// A lookup table's entries as (key, values).
    fn lookup_entries(&self, table: &str) -> Vec<super::template::LookupEntry> {
        let Some(item) = self.policy.lookups.get(table) else {
            return Vec::new();
        };
        item.value
            .iter()
            .map(|(k, v)| {
                let values = match v {
                    super::types::LookupValue::One(s) => vec![s.clone()],
                    super::types::LookupValue::Many(v) => v.clone(),
                };
                (k.clone(), values)
            })
            .collect()
    }

    fn rule(
        &mut self,
        index: usize,
        item: &Item<super::types::Rule>,
        declared: &Declared,
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
            let pointer = format!("{base}/licenses/{i}/sku");
            if let Some(t) = self.template(file, &pointer, &grant.sku, RULE_VARIABLES) {
                self.sku_ref(file, &pointer, &t.value);
                licenses.push((t, grant.disabled_plans.clone()));
            }
            for (j, plan) in grant.disabled_plans.iter().enumerate() {
                let at = format!("{base}/licenses/{i}/disabled_plans/{j}");
                self.name_form(file, &at, plan, "service plan");
            }
        }
        let mut group_refs = Vec::new();
        for (i, text) in rule.groups.iter().enumerate() {
            let pointer = format!("{base}/groups/{i}");
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, declared, false);
                group_refs.push(t);
            }
        }
        let mut teams = Vec::new();
        for (i, grant) in rule.teams.iter().enumerate() {
            let pointer = format!("{base}/teams/{i}/team");
            if let Some(t) = self.template(file, &pointer, &grant.team, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, declared, true);
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
        declared: &Declared,
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
                self.group_ref(file, &pointer, &t.value, declared, false);
                group_refs.push(t);
            }
        }
        let mut teams = Vec::new();
        for (i, text) in g.teams.iter().enumerate() {
            let pointer = format!("{base}/teams/{i}");
            if let Some(t) = self.template(file, &pointer, text, RULE_VARIABLES) {
                self.group_ref(file, &pointer, &t.value, declared, true);
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
            pattern: m.okta_groups.clone(),
            team: m.team,
            group_name: group_name?,
            display_name,
        })
    }
}

/// What is wrong with a group name a rule or guest rule uses, if anything:
/// (message, hint). A name no group declares may still come from a mirror.
fn group_problem(name: &str, declared: &Declared, want_team: bool) -> Option<(String, String)> {
    match declared.groups.get(&name.to_lowercase()) {
        Some(g) if want_team && !g.value.team => Some((
            format!("group `{name}` has no Team"),
            "set `team: true` on it, or list it under `groups:`".to_owned(),
        )),
        Some(_) => None,
        None => {
            let mirrored = declared
                .mirrors
                .iter()
                .flatten()
                .any(|m| (m.team || !want_team) && mirror_could_make(m, name));
            if mirrored {
                return None;
            }
            let names = declared.groups.values().map(|g| g.value.name.as_str());
            let hint = match did_you_mean(name, names) {
                Some(s) => format!("did you mean `{s}`?"),
                None if declared.mirrors.is_empty() => "define it under `groups:`".to_owned(),
                None => {
                    "define it under `groups:`; no mirror makes a group by that name".to_owned()
                }
            };
            Some((format!("unknown group `{name}`"), hint))
        }
    }
}

/// Whether a mirror could make a group with this mail nickname: its
/// `group_name` template could render it and, when the template is the Okta
/// group's name up to case and `slug`, the name fits `okta_groups`. When in
/// doubt, yes (the plan checks the names it actually makes).
fn mirror_could_make(m: &CheckedMirror, name: &str) -> bool {
    let template = &m.group_name.value;
    let pattern = globset::GlobBuilder::new(&template.pattern())
        .case_insensitive(true)
        .backslash_escape(true)
        .build();
    if pattern.is_ok_and(|p| !p.compile_matcher().is_match(name)) {
        return false;
    }
    let Some(slugged) = template.is_variable_up_to_case("group.name") else {
        return true;
    };
    if m.okta_groups.is_match(name) {
        return true;
    }
    if !slugged {
        return false;
    }
    // `slug` turns spaces into `-` and drops other punctuation: compare with
    // the pattern treated the same way, unless it has punctuation slug drops.
    let drops = |c: char| !(c.is_alphanumeric() || c.is_whitespace() || "._-*?[]!".contains(c));
    if m.pattern.chars().any(drops) {
        return true;
    }
    let slugged_pattern: String = m
        .pattern
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect();
    super::selector::glob(&slugged_pattern).is_ok_and(|g| g.is_match(name))
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
            Group(g) if g.is_glob() => {
                globs.insert(g.name().to_owned());
            }
            Group(g) => {
                names.insert(g.name().to_owned());
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

    #[test]
    fn group_names_resolve_through_declarations_mirrors_and_lookup_tables() {
        let d = diagnostics(concat!(
            "lookups:\n  dept_group:\n    Sales: sales\n    Finance: [finance, fnance]\n    Eng: Eng-Data\n    None: ''\n",
            "groups:\n  - { name: sales, kind: unified }\n  - { name: finance, kind: unified }\n",
            "mirrors:\n  - { name: squads, okta_groups: \"eng-*\", kind: unified }\n",
            "  - { name: teams, okta_groups: \"Team *\", kind: unified, team: true, group_name: \"t-{{ group.name | slug }}\" }\n",
            "rules:\n  - name: a\n    when: { everyone: true }\n    attributes: { userPrincipalName: \"{{ user.login }}\" }\n",
            "    groups: [eng-platform, incident-responder, \"{{ profile.department | lookup('dept_group') | lower }}\"]\n",
            "    teams: [{ team: t-team-blue }, { team: eng-platform }, { team: t-blue }]\n",
            "  - name: b\n    when: { everyone: true }\n    groups: [\"{{ profile.department | lookup('dept_group') | default('sale') }}\"]\n",
        ));
        let joined = d.join("\n");
        assert_eq!(d.len(), 4, "{joined}");
        // A literal no group declares and no mirror makes.
        assert!(
            joined.contains("p.yaml:17:28: error: unknown group `incident-responder`\n  hint: define it under `groups:`; no mirror makes a group by that name"),
            "{joined}"
        );
        // A lookup entry, reported at the entry, once for both rules.
        assert!(
            joined.contains("p.yaml:4:14: error: lookup table `dept_group` entry `Finance`: unknown group `fnance`\n  hint: did you mean `finance`? (the table names groups for p.yaml:17:48)"),
            "{joined}"
        );
        assert_eq!(joined.matches("`fnance`").count(), 1, "{joined}");
        // A default that names no group.
        assert!(
            joined.contains("p.yaml:21:14: error: the default: unknown group `sale`"),
            "{joined}"
        );
        // A mirror without Teams makes no Team; one whose names are not the
        // Okta name up to case may make any name its template fits (`t-*`).
        assert!(
            joined.contains("p.yaml:18:44: error: unknown group `eng-platform`"),
            "{joined}"
        );
    }

    #[test]
    fn sku_and_plan_names_are_checked_for_their_form() {
        let d = diagnostics(concat!(
            "lookups:\n  bundle: { Sales: [POWER_BI_PRO, \"Power BI Pro\"], Eng: \" SPE_E5\" }\n",
            "rules:\n  - name: a\n    when: { everyone: true }\n    attributes: { userPrincipalName: \"{{ user.login }}\" }\n",
            "    licenses:\n      - sku: Office 365 E3\n        disabled_plans: [\"SWAY \"]\n",
            "      - sku: \"Microsoft_365_E5_(no Teams)\"\n",
            "      - sku: \"{{ profile.department | lookup('bundle') }}\"\n",
        ));
        let joined = d.join("\n");
        assert_eq!(d.len(), 4, "{joined}");
        assert!(
            joined.contains(
                "p.yaml:8:14: warning: `Office 365 E3` looks like a product name, not a SKU name"
            ),
            "{joined}"
        );
        assert!(
            joined.contains("p.yaml:9:26: error: `SWAY ` is not a service plan name"),
            "{joined}"
        );
        assert!(
            joined.contains("p.yaml:2:20: warning: `Power BI Pro` looks like a product name"),
            "{joined}"
        );
        assert!(
            joined.contains("p.yaml:2:57: error: ` SPE_E5` is not a SKU name"),
            "{joined}"
        );
    }
}
