//! `POST /$batch`: up to 20 requests with unique ids, relative (or
//! absolute) URLs, `dependsOn` (a failed dependency gives 424), each item
//! throttled and routed on its own; the outer response is 200 whenever the
//! batch parses, items come back in a seeded shuffled order, each with its
//! own status, headers and body.

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::auth::Principal;
use super::faults;
use super::shared::{Shared, endpoint_key};
use super::wire::{ApiRequest, ApiResponse, Body, ODATA_JSON, fill_inner_error};

/// The most requests one batch may hold.
pub(crate) const MAX_REQUESTS: usize = 20;

fn invalid(message: impl Into<String>) -> ApiResponse {
    ApiResponse::error(400, "BadRequest", message)
}

struct Item {
    id: String,
    depends_on: Vec<String>,
    request: ApiRequest,
}

/// Handles a `$batch` call.
pub(crate) fn handle(sh: &Shared, req: &ApiRequest, who: &Principal, now: Instant) -> ApiResponse {
    if req.method != "POST" {
        return super::wire::method_not_allowed();
    }
    let items = match parse(sh, req) {
        Ok(items) => items,
        Err(e) => return e,
    };
    let mut results: BTreeMap<String, ApiResponse> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    // Run in dependency order; `parse` rejected cycles and unknown ids.
    while done.len() < items.len() {
        for item in &items {
            let key = item.id.to_lowercase();
            if done.contains(&key) || !item.depends_on.iter().all(|d| done.contains(d)) {
                continue;
            }
            let failed_dependency = item
                .depends_on
                .iter()
                .any(|d| results.get(d).is_none_or(|r| !r.is_success()));
            let resp = if failed_dependency {
                ApiResponse::error(
                    424,
                    "FailedDependency",
                    "The request failed because a request it depends on failed.",
                )
            } else {
                run_item(sh, &item.request, who, now)
            };
            results.insert(key.clone(), resp);
            done.insert(key);
        }
    }
    let mut responses: Vec<Value> = items
        .iter()
        .map(|item| {
            let resp = results
                .remove(&item.id.to_lowercase())
                .unwrap_or_else(|| ApiResponse::empty(500));
            item_json(sh, &item.id, resp)
        })
        .collect();
    let n = sh.count_of("POST /v1.0/$batch");
    responses.shuffle(&mut faults::rng_for(sh.opts.seed, "batch order", n));
    ApiResponse::json(200, json!({"responses": responses}))
}

fn run_item(sh: &Shared, req: &ApiRequest, who: &Principal, now: Instant) -> ApiResponse {
    let key = endpoint_key(&req.method, &format!("/v1.0{}", req.path));
    let n = sh.count(&key);
    sh.count("batch items");
    let resp = match sh.take_injected(&key, true) {
        Some(faults::Fault::Throttled(seconds)) => super::throttle::too_many_requests(seconds),
        Some(faults::Fault::GatewayTimeout) => {
            sh.execute(req, who, now);
            faults::gateway_timeout()
        }
        Some(_) => faults::service_unavailable(),
        None => {
            let mut rng = faults::rng_for(sh.opts.seed, &format!("batch item {key}"), n);
            match faults::draw_batch_item(&sh.opts.faults, &mut rng) {
                Some(failure) => failure,
                None => sh.execute(req, who, now),
            }
        }
    };
    sh.count(&format!("status {}", resp.status));
    resp
}

fn item_json(sh: &Shared, id: &str, resp: ApiResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        headers.insert(k.clone(), json!(v));
    }
    let request_id = sh.request_id();
    let body = match resp.body {
        Body::Empty => None,
        Body::Json(mut v) => {
            fill_inner_error(&mut v, &request_id, &request_id);
            headers.insert("Content-Type".into(), json!(ODATA_JSON));
            headers.insert("OData-Version".into(), json!("4.0"));
            Some(v)
        }
        Body::Text(t) => {
            headers.insert("Content-Type".into(), json!("text/plain"));
            Some(json!(t))
        }
    };
    headers.insert("Cache-Control".into(), json!("no-cache"));
    // A response without content (204) still has `"body": null`, as Graph sends it.
    json!({"id": id, "status": resp.status, "headers": headers, "body": body})
}

fn parse(sh: &Shared, req: &ApiRequest) -> Result<Vec<Item>, ApiResponse> {
    let Some(requests) = req.body.as_ref().and_then(|b| b["requests"].as_array()) else {
        return Err(invalid(
            "Invalid batch payload format: a 'requests' array is required.",
        ));
    };
    if requests.is_empty() {
        return Err(invalid(
            "Invalid batch payload format: 'requests' is empty.",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(invalid(format!(
            "Number of requests inside batch exceeds the limit of {MAX_REQUESTS}."
        )));
    }
    let mut items = Vec::new();
    let mut ids = BTreeSet::new();
    for r in requests {
        let Some(id) = r["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| r["id"].as_i64().map(|n| n.to_string()))
        else {
            return Err(invalid(
                "Invalid batch payload format: each request needs an 'id'.",
            ));
        };
        if !ids.insert(id.to_lowercase()) {
            return Err(invalid(format!(
                "Batch request contains duplicate request ids: '{id}'."
            )));
        }
        let (Some(method), Some(url)) = (r["method"].as_str(), r["url"].as_str()) else {
            return Err(invalid(format!(
                "Invalid batch payload format: request '{id}' needs 'method' and 'url'."
            )));
        };
        let headers: BTreeMap<String, String> = r["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.to_lowercase(), v.to_owned())))
            .collect();
        let body = r.get("body").filter(|b| !b.is_null()).cloned();
        if body.is_some() && !headers.contains_key("content-type") {
            return Err(invalid(format!(
                "Write request id : {id} does not contain Content-Type header or body."
            )));
        }
        let depends_on: Vec<String> = match &r["dependsOn"] {
            Value::Null => Vec::new(),
            Value::Array(d) => d
                .iter()
                .filter_map(|x| x.as_str())
                .map(str::to_lowercase)
                .collect(),
            _ => {
                return Err(invalid(format!(
                    "Invalid batch payload format: 'dependsOn' of request '{id}' must be an array."
                )));
            }
        };
        let (path, query) = split_url(sh, url);
        if path.eq_ignore_ascii_case("/$batch") {
            return Err(invalid("Nested batch requests are not supported."));
        }
        items.push(Item {
            id,
            depends_on,
            request: ApiRequest {
                method: method.to_uppercase(),
                path,
                query,
                headers,
                body,
            },
        });
    }
    for item in &items {
        for d in &item.depends_on {
            if !ids.contains(d) {
                return Err(invalid(format!(
                    "Request '{}' depends on unknown request '{d}'.",
                    item.id
                )));
            }
        }
    }
    // Dependencies must resolve (no cycles): every item reachable in order.
    let mut done = BTreeSet::new();
    loop {
        let before = done.len();
        for item in &items {
            if item.depends_on.iter().all(|d| done.contains(d)) {
                done.insert(item.id.to_lowercase());
            }
        }
        if done.len() == items.len() {
            break;
        }
        if done.len() == before {
            return Err(invalid(
                "The dependsOn references of the batch form a cycle.",
            ));
        }
    }
    Ok(items)
}

/// A relative (`/users?…`, `users/…`) or absolute item URL → path below `/v1.0` and decoded query.
fn split_url(sh: &Shared, url: &str) -> (String, Vec<(String, String)>) {
    let mut rest = url;
    for prefix in [sh.base_url(), "https://graph.microsoft.com"] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
        }
    }
    if let Some(r) = rest
        .strip_prefix("/v1.0")
        .or_else(|| rest.strip_prefix("v1.0"))
    {
        rest = r;
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = super::server::percent_decode(path);
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let query = super::server::parse_query(query);
    (path, query)
}
