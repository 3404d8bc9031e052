//! Group membership: `members`/`owners` lists (with `@odata.type` and
//! casts), `$ref` add (400 when already there) and remove, the rules on who
//! may join which kind of group, and `DELETE …/members/{id}` without `$ref`,
//! which deletes the member object itself, as Graph does.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::auth::{Granted, Principal};
use super::groups::{delete_group, is_dynamic, is_exchange_managed, is_unified, resolve};
use super::lag;
use super::listing;
use super::odata::EntityType;
use super::router::{WRITE_GROUPS, WRITE_USERS};
use super::shared::Shared;
use super::state::{Directory, Kind};
use super::users::{self, ref_id, reference_target};
use super::wire::{ApiRequest, ApiResponse, bad_request, forbidden, not_found};

/// `members` or `owners`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    Members,
    Owners,
}

impl Relation {
    pub fn parse(name: &str) -> Self {
        if name == "owners" {
            Relation::Owners
        } else {
            Relation::Members
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Relation::Members => "members",
            Relation::Owners => "owners",
        }
    }

    pub(crate) fn set<'d>(self, dir: &'d mut Directory, group: &str) -> &'d mut BTreeSet<String> {
        match self {
            Relation::Members => dir.members.entry(group.to_owned()).or_default(),
            Relation::Owners => dir.owners.entry(group.to_owned()).or_default(),
        }
    }

    pub(crate) fn get<'d>(self, dir: &'d Directory, group: &str) -> Option<&'d BTreeSet<String>> {
        match self {
            Relation::Members => dir.members.get(group),
            Relation::Owners => dir.owners.get(group),
        }
    }
}

/// The 400 Graph gives when an added reference is already there.
pub(crate) fn already_exists(rel: Relation) -> ApiResponse {
    bad_request(format!(
        "One or more added object references already exist for the following modified properties: '{}'.",
        rel.name()
    ))
}

/// Parses the `…@odata.bind` arrays of a body into object ids.
pub(crate) fn binds(body: &Map<String, Value>, rel: Relation) -> Result<Vec<String>, ApiResponse> {
    let key = format!("{}@odata.bind", rel.name());
    let Some(value) = body.get(&key) else {
        return Ok(Vec::new());
    };
    let Some(urls) = value.as_array() else {
        return Err(bad_request(format!(
            "Invalid value specified for property '{key}'."
        )));
    };
    urls.iter()
        .map(|u| {
            u.as_str().and_then(ref_id).ok_or_else(|| {
                bad_request(format!(
                    "Invalid URL format specified in @odata.bind for {}",
                    rel.name()
                ))
            })
        })
        .collect()
}

/// Refuses direct edits of `rel` on group `g`: 403 for an Exchange-managed
/// group, 400 for the members of a dynamic-membership group.
fn check_editable(g: &Value, rel: Relation) -> Result<(), ApiResponse> {
    if is_exchange_managed(g) {
        return Err(forbidden());
    }
    if rel == Relation::Members && is_dynamic(g) {
        return Err(bad_request(
            "Insufficient privileges to complete the operation: members of a dynamic-membership group are managed by its rule.",
        ));
    }
    Ok(())
}

/// Checks that `ids` can be added to `group` under `rel` (all or nothing).
pub(crate) fn check_additions(
    sh: &Shared,
    dir: &Directory,
    group: &str,
    rel: Relation,
    ids: &[String],
    now: Instant,
) -> Result<(), ApiResponse> {
    let g = &dir.groups[group];
    check_editable(g, rel)?;
    if lag::is_younger_than(dir, group, sh.opts.lag.members_after_group, now) {
        return Err(ApiResponse::error(
            400,
            "Request_BadRequest",
            "The source resource object or one of the objects being referenced don't exist.",
        ));
    }
    let existing = rel.get(dir, group);
    for id in ids {
        if dir.kind_of(id).is_none() || !lag::is_visible(dir, id, sh.opts.lag.new_object, now) {
            return Err(not_found(id));
        }
        if is_unified(g) && dir.kind_of(id) != Some(Kind::User) {
            return Err(bad_request(
                "Microsoft 365 groups can only have users as members and owners.",
            ));
        }
        if existing.is_some_and(|m| m.contains(id)) {
            return Err(already_exists(rel));
        }
    }
    Ok(())
}

/// `GET /groups/{id}/members|owners[/microsoft.graph.user]`.
pub(crate) fn list_related(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    rel: Relation,
    cast: Option<&str>,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let empty = BTreeSet::new();
    let related = rel.get(&dir, &id).unwrap_or(&empty);
    list_ids(sh, req, &dir, related, cast, now)
}

/// `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]`: members of
/// nested groups too (each object once; the nested groups themselves included).
pub(crate) fn list_transitive(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    cast: Option<&str>,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut seen = BTreeSet::new();
    let mut queue = vec![id.clone()];
    while let Some(group) = queue.pop() {
        for m in dir.members_of(&group) {
            if m != &id && seen.insert(m.clone()) && dir.groups.contains_key(m) {
                queue.push(m.clone());
            }
        }
    }
    list_ids(sh, req, &dir, &seen, cast, now)
}

/// Lists directory objects `ids` (sorted by id), optionally cast to one type.
fn list_ids(
    sh: &Shared,
    req: &ApiRequest,
    dir: &Directory,
    related: &BTreeSet<String>,
    cast: Option<&str>,
    now: Instant,
) -> ApiResponse {
    let (ty, set, only) = match cast {
        None => (EntityType::DirectoryObject, "directoryObjects", None),
        Some("microsoft.graph.user") => (EntityType::User, "users", Some(Kind::User)),
        Some("microsoft.graph.group") => (EntityType::Group, "groups", Some(Kind::Group)),
        Some(other) => {
            return ApiResponse::error(
                400,
                "Request_BadRequest",
                format!("'{other}' is not a type of directory object this list can be cast to."),
            );
        }
    };
    let lag = sh.opts.lag.new_object;
    let stale = sh.opts.lag.stale_reads;
    listing::list(
        sh,
        req,
        ty,
        set,
        |from| {
            Box::new(
                related
                    .range::<String, _>((from, Bound::Unbounded))
                    .filter_map(move |m| {
                        let kind = dir.kind_of(m)?;
                        if only.is_some_and(|k| k != kind) {
                            return None;
                        }
                        Some((m.clone(), dir.as_of(m, dir.object(m)?, stale, now)))
                    }),
            )
        },
        |m, _| lag::is_visible(dir, m, lag, now),
        |m| match dir.kind_of(m) {
            Some(Kind::Group) => Some("#microsoft.graph.group"),
            _ => Some("#microsoft.graph.user"),
        },
    )
    .unwrap_or_else(|e| e)
}

/// `POST /groups/{id}/members|owners/$ref` → 204.
pub(crate) fn add_ref(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    rel: Relation,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let target = match reference_target(req) {
        Ok(target) => target,
        Err(e) => return e,
    };
    let target = target.to_lowercase();
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if let Err(e) = check_additions(sh, &dir, &id, rel, std::slice::from_ref(&target), now) {
        return e;
    }
    if rel == Relation::Members {
        dir.add_member(&id, &target);
    } else {
        rel.set(&mut dir, &id).insert(target.clone());
    }
    ApiResponse::empty(204)
}

/// `DELETE /groups/{id}/members|owners/{memberId}/$ref` → 204.
pub(crate) fn remove_ref(
    sh: &Shared,
    id: &str,
    rel: Relation,
    member: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let member = member.to_lowercase();
    if let Err(e) = check_editable(&dir.groups[&id], rel) {
        return e;
    }
    if !rel.get(&dir, &id).is_some_and(|m| m.contains(&member)) {
        return not_found(&id);
    }
    if rel == Relation::Members {
        dir.remove_member(&id, &member);
    } else {
        rel.set(&mut dir, &id).remove(&member);
        // Known Teams behaviour: removing a team owner also drops the membership.
        if dir.teams.contains_key(&id) {
            dir.remove_member(&id, &member);
        }
    }
    ApiResponse::empty(204)
}

/// `DELETE /groups/{id}/members/{memberId}` (no `$ref`): deletes the member
/// object itself when the app may manage it, else 403.
pub(crate) fn delete_through_relation(
    sh: &Shared,
    who: &Principal,
    id: &str,
    rel: Relation,
    member: &str,
    now: Instant,
) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let member = member.to_lowercase();
    if !rel.get(&dir, &id).is_some_and(|m| m.contains(&member)) {
        return not_found(&member);
    }
    match dir.kind_of(&member) {
        Some(Kind::User) if who.holds(WRITE_USERS) => {
            users::soft_delete_user(&mut dir, &member, now)
        }
        Some(Kind::Group) if who.holds(WRITE_GROUPS) => delete_group(&mut dir, &member, now),
        _ => return forbidden(),
    }
    ApiResponse::empty(204)
}
