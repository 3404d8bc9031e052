//! Licences: `GET /subscribedSkus` and `POST /users/{id}/assignLicense`,
//! with Graph's rules: a usageLocation first, seats counted in
//! `consumedUnits`, group-inherited licences not removable directly.

use std::collections::BTreeSet;

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
    let (Some(add), Some(remove)) = (
        body["addLicenses"].as_array(),
        body["removeLicenses"].as_array(),
    ) else {
        return bad_request(
            "Invalid value specified for property 'addLicenses' or 'removeLicenses' of resource 'User'; both are required (pass [] for none).",
        );
    };
    let mut adds: Vec<(String, Vec<Value>)> = Vec::new();
    for item in add {
        let Some(sku) = item["skuId"].as_str() else {
            return bad_request(
                "Invalid value specified for property 'skuId' of resource 'AssignedLicense'.",
            );
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
        let Some(s) = dir.skus.iter().find(|s| {
            s["skuId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(sku))
        }) else {
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
    let mut states: Vec<Value> = user["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if states.is_empty() {
        // A snapshot may hold assignedLicenses without states: treat them as direct.
        states = user["assignedLicenses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                state_entry(
                    l["skuId"].as_str().unwrap_or(""),
                    l["disabledPlans"].clone(),
                )
            })
            .collect();
    }
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
    let after = held_skus(&updated);
    for sku in after.difference(&held) {
        adjust_consumed(&mut dir, sku, 1);
    }
    for sku in held.difference(&after) {
        adjust_consumed(&mut dir, sku, -1);
    }
    dir.insert_user(id.clone(), updated.clone());
    dir.record(Kind::User, &id, None);
    users::entity(sh, &updated, &None)
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

fn state_entry(sku: &str, disabled: Value) -> Value {
    json!({"assignedByGroup": null, "disabledPlans": if disabled.is_array() { disabled } else { json!([]) },
        "error": "None", "lastUpdatedDateTime": users::timestamp(), "skuId": sku, "state": "Active"})
}

/// `assignedLicenses` from the states: one entry per SKU, a direct
/// assignment's disabled plans winning over a group's.
fn assigned_from_states(states: &[Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for s in states {
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

fn adjust_consumed(dir: &mut Directory, sku: &str, by: i64) {
    if let Some(s) = dir.skus.iter_mut().find(|s| {
        s["skuId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(sku))
    }) {
        let n = s["consumedUnits"].as_i64().unwrap_or(0) + by;
        s["consumedUnits"] = json!(n.max(0));
    }
}
