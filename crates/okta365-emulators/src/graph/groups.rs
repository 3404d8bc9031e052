//! `/groups`: list, get, create (Unified and security, with up to 20
//! owner and member binds), PATCH (properties and `members@odata.bind` /
//! `owners@odata.bind`, at most 20, all or nothing), delete (Microsoft 365
//! groups soft-delete, security groups are purged), restore.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::lag;
use super::listing;
use super::members::{Relation, already_exists, binds, check_additions};
use super::odata::{self, EntityType};
use super::shared::Shared;
use super::state::{Deleted, Directory, Kind};
use super::users::{conflict, timestamp};
use super::wire::{ApiRequest, ApiResponse, bad_request, forbidden, not_found};

/// `GET /groups`.
pub(crate) fn list(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let dir = sh.dir();
    let lag = sh.opts.lag.new_object;
    let stale = sh.opts.lag.stale_reads;
    let listed = listing::list(
        sh,
        req,
        EntityType::Group,
        "groups",
        |from| {
            Box::new(
                dir.groups
                    .range((from, Bound::Unbounded))
                    .map(|(k, v)| (k.clone(), dir.as_of(k, v, stale, now))),
            )
        },
        |id, _| lag::is_visible(&dir, id, lag, now),
        |_| None,
    );
    let mut resp = listed.unwrap_or_else(|e| e);
    super::expand::apply(&dir, req, Kind::Group, &mut resp);
    resp
}

pub(crate) fn resolve(
    dir: &Directory,
    sh: &Shared,
    id: &str,
    now: Instant,
) -> Result<String, ApiResponse> {
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
    let mut resp = match resolve(&dir, sh, id, now) {
        Ok(id) => entity(
            sh,
            dir.as_of(&id, &dir.groups[&id], sh.opts.lag.stale_reads, now),
            &selection,
            200,
        ),
        Err(e) => e,
    };
    super::expand::apply(&dir, req, Kind::Group, &mut resp);
    resp
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
pub(crate) fn is_exchange_managed(group: &Value) -> bool {
    let unified = group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "Unified"));
    !unified && group["mailEnabled"] == json!(true)
}

pub(crate) fn is_dynamic(group: &Value) -> bool {
    group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "DynamicMembership"))
}

pub(crate) fn is_unified(group: &Value) -> bool {
    group["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "Unified"))
}

/// `POST /groups` → 201 + the group.
pub(crate) fn create(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    let body = &match odata::without_type_annotation(body, "microsoft.graph.group") {
        Ok(body) => body,
        Err(e) => return e,
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
        if let Some(e) = odata::read_only_error(k) {
            return e;
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
            if rel == Relation::Members {
                dir.add_member(&id, m);
            } else {
                rel.set(&mut dir, &id).insert(m.clone());
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

/// `PATCH /groups/{id}` → 204.
pub(crate) fn update(sh: &Shared, req: &ApiRequest, id: &str, now: Instant) -> ApiResponse {
    let Some(body) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    let body = &match odata::without_type_annotation(body, "microsoft.graph.group") {
        Ok(body) => body,
        Err(e) => return e,
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
        if let Some(e) = odata::read_only_error(k) {
            return e;
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
        let previous = dir.groups[&id].clone();
        dir.remember(&id, previous, now, sh.opts.lag.stale_reads);
        dir.groups.insert(id.clone(), group);
        dir.record_properties(Kind::Group, &id, props.iter().map(|(k, _)| k.as_str()));
    }
    for (rel, ids) in [(Relation::Members, &members), (Relation::Owners, &owners)] {
        for m in ids {
            if rel == Relation::Members {
                dir.add_member(&id, m);
            } else {
                rel.set(&mut dir, &id).insert(m.clone());
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
    delete_group(&mut dir, &id, now);
    ApiResponse::empty(204)
}

pub(crate) fn delete_group(dir: &mut Directory, id: &str, now: Instant) {
    let member_of = dir.groups_of(id);
    for g in &member_of {
        dir.remove_member(g, id);
    }
    let members = dir.members.get(id).cloned().unwrap_or_default();
    for m in &members {
        super::licenses::on_member_removed(dir, id, m);
    }
    dir.group_licenses.remove(id);
    let Some(mut group) = dir.groups.remove(id) else {
        return;
    };
    dir.members.remove(id);
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
                deleted_at: now,
            },
        );
    }
    dir.record(Kind::Group, id, None);
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
