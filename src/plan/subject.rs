//! The subject of each destructive action: the Okta id of the person it acts
//! on, taken from the account's ownership marker as read (or from the marker
//! this plan writes when it links the account). Apply checks, just before the
//! request, that the live account still carries that id.

use std::collections::BTreeMap;

use super::Marker;
use super::action::{Action, Op};
use crate::model::ObjectId;
use crate::model::state::LiveState;

/// Sets [`Action::okta_id`] on every destructive action whose subject is known.
pub fn stamp(actions: &mut [Action], live: &LiveState, marker: &Marker) {
    let property = marker.property();
    let linked: BTreeMap<&ObjectId, String> = actions
        .iter()
        .filter_map(|a| match &a.op {
            Op::UpdateUser { user, properties } => {
                let value = properties.get(&property)?.clone()?;
                Some((user.id.as_ref()?, value))
            }
            _ => None,
        })
        .collect();
    let marked: BTreeMap<&ObjectId, &str> = live
        .users
        .iter()
        .filter_map(|u| Some((&u.id, marker.get_str(u)?)))
        .collect();
    let mut found: Vec<Option<String>> = Vec::with_capacity(actions.len());
    for a in actions.iter() {
        let id = a.op.subject().and_then(|u| u.id.as_ref());
        found.push(id.and_then(|id| {
            marked
                .get(id)
                .map(|s| (*s).to_owned())
                .or_else(|| linked.get(id).cloned())
        }));
    }
    for (a, okta_id) in actions.iter_mut().zip(found) {
        a.okta_id = okta_id;
    }
}
