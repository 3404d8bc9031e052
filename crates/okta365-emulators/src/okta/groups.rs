//! `GET /api/v1/groups` (list, `q`, `search`, `filter`, `expand=stats`),
//! `GET /api/v1/groups/{id}` and `GET /api/v1/groups/{id}/users`; and the
//! writes on `OKTA_GROUP`s: create, replace the profile, delete, add and
//! remove a member.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::app::AppRef;
use super::errors::ApiError;
use super::expr;
use super::paging::{self, Params, param};
use super::sorting;
use super::users::{json_body, mutation_error, parse_param, user_for_collection, with_links};

/// Groups per page when `limit` is absent, and the most a page holds (Okta's spec maximum).
pub const GROUP_PAGE_MAX: usize = 10_000;
/// Members per page when `limit` is absent ("for historical reasons"), and the most.
pub const MEMBER_PAGE_MAX: usize = 1_000;

/// A group as Okta returns it, with links pointing at this org.
pub fn group_for_collection(group: &Value, base: &str) -> Value {
    let mut group = group.clone();
    let id = group["id"].as_str().unwrap_or_default().to_owned();
    if !group["_links"].is_object() {
        group["_links"] = json!({});
    }
    group["_links"]["users"] = json!({"href": format!("{base}/api/v1/groups/{id}/users")});
    group["_links"]["apps"] = json!({"href": format!("{base}/api/v1/groups/{id}/apps")});
    group
}

/// `GET /api/v1/groups`.
pub async fn list(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    list_page(&app, &headers, &params).unwrap_or_else(IntoResponse::into_response)
}

fn list_page(app: &AppRef, headers: &HeaderMap, params: &Params) -> Result<Response, ApiError> {
    let base = paging::base_url(headers);
    let stats = param(params, "expand").is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
    let org = app.org();
    let render = |group: &Value| {
        let mut group = group_for_collection(group, &base);
        if stats {
            let id = group["id"].as_str().unwrap_or_default();
            let count = org.members.get(id).map_or(0, |m| m.len());
            group["_embedded"] = json!({"stats": {"usersCount": count, "appsCount": 0,
                "groupPushMappingsCount": 0, "hasAdminPrivilege": false}});
        }
        group
    };
    if let Some(q) = param(params, "q") {
        let limit = paging::limit(params, 300, 1, GROUP_PAGE_MAX)?;
        let q = q.to_lowercase();
        let found: Vec<Value> = org
            .groups
            .values()
            .filter(|g| {
                g["profile"]["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().starts_with(&q))
            })
            .take(limit)
            .map(render)
            .collect();
        return Ok(with_links(
            found,
            paging::link_headers(&base, "/api/v1/groups", params, None, &[]),
        ));
    }
    let search = parse_param(params, "search", expr::GROUP_SEARCH)?;
    let filter = parse_param(params, "filter", expr::GROUP_FILTER)?;
    let sort = sorting::sort_param(params, search.is_some())?;
    let after = param(params, "after");
    let start = if sort.is_some() { None } else { after };
    let limit = paging::limit(params, GROUP_PAGE_MAX, 1, GROUP_PAGE_MAX)?;
    let candidates = org
        .groups
        .range::<str, _>(paging::after_bound(start))
        .filter(|(_, group)| {
            search.as_ref().is_none_or(|e| expr::matches(e, group))
                && filter.as_ref().is_none_or(|e| expr::matches(e, group))
        });
    let candidates = candidates.map(|(id, group)| (id.as_str(), group));
    let (page, next) = sorting::page(
        candidates,
        sort.as_ref(),
        after,
        limit,
        app.options.full_page_next,
    )?;
    let body: Vec<Value> = page.into_iter().map(render).collect();
    let links = paging::link_headers(&base, "/api/v1/groups", params, next.as_deref(), &[]);
    Ok(with_links(body, links))
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::not_found(id, "UserGroup")
}

/// `GET /api/v1/groups/{id}`.
pub async fn get(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let base = paging::base_url(&headers);
    let org = app.org();
    match org.groups.get(&id) {
        Some(group) => axum::Json(group_for_collection(group, &base)).into_response(),
        None => group_not_found(&id).into_response(),
    }
}

/// `GET /api/v1/groups/{id}/users`.
pub async fn members(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let base = paging::base_url(&headers);
    let limit = match paging::limit(&params, MEMBER_PAGE_MAX, 1, MEMBER_PAGE_MAX) {
        Ok(limit) => limit,
        Err(error) => return error.into_response(),
    };
    let org = app.org();
    if !org.groups.contains_key(&id) {
        return group_not_found(&id).into_response();
    }
    let empty = Default::default();
    let member_ids = org.members.get(&id).unwrap_or(&empty);
    let members = member_ids
        .range::<str, _>(paging::after_bound(param(&params, "after")))
        .filter_map(|uid| org.users.get(uid).map(|user| (uid.as_str(), user)));
    let (page, next) = paging::page_after(
        members,
        param(&params, "after"),
        limit,
        app.options.full_page_next,
    );
    let body: Vec<Value> = page
        .into_iter()
        .map(|u| user_for_collection(u, &base))
        .collect();
    let path = format!("/api/v1/groups/{id}/users");
    with_links(
        body,
        paging::link_headers(&base, &path, &params, next.as_deref(), &[]),
    )
}

/// `POST /api/v1/groups` → 200 + the new `OKTA_GROUP`.
pub async fn create(
    State(app): State<AppRef>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let profile = match json_body(&body) {
        Ok(body) => body.get("profile").cloned().unwrap_or(Value::Null),
        Err(e) => return e.into_response(),
    };
    let mut org = app.org();
    match org.add_group(profile, jiff::Timestamp::now()) {
        Ok(id) => {
            let base = paging::base_url(&headers);
            axum::Json(group_for_collection(&org.groups[&id], &base)).into_response()
        }
        Err(e) => mutation_error(e, "profile").into_response(),
    }
}

/// `PUT /api/v1/groups/{id}` → 200 + the group with its new profile.
pub async fn replace(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let profile = match json_body(&body) {
        Ok(body) => body.get("profile").cloned().unwrap_or(Value::Null),
        Err(e) => return e.into_response(),
    };
    let mut org = app.org();
    match org.replace_group_profile(&id, profile, jiff::Timestamp::now()) {
        Ok(()) => {
            let base = paging::base_url(&headers);
            axum::Json(group_for_collection(&org.groups[&id], &base)).into_response()
        }
        Err(e) => mutation_error(e, "profile").into_response(),
    }
}

/// `DELETE /api/v1/groups/{id}` → 204.
pub async fn delete(State(app): State<AppRef>, Path(id): Path<String>) -> Response {
    match app.org().delete_group(&id, jiff::Timestamp::now()) {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => mutation_error(e, "group").into_response(),
    }
}

/// `PUT /api/v1/groups/{id}/users/{userId}` → 204.
pub async fn add_member(
    State(app): State<AppRef>,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    match app.org().add_member(&group, &user, jiff::Timestamp::now()) {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => mutation_error(e, "member").into_response(),
    }
}

/// `DELETE /api/v1/groups/{id}/users/{userId}` → 204.
pub async fn remove_member(
    State(app): State<AppRef>,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    match app
        .org()
        .remove_member(&group, &user, jiff::Timestamp::now())
    {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => mutation_error(e, "member").into_response(),
    }
}
