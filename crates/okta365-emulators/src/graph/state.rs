//! The emulated directory: users, groups, memberships, licences, teams and
//! soft-deleted objects, as Graph JSON values keyed by id, with the indexes
//! Graph looks things up by (UPN, mailNickname) and a change log for delta.
//! Seeded from, and written back to, a snapshot's `m365/` layout.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::time::Instant;

/// Which kind of directory object a change or token is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    User,
    Group,
}

/// One entry of the change log (read by delta).
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub seq: u64,
    pub kind: Kind,
    pub id: String,
    /// A membership change of group `id`: (member id, added?).
    pub member: Option<(String, bool)>,
    /// The properties a change touched; `None` = the whole object (create, delete, …).
    pub properties: Option<Vec<String>>,
}

/// A soft-deleted object, restorable with its memberships.
#[derive(Clone, Debug)]
pub(crate) struct Deleted {
    pub kind: Kind,
    pub object: Value,
    /// Groups the object was a member of.
    pub member_of: Vec<String>,
    /// Groups the object owned.
    pub owner_of: Vec<String>,
    /// When it was deleted (purged after `GraphOptions::deleted_retention`).
    pub deleted_at: Instant,
}

/// A `POST /teams` operation (a teamsAsyncOperation).
#[derive(Clone, Debug)]
pub(crate) struct TeamOperation {
    /// `createTeam`, `archiveTeam` or `unarchiveTeam`.
    pub operation_type: &'static str,
    /// The team's (and its group's) id.
    pub team: String,
    /// When the operation succeeds.
    pub ready_at: Instant,
    /// `createdDateTime`.
    pub created: String,
    /// Whether the team was installed.
    pub done: bool,
    /// Team settings from the request body.
    pub settings: Value,
}

/// The whole tenant.
#[derive(Debug)]
pub(crate) struct Directory {
    pub users: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    pub members: BTreeMap<String, BTreeSet<String>>,
    pub owners: BTreeMap<String, BTreeSet<String>>,
    pub skus: Vec<Value>,
    /// User id → manager id.
    pub managers: BTreeMap<String, String>,
    /// Group id → team object.
    pub teams: BTreeMap<String, Value>,
    /// Group id → the licences it assigns to its members (skuId, disabledPlans).
    pub group_licenses: BTreeMap<String, Vec<(String, Value)>>,
    /// `POST /teams` operations by id.
    pub team_operations: BTreeMap<String, TeamOperation>,
    pub deleted: BTreeMap<String, Deleted>,
    /// Lower-cased UPN → user id.
    upn_index: BTreeMap<String, String>,
    /// Object id → earlier versions, each with the time it was replaced (for stale reads).
    pub history: BTreeMap<String, Vec<(Instant, Value)>>,
    /// When objects created by this emulator were created (for lag).
    pub created_at: BTreeMap<String, Instant>,
    pub changes: Vec<Change>,
    pub seq: u64,
    pub rng: ChaCha8Rng,
    /// The seed's users carried `assignedPlans`: write them back. (Graph
    /// computes them; a snapshot without them stays without.)
    pub keep_assigned_plans: bool,
}

/// The snapshot files, in the layout `src/providers/snapshot.rs` reads.
const USERS: &str = "users.json";
const GROUPS: &str = "groups.json";
const MEMBERS: &str = "group-members.json";
const OWNERS: &str = "group-owners.json";
const SKUS: &str = "subscribedSkus.json";

impl Directory {
    /// An empty tenant.
    pub fn empty(rng: ChaCha8Rng) -> Self {
        Self {
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            owners: BTreeMap::new(),
            skus: Vec::new(),
            managers: BTreeMap::new(),
            teams: BTreeMap::new(),
            team_operations: BTreeMap::new(),
            group_licenses: BTreeMap::new(),
            deleted: BTreeMap::new(),
            upn_index: BTreeMap::new(),
            history: BTreeMap::new(),
            created_at: BTreeMap::new(),
            changes: Vec::new(),
            seq: 0,
            rng,
            keep_assigned_plans: false,
        }
    }

    /// Loads a snapshot folder (`DIR/m365/` or `DIR` itself).
    pub fn load(dir: &Path, rng: ChaCha8Rng) -> Result<Self, String> {
        let m365 = m365_dir(dir);
        let mut state = Self::empty(rng);
        let users: Vec<Value> = read_json(&m365.join(USERS))?;
        let groups: Vec<Value> = read_json(&m365.join(GROUPS))?;
        let members: BTreeMap<String, BTreeSet<String>> = read_json(&m365.join(MEMBERS))?;
        let owners: BTreeMap<String, BTreeSet<String>> = if m365.join(OWNERS).exists() {
            read_json(&m365.join(OWNERS))?
        } else {
            BTreeMap::new()
        };
        state.skus = read_json(&m365.join(SKUS))?;
        state.keep_assigned_plans = users.iter().any(|u| u.get("assignedPlans").is_some());
        for mut user in users {
            let id = object_id(&user, USERS)?;
            // The snapshot holds the manager as `$expand=manager($select=id)`
            // returns it; the directory keeps it as a link, not a property.
            if let Some(manager) = user.as_object_mut().and_then(|u| u.remove("manager"))
                && let Some(manager_id) = manager["id"].as_str()
            {
                state.managers.insert(id.clone(), manager_id.to_owned());
            }
            user["assignedPlans"] = super::licenses::assigned_plans(&state.skus, &user);
            state.insert_user(id, user);
        }
        for group in groups {
            let id = object_id(&group, GROUPS)?;
            if group["resourceProvisioningOptions"]
                .as_array()
                .is_some_and(|o| o.iter().any(|v| v == "Team"))
            {
                state.teams.insert(id.clone(), new_team(&id));
            }
            state.groups.insert(id, group);
        }
        state.members = members;
        state.owners = owners;
        state.group_licenses = super::licenses::seed_group_licenses(&state);
        Ok(state)
    }

    /// Writes the current state in the snapshot layout under `dir/m365/`.
    pub fn write_snapshot(&self, dir: &Path) -> std::io::Result<()> {
        let m365 = dir.join("m365");
        std::fs::create_dir_all(&m365)?;
        let users: Vec<Value> = self
            .users
            .iter()
            .map(|(id, user)| {
                let mut user = user.clone();
                if !self.keep_assigned_plans
                    && let Some(fields) = user.as_object_mut()
                {
                    fields.remove("assignedPlans");
                }
                if let Some(manager) = self.managers.get(id) {
                    user["manager"] = serde_json::json!({ "id": manager });
                }
                user
            })
            .collect();
        let groups: Vec<&Value> = self.groups.values().collect();
        let members: BTreeMap<&String, &BTreeSet<String>> = self
            .members
            .iter()
            .filter(|(g, _)| self.groups.contains_key(*g))
            .collect();
        let owners: BTreeMap<&String, &BTreeSet<String>> = self
            .owners
            .iter()
            .filter(|(g, m)| self.groups.contains_key(*g) && !m.is_empty())
            .collect();
        write_json(&m365.join(USERS), &users)?;
        write_json(&m365.join(GROUPS), &groups)?;
        write_json(&m365.join(MEMBERS), &members)?;
        write_json(&m365.join(OWNERS), &owners)?;
        write_json(&m365.join(SKUS), &self.skus)
    }

    /// Adds or replaces a user, keeping the UPN index.
    pub fn insert_user(&mut self, id: String, user: Value) {
        if let Some(old) = self
            .users
            .get(&id)
            .and_then(|u| u["userPrincipalName"].as_str())
        {
            self.upn_index.remove(&old.to_lowercase());
        }
        if let Some(upn) = user["userPrincipalName"].as_str() {
            self.upn_index.insert(upn.to_lowercase(), id.clone());
        }
        self.users.insert(id, user);
    }

    /// Removes a user from the maps and indexes; returns it.
    pub fn remove_user(&mut self, id: &str) -> Option<Value> {
        let user = self.users.remove(id)?;
        if let Some(upn) = user["userPrincipalName"].as_str() {
            self.upn_index.remove(&upn.to_lowercase());
        }
        Some(user)
    }

    /// The id of the user with this id or UPN (case-insensitive).
    pub fn user_id(&self, key: &str) -> Option<String> {
        if self.users.contains_key(key) {
            return Some(key.to_owned());
        }
        let lower = key.to_lowercase();
        if self.users.contains_key(&lower) {
            return Some(lower);
        }
        self.upn_index.get(&lower).cloned()
    }

    /// Whether a user (other than `except`) has this UPN.
    pub fn upn_taken(&self, upn: &str, except: Option<&str>) -> bool {
        self.upn_index
            .get(&upn.to_lowercase())
            .is_some_and(|id| Some(id.as_str()) != except)
    }

    /// A new lowercase GUID from the seeded generator.
    pub fn new_id(&mut self) -> String {
        guid(&mut self.rng)
    }

    /// Records that an object (or a membership) changed, for delta.
    pub fn record(&mut self, kind: Kind, id: &str, member: Option<(&str, bool)>) {
        self.seq += 1;
        self.changes.push(Change {
            seq: self.seq,
            kind,
            id: id.to_owned(),
            member: member.map(|(m, added)| (m.to_owned(), added)),
            properties: None,
        });
    }

    /// Records that some properties of an object changed, for delta.
    pub fn record_properties<'p>(
        &mut self,
        kind: Kind,
        id: &str,
        properties: impl IntoIterator<Item = &'p str>,
    ) {
        self.seq += 1;
        self.changes.push(Change {
            seq: self.seq,
            kind,
            id: id.to_owned(),
            member: None,
            properties: Some(properties.into_iter().map(str::to_owned).collect()),
        });
    }

    /// Adds `member` to `group` (recording it for delta and applying the
    /// group's licences); false if it was already there.
    pub fn add_member(&mut self, group: &str, member: &str) -> bool {
        if !self
            .members
            .entry(group.to_owned())
            .or_default()
            .insert(member.to_owned())
        {
            return false;
        }
        self.record(Kind::Group, group, Some((member, true)));
        super::licenses::on_member_added(self, group, member);
        true
    }

    /// Removes `member` from `group` (recording it and dropping the licences
    /// it inherited from the group); false if it wasn't there.
    pub fn remove_member(&mut self, group: &str, member: &str) -> bool {
        if !self
            .members
            .get_mut(group)
            .is_some_and(|m| m.remove(member))
        {
            return false;
        }
        self.record(Kind::Group, group, Some((member, false)));
        super::licenses::on_member_removed(self, group, member);
        true
    }

    /// Keeps `previous` as the version of `id` replicas still serve for
    /// `stale` after `now` (nothing is kept when `stale` is zero).
    pub fn remember(
        &mut self,
        id: &str,
        previous: Value,
        now: Instant,
        stale: std::time::Duration,
    ) {
        if stale.is_zero() {
            return;
        }
        let versions = self.history.entry(id.to_owned()).or_default();
        versions.retain(|(at, _)| now.saturating_duration_since(*at) < stale);
        versions.push((now, previous));
    }

    /// The version of an object a read at `now` sees: the one before the
    /// oldest change made less than `stale` ago, else `current`.
    pub fn as_of<'a>(
        &'a self,
        id: &str,
        current: &'a Value,
        stale: std::time::Duration,
        now: Instant,
    ) -> &'a Value {
        self.history
            .get(id)
            .and_then(|versions| {
                versions
                    .iter()
                    .find(|(at, _)| now.saturating_duration_since(*at) < stale)
            })
            .map_or(current, |(_, previous)| previous)
    }

    /// Purges deleted objects older than `retention`.
    pub fn purge_deleted(&mut self, retention: std::time::Duration, now: Instant) {
        self.deleted
            .retain(|_, d| now.saturating_duration_since(d.deleted_at) < retention);
    }

    /// Whether `id` is a user or a group.
    pub fn kind_of(&self, id: &str) -> Option<Kind> {
        if self.users.contains_key(id) {
            Some(Kind::User)
        } else if self.groups.contains_key(id) {
            Some(Kind::Group)
        } else {
            None
        }
    }

    /// The object with this id, user or group.
    pub fn object(&self, id: &str) -> Option<&Value> {
        self.users.get(id).or_else(|| self.groups.get(id))
    }

    /// A group's members (empty if none recorded).
    pub fn members_of(&self, group: &str) -> impl Iterator<Item = &String> {
        self.members.get(group).into_iter().flatten()
    }

    /// Groups `id` is a direct member of.
    pub fn groups_of(&self, id: &str) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, m)| m.contains(id))
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// Groups `id` owns.
    pub fn groups_owned_by(&self, id: &str) -> Vec<String> {
        self.owners
            .iter()
            .filter(|(_, m)| m.contains(id))
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// The tenant's initial domain as seen on an existing guest UPN.
    pub fn guest_domain(&self) -> Option<String> {
        self.users
            .values()
            .filter_map(|u| u["userPrincipalName"].as_str())
            .find_map(|upn| upn.split_once("#EXT#@").map(|(_, d)| d.to_owned()))
    }

    /// Domains seen on member UPNs (treated as verified).
    pub fn verified_domains(&self) -> BTreeSet<String> {
        self.users
            .values()
            .filter_map(|u| u["userPrincipalName"].as_str())
            .filter(|upn| !upn.contains("#EXT#"))
            .filter_map(|upn| upn.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
            .collect()
    }
}

/// A random lowercase GUID (version 4 layout).
pub(crate) fn guid(rng: &mut impl rand::Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A team object for group `id`, in Graph's shape.
pub(crate) fn new_team(id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "isArchived": false,
        "memberSettings": {"allowCreateUpdateChannels": true, "allowDeleteChannels": true,
            "allowAddRemoveApps": true, "allowCreateUpdateRemoveTabs": true,
            "allowCreateUpdateRemoveConnectors": true},
        "guestSettings": {"allowCreateUpdateChannels": false, "allowDeleteChannels": false},
        "messagingSettings": {"allowUserEditMessages": true, "allowUserDeleteMessages": true,
            "allowOwnerDeleteMessages": true, "allowTeamMentions": true, "allowChannelMentions": true},
        "funSettings": {"allowGiphy": true, "giphyContentRating": "moderate",
            "allowStickersAndMemes": true, "allowCustomMemes": true},
    })
}

/// `DIR/m365` when it exists, else `DIR`.
pub(crate) fn m365_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("m365");
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

fn object_id(object: &Value, file: &str) -> Result<String, String> {
    object["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{file}: an object has no string `id`: {object}"))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read snapshot file {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("snapshot file {} is not valid: {e}", path.display()))
}

/// Writes pretty JSON via a temp file and a rename, so readers never see half a file.
fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut file, value)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
    }
    std::fs::rename(tmp, path)
}
