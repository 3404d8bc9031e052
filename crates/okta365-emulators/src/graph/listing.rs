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
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let (items, more) = odata::paginate(objects(start).filter(|(id, o)| matches(id, o)), top);
    let next = if more {
        let last = items.last().map(|(k, _)| k.clone()).unwrap_or_default();
        let token = format!("RFNwdAIAAQAA{}", sh.request_id().replace('-', ""));
        lock(&sh.pages).insert(token.clone(), last);
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

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
