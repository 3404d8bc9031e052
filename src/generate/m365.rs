//! The Office 365 half: `m365/*.json` in the shapes Microsoft Graph returns
//! (`GET /users?$select=…&$expand=manager($select=id)`, `GET /groups`,
//! members, owners, `GET /subscribedSkus`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::people::{Drift, Kind, Person, Status};
use super::tables::COUNTRIES;
use super::{DOMAIN, TENANT_DOMAIN, Tenant, at_days_ago, json_array, json_map};

/// A Graph group of the synthetic tenant.
pub struct M365Group {
    /// Object id.
    pub id: String,
    /// `mailNickname`.
    pub nickname: String,
    /// `displayName`.
    pub display: String,
    /// `description`.
    pub description: String,
    /// Microsoft 365 (`Unified`) group; otherwise a security group.
    pub unified: bool,
    /// Team-enabled.
    pub team: bool,
    /// Member object ids.
    pub members: Vec<String>,
    /// Owner object ids.
    pub owners: Vec<String>,
}

/// An account no Okta user stands behind: service accounts and break-glass admins.
pub struct Unmanaged {
    /// Object id.
    pub id: String,
    /// Local part of the UPN.
    pub handle: String,
    /// `displayName`.
    pub display: String,
    /// Licences (part numbers).
    pub skus: Vec<&'static str>,
}

/// The five Office 365 files.
pub fn files(t: &Tenant, groups: &[M365Group]) -> Vec<(String, Vec<u8>)> {
    let people = t.people.iter().filter(|p| p.has_account);
    let users = json_array(
        people
            .map(|p| person(t, p))
            .chain(t.unmanaged.iter().map(|u| unmanaged(t, u))),
    );
    let group_json = json_array(groups.iter().map(|g| group(t, g)));
    let mut by_id: Vec<&M365Group> = groups.iter().collect();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    let list = |pick: fn(&M365Group) -> &Vec<String>| {
        json_map(by_id.iter().map(|g| {
            let mut ids: Vec<&str> = pick(g).iter().map(String::as_str).collect();
            ids.sort_unstable();
            (g.id.as_str(), ids)
        }))
    };
    let members = list(|g| &g.members);
    let owners = list(|g| &g.owners);
    vec![
        ("m365/users.json".into(), users),
        ("m365/groups.json".into(), group_json),
        ("m365/group-members.json".into(), members),
        ("m365/group-owners.json".into(), owners),
        ("m365/subscribedSkus.json".into(), skus(t)),
    ]
}

/// The licences a person should have (part number, disabled plan names).
pub fn desired_licenses(p: &Person) -> Vec<(&'static str, Vec<&'static str>)> {
    if p.status.is_leaver() {
        return Vec::new();
    }
    match p.kind {
        Kind::Employee => {
            let mut out = vec![("SPE_E3", vec!["YAMMER_ENTERPRISE"])];
            out.extend(p.department.addons.iter().map(|a| (*a, Vec::new())));
            out
        }
        Kind::Contractor => vec![("ENTERPRISEPACK", vec!["SWAY", "YAMMER_ENTERPRISE"])],
        Kind::Guest => Vec::new(),
    }
}

/// The licences a person's account has now.
pub fn live_licenses(p: &Person) -> Vec<(&'static str, Vec<&'static str>)> {
    if !p.has_account || matches!(p.status, Status::Deprovisioned { days } if days >= 90) {
        return Vec::new();
    }
    match p.kind {
        Kind::Employee => {
            let yammer = if p.drift == Some(Drift::YammerEnabled) {
                vec![]
            } else {
                vec!["YAMMER_ENTERPRISE"]
            };
            let mut out = vec![("SPE_E3", yammer)];
            let dept = p.live_department();
            out.extend(dept.addons.iter().map(|a| (*a, Vec::new())));
            out
        }
        Kind::Contractor => vec![("ENTERPRISEPACK", vec!["SWAY", "YAMMER_ENTERPRISE"])],
        Kind::Guest => Vec::new(),
    }
}

fn extension_attributes(marker: Option<&str>, stamp: Option<String>) -> Value {
    let mut attrs = serde_json::Map::new();
    for n in 1..=13 {
        attrs.insert(format!("extensionAttribute{n}"), Value::Null);
    }
    attrs.insert("extensionAttribute14".into(), json!(stamp));
    attrs.insert("extensionAttribute15".into(), json!(marker));
    Value::Object(attrs)
}

fn licenses_json(t: &Tenant, skus: &[(&str, Vec<&str>)], since: &str) -> (Value, Value) {
    let mut assigned = Vec::new();
    let mut states = Vec::new();
    for (part, disabled) in skus {
        let sku = t.sku(part);
        let ids: Vec<&str> = disabled.iter().map(|name| sku.plan_id(name)).collect();
        assigned.push(json!({ "disabledPlans": ids, "skuId": sku.id }));
        states.push(json!({
            "assignedByGroup": null,
            "disabledPlans": ids,
            "error": "None",
            "lastUpdatedDateTime": since,
            "skuId": sku.id,
            "state": "Active"
        }));
    }
    (Value::Array(assigned), Value::Array(states))
}

fn person(t: &Tenant, p: &Person) -> Value {
    let login = p.login();
    let created = at_days_ago(t.now, p.age_days - 14);
    let stamp = match p.status {
        Status::Deprovisioned { days } => Some(at_days_ago(t.now, days)),
        _ => None,
    };
    let marker = (p.drift != Some(Drift::Unlinked)).then_some(p.okta_id.as_str());
    let (assigned, states) = licenses_json(t, &live_licenses(p), &created);
    if p.kind == Kind::Guest {
        let org = p.organization.unwrap_or("Partner");
        let upn = format!("{}#EXT#@{TENANT_DOMAIN}", login.replace('@', "_"));
        return json!({
            "id": p.object_id,
            "businessPhones": [],
            "displayName": format!("{} {} ({org})", p.first, p.last),
            "givenName": p.first,
            "jobTitle": null,
            "mail": login,
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": null,
            "surname": p.last,
            "userPrincipalName": upn,
            "accountEnabled": true,
            "createdDateTime": created,
            "creationType": "Invitation",
            "department": null,
            "employeeId": null,
            "externalUserState": "Accepted",
            "externalUserStateChangeDateTime": created,
            "mailNickname": format!("{}#EXT#", login.replace('@', "_")),
            "usageLocation": null,
            "userType": "Guest",
            "assignedLicenses": assigned,
            "licenseAssignmentStates": states,
            "onPremisesExtensionAttributes": extension_attributes(marker, None),
            "proxyAddresses": [format!("SMTP:{login}")]
        });
    }
    let country = &COUNTRIES[p.country];
    let employee = p.kind == Kind::Employee;
    let display = if employee {
        format!("{} {}", p.first, p.last)
    } else {
        format!("{} {} (Contractor)", p.first, p.last)
    };
    let title = match p.drift {
        Some(Drift::JobTitle) => format!("{} (acting lead)", p.live_title()),
        _ => p.live_title().to_owned(),
    };
    let office = match (p.drift, employee) {
        (Some(Drift::OfficeLocation), _) => Some("Home office".to_owned()),
        (_, true) => Some(p.city.unwrap_or("Remote").to_owned()),
        (_, false) => p.city.map(str::to_owned),
    };
    let enabled = match p.status {
        Status::Deprovisioned { .. } => false,
        _ => p.drift != Some(Drift::Disabled),
    };
    let mut user = json!({
        "id": p.object_id,
        "businessPhones": [],
        "displayName": display,
        "givenName": p.first,
        "jobTitle": title,
        "mail": login,
        "mobilePhone": t.phone(p),
        "officeLocation": office,
        "preferredLanguage": country.language,
        "surname": p.last,
        "userPrincipalName": login,
        "accountEnabled": enabled,
        "createdDateTime": created,
        "creationType": null,
        "department": p.live_department().name,
        "employeeId": if employee { Value::from(p.employee_number.clone()) } else { Value::Null },
        "externalUserState": null,
        "externalUserStateChangeDateTime": null,
        "mailNickname": p.handle,
        "usageLocation": country.code,
        "userType": "Member",
        "assignedLicenses": assigned,
        "licenseAssignmentStates": states,
        "onPremisesExtensionAttributes": extension_attributes(marker, stamp),
        "proxyAddresses": [format!("SMTP:{login}")]
    });
    let manager = p.manager.map(|m| &t.people[m]).filter(|m| m.has_account);
    if let Some(m) = manager {
        let fields = user.as_object_mut().expect("an object");
        fields.insert("manager".into(), json!({ "id": m.object_id }));
    }
    user
}

fn unmanaged(t: &Tenant, u: &Unmanaged) -> Value {
    let upn = format!("{}@{DOMAIN}", u.handle);
    let created = at_days_ago(t.now, 1500);
    let skus: Vec<(&str, Vec<&str>)> = u.skus.iter().map(|s| (*s, Vec::new())).collect();
    let (assigned, states) = licenses_json(t, &skus, &created);
    json!({
        "id": u.id,
        "businessPhones": [],
        "displayName": u.display,
        "givenName": null,
        "jobTitle": "Service account",
        "mail": upn,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": null,
        "userPrincipalName": upn,
        "accountEnabled": true,
        "createdDateTime": created,
        "creationType": null,
        "department": null,
        "employeeId": null,
        "externalUserState": null,
        "externalUserStateChangeDateTime": null,
        "mailNickname": u.handle,
        "usageLocation": "US",
        "userType": "Member",
        "assignedLicenses": assigned,
        "licenseAssignmentStates": states,
        "onPremisesExtensionAttributes": extension_attributes(None, None),
        "proxyAddresses": [format!("SMTP:{upn}")]
    })
}

fn group(t: &Tenant, g: &M365Group) -> Value {
    let mail = g.unified.then(|| format!("{}@{DOMAIN}", g.nickname));
    json!({
        "id": g.id,
        "createdDateTime": at_days_ago(t.now, 2000),
        "description": g.description,
        "displayName": g.display,
        "groupTypes": if g.unified { vec!["Unified"] } else { vec![] },
        "mail": mail,
        "mailEnabled": g.unified,
        "mailNickname": g.nickname,
        "proxyAddresses": mail.iter().map(|m| format!("SMTP:{m}")).collect::<Vec<_>>(),
        "resourceProvisioningOptions": if g.team { vec!["Team"] } else { vec![] },
        "securityEnabled": !g.unified,
        "visibility": if g.unified { Value::from("Private") } else { Value::Null }
    })
}

/// `subscribedSkus`: Microsoft's SKUs and service plans (as in the bundled
/// example), with seats in use counted from the accounts and seats bought
/// covering the joiners with a little headroom.
fn skus(t: &Tenant) -> Vec<u8> {
    let mut consumed: BTreeMap<&str, i64> = BTreeMap::new();
    let mut needed: BTreeMap<&str, i64> = BTreeMap::new();
    for p in &t.people {
        let live = live_licenses(p);
        for (part, _) in &live {
            *consumed.entry(part).or_default() += 1;
        }
        for (part, _) in desired_licenses(p) {
            if !live.iter().any(|(l, _)| *l == part) {
                *needed.entry(part).or_default() += 1;
            }
        }
    }
    for u in &t.unmanaged {
        for part in &u.skus {
            *consumed.entry(part).or_default() += 1;
        }
    }
    json_array(t.skus.iter().map(|sku| {
        let mut v = sku.json.clone();
        let part = sku.part.as_str();
        let used = consumed.get(part).copied().unwrap_or(0);
        let bought = if part == "FLOW_FREE" {
            10_000
        } else {
            used + needed.get(part).copied().unwrap_or(0) + used / 50 + 5
        };
        v["accountName"] = json!("Scale");
        v["consumedUnits"] = json!(used);
        v["prepaidUnits"]["enabled"] = json!(bought);
        v
    }))
}
