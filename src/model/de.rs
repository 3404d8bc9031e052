//! Reading vendor objects whose unread properties go to a `rest` map.
//!
//! `#[serde(flatten)]` would do it, but serde reads a flattened object twice:
//! first into a buffer of every key and value, then into the struct. At
//! hundreds of thousands of users that buffer was a large share of a plan's
//! time and memory. [`vendor_object!`] writes the one-pass `Deserialize`
//! instead: named properties into their fields, every other one into `rest`
//! (a [`Fields`](super::fields::Fields)). Serialising stays derived.

/// Implements `Deserialize` for a struct of `required` fields, `optional`
/// fields (with the value used when absent or `null`: the vendors document
/// a `null` collection or flag as its default) and one `rest` field.
macro_rules! vendor_object {
    (
        $ty:ident, $expecting:literal,
        required: { $($req:ident: $rname:literal),* $(,)? },
        optional: { $($opt:ident: $oname:literal => $default:expr),* $(,)? },
        rest: $rest:ident $(,)?
    ) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut access: A,
                    ) -> Result<$ty, A::Error> {
                        $(let mut $req = None;)*
                        $(let mut $opt = None;)*
                        let mut rest = Vec::with_capacity(access.size_hint().unwrap_or(16));
                        while let Some(key) =
                            access.next_key_seed($crate::model::fields::KeySeed)?
                        {
                            match key.as_str() {
                                $($rname => $req = Some(access.next_value()?),)*
                                $($oname => $opt = access.next_value()?,)*
                                _ => rest.push((key, access.next_value()?)),
                            }
                        }
                        Ok($ty {
                            $($req: $req.ok_or_else(|| {
                                <A::Error as serde::de::Error>::missing_field($rname)
                            })?,)*
                            $($opt: $opt.unwrap_or_else(|| $default),)*
                            $rest: $crate::model::fields::Fields::from_entries(rest),
                        })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

pub(crate) use vendor_object;

/// For `#[serde(deserialize_with)]`: a `null` reads as the type's default
/// (Graph and Okta document `[]`, `false` and `0` for absent values, and
/// proxies and exports sometimes write `null` instead).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    let value: Option<T> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use crate::model::graph::User;

    #[test]
    fn named_properties_typed_the_rest_kept_defaults_applied() {
        let user: User = serde_json::from_str(
            r#"{"id":"u1","userPrincipalName":"a@x","mail":"a@x","manager":{"id":"m"},"assignedLicenses":[]}"#,
        )
        .unwrap();
        assert!(user.account_enabled, "absent accountEnabled means enabled");
        assert_eq!(user.user_type, None);
        assert_eq!(user.manager_id(), Some("m"));
        assert_eq!(user.property("mail").as_deref(), Some("a@x"));
        let again: User = serde_json::from_str(&serde_json::to_string(&user).unwrap()).unwrap();
        assert_eq!(again, user, "what is written back reads the same");
    }

    #[test]
    fn nulls_read_as_the_documented_defaults() {
        let user: User = serde_json::from_str(
            r#"{"id":"u1","userPrincipalName":"a@x","accountEnabled":null,"assignedLicenses":null,"licenseAssignmentStates":null,"userType":null}"#,
        )
        .unwrap();
        assert!(user.account_enabled);
        assert!(user.assigned_licenses.is_empty() && user.license_assignment_states.is_empty());
        let okta: crate::model::okta::User =
            serde_json::from_str(r#"{"id":"00u1","status":"ACTIVE","profile":null}"#).unwrap();
        assert!(okta.profile.is_empty());
        let group: crate::model::graph::Group = serde_json::from_str(
            r#"{"id":"g","displayName":"G","groupTypes":null,"mailEnabled":null,"securityEnabled":null,"resourceProvisioningOptions":null}"#,
        )
        .unwrap();
        assert!(group.group_types.is_empty() && !group.mail_enabled && !group.security_enabled);
        let sku: crate::model::graph::SubscribedSku = serde_json::from_str(
            r#"{"skuId":"s","skuPartNumber":"E3","consumedUnits":null,"prepaidUnits":null,"servicePlans":null}"#,
        )
        .unwrap();
        assert_eq!((sku.consumed_units, sku.prepaid_units.enabled), (0, 0));
    }

    #[test]
    fn okta_profile_arrays_are_kept_as_read() {
        let text = r#"{"id":"00u1","status":"ACTIVE","profile":{"login":"a@x","o365License":["E3","POWER_BI"],"costCenter":4711}}"#;
        let user: crate::model::okta::User = serde_json::from_str(text).unwrap();
        let licences = user
            .profile
            .get("o365License")
            .and_then(|v| v.as_array())
            .unwrap();
        assert_eq!(licences.len(), 2);
        assert_eq!(licences[1].as_str(), Some("POWER_BI"));
        let back = serde_json::to_value(&user).unwrap();
        assert_eq!(
            back["profile"]["o365License"],
            serde_json::json!(["E3", "POWER_BI"])
        );
    }

    #[test]
    fn a_missing_required_property_is_named() {
        let err = serde_json::from_str::<User>(r#"{"id":"u1"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("missing field `userPrincipalName`"),
            "{err}"
        );
        let err = serde_json::from_str::<User>(r#"[1]"#).unwrap_err();
        assert!(err.to_string().contains("a Microsoft Graph user"), "{err}");
    }
}
