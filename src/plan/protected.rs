//! Protected accounts (break-glass admins): never modified by any plan.

use std::collections::BTreeSet;

use crate::model::ObjectId;
use crate::model::state::LiveState;
use crate::policy::types::Protected;

/// The object ids of the protected accounts in `live`: by UPN or object id,
/// and every member of a protected group (by display name, mail nickname or id).
pub fn accounts<'a>(protected: &Protected, live: &'a LiveState) -> BTreeSet<&'a ObjectId> {
    let lower = |s: &str| s.to_lowercase();
    let mut ids: BTreeSet<&ObjectId> = BTreeSet::new();
    let upns: BTreeSet<String> = protected.upns.iter().map(|s| lower(s)).collect();
    let object_ids: BTreeSet<&str> = protected.object_ids.iter().map(String::as_str).collect();
    for u in &live.users {
        if upns.contains(&lower(&u.user_principal_name)) || object_ids.contains(u.id.as_str()) {
            ids.insert(&u.id);
        }
    }
    let names: BTreeSet<String> = protected.groups.iter().map(|s| lower(s)).collect();
    for g in &live.groups {
        let hit = names.contains(&lower(&g.display_name))
            || names.contains(&lower(g.id.as_str()))
            || g.mail_nickname
                .as_deref()
                .is_some_and(|n| names.contains(&lower(n)));
        if hit {
            ids.extend(live.members.get(&g.id).into_iter().flatten());
        }
    }
    ids
}
