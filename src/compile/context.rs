//! What templates see: an Okta user (`profile.*`, `user.*`) or an Okta group
//! (`group.*`, in mirrors), and the policy's lookup tables.

use std::collections::BTreeMap;

use crate::model::okta::{self, ProfileValue};
use crate::policy::Item;
use crate::policy::template::{Context, Rendered};
use crate::policy::types::LookupValue;

/// The policy's lookup tables, as the checked policy holds them.
pub type Lookups = BTreeMap<String, Item<BTreeMap<String, LookupValue>>>;

/// The template context of one Okta user.
pub struct UserContext<'a> {
    /// The user.
    pub user: &'a okta::User,
    /// The lookup tables.
    pub lookups: &'a Lookups,
}

impl Context for UserContext<'_> {
    fn variable(&self, path: &[String]) -> Option<Rendered> {
        match path {
            [root, attr] if root == "profile" => match self.user.profile_value(attr)? {
                ProfileValue::One(s) => Some(Rendered::One(s)),
                ProfileValue::Many(v) => Some(Rendered::Many(v)),
            },
            [root, field] if root == "user" => match field.as_str() {
                "id" => Some(self.user.id.0.to_string()),
                "login" => self.user.login(),
                "status" => Some(self.user.status.as_str().to_owned()),
                _ => None,
            }
            .map(Rendered::One),
            _ => None,
        }
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        lookup(self.lookups, table, key)
    }
}

/// The template context of one Okta group (mirrors).
pub struct GroupContext<'a> {
    /// The group.
    pub group: &'a okta::Group,
    /// The lookup tables.
    pub lookups: &'a Lookups,
}

impl Context for GroupContext<'_> {
    fn variable(&self, path: &[String]) -> Option<Rendered> {
        match path {
            [root, field] if root == "group" => match field.as_str() {
                "name" => Some(self.group.profile.name.clone()),
                "id" => Some(self.group.id.0.to_string()),
                "description" => self.group.profile.description.clone(),
                _ => None,
            }
            .map(Rendered::One),
            _ => None,
        }
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        lookup(self.lookups, table, key)
    }
}

/// The entry of `table` for `key` (keys match exactly).
pub fn lookup(lookups: &Lookups, table: &str, key: &str) -> Option<Rendered> {
    lookups.get(table)?.value.get(key).map(|v| match v {
        LookupValue::One(s) => Rendered::One(s.clone()),
        LookupValue::Many(v) => Rendered::Many(v.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_arrays_are_lists_and_empty_values_are_unset() {
        let user: okta::User = serde_json::from_value(serde_json::json!({
            "id": "00u1", "status": "ACTIVE",
            "profile": {
                "login": "a@x.example", "groups": ["eng", "", null, 7], "none": [],
                "blank": "", "level": 3, "nothing": null
            }
        }))
        .unwrap();
        let lookups = Lookups::new();
        let ctx = UserContext {
            user: &user,
            lookups: &lookups,
        };
        let var = |p: &str| ctx.variable(&p.split('.').map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(
            var("profile.groups"),
            Some(Rendered::Many(vec!["eng".into(), "7".into()]))
        );
        assert_eq!(var("profile.level"), Some(Rendered::One("3".into())));
        for unset in [
            "profile.none",
            "profile.blank",
            "profile.nothing",
            "profile.absent",
        ] {
            assert_eq!(var(unset), None, "{unset}");
        }
        assert_eq!(var("user.login"), Some(Rendered::One("a@x.example".into())));
    }
}
