//! Request bodies and URLs: property bodies (extension attributes nest),
//! the `assignLicense` body, and the one place member links are removed.

use serde_json::{Map, Value, json};

use crate::plan::action::{LicenseAdd, LicenseRemove};

/// `DELETE` URL of a member or owner link: always ends in `/$ref`, which
/// removes the link. Without it Graph deletes the member object itself.
pub fn member_ref(group: &str, list: &str, member: &str) -> String {
    debug_assert!(list == "members" || list == "owners");
    format!("/groups/{group}/{list}/{member}/$ref")
}

/// A JSON body from Graph property names: `onPremisesExtensionAttributes.X`
/// nests; `None` clears (null).
pub fn properties_body<'a>(
    properties: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Value {
    let mut body = Map::new();
    for (name, value) in properties {
        let value = value.map_or(Value::Null, |v| Value::String(v.to_owned()));
        match name.split_once('.') {
            Some((parent, child)) => {
                let entry = body
                    .entry(parent.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(child.to_owned(), value);
                }
            }
            None if name.starts_with("extensionAttribute") => {
                let entry = body
                    .entry("onPremisesExtensionAttributes".to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(name.to_owned(), value);
                }
            }
            None => {
                body.insert(name.to_owned(), value);
            }
        }
    }
    Value::Object(body)
}

pub(super) fn merge(into: &mut Value, from: Value) {
    let (Value::Object(a), Value::Object(b)) = (into, from) else {
        return;
    };
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(x)), Value::Object(y)) => x.extend(y),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

/// The `assignLicense` body: adds and removes in one call.
pub fn license_body(add: &[LicenseAdd], remove: &[LicenseRemove]) -> Value {
    json!({
        "addLicenses": add.iter().map(|a| json!({"skuId": a.sku_id, "disabledPlans": a.disabled_plans})).collect::<Vec<_>>(),
        "removeLicenses": remove.iter().map(|r| &r.sku_id).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_removal_always_targets_the_link() {
        assert_eq!(
            member_ref("g1", "members", "u1"),
            "/groups/g1/members/u1/$ref"
        );
        assert_eq!(
            member_ref("g1", "owners", "u1"),
            "/groups/g1/owners/u1/$ref"
        );
    }

    #[test]
    fn extension_attributes_nest_and_none_clears() {
        let body = properties_body([
            (
                "onPremisesExtensionAttributes.extensionAttribute15",
                Some("00u1"),
            ),
            ("extensionAttribute14", None),
            ("department", Some("Sales")),
            ("extension_abc_oktaId", Some("00u1")),
        ]);
        assert_eq!(
            body,
            json!({"onPremisesExtensionAttributes": {"extensionAttribute15": "00u1", "extensionAttribute14": null},
                   "department": "Sales", "extension_abc_oktaId": "00u1"})
        );
    }

    #[test]
    fn licence_body_adds_and_removes_in_one_call() {
        let body = license_body(
            &[LicenseAdd {
                sku_id: "s1".into(),
                sku: "SPE_E3".into(),
                disabled_plans: vec!["p1".into()],
                disabled_plan_names: vec![],
            }],
            &[LicenseRemove {
                sku_id: "s2".into(),
                sku: "SPE_E5".into(),
            }],
        );
        assert_eq!(
            body,
            json!({"addLicenses":[{"skuId":"s1","disabledPlans":["p1"]}],"removeLicenses":["s2"]})
        );
    }
}
