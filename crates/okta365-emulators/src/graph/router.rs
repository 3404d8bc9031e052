//! The route table: `(method, path segments)` → handler, with the
//! application permissions each route needs (any one of the listed roles).

use tokio::time::Instant;

use super::auth::Principal;
use super::shared::Shared;
use super::wire::{ApiRequest, ApiResponse, method_not_allowed, no_route};
use super::{delta, directory, groups, guests, licenses, members, team_ops, teams, users};

pub(crate) const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
pub(crate) const WRITE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
const CREATE_USERS: &[&str] = &[
    "User.Create",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const ASSIGN_LICENSES: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const REVOKE_SESSIONS: &[&str] = &[
    "User.RevokeSessions.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
pub(crate) const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_MEMBERS: &[&str] = &[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const CREATE_GROUPS: &[&str] = &[
    "Group.Create",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
pub(crate) const WRITE_GROUPS: &[&str] = &["Group.ReadWrite.All", "Directory.ReadWrite.All"];
const CREATE_TEAMS: &[&str] = &[
    "Team.Create",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const READ_TEAM_MEMBERS: &[&str] = &[
    "Team.Create",
    "Team.ReadBasic.All",
    "TeamMember.Read.All",
    "TeamMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_TEAM_MEMBERS: &[&str] = &[
    "TeamMember.ReadWrite.All",
    "TeamMember.ReadWriteNonOwnerRole.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const INVITE: &[&str] = &[
    "User.Invite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const READ_SKUS: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_DIRECTORY: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Every route the Graph emulator serves (see [`crate::routes`]): the
/// identity platform's, then Graph's. A request matching none is refused
/// before any handler runs.
pub const ROUTES: &[&str] = &[
    "POST /{tenant}/oauth2/v2.0/token",
    "GET /{tenant}/oauth2/v2.0/token",
    "GET /{tenant}/v2.0/.well-known/openid-configuration",
    "POST /v1.0/$batch",
    "GET /v1.0/users",
    "POST /v1.0/users",
    "GET /v1.0/users/delta",
    "GET /v1.0/users/$count",
    "GET /v1.0/users/{id}",
    "PATCH /v1.0/users/{id}",
    "DELETE /v1.0/users/{id}",
    "POST /v1.0/users/{id}/assignLicense",
    "POST /v1.0/users/{id}/revokeSignInSessions",
    "GET /v1.0/users/{id}/manager",
    "GET /v1.0/users/{id}/manager/$ref",
    "PUT /v1.0/users/{id}/manager/$ref",
    "DELETE /v1.0/users/{id}/manager/$ref",
    "GET /v1.0/users/{id}/memberOf",
    "GET /v1.0/users/{id}/ownedObjects",
    "GET /v1.0/groups",
    "POST /v1.0/groups",
    "GET /v1.0/groups/delta",
    "GET /v1.0/groups/{id}",
    "PATCH /v1.0/groups/{id}",
    "DELETE /v1.0/groups/{id}",
    "GET /v1.0/groups/{id}/transitiveMembers",
    "GET /v1.0/groups/{id}/transitiveMembers/{cast}",
    "GET /v1.0/groups/{id}/members",
    "GET /v1.0/groups/{id}/members/{cast}",
    "POST /v1.0/groups/{id}/members/$ref",
    "DELETE /v1.0/groups/{id}/members/{id}/$ref",
    "DELETE /v1.0/groups/{id}/members/{id}",
    "GET /v1.0/groups/{id}/owners",
    "GET /v1.0/groups/{id}/owners/{cast}",
    "POST /v1.0/groups/{id}/owners/$ref",
    "DELETE /v1.0/groups/{id}/owners/{id}/$ref",
    "DELETE /v1.0/groups/{id}/owners/{id}",
    "POST /v1.0/groups/{id}/assignLicense",
    "PUT /v1.0/groups/{id}/team",
    "GET /v1.0/groups/{id}/team",
    "POST /v1.0/teams",
    "GET /v1.0/teams/{id}",
    "POST /v1.0/teams/{id}/archive",
    "POST /v1.0/teams/{id}/unarchive",
    "GET /v1.0/teams/{id}/operations/{id}",
    "GET /v1.0/teams/{id}/members",
    "POST /v1.0/teams/{id}/members",
    "POST /v1.0/teams/{id}/members/add",
    "GET /v1.0/teams/{id}/members/{id}",
    "DELETE /v1.0/teams/{id}/members/{id}",
    "POST /v1.0/invitations",
    "GET /v1.0/identityProtection/riskyUsers",
    "GET /v1.0/identityProtection/riskyUsers/{id}",
    "POST /v1.0/identityProtection/riskyUsers/confirmCompromised",
    "POST /v1.0/identityProtection/riskyUsers/dismiss",
    "GET /v1.0/subscribedSkus",
    "GET /v1.0/subscribedSkus/{id}",
    "GET /v1.0/directoryObjects/{id}",
    "GET /v1.0/directory/deletedItems/{id}",
    "POST /v1.0/directory/deletedItems/{id}/restore",
    "ANY /v1.0/me/**",
];

/// Refuses a call no [`ROUTES`] template matches: 405 when the path is
/// served under another method, else Graph's unknown-segment 400.
fn check_route(req: &ApiRequest, segs: &[&str]) -> Result<(), ApiResponse> {
    // `microsoft.graph.delta` is the namespace-qualified name of `delta`.
    let full: Vec<&str> = std::iter::once("v1.0")
        .chain(segs.iter().map(|s| {
            if s.eq_ignore_ascii_case("microsoft.graph.delta") {
                "delta"
            } else {
                s
            }
        }))
        .collect();
    if crate::routes::find(ROUTES, &req.method, &full).is_some() {
        Ok(())
    } else if crate::routes::path_known(ROUTES, &full) {
        Err(method_not_allowed())
    } else {
        Err(no_route(req))
    }
}

/// Splits a path into segments, turning key syntax `users('x')` into `users`, `x`.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in path.split('/').filter(|s| !s.is_empty()) {
        match s.split_once('(') {
            Some((name, rest)) if rest.ends_with(')') => {
                out.push(name.to_owned());
                let key = rest[..rest.len() - 1].trim_matches('\'');
                out.push(key.to_owned());
            }
            _ => out.push(s.to_owned()),
        }
    }
    out
}

/// Routes one (already throttled) Graph call.
pub(crate) fn route(sh: &Shared, req: &ApiRequest, who: &Principal, now: Instant) -> ApiResponse {
    match dispatch(sh, req, who, now) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn dispatch(
    sh: &Shared,
    req: &ApiRequest,
    who: &Principal,
    now: Instant,
) -> Result<ApiResponse, ApiResponse> {
    let segs = segments(&req.path);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    check_route(req, &s)?;
    let m = req.method.as_str();
    let is_delta = |x: &str| x == "delta" || x == "microsoft.graph.delta";
    Ok(match s.as_slice() {
        ["users"] => match m {
            "GET" => users::list(sh, req, now, who.require(READ_USERS)?),
            "POST" => users::create(sh, req, now, who.require(CREATE_USERS)?),
            _ => return Err(method_not_allowed()),
        },
        ["users", d] if is_delta(d) => {
            who.require(READ_USERS)?;
            delta::handle(sh, req, super::state::Kind::User, now)
        }
        ["users", "$count"] => users::count(sh, req, now, who.require(READ_USERS)?),
        ["users", key] => match m {
            "GET" => users::get(sh, req, key, now, who.require(READ_USERS)?),
            "PATCH" => users::update(sh, req, key, now, who.require(WRITE_USERS)?),
            "DELETE" => users::delete(sh, key, now, who.require(WRITE_USERS)?),
            _ => return Err(method_not_allowed()),
        },
        ["users", key, "assignLicense"] if m == "POST" => {
            licenses::assign(sh, req, key, now, who.require(ASSIGN_LICENSES)?)
        }
        ["users", key, "revokeSignInSessions"] if m == "POST" => {
            users::revoke_sessions(sh, key, now, who.require(REVOKE_SESSIONS)?)
        }
        ["users", key, "manager"] if m == "GET" => {
            users::get_manager(sh, req, key, now, who.require(READ_USERS)?)
        }
        ["users", key, "manager", "$ref"] => match m {
            "GET" => users::get_manager_ref(sh, key, now, who.require(READ_USERS)?),
            "PUT" => users::set_manager(sh, req, key, now, who.require(WRITE_USERS)?),
            "DELETE" => users::remove_manager(sh, key, now, who.require(WRITE_USERS)?),
            _ => return Err(method_not_allowed()),
        },
        ["users", key, "memberOf"] if m == "GET" => {
            users::member_of(sh, req, key, now, who.require(READ_DIRECTORY)?)
        }
        ["users", key, "ownedObjects"] if m == "GET" => {
            users::owned_objects(sh, req, key, now, who.require(READ_DIRECTORY)?)
        }
        ["groups"] => match m {
            "GET" => groups::list(sh, req, now, who.require(READ_GROUPS)?),
            "POST" => groups::create(sh, req, now, who.require(CREATE_GROUPS)?),
            _ => return Err(method_not_allowed()),
        },
        ["groups", d] if is_delta(d) => {
            who.require(READ_GROUPS)?;
            delta::handle(sh, req, super::state::Kind::Group, now)
        }
        ["groups", id] => match m {
            "GET" => groups::get(sh, req, id, now, who.require(READ_GROUPS)?),
            "PATCH" => {
                let binds = req
                    .body
                    .as_ref()
                    .and_then(|b| b.as_object())
                    .is_some_and(|b| b.keys().any(|k| k.ends_with("@odata.bind")));
                let only_binds = req
                    .body
                    .as_ref()
                    .and_then(|b| b.as_object())
                    .is_some_and(|b| {
                        b.keys()
                            .all(|k| k.ends_with("@odata.bind") || k.starts_with("@odata."))
                    });
                if binds && only_binds {
                    who.require(WRITE_MEMBERS)?;
                } else {
                    who.require(WRITE_GROUPS)?;
                }
                groups::update(sh, req, id, now)
            }
            "DELETE" => groups::delete(sh, id, now, who.require(WRITE_GROUPS)?),
            _ => return Err(method_not_allowed()),
        },
        ["groups", id, "transitiveMembers", rest @ ..] if m == "GET" => match rest {
            [] => members::list_transitive(sh, req, id, None, now, who.require(READ_GROUPS)?),
            [cast] => {
                members::list_transitive(sh, req, id, Some(cast), now, who.require(READ_GROUPS)?)
            }
            _ => return Err(no_route(req)),
        },
        ["groups", id, rel @ ("members" | "owners"), rest @ ..] => {
            let rel = members::Relation::parse(rel);
            match (m, rest) {
                ("GET", []) => {
                    members::list_related(sh, req, id, rel, None, now, who.require(READ_GROUPS)?)
                }
                ("GET", [cast]) if cast.starts_with("microsoft.graph.") => members::list_related(
                    sh,
                    req,
                    id,
                    rel,
                    Some(cast),
                    now,
                    who.require(READ_GROUPS)?,
                ),
                ("POST", ["$ref"]) => {
                    members::add_ref(sh, req, id, rel, now, who.require(WRITE_MEMBERS)?)
                }
                ("DELETE", [member, "$ref"]) => {
                    members::remove_ref(sh, id, rel, member, now, who.require(WRITE_MEMBERS)?)
                }
                ("DELETE", [member]) => {
                    members::delete_through_relation(sh, who, id, rel, member, now)
                }
                _ => return Err(no_route(req)),
            }
        }
        ["groups", id, "assignLicense"] if m == "POST" => {
            licenses::assign_to_group(sh, req, id, now, who.require(ASSIGN_LICENSES)?)
        }
        ["groups", id, "team"] => match m {
            "PUT" => teams::create_from_group(sh, req, id, now, who.require(CREATE_TEAMS)?),
            "GET" => teams::get(sh, id, now, who.require(READ_TEAM_MEMBERS)?),
            _ => return Err(method_not_allowed()),
        },
        ["teams"] if m == "POST" => team_ops::create(sh, req, now, who.require(CREATE_TEAMS)?),
        ["teams", id] if m == "GET" => teams::get(sh, id, now, who.require(READ_TEAM_MEMBERS)?),
        ["teams", id, action @ ("archive" | "unarchive")] if m == "POST" => team_ops::archive(
            sh,
            req,
            id,
            *action == "archive",
            now,
            who.require(WRITE_GROUPS)?,
        ),
        ["teams", id, "operations", op] if m == "GET" => {
            team_ops::get_operation(sh, id, op, now, who.require(READ_TEAM_MEMBERS)?)
        }
        ["teams", id, "members"] => match m {
            "GET" => teams::list_members(sh, req, id, now, who.require(READ_TEAM_MEMBERS)?),
            "POST" => teams::add_member(sh, req, id, now, who.require(WRITE_TEAM_MEMBERS)?),
            _ => return Err(method_not_allowed()),
        },
        ["teams", id, "members", "add"] if m == "POST" => {
            teams::add_members(sh, req, id, now, who.require(WRITE_TEAM_MEMBERS)?)
        }
        ["teams", id, "members", membership] => match m {
            "GET" => teams::get_member(sh, id, membership, now, who.require(READ_TEAM_MEMBERS)?),
            "DELETE" => {
                teams::remove_member(sh, id, membership, now, who.require(WRITE_TEAM_MEMBERS)?)
            }
            _ => return Err(method_not_allowed()),
        },
        ["invitations"] if m == "POST" => guests::invite(sh, req, now, who.require(INVITE)?),
        ["identityProtection", "riskyUsers", rest @ ..] => {
            return super::risky::handle(sh, req, rest, |roles| who.require(roles), now);
        }
        ["subscribedSkus"] if m == "GET" => licenses::list_skus(sh, req, who.require(READ_SKUS)?),
        ["subscribedSkus", id] if m == "GET" => {
            licenses::get_sku(sh, req, id, who.require(READ_SKUS)?)
        }
        ["directoryObjects", id] if m == "GET" => {
            directory::get_object(sh, req, id, now, who.require(READ_DIRECTORY)?)
        }
        ["directory", "deletedItems", id] if m == "GET" => {
            directory::get_deleted(sh, id, now, who.require(READ_DIRECTORY)?)
        }
        ["directory", "deletedItems", id, "restore"] if m == "POST" => {
            directory::restore(sh, id, now, who.require(WRITE_USERS)?)
        }
        ["me", ..] => {
            return Err(ApiResponse::error(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            ));
        }
        _ => return Err(no_route(req)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_syntax_becomes_a_segment() {
        assert_eq!(
            segments("/users('a@b.c')/manager"),
            ["users", "a@b.c", "manager"]
        );
        assert_eq!(
            segments("/teams/t1/members/add"),
            ["teams", "t1", "members", "add"]
        );
    }
}
