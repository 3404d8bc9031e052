//! `POST /teams` (asynchronous: 202 + `Location` of a teamsAsyncOperation)
//! from an existing group (`group@odata.bind`) or as a new team with its
//! group, and `GET /teams/{id}/operations/{opId}`, which reports
//! `inProgress` until the provisioning delay has passed, then `succeeded`.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::shared::Shared;
use super::state::{Directory, Kind, TeamOperation};
use super::teams::{bad, check_teamifiable, open_team, team_exists};
use super::users::{ref_id, timestamp};
use super::wire::{ApiRequest, ApiResponse};

/// `POST /teams` → 202, no body.
pub(crate) fn create(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad("Empty Payload. JSON content expected.");
    };
    if body
        .get("template@odata.bind")
        .and_then(Value::as_str)
        .is_none()
    {
        return bad(
            "The 'template@odata.bind' property is required, e.g. https://graph.microsoft.com/v1.0/teamsTemplates('standard').",
        );
    }
    let mut dir = sh.dir();
    let team_id = if let Some(group_ref) = body.get("group@odata.bind").and_then(Value::as_str) {
        for forbidden in [
            "displayName",
            "visibility",
            "specialization",
            "members@odata.bind",
            "members",
            "firstChannelName",
        ] {
            if body.contains_key(forbidden) {
                return bad(format!(
                    "'{forbidden}' cannot be set when creating a team from a group; it is inherited from the group."
                ));
            }
        }
        let Some(id) = ref_id(group_ref).map(|i| i.to_lowercase()) else {
            return bad("Invalid 'group@odata.bind' reference.");
        };
        if let Err(e) = check_teamifiable(sh, &dir, &id, now) {
            return e;
        }
        id
    } else {
        let Some(name) = body
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        else {
            return bad("A new team needs a 'displayName'.");
        };
        let mut owners = Vec::new();
        let mut members = Vec::new();
        for m in body
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(user) = m["user@odata.bind"]
                .as_str()
                .and_then(ref_id)
                .and_then(|k| dir.user_id(&k))
            else {
                return ApiResponse::error(
                    404,
                    "NotFound",
                    format!("The user {} was not found.", m["user@odata.bind"]),
                );
            };
            if m["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "owner"))
            {
                owners.push(user.clone());
            }
            members.push(user);
        }
        if owners.is_empty() {
            return bad(
                "An application creating a team must name at least one owner in 'members' (roles: [\"owner\"]).",
            );
        }
        let id = dir.new_id();
        let mut nickname: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if nickname.is_empty() {
            nickname = "team".into();
        }
        let base = nickname.clone();
        let mut n = 1;
        while dir.groups.values().any(|g| {
            g["mailNickname"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&nickname))
        }) {
            n += 1;
            nickname = format!("{base}{n}");
        }
        let domain = dir
            .verified_domains()
            .into_iter()
            .next()
            .unwrap_or_else(|| sh.guest_domain.clone());
        let group = json!({
            "id": id, "createdDateTime": timestamp(), "description": body.get("description").cloned().unwrap_or(Value::Null),
            "displayName": name, "groupTypes": ["Unified"], "mail": format!("{nickname}@{domain}"),
            "mailEnabled": true, "mailNickname": nickname, "proxyAddresses": [format!("SMTP:{nickname}@{domain}")],
            "resourceProvisioningOptions": [], "securityEnabled": false,
            "visibility": body.get("visibility").and_then(Value::as_str).map(|v| {
                let mut c = v.chars();
                c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
            }).unwrap_or_else(|| "Public".into()),
        });
        dir.groups.insert(id.clone(), group);
        dir.created_at.insert(id.clone(), now);
        dir.record(Kind::Group, &id, None);
        dir.owners.insert(id.clone(), owners.into_iter().collect());
        dir.members
            .insert(id.clone(), members.iter().cloned().collect());
        for m in &members {
            dir.record(Kind::Group, &id, Some((m, true)));
        }
        id
    };
    let settings = Value::Object(body.clone());
    start_operation(sh, &mut dir, "createTeam", &team_id, settings, now)
}

/// Queues a teamsAsyncOperation on `team`, due after the provisioning
/// delay → 202 with its `Location` and the team's `Content-Location`.
fn start_operation(
    sh: &Shared,
    dir: &mut Directory,
    operation_type: &'static str,
    team: &str,
    settings: Value,
    now: Instant,
) -> ApiResponse {
    let op = dir.new_id();
    dir.team_operations.insert(
        op.clone(),
        TeamOperation {
            operation_type,
            team: team.to_owned(),
            ready_at: now + sh.opts.lag.team_provisioning,
            created: timestamp(),
            done: false,
            settings,
        },
    );
    ApiResponse::empty(202)
        .with_header("Location", format!("/teams('{team}')/operations('{op}')"))
        .with_header("Content-Location", format!("/teams('{team}')"))
}

/// `POST /teams/{id}/archive` and `/unarchive` → 202 + the operation's `Location`.
pub(crate) fn archive(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    archived: bool,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let (id, mut dir) = match open_team(sh, id, now) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if dir.owners.get(&id).is_none_or(|o| o.is_empty()) {
        return bad(format!(
            "Team {id} has no owners; archiving needs at least one."
        ));
    }
    let operation_type = if archived {
        "archiveTeam"
    } else {
        "unarchiveTeam"
    };
    let settings = req.body.clone().unwrap_or(Value::Null);
    start_operation(sh, &mut dir, operation_type, &id, settings, now)
}

/// `GET /teams/{id}/operations/{opId}`.
pub(crate) fn get_operation(
    sh: &Shared,
    id: &str,
    op: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let id = id.to_lowercase();
    let mut dir = sh.dir();
    let Some(operation) = dir
        .team_operations
        .get(op)
        .filter(|o| o.team == id)
        .cloned()
    else {
        return ApiResponse::error(
            404,
            "NotFound",
            format!("Operation {op} was not found for team {id}."),
        );
    };
    let status = if operation.ready_at > now {
        "inProgress"
    } else if team_exists(&mut dir, &id, now) {
        "succeeded"
    } else {
        "failed"
    };
    // Relative, as the teamsAsyncOperation resource shows it: an archive
    // names the group's team, a creation the team (its 202's Content-Location).
    let location = match operation.operation_type {
        "archiveTeam" | "unarchiveTeam" => format!("/groups('{id}')/team"),
        _ => format!("/teams('{id}')"),
    };
    ApiResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#teams('{id}')/operations/$entity", sh.base_url()),
            "id": op,
            "operationType": operation.operation_type,
            "createdDateTime": operation.created,
            "status": status,
            "lastActionDateTime": timestamp(),
            "attemptsCount": 1,
            "targetResourceId": id,
            "targetResourceLocation": location,
            "error": null,
        }),
    )
}
