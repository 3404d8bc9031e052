//! `$expand` on users (`manager`, `memberOf`) and groups (`members`,
//! `owners`): the related objects inline, at most 20 per property with no
//! nextLink, as Graph's directory `$expand` does. `nav($select=a,b)` trims
//! them. Not allowed together with advanced queries, except the documented
//! management chain, `manager($levels=max|n;$select=…)`, which needs them.
//! A property that exists but is not expandable gets `ExpandNotSupported`.

use serde_json::{Value, json};

use super::odata::{self, EntityType};
use super::state::{Directory, Kind};
use super::wire::{ApiRequest, ApiResponse, Body};

/// Most related objects one expanded property holds.
const MAX_EXPANDED: usize = 20;

/// `$levels=max`: Graph's limit on a management chain.
const MAX_LEVELS: usize = 1000;

/// One `$expand` item: a navigation property and its `$select`.
struct Expansion {
    property: String,
    select: Option<Vec<String>>,
    /// `$levels=n` (`max` = 1000): how many managers up the chain.
    levels: Option<usize>,
}

/// Navigation properties Graph has on users and groups that the emulator
/// does not expand (Graph expands some of them; the emulator says it cannot).
const OTHER_NAVIGATION: &[&str] = &[
    "directReports",
    "photo",
    "ownedObjects",
    "registeredDevices",
    "createdObjects",
    "transitiveMemberOf",
    "appRoleAssignments",
    "extensions",
    "calendar",
    "drive",
    "team",
    "sites",
    "transitiveMembers",
    "membersWithLicenseErrors",
];

fn parse(raw: &str) -> Vec<Expansion> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let (property, options) = match part.split_once('(') {
            Some((p, rest)) => (p.trim(), rest.trim_end_matches(')')),
            None => (part, ""),
        };
        let select = options
            .split(';')
            .find_map(|o| o.trim().strip_prefix("$select="))
            .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
        let levels = options
            .split(';')
            .find_map(|o| o.trim().strip_prefix("$levels="))
            .map(|l| match l.trim() {
                "max" => MAX_LEVELS,
                n => n.parse().unwrap_or(0),
            });
        out.push(Expansion {
            property: property.to_owned(),
            select,
            levels,
        });
    }
    out
}

/// Adds the expanded properties to every object of a 200 response for `kind`.
pub(crate) fn apply(dir: &Directory, req: &ApiRequest, kind: Kind, resp: &mut ApiResponse) {
    let Some(raw) = req.query("$expand") else {
        return;
    };
    if resp.status != 200 {
        return;
    }
    let expansions = parse(raw);
    let chain = |e: &Expansion| e.property == "manager" && e.levels.is_some();
    if req.is_advanced_query() && !expansions.iter().all(chain) {
        *resp = ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            "$expand is not supported together with advanced query options (ConsistencyLevel: eventual).",
        );
        return;
    }
    for e in &expansions {
        if let Some(refusal) = refuse(kind, e) {
            *resp = refusal;
            return;
        }
    }
    let Body::Json(body) = &mut resp.body else {
        return;
    };
    let expand_one = |object: &mut Value| {
        let Some(id) = object["id"].as_str().map(str::to_owned) else {
            return;
        };
        for e in &expansions {
            if let Some(levels) = e.levels.filter(|_| e.property == "manager") {
                object["manager"] = manager_chain(dir, &id, &e.select, levels);
                continue;
            }
            let related: Vec<&String> = match e.property.as_str() {
                "manager" => dir.managers.get(&id).into_iter().collect(),
                "memberOf" => dir
                    .members
                    .iter()
                    .filter(|(_, m)| m.contains(&id))
                    .map(|(g, _)| g)
                    .collect(),
                "members" => dir.members.get(&id).into_iter().flatten().collect(),
                _ => dir.owners.get(&id).into_iter().flatten().collect(),
            };
            let items: Vec<Value> = related
                .into_iter()
                .filter_map(|r| {
                    let (o, ty, entity) = match dir.kind_of(r)? {
                        Kind::User => {
                            (dir.users.get(r)?, "#microsoft.graph.user", EntityType::User)
                        }
                        Kind::Group => (
                            dir.groups.get(r)?,
                            "#microsoft.graph.group",
                            EntityType::Group,
                        ),
                    };
                    let mut projected = odata::project(o, entity, &e.select);
                    if let Value::Object(fields) = &mut projected {
                        let mut typed = serde_json::Map::new();
                        typed.insert("@odata.type".into(), json!(ty));
                        typed.extend(std::mem::take(fields));
                        *fields = typed;
                    }
                    Some(projected)
                })
                .take(MAX_EXPANDED)
                .collect();
            object[e.property.as_str()] = if e.property == "manager" {
                items.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            };
        }
    };
    match body.get_mut("value").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().for_each(expand_one),
        None => expand_one(body),
    }
}

/// Graph's answer to an expansion the emulator cannot do, if it is one.
fn refuse(kind: Kind, e: &Expansion) -> Option<ApiResponse> {
    let (expandable, entity, type_name) = match kind {
        Kind::User => (
            matches!(e.property.as_str(), "manager" | "memberOf"),
            EntityType::User,
            "microsoft.graph.user",
        ),
        Kind::Group => (
            matches!(e.property.as_str(), "members" | "owners"),
            EntityType::Group,
            "microsoft.graph.group",
        ),
    };
    if expandable {
        return None;
    }
    if OTHER_NAVIGATION.contains(&e.property.as_str()) || odata::is_property(entity, &e.property) {
        let mut shown = e.property.clone();
        if let Some(first) = shown.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        return Some(ApiResponse::error(
            400,
            "ExpandNotSupported",
            format!("Expand is not allowed for property '{shown}' according to the entity schema."),
        ));
    }
    Some(ApiResponse::error(
        400,
        "BadRequest",
        format!(
            "Could not find a property named '{}' on type '{type_name}'.",
            e.property
        ),
    ))
}

/// The management chain above `id`, `levels` deep, each manager holding the
/// next as `manager` (as `$expand=manager($levels=…)` nests them).
fn manager_chain(dir: &Directory, id: &str, select: &odata::Selection, levels: usize) -> Value {
    let mut chain = Vec::new();
    let mut current = id.to_owned();
    while chain.len() < levels {
        let Some(next) = dir.managers.get(&current) else {
            break;
        };
        if next == id || chain.contains(next) {
            break; // a cycle in seeded data
        }
        chain.push(next.clone());
        current = next.clone();
    }
    let mut nested = Value::Null;
    for manager in chain.iter().rev() {
        let Some(user) = dir.users.get(manager) else {
            continue;
        };
        let mut projected = odata::project(user, EntityType::User, select);
        if let Value::Object(fields) = &mut projected {
            let mut typed = serde_json::Map::new();
            typed.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            typed.extend(std::mem::take(fields));
            if !nested.is_null() {
                typed.insert("manager".into(), nested);
            }
            *fields = typed;
        }
        nested = projected;
    }
    nested
}
