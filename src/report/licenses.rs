//! Licence reconciliation: for each SKU the tenant has bought, how its seats
//! are used (managed, unmanaged, inherited from groups, held by disabled
//! accounts), how many the policies want, and what the plan leaves free.
//!
//! Seats held by disabled accounts are the usual source of waste; the report
//! lists them with how long the account has been offboarded, so a licence
//! review does not need a spreadsheet.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::compile::DesiredState;
use crate::model::graph::User;
use crate::model::state::LiveState;
use crate::model::{ObjectId, SkuId};
use crate::plan::{Marker, Plan};

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LicenseReport {
    /// The time the report is made for (RFC 3339).
    pub now: String,
    /// One row per subscribed SKU, by part number.
    pub skus: Vec<SkuRow>,
    /// Disabled accounts that still hold a direct licence.
    pub idle: Vec<IdleSeat>,
    /// Whether the `after_plan` figures are known (the plan could be built).
    pub planned: bool,
}

/// How one SKU's seats are used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkuRow {
    /// Part number, such as `SPE_E3`.
    pub sku: String,
    /// SKU id.
    pub sku_id: SkuId,
    /// Seats bought and usable (`prepaidUnits.enabled`).
    pub purchased: i64,
    /// Seats in use, as Microsoft counts them (`consumedUnits`).
    pub consumed: i64,
    /// `purchased − consumed`.
    pub available: i64,
    /// Direct assignments to users okta365 manages.
    pub managed: usize,
    /// Direct assignments to users okta365 does not manage.
    pub unmanaged: usize,
    /// Users who get the SKU only through group-based licensing.
    pub inherited: usize,
    /// Direct assignments held by disabled accounts.
    pub disabled: usize,
    /// Okta users the policies give this SKU.
    pub wanted: usize,
    /// Seats in use after the plan, when it could be built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_plan: Option<i64>,
}

/// A disabled account that holds a direct licence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IdleSeat {
    /// The account's UPN.
    pub upn: String,
    /// Part numbers held directly.
    pub skus: Vec<String>,
    /// Whether okta365 manages the account (and so will reclaim the seats).
    pub managed: bool,
    /// Whole days since okta365 stamped the account as offboarded, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offboarded_days: Option<i64>,
    /// What happens to the seats.
    pub fate: SeatFate,
}

/// What becomes of the seats a disabled account holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatFate {
    /// The plan removes the licences (or the account).
    Reclaimed,
    /// The plan signs the account back in (a rehire, or a fixed import).
    Reenabled,
    /// okta365 keeps them until the offboarding grace period ends.
    Grace,
    /// okta365 does not manage the account: a person decides.
    Unmanaged,
}

/// What the report is made from.
pub struct ReportInput<'a> {
    /// Office 365 as read.
    pub live: &'a LiveState,
    /// What the policies want.
    pub desired: &'a DesiredState,
    /// The plan, if it could be built.
    pub plan: Option<&'a Plan>,
    /// Where the Okta id marker lives.
    pub okta_id_attribute: &'a Marker,
    /// Where the offboarding stamp lives.
    pub offboarded_at_attribute: &'a Marker,
    /// The time of the report.
    pub now: jiff::Timestamp,
}

/// Builds the report.
pub fn build(input: &ReportInput) -> LicenseReport {
    let part_numbers: BTreeMap<&SkuId, &str> = input
        .live
        .skus
        .iter()
        .map(|s| (&s.sku_id, s.sku_part_number.as_str()))
        .collect();
    let fates = fates_in_plan(input.plan);
    let mut rows: BTreeMap<&SkuId, SkuRow> = input
        .live
        .skus
        .iter()
        .map(|s| {
            let row = SkuRow {
                sku: s.sku_part_number.clone(),
                sku_id: s.sku_id.clone(),
                purchased: s.prepaid_units.enabled,
                consumed: s.consumed_units,
                available: s.available(),
                ..SkuRow::default()
            };
            (&s.sku_id, row)
        })
        .collect();
    let mut idle = Vec::new();
    for user in &input.live.users {
        let managed = input.okta_id_attribute.get(user).is_some();
        let direct: BTreeSet<&SkuId> = user.direct_skus().into_iter().collect();
        for sku in &direct {
            if let Some(row) = rows.get_mut(sku) {
                if managed {
                    row.managed += 1;
                } else {
                    row.unmanaged += 1;
                }
                if !user.account_enabled {
                    row.disabled += 1;
                }
            }
        }
        for state in &user.license_assignment_states {
            if state.assigned_by_group.is_some()
                && !direct.contains(&state.sku_id)
                && let Some(row) = rows.get_mut(&state.sku_id)
            {
                row.inherited += 1;
            }
        }
        if !user.account_enabled && !direct.is_empty() {
            idle.push(idle_seat(
                user,
                &direct,
                &part_numbers,
                managed,
                input,
                &fates,
            ));
        }
    }
    let by_part: BTreeMap<&str, &SkuId> = part_numbers.iter().map(|(id, p)| (*p, *id)).collect();
    for want in input.desired.users.values() {
        for sku in want.licenses.keys() {
            if let Some(row) = by_part.get(sku).and_then(|id| rows.get_mut(id)) {
                row.wanted += 1;
            }
        }
    }
    if let Some(plan) = input.plan {
        for seats in &plan.licenses {
            if let Some(row) = by_part
                .get(seats.sku.as_str())
                .and_then(|id| rows.get_mut(id))
            {
                row.after_plan = Some(seats.used_after);
            }
        }
        for row in rows.values_mut() {
            row.after_plan.get_or_insert(row.consumed);
        }
    }
    let mut skus: Vec<SkuRow> = rows.into_values().collect();
    skus.sort_by(|a, b| a.sku.cmp(&b.sku));
    idle.sort();
    LicenseReport {
        now: input.now.to_string(),
        skus,
        idle,
        planned: input.plan.is_some(),
    }
}

fn idle_seat(
    user: &User,
    direct: &BTreeSet<&SkuId>,
    part_numbers: &BTreeMap<&SkuId, &str>,
    managed: bool,
    input: &ReportInput,
    fates: &BTreeMap<ObjectId, SeatFate>,
) -> IdleSeat {
    let mut skus: Vec<String> = direct
        .iter()
        .map(|id| {
            part_numbers
                .get(id)
                .map_or_else(|| id.to_string(), |p| (*p).to_owned())
        })
        .collect();
    skus.sort();
    let offboarded_days = input
        .offboarded_at_attribute
        .get(user)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|at| (input.now.as_second() - at.as_second()).div_euclid(86_400));
    IdleSeat {
        upn: user.user_principal_name.clone(),
        skus,
        managed,
        offboarded_days,
        fate: match fates.get(&user.id) {
            Some(fate) => *fate,
            None if managed => SeatFate::Grace,
            None => SeatFate::Unmanaged,
        },
    }
}

/// Users whose seats the plan reclaims or puts back to use.
fn fates_in_plan(plan: Option<&Plan>) -> BTreeMap<ObjectId, SeatFate> {
    use crate::plan::Op;
    let mut fates = BTreeMap::new();
    for action in plan.map(|p| p.actions.as_slice()).unwrap_or_default() {
        let (user, fate) = match &action.op {
            Op::AssignLicenses { user, remove, .. } if !remove.is_empty() => {
                (user, SeatFate::Reclaimed)
            }
            Op::DeleteUser { user } | Op::RemoveGuest { user } => (user, SeatFate::Reclaimed),
            Op::EnableUser { user } => (user, SeatFate::Reenabled),
            _ => continue,
        };
        if let Some(id) = &user.id {
            fates.insert(id.clone(), fate);
        }
    }
    fates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::{
        AssignedLicense, LicenseAssignmentState, PrepaidUnits, SubscribedSku,
    };

    fn sku(id: &str, part: &str, enabled: i64, consumed: i64) -> SubscribedSku {
        SubscribedSku {
            sku_id: id.into(),
            sku_part_number: part.into(),
            consumed_units: consumed,
            prepaid_units: PrepaidUnits {
                enabled,
                other: BTreeMap::new(),
            },
            service_plans: Vec::new(),
            other: BTreeMap::new(),
        }
    }

    fn user(
        id: &str,
        enabled: bool,
        okta: Option<&str>,
        stamp: Option<&str>,
        skus: &[&str],
    ) -> User {
        let mut attrs = BTreeMap::new();
        attrs.insert("extensionAttribute15".to_owned(), okta.map(str::to_owned));
        attrs.insert("extensionAttribute14".to_owned(), stamp.map(str::to_owned));
        User {
            id: id.into(),
            user_principal_name: format!("{id}@acme.example"),
            account_enabled: enabled,
            assigned_licenses: skus
                .iter()
                .map(|s| AssignedLicense {
                    sku_id: (*s).into(),
                    disabled_plans: Vec::new(),
                })
                .collect(),
            on_premises_extension_attributes: Some(attrs.into()),
            ..User::default()
        }
    }

    #[test]
    fn counts_managed_unmanaged_inherited_and_idle_seats() {
        let mut inherited = user("grp", true, Some("00u3"), None, &["e3"]);
        inherited.license_assignment_states = vec![LicenseAssignmentState {
            sku_id: "e3".into(),
            assigned_by_group: Some("g1".into()),
            disabled_plans: Vec::new(),
            state: None,
            error: None,
            other: Default::default(),
        }];
        let live = LiveState {
            users: vec![
                user("a", true, Some("00u1"), None, &["e3"]),
                user(
                    "b",
                    false,
                    Some("00u2"),
                    Some("2026-11-01T00:00:00Z"),
                    &["e3", "bi"],
                ),
                user("c", true, None, None, &["bi"]),
                inherited,
            ],
            skus: vec![sku("e3", "SPE_E3", 10, 3), sku("bi", "POWER_BI_PRO", 5, 2)],
            ..LiveState::default()
        };
        let now: jiff::Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let report = build(&ReportInput {
            live: &live,
            desired: &DesiredState::default(),
            plan: None,
            okta_id_attribute: &Marker::ExtensionAttribute(15),
            offboarded_at_attribute: &Marker::ExtensionAttribute(14),
            now,
        });
        let e3 = report.skus.iter().find(|r| r.sku == "SPE_E3").unwrap();
        assert_eq!((e3.purchased, e3.consumed, e3.available), (10, 3, 7));
        assert_eq!(
            (e3.managed, e3.unmanaged, e3.inherited, e3.disabled),
            (2, 0, 1, 1)
        );
        let bi = report
            .skus
            .iter()
            .find(|r| r.sku == "POWER_BI_PRO")
            .unwrap();
        assert_eq!((bi.managed, bi.unmanaged, bi.disabled), (1, 1, 1));
        assert_eq!(e3.after_plan, None);
        assert_eq!(report.idle.len(), 1);
        let idle = &report.idle[0];
        assert_eq!(idle.upn, "b@acme.example");
        assert_eq!(idle.skus, ["POWER_BI_PRO", "SPE_E3"]);
        assert_eq!(idle.offboarded_days, Some(20));
        assert!(idle.managed);
        assert_eq!(idle.fate, SeatFate::Grace);
    }
}
