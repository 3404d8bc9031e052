//! `/groups`: list, get, create (Unified and security), PATCH (properties
//! and `members@odata.bind`/`owners@odata.bind`, at most 20, all or
//! nothing), delete, and membership: `members`/`owners` lists, `$ref` add
//! and remove, and `DELETE …/members/{id}` without `$ref`, which deletes the
//! member object itself, as Graph does.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::auth::{Granted, Principal};
use super::lag;
use super::listing;
use super::odata::{self, EntityType};
use super::router::{WRITE_GROUPS, WRITE_USERS};
use super::shared::Shared;
use super::state::{Deleted, Directory, Kind};
use super::users::{self, conflict, ref_id, timestamp};
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

    fn name(self) -> &'static str {
        match self {
            Relation::Members => "members",
            Relation::Owners => "owners",
        }
    }

    fn set<'d>(self, dir: &'d mut Directory, group: &str) -> &'d mut BTreeSet<String> {
        match self {
            Relation::Members => dir.members.entry(group.to_owned()).or_default(),
            Relation::Owners => dir.owners.entry(group.to_owned()).or_default(),
        }
    }

    fn get<'d>(self, dir: &'d Directory, group: &str) -> Option<&'d BTreeSet<String>> {
        match self {
            Relation::Members => dir.members.get(group),
            Relation::Owners => dir.owners.get(group),
        }
    }
}

/// The 400 Graph gives when an added reference is already there.
fn already_exists(rel: Relation) -> ApiResponse {
    bad_request(format!(
        "One or more added object references already exist for the following modified properties: '{}'.",
        rel.name()
    ))
}

/// `GET /groups`.
pub(crate) fn list(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    let lag = sh.opts.lag.new_object;
    listing::list(
        sh,
        req,
        EntityType::Group,
        "groups",
        |from| {
            Box::new(
                dir.groups
                    .range((from, Bound::Unbounded))
                    .map(|(k, v)| (k.clone(), v)),
            )
        },
        |id, _| lag::is_visible(&dir, id, lag, now),
        |_| None,
    )
    .unwrap_or_else(|e| e)
}

fn resolve(dir: &Directory, sh: &Shared, id: &str, now: Instant) -> Result<String, ApiResponse> {
    let id = id.to_lowercase();
    if dir.groups.contains_key(&id) && lag::is_visible(dir, &id, sh.opts.lag.new_object, now) {
        Ok(id)
    } else {
        Err(not_found(&id))
    }
}

fn entity(sh: &Shared, group: &Value, selection: &odata::Selection, status: u16) -> ApiResponse {
    let mut body = Map::new();
    let context = match selection {
        Some(p) => format!("groups({})/$entity", p.join(",")),
        None => "groups/$entity".to_owned(),
    };
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{context}", sh.base_url())),
    );
    if let Value::Object(fields) = odata::project(group, EntityType::Group, selection) {
        body.extend(fields);
    }
    ApiResponse::json(status, Value::Object(body))
}

/// `GET /groups/{id}`.
pub(crate) fn get(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let selection = match odata::selection(req, EntityType::Group, false) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let dir = sh.dir();
    match resolve(&dir, sh, id, now) {
        Ok(id) => entity(sh, &dir.groups[&id], &selection, 200),
        Err(e) => e,
    }
}

fn invalid_value(property: &str) -> ApiResponse {
    bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'Group'."
    ))
}

fn is_mail_nickname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && !"@()\\[]\";:<>, ".contains(c))
}

/// Whether a group is mail-enabled security or a distribution list (Exchange-managed).
fn is_exchange_managed(group: &Value) -> bool {
    let unified = group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "Unified"));
    !unified && group["mailEnabled"] == json!(true)
}

fn is_dynamic(group: &Value) -> bool {
    group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "DynamicMembership"))
}

fn is_unified(group: &Value) -> bool {
    group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "Unified"))
}

/// Parses the `…@odata.bind` arrays of a body into object ids.
fn binds(body: &Map<String, Value>, rel: Relation) -> Result<Vec<String>, ApiResponse> {
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

/// `POST /groups` → 201 + the group.
pub(crate) fn create(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    for p in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        if body.get(p).is_none_or(Value::is_null) {
            return invalid_value(p);
        }
    }
    let nickname = body["mailNickname"].as_str().unwrap_or("").to_owned();
    if !is_mail_nickname(&nickname) {
        return invalid_value("mailNickname");
    }
    if body["displayName"]
        .as_str()
        .is_none_or(|d| d.chars().count() > 256)
    {
        return invalid_value("displayName");
    }
    for k in body.keys() {
        if !k.ends_with("@odata.bind") && !odata::is_group_property(k) {
            return bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            ));
        }
    }
    let owners = match binds(body, Relation::Owners) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let members = match binds(body, Relation::Members) {
        Ok(m) => m,
        Err(e) => return e,
    };
    if owners.len() + members.len() > 20 {
        return bad_request("A resource cannot contain more than 20 link changes");
    }
    let group_types: Vec<Value> = body
        .get("groupTypes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let unified = group_types.iter().any(|t| t == "Unified");
    let mail_enabled = body["mailEnabled"] == json!(true);
    if !unified && mail_enabled {
        return bad_request(
            "Only Microsoft 365 groups and security groups can be created through Graph; mail-enabled security groups and distribution lists are managed in Exchange Online.",
        );
    }
    if !unified && body["securityEnabled"] != json!(true) {
        return invalid_value("securityEnabled");
    }
    let mut dir = sh.dir();
    if (unified || mail_enabled)
        && dir.groups.values().any(|g| {
            g["mailNickname"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&nickname))
        })
    {
        return conflict("mailNickname");
    }
    for target in owners.iter().chain(&members) {
        if dir.kind_of(target).is_none()
            || !lag::is_visible(&dir, target, sh.opts.lag.new_object, now)
        {
            return not_found(target);
        }
        if unified && dir.kind_of(target) != Some(Kind::User) {
            return bad_request("Microsoft 365 groups can only have users as members and owners.");
        }
    }
    let id = dir.new_id();
    let domain = mail_domain(&dir, &sh.guest_domain);
    let mut group = Map::new();
    group.insert("id".into(), json!(id));
    group.insert("createdDateTime".into(), json!(timestamp()));
    group.insert("description".into(), Value::Null);
    group.insert("groupTypes".into(), Value::Array(group_types));
    group.insert(
        "mail".into(),
        if unified {
            json!(format!("{nickname}@{domain}"))
        } else {
            Value::Null
        },
    );
    group.insert(
        "proxyAddresses".into(),
        if unified {
            json!([format!("SMTP:{nickname}@{domain}")])
        } else {
            json!([])
        },
    );
    group.insert("resourceProvisioningOptions".into(), json!([]));
    group.insert(
        "visibility".into(),
        if unified {
            json!("Public")
        } else {
            Value::Null
        },
    );
    for (k, v) in body {
        if !k.ends_with("@odata.bind") {
            group.insert(k.clone(), v.clone());
        }
    }
    let group = Value::Object(group);
    dir.groups.insert(id.clone(), group.clone());
    dir.created_at.insert(id.clone(), now);
    dir.record(Kind::Group, &id, None);
    for (rel, ids) in [(Relation::Owners, &owners), (Relation::Members, &members)] {
        for m in ids {
            rel.set(&mut dir, &id).insert(m.clone());
            if rel == Relation::Members {
                dir.record(Kind::Group, &id, Some((m, true)));
            }
        }
    }
    dir.members.entry(id.clone()).or_default();
    entity(sh, &group, &None, 201)
        .with_header("Location", format!("{}/v1.0/groups/{id}", sh.base_url()))
}

/// The domain new Microsoft 365 groups' addresses use: an existing group's, else a member UPN's.
fn mail_domain(dir: &Directory, fallback: &str) -> String {
    dir.groups
        .values()
        .find_map(|g| {
            g["mail"]
                .as_str()
                .and_then(|m| m.rsplit_once('@'))
                .map(|(_, d)| d.to_owned())
        })
        .or_else(|| dir.verified_domains().into_iter().next())
        .unwrap_or_else(|| fallback.to_owned())
}

/// Checks that `ids` can be added to `group` under `rel` (all or nothing).
fn check_additions(
    sh: &Shared,
    dir: &Directory,
    group: &str,
    rel: Relation,
    ids: &[String],
    now: Instant,
) -> Result<(), ApiResponse> {
    let g = &dir.groups[group];
    if is_exchange_managed(g) {
        return Err(forbidden());
    }
    if rel == Relation::Members && is_dynamic(g) {
        return Err(bad_request(
            "Insufficient privileges to complete the operation: members of a dynamic-membership group are managed by its rule.",
        ));
    }
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

/// `PATCH /groups/{id}` → 204.
pub(crate) fn update(sh: &Shared, req: &ApiRequest, id: &str, now: Instant) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let members = match binds(body, Relation::Members) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let owners = match binds(body, Relation::Owners) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if members.len() + owners.len() > 20 {
        return bad_request("A resource cannot contain more than 20 link changes");
    }
    for (rel, ids) in [(Relation::Members, &members), (Relation::Owners, &owners)] {
        let unique: BTreeSet<&String> = ids.iter().collect();
        if unique.len() != ids.len() {
            return already_exists(rel);
        }
        if let Err(e) = check_additions(sh, &dir, &id, rel, ids, now) {
            return e;
        }
    }
    let mut group = dir.groups[&id].clone();
    let props: Vec<(&String, &Value)> = body
        .iter()
        .filter(|(k, _)| !k.ends_with("@odata.bind"))
        .collect();
    if !props.is_empty() && is_exchange_managed(&group) {
        return forbidden();
    }
    for (k, v) in &props {
        if !odata::is_group_property(k) {
            return bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            ));
        }
        if k.as_str() == "mailNickname" {
            let Some(n) = v.as_str().filter(|n| is_mail_nickname(n)) else {
                return invalid_value("mailNickname");
            };
            if dir.groups.iter().any(|(gid, g)| {
                *gid != id
                    && g["mailNickname"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(n))
            }) {
                return conflict("mailNickname");
            }
        }
        group[k.as_str()] = (*v).clone();
    }
    if !props.is_empty() {
        dir.groups.insert(id.clone(), group);
        dir.record(Kind::Group, &id, None);
    }
    for (rel, ids) in [(Relation::Members, &members), (Relation::Owners, &owners)] {
        for m in ids {
            rel.set(&mut dir, &id).insert(m.clone());
            if rel == Relation::Members {
                dir.record(Kind::Group, &id, Some((m, true)));
            }
        }
    }
    ApiResponse::empty(204)
}

/// `DELETE /groups/{id}` → 204 (Microsoft 365 groups are restorable; security groups are purged).
pub(crate) fn delete(sh: &Shared, id: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    let id = match resolve(&dir, sh, id, now) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if is_exchange_managed(&dir.groups[&id]) {
        return forbidden();
    }
    delete_group(&mut dir, &id);
    ApiResponse::empty(204)
}

fn delete_group(dir: &mut Directory, id: &str) {
    let member_of = dir.groups_of(id);
    for g in &member_of {
        if let Some(m) = dir.members.get_mut(g) {
            m.remove(id);
        }
        dir.record(Kind::Group, g, Some((id, false)));
    }
    let Some(mut group) = dir.groups.remove(id) else {
        return;
    };
    let members = dir.members.remove(id).unwrap_or_default();
    let owners = dir.owners.remove(id).unwrap_or_default();
    dir.teams.remove(id);
    if is_unified(&group) {
        group["deletedDateTime"] = json!(timestamp());
        let mut object = group;
        object["@emulator.members"] = json!(members);
        object["@emulator.owners"] = json!(owners);
        dir.deleted.insert(
            id.to_owned(),
            Deleted {
                kind: Kind::Group,
                object,
                member_of,
                owner_of: Vec::new(),
            },
        );
    }
    dir.record(Kind::Group, id, None);
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
    let empty = BTreeSet::new();
    let dir = &*dir;
    let related = rel.get(dir, &id).unwrap_or(&empty);
    let lag = sh.opts.lag.new_object;
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
                        Some((m.clone(), dir.object(m)?))
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
    let Some(target) = req
        .body
        .as_ref()
        .and_then(|b| b["@odata.id"].as_str())
        .and_then(ref_id)
    else {
        return bad_request("Invalid request body: an '@odata.id' reference is required.");
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
    rel.set(&mut dir, &id).insert(target.clone());
    if rel == Relation::Members {
        dir.record(Kind::Group, &id, Some((&target, true)));
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
    let g = &dir.groups[&id];
    if is_exchange_managed(g) {
        return forbidden();
    }
    if rel == Relation::Members && is_dynamic(g) {
        return bad_request(
            "Insufficient privileges to complete the operation: members of a dynamic-membership group are managed by its rule.",
        );
    }
    if !rel.get(&dir, &id).is_some_and(|m| m.contains(&member)) {
        return not_found(&id);
    }
    rel.set(&mut dir, &id).remove(&member);
    if rel == Relation::Members {
        dir.record(Kind::Group, &id, Some((&member, false)));
    }
    // Known Teams behaviour: removing a team owner also drops the membership.
    if rel == Relation::Owners
        && dir.teams.contains_key(&id)
        && Relation::Members.set(&mut dir, &id).remove(&member)
    {
        dir.record(Kind::Group, &id, Some((&member, false)));
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
        Some(Kind::User) if who.holds(WRITE_USERS) => users::soft_delete_user(&mut dir, &member),
        Some(Kind::Group) if who.holds(WRITE_GROUPS) => delete_group(&mut dir, &member),
        _ => return forbidden(),
    }
    ApiResponse::empty(204)
}

/// Restores a soft-deleted group's memberships (used by deletedItems/restore).
pub(crate) fn restore_group(
    dir: &mut Directory,
    id: &str,
    mut object: Value,
    member_of: &[String],
) {
    let members: BTreeSet<String> =
        serde_json::from_value(object["@emulator.members"].take()).unwrap_or_default();
    let owners: BTreeSet<String> =
        serde_json::from_value(object["@emulator.owners"].take()).unwrap_or_default();
    if let Value::Object(o) = &mut object {
        o.remove("@emulator.members");
        o.remove("@emulator.owners");
        o.insert("deletedDateTime".into(), Value::Null);
    }
    let live = |dir: &Directory, m: &String| dir.kind_of(m).is_some();
    let members: BTreeSet<String> = members.into_iter().filter(|m| live(dir, m)).collect();
    let owners: BTreeSet<String> = owners.into_iter().filter(|m| live(dir, m)).collect();
    dir.groups.insert(id.to_owned(), object);
    for m in &members {
        dir.record(Kind::Group, id, Some((m, true)));
    }
    dir.members.insert(id.to_owned(), members);
    dir.owners.insert(id.to_owned(), owners);
    for g in member_of {
        if dir.groups.contains_key(g) {
            dir.members
                .entry(g.clone())
                .or_default()
                .insert(id.to_owned());
            dir.record(Kind::Group, g, Some((id, true)));
        }
    }
    dir.record(Kind::Group, id, None);
}
