//! `GET /api/v1/users` (list, `search`, `filter`, `q`), `GET /api/v1/users/{id}`
//! and `GET /api/v1/users/{id}/groups`. A plain list omits DEPROVISIONED
//! users; `search` and `filter` include them, as Okta does.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::app::AppRef;
use super::errors::ApiError;
use super::expr::{self, Expr};
use super::groups::group_for_collection;
use super::paging::{self, Params, param};
use super::sorting;
use super::state::login_of;

/// Users per page when `limit` is absent, and the most a page holds.
pub const USER_PAGE_MAX: usize = 200;

/// `GET /api/v1/users`.
pub async fn list(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    list_page(&app, &headers, &params).unwrap_or_else(IntoResponse::into_response)
}

fn list_page(app: &AppRef, headers: &HeaderMap, params: &Params) -> Result<Response, ApiError> {
    let base = paging::base_url(headers);
    if let Some(q) = param(params, "q") {
        let limit = paging::limit(params, 10, 1, USER_PAGE_MAX)?;
        let q = q.to_lowercase();
        let cutoff = search_cutoff(app);
        let org = app.org();
        let found: Vec<Value> = org
            .users
            .iter()
            .filter_map(|(id, user)| org.searchable(id, user, cutoff))
            .filter(|u| u["status"] != "DEPROVISIONED")
            .filter(|u| {
                ["firstName", "lastName", "email"].iter().any(|attr| {
                    u["profile"][attr]
                        .as_str()
                        .is_some_and(|v| v.to_lowercase().starts_with(&q))
                })
            })
            .take(limit)
            .map(|u| user_for_collection(u, &base))
            .collect();
        return Ok(with_links(
            found,
            paging::link_headers(&base, "/api/v1/users", params, None, &[]),
        ));
    }
    let search = parse_param(params, "search", expr::USER_SEARCH)?;
    let filter = parse_param(params, "filter", expr::USER_FILTER)?;
    let plain = search.is_none() && filter.is_none();
    let sort = sorting::sort_param(params, search.is_some())?;
    let after = param(params, "after");
    // A sorted walk starts at the top; an id-ordered one at the cursor.
    let start = if sort.is_some() { None } else { after };
    let limit = paging::limit(params, USER_PAGE_MAX, 1, USER_PAGE_MAX)?;
    let cutoff = search_cutoff(app);
    let org = app.org();
    let candidates = org
        .users
        .range::<str, _>(paging::after_bound(start))
        .filter_map(|(id, user)| {
            if plain {
                (user["status"] != "DEPROVISIONED").then_some((id.as_str(), user))
            } else {
                // search and filter read an index that lags behind writes.
                let seen = org.searchable(id, user, cutoff)?;
                let hit = search.as_ref().is_none_or(|e| expr::matches(e, seen))
                    && filter.as_ref().is_none_or(|e| expr::matches(e, seen));
                hit.then_some((id.as_str(), seen))
            }
        });
    let (page, next) = sorting::page(
        candidates,
        sort.as_ref(),
        after,
        limit,
        app.options.full_page_next,
    )?;
    let body: Vec<Value> = page
        .into_iter()
        .map(|u| user_for_collection(u, &base))
        .collect();
    let links = paging::link_headers(&base, "/api/v1/users", params, next.as_deref(), &[]);
    Ok(with_links(body, links))
}

/// The latest write a search sees: now minus [`OktaOptions::search_lag`](super::OktaOptions).
fn search_cutoff(app: &AppRef) -> jiff::Timestamp {
    let lag =
        jiff::SignedDuration::try_from(app.options.search_lag).unwrap_or(jiff::SignedDuration::MAX);
    jiff::Timestamp::now()
        .checked_sub(lag)
        .unwrap_or(jiff::Timestamp::MIN)
}

/// Parses the `name` parameter with `dialect`; a bad expression is Okta's E0000031.
pub fn parse_param(
    params: &Params,
    name: &str,
    dialect: expr::Dialect,
) -> Result<Option<Expr>, ApiError> {
    match param(params, name) {
        None => Ok(None),
        Some(text) => expr::parse(text, dialect)
            .map(Some)
            .map_err(|why| ApiError::new("E0000031").cause(format!("{name}: {why}"))),
    }
}

/// A JSON array body with `Link` headers.
pub fn with_links(body: Vec<Value>, links: Vec<HeaderValue>) -> Response {
    let mut response = axum::Json(Value::Array(body)).into_response();
    for link in links {
        response.headers_mut().append(header::LINK, link);
    }
    response
}

/// A user as a collection returns it: `_links` has only `self`.
pub fn user_for_collection(user: &Value, base: &str) -> Value {
    let mut user = user.clone();
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    user["_links"] = json!({"self": {"href": format!("{base}/api/v1/users/{id}")}});
    user
}

fn user_with_lifecycle_links(user: &Value, base: &str) -> Value {
    let mut user = user_for_collection(user, base);
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    let actions: &[&str] = match user["status"].as_str().unwrap_or_default() {
        "STAGED" | "PROVISIONED" => &["activate", "deactivate"],
        "SUSPENDED" => &["unsuspend", "deactivate"],
        "DEPROVISIONED" => &["activate"],
        "LOCKED_OUT" => &["unlock", "deactivate"],
        _ => &["suspend", "deactivate", "resetPassword", "expirePassword"],
    };
    for action in actions {
        let lifecycle = match *action {
            "resetPassword" => "reset_password".to_owned(),
            "expirePassword" => "expire_password".to_owned(),
            other => other.to_owned(),
        };
        user["_links"][*action] = json!({
            "href": format!("{base}/api/v1/users/{id}/lifecycle/{lifecycle}"),
            "method": "POST"
        });
    }
    user
}

/// Finds a user by id, login, or unambiguous login shortname.
pub fn find_user<'a>(
    users: &'a std::collections::BTreeMap<String, Value>,
    key: &str,
) -> Option<&'a Value> {
    if let Some(user) = users.get(key) {
        return Some(user);
    }
    if let Some(user) = users
        .values()
        .find(|u| login_of(u).eq_ignore_ascii_case(key))
    {
        return Some(user);
    }
    let mut short = users.values().filter(|u| {
        login_of(u)
            .split_once('@')
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case(key))
    });
    match (short.next(), short.next()) {
        (Some(user), None) => Some(user),
        _ => None,
    }
}

/// `GET /api/v1/users/{id}`.
pub async fn get(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let base = paging::base_url(&headers);
    let org = app.org();
    let Some(user) = find_user(&org.users, &key) else {
        return ApiError::not_found(&key, "User").into_response();
    };
    let etag = format!(
        "W/\"{}\"",
        user["lastUpdated"]
            .as_str()
            .unwrap_or_default()
            .replace(['-', ':', '.'], "")
    );
    let mut response = axum::Json(user_with_lifecycle_links(user, &base)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `GET /api/v1/users/{id}/groups` (no paging, as in Okta's spec).
pub async fn groups(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let base = paging::base_url(&headers);
    let org = app.org();
    let Some(user) = find_user(&org.users, &key) else {
        return ApiError::not_found(&key, "User").into_response();
    };
    let id = user["id"].as_str().unwrap_or_default();
    let groups: Vec<Value> = org
        .groups
        .iter()
        .filter(|(gid, _)| org.members.get(*gid).is_some_and(|m| m.contains(id)))
        .map(|(_, g)| group_for_collection(g, &base))
        .collect();
    axum::Json(Value::Array(groups)).into_response()
}
