//! Teams: `PUT /groups/{id}/team` (Team from a Microsoft 365 group; 404
//! while a new group has not replicated), `GET /teams/{id}`, and members:
//! list, add one (201, base64 membership id), bulk add (`members/add`,
//! ≤200, 200 or 207), remove. A team's members are its group's members;
//! its owners are the group's owners.

use std::sync::MutexGuard;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::lag;
use super::shared::Shared;
use super::state::{Directory, Kind, new_team};
use super::users::ref_id;
use super::wire::{ApiRequest, ApiResponse};

fn team_not_found(id: &str) -> ApiResponse {
    ApiResponse::error(404, "NotFound", format!("No team found with Group Id {id}"))
}

fn member_not_found(team: &str, membership: &str) -> ApiResponse {
    ApiResponse::error(
        404,
        "NotFound",
        format!("Member {membership} was not found in team {team}."),
    )
}

/// Graph's 400 for a Teams request it rejects (code `BadRequest`).
pub(crate) fn bad(message: impl Into<String>) -> ApiResponse {
    ApiResponse::error(400, "BadRequest", message)
}

/// Team `id` (lower-cased) with the directory locked, or Graph's 404 when
/// there is no such team (after finishing the team operations that are due).
pub(crate) fn open_team<'a>(
    sh: &'a Shared,
    id: &str,
    now: Instant,
) -> Result<(String, MutexGuard<'a, Directory>), ApiResponse> {
    let id = id.to_lowercase();
    let mut dir = sh.dir();
    if !team_exists(&mut dir, &id, now) {
        return Err(team_not_found(&id));
    }
    Ok((id, dir))
}

/// `PUT /groups/{id}/team` → 201 + the team.
pub(crate) fn create_from_group(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let id = id.to_lowercase();
    let mut dir = sh.dir();
    if let Err(e) = check_teamifiable(sh, &dir, &id, now) {
        return e;
    }
    let team = install_team(&mut dir, &id, req.body.as_ref());
    let mut resp = team_body(sh, &dir, &id, &team);
    resp.status = 201;
    resp.with_header("Location", format!("{}/v1.0/teams('{id}')", sh.base_url()))
}

/// Why `PUT /groups/{id}/team` (or `POST /teams` from a group) can't run yet, if it can't.
pub(crate) fn check_teamifiable(
    sh: &Shared,
    dir: &Directory,
    id: &str,
    now: Instant,
) -> Result<(), ApiResponse> {
    let lags = &sh.opts.lag;
    if !dir.groups.contains_key(id)
        || !lag::is_visible(dir, id, lags.new_object, now)
        || lag::is_younger_than(dir, id, lags.team_after_group, now)
    {
        return Err(ApiResponse::error(
            404,
            "NotFound",
            format!(
                "Failed to execute Templates backend request CreateTeamFromGroupWithTemplateRequest. Request Url: https://teams.microsoft.com/fabric/emea/templates/api/groups/{id}/team, Request Method: PUT, Response Status Code: NotFound, ErrorMessage : The group {id} was not found."
            ),
        ));
    }
    let group = &dir.groups[id];
    if !group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "Unified"))
    {
        return Err(bad(format!(
            "Group {id} is not a Microsoft 365 group; only Microsoft 365 groups can have a team."
        )));
    }
    if dir.owners.get(id).is_none_or(|o| o.is_empty()) {
        return Err(bad(format!(
            "Group {id} has no owners. A team must have at least one owner."
        )));
    }
    if dir.teams.contains_key(id)
        || dir
            .team_operations
            .values()
            .any(|op| op.team == id && op.operation_type == "createTeam")
    {
        return Err(ApiResponse::error(409, "Conflict", "Team already exists"));
    }
    Ok(())
}

/// Creates the team object of group `id` (settings from `body`) and marks the group.
pub(crate) fn install_team(dir: &mut Directory, id: &str, body: Option<&Value>) -> Value {
    let mut team = new_team(id);
    if let Some(Value::Object(body)) = body {
        for (k, v) in body {
            if let (Some(Value::Object(target)), Value::Object(settings)) = (team.get_mut(k), v) {
                for (sk, sv) in settings {
                    target.insert(sk.clone(), sv.clone());
                }
            }
        }
    }
    dir.teams.insert(id.to_owned(), team.clone());
    let id = id.to_owned();
    let mut group = dir.groups[&id].clone();
    let options = group["resourceProvisioningOptions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !options.iter().any(|o| o == "Team") {
        let mut options = options;
        options.push(json!("Team"));
        group["resourceProvisioningOptions"] = Value::Array(options);
        dir.groups.insert(id.clone(), group);
        dir.record_properties(Kind::Group, &id, ["resourceProvisioningOptions"]);
    }
    team
}

/// Whether team `id` exists, first finishing `POST /teams` operations that are due.
pub(crate) fn team_exists(dir: &mut Directory, id: &str, now: Instant) -> bool {
    let due: Vec<String> = dir
        .team_operations
        .iter()
        .filter(|(_, op)| op.team == id && op.ready_at <= now && !op.done)
        .map(|(k, _)| k.clone())
        .collect();
    for op in due {
        let Some(operation) = dir.team_operations.get(&op).cloned() else {
            continue;
        };
        match operation.operation_type {
            "createTeam" if dir.groups.contains_key(id) => {
                install_team(dir, id, Some(&operation.settings));
            }
            kind @ ("archiveTeam" | "unarchiveTeam") => {
                if let Some(team) = dir.teams.get_mut(id) {
                    team["isArchived"] = json!(kind == "archiveTeam");
                }
            }
            _ => {}
        }
        if let Some(o) = dir.team_operations.get_mut(&op) {
            o.done = true;
        }
    }
    dir.teams.contains_key(id)
}

fn team_body(sh: &Shared, dir: &Directory, id: &str, team: &Value) -> ApiResponse {
    let mut body = team.clone();
    let group = dir.groups.get(id).cloned().unwrap_or(Value::Null);
    body["@odata.context"] = json!(format!("{}/v1.0/$metadata#teams/$entity", sh.base_url()));
    body["displayName"] = group["displayName"].clone();
    body["description"] = group["description"].clone();
    body["visibility"] = json!(
        group["visibility"]
            .as_str()
            .unwrap_or("public")
            .to_lowercase()
    );
    if body.get("discoverySettings").is_none() {
        body["discoverySettings"] = json!({"showInTeamsSearchAndSuggestions": true});
    }
    // Counts as Teams reports them: owners, members who are not owners, guests.
    let owners = dir.owners.get(id);
    let is_owner = |u: &String| owners.is_some_and(|o| o.contains(u));
    let is_guest = |u: &String| dir.users.get(u).is_some_and(|x| x["userType"] == "Guest");
    let members = dir.members.get(id).into_iter().flatten();
    let (mut member_count, mut guest_count) = (0, 0);
    for m in members.filter(|m| dir.users.contains_key(*m) && !is_owner(m)) {
        if is_guest(m) {
            guest_count += 1;
        } else {
            member_count += 1;
        }
    }
    body["summary"] = json!({
        "ownersCount": owners.map_or(0, |o| o.len()),
        "membersCount": member_count,
        "guestsCount": guest_count,
    });
    body["internalId"] = json!(format!("19:{}@thread.tacv2", id.replace('-', "")));
    body["webUrl"] = json!(format!(
        "https://teams.microsoft.com/l/team/19%3a{}%40thread.tacv2/conversations?groupId={id}&tenantId={}",
        id.replace('-', ""),
        sh.opts.tenant_id
    ));
    ApiResponse::json(200, body)
}

/// `GET /teams/{id}` and `GET /groups/{id}/team`.
pub(crate) fn get(sh: &Shared, id: &str, now: Instant, _: Granted) -> ApiResponse {
    match open_team(sh, id, now) {
        Ok((id, dir)) => team_body(sh, &dir, &id, &dir.teams[&id]),
        Err(e) => e,
    }
}

/// The base64 membership id of `user` in `team`.
fn membership_id(team: &str, user: &str) -> String {
    STANDARD.encode(format!("{team}##{user}"))
}

fn member_json(sh: &Shared, dir: &Directory, team: &str, user: &str) -> Value {
    let u = dir.users.get(user).cloned().unwrap_or(Value::Null);
    let roles = if dir.owners.get(team).is_some_and(|o| o.contains(user)) {
        json!(["owner"])
    } else if u["userType"] == "Guest" {
        json!(["guest"])
    } else {
        json!([])
    };
    json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": membership_id(team, user),
        "roles": roles,
        "displayName": u["displayName"],
        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        "userId": user,
        "email": u["mail"],
        "tenantId": sh.opts.tenant_id,
    })
}

/// `GET /teams/{id}/members`.
pub(crate) fn list_members(
    sh: &Shared,
    _req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let (id, dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let mut people: Vec<&String> = dir
        .members_of(&id)
        .filter(|m| dir.users.contains_key(*m))
        .collect();
    for o in dir.owners.get(&id).into_iter().flatten() {
        if dir.users.contains_key(o) && !people.contains(&o) {
            people.push(o);
        }
    }
    let items: Vec<Value> = people
        .iter()
        .map(|u| member_json(sh, &dir, &id, u))
        .collect();
    ApiResponse::json(
        200,
        json!({"@odata.context": format!("{}/v1.0/$metadata#teams('{id}')/members", sh.base_url()),
            "@odata.count": items.len(), "value": items}),
    )
}

/// `GET /teams/{id}/members/{membershipId}`.
pub(crate) fn get_member(
    sh: &Shared,
    id: &str,
    membership: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let (id, dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    match member_of_team(&dir, &id, membership) {
        Some(user) => member_entity(sh, &dir, &id, &user, 200),
        None => member_not_found(&id, membership),
    }
}

/// One membership as its own entity (`.../members/$entity`), with `status`.
fn member_entity(sh: &Shared, dir: &Directory, team: &str, user: &str, status: u16) -> ApiResponse {
    let mut body = member_json(sh, dir, team, user);
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#teams('{team}')/members/$entity",
        sh.base_url()
    ));
    ApiResponse::json(status, body)
}

/// The user behind a membership id, if they belong to the team.
fn member_of_team(dir: &Directory, team: &str, membership: &str) -> Option<String> {
    let decoded = STANDARD.decode(membership).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (t, user) = text.split_once("##")?;
    let in_team = dir.members.get(team).is_some_and(|m| m.contains(user))
        || dir.owners.get(team).is_some_and(|o| o.contains(user));
    (t == team && in_team).then(|| user.to_owned())
}

/// Adds one conversation member; the error is Graph's per-member error.
fn add_one(
    dir: &mut Directory,
    team: &str,
    body: &Value,
    now: Instant,
    sh: &Shared,
) -> Result<String, (u16, String, String)> {
    let Some(user_ref) = body["user@odata.bind"].as_str() else {
        return Err((
            400,
            "BadRequest".into(),
            "Bind requests not expected for action payload: 'user@odata.bind' is required.".into(),
        ));
    };
    let Some(user) = ref_id(user_ref).and_then(|k| dir.user_id(&k)) else {
        return Err((
            404,
            "NotFound".into(),
            format!("The user {user_ref} was not found."),
        ));
    };
    if !lag::is_visible(dir, &user, sh.opts.lag.new_object, now) {
        return Err((
            404,
            "NotFound".into(),
            format!("The user {user} was not found."),
        ));
    }
    let owner = body["roles"].as_array().is_some_and(|r| {
        r.iter()
            .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("owner")))
    });
    if owner && dir.users[&user]["userType"] == "Guest" {
        return Err((
            400,
            "BadRequest".into(),
            "Guests cannot be added as team owners.".into(),
        ));
    }
    dir.add_member(team, &user);
    if owner {
        dir.owners
            .entry(team.to_owned())
            .or_default()
            .insert(user.clone());
    }
    Ok(user)
}

/// `POST /teams/{id}/members` → 201 + the membership.
pub(crate) fn add_member(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let body = req.body.clone().unwrap_or(Value::Null);
    let (id, mut dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if let Err(e) = lock_throttle(sh).charge_team_add(&id, now) {
        return e;
    }
    match add_one(&mut dir, &id, &body, now, sh) {
        Ok(user) => member_entity(sh, &dir, &id, &user, 201),
        Err((status, code, message)) => ApiResponse::error(status, &code, message),
    }
}

/// `POST /teams/{id}/members/add` → 200, or 207 when some failed.
pub(crate) fn add_members(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let Some(values) = req
        .body
        .as_ref()
        .and_then(|b| b["values"].as_array())
        .cloned()
    else {
        return bad("The request body must hold 'values', an array of conversation members.");
    };
    if values.is_empty() || values.len() > 200 {
        return bad(format!(
            "The number of members to add must be between 1 and 200; got {}.",
            values.len()
        ));
    }
    let (id, mut dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if let Err(e) = lock_throttle(sh).charge_team_add(&id, now) {
        return e;
    }
    let mut failed = false;
    let results: Vec<Value> = values
        .iter()
        .map(|v| {
            let asked = v["user@odata.bind"].as_str().and_then(ref_id).unwrap_or_default();
            match add_one(&mut dir, &id, v, now, sh) {
                Ok(user) => json!({"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": user, "error": null}),
                Err((_, code, message)) => {
                    failed = true;
                    json!({"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": asked,
                        "error": {"code": code, "message": message}})
                }
            }
        })
        .collect();
    ApiResponse::json(
        if failed { 207 } else { 200 },
        json!({"@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.actionResultPart)", sh.base_url()), "value": results}),
    )
}

/// `DELETE /teams/{id}/members/{membershipId}` → 204.
pub(crate) fn remove_member(
    sh: &Shared,
    id: &str,
    membership: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let (id, mut dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let Some(user) = member_of_team(&dir, &id, membership) else {
        return member_not_found(&id, membership);
    };
    if let Some(o) = dir.owners.get_mut(&id) {
        o.remove(&user);
    }
    dir.remove_member(&id, &user);
    ApiResponse::empty(204)
}

fn lock_throttle(sh: &Shared) -> std::sync::MutexGuard<'_, super::throttle::Throttle> {
    sh.throttle.lock().unwrap_or_else(|p| p.into_inner())
}
