//! `/directoryObjects/{id}` and `/directory/deletedItems`: soft-deleted
//! users and Microsoft 365 groups, restorable with their memberships.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::groups;
use super::lag;
use super::odata::{self, EntityType};
use super::shared::Shared;
use super::state::Kind;
use super::wire::{ApiRequest, ApiResponse, bad_request, not_found};

fn odata_type(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "#microsoft.graph.user",
        Kind::Group => "#microsoft.graph.group",
    }
}

fn with_type(object: &Value, kind: Kind) -> Value {
    let mut out = json!({"@odata.type": odata_type(kind)});
    if let (Value::Object(out), Value::Object(fields)) = (&mut out, object) {
        for (k, v) in fields {
            if !k.starts_with("@emulator.") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// 200 with one directory object as its own entity (`directoryObjects/$entity`).
fn directory_object_entity(sh: &Shared, mut body: Value) -> ApiResponse {
    body["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#directoryObjects/$entity",
        sh.base_url()
    ));
    ApiResponse::json(200, body)
}

/// `GET /directoryObjects/{id}`.
pub(crate) fn get_object(
    sh: &Shared,
    req: &ApiRequest,
    id: &str,
    now: Instant,
    _: Granted,
) -> ApiResponse {
    let dir = sh.dir();
    let id = id.to_lowercase();
    let Some(kind) = dir
        .kind_of(&id)
        .filter(|_| lag::is_visible(&dir, &id, sh.opts.lag.new_object, now))
    else {
        return not_found(&id);
    };
    let selection = match odata::selection(req, EntityType::DirectoryObject, false) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let object = with_type(dir.object(&id).unwrap_or(&Value::Null), kind);
    let body = odata::project(&object, EntityType::DirectoryObject, &selection);
    directory_object_entity(sh, body)
}

/// `GET /directory/deletedItems/{id}`.
pub(crate) fn get_deleted(sh: &Shared, id: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    dir.purge_deleted(sh.opts.deleted_retention, now);
    match dir.deleted.get(&id.to_lowercase()) {
        Some(d) => directory_object_entity(sh, with_type(&d.object, d.kind)),
        None => not_found(id),
    }
}

/// `POST /directory/deletedItems/{id}/restore` → 200 + the object.
pub(crate) fn restore(sh: &Shared, id: &str, now: Instant, _: Granted) -> ApiResponse {
    let mut dir = sh.dir();
    dir.purge_deleted(sh.opts.deleted_retention, now);
    let id = id.to_lowercase();
    let Some(deleted) = dir.deleted.remove(&id) else {
        return not_found(&id);
    };
    match deleted.kind {
        Kind::User => {
            let upn = deleted.object["userPrincipalName"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if dir.upn_taken(&upn, None) {
                dir.deleted.insert(id.clone(), deleted);
                return bad_request(
                    "Another object with the same value for property userPrincipalName already exists.",
                );
            }
            let mut user = deleted.object.clone();
            user["deletedDateTime"] = Value::Null;
            super::licenses::take_seats(&mut dir, &user);
            dir.insert_user(id.clone(), user);
            for g in &deleted.member_of {
                if dir.groups.contains_key(g) {
                    dir.add_member(g, &id);
                }
            }
            for g in &deleted.owner_of {
                if dir.groups.contains_key(g) {
                    dir.owners.entry(g.clone()).or_default().insert(id.clone());
                }
            }
            dir.record(Kind::User, &id, None);
        }
        Kind::Group => {
            groups::restore_group(&mut dir, &id, deleted.object.clone(), &deleted.member_of)
        }
    }
    let object = dir.object(&id).cloned().unwrap_or(Value::Null);
    directory_object_entity(sh, with_type(&object, deleted.kind))
}
