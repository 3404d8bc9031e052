//! Listing a collection the way Graph pages it: filter, `$top`, keyset
//! paging by id behind opaque `$skiptoken`s (every object exactly once,
//! even while others are created), `@odata.count` on the first page.

use std::ops::Bound;

use serde_json::Value;

use super::odata::{self, EntityType, Page};
use super::shared::Shared;
use super::wire::{ApiRequest, ApiResponse};

/// Lists `objects` (id → object, sorted by id) for `req`. `visible` hides
/// objects (replication lag); `odata_type` names an item's `@odata.type`
/// (members and owners lists carry it).
pub(crate) fn list<'a, I, V, T>(
    sh: &Shared,
    req: &ApiRequest,
    ty: EntityType,
    set: &str,
    objects: I,
    visible: V,
    odata_type: T,
) -> Result<ApiResponse, ApiResponse>
where
    I: Fn(Bound<String>) -> Box<dyn Iterator<Item = (String, &'a Value)> + 'a>,
    V: Fn(&str, &Value) -> bool,
    T: Fn(&str) -> Option<&'static str>,
{
    let selection = odata::selection(req, ty, true)?;
    let top = odata::page_size(req)?;
    let filter = odata::parse_filter(req)?;
    let search = match req.query("$search") {
        None => None,
        Some(_) if !req.is_advanced_query() => {
            return Err(ApiResponse::error(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            ));
        }
        Some(raw) => Some(
            super::search::parse(raw)
                .map_err(|m| ApiResponse::error(400, "Request_UnsupportedQuery", m))?,
        ),
    };
    let after = match req.query("$skiptoken") {
        Some(token) => Some(lock(&sh.pages).resolve(token)?),
        None => None,
    };
    let matches = |id: &str, o: &Value| {
        visible(id, o)
            && filter.as_ref().is_none_or(|f| f.matches(o))
            && search.as_ref().is_none_or(|s| s.matches(o))
    };
    let count =
        (after.is_none() && odata::wants_count(req) && req.is_advanced_query()).then(|| {
            objects(Bound::Unbounded)
                .filter(|(id, o)| matches(id, o))
                .count()
        });
    let order = parse_order(req, filter.is_some() || search.is_some())?;
    let (items, more, continue_with) = match &order {
        // Keyset paging by id: every object exactly once, even while others are created.
        None => {
            let start = after.map_or(Bound::Unbounded, Bound::Excluded);
            let (items, more) =
                odata::paginate(objects(start).filter(|(id, o)| matches(id, o)), top);
            let last = items.last().map(|(k, _)| k.clone()).unwrap_or_default();
            (items, more, last)
        }
        // `$orderby`: sort every match, page by offset.
        Some(keys) => {
            let offset: usize = match &after {
                Some(token) => token
                    .strip_prefix(OFFSET)
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(odata::page_token_not_found)?,
                None => 0,
            };
            let mut all: Vec<(String, &Value)> = objects(Bound::Unbounded)
                .filter(|(id, o)| matches(id, o))
                .collect();
            all.sort_by(|a, b| compare(keys, a, b));
            let more = all.len() > offset + top;
            let items: Vec<(String, Value)> = all
                .into_iter()
                .skip(offset)
                .take(top)
                .map(|(k, v)| (k, v.clone()))
                .collect();
            (items, more, format!("{OFFSET}{}", offset + top))
        }
    };
    let next = if more {
        let token = format!("RFNwdAIAAQAA{}", sh.request_id().replace('-', ""));
        lock(&sh.pages).insert(token.clone(), continue_with);
        Some(token)
    } else {
        None
    };
    let page = Page {
        items: items
            .iter()
            .map(|(id, o)| {
                let projected = odata::project(o, ty, &selection);
                match (odata_type(id), projected) {
                    (Some(t), Value::Object(fields)) => {
                        let mut typed = serde_json::Map::new();
                        typed.insert("@odata.type".into(), Value::from(t));
                        typed.extend(fields);
                        Value::Object(typed)
                    }
                    (_, projected) => projected,
                }
            })
            .collect(),
        count,
    };
    let context = odata::context_of(set, &selection);
    Ok(odata::collection_response(
        sh.base_url(),
        req,
        &context,
        page,
        next,
    ))
}

/// Marks a page token that continues at an offset (ordered lists).
const OFFSET: &str = "offset:";

/// `$orderby=a desc,b`: (property, descending?) pairs. With `$filter` or
/// `$search` Graph needs the advanced-query opt-in.
fn parse_order(
    req: &ApiRequest,
    filtered: bool,
) -> Result<Option<Vec<(String, bool)>>, ApiResponse> {
    let Some(raw) = req.query("$orderby") else {
        return Ok(None);
    };
    if filtered && !(req.is_advanced_query() && odata::wants_count(req)) {
        return Err(ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            "Sorting not supported for current query.",
        ));
    }
    let mut keys = Vec::new();
    for part in raw.split(',') {
        let mut words = part.split_whitespace();
        let Some(property) = words.next() else {
            continue;
        };
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(ApiResponse::error(
                    400,
                    "BadRequest",
                    format!("Invalid $orderby direction '{other}'; use asc or desc."),
                ));
            }
        };
        keys.push((property.to_owned(), descending));
    }
    Ok(Some(keys))
}

/// Orders two objects by `keys` (strings case-insensitively, nulls last), then by id.
fn compare(
    keys: &[(String, bool)],
    a: &(String, &Value),
    b: &(String, &Value),
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (property, descending) in keys {
        let key = |o: &Value| match o.get(property.as_str()) {
            Some(Value::String(s)) => Some(s.to_lowercase()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let ordering = match (key(a.1), key(b.1)) {
            (Some(x), Some(y)) if *descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.0.cmp(&b.0)
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
