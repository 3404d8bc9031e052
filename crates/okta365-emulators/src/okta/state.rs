//! The org in memory: users, groups, memberships and the System Log, as the
//! JSON objects Okta returns. Mutations here also append the System Log
//! events Okta would write. No HTTP here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::Timestamp;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Everything the org holds.
#[derive(Debug)]
pub struct Org {
    /// Users by id (the id order is the paging order).
    pub users: BTreeMap<String, Value>,
    /// Groups by id.
    pub groups: BTreeMap<String, Value>,
    /// Member user ids by group id.
    pub members: BTreeMap<String, BTreeSet<String>>,
    /// System Log events in persistence order.
    pub logs: Vec<Value>,
    /// Every version of each changed user with the time it was written (a
    /// seeded user's first entry is its seeded version, at the epoch), for
    /// the eventually consistent view `search` reads.
    history: BTreeMap<String, Vec<(Timestamp, Value)>>,
    rng: ChaCha8Rng,
}

/// Why a mutation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MutationError {
    /// No user with this id.
    #[error("no user with id `{0}` in the emulated org")]
    NoUser(String),
    /// No group with this id.
    #[error("no group with id `{0}` in the emulated org")]
    NoGroup(String),
    /// The input was not usable.
    #[error("{0}")]
    Invalid(String),
}

/// The statuses a user can be set to.
pub const USER_STATUSES: [&str; 8] = [
    "ACTIVE",
    "DEPROVISIONED",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "PROVISIONED",
    "RECOVERY",
    "STAGED",
    "SUSPENDED",
];

impl Org {
    /// An empty org whose generated ids and uuids follow `seed`.
    pub fn empty(seed: u64) -> Self {
        Self {
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            logs: Vec::new(),
            history: BTreeMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6f6b_7461),
        }
    }

    /// Loads a snapshot folder (`DIR/okta/*.json`, or `DIR/*.json`).
    pub fn load(dir: &Path, seed: u64) -> Result<Self, String> {
        let okta = dir.join("okta");
        let dir = if okta.is_dir() {
            okta
        } else {
            dir.to_path_buf()
        };
        let mut org = Self::empty(seed);
        let users: Vec<Value> = read_json(&dir.join("users.json"))?;
        let groups: Vec<Value> = read_json(&dir.join("groups.json"))?;
        let members: BTreeMap<String, Vec<String>> = read_json(&dir.join("group-members.json"))?;
        for user in users {
            let id = object_id(&user, "users.json")?;
            org.users.insert(id, user);
        }
        for group in groups {
            let id = object_id(&group, "groups.json")?;
            org.groups.insert(id, group);
        }
        for (group, ids) in members {
            org.members.insert(group, ids.into_iter().collect());
        }
        let logs = dir.join("logs.json");
        if logs.exists() {
            org.logs = read_json(&logs)?;
        }
        Ok(org)
    }

    /// Random base62 text from the org's seeded generator.
    pub fn random_text(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..len)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    }

    fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// Adds a user. Missing `id`, `status` (STAGED), timestamps, `credentials`
    /// and `_links` are filled in; `profile.login` is required.
    pub fn add_user(&mut self, mut user: Value, now: Timestamp) -> Result<String, MutationError> {
        let Some(fields) = user.as_object_mut() else {
            return Err(MutationError::Invalid(
                "a user must be a JSON object".into(),
            ));
        };
        let login = fields
            .get("profile")
            .and_then(|p| p.get("login"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| MutationError::Invalid("a user needs `profile.login`".into()))?;
        if self
            .users
            .values()
            .any(|u| login_of(u).eq_ignore_ascii_case(&login))
        {
            return Err(MutationError::Invalid(format!(
                "a user with login `{login}` already exists"
            )));
        }
        let id = match fields.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => format!("00u{}", self.random_text(17)),
        };
        let stamp = Value::String(format_time(now));
        let status = fields
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("STAGED")
            .to_owned();
        check_status(&status)?;
        let active = status != "STAGED";
        let defaults = [
            ("id", Value::String(id.clone())),
            ("status", Value::String(status.clone())),
            ("created", stamp.clone()),
            (
                "activated",
                if active { stamp.clone() } else { Value::Null },
            ),
            (
                "statusChanged",
                if active { stamp.clone() } else { Value::Null },
            ),
            ("lastLogin", Value::Null),
            ("lastUpdated", stamp.clone()),
            ("passwordChanged", Value::Null),
            (
                "credentials",
                json!({"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}}),
            ),
        ];
        for (key, value) in defaults {
            fields.entry(key).or_insert(value);
        }
        if !fields.contains_key("type") {
            let type_id = format!("oty{}", self.random_text(17));
            fields.insert("type".into(), json!({ "id": type_id }));
        }
        if let Some(profile) = fields.get_mut("profile").and_then(Value::as_object_mut) {
            for key in BASE_PROFILE_NULLS {
                profile.entry(*key).or_insert(Value::Null);
            }
        }
        if self.users.contains_key(&id) {
            return Err(MutationError::Invalid(format!(
                "a user with id `{id}` already exists"
            )));
        }
        self.users.insert(id.clone(), user);
        self.remember(&id, None, now);
        self.log_user_event("user.lifecycle.create", "Create Okta user", &id, now);
        if status == "ACTIVE" {
            self.log_user_event("user.lifecycle.activate", "Activate Okta user", &id, now);
        }
        Ok(id)
    }

    /// Moves a user to `status`, logging the lifecycle event Okta writes.
    pub fn set_status(
        &mut self,
        user_id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<(), MutationError> {
        check_status(status)?;
        let user = self
            .users
            .get_mut(user_id)
            .ok_or_else(|| MutationError::NoUser(user_id.to_owned()))?;
        let before = user["status"].as_str().unwrap_or_default().to_owned();
        if before == status {
            return Ok(());
        }
        let previous = user.clone();
        let stamp = Value::String(format_time(now));
        user["status"] = Value::String(status.to_owned());
        if status == "DEPROVISIONED"
            && let Some(credentials) = user.get_mut("credentials").and_then(Value::as_object_mut)
        {
            // A deactivated user has no password credential left.
            credentials.remove("password");
        }
        user["statusChanged"] = stamp.clone();
        user["lastUpdated"] = stamp.clone();
        if status == "ACTIVE" && user["activated"].is_null() {
            user["activated"] = stamp;
        }
        let (event, message) = match (before.as_str(), status) {
            ("SUSPENDED", "ACTIVE") => ("user.lifecycle.unsuspend", "Unsuspend Okta user"),
            ("LOCKED_OUT", "ACTIVE") => ("user.account.unlock", "Unlock user account"),
            (_, "ACTIVE") | ("STAGED" | "DEPROVISIONED", "PROVISIONED") => {
                ("user.lifecycle.activate", "Activate Okta user")
            }
            (_, "SUSPENDED") => ("user.lifecycle.suspend", "Suspend Okta user"),
            (_, "DEPROVISIONED") => ("user.lifecycle.deactivate", "Deactivate Okta user"),
            (_, "LOCKED_OUT") => ("user.account.lock", "Max sign in attempts exceeded"),
            (_, "PASSWORD_EXPIRED") => ("user.account.expire_password", "Expire user password"),
            (_, "RECOVERY") => ("user.account.reset_password", "Reset user password"),
            _ => ("user.lifecycle.update", "Update user status"),
        };
        self.remember(user_id, Some(previous), now);
        self.log_user_event(event, message, user_id, now);
        Ok(())
    }

    /// Merges `changes` into a user's profile (a `null` clears an attribute).
    pub fn update_profile(
        &mut self,
        user_id: &str,
        changes: Value,
        now: Timestamp,
    ) -> Result<(), MutationError> {
        let Value::Object(changes) = changes else {
            return Err(MutationError::Invalid(
                "profile changes must be a JSON object".into(),
            ));
        };
        let user = self
            .users
            .get_mut(user_id)
            .ok_or_else(|| MutationError::NoUser(user_id.to_owned()))?;
        let previous = user.clone();
        if !user["profile"].is_object() {
            user["profile"] = json!({});
        }
        for (key, value) in changes {
            user["profile"][key] = value;
        }
        user["lastUpdated"] = Value::String(format_time(now));
        self.remember(user_id, Some(previous), now);
        self.log_user_event(
            "user.account.update_profile",
            "Update user profile for Okta",
            user_id,
            now,
        );
        Ok(())
    }

    /// Deletes a deactivated user for good (Okta refuses to delete an active
    /// one: deactivate first), with its memberships.
    pub fn delete_user(&mut self, user_id: &str, now: Timestamp) -> Result<(), MutationError> {
        let user = self
            .users
            .get(user_id)
            .ok_or_else(|| MutationError::NoUser(user_id.to_owned()))?;
        if user["status"] != "DEPROVISIONED" {
            return Err(MutationError::Invalid(format!(
                "user `{user_id}` must be deactivated before it is deleted"
            )));
        }
        let target = self.user_target(user_id);
        self.users.remove(user_id);
        self.history.remove(user_id);
        for members in self.members.values_mut() {
            members.remove(user_id);
        }
        self.append_event(
            "user.lifecycle.delete.initiated",
            "Delete Okta user",
            vec![target],
            now,
        );
        Ok(())
    }

    /// Adds an `OKTA_GROUP` with `profile` (`name` required), logging
    /// `group.lifecycle.create`.
    pub fn add_group(&mut self, profile: Value, now: Timestamp) -> Result<String, MutationError> {
        let Some(name) = profile
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(MutationError::Invalid(
                "a group needs `profile.name`".into(),
            ));
        };
        if self.groups.values().any(|g| {
            g["profile"]["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        }) {
            return Err(MutationError::Invalid(format!(
                "a group named `{name}` already exists"
            )));
        }
        let id = format!("00g{}", self.random_text(17));
        let stamp = format_time(now);
        let mut profile = profile;
        if profile.get("description").is_none() {
            profile["description"] = Value::Null;
        }
        let group = json!({
            "id": id,
            "created": stamp,
            "lastUpdated": stamp,
            "lastMembershipUpdated": stamp,
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": profile,
            "_links": {}
        });
        self.groups.insert(id.clone(), group);
        self.members.insert(id.clone(), BTreeSet::new());
        let target = self.group_target(&id);
        self.append_event(
            "group.lifecycle.create",
            "Create okta user group",
            vec![target],
            now,
        );
        Ok(id)
    }

    /// Replaces an `OKTA_GROUP`'s profile, logging `group.profile.update`.
    pub fn replace_group_profile(
        &mut self,
        group_id: &str,
        profile: Value,
        now: Timestamp,
    ) -> Result<(), MutationError> {
        if !profile.get("name").is_some_and(Value::is_string) {
            return Err(MutationError::Invalid(
                "a group needs `profile.name`".into(),
            ));
        }
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| MutationError::NoGroup(group_id.to_owned()))?;
        if group["type"] != "OKTA_GROUP" {
            return Err(MutationError::Invalid(format!(
                "group `{group_id}` is not an OKTA_GROUP: its profile is not editable"
            )));
        }
        group["profile"] = profile;
        group["lastUpdated"] = Value::String(format_time(now));
        let target = self.group_target(group_id);
        self.append_event(
            "group.profile.update",
            "Update group profile",
            vec![target],
            now,
        );
        Ok(())
    }

    /// Deletes an `OKTA_GROUP`, logging `group.lifecycle.delete`.
    pub fn delete_group(&mut self, group_id: &str, now: Timestamp) -> Result<(), MutationError> {
        let group = self
            .groups
            .get(group_id)
            .ok_or_else(|| MutationError::NoGroup(group_id.to_owned()))?;
        if group["type"] != "OKTA_GROUP" {
            return Err(MutationError::Invalid(format!(
                "group `{group_id}` is not an OKTA_GROUP and cannot be deleted"
            )));
        }
        let target = self.group_target(group_id);
        self.groups.remove(group_id);
        self.members.remove(group_id);
        self.append_event(
            "group.lifecycle.delete",
            "Delete Okta group",
            vec![target],
            now,
        );
        Ok(())
    }

    /// Adds a user to a group (no event if already a member).
    pub fn add_member(
        &mut self,
        group_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> Result<(), MutationError> {
        self.check_pair(group_id, user_id)?;
        let added = self
            .members
            .entry(group_id.to_owned())
            .or_default()
            .insert(user_id.to_owned());
        if added {
            self.membership_changed(
                ("group.user_membership.add", "Add user to group membership"),
                group_id,
                user_id,
                now,
            );
        }
        Ok(())
    }

    /// Removes a user from a group (no event if not a member).
    pub fn remove_member(
        &mut self,
        group_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> Result<(), MutationError> {
        self.check_pair(group_id, user_id)?;
        let removed = self
            .members
            .get_mut(group_id)
            .is_some_and(|m| m.remove(user_id));
        if removed {
            self.membership_changed(
                (
                    "group.user_membership.remove",
                    "Remove user from group membership",
                ),
                group_id,
                user_id,
                now,
            );
        }
        Ok(())
    }

    /// Records a user's new version; `previous` is its version before the
    /// change (`None` for a new user).
    fn remember(&mut self, user_id: &str, previous: Option<Value>, now: Timestamp) {
        let current = self.users.get(user_id).cloned();
        let versions = self.history.entry(user_id.to_owned()).or_default();
        if versions.is_empty()
            && let Some(previous) = previous
        {
            versions.push((Timestamp::UNIX_EPOCH, previous));
        }
        if let Some(current) = current {
            versions.push((now, current));
        }
    }

    /// The version of a user that a search made at `cutoff` (now minus the
    /// search lag) sees: `None` if it did not exist yet.
    pub fn searchable<'a>(
        &'a self,
        user_id: &str,
        current: &'a Value,
        cutoff: Timestamp,
    ) -> Option<&'a Value> {
        match self.history.get(user_id) {
            None => Some(current),
            Some(versions) => versions
                .iter()
                .rev()
                .find(|(written, _)| *written <= cutoff)
                .map(|(_, version)| version),
        }
    }

    fn check_pair(&self, group_id: &str, user_id: &str) -> Result<(), MutationError> {
        if !self.groups.contains_key(group_id) {
            return Err(MutationError::NoGroup(group_id.to_owned()));
        }
        if !self.users.contains_key(user_id) {
            return Err(MutationError::NoUser(user_id.to_owned()));
        }
        Ok(())
    }

    fn user_target(&self, user_id: &str) -> Value {
        let user = &self.users[user_id];
        let profile = &user["profile"];
        let display = match (profile["firstName"].as_str(), profile["lastName"].as_str()) {
            (Some(first), Some(last)) => format!("{first} {last}"),
            _ => login_of(user).to_owned(),
        };
        json!({
            "id": user_id,
            "type": "User",
            "alternateId": login_of(user),
            "displayName": display,
            "detailEntry": null
        })
    }

    fn group_target(&self, group_id: &str) -> Value {
        let name = self.groups[group_id]["profile"]["name"].clone();
        json!({
            "id": group_id,
            "type": "UserGroup",
            "alternateId": "unknown",
            "displayName": name,
            "detailEntry": null
        })
    }

    fn log_user_event(&mut self, event_type: &str, message: &str, user_id: &str, now: Timestamp) {
        let targets = vec![self.user_target(user_id)];
        self.append_event(event_type, message, targets, now);
    }

    /// After a membership change: stamps the group's `lastMembershipUpdated`
    /// and logs the `(eventType, message)` event on the user and the group.
    fn membership_changed(
        &mut self,
        (event_type, message): (&str, &str),
        group_id: &str,
        user_id: &str,
        now: Timestamp,
    ) {
        if let Some(group) = self.groups.get_mut(group_id) {
            group["lastMembershipUpdated"] = Value::String(format_time(now));
        }
        let targets = vec![self.user_target(user_id), self.group_target(group_id)];
        self.append_event(event_type, message, targets, now);
    }

    /// Appends a LogEvent in Okta's shape, acted by the emulator's admin.
    pub fn append_event(
        &mut self,
        event_type: &str,
        message: &str,
        targets: Vec<Value>,
        now: Timestamp,
    ) {
        let uuid = self.uuid();
        let transaction = self.random_text(27);
        let request_uri = request_uri_of(event_type, &targets);
        let nowhere = json!({
            "city": null, "state": null, "country": null, "postalCode": null,
            "geolocation": {"lat": null, "lon": null}
        });
        self.logs.push(json!({
            "actor": {
                "id": "00uEmulatorAdmin0000",
                "type": "User",
                "alternateId": "admin@emulator.invalid",
                "displayName": "Emulator Admin",
                "detailEntry": null
            },
            "client": {
                "userAgent": {"rawUserAgent": "okta365-emulator", "os": "Unknown", "browser": "UNKNOWN"},
                "zone": "null",
                "device": "Unknown",
                "id": null,
                "ipAddress": "127.0.0.1",
                "geographicalContext": nowhere
            },
            "authenticationContext": {
                "authenticationProvider": null,
                "credentialProvider": null,
                "credentialType": null,
                "issuer": null,
                "interface": null,
                "authenticationStep": 0,
                "rootSessionId": "trsEmulator",
                "externalSessionId": "trsEmulator"
            },
            "displayMessage": message,
            "eventType": event_type,
            "outcome": {"result": "SUCCESS", "reason": null},
            "published": format_time(now),
            "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
            "severity": "INFO",
            "debugContext": {"debugData": {
                "requestId": transaction,
                "requestUri": request_uri,
                "url": request_uri
            }},
            "legacyEventType": legacy_event_type(event_type),
            "transaction": {"type": "WEB", "id": transaction, "detail": {}},
            "uuid": uuid,
            "version": "0",
            "request": {"ipChain": [{
                "ip": "127.0.0.1",
                "geographicalContext": nowhere,
                "version": "V4",
                "source": null
            }]},
            "target": targets
        }));
    }
}

/// The Events API name Okta still sends for an event type, where its
/// published samples show one (`null` otherwise, as for newer types).
fn legacy_event_type(event_type: &str) -> Value {
    match event_type {
        "group.user_membership.add" => json!("core.user_group_member.user_add"),
        "group.user_membership.remove" => json!("core.user_group_member.user_remove"),
        "user.session.start" => json!("core.user_auth.login_success"),
        _ => Value::Null,
    }
}

/// The Management API path an event's change would have come through.
fn request_uri_of(event_type: &str, targets: &[Value]) -> String {
    let id_of = |kind: &str| {
        targets
            .iter()
            .find(|t| t["type"] == kind)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_default()
    };
    let (user, group) = (id_of("User"), id_of("UserGroup"));
    if event_type.starts_with("group.user_membership.") {
        return format!("/api/v1/groups/{group}/users/{user}");
    }
    match event_type.strip_prefix("user.lifecycle.") {
        Some("create") => "/api/v1/users".to_owned(),
        Some(verb) => format!("/api/v1/users/{user}/lifecycle/{verb}"),
        None => format!("/api/v1/users/{user}"),
    }
}

/// Base-profile attributes a user created without them carries as `null`
/// (Okta's `ListUsersResponse` example shows them so).
const BASE_PROFILE_NULLS: &[&str] = &["mobilePhone", "secondEmail"];

/// Okta's timestamp format: UTC with milliseconds, e.g. `2020-11-16T18:15:12.862Z`.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A user's `profile.login`, or "" when missing.
pub fn login_of(user: &Value) -> &str {
    user["profile"]["login"].as_str().unwrap_or_default()
}

fn check_status(status: &str) -> Result<(), MutationError> {
    if USER_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(MutationError::Invalid(format!(
            "unknown user status `{status}`: use one of {}",
            USER_STATUSES.join(", ")
        )))
    }
}

fn object_id(object: &Value, file: &str) -> Result<String, String> {
    object["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("an object in {file} has no string `id`"))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-01T10:00:00Z".parse().unwrap()
    }

    fn org_with_user() -> (Org, String) {
        let mut org = Org::empty(7);
        let id = org
            .add_user(
                json!({"profile": {"login": "a@x.test", "firstName": "A", "lastName": "B"}}),
                now(),
            )
            .unwrap();
        org.groups.insert(
            "00g1".into(),
            json!({"id": "00g1", "profile": {"name": "G"}}),
        );
        (org, id)
    }

    #[test]
    fn add_user_fills_okta_fields_and_logs_create() {
        let (org, id) = org_with_user();
        let user = &org.users[&id];
        assert!(id.starts_with("00u") && id.len() == 20, "{id}");
        assert_eq!(user["status"], "STAGED");
        assert_eq!(user["created"], "2026-12-01T10:00:00.000Z");
        assert_eq!(org.logs.len(), 1);
        assert_eq!(org.logs[0]["eventType"], "user.lifecycle.create");
        assert_eq!(org.logs[0]["target"][0]["alternateId"], "a@x.test");
    }

    #[test]
    fn status_changes_log_the_matching_lifecycle_event() {
        let (mut org, id) = org_with_user();
        org.set_status(&id, "ACTIVE", now()).unwrap();
        org.set_status(&id, "SUSPENDED", now()).unwrap();
        org.set_status(&id, "ACTIVE", now()).unwrap();
        org.set_status(&id, "DEPROVISIONED", now()).unwrap();
        org.set_status(&id, "ACTIVE", now()).unwrap();
        let types: Vec<_> = org
            .logs
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "user.lifecycle.create",
                "user.lifecycle.activate",
                "user.lifecycle.suspend",
                "user.lifecycle.unsuspend",
                "user.lifecycle.deactivate",
                "user.lifecycle.activate"
            ]
        );
        assert_eq!(
            org.set_status(&id, "GONE", now()).unwrap_err().to_string(),
            "unknown user status `GONE`: use one of ACTIVE, DEPROVISIONED, LOCKED_OUT, PASSWORD_EXPIRED, PROVISIONED, RECOVERY, STAGED, SUSPENDED"
        );
    }

    #[test]
    fn membership_changes_log_once_and_touch_the_group() {
        let (mut org, id) = org_with_user();
        org.add_member("00g1", &id, now()).unwrap();
        org.add_member("00g1", &id, now()).unwrap();
        org.remove_member("00g1", &id, now()).unwrap();
        let types: Vec<_> = org
            .logs
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "user.lifecycle.create",
                "group.user_membership.add",
                "group.user_membership.remove"
            ]
        );
        assert_eq!(org.logs[1]["target"][1]["type"], "UserGroup");
        assert_eq!(
            org.groups["00g1"]["lastMembershipUpdated"],
            "2026-12-01T10:00:00.000Z"
        );
        assert_eq!(
            org.add_member("00gNone", &id, now()),
            Err(MutationError::NoGroup("00gNone".into()))
        );
    }

    #[test]
    fn update_profile_merges_and_keeps_custom_attributes() {
        let (mut org, id) = org_with_user();
        org.update_profile(&id, json!({"department": "Ops", "costCenter": null}), now())
            .unwrap();
        let profile = &org.users[&id]["profile"];
        assert_eq!(profile["department"], "Ops");
        assert_eq!(profile["login"], "a@x.test");
        assert!(profile["costCenter"].is_null());
        assert_eq!(
            org.logs.last().unwrap()["eventType"],
            "user.account.update_profile"
        );
    }

    #[test]
    fn searches_see_the_version_written_before_their_cutoff() {
        let (mut org, id) = org_with_user();
        let later: Timestamp = "2026-12-01T10:00:05Z".parse().unwrap();
        org.set_status(&id, "ACTIVE", later).unwrap();
        let current = org.users[&id].clone();
        let before_create: Timestamp = "2026-12-01T09:59:59Z".parse().unwrap();
        assert!(org.searchable(&id, &current, before_create).is_none());
        let staged = org.searchable(&id, &current, now()).unwrap();
        assert_eq!(staged["status"], "STAGED");
        assert_eq!(
            org.searchable(&id, &current, later).unwrap()["status"],
            "ACTIVE"
        );
    }

    #[test]
    fn the_same_seed_generates_the_same_ids() {
        let a = org_with_user().1;
        let b = org_with_user().1;
        assert_eq!(a, b);
    }
}
