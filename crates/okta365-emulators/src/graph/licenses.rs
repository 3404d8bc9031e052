//! Licences: `GET /subscribedSkus` and `POST /users/{id}/assignLicense`,
//! with Graph's rules: a usageLocation first, seats counted in
//! `consumedUnits`, group-inherited licences not removable directly.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::shared::Shared;
use super::state::{Directory, Kind};
use super::users;
use super::wire::{ApiRequest, ApiResponse, bad_request, not_found};

/// `GET /subscribedSkus` (`$select` only; other options are ignored, as Graph does).
pub(crate) fn list_skus(sh: &Shared, req: &ApiRequest, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    let selection = selection(req);
    let items: Vec<Value> = dir.skus.iter().map(|s| project(s, &selection)).collect();
    ApiResponse::json(
        200,
        json!({"@odata.context": format!("{}/v1.0/$metadata#subscribedSkus", sh.base_url()), "value": items}),
    )
}

/// `GET /subscribedSkus/{id}`.
pub(crate) fn get_sku(sh: &Shared, req: &ApiRequest, id: &str, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    match dir.skus.iter().find(|s| s["id"] == id) {
        Some(sku) => {
            let mut body = project(sku, &selection(req));
            body["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#subscribedSkus/$entity",
                sh.base_url()
            ));
            ApiResponse::json(200, body)
        }
        None => not_found(id),
    }
}

fn selection(req: &ApiRequest) -> Option<Vec<String>> {
    req.query("$select")
        .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect())
}

fn project(sku: &Value, selection: &Option<Vec<String>>) -> Value {
    match selection {
        None => sku.clone(),
        Some(props) => {
            let mut out = json!({"id": sku["id"]});
            for p in props {
                out[p] = sku.get(p).cloned().unwrap_or(Value::Null);
            }
            out
        }
    }
}

/// `POST /users/{id|upn}/assignLicense` → 200 + the user.
pub(crate) fn assign(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let body = req.body.clone().unwrap_or(Value::Null);
    let (add, remove) = match licence_changes(&body, "User") {
        Ok(lists) => lists,
        Err(e) => return e,
    };
    let mut adds: Vec<(String, Vec<Value>)> = Vec::new();
    for item in add {
        let Some(sku) = item["skuId"].as_str() else {
            return invalid_sku_id();
        };
        let plans = item["disabledPlans"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        adds.push((sku.to_lowercase(), plans));
    }
    let mut removes: Vec<String> = Vec::new();
    for item in remove {
        let Some(sku) = item.as_str() else {
            return bad_request(
                "Invalid value specified for property 'removeLicenses' of resource 'User'.",
            );
        };
        removes.push(sku.to_lowercase());
    }
    let mut dir = sh.dir();
    let id = match users::resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let user = dir.users[&id].clone();
    if !adds.is_empty() && user["usageLocation"].as_str().is_none_or(str::is_empty) {
        return bad_request(
            "License assignment cannot be done for user with invalid usage location.",
        );
    }
    let held = held_skus(&user);
    let direct = direct_skus(&user);
    for (sku, _) in &adds {
        let Some(s) = dir.skus.iter().find(|s| has_sku_id(s, sku)) else {
            return bad_request(format!(
                "License {sku} does not correspond to a valid company License."
            ));
        };
        if !held.contains(sku) && free_seats(s) < 1 {
            return bad_request(format!(
                "Subscription with SKU {sku} does not have any available licenses."
            ));
        }
    }
    for sku in &removes {
        if !held.contains(sku) {
            return bad_request("User does not have a corresponding license.");
        }
        if !direct.contains(sku) {
            return bad_request(
                "User license is inherited from a group membership and it cannot be removed directly from the user.",
            );
        }
    }
    let mut states = states_of(&user);
    states.retain(|s| {
        let sku = s["skuId"].as_str().unwrap_or("").to_lowercase();
        !(s["assignedByGroup"].is_null()
            && (removes.contains(&sku) || adds.iter().any(|(a, _)| *a == sku)))
    });
    for (sku, plans) in &adds {
        states.push(state_entry(sku, Value::Array(plans.clone())));
    }
    let mut updated = user.clone();
    updated["licenseAssignmentStates"] = Value::Array(states.clone());
    updated["assignedLicenses"] = assigned_from_states(&states);
    updated["assignedPlans"] = assigned_plans(&dir.skus, &updated);
    adjust_seats(&mut dir, &held, &held_skus(&updated));
    dir.remember(&id, user.clone(), now, sh.opts.lag.stale_reads);
    dir.insert_user(id.clone(), updated.clone());
    dir.record_properties(Kind::User, &id, LICENCE_PROPERTIES);
    assigned_user(sh, &updated)
}

/// assignLicense's answer: the user's default properties plus the licence
/// and account properties of Graph's documented example (user-assignlicense.md).
fn assigned_user(sh: &Shared, user: &Value) -> ApiResponse {
    let mut props: Vec<String> = super::odata::USER_DEFAULT
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    for p in [
        "accountEnabled",
        "assignedLicenses",
        "assignedPlans",
        "licenseAssignmentStates",
        "city",
        "companyName",
        "usageLocation",
    ] {
        props.push(p.to_owned());
    }
    let mut resp = users::entity(sh, user, &Some(props));
    if let super::wire::Body::Json(body) = &mut resp.body {
        body["@odata.context"] = json!(format!("{}/v1.0/$metadata#users/$entity", sh.base_url()));
    }
    resp
}

/// The `addLicenses` and `removeLicenses` arrays of an assignLicense body on
/// `resource` (`User` or `Group`); both are required.
fn licence_changes<'b>(
    body: &'b Value,
    resource: &str,
) -> Result<(&'b Vec<Value>, &'b Vec<Value>), ApiResponse> {
    match (
        body["addLicenses"].as_array(),
        body["removeLicenses"].as_array(),
    ) {
        (Some(add), Some(remove)) => Ok((add, remove)),
        _ => Err(bad_request(format!(
            "Invalid value specified for property 'addLicenses' or 'removeLicenses' of resource '{resource}'; both are required (pass [] for none)."
        ))),
    }
}

/// The 400 for an `addLicenses` entry without a string `skuId`.
fn invalid_sku_id() -> ApiResponse {
    bad_request("Invalid value specified for property 'skuId' of resource 'AssignedLicense'.")
}

/// Whether a SKU, state or assignment is for SKU `sku` (ids compare case-blind).
fn has_sku_id(record: &Value, sku: &str) -> bool {
    record["skuId"]
        .as_str()
        .is_some_and(|x| x.eq_ignore_ascii_case(sku))
}

/// The user properties a licence change touches.
const LICENCE_PROPERTIES: [&str; 3] = [
    "assignedLicenses",
    "assignedPlans",
    "licenseAssignmentStates",
];

/// A user's `assignedPlans` (Graph's `assignedPlan` resource:
/// `assignedDateTime`, `capabilityStatus`, `service`, `servicePlanId`): the
/// user-level service plans of each SKU in `assignedLicenses`, minus that
/// licence's `disabledPlans`, once per plan. A plan the user already had
/// keeps its `assignedDateTime`; a new one is dated by its licence state's
/// `lastUpdatedDateTime` (else now). Plans of removed licences are dropped.
pub(crate) fn assigned_plans(skus: &[Value], user: &Value) -> Value {
    let earlier = |plan: &str| {
        user["assignedPlans"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                p["servicePlanId"]
                    .as_str()
                    .is_some_and(|id| id.eq_ignore_ascii_case(plan))
            })
            .map(|p| p["assignedDateTime"].clone())
    };
    let mut plans: Vec<Value> = Vec::new();
    for licence in user["assignedLicenses"].as_array().into_iter().flatten() {
        let Some(sku_id) = licence["skuId"].as_str() else {
            continue;
        };
        let Some(sku) = skus.iter().find(|s| has_sku_id(s, sku_id)) else {
            continue;
        };
        let disabled = |plan: &str| {
            licence["disabledPlans"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d.as_str().is_some_and(|d| d.eq_ignore_ascii_case(plan)))
        };
        let dated = user["licenseAssignmentStates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| has_sku_id(s, sku_id))
            .map(|s| s["lastUpdatedDateTime"].clone())
            .filter(Value::is_string)
            .unwrap_or_else(|| json!(users::timestamp()));
        let status = sku["capabilityStatus"].as_str().unwrap_or("Enabled");
        for plan in sku["servicePlans"].as_array().into_iter().flatten() {
            let Some(id) = plan["servicePlanId"].as_str() else {
                continue;
            };
            if plan["appliesTo"] == "Company"
                || disabled(id)
                || plans.iter().any(|p| p["servicePlanId"] == id)
            {
                continue;
            }
            let name = plan["servicePlanName"].as_str().unwrap_or(id);
            plans.push(json!({
                "assignedDateTime": earlier(id).filter(Value::is_string).unwrap_or_else(|| dated.clone()),
                "capabilityStatus": status,
                "service": service_of(name),
                "servicePlanId": id,
            }));
        }
    }
    Value::Array(plans)
}

/// The `service` Graph names for a service plan, as Microsoft's published
/// user samples pair them (Exchange, SharePoint, Skype/Teams calling,
/// Office apps, Azure RMS, Teams, Whiteboard, Entra ID P1/P2, To Do, Power
/// Apps); any other plan is named by its `servicePlanName`.
fn service_of(plan_name: &str) -> &str {
    const PREFIXES: &[(&str, &str)] = &[
        ("EXCHANGE", "exchange"),
        ("SHAREPOINT", "SharePoint"),
        ("MCO", "MicrosoftCommunicationsOnline"),
        ("OFFICESUBSCRIPTION", "MicrosoftOffice"),
        ("RMS_S_", "RMSOnline"),
        ("TEAMS", "TeamspaceAPI"),
        ("WHITEBOARD", "WhiteboardServices"),
        ("AAD_PREMIUM", "AADPremiumService"),
        ("BPOS_S_TODO", "To-Do"),
        ("POWERAPPS", "PowerAppsService"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| plan_name.starts_with(prefix))
        .map_or(plan_name, |(_, service)| service)
}

/// Group-based licences seen in a snapshot: a group's own `assignedLicenses`
/// if it has them, else those its members' states say it assigns.
pub(crate) fn seed_group_licenses(dir: &Directory) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut out: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for (id, group) in &dir.groups {
        if let Some(list) = group["assignedLicenses"].as_array() {
            let licences = list
                .iter()
                .filter_map(|l| {
                    Some((
                        l["skuId"].as_str()?.to_lowercase(),
                        l["disabledPlans"].clone(),
                    ))
                })
                .collect();
            out.insert(id.clone(), licences);
        }
    }
    for user in dir.users.values() {
        for state in user["licenseAssignmentStates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(group), Some(sku)) =
                (state["assignedByGroup"].as_str(), state["skuId"].as_str())
            else {
                continue;
            };
            if dir
                .groups
                .get(group)
                .is_some_and(|g| g.get("assignedLicenses").is_some())
            {
                continue;
            }
            let licences = out.entry(group.to_owned()).or_default();
            if !licences.iter().any(|(s, _)| s.eq_ignore_ascii_case(sku)) {
                licences.push((sku.to_lowercase(), state["disabledPlans"].clone()));
            }
        }
    }
    out
}

/// Applies `group`'s licences to a new member (users only): an inherited
/// state per SKU, taking a seat if the user didn't hold the SKU yet, or
/// `Error`/`CountViolation` when no seat is free.
pub(crate) fn on_member_added(dir: &mut Directory, group: &str, member: &str) {
    let Some(licences) = dir.group_licenses.get(group).cloned() else {
        return;
    };
    let Some(mut user) = dir.users.get(member).cloned() else {
        return;
    };
    let before = held_skus(&user);
    let mut states = states_of(&user);
    for (sku, plans) in &licences {
        if states
            .iter()
            .any(|s| s["assignedByGroup"] == group && has_sku_id(s, sku))
        {
            continue;
        }
        let held_now = held_skus(&json!({"assignedLicenses": assigned_from_states(&states)}));
        let has_seat = held_now.contains(sku)
            || dir
                .skus
                .iter()
                .find(|s| has_sku_id(s, sku))
                .is_some_and(|s| free_seats(s) >= 1);
        let mut state = state_entry(sku, plans.clone());
        state["assignedByGroup"] = json!(group);
        if !has_seat {
            state["state"] = json!("Error");
            state["error"] = json!("CountViolation");
        }
        states.push(state);
    }
    set_states(dir, member, &mut user, states, &before);
}

/// Drops the licences a former member inherited from `group`.
pub(crate) fn on_member_removed(dir: &mut Directory, group: &str, member: &str) {
    let Some(mut user) = dir.users.get(member).cloned() else {
        return;
    };
    let before = held_skus(&user);
    let mut states = states_of(&user);
    let count = states.len();
    states.retain(|s| s["assignedByGroup"] != group);
    if states.len() != count {
        set_states(dir, member, &mut user, states, &before);
    }
}

/// Stores new states on a user, keeping `assignedLicenses` and seat counts in step.
fn set_states(
    dir: &mut Directory,
    id: &str,
    user: &mut Value,
    states: Vec<Value>,
    before: &BTreeSet<String>,
) {
    user["assignedLicenses"] = assigned_from_states(&states);
    user["licenseAssignmentStates"] = Value::Array(states);
    user["assignedPlans"] = assigned_plans(&dir.skus, user);
    adjust_seats(dir, before, &held_skus(user));
    dir.insert_user(id.to_owned(), user.clone());
    dir.record_properties(Kind::User, id, LICENCE_PROPERTIES);
}

/// `POST /groups/{id}/assignLicense` → 202 + the group; members' states follow.
pub(crate) fn assign_to_group(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let body = req.body.clone().unwrap_or(Value::Null);
    let (add, remove) = match licence_changes(&body, "Group") {
        Ok(lists) => lists,
        Err(e) => return e,
    };
    let mut dir = sh.dir();
    let id = id.to_lowercase();
    if !dir.groups.contains_key(&id)
        || !super::lag::is_visible(&dir, &id, sh.opts.lag.new_object, now)
    {
        return not_found(&id);
    }
    let mut adds = Vec::new();
    for item in add {
        let Some(sku) = item["skuId"].as_str().map(str::to_lowercase) else {
            return invalid_sku_id();
        };
        if !dir.skus.iter().any(|s| has_sku_id(s, &sku)) {
            return bad_request(format!(
                "License {sku} does not correspond to a valid company License."
            ));
        }
        adds.push((
            sku,
            item["disabledPlans"]
                .as_array()
                .cloned()
                .map(Value::Array)
                .unwrap_or(json!([])),
        ));
    }
    let removes: Vec<String> = remove
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_lowercase)
        .collect();
    let members: Vec<String> = dir.members_of(&id).cloned().collect();
    for m in &members {
        on_member_removed(&mut dir, &id, m);
    }
    let mut licences = dir.group_licenses.remove(&id).unwrap_or_default();
    licences.retain(|(s, _)| !removes.contains(s) && !adds.iter().any(|(a, _)| a == s));
    licences.extend(adds);
    let mut group = dir.groups[&id].clone();
    group["assignedLicenses"] = Value::Array(
        licences
            .iter()
            .map(|(s, p)| json!({"disabledPlans": p, "skuId": s}))
            .collect(),
    );
    dir.groups.insert(id.clone(), group.clone());
    dir.record_properties(Kind::Group, &id, ["assignedLicenses"]);
    dir.group_licenses.insert(id.clone(), licences);
    for m in &members {
        on_member_added(&mut dir, &id, m);
    }
    let mut body = group;
    body["@odata.context"] = json!(format!("{}/v1.0/$metadata#groups/$entity", sh.base_url()));
    let mut resp = ApiResponse::json(202, body);
    resp.headers.push((
        "Location".into(),
        format!("{}/v1.0/groups/{id}", sh.base_url()),
    ));
    resp
}

/// Frees the seats a (deleted) user held.
pub(crate) fn release_seats(dir: &mut Directory, user: &Value) {
    for sku in held_skus(user) {
        adjust_consumed(dir, &sku, -1);
    }
}

/// Takes the seats a (restored) user holds.
pub(crate) fn take_seats(dir: &mut Directory, user: &Value) {
    for sku in held_skus(user) {
        adjust_consumed(dir, &sku, 1);
    }
}

/// A user's licence states; a snapshot may hold `assignedLicenses` without
/// states, which count as direct assignments.
fn states_of(user: &Value) -> Vec<Value> {
    let states: Vec<Value> = user["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !states.is_empty() {
        return states;
    }
    user["assignedLicenses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            state_entry(
                l["skuId"].as_str().unwrap_or(""),
                l["disabledPlans"].clone(),
            )
        })
        .collect()
}

fn state_entry(sku: &str, disabled: Value) -> Value {
    json!({"assignedByGroup": null, "disabledPlans": if disabled.is_array() { disabled } else { json!([]) },
        "error": "None", "lastUpdatedDateTime": users::timestamp(), "skuId": sku, "state": "Active"})
}

/// `assignedLicenses` from the states: one entry per SKU, a direct
/// assignment's disabled plans winning over a group's.
fn assigned_from_states(states: &[Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for s in states.iter().filter(|s| s["state"] != "Error") {
        let sku = s["skuId"].clone();
        let entry = json!({"disabledPlans": s["disabledPlans"].clone(), "skuId": sku});
        match out.iter_mut().find(|e| e["skuId"] == s["skuId"]) {
            Some(existing) if s["assignedByGroup"].is_null() => *existing = entry,
            Some(_) => {}
            None => out.push(entry),
        }
    }
    Value::Array(out)
}

fn held_skus(user: &Value) -> BTreeSet<String> {
    user["assignedLicenses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["skuId"].as_str())
        .map(str::to_lowercase)
        .collect()
}

fn direct_skus(user: &Value) -> BTreeSet<String> {
    let states = user["licenseAssignmentStates"].as_array();
    match states {
        Some(states) if !states.is_empty() => states
            .iter()
            .filter(|s| s["assignedByGroup"].is_null())
            .filter_map(|s| s["skuId"].as_str())
            .map(str::to_lowercase)
            .collect(),
        _ => held_skus(user),
    }
}

fn free_seats(sku: &Value) -> i64 {
    sku["prepaidUnits"]["enabled"].as_i64().unwrap_or(0)
        - sku["consumedUnits"].as_i64().unwrap_or(0)
}

/// Takes a seat of each SKU in `after` but not `before`, frees one of each
/// SKU in `before` but not `after`.
fn adjust_seats(dir: &mut Directory, before: &BTreeSet<String>, after: &BTreeSet<String>) {
    for sku in after.difference(before) {
        adjust_consumed(dir, sku, 1);
    }
    for sku in before.difference(after) {
        adjust_consumed(dir, sku, -1);
    }
}

fn adjust_consumed(dir: &mut Directory, sku: &str, by: i64) {
    if let Some(s) = dir.skus.iter_mut().find(|s| has_sku_id(s, sku)) {
        let n = s["consumedUnits"].as_i64().unwrap_or(0) + by;
        s["consumedUnits"] = json!(n.max(0));
    }
}
