//! What a plan needs from the live tenant, worked out from the checked
//! policy and the Okta state before Office 365 is read: the groups whose
//! members and owners matter (declared, mirrored, protected) and the user
//! properties the policies map. Pure: no I/O.

use std::collections::BTreeSet;

use super::{LiveScope, Offboard};
use crate::model::state::SourceState;
use crate::plan::PlanSettings;
use crate::policy::check::Checked;

/// The scope of the live read for `checked` over `source`.
pub fn live_scope(checked: &Checked, source: &SourceState, settings: &PlanSettings) -> LiveScope {
    // Licences do not decide which groups exist, so no SKUs are needed here.
    let (desired, _) = crate::compile::compile(checked, source, &[]);
    let mut groups: BTreeSet<String> = desired
        .groups
        .values()
        .map(|g| g.mail_nickname.clone())
        .collect();
    groups.extend(checked.policy.protected.groups.iter().cloned());
    let mut user_properties: BTreeSet<String> = BTreeSet::new();
    let mut managers = false;
    for rule in &checked.rules {
        for (name, _) in &rule.attributes {
            if name == "manager" {
                managers = true;
            } else {
                user_properties.insert(name.clone());
            }
        }
    }
    user_properties.insert(settings.okta_id_attribute.property());
    user_properties.insert(settings.offboarded_at_attribute.property());
    user_properties.extend(settings.match_by.iter().map(|p| p.graph.clone()));
    // Unique properties are compared to find disputes before a create.
    user_properties.extend(["mail".to_owned(), "mailNickname".to_owned()]);
    let offboard = checked.policy.lifecycle.as_ref().and_then(|l| {
        l.value.offboarding.remove_memberships.then(|| Offboard {
            marker: settings.okta_id_attribute.clone(),
            leavers: desired.leavers.keys().map(|k| k.0.to_string()).collect(),
            okta_ids: desired.okta_ids.iter().map(|k| k.0.to_string()).collect(),
        })
    });
    LiveScope {
        groups,
        user_properties,
        managers,
        offboard,
    }
}
