//! The last check before a destructive request: the live account the op
//! names (read again just now) must still be the person the plan names (its
//! ownership marker holds the action's Okta id, its UPN the action's UPN),
//! still managed, and not protected. A check that fails sends nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::ObjectId;
use crate::model::state::LiveState;
use crate::plan::action::{Op, UserRef};
use crate::plan::{Marker, Plan};
use crate::policy::types::Protected;

/// A user as read just before a destructive request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTarget {
    /// Object id.
    pub id: ObjectId,
    /// User principal name.
    pub upn: String,
    /// The ownership marker's value (`None`: not set).
    pub okta_id: Option<String>,
}

/// What a destructive action must find in the live account.
#[derive(Clone, Debug, Default)]
pub struct TargetGuard {
    protected_ids: BTreeSet<ObjectId>,
    protected_upns: BTreeSet<String>,
    /// Accounts this plan links (writes the marker on): `id → Okta id`.
    linked: BTreeMap<ObjectId, String>,
}

impl TargetGuard {
    /// The guard for `plan`: protected accounts as the policies name them
    /// (and members of protected groups in `live`, read at the start of the
    /// apply), and the accounts the plan itself links.
    pub fn new(plan: &Plan, protected: &Protected, live: &LiveState, marker: &Marker) -> Self {
        let property = marker.property();
        let linked = plan
            .actions
            .iter()
            .filter_map(|a| match &a.op {
                Op::UpdateUser { user, properties } => {
                    Some((user.id.clone()?, properties.get(&property)?.clone()?))
                }
                _ => None,
            })
            .collect();
        Self {
            protected_ids: crate::plan::protected::accounts(protected, live)
                .into_iter()
                .cloned()
                .chain(
                    protected
                        .object_ids
                        .iter()
                        .map(|id| ObjectId::from(id.as_str())),
                )
                .collect(),
            protected_upns: protected.upns.iter().map(|u| u.to_lowercase()).collect(),
            linked,
        }
    }

    /// Whether a destructive op on `user` (as the plan names them, Okta id
    /// included) may go ahead given the account as read now (`None`: it no
    /// longer exists). `Err` says why not.
    pub fn check(&self, user: &UserRef, live: Option<&LiveTarget>) -> Result<(), String> {
        let refuse = |why: String| {
            Err(format!(
                "refused before sending: {why}; nothing was sent for this action\n  hint: make a new plan: it reads the account afresh"
            ))
        };
        let Some(live) = live else {
            return refuse(format!(
                "the account {} ({}) no longer exists",
                user.upn,
                user.id.as_ref().map_or("no id", ObjectId::as_str)
            ));
        };
        if self.protected_ids.contains(&live.id)
            || self.protected_upns.contains(&live.upn.to_lowercase())
        {
            return refuse(format!("{} ({}) is a protected account", live.upn, live.id));
        }
        if !live.upn.eq_ignore_ascii_case(&user.upn) {
            return refuse(format!(
                "object {} is now {}, not {} as the plan says",
                live.id, live.upn, user.upn
            ));
        }
        let Some(expected) = user.okta_id.as_ref().map(|id| id.as_str()) else {
            return refuse(format!(
                "the plan names no Okta id for {}, so okta365 cannot tell it manages the account",
                live.upn
            ));
        };
        match live.okta_id.as_deref() {
            Some(found) if found == expected => Ok(()),
            None if self.linked.get(&live.id).map(String::as_str) == Some(expected) => Ok(()),
            Some(found) => refuse(format!(
                "{} is marked as Okta user {found}, not {expected} as the plan says",
                live.upn
            )),
            None => refuse(format!(
                "{} carries no Okta id marker: okta365 does not manage it",
                live.upn
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(okta_id: Option<&str>) -> UserRef {
        UserRef {
            id: Some("u-1".into()),
            upn: "ann@acme.example".into(),
            okta_id: okta_id.map(Into::into),
        }
    }

    fn live(id: &str, upn: &str, okta_id: Option<&str>) -> LiveTarget {
        LiveTarget {
            id: id.into(),
            upn: upn.into(),
            okta_id: okta_id.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_same_managed_unprotected_person_passes() {
        let guard = TargetGuard {
            protected_upns: ["breakglass@acme.example".to_owned()].into(),
            ..TargetGuard::default()
        };
        let user = ann(Some("00u1"));
        let same = live("u-1", "ann@acme.example", Some("00u1"));
        assert!(guard.check(&user, Some(&same)).is_ok());
        for (found, why) in [
            (
                live("u-1", "ann@acme.example", Some("00u2")),
                "marked as Okta user 00u2",
            ),
            (
                live("u-1", "ann@acme.example", None),
                "carries no Okta id marker",
            ),
            (
                live("u-1", "bob@acme.example", Some("00u1")),
                "is now bob@acme.example",
            ),
            (
                live("u-1", "breakglass@acme.example", None),
                "protected account",
            ),
        ] {
            let e = guard.check(&user, Some(&found)).unwrap_err();
            assert!(e.contains(why) && e.contains("nothing was sent"), "{e}");
        }
        let e = guard.check(&user, None).unwrap_err();
        assert!(e.contains("no longer exists"), "{e}");
        // A plan that names nobody cannot tell the account is managed.
        assert!(guard.check(&ann(None), Some(&same)).is_err());
    }

    #[test]
    fn an_account_the_plan_links_may_still_be_unmarked() {
        let guard = TargetGuard {
            linked: [(ObjectId::from("u-1"), "00u1".to_owned())].into(),
            ..TargetGuard::default()
        };
        let unmarked = live("u-1", "ann@acme.example", None);
        assert!(guard.check(&ann(Some("00u1")), Some(&unmarked)).is_ok());
        assert!(guard.check(&ann(Some("00u2")), Some(&unmarked)).is_err());
    }
}
