//! `GET /api/v1/users` (list, `search`, `filter`, `q`), `GET /api/v1/users/{id}`
//! and `GET /api/v1/users/{id}/groups`. A plain list omits DEPROVISIONED
//! users; `search` and `filter` include them, as Okta does. Writes, as
//! Okta's SDKs make them: create (`POST /api/v1/users?activate=`), partial
//! and full profile updates (`POST`/`PUT /api/v1/users/{id}`), lifecycle
//! operations, and delete (a first `DELETE` deactivates, a second deletes).

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

/// Parses the `name` parameter with `dialect`. A bad expression is Okta's
/// E0000031, worded as Okta words it: a syntax error carries the one cause
/// "Invalid search syntax.", an unknown attribute or an operator the
/// attribute does not take carries none.
pub fn parse_param(
    params: &Params,
    name: &str,
    dialect: expr::Dialect,
) -> Result<Option<Expr>, ApiError> {
    match param(params, name) {
        None => Ok(None),
        Some(text) => expr::parse(text, dialect).map(Some).map_err(|why| {
            let error = ApiError::new("E0000031");
            match why {
                expr::Refusal::Syntax(_) => error.cause("Invalid search syntax."),
                expr::Refusal::UnknownField(_) | expr::Refusal::Unsupported { .. } => error,
            }
        }),
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

/// A write's JSON body, or Okta's E0000003.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| {
        ApiError::new("E0000003")
            .status(axum::http::StatusCode::BAD_REQUEST)
            .summary("The request body was not well-formed.")
    })
}

/// A refused mutation as Okta's error: E0000007 for a missing object,
/// E0000001 with the cause otherwise.
pub fn mutation_error(error: super::state::MutationError, kind: &str) -> ApiError {
    use super::state::MutationError;
    match error {
        MutationError::NoUser(id) => ApiError::not_found(&id, "User"),
        MutationError::NoGroup(id) => ApiError::not_found(&id, "UserGroup"),
        MutationError::Invalid(why) => ApiError::new("E0000001")
            .summary(format!("Api validation failed: {kind}"))
            .cause(why),
    }
}

/// Base-profile attributes a new user must have (Okta's default user type).
const REQUIRED_PROFILE: [&str; 4] = ["login", "email", "firstName", "lastName"];

/// `POST /api/v1/users?activate=true|false` → 200 + the user: ACTIVE with a
/// password, PROVISIONED without one, STAGED with `activate=false`.
pub async fn create(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Query(params): Query<Params>,
    body: axum::body::Bytes,
) -> Response {
    create_user(&app, &headers, &params, &body).unwrap_or_else(IntoResponse::into_response)
}

fn create_user(
    app: &AppRef,
    headers: &HeaderMap,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let profile = body.get("profile").cloned().unwrap_or(Value::Null);
    for field in REQUIRED_PROFILE {
        if profile
            .get(field)
            .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
        {
            return Err(ApiError::new("E0000001")
                .summary(format!("Api validation failed: {field}"))
                .cause(format!("{field}: The field cannot be left blank")));
        }
    }
    let login = profile["login"].as_str().unwrap_or_default();
    if app
        .org()
        .users
        .values()
        .any(|u| login_of(u).eq_ignore_ascii_case(login))
    {
        return Err(ApiError::new("E0000001")
            .summary("Api validation failed: login")
            .cause("login: An object with this field already exists in the current organization"));
    }
    let activate = param(params, "activate").is_none_or(|a| a != "false");
    let has_password = body["credentials"]["password"]["value"].is_string();
    let status = match (activate, has_password) {
        (false, _) => "STAGED",
        (true, true) => "ACTIVE",
        (true, false) => "PROVISIONED",
    };
    let mut user = json!({ "status": status, "profile": profile });
    if has_password || body["credentials"]["provider"].is_object() {
        // The secret is never kept, as Okta never returns it.
        user["credentials"] = json!({"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}});
    }
    if let Some(t) = body.get("type").filter(|t| t.is_object()) {
        user["type"] = t.clone();
    }
    let now = jiff::Timestamp::now();
    let mut org = app.org();
    let id = org
        .add_user(user, now)
        .map_err(|e| mutation_error(e, "user"))?;
    for group in body["groupIds"].as_array().into_iter().flatten() {
        if let Some(group) = group.as_str() {
            org.add_member(group, &id, now)
                .map_err(|e| mutation_error(e, "groupIds"))?;
        }
    }
    let base = paging::base_url(headers);
    Ok(axum::Json(user_with_lifecycle_links(&org.users[&id], &base)).into_response())
}

/// `POST /api/v1/users/{id}` (profile attributes merged) and `PUT` (the
/// profile replaced: attributes left out become `null`) → 200 + the user.
pub async fn update(
    State(app): State<AppRef>,
    method: axum::http::Method,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    update_user(&app, &method, &headers, &key, &body).unwrap_or_else(IntoResponse::into_response)
}

fn update_user(
    app: &AppRef,
    method: &axum::http::Method,
    headers: &HeaderMap,
    key: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let mut org = app.org();
    let id = find_user(&org.users, key)
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found(key, "User"))?;
    let mut changes = body.get("profile").cloned().unwrap_or_else(|| json!({}));
    if *method == axum::http::Method::PUT
        && let (Some(old), Some(new)) = (
            org.users[&id]["profile"].as_object(),
            changes.as_object_mut(),
        )
    {
        for name in old.keys() {
            new.entry(name.clone()).or_insert(Value::Null);
        }
    }
    org.update_profile(&id, changes, jiff::Timestamp::now())
        .map_err(|e| mutation_error(e, "profile"))?;
    let base = paging::base_url(headers);
    Ok(axum::Json(user_with_lifecycle_links(&org.users[&id], &base)).into_response())
}

/// `POST /api/v1/users/{id}/lifecycle/{operation}` → 200.
pub async fn lifecycle(
    State(app): State<AppRef>,
    headers: HeaderMap,
    Query(params): Query<Params>,
    Path((key, operation)): Path<(String, String)>,
) -> Response {
    change_status(&app, &key, &operation)
        .map(|()| activation_answer(&app, &headers, &params, &operation))
        .unwrap_or_else(IntoResponse::into_response)
}

/// What a lifecycle operation answers: `activate` and `reactivate` with
/// `sendEmail=false` (reactivate's default) give the user's activation
/// token and link (Identity Engine form), everything else `{}`.
fn activation_answer(
    app: &AppRef,
    headers: &HeaderMap,
    params: &Params,
    operation: &str,
) -> Response {
    let default_send = operation != "reactivate";
    let send_email = param(params, "sendEmail").map_or(default_send, |v| v == "true");
    if send_email || !matches!(operation, "activate" | "reactivate") {
        return axum::Json(json!({})).into_response();
    }
    let token = app.org().random_text(20);
    let base = paging::base_url(headers);
    axum::Json(json!({
        "activationUrl": format!("{base}/tokens/{token}/verify"),
        "activationToken": token,
    }))
    .into_response()
}

fn change_status(app: &AppRef, key: &str, operation: &str) -> Result<(), ApiError> {
    let mut org = app.org();
    let user = find_user(&org.users, key).ok_or_else(|| ApiError::not_found(key, "User"))?;
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    let status = user["status"].as_str().unwrap_or_default().to_owned();
    let not_allowed = || {
        ApiError::new("E0000001")
            .summary(format!("Api validation failed: {operation}"))
            .cause(format!(
                "This operation is not allowed in the user's current status ({status})"
            ))
    };
    let target = match operation {
        // Okta's spec: activate takes STAGED or DEPROVISIONED users,
        // reactivate PROVISIONED or RECOVERY ones.
        "activate" | "reactivate"
            if matches!(
                (operation, status.as_str()),
                ("activate", "STAGED" | "DEPROVISIONED")
                    | ("reactivate", "PROVISIONED" | "RECOVERY")
            ) =>
        {
            if user["credentials"]["password"].is_object() {
                "ACTIVE"
            } else {
                "PROVISIONED"
            }
        }
        "deactivate" => "DEPROVISIONED",
        "suspend" if status == "ACTIVE" => "SUSPENDED",
        "unsuspend" if status == "SUSPENDED" => "ACTIVE",
        "unlock" if status == "LOCKED_OUT" => "ACTIVE",
        // Okta also unlocks an ACTIVE user blocked from unknown devices: a success.
        "unlock" if status == "ACTIVE" => return Ok(()),
        "activate" | "reactivate" | "suspend" | "unsuspend" | "unlock" => return Err(not_allowed()),
        _ => return Err(ApiError::not_found(operation, "Endpoint")),
    };
    org.set_status(&id, target, jiff::Timestamp::now())
        .map_err(|e| mutation_error(e, operation))
}

/// `DELETE /api/v1/users/{id}` → 204: deactivates a user that is not yet
/// DEPROVISIONED, deletes one that is.
pub async fn delete(State(app): State<AppRef>, Path(key): Path<String>) -> Response {
    let mut org = app.org();
    let Some(user) = find_user(&org.users, &key) else {
        return ApiError::not_found(&key, "User").into_response();
    };
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    let now = jiff::Timestamp::now();
    let done = if user["status"] == "DEPROVISIONED" {
        org.delete_user(&id, now)
    } else {
        org.set_status(&id, "DEPROVISIONED", now)
    };
    match done {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => mutation_error(e, "user").into_response(),
    }
}
