//! `/users`: list, get by id or UPN, create (with Graph's validation and
//! ObjectConflict), PATCH (null clears), soft delete, `$count`,
//! `revokeSignInSessions`, `manager`, `memberOf`.

use std::ops::Bound;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::lag;
use super::listing;
use super::odata::{self, EntityType};
use super::shared::Shared;
use super::state::{Deleted, Directory, Kind};
use super::wire::{ApiRequest, ApiResponse, bad_request, not_found};

/// `GET /users`.
pub(crate) fn list(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    let lag = sh.opts.lag.new_object;
    let stale = sh.opts.lag.stale_reads;
    let result = listing::list(
        sh,
        req,
        EntityType::User,
        "users",
        |from| {
            Box::new(
                dir.users
                    .range((from, Bound::Unbounded))
                    .map(|(k, v)| (k.clone(), dir.as_of(k, v, stale, now))),
            )
        },
        |id, _| lag::is_visible(&dir, id, lag, now),
        |_| None,
    );
    let mut resp = result.unwrap_or_else(|e| e);
    super::expand::apply(&dir, req, Kind::User, &mut resp);
    resp
}

/// `GET /users/$count` (advanced query only), as `text/plain`.
pub(crate) fn count(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    if !req.is_advanced_query() {
        return ApiResponse::error(
            400,
            "Request_BadRequest",
            "$count is not currently supported.",
        );
    }
    let filter = match odata::parse_filter(req) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let dir = sh.dir();
    let lag = sh.opts.lag.new_object;
    let n = dir
        .users
        .iter()
        .filter(|(id, u)| {
            lag::is_visible(&dir, id, lag, now) && filter.as_ref().is_none_or(|f| f.matches(u))
        })
        .count();
    ApiResponse::text(200, n.to_string())
}

/// Resolves `key` (id or UPN) to a visible user's id, or Graph's 404.
pub(crate) fn resolve(
    dir: &Directory,
    sh: &Shared,
    key: &str,
    now: Instant,
) -> Result<String, ApiResponse> {
    dir.user_id(key)
        .filter(|id| lag::is_visible(dir, id, sh.opts.lag.new_object, now))
        .ok_or_else(|| not_found(key))
}

/// The single-entity response for a user.
pub(crate) fn entity(sh: &Shared, user: &Value, selection: &odata::Selection) -> ApiResponse {
    let mut body = Map::new();
    let context = match selection {
        Some(p) => format!("users({})/$entity", p.join(",")),
        None => "users/$entity".to_owned(),
    };
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{context}", sh.base_url())),
    );
    if let Value::Object(fields) = odata::project(user, EntityType::User, selection) {
        body.extend(fields);
    }
    ApiResponse::json(200, Value::Object(body))
}

/// `GET /users/{id|upn}`.
pub(crate) fn get(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let selection = match odata::selection(req, EntityType::User, false) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let dir = sh.dir();
    let mut resp = match resolve(&dir, sh, key, now) {
        Ok(id) => entity(
            sh,
            dir.as_of(&id, &dir.users[&id], sh.opts.lag.stale_reads, now),
            &selection,
        ),
        Err(e) => e,
    };
    super::expand::apply(&dir, req, Kind::User, &mut resp);
    resp
}

const REQUIRED_ON_CREATE: &[&str] = &[
    "accountEnabled",
    "displayName",
    "mailNickname",
    "passwordProfile",
    "userPrincipalName",
];

/// `POST /users` → 201 + the user.
pub(crate) fn create(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    let body = &match odata::without_type_annotation(body, "microsoft.graph.user") {
        Ok(body) => body,
        Err(e) => return e,
    };
    for p in REQUIRED_ON_CREATE {
        if body.get(*p).is_none_or(Value::is_null) {
            return invalid_value(p);
        }
    }
    if let Err(e) = check_properties(body) {
        return e;
    }
    let password = body["passwordProfile"]["password"].as_str().unwrap_or("");
    if !is_complex_password(password) {
        return bad_request(
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        );
    }
    let upn = body["userPrincipalName"].as_str().unwrap_or("").to_owned();
    if let Err(e) = check_upn(sh, &upn) {
        return e;
    }
    let mut dir = sh.dir();
    if dir.upn_taken(&upn, None) {
        return conflict("userPrincipalName");
    }
    if let Some(e) = address_conflict(&dir, body, None) {
        return e;
    }
    let id = dir.new_id();
    let mut user = Map::new();
    user.insert("id".into(), json!(id));
    user.insert("businessPhones".into(), json!([]));
    for p in odata::USER_DEFAULT {
        user.entry(*p).or_insert(Value::Null);
    }
    user.insert("createdDateTime".into(), json!(timestamp()));
    user.insert("creationType".into(), Value::Null);
    user.insert("userType".into(), json!("Member"));
    user.insert("externalUserState".into(), Value::Null);
    user.insert("externalUserStateChangeDateTime".into(), Value::Null);
    user.insert("usageLocation".into(), Value::Null);
    user.insert("assignedLicenses".into(), json!([]));
    user.insert("licenseAssignmentStates".into(), json!([]));
    user.insert(
        "onPremisesExtensionAttributes".into(),
        empty_extension_attributes(),
    );
    user.insert("proxyAddresses".into(), json!([]));
    for (k, v) in body {
        if k == "passwordProfile" {
            continue;
        }
        if k == "onPremisesExtensionAttributes" {
            merge_into(user.get_mut(k), v);
            continue;
        }
        user.insert(k.clone(), v.clone());
    }
    let user = Value::Object(user);
    dir.insert_user(id.clone(), user.clone());
    dir.created_at.insert(id.clone(), now);
    dir.record(Kind::User, &id, None);
    let mut resp = entity(sh, &user, &None);
    resp.status = 201;
    resp.with_header("Location", format!("{}/v1.0/users/{id}", sh.base_url()))
}

/// `PATCH /users/{id|upn}` → 204.
pub(crate) fn update(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    let body = &match odata::without_type_annotation(body, "microsoft.graph.user") {
        Ok(body) => body,
        Err(e) => return e,
    };
    if let Err(e) = check_properties(body) {
        return e;
    }
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if let Some(upn) = body.get("userPrincipalName") {
        let Some(upn) = upn.as_str() else {
            return invalid_value("userPrincipalName");
        };
        if let Err(e) = check_upn(sh, upn) {
            return e;
        }
        if dir.upn_taken(upn, Some(&id)) {
            return conflict("userPrincipalName");
        }
    }
    if let Some(e) = address_conflict(&dir, body, Some(&id)) {
        return e;
    }
    let mut user = dir.users[&id].clone();
    let synced = user["onPremisesSyncEnabled"] == json!(true);
    for (k, v) in body {
        match k.as_str() {
            "passwordProfile" => {
                if !is_complex_password(v["password"].as_str().unwrap_or("")) {
                    return bad_request(
                        "The specified password does not comply with password complexity requirements. Please provide a different password.",
                    );
                }
            }
            "onPremisesExtensionAttributes" => {
                if synced {
                    return bad_request(
                        "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
                    );
                }
                if user.get(k).is_none_or(Value::is_null) {
                    user[k] = empty_extension_attributes();
                }
                merge_into(user.get_mut(k), v);
            }
            _ => user[k] = v.clone(),
        }
    }
    let previous = dir.users[&id].clone();
    dir.remember(&id, previous, now, sh.opts.lag.stale_reads);
    dir.insert_user(id.clone(), user);
    dir.record_properties(Kind::User, &id, body.keys().map(String::as_str));
    ApiResponse::empty(204)
}

/// `DELETE /users/{id|upn}` → 204: a soft delete, restorable from deletedItems.
pub(crate) fn delete(sh: &Shared, key: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    soft_delete_user(&mut dir, &id, now);
    ApiResponse::empty(204)
}

/// Moves a user into deletedItems, dropping its memberships and seats.
pub(crate) fn soft_delete_user(dir: &mut Directory, id: &str, now: Instant) {
    let member_of = dir.groups_of(id);
    let owner_of = dir.groups_owned_by(id);
    for g in &member_of {
        dir.remove_member(g, id);
    }
    for g in &owner_of {
        if let Some(m) = dir.owners.get_mut(g) {
            m.remove(id);
        }
    }
    dir.managers.remove(id);
    dir.managers.retain(|_, m| m != id);
    let Some(mut user) = dir.remove_user(id) else {
        return;
    };
    super::licenses::release_seats(dir, &user);
    user["deletedDateTime"] = json!(timestamp());
    dir.deleted.insert(
        id.to_owned(),
        Deleted {
            kind: Kind::User,
            object: user,
            member_of,
            owner_of,
            deleted_at: now,
        },
    );
    dir.record(Kind::User, id, None);
}

/// `POST /users/{id}/revokeSignInSessions` → 200 `{value: true}`.
pub(crate) fn revoke_sessions(sh: &Shared, key: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut user = dir.users[&id].clone();
    user["signInSessionsValidFromDateTime"] = json!(timestamp());
    dir.insert_user(id, user);
    ApiResponse::json(
        200,
        json!({"@odata.context": format!("{}/v1.0/$metadata#Edm.Boolean", sh.base_url()), "value": true}),
    )
}

/// `GET /users/{id}/manager/$ref`: a reference to the manager, as OData
/// answers `$ref` (Graph's `@odata.id` uses its `/v2/{tenant}` form).
pub(crate) fn get_manager_ref(sh: &Shared, key: &str, now: Instant, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let Some(manager) = dir.managers.get(&id).filter(|m| dir.users.contains_key(*m)) else {
        return not_found("manager");
    };
    let base = sh.base_url();
    ApiResponse::json(
        200,
        json!({
            "@odata.context": format!("{base}/v1.0/$metadata#directoryObjects/$entity"),
            "@odata.id": format!(
                "{base}/v2/{}/directoryObjects/{manager}/Microsoft.DirectoryServices.User",
                sh.opts.tenant_id
            ),
        }),
    )
}

/// `GET /users/{id}/manager`.
pub(crate) fn get_manager(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let Some(manager) = dir.managers.get(&id).and_then(|m| dir.users.get(m)) else {
        return not_found("manager");
    };
    let selection = match odata::selection(req, EntityType::User, false) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut object = manager.clone();
    object["@odata.type"] = json!("#microsoft.graph.user");
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/v1.0/$metadata#directoryObjects/$entity",
            sh.base_url()
        )),
    );
    if let Value::Object(fields) = odata::project(&object, EntityType::User, &selection) {
        body.extend(fields);
    }
    ApiResponse::json(200, Value::Object(body))
}

/// `PUT /users/{id}/manager/$ref` → 204.
pub(crate) fn set_manager(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let target = match reference_target(req) {
        Ok(target) => target,
        Err(e) => return e,
    };
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let manager = match resolve(&dir, sh, &target, now) {
        Ok(m) => m,
        Err(e) => return e,
    };
    if manager == id {
        return bad_request("A user cannot be their own manager.");
    }
    dir.managers.insert(id.clone(), manager);
    dir.record_properties(Kind::User, &id, ["manager"]);
    ApiResponse::empty(204)
}

/// `DELETE /users/{id}/manager/$ref` → 204.
pub(crate) fn remove_manager(sh: &Shared, key: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if dir.managers.remove(&id).is_none() {
        return not_found("manager");
    }
    ApiResponse::empty(204)
}

/// `GET /users/{id}/memberOf`: the groups the user is a direct member of.
pub(crate) fn member_of(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    granted: Granted,
) -> ApiResponse {
    related_groups(sh, req, key, now, granted, false)
}

/// `GET /users/{id}/ownedObjects`: the groups the user owns (the only
/// owned objects the emulator has).
pub(crate) fn owned_objects(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    granted: Granted,
) -> ApiResponse {
    related_groups(sh, req, key, now, granted, true)
}

fn related_groups(
    sh: &Shared,
    req: &ApiRequest,
    key: &str,
    now: Instant,
    _: Granted,
    owned: bool,
) -> ApiResponse {
    let dir = sh.dir();
    let id = match resolve(&dir, sh, key, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let selection = match odata::selection(req, EntityType::Group, true) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let ids = if owned {
        dir.groups_owned_by(&id)
    } else {
        dir.groups_of(&id)
    };
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|g| dir.groups.get(g))
        .map(|g| {
            let mut g = g.clone();
            g["@odata.type"] = json!("#microsoft.graph.group");
            odata::project(&g, EntityType::Group, &selection)
        })
        .collect();
    ApiResponse::json(
        200,
        json!({"@odata.context": format!("{}/v1.0/$metadata#directoryObjects", sh.base_url()), "value": items}),
    )
}

/// The object a `$ref` body (`{"@odata.id": "…/directoryObjects/{id}"}`)
/// points at, or Graph's 400 when the body has no reference.
pub(crate) fn reference_target(req: &ApiRequest) -> Result<String, ApiResponse> {
    req.body
        .as_ref()
        .and_then(|b| b["@odata.id"].as_str())
        .and_then(ref_id)
        .ok_or_else(|| bad_request("Invalid request body: an '@odata.id' reference is required."))
}

/// The object id at the end of an `@odata.id` / `@odata.bind` URL
/// (`…/directoryObjects/{id}`, `…/users('{id}')`).
pub(crate) fn ref_id(url: &str) -> Option<String> {
    let last = super::router::segments(url.split('?').next().unwrap_or(url))
        .last()
        .cloned()?;
    (!last.is_empty() && !last.contains(':')).then_some(last)
}

fn check_properties(body: &Map<String, Value>) -> Result<(), ApiResponse> {
    for (k, v) in body {
        if !odata::is_user_property(k) && k != "passwordProfile" {
            return Err(bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            )));
        }
        if let Some(e) = odata::read_only_error(k) {
            return Err(e);
        }
        let bad = match k.as_str() {
            "employeeId" => v.as_str().is_some_and(|s| s.chars().count() > 16),
            "usageLocation" => v
                .as_str()
                .is_some_and(|s| s.len() != 2 || !s.chars().all(|c| c.is_ascii_uppercase())),
            "accountEnabled" => !v.is_boolean(),
            "displayName" => v
                .as_str()
                .is_some_and(|s| s.trim().is_empty() || s.chars().count() > 256),
            "onPremisesExtensionAttributes" => !v.as_object().is_some_and(|o| {
                o.iter().all(|(name, value)| {
                    name.starts_with("@odata.")
                        || name
                            .strip_prefix("extensionAttribute")
                            .and_then(|n| n.parse::<u8>().ok())
                            .is_some_and(|n| (1..=15).contains(&n))
                            && (value.is_null()
                                || value.as_str().is_some_and(|s| s.chars().count() <= 1024))
                })
            }),
            _ => false,
        };
        if bad {
            return Err(invalid_value(k));
        }
    }
    Ok(())
}

fn check_upn(sh: &Shared, upn: &str) -> Result<(), ApiResponse> {
    let Some((local, domain)) = upn.rsplit_once('@') else {
        return Err(invalid_value("userPrincipalName"));
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c);
    if local.is_empty()
        || !local.chars().all(allowed)
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return Err(invalid_value("userPrincipalName"));
    }
    if !sh.tenant_names.contains(&domain.to_lowercase()) {
        return Err(bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    Ok(())
}

/// ObjectConflict on `proxyAddresses` when the body's `mail` or
/// `proxyAddresses` is an address another user or group already holds.
fn address_conflict(
    dir: &Directory,
    body: &Map<String, Value>,
    except: Option<&str>,
) -> Option<ApiResponse> {
    let strip = |a: &str| a.split_once(':').map_or(a, |(_, rest)| rest).to_lowercase();
    let mut wanted: Vec<String> = body
        .get("mail")
        .and_then(Value::as_str)
        .map(|m| m.to_lowercase())
        .into_iter()
        .collect();
    wanted.extend(
        body.get("proxyAddresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(strip),
    );
    if wanted.is_empty() {
        return None;
    }
    // Every user and group is scanned: compare in place, allocating nothing.
    let holds = |o: &Value| {
        let mail = o["mail"].as_str();
        let proxies = o["proxyAddresses"].as_array().into_iter().flatten();
        let mut held = mail.into_iter().chain(
            proxies
                .filter_map(Value::as_str)
                .map(|a| a.split_once(':').map_or(a, |(_, rest)| rest)),
        );
        held.any(|h| {
            wanted
                .iter()
                .any(|w| w.eq_ignore_ascii_case(h) || !h.is_ascii() && *w == h.to_lowercase())
        })
    };
    let taken = dir
        .users
        .iter()
        .chain(&dir.groups)
        .filter(|(id, _)| Some(id.as_str()) != except)
        .any(|(_, o)| holds(o));
    taken.then(|| conflict("proxyAddresses"))
}

/// Graph's complexity rule: 8–256 characters, three of four character classes.
fn is_complex_password(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=256).contains(&password.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

/// 400 "Invalid value specified for property 'X' of resource 'User'."
fn invalid_value(property: &str) -> ApiResponse {
    bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'User'."
    ))
}

/// Graph's ObjectConflict 400.
pub(crate) fn conflict(property: &str) -> ApiResponse {
    ApiResponse::error_with_details(
        400,
        "Request_BadRequest",
        &format!("Another object with the same value for property {property} already exists."),
        "ObjectConflict",
        property,
    )
}

fn empty_extension_attributes() -> Value {
    let mut attrs = Map::new();
    for n in 1..=15 {
        attrs.insert(format!("extensionAttribute{n}"), Value::Null);
    }
    Value::Object(attrs)
}

fn merge_into(target: Option<&mut Value>, patch: &Value) {
    if let (Some(Value::Object(target)), Value::Object(patch)) = (target, patch) {
        for (k, v) in patch {
            if !k.starts_with("@odata.") {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Now, as Graph writes timestamps (`2021-03-12T10:36:14Z`).
pub(crate) fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
