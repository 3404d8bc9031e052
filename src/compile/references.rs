//! Plan-time checks of the names policies use in Okta: every Okta group a
//! selector names must exist, and every profile attribute a selector or
//! template reads must be a base attribute of Okta's user profile or one
//! some Okta user has. A typo here would otherwise select no one, and the
//! plan would remove what they had.
//!
//! `optional: true` (selectors) and the `optional` template filter mark a
//! group or attribute that may not exist yet. Without Okta groups or users
//! read there is nothing to compare with, and these checks say nothing
//! (an empty read is refused elsewhere).

use std::collections::BTreeSet;

use crate::model::okta::BASE_PROFILE_ATTRIBUTES;
use crate::model::state::SourceState;
use crate::policy::check::{Checked, Located};
use crate::policy::diagnostic::{Diagnostic, did_you_mean};
use crate::policy::template::Template;
use crate::policy::types::{AttributeTest, GroupRef, Selector};

/// Every problem with the Okta groups and attributes the policies name.
pub fn check(checked: &Checked, source: &SourceState) -> Vec<Diagnostic> {
    let mut uses = Uses::default();
    for item in &checked.policy.rules {
        uses.selector(
            &item.value.when,
            item.file,
            format!("{}/when", item.pointer),
        );
    }
    for item in &checked.policy.guests {
        uses.selector(
            &item.value.when,
            item.file,
            format!("{}/when", item.pointer),
        );
    }
    for rule in &checked.rules {
        let templates = (rule.attributes.iter().map(|(_, t)| t))
            .chain(rule.licenses.iter().map(|(t, _)| t))
            .chain(&rule.groups)
            .chain(rule.teams.iter().map(|(t, _)| t));
        templates.for_each(|t| uses.template(t));
    }
    for guest in &checked.guests {
        let templates = [&guest.mail, &guest.display_name]
            .into_iter()
            .chain(&guest.groups)
            .chain(&guest.teams);
        templates.for_each(|t| uses.template(t));
    }
    let mut out = okta_groups(checked, source, &uses.groups);
    out.extend(profile_attributes(checked, source, &uses.attributes));
    out
}

/// A profile attribute read somewhere: the name, where (file, pointer, and
/// the character offset inside a template), and whether it is optional.
struct AttributeUse {
    name: String,
    file: usize,
    pointer: String,
    offset: Option<usize>,
    optional: bool,
}

/// The Okta groups and attributes the policies use, with where.
#[derive(Default)]
struct Uses<'a> {
    groups: Vec<(&'a GroupRef, usize, String)>,
    attributes: Vec<AttributeUse>,
}

impl<'a> Uses<'a> {
    fn selector(&mut self, s: &'a Selector, file: usize, pointer: String) {
        match s {
            Selector::All(v) | Selector::Any(v) => {
                let kind = if matches!(s, Selector::All(_)) {
                    "all"
                } else {
                    "any"
                };
                for (i, s) in v.iter().enumerate() {
                    self.selector(s, file, format!("{pointer}/{kind}/{i}"));
                }
            }
            Selector::Not(s) => self.selector(s, file, format!("{pointer}/not")),
            Selector::Group(g) => {
                let at = g.name_pointer(&format!("{pointer}/group"));
                self.groups.push((g, file, at));
            }
            Selector::Attribute(t) => {
                let AttributeTest { name, optional, .. } = t.as_ref();
                self.attributes.push(AttributeUse {
                    name: name.clone(),
                    file,
                    pointer: format!("{pointer}/attribute/name"),
                    offset: None,
                    optional: *optional,
                });
            }
            Selector::Status(_) | Selector::Everyone(_) => {}
        }
    }

    fn template(&mut self, t: &Located<Template>) {
        for (name, offset, optional) in t.value.profile_attributes() {
            self.attributes.push(AttributeUse {
                name,
                file: t.file,
                pointer: t.pointer.clone(),
                offset: Some(offset),
                optional,
            });
        }
    }
}

/// Selectors naming an Okta group that does not exist: an error (a warning
/// for a glob that matches none), unless `optional: true`.
fn okta_groups(
    checked: &Checked,
    source: &SourceState,
    uses: &[(&GroupRef, usize, String)],
) -> Vec<Diagnostic> {
    if source.groups.is_empty() {
        return Vec::new();
    }
    let known: BTreeSet<String> = source
        .groups
        .iter()
        .flat_map(|g| [g.profile.name.to_lowercase(), g.id.as_str().to_lowercase()])
        .collect();
    let mut out = Vec::new();
    for (g, file, pointer) in uses {
        if g.optional() {
            continue;
        }
        let name = g.name();
        let at = Some(checked.policy.location(*file, pointer));
        if g.is_glob() {
            let matches_one = crate::policy::selector::glob(name)
                .is_ok_and(|m| source.groups.iter().any(|g| m.is_match(&g.profile.name)));
            if !matches_one {
                out.push(
                    Diagnostic::warning(at, format!("no Okta group matches `{name}`"))
                        .with_hint("check the pattern; the selector matches no one through it"),
                );
            }
            continue;
        }
        if known.contains(&name.to_lowercase()) {
            continue;
        }
        let names = source.groups.iter().map(|g| g.profile.name.as_str());
        let hint = match did_you_mean(name, names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "check the group's name (or id) in Okta".to_owned(),
        };
        out.push(
            Diagnostic::error(at, format!("Okta group `{name}` does not exist"))
                .with_hint(format!(
                    "{hint} If the group is not created yet, write `group: {{ name: {name}, optional: true }}`"
                )),
        );
    }
    out
}

/// Profile attributes that are neither base attributes nor on any Okta user
/// (not even as null): an error with the closest known name, unless marked
/// optional.
fn profile_attributes(
    checked: &Checked,
    source: &SourceState,
    uses: &[AttributeUse],
) -> Vec<Diagnostic> {
    if source.users.is_empty() {
        return Vec::new();
    }
    let mut unseen: BTreeSet<&str> = uses
        .iter()
        .filter(|u| !u.optional && !BASE_PROFILE_ATTRIBUTES.contains(&u.name.as_str()))
        .map(|u| u.name.as_str())
        .collect();
    // Most names are found on the first user; a typo costs one pass.
    for user in &source.users {
        if unseen.is_empty() {
            return Vec::new();
        }
        unseen.retain(|name| !user.profile.contains_key(name));
    }
    let seen: BTreeSet<&str> = (source.users.iter().flat_map(|u| u.profile.keys()))
        .chain(BASE_PROFILE_ATTRIBUTES)
        .collect();
    let mut out = Vec::new();
    for u in uses
        .iter()
        .filter(|u| !u.optional && unseen.contains(u.name.as_str()))
    {
        let at = match u.offset {
            Some(offset) => checked
                .policy
                .location_in_string(u.file, &u.pointer, offset),
            None => checked.policy.location(u.file, &u.pointer),
        };
        let marker = if u.offset.is_some() {
            format!("`profile.{} | optional`", u.name)
        } else {
            "`optional: true` on the test".to_owned()
        };
        let hint = match did_you_mean(&u.name, seen.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        out.push(
            Diagnostic::error(
                Some(at),
                format!("no Okta user has the profile attribute `{}`", u.name),
            )
            .with_hint(format!(
                "{hint}Attribute names are case-sensitive. If the attribute exists in Okta but no one has a value yet, write {marker}"
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load::{PolicySource, load};

    fn diagnostics(policy: &str, source: serde_json::Value) -> Vec<String> {
        let (policy, d) = load(&[PolicySource {
            path: "p.yaml".into(),
            text: policy.into(),
        }]);
        assert!(d.is_empty(), "{d:?}");
        let (checked, d) = crate::policy::check::check(policy.unwrap());
        assert!(d.is_empty(), "{d:?}");
        let source: SourceState = serde_json::from_value(source).unwrap();
        check(&checked.unwrap(), &source)
            .iter()
            .map(Diagnostic::render_plain)
            .collect()
    }

    fn okta() -> serde_json::Value {
        serde_json::json!({
            "users": [
                {"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@x.example", "department": "Sales", "squads": ["blue"]}},
                {"id": "00u2", "status": "ACTIVE", "profile": {"login": "b@x.example", "badge": null}}
            ],
            "groups": [
                {"id": "00g1", "profile": {"name": "Security-Incident-Response"}},
                {"id": "00g2", "profile": {"name": "eng-data"}}
            ],
            "members": {}
        })
    }

    const UPN: &str = "    attributes: { userPrincipalName: \"{{ user.login }}\" }\n";

    #[test]
    fn a_group_that_is_not_in_okta_is_an_error_unless_optional() {
        let d = diagnostics(
            &format!(
                "rules:\n  - name: ir\n    when:\n      any:\n        - group: Security-Incident-Respons\n        - group: {{ name: Not-Yet-Created, optional: true }}\n        - group: {{ name: 00G2 }}\n        - group: \"ops-*\"\n{UPN}"
            ),
            okta(),
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(
            d[0].starts_with("p.yaml:5:18: error: Okta group `Security-Incident-Respons` does not exist\n  hint: did you mean `Security-Incident-Response`?"),
            "{d:#?}"
        );
        assert!(d[0].contains("optional: true"), "{d:#?}");
        assert!(
            d[1].starts_with("p.yaml:8:18: warning: no Okta group matches `ops-*`"),
            "{d:#?}"
        );
    }

    #[test]
    fn an_attribute_no_user_has_is_an_error_unless_optional() {
        let d = diagnostics(
            &format!(
                concat!(
                    "rules:\n  - name: r\n    when:\n      all:\n",
                    "        - attribute: {{ name: departmen, equals: Sales }}\n",
                    "        - attribute: {{ name: costCentre, exists: true, optional: true }}\n",
                    "        - attribute: {{ name: squads, contains: blue }}\n",
                    "        - attribute: {{ name: badge, exists: false }}\n",
                    "        - attribute: {{ name: costCenter, exists: false }}\n",
                    "{}",
                    "    groups: [\"{{{{ profile.sqads | optional }}}}\"]\n",
                    "guests:\n  - name: g\n    when: {{ everyone: true }}\n    redirect_url: https://x.example\n",
                    "    display_name: \"{{{{ profile.firstName }}}} {{{{ profile.Squads }}}}\"\n",
                ),
                UPN
            ),
            okta(),
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(
            d[0].starts_with("p.yaml:5:30: error: no Okta user has the profile attribute `departmen`\n  hint: did you mean `department`?"),
            "{d:#?}"
        );
        assert!(d[0].contains("`optional: true` on the test"), "{d:#?}");
        assert!(
            d[1].starts_with("p.yaml:16:47: error: no Okta user has the profile attribute `Squads`\n  hint: did you mean `squads`?"),
            "{d:#?}"
        );
        assert!(d[1].contains("`profile.Squads | optional`"), "{d:#?}");
    }

    #[test]
    fn without_okta_data_there_is_nothing_to_compare_with() {
        let d = diagnostics(
            &format!(
                "rules:\n  - name: r\n    when: {{ all: [{{ group: Nope }}, {{ attribute: {{ name: nope, exists: true }} }}] }}\n{UPN}"
            ),
            serde_json::json!({"users": [], "groups": [], "members": {}}),
        );
        assert!(d.is_empty(), "{d:#?}");
    }
}
