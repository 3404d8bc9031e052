//! Delta query: `GET /users/delta` and `/groups/delta`. A round is a series
//! of `@odata.nextLink` pages ending in an `@odata.deltaLink`; calling that
//! later returns what changed since, deleted objects as `@removed`, and for
//! groups whose `members` are selected, `members@delta`. Unknown, expired or
//! invalidated tokens get 410 Gone (full resync). Changes still inside the
//! replication-lag window are held back (and may later be replayed).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::filter::{self, Expr, Literal, Op};
use super::lag;
use super::odata::{self, EntityType, Selection};
use super::shared::Shared;
use super::state::{Directory, Kind};
use super::wire::{ApiRequest, ApiResponse};

/// Members per `members@delta` item; larger groups repeat across items.
const MEMBERS_PER_ITEM: usize = 100;

/// Tokens kept; past this, all are forgotten (their holders get 410).
const MAX_TOKENS: usize = 100_000;

/// What a round tracks: a `$select`, and an `id eq … or …` filter.
#[derive(Clone, Debug)]
struct Scope {
    selection: Selection,
    ids: Option<BTreeSet<String>>,
}

#[derive(Debug)]
struct DeltaToken {
    kind: Kind,
    seq: u64,
    scope: Scope,
    issued: Instant,
    epoch: u64,
}

#[derive(Debug)]
struct PendingPages {
    kind: Kind,
    remaining: VecDeque<Value>,
    final_seq: u64,
    scope: Scope,
    epoch: u64,
}

/// Issued delta and skip tokens.
#[derive(Debug, Default)]
pub(crate) struct DeltaTokens {
    tokens: HashMap<String, DeltaToken>,
    pages: HashMap<String, PendingPages>,
    /// Bumped to invalidate every token (tenant maintenance).
    pub epoch: u64,
}

fn set_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
    }
}

fn entity_type(kind: Kind) -> EntityType {
    match kind {
        Kind::User => EntityType::User,
        Kind::Group => EntityType::Group,
    }
}

fn resync(sh: &Shared, kind: Kind) -> ApiResponse {
    ApiResponse::error(
        410,
        "syncStateNotFound",
        "The delta token is not found or has expired; start a new full synchronization.",
    )
    .with_header(
        "Location",
        format!(
            "{}/v1.0/{}/delta?$deltatoken=",
            sh.base_url(),
            set_name(kind)
        ),
    )
}

/// Handles one delta call.
pub(crate) fn handle(sh: &Shared, req: &ApiRequest, kind: Kind, now: Instant) -> ApiResponse {
    let mut tokens = sh.delta.lock().unwrap_or_else(|p| p.into_inner());
    let epoch = tokens.epoch;
    if let Some(skip) = req.query("$skiptoken") {
        let Some(mut pending) = tokens
            .pages
            .remove(skip)
            .filter(|p| p.kind == kind && p.epoch == epoch)
        else {
            return resync(sh, kind);
        };
        return serve_page(sh, &mut tokens, kind, &mut pending, now);
    }
    let dir = sh.dir();
    let (since, scope) = match req.query("$deltatoken") {
        Some("latest") => {
            let scope = match scope_of(req, kind) {
                Ok(s) => s,
                Err(e) => return e,
            };
            let mut pending = PendingPages {
                kind,
                remaining: VecDeque::new(),
                final_seq: dir.seq,
                scope,
                epoch,
            };
            drop(dir);
            return serve_page(sh, &mut tokens, kind, &mut pending, now);
        }
        Some(token) if !token.is_empty() => {
            let lifetime = sh.opts.delta_token_lifetime;
            match tokens.tokens.get(token) {
                Some(t)
                    if t.kind == kind
                        && t.epoch == epoch
                        && now.saturating_duration_since(t.issued) < lifetime =>
                {
                    (Some(t.seq), t.scope.clone())
                }
                _ => return resync(sh, kind),
            }
        }
        _ => {
            for option in ["$top", "$orderby", "$expand"] {
                if req.query(option).is_some() {
                    return ApiResponse::error(
                        400,
                        "Request_UnsupportedQuery",
                        format!("The query option '{option}' is not supported with delta queries."),
                    );
                }
            }
            match scope_of(req, kind) {
                Ok(s) => (None, s),
                Err(e) => return e,
            }
        }
    };
    let minimal = req
        .header("prefer")
        .is_some_and(|p| p.contains("return=minimal"));
    let (mut items, final_seq) = match since {
        None => initial(sh, &dir, kind, &scope.selection, now),
        Some(seq) => changes_since(sh, &dir, kind, seq, &scope.selection, minimal, now),
    };
    drop(dir);
    if let Some(ids) = &scope.ids {
        items.retain(|i| i["id"].as_str().is_some_and(|id| ids.contains(id)));
    }
    let mut pending = PendingPages {
        kind,
        remaining: items.into(),
        final_seq,
        scope,
        epoch,
    };
    let resp = serve_page(sh, &mut tokens, kind, &mut pending, now);
    if minimal && since.is_some() {
        resp.with_header("Preference-Applied", "return=minimal")
    } else {
        resp
    }
}

/// `$select` and `$filter` of a first delta request. Delta takes only
/// `id eq '…'` clauses joined by `or`, at most 50.
fn scope_of(req: &ApiRequest, kind: Kind) -> Result<Scope, ApiResponse> {
    let selection = odata::selection(req, entity_type(kind), true)?;
    let Some(raw) = req.query("$filter") else {
        return Ok(Scope {
            selection,
            ids: None,
        });
    };
    let unsupported = || {
        ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported Query. Delta queries support only 'id eq' filters combined with 'or'.",
        )
    };
    let expr = filter::parse(raw).map_err(|_| unsupported())?;
    let mut ids = BTreeSet::new();
    let mut pending = vec![&expr];
    while let Some(e) = pending.pop() {
        match e {
            Expr::Or(a, b) => {
                pending.push(a);
                pending.push(b);
            }
            Expr::Compare(p, Op::Eq, Literal::Str(id)) if p == "id" => {
                ids.insert(id.to_lowercase());
            }
            _ => return Err(unsupported()),
        }
    }
    if ids.len() > 50 {
        return Err(ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            format!("Delta queries filter on at most 50 ids; got {}.", ids.len()),
        ));
    }
    Ok(Scope {
        selection,
        ids: Some(ids),
    })
}

fn tracks_members(selection: &Selection) -> bool {
    selection
        .as_ref()
        .is_some_and(|s| s.iter().any(|p| p == "members"))
}

/// The last change seq a round may cover: just before the first change to
/// an object still inside the lag window.
fn cut(sh: &Shared, dir: &Directory, kind: Kind, since: u64, now: Instant) -> u64 {
    let lag = sh.opts.lag.new_object;
    dir.changes
        .iter()
        .skip(since as usize)
        .find(|c| {
            let object_hidden = c.kind == kind && !lag::is_visible(dir, &c.id, lag, now);
            let member_hidden = c
                .member
                .as_ref()
                .is_some_and(|(m, _)| !lag::is_visible(dir, m, lag, now));
            object_hidden || (kind == Kind::Group && member_hidden)
        })
        .map_or(dir.seq, |c| c.seq - 1)
}

fn project(dir: &Directory, kind: Kind, id: &str, selection: &Selection) -> Option<Value> {
    let object = match kind {
        Kind::User => dir.users.get(id)?,
        Kind::Group => dir.groups.get(id)?,
    };
    Some(odata::project(object, entity_type(kind), selection))
}

fn member_entry(dir: &Directory, member: &str, added: bool) -> Value {
    let ty = match dir.kind_of(member) {
        Some(Kind::Group) => "#microsoft.graph.group",
        _ => "#microsoft.graph.user",
    };
    let mut entry = json!({"@odata.type": ty, "id": member});
    if !added {
        entry["@removed"] = json!({"reason": "deleted"});
    }
    entry
}

/// Splits a group's `members@delta` across items of at most MEMBERS_PER_ITEM.
fn with_members(base: Value, entries: Vec<Value>, out: &mut Vec<Value>) {
    if entries.is_empty() {
        let mut item = base;
        item["members@delta"] = json!([]);
        out.push(item);
        return;
    }
    for chunk in entries.chunks(MEMBERS_PER_ITEM) {
        let mut item = base.clone();
        item["members@delta"] = Value::Array(chunk.to_vec());
        out.push(item);
    }
}

fn initial(
    sh: &Shared,
    dir: &Directory,
    kind: Kind,
    selection: &Selection,
    now: Instant,
) -> (Vec<Value>, u64) {
    let lag = sh.opts.lag.new_object;
    let final_seq = cut(sh, dir, kind, 0, now);
    let ids: Vec<&String> = match kind {
        Kind::User => dir.users.keys().collect(),
        Kind::Group => dir.groups.keys().collect(),
    };
    let mut items = Vec::new();
    for id in ids
        .into_iter()
        .filter(|id| lag::is_visible(dir, id, lag, now))
    {
        let Some(item) = project(dir, kind, id, selection) else {
            continue;
        };
        if kind == Kind::Group && tracks_members(selection) {
            let entries = dir
                .members_of(id)
                .filter(|m| lag::is_visible(dir, m, lag, now))
                .map(|m| member_entry(dir, m, true))
                .collect();
            with_members(item, entries, &mut items);
        } else {
            items.push(item);
        }
    }
    (items, final_seq)
}

/// What changed about one object within a round.
#[derive(Default)]
struct Changed {
    /// `None`: nothing about the object itself; `Some(None)`: all of it;
    /// `Some(Some(p))`: properties `p`.
    object: Option<Option<BTreeSet<String>>>,
    /// Member id → added (true) or removed (false); the last change wins.
    members: BTreeMap<String, bool>,
}

impl Changed {
    fn touch(&mut self, properties: &Option<Vec<String>>) {
        self.object = match (self.object.take(), properties) {
            (Some(None), _) | (_, None) => Some(None),
            (Some(Some(mut known)), Some(p)) => {
                known.extend(p.iter().cloned());
                Some(Some(known))
            }
            (None, Some(p)) => Some(Some(p.iter().cloned().collect())),
        };
    }

    /// Whether the object's own change matters to a `$select`.
    fn is_selected(&self, selection: &Selection) -> bool {
        match (&self.object, selection) {
            (None, _) => false,
            (Some(None), _) | (_, None) => true,
            (Some(Some(props)), Some(selected)) => props.iter().any(|p| selected.contains(p)),
        }
    }
}

fn changes_since(
    sh: &Shared,
    dir: &Directory,
    kind: Kind,
    since: u64,
    selection: &Selection,
    minimal: bool,
    now: Instant,
) -> (Vec<Value>, u64) {
    let final_seq = cut(sh, dir, kind, since, now);
    let mut order: Vec<String> = Vec::new();
    let mut changed: BTreeMap<String, Changed> = BTreeMap::new();
    let window = dir
        .changes
        .iter()
        .skip(since as usize)
        .take(final_seq.saturating_sub(since) as usize);
    for change in window.filter(|c| c.kind == kind) {
        if !changed.contains_key(&change.id) {
            order.push(change.id.clone());
        }
        let entry = changed.entry(change.id.clone()).or_default();
        match &change.member {
            None => entry.touch(&change.properties),
            Some((member, added)) => {
                entry.members.insert(member.clone(), *added);
            }
        }
    }
    let track = tracks_members(selection);
    let mut items = Vec::new();
    for id in order {
        let exists = match kind {
            Kind::User => dir.users.contains_key(&id),
            Kind::Group => dir.groups.contains_key(&id),
        };
        if !exists {
            let reason = if dir.deleted.contains_key(&id) {
                "changed"
            } else {
                "deleted"
            };
            items.push(json!({"id": id, "@removed": {"reason": reason}}));
            continue;
        }
        let change = changed.remove(&id).unwrap_or_default();
        let members_changed = track && !change.members.is_empty();
        // A change to unselected properties doesn't surface the object.
        if !change.is_selected(selection) && !members_changed {
            continue;
        }
        let Some(mut item) = project(dir, kind, &id, selection) else {
            continue;
        };
        if minimal {
            // `Prefer: return=minimal`: only the changed (selected) properties.
            if let (Some(Some(props)), Value::Object(fields)) = (&change.object, &mut item) {
                fields.retain(|k, _| k == "id" || props.contains(k));
            }
            if let (None, Value::Object(fields)) = (&change.object, &mut item) {
                fields.retain(|k, _| k == "id");
            }
        }
        if kind == Kind::Group && track {
            let entries = change
                .members
                .iter()
                .map(|(m, added)| member_entry(dir, m, *added))
                .collect();
            with_members(item, entries, &mut items);
        } else {
            items.push(item);
        }
    }
    (items, final_seq)
}

fn serve_page(
    sh: &Shared,
    tokens: &mut DeltaTokens,
    kind: Kind,
    pending: &mut PendingPages,
    now: Instant,
) -> ApiResponse {
    let take = sh.opts.delta_page_size.max(1).min(pending.remaining.len());
    let items: Vec<Value> = pending.remaining.drain(..take).collect();
    let set = set_name(kind);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/v1.0/$metadata#{}",
            sh.base_url(),
            odata::context_of(set, &pending.scope.selection)
        )),
    );
    let token = sh.request_id().replace('-', "");
    if tokens.tokens.len() + tokens.pages.len() >= MAX_TOKENS {
        tokens.tokens.clear();
        tokens.pages.clear();
    }
    if pending.remaining.is_empty() {
        tokens.tokens.insert(
            token.clone(),
            DeltaToken {
                kind,
                seq: pending.final_seq,
                scope: pending.scope.clone(),
                issued: now,
                epoch: pending.epoch,
            },
        );
        body.insert(
            "@odata.deltaLink".into(),
            json!(format!(
                "{}/v1.0/{set}/delta?$deltatoken={token}",
                sh.base_url()
            )),
        );
    } else {
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/v1.0/{set}/delta?$skiptoken={token}",
                sh.base_url()
            )),
        );
        tokens.pages.insert(
            token,
            PendingPages {
                kind,
                remaining: std::mem::take(&mut pending.remaining),
                final_seq: pending.final_seq,
                scope: pending.scope.clone(),
                epoch: pending.epoch,
            },
        );
    }
    body.insert("value".into(), Value::Array(items));
    ApiResponse::json(200, Value::Object(body))
}
