//! `$expand` on users (`manager`, `memberOf`) and groups (`members`,
//! `owners`): the related objects inline, at most 20 per property with no
//! nextLink, as Graph's directory `$expand` does. `nav($select=a,b)` trims
//! them. Not allowed together with advanced queries.

use serde_json::{Value, json};

use super::odata::{self, EntityType};
use super::state::{Directory, Kind};
use super::wire::{ApiRequest, ApiResponse, Body};

/// Most related objects one expanded property holds.
const MAX_EXPANDED: usize = 20;

/// One `$expand` item: a navigation property and its `$select`.
struct Expansion {
    property: String,
    select: Option<Vec<String>>,
}

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
        out.push(Expansion {
            property: property.to_owned(),
            select,
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
    if req.is_advanced_query() {
        *resp = ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            "$expand is not supported together with advanced query options (ConsistencyLevel: eventual).",
        );
        return;
    }
    let expansions = parse(raw);
    for e in &expansions {
        let known = match kind {
            Kind::User => matches!(e.property.as_str(), "manager" | "memberOf"),
            Kind::Group => matches!(e.property.as_str(), "members" | "owners"),
        };
        if !known {
            *resp = ApiResponse::error(
                400,
                "Request_BadRequest",
                format!(
                    "Could not find a navigation property named '{}' that can be expanded.",
                    e.property
                ),
            );
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
