//! Turns a test case's short Okta and Office 365 fixtures into the states
//! the planner reads, in the vendors' own shapes (so the same deserialisers
//! as a real read are used). Ids are made from names, so a case plans the
//! same way every time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::spec::{M365Fixture, OktaFixture, Sku};
use crate::compile::DesiredState;
use crate::model::state::{LiveState, SourceState};
use crate::model::{ObjectId, OktaGroupId, OktaUserId};
use crate::plan::{Marker, PlanSettings};
use crate::policy::types::GroupKind;

/// An id of `len` characters after `prefix`, made from `name`.
fn made_id(prefix: &str, name: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = String::from(prefix);
    let mut h = fnv(name.as_bytes());
    while out.len() < len {
        out.push(ALPHABET[(h % 62) as usize] as char);
        h /= 62;
        if h == 0 {
            h = fnv(out.as_bytes());
        }
    }
    out
}

/// A GUID-shaped id made from `name`.
fn made_guid(name: &str) -> String {
    let a = fnv(name.as_bytes());
    let b = fnv(format!("{name}#").as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// FNV-1a, 64 bits: a stable hash (std's hashers are seeded per process).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The Okta id a test user gets.
pub fn okta_user_id(login: &str, id: Option<&str>) -> OktaUserId {
    OktaUserId::from(match id {
        Some(id) => id.to_owned(),
        None => made_id("00u", &login.to_lowercase(), 20),
    })
}

/// Builds the Okta state: the users, every group they name, the extra
/// groups listed, and `also` (the groups the policies name).
pub fn okta_state(fixture: &OktaFixture, also: &BTreeSet<String>) -> Result<SourceState, String> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for name in fixture
        .groups
        .iter()
        .chain(fixture.users.iter().flat_map(|u| &u.groups))
        .chain(also)
    {
        names
            .entry(name.to_lowercase())
            .or_insert_with(|| name.clone());
    }
    let mut members: BTreeMap<OktaGroupId, Vec<OktaUserId>> = BTreeMap::new();
    let mut groups = Vec::new();
    for (key, name) in &names {
        let id = OktaGroupId::from(made_id("00g", key, 20));
        let group = json!({"id": id.as_str(), "type": "OKTA_GROUP", "profile": {"name": name}});
        groups.push(serde_json::from_value(group).map_err(|e| e.to_string())?);
        members.insert(id, Vec::new());
    }
    let mut users = Vec::new();
    let mut seen = BTreeSet::new();
    for u in &fixture.users {
        let id = okta_user_id(&u.login, u.id.as_deref());
        if !seen.insert(id.clone()) {
            return Err(format!("Okta user `{}` is given twice", u.login));
        }
        let mut profile: Map<String, Value> = u.profile.clone().into_iter().collect();
        profile.insert("login".into(), Value::String(u.login.clone()));
        profile
            .entry("email")
            .or_insert_with(|| Value::String(u.login.clone()));
        let mut user = json!({"id": id.as_str(), "status": u.status, "profile": profile});
        if let Some(changed) = &u.status_changed {
            user["statusChanged"] = Value::String(changed.clone());
        }
        users.push(
            serde_json::from_value(user).map_err(|e| format!("Okta user `{}`: {e}", u.login))?,
        );
        for g in &u.groups {
            let gid = OktaGroupId::from(made_id("00g", &g.to_lowercase(), 20));
            members.entry(gid).or_default().push(id.clone());
        }
    }
    Ok(SourceState {
        users,
        groups,
        members,
    })
}

/// Builds the Office 365 state. `okta` maps logins (lowercase) to Okta ids,
/// for the ownership markers; `desired` (compiled without SKUs) says which
/// SKUs and service plans to make up when the fixture lists none.
pub fn live_state(
    fixture: &M365Fixture,
    okta: &BTreeMap<String, OktaUserId>,
    settings: &PlanSettings,
    desired: &DesiredState,
) -> Result<LiveState, String> {
    let skus = skus(fixture, desired);
    let sku_ids: BTreeMap<&str, (&str, BTreeMap<&str, &str>)> = skus
        .iter()
        .map(|s| {
            let plans = s
                .service_plans
                .iter()
                .map(|p| (p.service_plan_name.as_str(), p.service_plan_id.as_str()))
                .collect();
            (s.sku_part_number.as_str(), (s.sku_id.as_str(), plans))
        })
        .collect();
    let mut users = Vec::new();
    let mut by_upn: BTreeMap<String, ObjectId> = BTreeMap::new();
    let mut consumed: BTreeMap<String, i64> = BTreeMap::new();
    for u in &fixture.users {
        let id = made_guid(&format!("user:{}", u.upn.to_lowercase()));
        if by_upn
            .insert(u.upn.to_lowercase(), ObjectId::from(id.as_str()))
            .is_some()
        {
            return Err(format!("Office 365 user `{}` is given twice", u.upn));
        }
        let mut user: Map<String, Value> = u
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        user.insert("id".into(), json!(id));
        user.insert("userPrincipalName".into(), json!(u.upn));
        user.insert("accountEnabled".into(), json!(u.enabled));
        user.insert(
            "userType".into(),
            json!(if u.guest { "Guest" } else { "Member" }),
        );
        let mut licenses = Vec::new();
        for (sku, disabled) in u.licenses.entries() {
            let Some((sku_id, plans)) = sku_ids.get(sku.as_str()) else {
                return Err(format!(
                    "`{}` holds `{sku}`, which is not among the tenant's SKUs",
                    u.upn
                ));
            };
            let disabled: Vec<&str> = disabled
                .iter()
                .map(|p| plans.get(p.as_str()).copied().ok_or(p))
                .collect::<Result<_, _>>()
                .map_err(|p| format!("`{}`: `{sku}` has no service plan `{p}`", u.upn))?;
            licenses.push(json!({"skuId": sku_id, "disabledPlans": disabled}));
            *consumed.entry(sku).or_default() += 1;
        }
        user.insert("assignedLicenses".into(), Value::Array(licenses));
        let owner = match (&u.okta, u.managed) {
            (_, false) => None,
            (Some(login), true) => Some(
                okta.get(&login.to_lowercase())
                    .ok_or_else(|| format!("`{}`: no Okta user `{login}` in this case", u.upn))?,
            ),
            (None, true) => okta.get(&u.upn.to_lowercase()),
        };
        if let Some(owner) = owner {
            set_marker(&mut user, &settings.okta_id_attribute, owner.as_str());
        }
        if let Some(at) = &u.offboarded_at {
            set_marker(&mut user, &settings.offboarded_at_attribute, at);
        }
        users.push(
            serde_json::from_value(Value::Object(user))
                .map_err(|e| format!("Office 365 user `{}`: {e}", u.upn))?,
        );
    }
    let mut groups = Vec::new();
    let mut members = BTreeMap::new();
    let mut owners = BTreeMap::new();
    for g in &fixture.groups {
        let id = ObjectId::from(made_guid(&format!("group:{}", g.name.to_lowercase())));
        let unified = g.kind.unwrap_or(GroupKind::Unified) == GroupKind::Unified;
        let group = json!({
            "id": id.as_str(),
            "displayName": g.display_name.as_deref().unwrap_or(&g.name),
            "mailNickname": g.name,
            "groupTypes": if unified { vec!["Unified"] } else { Vec::new() },
            "mailEnabled": unified,
            "securityEnabled": !unified,
            "resourceProvisioningOptions": if g.team { vec!["Team"] } else { Vec::new() },
        });
        groups.push(serde_json::from_value(group).map_err(|e| e.to_string())?);
        let resolve = |upns: &[String]| -> Result<Vec<ObjectId>, String> {
            upns.iter()
                .map(|upn| {
                    by_upn.get(&upn.to_lowercase()).cloned().ok_or_else(|| {
                        format!(
                            "group `{}` names `{upn}`, who is not among the Office 365 users",
                            g.name
                        )
                    })
                })
                .collect()
        };
        members.insert(id.clone(), resolve(&g.members)?);
        owners.insert(id, resolve(&g.owners)?);
    }
    let skus = skus
        .into_iter()
        .map(|mut s| {
            s.consumed_units = consumed
                .get(&s.sku_part_number)
                .copied()
                .unwrap_or_default();
            s
        })
        .collect();
    Ok(LiveState {
        users,
        groups,
        members,
        owners,
        skus,
        ..LiveState::default()
    })
}

/// Writes `value` into the property `marker` names.
fn set_marker(user: &mut Map<String, Value>, marker: &Marker, value: &str) {
    match marker {
        Marker::ExtensionAttribute(n) => {
            let attrs = user
                .entry("onPremisesExtensionAttributes")
                .or_insert_with(|| json!({}));
            attrs[format!("extensionAttribute{n}")] = json!(value);
        }
        Marker::DirectoryExtension(name) => {
            user.insert(name.clone(), json!(value));
        }
    }
}

/// Seats when a test does not say how many were bought.
const PLENTY: i64 = 1_000_000;

/// The SKUs of the tenant: the fixture's, or made up from what is wanted and held.
fn skus(fixture: &M365Fixture, desired: &DesiredState) -> Vec<crate::model::graph::SubscribedSku> {
    let given: Vec<Sku> = match &fixture.skus {
        Some(skus) => skus.clone(),
        None => {
            let mut plans: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for u in desired.users.values() {
                for (sku, disabled) in &u.licenses {
                    plans
                        .entry(sku.to_string())
                        .or_default()
                        .extend(disabled.value.iter().cloned());
                }
            }
            for u in &fixture.users {
                for (sku, disabled) in u.licenses.entries() {
                    plans.entry(sku).or_default().extend(disabled);
                }
            }
            plans
                .into_iter()
                .map(|(sku, plans)| Sku {
                    sku,
                    seats: PLENTY,
                    plans: plans.into_iter().collect(),
                })
                .collect()
        }
    };
    given
        .into_iter()
        .map(|s| {
            let plans: Vec<Value> = s
                .plans
                .iter()
                .map(|p| json!({"servicePlanId": made_guid(&format!("plan:{}:{p}", s.sku)), "servicePlanName": p}))
                .collect();
            serde_json::from_value(json!({
                "skuId": made_guid(&format!("sku:{}", s.sku)),
                "skuPartNumber": s.sku,
                "consumedUnits": 0,
                "prepaidUnits": {"enabled": s.seats},
                "servicePlans": plans,
            }))
            .expect("a made-up SKU deserialises")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_are_stable_and_shaped_like_the_vendors() {
        let a = okta_user_id("Ana@acme.example", None);
        assert_eq!(a, okta_user_id("ana@acme.example", None));
        assert_eq!(a.as_str().len(), 20);
        assert!(a.as_str().starts_with("00u"));
        assert_ne!(a, okta_user_id("bo@acme.example", None));
        let g = made_guid("group:all-staff");
        assert_eq!(g.len(), 36);
        assert_eq!(g, made_guid("group:all-staff"));
    }
}
